//! What one render of a script may cost, and the engine set up to hold it to that. A script is
//! written by a lead and rendered for every hand-out of its campaign, so a body that loops for
//! ever or builds gigabytes must end in an error, quickly, instead of taking the process with
//! it. minijinja bounds some of this itself (`range()` makes at most 100,000 items, a repeated
//! string is at most 100 MB); the rest is set here:
//!
//! - **fuel**: every engine instruction costs one unit; a render has [`FUEL`];
//! - **text**: the output is streamed into a sink that refuses more than [`MAX_TEXT_BYTES`],
//!   and that asks at every piece whether the caller's time budget has run out;
//! - **depth**: the recursion limit (nested blocks, macro calls) is [`MAX_DEPTH`];
//! - **counts**: the built-in filters that take a size from the template (`batch`, `slice`,
//!   `indent`, `format`'s widths) refuse sizes the engine would try to allocate at once, which
//!   would abort the whole process rather than fail the render;
//! - **chains**: a tag may hold at most [`MAX_TAG_OPERATORS`] operators, checked before the
//!   engine parses the body (at save time and again at every render).

use std::io;

use minijinja::{
    Environment, Error, ErrorKind, State, UndefinedBehavior,
    value::{Kwargs, Rest, StringInput, Value},
};

/// Engine instructions one render may run. A body of the largest size without loops runs
/// about one instruction per character at most (`{{ a+a+a… }}`), so every loop-free body fits
/// with room for ordinary loops over a contact's attributes; it stops a runaway loop within
/// tens of milliseconds.
pub const FUEL: u64 = 250_000;

/// The most rendered text, in bytes: room for the largest body (100,000 characters of
/// Chinese, about 300 KB) with its fields filled in, far below what would hurt the process.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// How deep blocks and macro calls may nest. minijinja's default (500) was measured on a main
/// thread; this limit holds on a 2 MiB stack (renders run on a render worker's main thread,
/// with the system's stack size, usually 8 MiB; the unit tests' on 2 MiB threads).
pub const MAX_DEPTH: usize = 100;

/// The largest count a filter may be given (`batch`, `slice`): what `range()` allows.
pub const MAX_COUNT: usize = 100_000;

/// The largest width or precision in `indent` and `format`.
pub const MAX_WIDTH: usize = 1_000;

/// The most operators one tag (`{{ … }}`, `{% … %}`) may hold. The engine parses a chain of
/// operators (`a + a + …`, `x|f|f…`, `a.b.c…`, `- - - 1`) into a tree as deep as the chain and
/// walks it recursively: a long enough chain overflows the thread's stack, which aborts the
/// whole process (measured: 10,000 `+` in one tag on a 2 MiB stack, a 20 KB body; 5,000 pass).
/// Nested brackets and blocks are bounded by the engine's parser already.
pub const MAX_TAG_OPERATORS: usize = 1_000;

/// The line of the first tag with more than [`MAX_TAG_OPERATORS`] operators, if any. Counts
/// every operator character and word-operator in `{{ … }}` and `{% … %}`, outside string
/// literals; comments are skipped. It may count more than the engine would (text in a
/// `{% raw %}` block), never less.
pub(super) fn overlong_chain(body: &str) -> Option<usize> {
    let b = body.as_bytes();
    let (mut i, mut line) = (0, 1);
    while i < b.len() {
        let close: &[u8] = match (b[i], b.get(i + 1)) {
            (b'{', Some(b'{')) => b"}}",
            (b'{', Some(b'%')) => b"%}",
            (b'{', Some(b'#')) => b"#}",
            (c, _) => {
                line += usize::from(c == b'\n');
                i += 1;
                continue;
            }
        };
        let (start, comment) = (line, close == b"#}");
        let mut operators = 0;
        i += 2;
        while i < b.len() && !b[i..].starts_with(close) {
            match b[i] {
                b'\n' => line += 1,
                q @ (b'"' | b'\'') if !comment => {
                    i += 1;
                    while i < b.len() && b[i] != q {
                        line += usize::from(b[i] == b'\n');
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                }
                b'+' | b'-' | b'*' | b'/' | b'%' | b'~' | b'|' | b'.' | b'[' | b'(' | b'<'
                | b'>' | b'=' | b'!' => operators += 1,
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let end = b[i..]
                        .iter()
                        .position(|c| !c.is_ascii_alphanumeric() && *c != b'_')
                        .map_or(b.len(), |n| i + n);
                    let word = &b[i..end];
                    if [&b"and"[..], b"or", b"not", b"if", b"else", b"is", b"in"].contains(&word) {
                        operators += 1;
                    }
                    i = end;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        if !comment && operators > MAX_TAG_OPERATORS {
            return Some(start);
        }
        i += 2;
    }
    None
}

/// The engine every script is parsed and rendered with: undefined variables render as empty
/// text, nothing is escaped (scripts are plain text), and the limits above.
pub(super) fn environment<'source>() -> Environment<'source> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(MAX_DEPTH);
    env.add_filter("batch", batch);
    env.add_filter("slice", slice);
    env.add_filter("indent", indent);
    env.add_filter("format", format);
    env
}

/// The detail of the errors the filters below raise.
pub(super) const TOO_LARGE: &str = "size is too large";

fn too_large() -> Error {
    Error::new(ErrorKind::InvalidOperation, TOO_LARGE)
}

fn batch(state: &State, value: Value, count: usize, fill: Option<Value>) -> Result<Value, Error> {
    if count > MAX_COUNT {
        return Err(too_large());
    }
    minijinja::filters::batch(state, value, count, fill)
}

fn slice(state: &State, value: Value, count: usize, fill: Option<Value>) -> Result<Value, Error> {
    if count > MAX_COUNT {
        return Err(too_large());
    }
    minijinja::filters::slice(state, value, count, fill)
}

fn indent(
    value: StringInput,
    width: Option<usize>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let named: Option<usize> = kwargs.peek("width")?;
    if width.or(named).is_some_and(|w| w > MAX_WIDTH) {
        return Err(too_large());
    }
    minijinja::filters::indent(value, width, first, blank, kwargs)
}

fn format(state: &State, spec: &Value, args: Rest<Value>) -> Result<Value, Error> {
    if spec.as_str().is_some_and(|s| !printf_widths_bounded(s)) {
        return Err(too_large());
    }
    minijinja::filters::format(state, spec, args)
}

/// Whether every conversion of a printf-style format string has a literal width and
/// precision of at most [`MAX_WIDTH`] (a `*` width, taken from the arguments, is refused).
fn printf_widths_bounded(spec: &str) -> bool {
    let mut rest = spec;
    while let Some(at) = rest.find('%') {
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('%') {
            rest = after;
            continue;
        }
        if rest.starts_with('(') {
            rest = rest.find(')').map_or("", |end| &rest[end + 1..]);
        }
        let end = rest
            .find(|c: char| !matches!(c, '0'..='9' | '.' | '*' | '-' | '+' | ' ' | '#'))
            .unwrap_or(rest.len());
        let flags = &rest[..end];
        let too_wide = flags
            .split(|c: char| !c.is_ascii_digit())
            .any(|n| n.len() > 4 || n.parse::<usize>().is_ok_and(|n| n > MAX_WIDTH));
        if flags.contains('*') || too_wide {
            return false;
        }
        rest = &rest[end..];
    }
    true
}

/// Why the sink refused more text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cut {
    /// More than [`MAX_TEXT_BYTES`].
    TooLong,
    /// The caller's time budget ran out.
    OutOfTime,
}

/// Where a render writes: keeps at most [`MAX_TEXT_BYTES`] and stops the render (a write
/// error) when that would be passed or when `out_of_time` says the budget has run out.
pub(super) struct Sink<'a> {
    pub text: Vec<u8>,
    pub cut: Option<Cut>,
    out_of_time: &'a dyn Fn() -> bool,
}

impl<'a> Sink<'a> {
    pub fn new(out_of_time: &'a dyn Fn() -> bool) -> Self {
        Self {
            text: Vec::new(),
            cut: None,
            out_of_time,
        }
    }
}

impl io::Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.text.len() + buf.len() > MAX_TEXT_BYTES {
            self.cut = Some(Cut::TooLong);
        } else if (self.out_of_time)() {
            self.cut = Some(Cut::OutOfTime);
        }
        if self.cut.is_some() {
            return Err(io::Error::other("render stopped"));
        }
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_operator_chains_are_found_by_line() {
        let chain = |op: &str| op.repeat(MAX_TAG_OPERATORS + 1);
        for body in [
            format!("a\n\n{{{{ {}1 }}}}", chain("a+")),
            format!("a\n\n{{{{ x{} }}}}", chain("|e")),
            format!("a\n\n{{% if {}1 %}}{{% endif %}}", chain("not ")),
            format!("a\n'\n{{{{ '}}}}' ~ {}1 }}}}", chain("-")),
        ] {
            assert_eq!(overlong_chain(&body), Some(3), "{body}");
        }
        for body in [
            format!("{{{{ {}1 }}}}", "a+".repeat(MAX_TAG_OPERATORS / 2)),
            format!("{{# {} #}}{{{{ '{}' }}}}", chain("a+"), chain("+")),
            chain("a+"),
            format!("{{{{ [{}] }}}}", "'x', ".repeat(5000)),
        ] {
            assert_eq!(overlong_chain(&body), None, "{body}");
        }
    }

    #[test]
    fn format_widths_are_bounded() {
        for ok in ["%s", "%d%%", "%5.2f", "%-10s|%(name)s", "%1000d", "100%"] {
            assert!(printf_widths_bounded(ok), "{ok}");
        }
        for bad in ["%1001d", "%.99999f", "%*d", "%0000000001d", "%(x)99999s"] {
            assert!(!printf_widths_bounded(bad), "{bad}");
        }
    }
}

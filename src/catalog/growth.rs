//! What a template may build: a static check of the body, at save time and again before every
//! render (as the operator-chain check is), that refuses the two ways a script builds strings
//! of gigabytes out of a small body.
//!
//! minijinja 2 has no hook on what its operators build: `~`, `+` and `*` run inside the VM with
//! no callback, no size limit (but 100 MB for one repetition) and no check between them, and
//! fuel counts instructions, not bytes. `{% set s = "x" * n %}` then a few `{% set s = s ~ s %}`
//! is a handful of instructions and gigabytes. So the body is refused before the engine sees
//! it when:
//!
//! - **repetition**: a `*` has no number literal of at most [`MAX_REPEAT`] next to it (on
//!   either side, and not itself raised by `**`): `'-' * 40` and `price * 2` pass,
//!   `'x' * (attributes.n|int)`, `a * b` and `'x' * 10 ** 9` do not;
//! - **self-growth**: a `set` (or `with`) whose value builds a string or list (`~`, `+`, `*`,
//!   `join`, `replace`) and reads one variable twice, a namespace's attribute included
//!   (`set s = s ~ s`, `set b = a ~ a`, `set ns.s = ns.s ~ ns.s`): each such statement can
//!   double what it reads. `set g = name if name else '客户'` builds nothing and passes.
//!
//! What stays open is bounded by other limits: appending to a variable once per statement
//! grows it by a bounded piece per engine step (fuel), and the output is capped as it is
//! written. Aliasing (`set t = s` then `set s = s ~ t`) still doubles; a body would need that
//! pattern written out per doubling, and the render's time budget and the per-version mark
//! (`service::render`) stop it from being attempted again.

/// The largest number literal a `*` may repeat by.
pub const MAX_REPEAT: u64 = 100_000;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(String),
    Str,
    Name(String),
    Op(String),
}

/// The tokens of each tag (`{{ … }}`, `{% … %}`) with the line it starts on; comments skipped.
fn tags(body: &str) -> Vec<(usize, Vec<Tok>)> {
    let b = body.as_bytes();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
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
        let mut toks = Vec::new();
        i += 2;
        while i < b.len() && !b[i..].starts_with(close) {
            let c = b[i];
            if c == b'\n' {
                line += 1;
            }
            if comment || c.is_ascii_whitespace() {
                i += 1;
            } else if c == b'"' || c == b'\'' {
                i += 1;
                while i < b.len() && b[i] != c {
                    line += usize::from(b[i] == b'\n');
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                toks.push(Tok::Str);
            } else if c.is_ascii_digit() {
                let end = b[i..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.'))
                    .map_or(b.len(), |n| i + n);
                toks.push(Tok::Num(String::from_utf8_lossy(&b[i..end]).into_owned()));
                i = end;
            } else if c.is_ascii_alphabetic() || c == b'_' {
                let end = b[i..]
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
                    .map_or(b.len(), |n| i + n);
                toks.push(Tok::Name(String::from_utf8_lossy(&b[i..end]).into_owned()));
                i = end;
            } else if c == b'*' && b.get(i + 1) == Some(&b'*') {
                toks.push(Tok::Op("**".into()));
                i += 2;
            } else {
                // Tags are ASCII but for their literals; keep whole characters all the same.
                let len = body[i..].chars().next().map_or(1, char::len_utf8);
                toks.push(Tok::Op(body[i..i + len].to_owned()));
                i += len;
            }
        }
        if !comment {
            out.push((start, toks));
        }
        i += 2;
    }
    out
}

fn small_count(tok: Option<&Tok>, beyond: Option<&Tok>) -> bool {
    let raised = matches!(beyond, Some(Tok::Op(op)) if op == "**");
    match tok {
        Some(Tok::Num(n)) if !raised => {
            let n = n.replace('_', "");
            n.parse::<u64>().is_ok_and(|n| n <= MAX_REPEAT)
                || n.parse::<f64>().is_ok_and(|n| n.abs() <= MAX_REPEAT as f64)
        }
        _ => false,
    }
}

/// The line and the reason of the first construct that could build an unbounded string.
pub(super) fn unbounded_growth(body: &str) -> Option<(usize, String)> {
    for (line, toks) in tags(body) {
        for (at, tok) in toks.iter().enumerate() {
            if *tok != Tok::Op("*".into()) {
                continue;
            }
            let before = at.checked_sub(1).and_then(|p| toks.get(p));
            let beyond_before = at.checked_sub(2).and_then(|p| toks.get(p));
            if !small_count(toks.get(at + 1), toks.get(at + 2))
                && !small_count(before, beyond_before)
            {
                return Some((
                    line,
                    format!("`*` repeats only by a number literal of at most {MAX_REPEAT}"),
                ));
            }
        }
        let assigns = matches!(toks.first(), Some(Tok::Name(k)) if k == "set" || k == "with");
        let Some(eq) = toks.iter().position(|t| *t == Tok::Op("=".into())) else {
            continue;
        };
        let builds = toks[eq + 1..].iter().any(|t| {
            matches!(t, Tok::Op(op) if op == "~" || op == "+" || op == "*")
                || matches!(t, Tok::Name(f) if f == "join" || f == "replace")
        });
        if !assigns || !builds {
            continue;
        }
        let mut seen: Vec<String> = Vec::new();
        for (at, tok) in toks.iter().enumerate().skip(eq + 1) {
            let Tok::Name(name) = tok else { continue };
            let after_dot = at > 0 && toks[at - 1] == Tok::Op(".".into());
            let keyword = [
                "and", "or", "not", "in", "is", "if", "else", "true", "false",
            ]
            .contains(&name.as_str())
                || matches!(toks.get(at + 1), Some(Tok::Op(op)) if op == "(" || op == "=");
            let filter = at > 0 && toks[at - 1] == Tok::Op("|".into());
            if after_dot || keyword || filter {
                continue;
            }
            let path = match (toks.get(at + 1), toks.get(at + 2)) {
                (Some(Tok::Op(dot)), Some(Tok::Name(attr))) if dot == "." => {
                    format!("{name}.{attr}")
                }
                _ => name.clone(),
            };
            if seen.contains(&path) {
                return Some((
                    line,
                    format!("a `set` may read `{path}` only once (it could double it)"),
                ));
            }
            seen.push(path);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetition_needs_a_small_number_literal() {
        for ok in [
            "{{ '-' * 40 }}",
            "{{ price * 2 }}{{ 3 * x }}",
            "{{ attributes.a|float * 1.1 }}",
            "{{ 2 ** 8 }}",
            "{# 'x' * n #}{{ '*' }}",
        ] {
            assert_eq!(unbounded_growth(ok), None, "{ok}");
        }
        for bad in [
            "a\n{{ 'x' * (attributes.n|int) }}",
            "a\n{{ a * b }}",
            "a\n{{ 'x' * 10 ** 9 }}",
            "a\n{% set s = 'x' * 1000000 %}",
        ] {
            assert_eq!(unbounded_growth(bad).map(|(l, _)| l), Some(2), "{bad}");
        }
    }

    #[test]
    fn a_set_that_reads_one_variable_twice_is_refused() {
        for ok in [
            "{% set s = s ~ 'x' %}{% set full = first ~ ' ' ~ last %}",
            "{% set ns = namespace(n=0) %}{% set ns.n = ns.n + 1 %}",
            "{{ name ~ name }}{% if a == a %}{% endif %}",
            "{% set x = attributes.a ~ attributes.b %}",
            "{% set y = x|replace('a', 'b')|replace('c', 'd') %}",
            "{% set g = name if name else '客户' %}",
        ] {
            assert_eq!(unbounded_growth(ok), None, "{ok}");
        }
        for bad in [
            "{% set s = s ~ s %}",
            "{% set b = a ~ a %}",
            "{% set ns.s = ns.s ~ ns.s %}",
            "{% with t = s + s %}{% endwith %}",
        ] {
            assert!(unbounded_growth(bad).is_some(), "{bad}");
        }
    }
}

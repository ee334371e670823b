//! Script bodies are minijinja templates over the contact: `{{ name }}`, `{{ phone }}`,
//! `{{ attributes.plan }}`. A body that does not parse is refused when saved; at call time an
//! undefined variable renders as empty text, never as an error in front of the agent. Every
//! render is held to the limits of [`super::limits`]; one that passes them fails with a
//! [`RenderError`] instead of running on.

use std::fmt;

use minijinja::{Environment, ErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    growth::unbounded_growth,
    limits::{Cut, FUEL, MAX_TAG_OPERATORS, MAX_TEXT_BYTES, Sink, environment, overlong_chain},
};

/// The largest script body accepted, in characters.
pub const MAX_BODY_CHARS: usize = 100_000;

/// Why a version of a script is not rendered again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Mark {
    /// A render of it ran past its time budget.
    Time,
    /// A render of it needed more memory than a script may use.
    Memory,
}

/// A script body known to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(String);

/// Why a render gave no text. The messages name the line where the engine knows it and never
/// quote the data rendered: a contact's phone number must reach neither the logs nor the
/// script's record of failures. Serialisable: renders run in worker processes
/// (`service::render_worker`), which answer with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RenderError {
    /// More engine steps than [`FUEL`]: a loop too long for the data, or endless recursion.
    OutOfFuel { line: Option<usize> },
    /// More text than [`MAX_TEXT_BYTES`].
    TooLong,
    /// Blocks or macro calls nested deeper than the limit.
    TooDeep { line: Option<usize> },
    /// A value larger than the engine will build (a repeated string, a range, a filter's size).
    TooLarge { line: Option<usize>, what: String },
    /// Still running when its time budget (milliseconds) ran out.
    TooSlow { budget_ms: u64 },
    /// The worker process rendering it died: it needed more memory than a script may use
    /// (the worker's address space is capped), or the engine aborted.
    TooMuchMemory,
    /// Not attempted: no render worker could be started (the server's log says why).
    NoWorker,
    /// Not attempted: a check of the same script being saved ran past its budget moments ago.
    Overdue,
    /// Not attempted: a render of this version of the script ran past its time budget or its
    /// memory before; it is not attempted again until the script changes.
    Marked(Mark),
    /// Failed at run time for another reason (a filter that does not fit this data).
    Failed { line: Option<usize>, what: String },
}

impl RenderError {
    /// Whether the body went past a limit (rather than failing on the data): such a body is
    /// refused when saved.
    pub fn exceeds_limits(&self) -> bool {
        !matches!(self, RenderError::Failed { .. })
    }

    /// A short fixed name for the kind of failure (a metric label).
    pub fn reason(&self) -> &'static str {
        match self {
            RenderError::OutOfFuel { .. } => "fuel",
            RenderError::TooLong => "text",
            RenderError::TooDeep { .. } => "depth",
            RenderError::TooLarge { .. } => "size",
            RenderError::TooSlow { .. } => "time",
            RenderError::TooMuchMemory => "memory",
            RenderError::NoWorker => "worker",
            RenderError::Overdue => "overdue",
            RenderError::Marked(_) => "marked",
            RenderError::Failed { .. } => "error",
        }
    }

    fn from_engine(error: &minijinja::Error) -> Self {
        let line = error.line();
        let detail = error.detail().unwrap_or_default();
        match error.kind() {
            ErrorKind::OutOfFuel => RenderError::OutOfFuel { line },
            _ if detail.contains("recursion") => RenderError::TooDeep { line },
            _ if detail.contains("too large") || detail.contains("too many") => {
                RenderError::TooLarge {
                    line,
                    what: crate::text::scrub_digits(detail),
                }
            }
            kind => RenderError::Failed {
                line,
                what: if detail.is_empty() {
                    kind.to_string()
                } else {
                    format!("{kind}: {}", crate::text::scrub_digits(detail))
                },
            },
        }
    }
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |line: &Option<usize>| line.map(|l| format!("line {l}: ")).unwrap_or_default();
        match self {
            RenderError::OutOfFuel { line } => write!(
                f,
                "{}takes more than {FUEL} steps to render (a loop too long?)",
                at(line)
            ),
            RenderError::TooLong => write!(f, "renders more than {MAX_TEXT_BYTES} bytes of text"),
            RenderError::TooDeep { line } => write!(f, "{}nests too deeply", at(line)),
            RenderError::TooLarge { line, what } | RenderError::Failed { line, what } => {
                write!(f, "{}{what}", at(line))
            }
            RenderError::TooSlow { budget_ms } => {
                write!(f, "takes longer than {budget_ms} ms to render")
            }
            RenderError::TooMuchMemory => {
                write!(f, "the script needs more memory than a script may use")
            }
            RenderError::NoWorker => write!(f, "not rendered: no render worker could be started"),
            RenderError::Overdue => write!(
                f,
                "not checked: a check of this script ran past its time budget or its memory moments ago"
            ),
            RenderError::Marked(Mark::Time) => write!(
                f,
                "not rendered: this version of the script ran past its time budget before"
            ),
            RenderError::Marked(Mark::Memory) => write!(
                f,
                "not rendered: this version of the script needed more memory than a script may use before"
            ),
        }
    }
}

impl Template {
    /// Checks that the body parses; the error names the line.
    pub fn parse(body: &str) -> Result<Self, String> {
        if body.chars().count() > MAX_BODY_CHARS {
            return Err(format!("must be at most {MAX_BODY_CHARS} characters"));
        }
        if body
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err("must not contain control characters".into());
        }
        if let Some(line) = overlong_chain(body) {
            return Err(chain_message(line));
        }
        if let Some((line, why)) = unbounded_growth(body) {
            return Err(format!("line {line}: {why}"));
        }
        let env = environment();
        match env.template_from_str(body) {
            Ok(_) => Ok(Self(body.to_owned())),
            Err(error) => {
                let what = error.detail().unwrap_or("syntax error");
                Err(match error.line() {
                    Some(line) => format!("line {line}: {what}"),
                    None => what.to_owned(),
                })
            }
        }
    }

    /// The contact attributes a body reads (`attributes.plan`, `attributes["plan"]`), by
    /// minijinja's own reading of it; none when it does not parse.
    pub fn attributes_read(body: &str) -> std::collections::BTreeSet<String> {
        let env = environment();
        let Ok(template) = env.template_from_str(body) else {
            return Default::default();
        };
        template
            .undeclared_variables(true)
            .into_iter()
            .filter_map(|v| v.strip_prefix("attributes.").map(str::to_owned))
            .collect()
    }

    /// A body that [`Template::parse`] accepted in a render worker (`service::render_worker`),
    /// where parsing is held to the time budget and the worker's memory cap.
    pub fn checked_elsewhere(body: &str) -> Self {
        Self(body.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Renders a stored body with the given variables, within the limits. Undefined variables
    /// become empty text. `out_of_time` is asked at every piece of output whether the caller's
    /// time budget has run out; a render it stops is `TooSlow { budget_ms: 0 }`, for the
    /// caller, which knows the budget, to fill in.
    pub fn render(
        body: &str,
        vars: &Value,
        out_of_time: &dyn Fn() -> bool,
    ) -> Result<String, RenderError> {
        precheck(body)?;
        let env = environment();
        let template = env
            .template_from_str(body)
            .map_err(|error| RenderError::from_engine(&error))?;
        render_compiled(&template, vars, out_of_time)
    }
}

/// Checks a body must pass before the engine sees it, at every compile.
fn precheck(body: &str) -> Result<(), RenderError> {
    if let Some(line) = overlong_chain(body) {
        return Err(RenderError::TooLarge {
            line: None,
            what: chain_message(line),
        });
    }
    if let Some((line, why)) = unbounded_growth(body) {
        return Err(RenderError::TooLarge {
            line: Some(line),
            what: why,
        });
    }
    Ok(())
}

fn render_compiled(
    template: &minijinja::Template<'_, '_>,
    vars: &Value,
    out_of_time: &dyn Fn() -> bool,
) -> Result<String, RenderError> {
    let mut sink = Sink::new(out_of_time);
    let rendered = template.render_captured_to(vars, &mut sink).map(drop);
    match (rendered, sink.cut) {
        (_, Some(Cut::TooLong)) => Err(RenderError::TooLong),
        (_, Some(Cut::OutOfTime)) => Err(RenderError::TooSlow { budget_ms: 0 }),
        (Err(error), None) => Err(RenderError::from_engine(&error)),
        (Ok(_), None) => String::from_utf8(sink.text).map_err(|_| RenderError::Failed {
            line: None,
            what: "rendered text is not UTF-8".into(),
        }),
    }
}

/// The most compiled bodies a [`Compiled`] keeps; past it, it starts again.
const COMPILED_KEPT: usize = 64;

/// Bodies compiled once and kept by a caller's key (a script's version), in one engine: a
/// render of a kept key with the same body does not parse or compile it again.
pub struct Compiled {
    env: Environment<'static>,
    bodies: std::collections::HashMap<String, String>,
}

impl Default for Compiled {
    fn default() -> Self {
        Self {
            env: environment(),
            bodies: Default::default(),
        }
    }
}

impl Compiled {
    /// Renders `body`, kept under `key` (compiled now if `key` holds another body or none),
    /// within the limits, like [`Template::render`].
    pub fn render(
        &mut self,
        key: &str,
        body: &str,
        vars: &Value,
        out_of_time: &dyn Fn() -> bool,
    ) -> Result<String, RenderError> {
        if self.bodies.get(key).map(String::as_str) != Some(body) {
            precheck(body)?;
            if self.bodies.len() >= COMPILED_KEPT {
                self.env.clear_templates();
                self.bodies.clear();
            }
            self.bodies.remove(key);
            self.env
                .add_template_owned(key.to_owned(), body.to_owned())
                .map_err(|error| RenderError::from_engine(&error))?;
            self.bodies.insert(key.to_owned(), body.to_owned());
        }
        let template = self
            .env
            .get_template(key)
            .map_err(|error| RenderError::from_engine(&error))?;
        render_compiled(&template, vars, out_of_time)
    }
}

fn chain_message(line: usize) -> String {
    format!("line {line}: a tag with more than {MAX_TAG_OPERATORS} operators")
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;

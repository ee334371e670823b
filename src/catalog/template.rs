//! Script bodies are minijinja templates over the contact: `{{ name }}`, `{{ phone }}`,
//! `{{ attributes.plan }}`. A body that does not parse is refused when saved; at call time an
//! undefined variable renders as empty text, never as an error in front of the agent.

use minijinja::{Environment, UndefinedBehavior};

/// The largest script body accepted, in characters.
pub const MAX_BODY_CHARS: usize = 100_000;

/// A script body known to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(String);

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
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

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Renders a stored body with the given variables. Undefined variables become empty text;
    /// should rendering fail anyway (a filter misused at run time), the agent sees the body as
    /// written rather than an error.
    pub fn render(body: &str, vars: &serde_json::Value) -> String {
        let env = environment();
        env.render_str(body, vars).unwrap_or_else(|error| {
            tracing::warn!(error = %error, "script did not render; showing it as written");
            body.to_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn undefined_variables_render_empty() {
        let vars = json!({"name": "王芳", "attributes": {"plan": "全球通 88"}});
        let body = "您好{{ name }}，您的套餐是{{ attributes.plan }}{{ attributes.missing.deeper }}{{ nope }}。";
        Template::parse(body).unwrap();
        assert_eq!(
            Template::render(body, &vars),
            "您好王芳，您的套餐是全球通 88。"
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = Template::parse("line one\nline two {{ name \nline three").unwrap_err();
        assert!(
            err.starts_with("line 2") || err.starts_with("line 3"),
            "{err}"
        );
        assert!(Template::parse("{% if x %}open").is_err());
    }
}

//! Surveys: the questions a script version asks (market research, service care), and the
//! answers an outcome gives to them. Questions are checked when a version is saved (422 naming
//! `questions[i].field`); answers are checked against the questions of the version the call was
//! handed out with (422 naming `answers.<key>`), and come out as the values to keep and count.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    codes::{Code, Reason},
    text::check_free_text,
    validate::{FieldError, Validator},
};

crate::text_enum! {
    /// What kind of answer a question takes.
    pub enum QuestionKind {
        /// One of the options.
        Choice = "choice",
        /// Any number of the options (none, when not required).
        Multi = "multi",
        /// A number.
        Number = "number",
        /// Free text.
        Text = "text",
    }
}

/// A question of a script version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Question {
    /// Names the answer (`answers.<key>`): lowercase letters, digits and `_`, a letter first.
    pub key: String,
    /// What the agent asks.
    pub label: String,
    #[serde(rename = "type")]
    pub kind: QuestionKind,
    /// The options of a `choice` or `multi` question; empty for the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Whether an `accepted` or `declined` outcome must answer it.
    #[serde(default)]
    pub required: bool,
}

/// The most questions one version may ask.
pub const MAX_QUESTIONS: usize = 50;
/// The most options one question may offer.
pub const MAX_OPTIONS: usize = 30;
const MAX_KEY: usize = 40;
const MAX_LABEL: usize = 200;
const MAX_OPTION: usize = 100;
/// The longest text answer, in characters.
pub const MAX_TEXT_ANSWER: usize = 1_000;
/// The largest number an answer may give (either sign).
const MAX_NUMBER: f64 = 1e12;

fn key_ok(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && key.len() <= MAX_KEY
}

fn text(value: Option<&Value>, max: usize) -> Result<String, Reason> {
    match value {
        None | Some(Value::Null) => Err(Code::Required.because("is required")),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(Code::Required.because("must not be blank"))
        }
        Some(Value::String(s)) => {
            check_free_text(s, max)?;
            Ok(s.trim().to_owned())
        }
        Some(_) => Err(Code::WrongType.because("must be a string")),
    }
}

/// One question from its JSON, each bad part pushed under `questions[i].<part>`.
fn question(v: &mut Validator, at: &str, item: &Value) -> Option<Question> {
    let Some(map) = item.as_object() else {
        v.push(at, Code::NotAnObject.because("must be an object"));
        return None;
    };
    for name in map.keys() {
        if !["key", "label", "type", "options", "required"].contains(&name.as_str()) {
            let field = format!("{at}.{}", name.chars().take(MAX_KEY).collect::<String>());
            v.push(
                &field,
                Code::UnknownField.because("is not a question's field"),
            );
        }
    }
    let key = v.check(
        &format!("{at}.key"),
        text(map.get("key"), MAX_KEY).and_then(|k| {
            if key_ok(&k) {
                Ok(k)
            } else {
                Err(Code::KeyInvalid
                    .because("must be lowercase letters, digits and _, a letter first, at most 40")
                    .with("max", MAX_KEY))
            }
        }),
    );
    let label = v.check(&format!("{at}.label"), text(map.get("label"), MAX_LABEL));
    let kind = v.check(
        &format!("{at}.type"),
        match map.get("type") {
            Some(Value::String(s)) => s.parse::<QuestionKind>(),
            _ => Err(Code::Required.because("is required: choice, multi, number or text")),
        },
    );
    let required = v.check(
        &format!("{at}.required"),
        match map.get("required") {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(Code::WrongType.because("must be true or false")),
        },
    );
    let options = v.check(&format!("{at}.options"), options(kind, map.get("options")));
    Some(Question {
        key: key?,
        label: label?,
        kind: kind?,
        options: options?,
        required: required?,
    })
}

fn options(kind: Option<QuestionKind>, value: Option<&Value>) -> Result<Vec<String>, Reason> {
    let takes = matches!(kind, Some(QuestionKind::Choice | QuestionKind::Multi));
    let items = match value {
        None | Some(Value::Null) if takes => {
            return Err(Code::RequiredWith
                .because("is required with type choice or multi")
                .with("with", "type=choice|multi"));
        }
        None | Some(Value::Null) => return Ok(vec![]),
        Some(_) if !takes => {
            return Err(Code::OnlyWith
                .because("only goes with type choice or multi")
                .with("with", "type=choice|multi"));
        }
        Some(Value::Array(items)) => items,
        Some(_) => return Err(Code::WrongType.because("must be a list of texts")),
    };
    if items.is_empty() {
        return Err(Code::Required.because("must offer at least one option"));
    }
    if items.len() > MAX_OPTIONS {
        return Err(Code::TooMany
            .because(format!("at most {MAX_OPTIONS} options"))
            .with("max", MAX_OPTIONS));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let option = text(Some(item), MAX_OPTION)?;
        if out.contains(&option) {
            return Err(Code::AlreadyExists
                .because(format!("option '{option}' is listed twice"))
                .with("value", option));
        }
        out.push(option);
    }
    Ok(out)
}

/// The questions of a script version from the request's `questions`, or every bad part named.
pub fn parse_questions(v: &mut Validator, value: Value) -> Option<Vec<Question>> {
    let Value::Array(items) = value else {
        v.push("questions", Code::WrongType.because("must be a list"));
        return None;
    };
    if items.len() > MAX_QUESTIONS {
        v.push(
            "questions",
            Code::TooMany
                .because(format!("at most {MAX_QUESTIONS} questions"))
                .with("max", MAX_QUESTIONS),
        );
        return None;
    }
    let mut out: Vec<Question> = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let at = format!("questions[{i}]");
        match question(v, &at, item) {
            Some(q) if out.iter().any(|o| o.key == q.key) => {
                v.push(
                    &format!("{at}.key"),
                    Code::AlreadyExists
                        .because(format!("key '{}' is used twice", q.key))
                        .with("value", q.key.clone()),
                );
                ok = false;
            }
            Some(q) => out.push(q),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// One value of an answer, as counted: an option chosen, a number, or a text given.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerValue {
    pub key: String,
    pub kind: QuestionKind,
    /// The option chosen (`choice`, one per option for `multi`).
    pub option: Option<String>,
    pub number: Option<f64>,
}

/// Answers that were checked: the object to keep with the call (in the questions' order) and
/// the values to count.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answers {
    pub object: Map<String, Value>,
    pub values: Vec<AnswerValue>,
}

fn absent(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

fn answer(q: &Question, value: &Value) -> Result<(Value, Vec<AnswerValue>), Reason> {
    let one = |option: Option<String>, number: Option<f64>| AnswerValue {
        key: q.key.clone(),
        kind: q.kind,
        option,
        number,
    };
    let offered = |s: &str| -> Result<String, Reason> {
        q.options
            .iter()
            .find(|o| o.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                Code::OneOf
                    .because(format!("must be one of {}", q.options.join(", ")))
                    .with("allowed", q.options.join(", "))
            })
    };
    match (q.kind, value) {
        (QuestionKind::Choice, Value::String(s)) => {
            let o = offered(s)?;
            Ok((Value::String(o.clone()), vec![one(Some(o), None)]))
        }
        (QuestionKind::Multi, Value::Array(items)) => {
            let mut chosen: Vec<String> = vec![];
            for item in items {
                let o = offered(item.as_str().ok_or_else(|| {
                    Code::WrongType.because("must be a list of the options chosen")
                })?)?;
                if !chosen.contains(&o) {
                    chosen.push(o);
                }
            }
            let values = chosen.iter().map(|o| one(Some(o.clone()), None)).collect();
            Ok((Value::from(chosen), values))
        }
        (QuestionKind::Number, Value::Number(n)) => match n.as_f64() {
            Some(x) if x.is_finite() && x.abs() <= MAX_NUMBER => {
                Ok((value.clone(), vec![one(None, Some(x))]))
            }
            _ => Err(Code::OutOfRange
                .because("must be a number from -1e12 to 1e12")
                .with("min", -MAX_NUMBER)
                .with("max", MAX_NUMBER)),
        },
        (QuestionKind::Text, Value::String(s)) => {
            check_free_text(s, MAX_TEXT_ANSWER)?;
            Ok((Value::String(s.clone()), vec![one(None, None)]))
        }
        (QuestionKind::Choice, _) => Err(Code::WrongType.because("must be one option, as text")),
        (QuestionKind::Multi, _) => Err(Code::WrongType.because("must be a list of options")),
        (QuestionKind::Number, _) => Err(Code::NotANumber.because("must be a number")),
        (QuestionKind::Text, _) => Err(Code::WrongType.because("must be text")),
    }
}

/// Checks an outcome's `answers` object against the questions: every key must be a question's,
/// every value fit its question, and (when `required` applies, for `accepted` and `declined`)
/// every required question be answered. Each bad answer is named `answers.<key>`.
pub fn check_answers(
    questions: &[Question],
    given: &Map<String, Value>,
    required: bool,
) -> Result<Answers, Vec<FieldError>> {
    let mut errors = vec![];
    for key in given.keys() {
        if !questions.iter().any(|q| &q.key == key) {
            let key: String = key.chars().take(MAX_KEY).collect();
            errors.push(FieldError::new(
                format!("answers.{key}"),
                Code::UnknownField.because("is not a question of this call's script"),
            ));
        }
    }
    let mut out = Answers::default();
    for q in questions {
        let field = format!("answers.{}", q.key);
        let value = given.get(&q.key);
        if absent(value) {
            if required && q.required {
                errors.push(FieldError::new(
                    field,
                    Code::Required.because("is required with disposition accepted or declined"),
                ));
            }
            continue;
        }
        match answer(q, value.unwrap_or(&Value::Null)) {
            Ok((kept, values)) => {
                out.object.insert(q.key.clone(), kept);
                out.values.extend(values);
            }
            Err(reason) => errors.push(FieldError::new(field, reason)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
#[path = "survey_tests.rs"]
mod tests;

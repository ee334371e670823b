//! A filter from its JSON, bounded, each error naming its path (`filter.all[2].op`).

use crate::codes::Code;
use serde_json::Value as Json;

use super::{AttributeTest, Filter, Op, Value};
use crate::{contacts::ContactState, duration::Span, ids::CampaignId, validate::Invalid};

/// How deep filters may nest (`{"not": {"all": [..]}}` is two deep).
pub const MAX_DEPTH: usize = 8;
/// How many filters one filter may hold, itself included.
pub const MAX_NODES: usize = 100;
/// Longest attribute key, in characters.
const MAX_KEY: usize = 200;
/// Longest value, offer code or duration, in characters.
const MAX_TEXT: usize = 1000;
/// Most values of one `in`, dispositions of one `last_disposition`, states of an `in_campaign`.
const MAX_LIST: usize = 100;

struct Parser {
    nodes: usize,
}

type Result<T> = std::result::Result<T, Invalid>;

fn bad(path: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid::field(path, Code::FilterInvalid.because(message))
}

/// Parses a filter given at `path` (e.g. `filter`).
pub fn parse(json: &Json, path: &str) -> Result<Filter> {
    Parser { nodes: 0 }.filter(json, path, 1)
}

impl Parser {
    fn filter(&mut self, json: &Json, path: &str, depth: usize) -> Result<Filter> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(bad(
                path,
                format!("a filter holds at most {MAX_NODES} parts"),
            ));
        }
        if depth > MAX_DEPTH {
            return Err(bad(path, format!("filters nest at most {MAX_DEPTH} deep")));
        }
        let Some(object) = json.as_object() else {
            return Err(bad(path, "a filter is an object, like {\"all\": [...]}"));
        };
        let kinds = [
            "all",
            "any",
            "not",
            "attribute",
            "called_within",
            "last_disposition",
            "converted",
            "in_campaign",
        ];
        let Some(kind) = kinds.iter().find(|k| object.contains_key(**k)) else {
            return Err(bad(
                path,
                format!("a filter is one of: {}", kinds.join(", ")),
            ));
        };
        let allowed: &[&str] = match *kind {
            "attribute" => &["attribute", "op", "value"],
            "last_disposition" | "converted" => &[kind, "within"],
            "in_campaign" => &["in_campaign", "state"],
            _ => &[kind],
        };
        if let Some(other) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(bad(
                format!("{path}.{other}"),
                format!("not a field of a '{kind}' filter"),
            ));
        }
        let at = |field: &str| format!("{path}.{field}");
        let inner = &object[*kind];
        Ok(match *kind {
            "all" | "any" => {
                let parts = self.parts(inner, &at(kind), depth)?;
                if *kind == "all" {
                    Filter::All(parts)
                } else {
                    Filter::Any(parts)
                }
            }
            "not" => Filter::Not(Box::new(self.filter(inner, &at("not"), depth + 1)?)),
            "attribute" => attribute(object, path)?,
            "called_within" => Filter::CalledWithin(span(inner, &at("called_within"))?),
            "last_disposition" => Filter::LastDisposition {
                any_of: list(inner, &at("last_disposition"), |v, p| {
                    text(v, p, MAX_TEXT)?
                        .parse()
                        .map_err(|e: crate::codes::Reason| Invalid::field(p, e))
                })?,
                within: within(object, path)?,
            },
            "converted" => Filter::Converted {
                offer: text(inner, &at("converted"), MAX_TEXT)?,
                within: within(object, path)?,
            },
            _ => Filter::InCampaign {
                campaign: inner
                    .as_i64()
                    .filter(|id| *id > 0)
                    .map(CampaignId)
                    .ok_or_else(|| bad(at("in_campaign"), "a campaign's id (a number)"))?,
                states: match object.get("state") {
                    None => vec![],
                    Some(states) => list(states, &at("state"), |v, p| {
                        let state: ContactState = text(v, p, MAX_TEXT)?
                            .parse()
                            .map_err(|e: crate::codes::Reason| Invalid::field(p, e))?;
                        Ok(state)
                    })?,
                },
            },
        })
    }

    fn parts(&mut self, json: &Json, path: &str, depth: usize) -> Result<Vec<Filter>> {
        let Some(items) = json.as_array() else {
            return Err(bad(path, "a list of filters"));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.filter(item, &format!("{path}[{i}]"), depth + 1))
            .collect()
    }
}

fn text(json: &Json, path: &str, max: usize) -> Result<String> {
    let text = json
        .as_str()
        .ok_or_else(|| bad(path, "a text value (in quotes)"))?;
    if text.is_empty() {
        return Err(bad(path, "may not be empty"));
    }
    if text.chars().count() > max {
        return Err(bad(path, format!("at most {max} characters")));
    }
    Ok(text.to_owned())
}

fn list<T>(json: &Json, path: &str, item: impl Fn(&Json, &str) -> Result<T>) -> Result<Vec<T>> {
    let items = json
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| bad(path, "a list of at least one value"))?;
    if items.len() > MAX_LIST {
        return Err(bad(path, format!("at most {MAX_LIST} values")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| item(v, &format!("{path}[{i}]")))
        .collect()
}

fn span(json: &Json, path: &str) -> Result<Span> {
    let span: Span = text(json, path, 40)?
        .parse()
        .map_err(|e: crate::codes::Reason| Invalid::field(path, e))?;
    if span.is_zero() {
        return Err(bad(path, "a span longer than zero, like \"30d\""));
    }
    Ok(span)
}

fn within(object: &serde_json::Map<String, Json>, path: &str) -> Result<Option<Span>> {
    object
        .get("within")
        .map(|w| span(w, &format!("{path}.within")))
        .transpose()
}

/// A value to compare with: text, or a number written as JSON (which must then be a number
/// of the pattern, or it could not compare as one).
fn value(json: &Json, path: &str) -> Result<Value> {
    match json {
        Json::Number(n) => {
            let value = Value::new(n.to_string());
            if !value.is_number() {
                return Err(bad(
                    path,
                    "a number of at most 15 digits, without an exponent (or the value as text)",
                ));
            }
            Ok(value)
        }
        Json::String(_) => Ok(Value::new(text(json, path, MAX_TEXT)?)),
        _ => Err(bad(path, "a text or a number")),
    }
}

fn attribute(object: &serde_json::Map<String, Json>, path: &str) -> Result<Filter> {
    let key_path = format!("{path}.attribute");
    let key = text(&object["attribute"], &key_path, MAX_KEY)?;
    // The key travels to SQLite inside a JSON path, `$."key"`, which has no escapes.
    if key.contains(['"', '\\']) || key.chars().any(char::is_control) {
        return Err(bad(
            key_path,
            "an attribute key without quotes, backslashes or control characters",
        ));
    }
    let op_path = format!("{path}.op");
    let op = object
        .get("op")
        .ok_or_else(|| bad(&op_path, "required: eq, ne, in, gt, gte, lt, lte or exists"))?;
    let op = text(op, &op_path, 20)?;
    let value_path = format!("{path}.value");
    let given = object.get("value");
    let test = match op.as_str() {
        "exists" => AttributeTest::Exists(match given {
            None => true,
            Some(Json::Bool(b)) => *b,
            Some(_) => return Err(bad(value_path, "true, false or left out")),
        }),
        "in" => AttributeTest::In(list(
            given.ok_or_else(|| bad(&value_path, "required: a list of values"))?,
            &value_path,
            value,
        )?),
        other => {
            let op: Op = other
                .parse()
                .map_err(|_| bad(&op_path, "one of eq, ne, in, gt, gte, lt, lte or exists"))?;
            let given = given.ok_or_else(|| bad(&value_path, "required"))?;
            AttributeTest::Compare(op, value(given, &value_path)?)
        }
    };
    Ok(Filter::Attribute { key, test })
}

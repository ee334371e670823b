//! Reading contact lists: the CSV header, each row into a [`NewContact`] or a reason it is
//! invalid, and the import report. Rows are numbered as a spreadsheet shows them: the CSV
//! header is row 1, the first contact row 2; in a JSON upload the first contact is row 1.

use crate::codes::Code;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Attributes, DEFAULT_PRIORITY, NewContact, Phone, Region};
use crate::{
    ids::AgentId,
    text::{Name, check_free_text, excerpt},
};

crate::text_enum! {
    /// Where an import stands.
    pub enum ImportState {
        /// Upload stored (or still arriving); waiting for a worker.
        Queued = "queued",
        /// A worker is reading it; `processed` grows.
        Running = "running",
        /// Every row was read; the report is final.
        Done = "done",
        /// Stopped by an error; the counts say exactly what was committed.
        Failed = "failed",
    }
}

crate::text_enum! {
    /// How an upload is written.
    pub enum ImportFormat {
        Csv = "csv",
        Json = "json",
    }
}

/// One row that could not be imported: where, the offending value (cut to
/// [`MAX_VALUE_CHARS`]), a stable reason `code` with its `params` (the pages translate them,
/// `code.<code>` in web/i18n.js) and the reason in English for logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Invalid {
    pub row: u64,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default = "invalid_row")]
    pub code: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    pub reason: String,
}

fn invalid_row() -> String {
    "invalid_row".into()
}

/// Characters of the offending value a report keeps.
pub const MAX_VALUE_CHARS: usize = 100;

/// Why a row is invalid: a stable snake_case `code` with its `params`, the offending value
/// and an English reason.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub code: Code,
    pub params: serde_json::Map<String, serde_json::Value>,
    pub value: Option<String>,
    pub reason: String,
}

impl RowError {
    pub fn new(code: Code, reason: impl Into<String>) -> Self {
        Self {
            code,
            params: serde_json::Map::new(),
            value: None,
            reason: reason.into(),
        }
    }

    /// The offending value, cut to [`MAX_VALUE_CHARS`] with control characters replaced.
    pub fn value(mut self, value: &str) -> Self {
        self.value = Some(clean(&excerpt(value, MAX_VALUE_CHARS)));
        self
    }

    pub fn param(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.params.insert(key.to_owned(), value.into());
        self
    }
}

/// `text` with control characters replaced (PostgreSQL refuses a NUL in text).
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// Characters a quoted cell is cut to in a reason.
const QUOTED_CHARS: usize = 40;
/// Characters a whole reason is cut to.
pub const MAX_REASON_CHARS: usize = 160;
/// Invalid rows an import keeps with their row and reason (the first ones); past them only the
/// count grows, so a report stays small whatever the upload.
pub const MAX_INVALID_LISTED: usize = 1_000;

impl Invalid {
    /// An invalid row whose reason is safe to store and show: at most [`MAX_REASON_CHARS`]
    /// characters, with no control characters (PostgreSQL refuses a NUL in text).
    pub fn new(row: u64, reason: &str) -> Self {
        Self {
            row,
            value: None,
            code: invalid_row(),
            params: serde_json::json!({}),
            reason: excerpt(&clean(reason), MAX_REASON_CHARS).into_owned(),
        }
    }

    /// An invalid row with its code, parameters and value.
    pub fn of(row: u64, e: RowError) -> Self {
        Self {
            code: e.code.as_str().to_owned(),
            params: serde_json::Value::Object(e.params),
            value: e.value,
            ..Self::new(row, &e.reason)
        }
    }
}

/// A client's cell quoted in a reason: an excerpt, control characters replaced.
pub(super) fn quote(cell: &str) -> String {
    excerpt(cell, QUOTED_CHARS)
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// What an import did, exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    /// Rows read (not counting the header).
    pub total: u64,
    /// Rows added to the campaign.
    pub accepted: u64,
    /// Phones already in the campaign, or repeated in the upload.
    pub duplicates: u64,
    /// Phones on the do-not-call list (kept in the campaign as `suppressed`).
    pub suppressed: u64,
    /// Rows that could not be read, with why: the first [`MAX_INVALID_LISTED`].
    pub invalid: Vec<Invalid>,
    /// How many rows could not be read, all of them (`invalid` lists the first 1,000).
    #[serde(default)]
    pub invalid_count: u64,
    /// The charset a CSV upload was read in (given with it, or told from its start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<super::charset::Charset>,
    /// The sheet an .xlsx upload was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// The import's id (`GET /v1/imports/{id}`, `…/invalid.csv`), for an import read at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<crate::ids::ImportId>,
}

impl Report {
    /// Adds a part's counts, and its invalid rows while fewer than [`MAX_INVALID_LISTED`]
    /// are listed.
    pub fn add(&mut self, other: &Report) {
        self.total += other.total;
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.suppressed += other.suppressed;
        self.invalid_count += other.invalid_count;
        let room = MAX_INVALID_LISTED.saturating_sub(self.invalid.len());
        self.invalid
            .extend(other.invalid.iter().take(room).cloned());
    }
}

/// Longest `external_id`, in characters (the column's CHECK says the same, migration 0025).
pub const MAX_EXTERNAL_ID: usize = 100;

/// Longest attribute name and value.
const MAX_ATTRIBUTE_VALUE: usize = 1_000;
pub(super) const MAX_ATTRIBUTES: usize = 100;

pub use super::columns::{Columns, HeaderError};

/// What a row is checked against.
pub struct RowContext<'a> {
    pub region: Region,
    /// Whether an agent with this id exists.
    pub agent_exists: &'a (dyn Fn(AgentId) -> bool + Sync),
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum PriorityInput {
    Number(i64),
    Text(String),
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum OwnerInput {
    Number(i64),
    Text(String),
}

/// A contact as a JSON upload writes it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RawContact {
    pub phone: String,
    pub name: Option<String>,
    /// IANA time zone; the campaign's when absent.
    pub timezone: Option<String>,
    /// The person's id in another system (a CRM's 客户编号), up to 100 characters.
    pub external_id: Option<String>,
    /// 0..100; 50 when absent.
    #[schema(value_type = Option<i64>)]
    pub priority: Option<PriorityInput>,
    /// The id of the agent who owns this contact.
    #[schema(value_type = Option<i64>)]
    pub owner_agent: Option<OwnerInput>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: BTreeMap<String, serde_json::Value>,
}

impl RawContact {
    /// Checks every field; the error says which and why.
    pub fn check(self, ctx: &RowContext) -> Result<NewContact, RowError> {
        let phone = Phone::parse(&self.phone, ctx.region).map_err(|e| {
            let code = if self.phone.trim().is_empty() {
                Code::PhoneMissing
            } else {
                Code::PhoneInvalid
            };
            RowError::new(code, format!("phone {e}")).value(&self.phone)
        })?;
        let name = match self.name {
            Some(n) if !n.trim().is_empty() => Some(
                Name::parse(&n)
                    .map_err(|e| RowError::new(Code::NameInvalid, format!("name {e}")).value(&n))?
                    .into_string(),
            ),
            _ => None,
        };
        let timezone = match self.timezone {
            Some(tz) if !tz.trim().is_empty() => {
                Some(tz.trim().parse::<chrono_tz::Tz>().map_err(|_| {
                    let reason =
                        format!("timezone '{}' is not an IANA time zone", quote(tz.trim()));
                    RowError::new(Code::TimezoneUnknown, reason).value(tz.trim())
                })?)
            }
            _ => None,
        };
        let external_id = match self.external_id {
            Some(id) if !id.trim().is_empty() => {
                let id = id.trim();
                check_free_text(id, MAX_EXTERNAL_ID).map_err(|e| {
                    RowError::new(
                        Code::ExternalIdInvalid,
                        format!("external_id '{}' {e}", quote(id)),
                    )
                    .param("max", MAX_EXTERNAL_ID)
                    .value(id)
                })?;
                Some(id.to_owned())
            }
            _ => None,
        };
        let priority = match self.priority {
            None => DEFAULT_PRIORITY,
            Some(PriorityInput::Number(n)) => n,
            Some(PriorityInput::Text(t)) => t.trim().parse().map_err(|_| {
                let reason = format!("priority '{}' is not a number from 0 to 100", quote(&t));
                RowError::new(Code::PriorityInvalid, reason).value(&t)
            })?,
        };
        if !(0..=100).contains(&priority) {
            return Err(RowError::new(
                Code::PriorityInvalid,
                format!("priority {priority} is not from 0 to 100"),
            )
            .value(&priority.to_string()));
        }
        let owner_agent = match self.owner_agent {
            None => None,
            Some(OwnerInput::Number(n)) => Some(AgentId(n)),
            Some(OwnerInput::Text(t)) if t.trim().is_empty() => None,
            Some(OwnerInput::Text(t)) => Some(AgentId(t.trim().parse().map_err(|_| {
                let reason = format!("owner_agent '{}' is not an agent id", quote(&t));
                RowError::new(Code::OwnerAgentUnknown, reason).value(&t)
            })?)),
        };
        if let Some(id) = owner_agent
            && !(ctx.agent_exists)(id)
        {
            return Err(RowError::new(
                Code::OwnerAgentUnknown,
                format!("owner_agent {id} is not an agent"),
            )
            .value(&id.to_string()));
        }
        if self.attributes.len() > MAX_ATTRIBUTES {
            return Err(RowError::new(
                Code::TooManyAttributes,
                format!("at most {MAX_ATTRIBUTES} attributes"),
            )
            .param("max", MAX_ATTRIBUTES));
        }
        let mut attributes = Attributes::new();
        for (key, value) in self.attributes {
            // An empty cell or value says nothing: the person keeps what they had.
            let text = match value {
                serde_json::Value::String(s) if s.trim().is_empty() => continue,
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => continue,
                serde_json::Value::Bool(_) | serde_json::Value::Number(_) => value.to_string(),
                _ => {
                    let reason = format!(
                        "attribute '{}' must be text, a number or true/false",
                        quote(&key)
                    );
                    return Err(RowError::new(Code::AttributeInvalid, reason)
                        .param("key", quote(&key))
                        .value(&value.to_string()));
                }
            };
            if key.trim().is_empty() {
                return Err(RowError::new(
                    Code::AttributeNameInvalid,
                    "attribute names must not be empty",
                ));
            }
            check_free_text(&key, 200).map_err(|e| {
                RowError::new(
                    Code::AttributeNameInvalid,
                    format!("attribute name '{}' {e}", quote(&key)),
                )
                .value(&key)
            })?;
            check_free_text(&text, MAX_ATTRIBUTE_VALUE).map_err(|e| {
                RowError::new(
                    Code::AttributeInvalid,
                    format!("attribute '{}' {e}", quote(&key)),
                )
                .param("key", quote(&key))
                .value(&text)
            })?;
            attributes.insert(key, text);
        }
        Ok(NewContact {
            phone,
            name,
            timezone,
            external_id,
            priority,
            owner_agent,
            attributes,
        })
    }
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;

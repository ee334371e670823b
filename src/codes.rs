//! The registry of every stable code the server can put in a problem, an `errors[]` item or a
//! campaign warning (contract v1.2): pages translate `code.<code>` with its `params` and fall
//! back to the English `detail`/`message`. A code can only be made from [`Code`], and a unit
//! test holds every code against the translations in `web/i18n.js` (both `en` and `zh`).

use serde::Serialize;
use serde_json::{Map, Value};

macro_rules! codes {
    ($( $(#[$meta:meta])* $variant:ident = $text:literal, )+) => {
        /// A stable snake_case identifier of a problem or of what is wrong with a field.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $( $(#[$meta])* $variant, )+
        }

        impl Code {
            /// Every code the server can emit.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The wire spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)+
                }
            }
        }
    };
}

codes! {
    // ---- problems (the document's own `code`) ----
    /// 400: the request could not be read.
    BadRequest = "bad_request",
    /// 422: values that were read but are not acceptable (see `errors`).
    InvalidInput = "invalid_input",
    Unauthorized = "unauthorized",
    Forbidden = "forbidden",
    NotFound = "not_found",
    /// 405: this path does not take that method.
    MethodNotAllowed = "method_not_allowed",
    /// 408: the request took too long.
    RequestTimeout = "request_timeout",
    /// 409 without a more precise code.
    Conflict = "conflict",
    /// 409: a value given is already taken (the field is in `errors`).
    Taken = "taken",
    PayloadTooLarge = "payload_too_large",
    UnsupportedMediaType = "unsupported_media_type",
    TooManyRequests = "too_many_requests",
    /// 429/503: too many open event streams.
    StreamsFull = "streams_full",
    /// 503: the database is out of reach.
    Unavailable = "unavailable",
    /// 500: a defect (details only in the log).
    Internal = "internal",
    /// 409: the lease on the call was lost; the outcome was not recorded.
    LeaseLost = "lease_lost",
    /// 409: a supervisor released the call.
    CallReleased = "call_released",
    /// 409: the agent is paused and gets no call.
    AgentPaused = "agent_paused",
    /// 409: the agent is offline and gets no call.
    AgentOffline = "agent_offline",
    /// 409: the last working admin token may not be revoked.
    LastAdmin = "last_admin",
    /// 409: the callback's contact is being called right now.
    BeingCalled = "being_called",
    /// 409: the campaign is completed.
    CampaignCompleted = "campaign_completed",
    /// 409: the campaign's status cannot change that way.
    StatusTransition = "status_transition",
    /// 409: the campaign is running and this may only change while it is not.
    CampaignRunning = "campaign_running",
    /// 409: a change made at the same time won.
    ConcurrentChange = "concurrent_change",
    /// 409: an import is already running for this campaign.
    ImportRunning = "import_running",
    /// 429: too many calls handed back without an outcome.
    ReleaseLimit = "release_limit",
    /// 429: too many phone look-ups.
    LookupLimit = "lookup_limit",

    // ---- fields (an `errors[]` item's `code`) ----
    /// A value that must be given was not (or was blank).
    Required = "required",
    /// Longer than `max` characters.
    TooLong = "too_long",
    /// An upload beyond a bound (columns, bytes, nesting).
    TooLarge = "too_large",
    /// More than `max` items.
    TooMany = "too_many",
    /// Contains control characters.
    ControlCharacters = "control_characters",
    /// Not one of `allowed`.
    OneOf = "one_of",
    /// Not a whole number in `min`..=`max`.
    OutOfRange = "out_of_range",
    /// Not a number at all.
    NotANumber = "not_a_number",
    /// Not JSON of the expected shape.
    InvalidJson = "invalid_json",
    /// The body must be a JSON object.
    NotAnObject = "not_an_object",
    /// A value of the wrong JSON type or form for its field.
    WrongType = "wrong_type",
    /// A field this route does not read.
    UnknownField = "unknown_field",
    /// Not a duration (see `examples`).
    DurationInvalid = "duration_invalid",
    /// A duration outside what this field accepts.
    DurationOutOfRange = "duration_out_of_range",
    /// Not an RFC 3339 time (or a day, where one is accepted).
    TimeInvalid = "time_invalid",
    /// A time in the past where a future one is needed.
    TimeInPast = "time_in_past",
    /// A time outside what this field accepts (too far ahead, outside calling hours …).
    TimeOutOfRange = "time_out_of_range",
    /// A time outside the calling hours (`time`, `zone`, `hours`).
    OutsideCallingHours = "outside_calling_hours",
    /// `from` after `to`, `end_at` before `start_at` …
    RangeReversed = "range_reversed",
    /// A range longer than this field accepts.
    RangeTooLong = "range_too_long",
    /// Not a period like 2026-11, 2026-Q4 or 2026.
    PeriodInvalid = "period_invalid",
    /// Not an IANA time zone.
    TimezoneUnknown = "timezone_unknown",
    /// Not a phone number (or not a valid one for its region).
    PhoneInvalid = "phone_invalid",
    /// Not a region code.
    RegionInvalid = "region_invalid",
    /// Not calling windows as this field takes them.
    WindowsInvalid = "windows_invalid",
    /// Not a recurrence.
    RecurrenceInvalid = "recurrence_invalid",
    /// Not a script template.
    TemplateInvalid = "template_invalid",
    /// A script that runs past its time or size budget for a sample contact.
    TemplateTooCostly = "template_too_costly",
    /// Not answers as the outcome takes them.
    AnswersInvalid = "answers_invalid",
    /// A survey question's key: lowercase letters, digits and `_`, a letter first (`max`).
    KeyInvalid = "key_invalid",
    /// Not an id (or a cursor) this server gave out.
    IdInvalid = "id_invalid",
    /// Names something that does not exist (a campaign, agent, offer, script …).
    Unknown = "unknown",
    /// Names an agent that is not active.
    AgentInactive = "agent_inactive",
    /// Names an agent in none of the campaign's `teams`.
    NotInTeams = "not_in_teams",
    /// Only goes with another value (`with`).
    OnlyWith = "only_with",
    /// Needed with another value (`with`).
    RequiredWith = "required_with",
    /// A header value that is not visible ASCII or too long.
    HeaderInvalid = "header_invalid",
    /// The same idempotency key was used for a different request.
    KeyReused = "key_reused",
    /// The upload broke off or could not be read.
    UploadBroken = "upload_broken",
    /// The file is not in a format this route reads (columns, encoding …).
    FileUnreadable = "file_unreadable",
    /// The file lacks a `column` it needs.
    ColumnMissing = "column_missing",
    /// A value already used by another row (`field` says which).
    AlreadyExists = "already_exists",
    /// A query parameter or path segment this route does not read.
    ParameterInvalid = "parameter_invalid",
    /// An upload's `mapping` of columns to fields cannot be used.
    MappingInvalid = "mapping_invalid",
    /// An upload's charset is not one outcall reads.
    CharsetUnknown = "charset_unknown",
    /// One address holds as many connections as one address may.
    TooManyConnections = "too_many_connections",
    /// Give exactly one of two fields.
    OneOfTwo = "one_of_two",
    /// Give exactly one of several fields (`fields`).
    OneOfFields = "one_of_fields",
    /// A segment's filter cannot be used (the field names the path in it).
    FilterInvalid = "filter_invalid",
    /// An .xlsx upload is not a workbook outcall can read (a broken zip, a part missing).
    WorkbookUnreadable = "workbook_unreadable",
    /// A part of an .xlsx upload is past a bound (`part`, `limit`): a zip bomb, a cell or a
    /// shared-strings table too large.
    WorkbookTooLarge = "workbook_too_large",
    /// The workbook has no sheet of that name (`sheets` lists the ones it has).
    SheetUnknown = "sheet_unknown",
    // ---- why an imported row is invalid (an import report's `invalid[].code`) ----
    InvalidRow = "invalid_row",
    PhoneMissing = "phone_missing",
    NameInvalid = "name_invalid",
    ExternalIdInvalid = "external_id_invalid",
    PriorityInvalid = "priority_invalid",
    OwnerAgentUnknown = "owner_agent_unknown",
    TooManyAttributes = "too_many_attributes",
    AttributeInvalid = "attribute_invalid",
    AttributeNameInvalid = "attribute_name_invalid",
    NulByte = "nul_byte",
    TooManyFields = "too_many_fields",
    NotUtf8 = "not_utf8",
    TooManyColumns = "too_many_columns",
    RowTooLong = "row_too_long",
    FieldTooLong = "field_too_long",
    NestingTooDeep = "nesting_too_deep",
    ContactTooLarge = "contact_too_large",
    NotAContact = "not_a_contact",

    // ---- campaign warnings (`kind` and `code`) ----
    WindowOutsideCallingHours = "window_outside_calling_hours",
    TeamWithoutActiveAgent = "team_without_active_agent",
    /// A campaign without teams, and no active agent at all.
    NoActiveAgent = "no_active_agent",
    RetryLongerThanTimeLeft = "retry_longer_than_time_left",
    ScriptFieldMissing = "script_field_missing",
    RecurrenceBeforeRoundEnds = "recurrence_before_round_ends",
    /// A campaign whose agents all take another campaign's calls (issue 27).
    Starved = "starved",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A code's parameters, for the pages' `{name}` placeholders.
pub type Params = Map<String, Value>;

impl Code {
    /// This code with an English message (for logs and as the pages' fallback).
    pub fn because(self, message: impl Into<String>) -> Reason {
        Reason {
            code: self,
            params: Params::new(),
            message: message.into(),
        }
    }
}

/// Why a value was refused: a code, its params and the English words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Reason {
    pub code: Code,
    pub params: Params,
    pub message: String,
}

impl Reason {
    /// Adds a parameter.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.params.insert(key.to_owned(), value.into());
        self
    }
}

impl From<Reason> for String {
    fn from(reason: Reason) -> Self {
        reason.message
    }
}

/// Gives an English-only refusal its code.
pub trait Coded<T> {
    fn coded(self, code: Code) -> Result<T, Reason>;
}

impl<T> Coded<T> for Result<T, String> {
    fn coded(self, code: Code) -> Result<T, Reason> {
        self.map_err(|message| code.because(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The `code.*` keys of one language block (`en: {` … `},`) of web/i18n.js.
    fn translated(i18n: &str, lang: &str) -> BTreeSet<String> {
        let start = i18n
            .find(&format!("\n  {lang}: {{"))
            .unwrap_or_else(|| panic!("no {lang} block in web/i18n.js"));
        let block = &i18n[start..];
        let end = block.find("\n  },").unwrap_or(block.len());
        block[..end]
            .lines()
            .filter_map(|line| line.trim().strip_prefix("\"code."))
            .filter_map(|rest| rest.split_once('"').map(|(code, _)| code.to_owned()))
            .collect()
    }

    #[test]
    fn every_code_the_server_can_emit_is_translated_in_english_and_chinese() {
        let i18n = include_str!("../web/i18n.js");
        for lang in ["en", "zh"] {
            let have = translated(i18n, lang);
            let missing: Vec<_> = Code::ALL
                .iter()
                .map(|c| c.as_str())
                .filter(|c| !have.contains(*c))
                .collect();
            assert!(
                missing.is_empty(),
                "web/i18n.js {lang} lacks code.{missing:?}"
            );
        }
    }

    #[test]
    fn codes_are_snake_case_and_distinct() {
        let mut seen = BTreeSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(
                s.starts_with(|c: char| c.is_ascii_lowercase())
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{s}"
            );
            assert!(seen.insert(s), "{s} twice");
        }
    }

    /// Codes are made only from the registry: no code written as a string literal anywhere in the
    /// server's source, so the server cannot emit a code the registry (and so the pages) lack.
    #[test]
    fn the_server_makes_codes_only_from_the_registry() {
        let mut offenders = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    let str_field = ["code:&", "'static"].concat();
                    for (n, line) in text.lines().enumerate() {
                        let l = line.replace(' ', "");
                        if l.contains("code:\"")
                            || l.contains("\"code\":\"")
                            || l.contains(&str_field)
                        {
                            offenders.push(format!("{}:{}", path.display(), n + 1));
                        }
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "codes made from strings: {offenders:?}"
        );
    }
}

//! An outcome's fields checked before anything is written: the disposition, notes, a
//! callback's time (in the future, within reach, inside the calling hours in the contact's
//! zone), the answers' shape and the talk time. Each bad field is named.

use chrono::{DateTime, Duration, Timelike, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use crate::{
    codes::{Code, Coded, Reason},
    dispatch::{CallbackScope, Disposition},
    text::{Notes, check_free_text},
    time::Instant,
    validate::{Invalid, Validator},
};

use super::{Result, Service, outcome::OutcomeInput};

/// The longest a callback may be set ahead.
const MAX_CALLBACK_DAYS: i64 = 180;
/// The longest talk an outcome may report: a day.
const MAX_TALK_SECONDS: i64 = 86_400;
/// The largest `answers` object, as JSON.
const MAX_ANSWERS_BYTES: usize = 16 * 1024;
/// An outcome whose fields were checked.
pub(super) struct Checked {
    pub(super) disposition: Disposition,
    pub(super) notes: Option<Notes>,
    pub(super) callback: Option<(DateTime<Utc>, CallbackScope)>,
    pub(super) answers: Option<Map<String, Value>>,
    pub(super) talk_seconds: Option<i64>,
}

fn clean_json(value: &Value) -> bool {
    match value {
        Value::String(s) => check_free_text(s, Notes::MAX).is_ok(),
        Value::Array(items) => items.iter().all(clean_json),
        Value::Object(map) => map
            .iter()
            .all(|(k, v)| check_free_text(k, 200).is_ok() && clean_json(v)),
        _ => true,
    }
}

/// The answers' shape (an object of clean text, within bounds); what they say is checked
/// against the call's questions once the call is known.
fn check_answers(answers: Value) -> Result<Map<String, Value>, Reason> {
    let Value::Object(map) = answers else {
        return Err(Code::NotAnObject.because("must be an object"));
    };
    if !map.values().all(clean_json) || !map.keys().all(|k| check_free_text(k, 200).is_ok()) {
        return Err(crate::text::control_characters());
    }
    let len = serde_json::to_string(&map).map_or(usize::MAX, |t| t.len());
    if len > MAX_ANSWERS_BYTES {
        Err(Code::TooLong
            .because(format!("must be at most {MAX_ANSWERS_BYTES} bytes"))
            .with("max", MAX_ANSWERS_BYTES))
    } else {
        Ok(map)
    }
}

impl Service {
    /// Checks a callback time: in the future, within reach, and inside the calling hours in the
    /// contact's zone.
    pub(super) fn check_callback(
        &self,
        at: &str,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Reason> {
        let at = Instant::parse_rfc3339(at).coded(Code::TimeInvalid)?.utc();
        let local = at.with_timezone(&tz);
        let minute = (local.hour() * 60 + local.minute()) as u16;
        let hours = &self.config.calling_hours;
        if at <= now {
            Err(Code::TimeInPast.because("must be in the future"))
        } else if at > now + Duration::days(MAX_CALLBACK_DAYS) {
            Err(Code::TimeOutOfRange
                .because(format!("must be within {MAX_CALLBACK_DAYS} days"))
                .with("days", MAX_CALLBACK_DAYS))
        } else if !hours.contains(minute) {
            let time = local.format("%H:%M").to_string();
            Err(Code::OutsideCallingHours
                .because(format!(
                    "{time} in the contact's zone ({}) is outside the calling hours {hours}",
                    tz.name(),
                ))
                .with("time", time)
                .with("zone", tz.name())
                .with("hours", hours.to_string()))
        } else {
            Ok(at)
        }
    }

    pub(super) fn check_outcome(
        &self,
        input: OutcomeInput,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<Checked, Invalid> {
        let mut v = Validator::new();
        let disposition = v.check("disposition", input.disposition.parse::<Disposition>());
        let notes = v.check_opt("notes", input.notes, |n| Notes::parse(&n));
        let scope = v.check_opt("callback_scope", input.callback_scope, |s| {
            match s.as_str() {
                "agent" => Ok(CallbackScope::Agent),
                "campaign" => Ok(CallbackScope::Campaign),
                _ => Err(Code::OneOf
                    .because("must be agent or campaign")
                    .with("allowed", "agent, campaign")),
            }
        });
        let answers = v.check_opt("answers", input.answers, check_answers);
        let talk_seconds = v.check_opt("talk_seconds", input.talk_seconds, |s| {
            if (0..=MAX_TALK_SECONDS).contains(&s) {
                Ok(s)
            } else {
                Err(Code::OutOfRange
                    .because(format!("must be from 0 to {MAX_TALK_SECONDS}"))
                    .with("min", 0)
                    .with("max", MAX_TALK_SECONDS))
            }
        });
        let mut callback = None;
        match (disposition, input.callback_at) {
            (Some(Disposition::Callback), None) => v.push(
                "callback_at",
                Code::RequiredWith
                    .because("is required with disposition callback")
                    .with("with", "disposition=callback"),
            ),
            (Some(Disposition::Callback), Some(at)) => {
                if let Some(at) = v.check("callback_at", self.check_callback(&at, tz, now)) {
                    callback = Some((at, scope.flatten().unwrap_or(CallbackScope::Agent)));
                }
            }
            (Some(_), Some(_)) => v.push(
                "callback_at",
                Code::OnlyWith
                    .because("only goes with disposition callback")
                    .with("with", "disposition=callback"),
            ),
            _ => {}
        }
        let (Some(disposition), Some(notes), Some(answers), Some(talk_seconds)) =
            (disposition, notes, answers, talk_seconds)
        else {
            return Err(v.fail());
        };
        v.finish()?;
        Ok(Checked {
            disposition,
            notes,
            callback,
            answers,
            talk_seconds,
        })
    }
}

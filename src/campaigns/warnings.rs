//! What a lead should know about a campaign before it disappoints them: windows it never calls
//! in, teams nobody can work for, retry delays that outlast it, script fields its contacts
//! lack, a recurrence that comes round before a round can finish. Pure: the service gathers the
//! facts.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{
    codes::{Code, Params, Reason},
    rules::CallingHours,
    time::{DAY_MS, Instant},
};

use super::{CampaignDef, CampaignStatus};

crate::text_enum! {
    /// What a warning is about.
    pub enum WarningCode {
        /// A calling window lies wholly outside the global calling hours.
        WindowOutsideCallingHours = "window_outside_calling_hours",
        /// One of the campaign's teams has no active agent.
        TeamWithoutActiveAgent = "team_without_active_agent",
        /// A retry delay is longer than the time left before `end_at`.
        RetryLongerThanTimeLeft = "retry_longer_than_time_left",
        /// More than a tenth of the contacts lack a field the script reads.
        ScriptFieldMissing = "script_field_missing",
        /// The recurrence re-opens the list before a round of it can be called.
        RecurrenceBeforeRoundEnds = "recurrence_before_round_ends",
        /// Ready contacts and no hand-out for longer than `OUTCALL_STARVED_AFTER` while
        /// campaigns sharing its agents got theirs (a higher priority, or a larger share);
        /// `params` names them. Gone at the campaign's next hand-out.
        Starved = "starved",
    }
}

/// One warning: its kind, a code with params for pages to translate, and English words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Warning {
    pub kind: WarningCode,
    #[schema(value_type = String)]
    pub code: Code,
    #[schema(value_type = Object)]
    pub params: Params,
    pub message: String,
}

/// The share of contacts lacking a script field above which it is worth a warning.
pub const MISSING_SHARE: f64 = 0.10;

/// What the warnings are judged on besides the campaign itself.
pub struct Facts<'a> {
    pub status: CampaignStatus,
    pub hours: &'a CallingHours,
    /// The teams that have an active agent.
    pub staffed: &'a [String],
    /// There is any active agent at all.
    pub anyone: bool,
    /// Of the contacts looked at (`looked_at`), how many lack each field the script reads.
    pub lacking: &'a BTreeMap<String, i64>,
    pub looked_at: i64,
    /// How long a round of the list takes, when a forecast says.
    pub round: Option<i64>,
    /// The campaign goes without a hand-out while others sharing its agents get theirs.
    pub starved: Option<&'a Starved>,
    pub now: Instant,
}

/// A campaign's starvation, as the service found it: since when it has had no hand-out, and
/// the campaigns (id and name) that got its agents' hand-outs meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Starved {
    pub since: Instant,
    pub holders: Vec<(i64, String)>,
}

/// Whether a campaign is starved: it has ready contacts, its last hand-out (or, never handed
/// out, its last change) is older than `after`, and campaigns sharing its agents got hand-outs
/// since then (`holders`, with their latest hand-out). `None` otherwise.
pub fn starved(
    ready: i64,
    since: Instant,
    holders: Vec<(i64, String, Instant)>,
    after_ms: i64,
    now: Instant,
) -> Option<Starved> {
    if ready <= 0 || now.millis() - since.millis() <= after_ms {
        return None;
    }
    let holders: Vec<(i64, String)> = holders
        .into_iter()
        .filter(|(_, _, last)| *last > since)
        .map(|(id, name, _)| (id, name))
        .collect();
    (!holders.is_empty()).then_some(Starved { since, holders })
}

/// The warnings for a campaign that is not finished (a completed one has none).
pub fn warnings(def: &CampaignDef, facts: &Facts) -> Vec<Warning> {
    let mut out = Vec::new();
    if facts.status == CampaignStatus::Completed {
        return out;
    }
    let mut warn = |kind, reason: Reason| {
        out.push(Warning {
            kind,
            code: reason.code,
            params: reason.params,
            message: reason.message,
        })
    };
    for w in def.windows.outside(facts.hours) {
        let days = w.days.join(",");
        warn(
            WarningCode::WindowOutsideCallingHours,
            Code::WindowOutsideCallingHours
                .because(format!(
                    "the window {}-{} on {days} never meets the calling hours {}",
                    w.start, w.end, facts.hours
                ))
                .with("start", w.start.to_string())
                .with("end", w.end.to_string())
                .with("days", days)
                .with("hours", facts.hours.to_string()),
        );
    }
    for team in def.teams.iter().filter(|t| !facts.staffed.contains(t)) {
        warn(
            WarningCode::TeamWithoutActiveAgent,
            Code::TeamWithoutActiveAgent
                .because(format!("team {team} has no active agent"))
                .with("team", team.as_str()),
        );
    }
    if def.teams.is_empty() && !facts.anyone {
        warn(
            WarningCode::TeamWithoutActiveAgent,
            Code::NoActiveAgent.because("no active agent may work this campaign"),
        );
    }
    if let Some(end) = def.end_at {
        let left = (end.millis() - facts.now.millis()).max(0) / 1000;
        let delays = [
            ("no_answer", def.retry.no_answer),
            ("busy", def.retry.busy),
            ("voicemail", def.retry.voicemail),
        ];
        for (what, delay) in delays.iter().filter(|(_, d)| d.as_secs() > left) {
            warn(
                WarningCode::RetryLongerThanTimeLeft,
                Code::RetryLongerThanTimeLeft
                    .because(format!(
                        "the {what} retry delay {delay} is longer than the {left} s left before end_at"
                    ))
                    .with("what", *what)
                    .with("delay", delay.to_string())
                    .with("left", left),
            );
        }
    }
    if facts.looked_at > 0 {
        for (field, lacking) in facts.lacking {
            let share = *lacking as f64 / facts.looked_at as f64;
            if share > MISSING_SHARE {
                let percent = format!("{:.0}", share * 100.0);
                warn(
                    WarningCode::ScriptFieldMissing,
                    Code::ScriptFieldMissing
                        .because(format!(
                            "{percent}% of the contacts looked at ({lacking} of {}) have no {field}, which the script reads",
                            facts.looked_at
                        ))
                        .with("percent", percent)
                        .with("lacking", *lacking)
                        .with("looked_at", facts.looked_at)
                        .with("field", field.as_str()),
                );
            }
        }
    }
    if let (Some(recurrence), Some(round)) = (&def.recurrence, facts.round) {
        let next = recurrence.next_after(facts.now.utc(), def.timezone);
        let after = next.and_then(|n| recurrence.next_after(n, def.timezone));
        if let (Some(a), Some(b)) = (next, after) {
            let every = (b - a).num_milliseconds();
            if round > every {
                let every_days = format!("{:.1}", every as f64 / DAY_MS as f64);
                let round_days = format!("{:.1}", round as f64 / DAY_MS as f64);
                warn(
                    WarningCode::RecurrenceBeforeRoundEnds,
                    Code::RecurrenceBeforeRoundEnds
                        .because(format!(
                            "the recurrence comes every {every_days} days but a round takes {round_days}"
                        ))
                        .with("every_days", every_days)
                        .with("round_days", round_days),
                );
            }
        }
    }
    if let Some(s) = facts.starved {
        let names: Vec<&str> = s.holders.iter().map(|(_, n)| n.as_str()).collect();
        let minutes = (facts.now.millis() - s.since.millis()) / 60_000;
        let ids: Vec<i64> = s.holders.iter().map(|(id, _)| *id).collect();
        out.push(Warning {
            kind: WarningCode::Starved,
            code: Code::Starved,
            params: Code::Starved
                .because("")
                .with("campaigns", names.join(", "))
                .with("campaign_ids", ids)
                .with("minutes", minutes)
                .params,
            message: format!(
                "no call handed out for {minutes} min while its agents took calls of {}",
                names.join(", ")
            ),
        });
    }
    out
}

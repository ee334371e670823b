//! Dispatch rules: whether a contact may be called now and, if not, from when; what each
//! outcome does to the contact. Pure functions; the store applies them.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub mod callback;
pub mod eligibility;
pub mod explain;
pub mod forecast;
pub mod shares;

pub use eligibility::{Hold, Judgement, Reason, judge};

use crate::{
    campaigns::{CampaignDef, Windows},
    contacts::ContactState,
    duration::Span,
    ids::AgentId,
    rules::{CallingHours, PhoneCap},
    time::Instant,
};

crate::text_enum! {
    /// What happened on a call.
    pub enum Disposition {
        /// Took the offer: a conversion. Final.
        Accepted = "accepted",
        /// Turned the offer down. Final.
        Declined = "declined",
        /// Asked to be called back at `callback_at`.
        Callback = "callback",
        /// Nobody answered; retried after the campaign's delay.
        NoAnswer = "no_answer",
        /// Line busy; retried after the campaign's delay.
        Busy = "busy",
        /// Reached voicemail; retried after the campaign's delay.
        Voicemail = "voicemail",
        /// Not the person we meant. Final.
        WrongNumber = "wrong_number",
        /// Asked never to be called again: final, and the phone joins the DNC list.
        DoNotCall = "do_not_call",
        /// Complained: final, joins the DNC list, and opens a follow-up for leads.
        Complaint = "complaint",
    }
}

crate::text_enum! {
    /// Where a call (one hand-out under a lease) stands.
    pub enum CallState {
        /// Held by its agent until `lease_expires_at`; leaves by outcome, release or expiry.
        Leased = "leased",
        /// Finished with an outcome. Final.
        Completed = "completed",
        /// Handed back unattempted by the agent (or for them: a supervisor, the agent's own
        /// pause). Final (a late outcome may still complete it while nobody else was handed the
        /// person, as after a supervisor's release while the agent was still talking).
        Released = "released",
        /// The lease ran out; the entry went back to the queue. Final (a late outcome may still
        /// complete it while nobody else was handed the person).
        Expired = "expired",
    }
}

crate::text_enum! {
    /// What a line of a contact's history records.
    pub enum HistoryKind {
        /// An outcome was recorded.
        Outcome = "outcome",
        /// The agent handed the call back unattempted.
        Released = "released",
        /// The lease ran out and the contact went back to the queue.
        LeaseExpired = "lease_expired",
        /// An agent's callback passed its grace period and opened to the whole campaign.
        CallbackOpened = "callback_opened",
    }
}

impl Disposition {
    /// A person was spoken to.
    pub fn reached(self) -> bool {
        matches!(
            self,
            Disposition::Accepted
                | Disposition::Declined
                | Disposition::Callback
                | Disposition::DoNotCall
                | Disposition::Complaint
        )
    }

    /// The offer was taken: a conversion.
    pub fn converts(self) -> bool {
        self == Disposition::Accepted
    }

    /// The phone joins the do-not-call list.
    pub fn lists_phone(self) -> bool {
        matches!(self, Disposition::DoNotCall | Disposition::Complaint)
    }

    /// The retry delay, for outcomes that are retried.
    pub fn retry_delay(self, def: &CampaignDef) -> Option<Span> {
        match self {
            Disposition::NoAnswer => Some(def.retry.no_answer),
            Disposition::Busy => Some(def.retry.busy),
            Disposition::Voicemail => Some(def.retry.voicemail),
            _ => None,
        }
    }
}

/// Who may take a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CallbackScope {
    /// The agent who took the call, until the grace period after it is due passes.
    Agent,
    /// Anyone who works the campaign.
    Campaign,
}

/// The global contact-pressure rules.
#[derive(Debug, Clone, Copy)]
pub struct Pressure {
    pub hours: CallingHours,
    pub cap: PhoneCap,
    pub min_gap: Span,
}

/// What the rules say about handing a contact out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// May be called now.
    Now,
    /// Not before this instant, held back by this rule (the first that applies).
    NotBefore(DateTime<Utc>, Hold),
    /// The windows never open (they do not meet the global hours): park it for a day.
    Never,
}

/// Whether a contact may be called at `now`: [`judge`] reduced to what the hand-out needs.
/// `recent` are the instants of the phone's attempts within the cap period, newest first.
pub fn verdict(
    windows: &Windows,
    tz: Tz,
    is_callback: bool,
    recent: &[DateTime<Utc>],
    rules: &Pressure,
    now: DateTime<Utc>,
) -> Verdict {
    let judgement = judge(windows, tz, is_callback, recent, rules, now);
    match judgement.callable_at {
        Some(t) if t <= now => Verdict::Now,
        Some(t) => Verdict::NotBefore(t, judgement.first().unwrap_or(Hold::OutsideCampaignWindow)),
        None => Verdict::Never,
    }
}

/// Where a contact goes after an outcome: its new state and when it is next due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After {
    pub state: ContactState,
    pub next_attempt_at: Instant,
    /// When it joins the pool for every agent (later than `next_attempt_at` for an agent's callback).
    pub release_at: Instant,
    pub reserved_for: Option<AgentId>,
    pub is_callback: bool,
    /// A retry the windows pushed past its delay is held by them (a change of the windows frees
    /// it).
    pub held: Option<Hold>,
}

/// Applies an outcome. `attempts` counts this attempt.
#[allow(clippy::too_many_arguments)]
pub fn after_outcome(
    disposition: Disposition,
    def: &CampaignDef,
    tz: Tz,
    attempts: i64,
    callback: Option<(DateTime<Utc>, CallbackScope)>,
    agent_id: AgentId,
    grace: Span,
    hours: &CallingHours,
    now: DateTime<Utc>,
) -> After {
    let finished = |state| After {
        state,
        next_attempt_at: now.into(),
        release_at: now.into(),
        reserved_for: None,
        is_callback: false,
        held: None,
    };
    match disposition {
        Disposition::Callback => {
            let (at, scope) = callback.unwrap_or((now, CallbackScope::Agent));
            match scope {
                CallbackScope::Agent => After {
                    state: ContactState::Scheduled,
                    next_attempt_at: at.into(),
                    release_at: (at + Duration::seconds(grace.as_secs())).into(),
                    reserved_for: Some(agent_id),
                    is_callback: true,
                    held: None,
                },
                CallbackScope::Campaign => After {
                    state: ContactState::Scheduled,
                    next_attempt_at: at.into(),
                    release_at: at.into(),
                    reserved_for: None,
                    is_callback: true,
                    held: None,
                },
            }
        }
        d => match d.retry_delay(def) {
            None => finished(ContactState::Done),
            Some(_) if attempts >= def.max_attempts => finished(ContactState::Exhausted),
            Some(delay) => {
                let due = now + Duration::seconds(delay.as_secs());
                let open = def
                    .windows
                    .next_open(due, tz, hours)
                    .unwrap_or(due + Duration::days(1));
                After {
                    state: ContactState::Scheduled,
                    next_attempt_at: open.into(),
                    release_at: open.into(),
                    reserved_for: None,
                    is_callback: false,
                    held: (open > due).then_some(Hold::OutsideCampaignWindow),
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rules() -> Pressure {
        Pressure {
            hours: "08:00-21:00".parse().unwrap(),
            cap: "3/24h".parse().unwrap(),
            min_gap: "1h".parse().unwrap(),
        }
    }

    fn shanghai() -> Tz {
        "Asia/Shanghai".parse().unwrap()
    }

    #[test]
    fn the_gap_and_the_cap_hold_a_phone_back_but_not_a_callback() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 4, 0, 0).unwrap(); // 12:00 Shanghai
        let all = Windows::always();
        let last = now - Duration::minutes(30);
        assert_eq!(
            verdict(&all, shanghai(), false, &[last], &rules(), now),
            Verdict::NotBefore(last + Duration::hours(1), Hold::PhoneMinGap)
        );
        assert_eq!(
            verdict(&all, shanghai(), true, &[last], &rules(), now),
            Verdict::Now
        );
        let three = [
            now - Duration::hours(2),
            now - Duration::hours(3),
            now - Duration::hours(4),
        ];
        assert_eq!(
            verdict(&all, shanghai(), false, &three, &rules(), now),
            Verdict::NotBefore(now + Duration::hours(20), Hold::PhoneCap)
        );
        assert_eq!(
            verdict(&all, shanghai(), false, &three[..2], &rules(), now),
            Verdict::Now
        );
    }

    #[test]
    fn callbacks_still_respect_the_global_hours() {
        let late = Utc.with_ymd_and_hms(2026, 11, 25, 14, 0, 0).unwrap(); // 22:00 Shanghai
        let v = verdict(&Windows::always(), shanghai(), true, &[], &rules(), late);
        assert_eq!(
            v,
            Verdict::NotBefore(
                Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap(),
                Hold::OutsideCallingHours
            )
        );
    }
}

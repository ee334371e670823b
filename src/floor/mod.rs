//! The floor: where each agent stands (their state and since when) and the rules of its time.
//! Pure: the store keeps one state row per agent and the time spent in each state per day; the
//! service moves agents between states (see `service::agent_states`).

use chrono::{Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;

use crate::{
    codes::{Code, Reason},
    ids::CampaignId,
    time::Instant,
};

crate::text_enum! {
    /// Where an agent stands. Only `ready` and `wrap_up` agents are handed calls (and an
    /// `on_call` agent gets its own call back).
    pub enum AgentState {
        /// Signed out; gets no calls. Every agent starts here. Enters when the agent signs out
        /// (releasing a held call), when a supervisor signs it out or its desk stopped
        /// heart-beating for the configured time (once a held call ends: see [`Pending`]), or when
        /// it is deactivated (releasing a held call); leaves when the agent sets `ready`.
        Offline = "offline",
        /// Waiting for a call. Enters when the agent sets it (the desk does on sign-in), when its
        /// call is released or its lease runs out, and when a wrap-up's time has passed; leaves
        /// by a hand-out, a pause or a sign-out.
        Ready = "ready",
        /// On a break, with a reason from the leads' list; gets no calls. Enters when the agent
        /// pauses (releasing a held call) or a supervisor pauses it (once a held call ends: see
        /// [`Pending`]); leaves when the agent sets `ready` or it is signed out.
        Paused = "paused",
        /// Holds a call under a lease. Enters only by a hand-out, in its transaction; leaves when
        /// the call ends: by its outcome (`wrap_up`), a release or an expired lease (`ready`), or
        /// the agent's own pause or sign-out that releases it — into the [`Pending`] state
        /// instead when one is pending.
        OnCall = "on_call",
        /// After an outcome, until the agent is ready again or the campaign's wrap-up time has
        /// passed (then `ready`, from that moment). May take its next call.
        WrapUp = "wrap_up",
    }
}

crate::text_enum! {
    /// A state asked for while the agent holds a call, by a supervisor, lead or admin or by
    /// inactivity: it waits for the call to end. Set (with a pause's reason) when such a pause or
    /// sign-out comes while the agent is `on_call`, replaced by a later one; applied and cleared
    /// when the call ends — by its outcome (instead of the wrap-up), a release or an expired
    /// lease (instead of `ready`) — and cleared by any other move of the agent (its own pause or
    /// sign-out, which releases the call at once).
    pub enum Pending {
        /// Paused, for the reason kept beside it, once the call ends.
        Paused = "paused",
        /// Signed out once the call ends.
        Offline = "offline",
    }
}

impl Pending {
    /// The state it becomes.
    pub fn state(self) -> AgentState {
        match self {
            Pending::Paused => AgentState::Paused,
            Pending::Offline => AgentState::Offline,
        }
    }

    /// The pending form of a state asked for, if it has one.
    pub fn of(state: AgentState) -> Option<Pending> {
        match state {
            AgentState::Paused => Some(Pending::Paused),
            AgentState::Offline => Some(Pending::Offline),
            _ => None,
        }
    }
}

impl AgentState {
    /// Whether a hand-out may give this agent a call.
    pub fn takes_calls(self) -> bool {
        matches!(self, Self::Ready | Self::WrapUp | Self::OnCall)
    }

    /// Whether an agent or supervisor may ask for it (the others follow from calls).
    pub fn may_be_asked(self) -> bool {
        matches!(self, Self::Ready | Self::Paused | Self::Offline)
    }
}

/// An agent's state as stored: the state, its reason (when paused), since when, and when a
/// wrap-up ends by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub state: AgentState,
    pub reason: Option<String>,
    pub since: Instant,
    pub wrap_up_until: Option<Instant>,
    /// The campaign of the call a wrap-up follows (its wrap-up time is that campaign's).
    pub wrap_up_campaign: Option<CampaignId>,
}

/// A stretch of time spent in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stretch {
    pub state: AgentState,
    pub reason: Option<String>,
    pub from: Instant,
    pub to: Instant,
    /// A wrap-up's campaign, when known.
    pub campaign: Option<CampaignId>,
}

/// Why a hand-out gives this agent no call, if it gives none: the problem's detail.
pub fn no_calls_because(standing: &Standing) -> Option<Reason> {
    match (standing.state, &standing.reason) {
        (AgentState::Paused, Some(reason)) => Some(
            Code::AgentPaused
                .because(format!(
                    "you are paused ({reason}): set your state to ready to take calls"
                ))
                .with("reason", reason.as_str()),
        ),
        (AgentState::Paused, None) => {
            Some(Code::AgentPaused.because("you are paused: set your state to ready to take calls"))
        }
        (AgentState::Offline, _) => Some(Code::AgentOffline.because(
            "you are offline: sign in (set your state to ready, as the desk does) to take calls",
        )),
        _ => None,
    }
}

impl Standing {
    /// On a call from `now`.
    pub fn on_call(now: Instant) -> Self {
        Self {
            state: AgentState::OnCall,
            reason: None,
            since: now,
            wrap_up_until: None,
            wrap_up_campaign: None,
        }
    }

    /// The standing as of `now`: a wrap-up whose time has passed is `ready` since it passed.
    pub fn at(&self, now: Instant) -> Standing {
        match self.wrap_up_until {
            Some(until) if self.state == AgentState::WrapUp && until <= now => Standing {
                state: AgentState::Ready,
                reason: None,
                since: until.max(self.since),
                wrap_up_until: None,
                wrap_up_campaign: None,
            },
            _ => self.clone(),
        }
    }

    /// The time spent from `since` to `now`, state by state: one stretch, or two when a
    /// wrap-up ran out meanwhile.
    pub fn stretches(&self, now: Instant) -> Vec<Stretch> {
        let current = self.at(now);
        let mut out = vec![];
        if current.since > self.since {
            out.push(Stretch {
                state: self.state,
                reason: self.reason.clone(),
                from: self.since,
                to: current.since.min(now),
                campaign: self.wrap_up_campaign,
            });
        }
        out.push(Stretch {
            state: current.state,
            reason: current.reason,
            from: current.since,
            to: now.max(current.since),
            campaign: current.wrap_up_campaign,
        });
        out.retain(|s| s.to > s.from);
        out
    }
}

/// A call's handle time in milliseconds, from its hand-out to its outcome at `ended`, or to the
/// end of its lease for a late outcome of a lease that ran out (an agent who walked away did
/// not handle the call meanwhile).
pub fn handle_ms(leased_at: Instant, lease_expires_at: Instant, ended: Instant) -> i64 {
    (ended.min(lease_expires_at).millis() - leased_at.millis()).max(0)
}

/// The local day in `tz` an instant falls on.
pub fn day_of(at: Instant, tz: Tz) -> NaiveDate {
    at.utc().with_timezone(&tz).date_naive()
}

/// When a local day begins in `tz` (the first instant of it, across a DST change too).
pub fn day_start(day: NaiveDate, tz: Tz) -> Instant {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    let mut t = midnight;
    // A zone may skip midnight (DST): the day begins at the first local time that exists.
    for _ in 0..4 {
        if let Some(at) = tz.from_local_datetime(&t).earliest() {
            return Instant::from_utc(at.to_utc());
        }
        t += Duration::minutes(30);
    }
    Instant::from_utc(midnight.and_utc())
}

/// Splits `[from, to)` at the local midnights of `tz`: each day with its milliseconds.
pub fn split_by_day(from: Instant, to: Instant, tz: Tz) -> Vec<(NaiveDate, i64)> {
    let mut out = vec![];
    let mut start = from;
    while start < to {
        let day = day_of(start, tz);
        let next = day.succ_opt().map_or(to, |d| day_start(d, tz)).min(to);
        let next = if next <= start { to } else { next };
        out.push((day, next.millis() - start.millis()));
        start = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shanghai() -> Tz {
        "Asia/Shanghai".parse().unwrap()
    }

    fn at(text: &str) -> Instant {
        Instant::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn a_wrap_up_whose_time_passed_is_ready_from_then() {
        let s = Standing {
            state: AgentState::WrapUp,
            reason: None,
            since: at("2026-11-25T10:00:00+08:00"),
            wrap_up_until: Some(at("2026-11-25T10:00:30+08:00")),
            wrap_up_campaign: None,
        };
        assert_eq!(
            s.at(at("2026-11-25T10:00:10+08:00")).state,
            AgentState::WrapUp
        );
        let later = s.at(at("2026-11-25T10:05:00+08:00"));
        assert_eq!(later.state, AgentState::Ready);
        assert_eq!(later.since, at("2026-11-25T10:00:30+08:00"));
        let stretches = s.stretches(at("2026-11-25T10:05:00+08:00"));
        assert_eq!(stretches.len(), 2);
        assert_eq!(
            stretches[0].to.millis() - stretches[0].from.millis(),
            30_000
        );
        assert_eq!(stretches[1].state, AgentState::Ready);
        assert_eq!(
            stretches[1].to.millis() - stretches[1].from.millis(),
            270_000
        );
    }

    #[test]
    fn time_is_split_at_local_midnight() {
        let parts = split_by_day(
            at("2026-11-25T23:30:00+08:00"),
            at("2026-11-26T00:15:00+08:00"),
            shanghai(),
        );
        assert_eq!(
            parts,
            vec![
                (NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(), 30 * 60_000),
                (NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(), 15 * 60_000),
            ]
        );
        assert!(
            split_by_day(
                at("2026-11-25T10:00:00+08:00"),
                at("2026-11-25T10:00:00+08:00"),
                shanghai()
            )
            .is_empty()
        );
    }

    #[test]
    fn a_day_across_a_dst_change_still_splits_whole() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let parts = split_by_day(
            at("2026-03-28T23:00:00+01:00"),
            at("2026-03-30T01:00:00+02:00"),
            berlin,
        );
        assert_eq!(parts.len(), 3);
        assert_eq!(
            parts[1].1,
            23 * 3_600_000,
            "the spring-forward day has 23 hours"
        );
    }
}

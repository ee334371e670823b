//! The live floor: every active agent's state, held call and today's numbers, for supervisors
//! and leads. Today is the service's local day (`OUTCALL_TIMEZONE`); numbers come from the kept
//! roll-ups, and the stretch an agent is in now counts up to now.

use std::collections::{BTreeMap, HashMap};

use crate::{
    floor::{AgentState, Standing, day_of, day_start},
    ids::{AgentId, CampaignId},
    store::floor::{Day, Days, FloorRow},
    time::Instant,
};

use super::{Result, Service};

/// One agent on the floor.
pub struct FloorAgent {
    pub row: FloorRow,
    /// At its release limit (`OUTCALL_RELEASE_LIMIT`): `POST /v1/calls/next` answers 429.
    pub release_limited: bool,
    /// The state as of now (a wrap-up whose time passed is ready).
    pub standing: Standing,
    pub today: Today,
}

/// An agent's day so far.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Today {
    pub attempts: i64,
    pub reached: i64,
    pub conversions: i64,
    /// Mean time from hand-out to outcome, in seconds; null before the first outcome.
    pub handle_time_avg_s: Option<f64>,
    /// Time paused today, in seconds (a pause going on counts up to now).
    pub paused_s: i64,
    /// Calls handed back today without an outcome: releases (plain or `skip`) and the agent's
    /// own pauses or sign-outs on a call; a supervisor's releases are not counted.
    pub releases: i64,
}

/// Handle time, talk, wrap-up, pauses and occupancy over some days (closed stretches), for an
/// agent or a team (the sum of its agents' stored figures, through the same rules).
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct TimeStats {
    /// Mean time from hand-out to outcome, in seconds; null without outcomes. In a campaign's
    /// `by_agent`: on that campaign's calls.
    pub handle_time_avg_s: Option<f64>,
    /// Mean talk time the phone system reported (`talk_seconds`), on the calls that had it. In a
    /// campaign's `by_agent`: on that campaign's calls.
    pub talk_time_avg_s: Option<f64>,
    /// Wrap-up time per call finished with an outcome, in seconds. In a campaign's `by_agent`:
    /// the wrap-ups after that campaign's calls (a wrap-up belongs to its call's campaign).
    pub wrap_up_avg_s: Option<f64>,
    /// Time paused, in seconds. In a campaign's `by_agent`: the agent's own over all time, not
    /// the campaign's (a pause belongs to no campaign).
    pub paused_s: i64,
    /// Time paused per pause reason, in seconds (the reasons with any time). In a campaign's
    /// `by_agent`: the agent's own over all time, as `paused_s`.
    #[schema(value_type = BTreeMap<String, i64>)]
    pub paused_by_reason: BTreeMap<String, i64>,
    /// Share of signed-in, unpaused time on calls or wrapping up (0..1); null without any. In a
    /// campaign's `by_agent`: the agent's own over all time, not the campaign's (time ready
    /// belongs to no campaign).
    pub occupancy: Option<f64>,
}

impl TimeStats {
    pub fn of(day: &Day) -> Self {
        let ms = |s: AgentState| day.ms.get(&s).copied().unwrap_or(0);
        let busy = ms(AgentState::OnCall) + ms(AgentState::WrapUp);
        let available = busy + ms(AgentState::Ready);
        TimeStats {
            handle_time_avg_s: secs(day.handle_ms, day.handled),
            talk_time_avg_s: secs(day.talk_s * 1000, day.talked),
            wrap_up_avg_s: secs(ms(AgentState::WrapUp), day.handled),
            paused_s: ms(AgentState::Paused) / 1000,
            paused_by_reason: day
                .paused_by_reason
                .iter()
                .map(|(reason, ms)| (reason.clone(), ms / 1000))
                .collect(),
            occupancy: (available > 0)
                .then(|| (busy as f64 / available as f64 * 1000.0).round() / 1000.0),
        }
    }
}

/// Time in `state` over a day: the closed stretches, plus the open one if the agent is in it.
pub fn time_in(
    day: &Day,
    state: AgentState,
    standing: &Standing,
    from: Instant,
    now: Instant,
) -> i64 {
    let closed = day.ms.get(&state).copied().unwrap_or(0);
    let open = if standing.state == state {
        (now.millis() - standing.since.max(from).millis()).max(0)
    } else {
        0
    };
    closed + open
}

/// Seconds, to a tenth.
pub fn secs(ms: i64, n: i64) -> Option<f64> {
    (n > 0).then(|| (ms as f64 / n as f64 / 100.0).round() / 10.0)
}

impl Service {
    /// Today's local day and the hours it covers so far.
    pub fn today(&self) -> (Days, Instant) {
        let now = self.now();
        let day = day_of(now, self.tz());
        let start = day_start(day, self.tz());
        let days = Days {
            first: day.to_string(),
            last: day.to_string(),
            from_hour: start.hour(),
            to_hour: now.hour() + 1,
        };
        (days, start)
    }

    /// The epoch hours `from..to` and the local days they touch: outcomes count by the hour,
    /// time in states and handle time by the day.
    pub fn days_of_hours(&self, from: i64, to: i64) -> Days {
        let hour = |h: i64| Instant::from_millis(h.saturating_mul(3_600_000));
        Days {
            first: day_of(hour(from), self.tz()).to_string(),
            last: day_of(hour(to).plus_millis(-1), self.tz()).to_string(),
            from_hour: from,
            to_hour: to,
        }
    }

    /// Each agent's time figures for a campaign: handle, talk and wrap-up time on the
    /// campaign's calls; pauses and occupancy are the agent's own over all time (a pause or
    /// time ready belongs to no campaign).
    #[tracing::instrument(skip_all)]
    pub async fn campaign_time_stats(
        &self,
        campaign: CampaignId,
    ) -> Result<HashMap<AgentId, TimeStats>> {
        let all = Days {
            first: "0000-01-01".into(),
            last: "9999-12-31".into(),
            from_hour: 0,
            to_hour: i64::MAX,
        };
        let mut numbers = self.store.agent_days(&all).await?;
        let mut out = HashMap::new();
        for h in self.store.campaign_handle_time(campaign).await? {
            let day = numbers.entry(h.agent_id).or_default();
            (day.handled, day.handle_ms, day.talk_s, day.talked) =
                (h.calls, h.handle_ms, h.talk_s, h.talked);
            let mut time = TimeStats::of(day);
            time.wrap_up_avg_s = secs(h.wrap_up_ms, h.calls);
            out.insert(h.agent_id, time);
        }
        Ok(out)
    }

    /// Every active agent (of `team`, if given), in id order.
    #[tracing::instrument(skip_all)]
    pub async fn floor(&self, team: Option<&str>) -> Result<Vec<FloorAgent>> {
        let now = self.now();
        let (days, start) = self.today();
        let rows = self.store.floor().await?;
        let mut numbers = self.store.agent_days(&days).await?;
        let limit = self.config.release_limit;
        let window = now.plus_millis(-limit.period.as_secs() * 1000);
        let recent = self
            .store
            .agent_releases(window.plus_millis(1), now.plus_millis(1))
            .await?;
        Ok(rows
            .into_iter()
            .filter(|r| team.is_none_or(|t| r.team.as_deref() == Some(t)))
            .map(|row| {
                let standing = Standing {
                    state: row.state,
                    reason: row.reason.clone(),
                    since: row.since,
                    wrap_up_until: row.wrap_up_until,
                    wrap_up_campaign: None,
                };
                let day = numbers.remove(&row.agent_id).unwrap_or_default();
                let paused = time_in(&day, AgentState::Paused, &standing, start, now);
                let today = Today {
                    attempts: day.outcomes.attempts,
                    reached: day.outcomes.reached,
                    conversions: day.outcomes.conversions,
                    handle_time_avg_s: secs(day.handle_ms, day.handled),
                    paused_s: paused / 1000,
                    releases: day.releases,
                };
                let released = recent.get(&row.agent_id).copied().unwrap_or(0);
                FloorAgent {
                    release_limited: released >= i64::from(limit.max),
                    standing: standing.at(now),
                    row,
                    today,
                }
            })
            .collect())
    }
}

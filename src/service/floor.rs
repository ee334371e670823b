//! The live floor: every active agent's state, held call and today's numbers, for supervisors
//! and leads. Today is the service's local day (`OUTCALL_TIMEZONE`); numbers come from the kept
//! roll-ups, and the stretch an agent is in now counts up to now.

use crate::{
    floor::{AgentState, Standing, day_of, day_start},
    store::floor::{Day, Days, FloorRow},
    time::Instant,
};

use super::{Result, Service};

/// One agent on the floor.
pub struct FloorAgent {
    pub row: FloorRow,
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

    /// Every active agent (of `team`, if given), in id order.
    pub async fn floor(&self, team: Option<&str>) -> Result<Vec<FloorAgent>> {
        let now = self.now();
        let (days, start) = self.today();
        let rows = self.store.floor().await?;
        let mut numbers = self.store.agent_days(&days).await?;
        Ok(rows
            .into_iter()
            .filter(|r| team.is_none_or(|t| r.team.as_deref() == Some(t)))
            .map(|row| {
                let standing = Standing {
                    state: row.state,
                    reason: row.reason.clone(),
                    since: row.since,
                    wrap_up_until: row.wrap_up_until,
                };
                let day = numbers.remove(&row.agent_id).unwrap_or_default();
                let paused = time_in(&day, AgentState::Paused, &standing, start, now);
                let today = Today {
                    attempts: day.outcomes.attempts,
                    reached: day.outcomes.reached,
                    conversions: day.outcomes.conversions,
                    handle_time_avg_s: secs(day.handle_ms, day.handled),
                    paused_s: paused / 1000,
                };
                FloorAgent {
                    standing: standing.at(now),
                    row,
                    today,
                }
            })
            .collect())
    }
}

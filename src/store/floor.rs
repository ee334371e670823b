//! What the floor shows: each active agent's state and the call it holds (one statement, so a
//! state and its call are always seen together), and today's numbers per agent from the kept
//! roll-ups (outcomes per hour, time per state and day, handle time per day), never from the
//! history.

use std::collections::{BTreeMap, HashMap};

use serde_json::json;

use crate::{
    dispatch::Disposition,
    events::EventKind,
    floor::{AgentState, Pending},
    ids::{AgentId, CallId, CampaignId, ContactId},
    on_pool, on_tx,
    stats::Tally,
    time::Instant,
};

use super::{Result, Store, Tx};

/// An active agent on the floor, with the call it holds.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FloorRow {
    pub agent_id: AgentId,
    pub name: String,
    pub team: Option<String>,
    pub state: AgentState,
    pub reason: Option<String>,
    pub since: Instant,
    pub wrap_up_until: Option<Instant>,
    /// A pause or sign-out waiting for the held call to end, and a pending pause's reason.
    pub pending: Option<Pending>,
    pub pending_reason: Option<String>,
    pub call_id: Option<CallId>,
    pub campaign_id: Option<CampaignId>,
    pub contact_id: Option<ContactId>,
    pub leased_at: Option<Instant>,
    pub lease_expires_at: Option<Instant>,
}

/// One agent's day so far, from the roll-ups.
#[derive(Debug, Clone, Default)]
pub struct Day {
    pub outcomes: Tally,
    /// Milliseconds per state (closed stretches only).
    pub ms: HashMap<AgentState, i64>,
    /// Milliseconds paused, per pause reason (closed stretches only).
    pub paused_by_reason: BTreeMap<String, i64>,
    /// Calls finished with an outcome, and their time from hand-out to outcome.
    pub handled: i64,
    pub handle_ms: i64,
    /// Talk time the phone system reported, and on how many calls.
    pub talk_s: i64,
    pub talked: i64,
    /// Calls the agent handed back without an outcome (see `calls.released_by_agent`).
    pub releases: i64,
}

impl Day {
    /// Adds every figure of `other` (a team's day is the sum of its agents').
    pub fn merge(&mut self, other: &Day) {
        self.outcomes.merge(&other.outcomes);
        for (state, ms) in &other.ms {
            *self.ms.entry(*state).or_default() += ms;
        }
        for (reason, ms) in &other.paused_by_reason {
            *self.paused_by_reason.entry(reason.clone()).or_default() += ms;
        }
        self.handled += other.handled;
        self.handle_ms += other.handle_ms;
        self.talk_s += other.talk_s;
        self.talked += other.talked;
        self.releases += other.releases;
    }
}

/// An agent's handle and wrap-up time on one campaign's calls.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CampaignHandle {
    pub agent_id: AgentId,
    /// Calls finished with an outcome, and their time from hand-out to outcome.
    pub calls: i64,
    pub handle_ms: i64,
    pub talk_s: i64,
    pub talked: i64,
    /// Time wrapping up after those calls (wrap-ups that have ended).
    pub wrap_up_ms: i64,
}

const FLOOR: &str = "SELECT a.id AS agent_id, a.name, a.team, s.state, s.reason, s.since, \
       s.wrap_up_until, s.pending, s.pending_reason, l.id AS call_id, l.campaign_id, l.contact_id, l.leased_at, \
       l.lease_expires_at \
     FROM agents a JOIN agent_states s ON s.agent_id = a.id \
       LEFT JOIN calls l ON l.agent_id = a.id AND l.state = 'leased' \
     WHERE a.active ORDER BY a.id";
const OUTCOMES: &str = "SELECT agent_id, disposition, CAST(SUM(n) AS BIGINT) FROM agent_hourly \
     WHERE hour >= $1 AND hour < $2 GROUP BY agent_id, disposition";
const STATE_TIME: &str = "SELECT agent_id, state, reason, CAST(SUM(ms) AS BIGINT) \
     FROM agent_state_time WHERE day >= $1 AND day <= $2 GROUP BY agent_id, state, reason";
const HANDLE_TIME: &str = "SELECT agent_id, CAST(SUM(calls) AS BIGINT), CAST(SUM(handle_ms) AS BIGINT), \
       CAST(SUM(talk_s) AS BIGINT), CAST(SUM(talked) AS BIGINT) FROM agent_handle_time \
     WHERE day >= $1 AND day <= $2 GROUP BY agent_id";
const HANDLE_BY_CAMPAIGN: &str = "SELECT agent_id, CAST(SUM(calls) AS BIGINT) AS calls, \
       CAST(SUM(handle_ms) AS BIGINT) AS handle_ms, CAST(SUM(talk_s) AS BIGINT) AS talk_s, \
       CAST(SUM(talked) AS BIGINT) AS talked, CAST(SUM(wrap_up_ms) AS BIGINT) AS wrap_up_ms \
     FROM agent_handle_time WHERE campaign_id = $1 GROUP BY agent_id";
const ADD_HANDLE: &str = "INSERT INTO agent_handle_time (agent_id, day, campaign_id, calls, \
       handle_ms, talk_s, talked) VALUES ($1, $2, $6, 1, $3, $4, $5) \
     ON CONFLICT (agent_id, day, campaign_id) DO UPDATE SET \
       calls = agent_handle_time.calls + 1, handle_ms = agent_handle_time.handle_ms + excluded.handle_ms, \
       talk_s = agent_handle_time.talk_s + excluded.talk_s, \
       talked = agent_handle_time.talked + excluded.talked";

/// What happened to a call, for the live stream's `call` event.
#[derive(Debug, Clone, Copy)]
pub enum CallEvent {
    HandedOut,
    Released,
    Expired,
}

impl CallEvent {
    fn as_str(self) -> &'static str {
        match self {
            CallEvent::HandedOut => "handed_out",
            CallEvent::Released => "released",
            CallEvent::Expired => "expired",
        }
    }
}

/// Local days `first..=last` (as `YYYY-MM-DD`) and the epoch hours `from..to` they cover.
#[derive(Debug, Clone)]
pub struct Days {
    pub first: String,
    pub last: String,
    pub from_hour: i64,
    pub to_hour: i64,
}

impl Store {
    /// Every active agent with its state and held call, in id order.
    pub async fn floor(&self) -> Result<Vec<FloorRow>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(FLOOR)
            .fetch_all(p)
            .await)?)
    }

    /// Each agent's numbers over `days`.
    pub async fn agent_days(&self, days: &Days) -> Result<HashMap<AgentId, Day>> {
        let mut out: HashMap<AgentId, Day> = HashMap::new();
        let outcomes: Vec<(AgentId, Disposition, i64)> =
            on_pool!(&self.reads, |p| sqlx::query_as(OUTCOMES)
                .bind(days.from_hour)
                .bind(days.to_hour)
                .fetch_all(p)
                .await)?;
        for (agent, d, n) in outcomes {
            out.entry(agent).or_default().outcomes.add(d, n);
        }
        let times: Vec<(AgentId, AgentState, String, i64)> =
            on_pool!(&self.reads, |p| sqlx::query_as(STATE_TIME)
                .bind(&days.first)
                .bind(&days.last)
                .fetch_all(p)
                .await)?;
        for (agent, state, reason, ms) in times {
            let day = out.entry(agent).or_default();
            *day.ms.entry(state).or_default() += ms;
            if state == AgentState::Paused {
                *day.paused_by_reason.entry(reason).or_default() += ms;
            }
        }
        let handled: Vec<(AgentId, i64, i64, i64, i64)> =
            on_pool!(&self.reads, |p| sqlx::query_as(HANDLE_TIME)
                .bind(&days.first)
                .bind(&days.last)
                .fetch_all(p)
                .await)?;
        for (agent, calls, handle_ms, talk_s, talked) in handled {
            let day = out.entry(agent).or_default();
            (day.handled, day.handle_ms, day.talk_s, day.talked) =
                (calls, handle_ms, talk_s, talked);
        }
        let hour = |h: i64| Instant::from_millis(h.saturating_mul(3_600_000));
        let releases = self
            .agent_releases(hour(days.from_hour), hour(days.to_hour))
            .await?;
        for (agent, n) in releases {
            out.entry(agent).or_default().releases = n;
        }
        Ok(out)
    }

    /// The live stream's `call` event (ids only, never a phone), in the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn call_event_in(
        &self,
        tx: &mut Tx,
        what: CallEvent,
        call: CallId,
        campaign: CampaignId,
        contact: ContactId,
        agent: AgentId,
        lease_expires_at: Option<Instant>,
        now: Instant,
    ) -> Result<()> {
        let event = json!({"call": call, "event": what.as_str(), "campaign": campaign,
            "contact": contact, "agent": agent, "at": now.rfc3339(self.zone),
            "lease_expires_at": lease_expires_at.map(|t| t.rfc3339(self.zone))});
        Store::event_in(tx, EventKind::Call, now, &event).await
    }

    /// Each agent's handle, talk and wrap-up time on a campaign's calls.
    pub async fn campaign_handle_time(&self, campaign: CampaignId) -> Result<Vec<CampaignHandle>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(
            HANDLE_BY_CAMPAIGN
        )
        .bind(campaign)
        .fetch_all(p)
        .await)?)
    }

    /// Counts a call finished with an outcome at `now` in its agent's handle time: from the
    /// hand-out to the outcome, or to the end of the lease for a late outcome of a lease that
    /// ran out (an agent who walked away did not handle the call meanwhile).
    pub async fn handle_time_in(
        &self,
        tx: &mut Tx,
        call: &super::calls::CallRow,
        talk_seconds: Option<i64>,
        now: Instant,
    ) -> Result<()> {
        let (agent, campaign) = (call.agent_id, call.campaign_id);
        let day = crate::floor::day_of(now, self.zone).to_string();
        let handle_ms = crate::floor::handle_ms(call.leased_at, call.lease_expires_at, now);
        on_tx!(tx, |c| sqlx::query(ADD_HANDLE)
            .bind(agent)
            .bind(&day)
            .bind(handle_ms)
            .bind(talk_seconds.unwrap_or(0))
            .bind(i64::from(talk_seconds.is_some()))
            .bind(campaign)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}

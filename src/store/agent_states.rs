//! Agents' states: one row per agent, moved in the transaction of whatever moved it (a hand-out,
//! an outcome, a release, an expired lease, the agent, a supervisor, inactivity), and the time
//! spent in each state per agent and local day (the store's zone), added as each stretch ends.
//! A state pending for the end of a held call (see [`Pending`]) is kept beside the state and
//! applied by the statement that ends the call, so no end of a call can miss it.
//!
//! On PostgreSQL a row is changed under its row lock; moves that are not about a call also
//! hold the agent's advisory lock (the one hand-outs take, [`super::locks::AGENT`]), so a state
//! change and a hand-out of the same agent never interleave. A call's end moves `on_call` only
//! (`WHERE state = 'on_call'`), after the call's own row: every writer locks the call before
//! the agent's state, never the other way round. The hand-out is the exception that cannot
//! wait: it locks the state row first (marking the desk seen) but does not wait for a call
//! writer (`SKIP LOCKED` candidates, a tried person lock, a held call handed back rather than a
//! new one inserted); see docs/architecture.md, "Agents' states and locks".

use serde_json::json;

use crate::{
    events::EventKind,
    floor::{AgentState, Pending, Standing, Stretch, split_by_day},
    ids::{AgentId, CampaignId},
    on_pool, on_tx,
    time::Instant,
};

use super::{Result, Store, Tx};

/// An agent's state row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StateRow {
    pub agent_id: AgentId,
    pub state: AgentState,
    pub reason: Option<String>,
    pub since: Instant,
    pub wrap_up_until: Option<Instant>,
    pub wrap_up_campaign: Option<CampaignId>,
    pub seen_at: Instant,
    /// A pause or sign-out waiting for the held call to end (only while `on_call`).
    pub pending: Option<Pending>,
    /// A pending pause's reason.
    pub pending_reason: Option<String>,
}

impl StateRow {
    pub fn standing(&self) -> Standing {
        Standing {
            state: self.state,
            reason: self.reason.clone(),
            since: self.since,
            wrap_up_until: self.wrap_up_until,
            wrap_up_campaign: self.wrap_up_campaign,
        }
    }
}

const COLUMNS: &str = "agent_id, state, reason, since, wrap_up_until, wrap_up_campaign, seen_at, \
     pending, pending_reason";
const CREATE: &str = "INSERT INTO agent_states (agent_id, state, since, seen_at) \
     VALUES ($1, 'offline', $2, $2)";
/// The desk showed a sign of life; returns the row (locked until the transaction ends).
const SEEN: &str = "UPDATE agent_states SET seen_at = $2 WHERE agent_id = $1 RETURNING ";
/// Any move but a call's end clears what was pending.
const SET: &str = "UPDATE agent_states SET state = $2, reason = $3, since = $4, wrap_up_until = $5, \
       wrap_up_campaign = $6, pending = NULL, pending_reason = NULL WHERE agent_id = $1";
/// Leaving a call: only from `on_call`, into the pending state if there is one (without a
/// wrap-up), else into `$2`. The row as the statement finds it decides (on PostgreSQL, as it is
/// once a concurrent writer of the row committed), so a pending state set just before is seen.
const LEAVE_CALL: &str = "UPDATE agent_states SET state = COALESCE(pending, $2), \
       reason = pending_reason, since = $3, \
       wrap_up_until = CASE WHEN pending IS NULL THEN $4 ELSE NULL END, \
       wrap_up_campaign = CASE WHEN pending IS NULL THEN $5 ELSE NULL END, \
       pending = NULL, pending_reason = NULL \
     WHERE agent_id = $1 AND state = 'on_call' \
     RETURNING state, reason, wrap_up_until, wrap_up_campaign";
/// A pause or sign-out for when the held call ends: only while `on_call`.
const SET_PENDING: &str = "UPDATE agent_states SET pending = $2, pending_reason = $3 \
     WHERE agent_id = $1 AND state = 'on_call'";
const ON_CALL_SINCE: &str =
    "SELECT since FROM agent_states WHERE agent_id = $1 AND state = 'on_call'";
const ADD_TIME: &str = "INSERT INTO agent_state_time (agent_id, day, state, reason, ms) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (agent_id, day, state, reason) \
     DO UPDATE SET ms = agent_state_time.ms + excluded.ms";
/// A wrap-up's time, added to its campaign's handle-time row of that agent and day.
const ADD_WRAP_UP: &str = "INSERT INTO agent_handle_time (agent_id, day, campaign_id, calls, \
       handle_ms, talk_s, talked, wrap_up_ms) VALUES ($1, $2, $3, 0, 0, 0, 0, $4) \
     ON CONFLICT (agent_id, day, campaign_id) \
     DO UPDATE SET wrap_up_ms = agent_handle_time.wrap_up_ms + excluded.wrap_up_ms";
/// Agents whose wrap-up ended by itself at or before `$1`.
const WRAP_UPS_OVER: &str = "SELECT agent_id FROM agent_states \
     WHERE state = 'wrap_up' AND wrap_up_until <= $1 ORDER BY wrap_up_until LIMIT 500";
/// Agents not offline (nor bound to be, once their call ends) whose desk has not been seen
/// since `$1`.
const IDLE: &str = "SELECT agent_id FROM agent_states WHERE state <> 'offline' AND seen_at <= $1 \
       AND (pending IS NULL OR pending <> 'offline') ORDER BY seen_at LIMIT 500";
const SEEN_NOW: &str = "UPDATE agent_states SET seen_at = $2 WHERE agent_id = $1";
const SEEN_AT: &str = "SELECT seen_at FROM agent_states WHERE agent_id = $1";
const GET: &str = "SELECT agent_id, state, reason, since, wrap_up_until, wrap_up_campaign, seen_at, \
       pending, pending_reason FROM agent_states WHERE agent_id = $1";

impl Store {
    /// The state row of a new agent: offline until its desk signs it in.
    pub async fn agent_state_create_in(tx: &mut Tx, agent: AgentId, now: Instant) -> Result<()> {
        on_tx!(tx, |c| sqlx::query(CREATE)
            .bind(agent)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// An agent's state row, on the read connections.
    pub async fn agent_state(&self, agent: AgentId) -> Result<StateRow> {
        self.read_by_id(GET, agent).await
    }

    /// An agent's state row in the caller's transaction, locked until it ends (PostgreSQL;
    /// SQLite's writer is alone).
    pub async fn agent_state_in(tx: &mut Tx, agent: AgentId) -> Result<StateRow> {
        let lock = match tx {
            Tx::Postgres(_) => " FOR UPDATE",
            Tx::Sqlite(_) => "",
        };
        let sql = format!("{GET}{lock}");
        Ok(on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(agent)
        .fetch_one(c)
        .await)?)
    }

    /// The agent's desk was heard from at `now` (a heartbeat).
    pub async fn agent_seen(&self, agent: AgentId, now: Instant) -> Result<()> {
        on_pool!(&self.pool, |p| sqlx::query(SEEN_NOW)
            .bind(agent)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// When the agent's desk was last heard from, read in the caller's transaction without
    /// locking the row.
    pub async fn agent_seen_at_in(tx: &mut Tx, agent: AgentId) -> Result<Instant> {
        Ok(on_tx!(tx, |c| sqlx::query_scalar(SEEN_AT)
            .bind(agent)
            .fetch_one(c)
            .await)?)
    }

    /// Marks the agent seen at `now` and returns its state row, locked for the transaction.
    pub async fn agent_seen_in(tx: &mut Tx, agent: AgentId, now: Instant) -> Result<StateRow> {
        let sql = format!("{SEEN}{COLUMNS}");
        Ok(on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(agent)
        .bind(now)
        .fetch_one(c)
        .await)?)
    }

    /// Moves an agent from `from` (its row as read in this transaction) to `to`, adding the
    /// time spent since to the agent's days.
    pub async fn agent_move_in(
        &self,
        tx: &mut Tx,
        agent: AgentId,
        from: &Standing,
        to: &Standing,
    ) -> Result<()> {
        for stretch in from.stretches(to.since) {
            self.add_time_in(tx, agent, &stretch).await?;
        }
        on_tx!(tx, |c| sqlx::query(SET)
            .bind(agent)
            .bind(to.state)
            .bind(to.reason.as_deref())
            .bind(to.since)
            .bind(to.wrap_up_until)
            .bind(to.wrap_up_campaign)
            .execute(c)
            .await
            .map(|_| ()))?;
        self.agent_event_in(tx, agent, to, None, to.since).await
    }

    /// Sets what the agent on a call becomes when the call ends (`row` is its row as read, locked,
    /// in this transaction), with its `event: agent` at `now`; `false` when it is not on a call.
    pub async fn agent_pending_in(
        &self,
        tx: &mut Tx,
        row: &StateRow,
        pending: Pending,
        reason: Option<&str>,
        now: Instant,
    ) -> Result<bool> {
        let set = on_tx!(tx, |c| sqlx::query(SET_PENDING)
            .bind(row.agent_id)
            .bind(pending)
            .bind(reason)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        if set == 0 {
            return Ok(false);
        }
        let standing = row.standing();
        self.agent_event_in(tx, row.agent_id, &standing, Some((pending, reason)), now)
            .await?;
        Ok(true)
    }

    /// The live stream's `agent` event for a state just set (or a pending one), at `at`.
    async fn agent_event_in(
        &self,
        tx: &mut Tx,
        agent: AgentId,
        to: &Standing,
        pending: Option<(Pending, Option<&str>)>,
        at: Instant,
    ) -> Result<()> {
        let event = json!({"agent": agent, "state": to.state, "reason": to.reason,
            "since": to.since.rfc3339(self.zone),
            "wrap_up_until": to.wrap_up_until.map(|t| t.rfc3339(self.zone)),
            "pending": pending.map(|(p, _)| p), "pending_reason": pending.and_then(|(_, r)| r)});
        Store::event_in(tx, EventKind::Agent, at, &event).await
    }

    /// The agent's call ended at `now`: `on_call` becomes the pending state if one is pending,
    /// else `to` (with a wrap-up's end and the call's campaign), and the time on the call is
    /// added. Nothing when the agent is not `on_call`.
    pub async fn agent_leave_call_in(
        &self,
        tx: &mut Tx,
        agent: AgentId,
        to: AgentState,
        wrap_up: Option<(Instant, CampaignId)>,
        now: Instant,
    ) -> Result<()> {
        let wrap_up_until = wrap_up.map(|(until, _)| until);
        let wrap_up_campaign = wrap_up.map(|(_, campaign)| campaign);
        let since: Option<Instant> = on_tx!(tx, |c| sqlx::query_scalar(ON_CALL_SINCE)
            .bind(agent)
            .fetch_optional(c)
            .await)?;
        let Some(since) = since else {
            return Ok(());
        };
        type Left = (
            AgentState,
            Option<String>,
            Option<Instant>,
            Option<CampaignId>,
        );
        let moved: Option<Left> = on_tx!(tx, |c| sqlx::query_as(LEAVE_CALL)
            .bind(agent)
            .bind(to)
            .bind(now)
            .bind(wrap_up_until)
            .bind(wrap_up_campaign)
            .fetch_optional(c)
            .await)?;
        if let Some((state, reason, wrap_up_until, wrap_up_campaign)) = moved {
            let on_call = Stretch {
                state: AgentState::OnCall,
                reason: None,
                from: since,
                to: now,
                campaign: None,
            };
            self.add_time_in(tx, agent, &on_call).await?;
            let standing = Standing {
                state,
                reason,
                since: now,
                wrap_up_until,
                wrap_up_campaign,
            };
            self.agent_event_in(tx, agent, &standing, None, now).await?;
        }
        Ok(())
    }

    /// Adds a stretch to the agent's time per day, and a wrap-up's to its campaign's too.
    async fn add_time_in(&self, tx: &mut Tx, agent: AgentId, stretch: &Stretch) -> Result<()> {
        let reason = stretch.reason.as_deref().unwrap_or("");
        let campaign = stretch
            .campaign
            .filter(|_| stretch.state == AgentState::WrapUp);
        for (day, ms) in split_by_day(stretch.from, stretch.to, self.zone) {
            let day = day.to_string();
            on_tx!(tx, |c| sqlx::query(ADD_TIME)
                .bind(agent)
                .bind(&day)
                .bind(stretch.state)
                .bind(reason)
                .bind(ms)
                .execute(c)
                .await
                .map(|_| ()))?;
            if let Some(campaign) = campaign {
                on_tx!(tx, |c| sqlx::query(ADD_WRAP_UP)
                    .bind(agent)
                    .bind(&day)
                    .bind(campaign)
                    .bind(ms)
                    .execute(c)
                    .await
                    .map(|_| ()))?;
            }
        }
        Ok(())
    }

    /// Agents whose wrap-up's time passed at or before `now` (they are still `wrap_up`).
    pub async fn agents_wrap_up_over(&self, now: Instant) -> Result<Vec<AgentId>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_scalar(
            WRAP_UPS_OVER
        )
        .bind(now)
        .fetch_all(p)
        .await)?)
    }

    /// Agents (not offline) whose desk was last seen at or before `before`.
    pub async fn agents_idle(&self, before: Instant) -> Result<Vec<AgentId>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_scalar(IDLE)
            .bind(before)
            .fetch_all(p)
            .await)?)
    }
}

//! Agents' states (see `floor::AgentState`): set by the agent (ready, paused for a reason,
//! offline), by a supervisor or lead (paused, offline), and by inactivity (offline). The agent's
//! own pause or sign-out, and a deactivation, release a held call in the same transaction; a
//! supervisor's or inactivity's waits for the call to end (`floor::Pending`), so no outcome is
//! lost to it. Hand-outs, outcomes, releases and expired leases move the state too, in their own
//! transactions; the scheduler's tick ends wrap-ups whose time has passed.

use crate::codes::Code;
use serde::Deserialize;
use serde_json::json;

use crate::{
    audit::{Action, Change, Entity},
    floor::{AgentState, Pending, Standing},
    ids::AgentId,
    people::Principal,
    store::{Store, Tx, agent_states::StateRow},
    time::Instant,
    validate::Validator,
};

use super::{Error, Result, Service};

/// A state asked for.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateInput {
    /// `ready`, `paused` or `offline` (a supervisor or lead: `paused` or `offline`).
    pub state: String,
    /// With `paused`: one of the pause reasons (`GET /v1/pause-reasons`).
    pub reason: Option<String>,
}

/// Who asks for a state.
#[derive(Debug, Clone, Copy)]
pub enum Asker<'a> {
    /// The agent itself, from its desk.
    Agent,
    /// A supervisor, lead or admin: audited; a held call is kept until it ends.
    Floor(&'a Principal),
    /// Nobody: the desk has not been heard from since this instant. A held call is kept until
    /// it ends.
    Idle(Instant),
    /// A supervisor, lead or admin deactivating the agent: audited; a held call is released at
    /// once (the agent's token no longer works, so nobody could finish it).
    Deactivation(&'a Principal),
}

impl Asker<'_> {
    /// Whether a pause or sign-out of an agent on a call waits for the call to end.
    fn waits_for_call(self) -> bool {
        matches!(self, Asker::Floor(_) | Asker::Idle(_))
    }
}

/// How stale the desk's last sign of life may get before asking for the agent's state marks it
/// again: the desk asks every second or two, and a write each time would be wasted (an idle
/// sign-out, `OUTCALL_AGENT_IDLE`, counts in minutes).
const SEEN_EVERY_MS: i64 = 10_000;

impl Service {
    /// The agent's state row, for its desk, which asks often: one indexed read, and a sign of
    /// life written only when the last one is older than a few seconds.
    pub async fn my_state(&self, agent: AgentId) -> Result<StateRow> {
        let now = self.now();
        let mut row = self.store.agent_state(agent).await?;
        if now.millis() - row.seen_at.millis() >= SEEN_EVERY_MS {
            self.store.agent_seen(agent, now).await?;
            row.seen_at = now;
        }
        Ok(row)
    }

    /// Checks a state asked for: one the asker may ask, with a reason exactly when paused.
    async fn check_state(&self, input: StateInput, asker: Asker<'_>) -> Result<Standing> {
        let mut v = Validator::new();
        let allowed: &[AgentState] = match asker {
            Asker::Agent => &[AgentState::Ready, AgentState::Paused, AgentState::Offline],
            _ => &[AgentState::Paused, AgentState::Offline],
        };
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        let state = v.check(
            "state",
            input
                .state
                .parse::<AgentState>()
                .ok()
                .filter(|s| allowed.contains(s))
                .ok_or_else(|| {
                    Code::OneOf
                        .because(format!("must be one of {}", names.join(", ")))
                        .with("allowed", names.join(", "))
                }),
        );
        let reason = input.reason.map(|r| r.trim().to_owned());
        let known = match (state, &reason) {
            (Some(AgentState::Paused), Some(r)) => self.store.pause_reason_exists(r).await?,
            _ => true,
        };
        match (state, &reason) {
            (Some(AgentState::Paused), None) => v.push(
                "reason",
                Code::RequiredWith
                    .because("is required to pause")
                    .with("with", "state=paused"),
            ),
            (Some(AgentState::Paused), Some(_)) if !known => v.push(
                "reason",
                Code::Unknown.because("is not one of the pause reasons (GET /v1/pause-reasons)"),
            ),
            (Some(AgentState::Paused), Some(_)) => {}
            (Some(_), Some(_)) => v.push(
                "reason",
                Code::OnlyWith
                    .because("only goes with state paused")
                    .with("with", "state=paused"),
            ),
            _ => {}
        }
        let Some(state) = state else {
            return Err(v.fail().into());
        };
        v.finish()?;
        Ok(Standing {
            state,
            reason,
            since: self.now(),
            wrap_up_until: None,
            wrap_up_campaign: None,
        })
    }

    /// Sets an agent's state (see the module's doc); returns the agent's row as it is now, with
    /// `pending` set when the state waits for the held call to end. An agent on a call that asks
    /// to be ready stays on its call.
    #[tracing::instrument(skip_all)]
    pub async fn set_agent_state(
        &self,
        agent: AgentId,
        input: StateInput,
        asker: Asker<'_>,
    ) -> Result<StateRow> {
        let wanted = self.check_state(input, asker).await?;
        let now = wanted.since;
        let mut tx = self.store.begin().await?;
        // The agent's hand-outs wait (and see the new state), and so does another change.
        Store::one_hand_out_per_agent(&mut tx, agent).await?;
        if let Asker::Idle(cutoff) = asker
            && Store::agent_seen_at_in(&mut tx, agent).await? > cutoff
        {
            // Heard from since the sweep looked: its desk is alive after all.
            tx.commit().await?;
            return Ok(self.store.agent_state(agent).await?);
        }
        if asker.waits_for_call() {
            // Locking the state row before any call's is safe here: an agent not on a call
            // holds none (hand-outs wait for the advisory lock taken above), and one on a call
            // keeps it: no call row is touched.
            let row = Store::agent_state_in(&mut tx, agent).await?;
            if let (AgentState::OnCall, Some(pending)) = (row.state, Pending::of(wanted.state)) {
                return self.pend(tx, row, pending, wanted, asker).await;
            }
        }
        // The held call is released before the agent's row is locked: every writer locks a
        // call before its agent's state (see `store::agent_states`).
        let mut released = None;
        if wanted.state != AgentState::Ready {
            let why = match &wanted.reason {
                Some(r) => format!("agent paused: {r}"),
                None => "agent signed out".to_owned(),
            };
            released = self
                .store
                .release_held_in(&mut tx, agent, &why, matches!(asker, Asker::Agent), now)
                .await?;
        }
        let row = match asker {
            Asker::Agent => Store::agent_seen_in(&mut tx, agent, now).await?,
            _ => Store::agent_state_in(&mut tx, agent).await?,
        };

        let from = row.standing();
        let current = from.at(now);
        let unchanged = current.state == wanted.state && current.reason == wanted.reason;
        if current.state == AgentState::OnCall && wanted.state == AgentState::Ready || unchanged {
            tx.commit().await?;
            return Ok(StateRow {
                state: current.state,
                reason: current.reason,
                since: current.since,
                wrap_up_until: current.wrap_up_until,
                wrap_up_campaign: current.wrap_up_campaign,
                ..row
            });
        }
        self.store
            .agent_move_in(&mut tx, agent, &from, &wanted)
            .await?;
        if let Asker::Floor(by) | Asker::Deactivation(by) = asker {
            let record = Change::new(Entity::Agent, agent, Action::SetState)
                .before(json!({"state": current.state, "reason": current.reason}))
                .after(json!({"state": wanted.state, "reason": wanted.reason,
                    "released_call": released}));
            Store::audit_in(&mut tx, by, now, &record).await?;
        }
        tx.commit().await?;
        self.events.poke();
        tracing::info!(agent = %agent, state = %wanted.state, released = ?released, "agent state set");
        Ok(StateRow {
            state: wanted.state,
            reason: wanted.reason,
            since: now,
            wrap_up_until: None,
            wrap_up_campaign: None,
            pending: None,
            pending_reason: None,
            ..row
        })
    }

    /// Keeps a pause or sign-out for when the call of the agent (`row`, locked in `tx`, on a
    /// call) ends, with its `event: agent` and, for a supervisor's, its audit record.
    async fn pend(
        &self,
        mut tx: Tx,
        row: StateRow,
        pending: Pending,
        wanted: Standing,
        asker: Asker<'_>,
    ) -> Result<StateRow> {
        let now = wanted.since;
        let reason = wanted.reason;
        if row.pending == Some(pending) && row.pending_reason == reason {
            tx.commit().await?;
            return Ok(row);
        }
        self.store
            .agent_pending_in(&mut tx, &row, pending, reason.as_deref(), now)
            .await?;
        if let Asker::Floor(by) = asker {
            let record = Change::new(Entity::Agent, row.agent_id, Action::SetState)
                .before(json!({"state": row.state, "reason": row.reason,
                    "pending": row.pending, "pending_reason": row.pending_reason}))
                .after(json!({"state": row.state, "pending": pending, "pending_reason": reason}));
            Store::audit_in(&mut tx, by, now, &record).await?;
        }
        tx.commit().await?;
        self.events.poke();
        tracing::info!(agent = %row.agent_id, pending = %pending, "agent state pending until its call ends");
        Ok(StateRow {
            pending: Some(pending),
            pending_reason: reason,
            ..row
        })
    }

    /// A deactivated agent is signed out, and its held call released.
    #[tracing::instrument(skip_all)]
    pub async fn agent_deactivated(&self, agent: AgentId, by: &Principal) -> Result<()> {
        let input = StateInput {
            state: AgentState::Offline.to_string(),
            reason: None,
        };
        self.set_agent_state(agent, input, Asker::Deactivation(by))
            .await?;
        Ok(())
    }

    /// Makes `ready` every agent whose wrap-up's time has passed, from the moment it passed,
    /// with its `event: agent`. Each agent in a transaction of its own under the agent's lock
    /// (as any state change not about a call), so a hand-out or a state change in flight goes
    /// first and the row is read again as it left it.
    #[tracing::instrument(skip_all)]
    pub async fn end_wrap_ups(&self) -> Result<usize> {
        let now = self.now();
        let mut n = 0;
        for agent in self.store.agents_wrap_up_over(now).await? {
            let mut tx = self.store.begin().await?;
            Store::one_hand_out_per_agent(&mut tx, agent).await?;
            let from = Store::agent_state_in(&mut tx, agent).await?.standing();
            let to = from.at(now);
            if from.state != AgentState::WrapUp || to.state != AgentState::Ready {
                // Moved meanwhile (a hand-out, the agent, a supervisor): nothing to end.
                tx.commit().await?;
                continue;
            }
            self.store.agent_move_in(&mut tx, agent, &from, &to).await?;
            tx.commit().await?;
            n += 1;
        }
        if n > 0 {
            self.events.poke();
            tracing::debug!(agents = n, "wrap-ups ended by themselves");
        }
        Ok(n)
    }

    /// Signs out every agent whose desk has not been heard from for `OUTCALL_AGENT_IDLE` (one
    /// holding a call once the call ends: its outcome is still welcome, and a desk that is
    /// really gone lets the lease run out). Off when that is not set.
    #[tracing::instrument(skip_all)]
    pub async fn sign_out_idle_agents(&self) -> Result<usize> {
        let Some(idle) = self.config.agent_idle else {
            return Ok(0);
        };
        let cutoff = self.now() - idle;
        let agents = self.store.agents_idle(cutoff).await?;
        let mut n = 0;
        for agent in agents {
            let input = StateInput {
                state: AgentState::Offline.to_string(),
                reason: None,
            };
            match self
                .set_agent_state(agent, input, Asker::Idle(cutoff))
                .await
            {
                Ok(_) => n += 1,
                Err(Error::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        if n > 0 {
            tracing::info!(agents = n, "signed out agents whose desks went quiet");
        }
        Ok(n)
    }
}

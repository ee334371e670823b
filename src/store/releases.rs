//! Handing calls back unattempted: by their agent, by a supervisor or lead for anyone, by a
//! pause or sign-out, by a deactivation. Each is one transaction that moves the call, its queue
//! entry, the contact's history and the agent's state together (see [`super::calls`]).

use std::collections::HashMap;

use crate::{
    dispatch::HistoryKind,
    floor::AgentState,
    ids::{AgentId, CallId, CampaignId, ContactId, EntryId},
    on_pool, on_tx,
    time::Instant,
};

use super::{
    Result, Store, Tx,
    calls::{Line, back_to_queue, history},
    floor::CallEvent,
};

/// A call handed back unattempted: by whom it was held, why, and whether the agent skipped
/// the contact.
pub struct Release<'a> {
    pub call: CallId,
    /// The agent holding the call.
    pub agent: AgentId,
    /// Only a lease that has not run out (a release by hand; a deactivation takes any).
    pub live_only: bool,
    /// Why, for the contact's history.
    pub reason: Option<&'a str>,
    /// With a skip: keep the contact away from this agent until then.
    pub skip_until: Option<Instant>,
    /// The agent's own doing (by hand, or its own pause or sign-out): counted against its
    /// release limit and in its figures.
    pub by_agent: bool,
}

const RELEASE: &str = "UPDATE calls SET state = 'released', finished_at = $3, released_by_agent = $5 \
     WHERE id = $1 AND agent_id = $2 AND state = 'leased' AND (NOT $4 OR lease_expires_at > $3) \
     RETURNING cc_id, contact_id, campaign_id";

const HELD_BY: &str = "SELECT id FROM calls WHERE agent_id = $1 AND state = 'leased'";

/// The agent's `$3`-th most recent own release after `$2` (`$3` is the limit less one): while
/// there is one, the agent is at its limit, until that release is a period old.
const LIMITING_RELEASE: &str = "SELECT finished_at FROM calls \
     WHERE agent_id = $1 AND released_by_agent AND finished_at > $2 \
     ORDER BY finished_at DESC LIMIT 1 OFFSET $3";
/// Each agent's own releases in `[$1, $2)`.
const RELEASES_BETWEEN: &str = "SELECT agent_id, COUNT(*) FROM calls \
     WHERE released_by_agent AND finished_at >= $1 AND finished_at < $2 GROUP BY agent_id";

impl Store {
    /// Hands a leased call back unattempted (see [`Release`]); `false` when the call is not
    /// (or no longer) held by that agent.
    pub async fn release(&self, r: &Release<'_>, now: Instant) -> Result<bool> {
        let mut tx = self.begin().await?;
        let released = self.release_in(&mut tx, r, now).await?;
        tx.commit().await?;
        Ok(released)
    }

    /// [`Store::release`] in the caller's transaction; the agent, if on this call, is ready.
    pub async fn release_in(&self, tx: &mut Tx, r: &Release<'_>, now: Instant) -> Result<bool> {
        let row: Option<(EntryId, ContactId, CampaignId)> = on_tx!(tx, |c| {
            sqlx::query_as(RELEASE)
                .bind(r.call)
                .bind(r.agent)
                .bind(now)
                .bind(r.live_only)
                .bind(r.by_agent)
                .fetch_optional(c)
                .await
        })?;
        let Some((cc, contact, campaign)) = row else {
            return Ok(false);
        };
        back_to_queue(tx, cc, now).await?;
        if let Some(until) = r.skip_until {
            Store::skip_in(tx, r.agent, cc, until).await?;
        }
        let line = Line {
            contact,
            campaign,
            agent: Some(r.agent),
            call: r.call,
            kind: HistoryKind::Released,
            notes: r.reason,
        };
        history(tx, &line, now).await?;
        let what = CallEvent::Released;
        self.call_event_in(tx, what, r.call, campaign, contact, r.agent, None, now)
            .await?;
        self.agent_leave_call_in(tx, r.agent, AgentState::Ready, None, now)
            .await?;
        Ok(true)
    }

    /// Until when the agent is at its release limit (`max` of its own releases within
    /// `period_ms` before `now`), if it is: when the release that keeps it there is a period old.
    pub async fn release_limited_until(
        &self,
        agent: AgentId,
        max: u32,
        period_ms: i64,
        now: Instant,
    ) -> Result<Option<Instant>> {
        let since = now.plus_millis(-period_ms);
        let at: Option<Instant> = on_pool!(&self.reads, |p| sqlx::query_scalar(LIMITING_RELEASE)
            .bind(agent)
            .bind(since)
            .bind(i64::from(max.saturating_sub(1)))
            .fetch_optional(p)
            .await)?;
        Ok(at.map(|t| t.plus_millis(period_ms)))
    }

    /// Each agent's own releases in `[from, to)`.
    pub async fn agent_releases(
        &self,
        from: Instant,
        to: Instant,
    ) -> Result<HashMap<AgentId, i64>> {
        let rows: Vec<(AgentId, i64)> =
            on_pool!(&self.reads, |p| sqlx::query_as(RELEASES_BETWEEN)
                .bind(from)
                .bind(to)
                .fetch_all(p)
                .await)?;
        Ok(rows.into_iter().collect())
    }

    /// Releases the call an agent holds, if any, in the caller's transaction (a pause or a
    /// sign-out, `by_agent` when the agent's own); returns it.
    pub async fn release_held_in(
        &self,
        tx: &mut Tx,
        agent: AgentId,
        reason: &str,
        by_agent: bool,
        now: Instant,
    ) -> Result<Option<CallId>> {
        let held: Option<CallId> = on_tx!(tx, |c| sqlx::query_scalar(HELD_BY)
            .bind(agent)
            .fetch_optional(c)
            .await)?;
        let Some(call) = held else {
            return Ok(None);
        };
        let release = Release {
            call,
            agent,
            live_only: false,
            reason: Some(reason),
            skip_until: None,
            by_agent,
        };
        Ok(self.release_in(tx, &release, now).await?.then_some(call))
    }
}

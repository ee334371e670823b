//! An agent's held call between hand-out and outcome: heartbeats and release (by the agent, or
//! by a supervisor or lead for anyone's call).

use crate::codes::Code;
use serde::Deserialize;
use serde_json::json;

use crate::{
    audit::{Action, Change, Entity},
    dispatch::CallState,
    ids::{AgentId, CallId},
    people::Principal,
    store::{Store, calls::CallRow, campaigns::CampaignRow, releases::Release},
    text::check_free_text,
    time::Instant,
    validate::Validator,
};

use super::{Error, Result, Service};

/// Why a held call can no longer be acted on.
const LEASE_GONE: &str = "this call's lease has run out or ended";
/// Why a call released by someone else can no longer be acted on, but for its outcome.
const RELEASED: &str = "this call was released (by a supervisor or lead); its outcome is still \
     taken while its contact has not been handed to anyone else";

/// The longest reason a release may give.
const MAX_REASON: usize = 500;

/// What a release may say.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseInput {
    /// Why the call is handed back (up to 500 characters), kept in the contact's history.
    pub reason: Option<String>,
    /// Skip the contact: it is not offered to the call's agent again within the campaign's
    /// `no_answer` retry delay (others may still get it). No attempt is counted either way.
    pub skip: Option<bool>,
}

/// Who releases a call.
#[derive(Debug, Clone, Copy)]
pub enum Releaser<'a> {
    /// The agent holding it (`by`, its token): only their own call, and only while its lease
    /// is live; audited, and counted against the agent's release limit.
    Agent { agent: AgentId, by: &'a Principal },
    /// A supervisor, lead or admin: any call still leased; audited.
    Floor(&'a Principal),
}

/// A release done: when a skipped contact may be offered to the agent again.
pub struct Released {
    pub call: CallRow,
    pub skip_until: Option<(Instant, CampaignRow)>,
}

impl Service {
    /// A call of this agent's; anyone else's is not found.
    #[tracing::instrument(skip_all)]
    pub async fn own_call(&self, id: CallId, agent: AgentId) -> Result<CallRow> {
        let call = self.store.call_get(id).await?;
        if call.agent_id != agent {
            Err(Error::NotFound)
        } else {
            Ok(call)
        }
    }

    /// Extends the agent's lease by the campaign's lease length; returns the new expiry and the
    /// campaign (its zone is the one the answer is shown in). A lease that ran out is reaped and
    /// is a conflict.
    #[tracing::instrument(skip_all)]
    pub async fn heartbeat(&self, id: CallId, agent: AgentId) -> Result<(Instant, CampaignRow)> {
        let call = self.own_call(id, agent).await?;
        let campaign = self.store.campaign_get(call.campaign_id).await?;
        let now = self.now();
        let until = now + campaign.lease_seconds;
        match self.store.heartbeat(id, agent, until, now).await? {
            Some(at) => {
                self.store.agent_seen(agent, now).await?;
                Ok((at, campaign))
            }
            None => Err(self.lease_gone(id, now).await),
        }
    }

    /// Why a call's lease can no longer be acted on, once a lease that ran out is reaped: the
    /// call was released (`call_released`) or its lease is lost (`lease_lost`).
    async fn lease_gone(&self, id: CallId, now: Instant) -> Error {
        if let Err(e) = self.store.reap_expired(now).await {
            return e.into();
        }
        match self.store.call_get(id).await {
            Ok(call) if call.state == CallState::Released => {
                Error::Conflict(Code::CallReleased.because(RELEASED))
            }
            Ok(_) => Error::Conflict(Code::LeaseLost.because(LEASE_GONE)),
            Err(e) => e.into(),
        }
    }

    /// Hands the contact back without counting an attempt; with `skip`, keeps it away from the
    /// call's agent for the campaign's `no_answer` delay.
    #[tracing::instrument(skip_all)]
    pub async fn release(
        &self,
        id: CallId,
        by: Releaser<'_>,
        input: ReleaseInput,
    ) -> Result<Released> {
        let mut v = Validator::new();
        let reason = v.check_opt("reason", input.reason, |r| {
            check_free_text(&r, MAX_REASON).map(|()| r.trim().to_owned())
        });
        v.finish()?;
        let reason = reason.flatten().filter(|r| !r.is_empty());
        let call = match by {
            Releaser::Agent { agent, .. } => self.own_call(id, agent).await?,
            Releaser::Floor(_) => self.store.call_get(id).await?,
        };
        let now = self.now();
        let skip_until = if input.skip == Some(true) {
            let campaign = self.store.campaign_get(call.campaign_id).await?;
            Some((now + campaign.retry_no_answer, campaign))
        } else {
            None
        };
        let release = Release {
            call: id,
            agent: call.agent_id,
            live_only: matches!(by, Releaser::Agent { .. }),
            reason: reason.as_deref(),
            skip_until: skip_until.as_ref().map(|(at, _)| *at),
            by_agent: matches!(by, Releaser::Agent { .. }),
        };
        let mut tx = self.store.begin().await?;
        if !self.store.release_in(&mut tx, &release, now).await? {
            drop(tx);
            return Err(self.lease_gone(id, now).await);
        }
        // Every release is audited: an agent's own too, as each one hands a contact's phone and
        // name over without an attempt (see `OUTCALL_RELEASE_LIMIT`).
        {
            let (Releaser::Floor(by) | Releaser::Agent { by, .. }) = by;
            let record = Change::new(Entity::Call, id, Action::Release).after(json!({
                "agent": call.agent_id, "reason": release.reason,
                "skip_until": release.skip_until.map(|t| t.rfc3339(self.tz()))}));
            Store::audit_in(&mut tx, by, now, &record).await?;
        }
        tx.commit().await?;
        self.events.poke();
        Ok(Released { call, skip_until })
    }
}

//! An agent's held call between hand-out and outcome: heartbeats and release.

use crate::{
    ids::{AgentId, CallId},
    store::{calls::CallRow, campaigns::CampaignRow},
    time::Instant,
};

use super::{Error, Result, Service};

/// Why a held call can no longer be acted on.
const LEASE_GONE: &str = "this call's lease has run out or ended";

impl Service {
    /// A call of this agent's; anyone else's is not found.
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
    pub async fn heartbeat(&self, id: CallId, agent: AgentId) -> Result<(Instant, CampaignRow)> {
        let call = self.own_call(id, agent).await?;
        let campaign = self.store.campaign_get(call.campaign_id).await?;
        let now = self.now();
        let until = now + campaign.lease_seconds;
        match self.store.heartbeat(id, agent, until, now).await? {
            Some(at) => Ok((at, campaign)),
            None => {
                self.store.reap_expired(now).await?;
                Err(Error::Conflict(LEASE_GONE.into()))
            }
        }
    }

    /// Hands the contact back without counting an attempt.
    pub async fn release(&self, id: CallId, agent: AgentId) -> Result<()> {
        self.own_call(id, agent).await?;
        let now = self.now();
        if self.store.release(id, agent, true, now).await? {
            Ok(())
        } else {
            self.store.reap_expired(now).await?;
            Err(Error::Conflict(LEASE_GONE.into()))
        }
    }
}

//! People and what they are given: agents (created, renamed, moved, deactivated, given a new
//! token), role tokens (issued, revoked), pause reasons, offers and follow-ups resolved. Every
//! change is audited in its own transaction by the store; the edge only parses and shapes.

use tracing::instrument;

use crate::{
    ids::{AgentId, FollowUpId, TargetId, TokenId},
    people::{Principal, Role, Secret},
    store::{
        agents::{Agent, AgentPatch},
        follow_ups::FollowUpRow,
        offers::Offer,
        pause_reasons::PauseReason,
    },
    text::{Name, Notes},
    time::Instant,
};

use super::{Error, Result, Service};

/// A new agent or token with the only copy of its secret.
pub struct Issued<T> {
    pub what: T,
    pub secret: Secret,
}

impl Service {
    /// Creates an agent (inactive until its desk signs it in) and its token.
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn agent_create(
        &self,
        name: &Name,
        team: Option<&Name>,
        by: &Principal,
    ) -> Result<Issued<Agent>> {
        let secret = Secret::generate();
        let agent = self
            .store
            .agent_create(
                name.as_str(),
                team.map(Name::as_str),
                &secret.hash(),
                self.now(),
                by,
            )
            .await?;
        Ok(Issued {
            what: agent,
            secret,
        })
    }

    /// Renames, moves or (de)activates an agent; a deactivated agent's call goes back to the
    /// queue.
    #[instrument(skip_all, fields(agent = %id), err(level = "debug"))]
    pub async fn agent_update(
        &self,
        id: AgentId,
        patch: AgentPatch,
        by: &Principal,
    ) -> Result<Agent> {
        let agent = self.store.agent_update(id, patch, self.now(), by).await?;
        if !agent.active {
            self.agent_deactivated(agent.id, by).await?;
        }
        Ok(agent)
    }

    /// A new token for an agent; its earlier tokens stop working.
    #[instrument(skip_all, fields(agent = %id), err(level = "debug"))]
    pub async fn agent_token_rotate(&self, id: AgentId, by: &Principal) -> Result<Issued<TokenId>> {
        let secret = Secret::generate();
        let token = self
            .store
            .agent_token_rotate(id, &secret.hash(), self.now(), by)
            .await?;
        Ok(Issued {
            what: token,
            secret,
        })
    }

    /// Issues a role token (not an agent's).
    #[instrument(skip_all, fields(role = %role), err(level = "debug"))]
    pub async fn token_create(
        &self,
        name: &Name,
        role: Role,
        expires_at: Option<Instant>,
        by: &Principal,
    ) -> Result<Issued<TokenId>> {
        let secret = Secret::generate();
        let id = self
            .store
            .token_create(
                name.as_str(),
                role,
                &secret.hash(),
                expires_at,
                self.now(),
                by,
            )
            .await?;
        Ok(Issued { what: id, secret })
    }

    /// Revokes a token; not found when there is none to revoke.
    #[instrument(skip_all, fields(token = %id), err(level = "debug"))]
    pub async fn token_revoke(&self, id: TokenId, by: &Principal) -> Result<()> {
        if self.store.token_revoke(id, self.now(), by).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// Adds a reason agents may pause for; a name already kept is a conflict naming `name`.
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn pause_reason_create(&self, name: &Name, by: &Principal) -> Result<PauseReason> {
        Ok(self
            .store
            .pause_reason_create(name.as_str(), self.now(), by)
            .await?)
    }

    /// Creates an offer; a code already taken is a conflict naming `code`.
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn offer_create(
        &self,
        code: &Name,
        name: &Name,
        description: Option<&Notes>,
        by: &Principal,
    ) -> Result<Offer> {
        Ok(self
            .store
            .offer_create(
                code.as_str(),
                name.as_str(),
                description.map(Notes::as_str),
                self.now(),
                by,
            )
            .await?)
    }

    /// Resolves (or re-opens) a follow-up, audited.
    #[instrument(skip_all, fields(follow_up = %id), err(level = "debug"))]
    pub async fn follow_up_resolve(
        &self,
        id: FollowUpId,
        resolution: Option<&Notes>,
        resolved: bool,
        by: &Principal,
    ) -> Result<FollowUpRow> {
        Ok(self
            .store
            .follow_up_resolve(id, resolution.map(Notes::as_str), resolved, self.now(), by)
            .await?)
    }

    /// Deletes a target, audited.
    #[instrument(skip_all, fields(target = %id), err(level = "debug"))]
    pub async fn target_delete(&self, id: TargetId, by: &Principal) -> Result<()> {
        Ok(self.store.target_delete(id, self.now(), by).await?)
    }
}

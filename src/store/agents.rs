//! Agents, each with one agent token.

use serde::Serialize;

use crate::{
    audit::{Action, change},
    ids::{AgentId, TokenId},
    on_pool, on_tx,
    people::{Principal, Role},
    time::Instant,
};

use super::{Result, Store, StoreError};

/// An agent as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
    pub team: Option<String>,
    pub active: bool,
}

/// Changes to an agent; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct AgentPatch {
    pub name: Option<String>,
    /// `Some(None)` clears the team.
    pub team: Option<Option<String>>,
    pub active: Option<bool>,
}

const INSERT: &str = "INSERT INTO agents (name, team, active, created_at, updated_at) \
     VALUES ($1, $2, TRUE, $3, $3) RETURNING id, name, team, active";
const INSERT_TOKEN: &str = "INSERT INTO tokens (name, role, secret_hash, agent_id, created_at) \
     VALUES ($1, $2, $3, $4, $5) RETURNING id";
/// Revokes the agent's live tokens (before a new one is issued).
const REVOKE_TOKENS: &str =
    "UPDATE tokens SET revoked_at = $2 WHERE agent_id = $1 AND revoked_at IS NULL RETURNING id";
const GET: &str = "SELECT id, name, team, active FROM agents WHERE id = $1";
const LIST: &str = "SELECT id, name, team, active FROM agents WHERE id > $1 ORDER BY id LIMIT $2";
const ACTIVE: &str = "SELECT id, name, team, active FROM agents WHERE active ORDER BY id";
const UPDATE: &str = "UPDATE agents SET name = COALESCE($2, name), \
       team = CASE WHEN $3 THEN $4 ELSE team END, active = COALESCE($5, active), updated_at = $6 \
     WHERE id = $1 RETURNING id, name, team, active";

impl Store {
    /// Creates an agent and its token in one transaction.
    pub async fn agent_create(
        &self,
        name: &str,
        team: Option<&str>,
        token_hash: &str,
        now: Instant,
        by: &Principal,
    ) -> Result<Agent> {
        let mut tx = self.begin().await?;
        let agent: Agent = on_tx!(&mut tx, |c| sqlx::query_as(INSERT)
            .bind(name)
            .bind(team)
            .bind(now)
            .fetch_one(c)
            .await)?;
        let _: TokenId = on_tx!(&mut tx, |c| sqlx::query_scalar(INSERT_TOKEN)
            .bind(name)
            .bind(Role::Agent)
            .bind(token_hash)
            .bind(agent.id)
            .bind(now)
            .fetch_one(c)
            .await)?;
        Store::agent_state_create_in(&mut tx, agent.id, now).await?;
        let record = change(agent.id, Action::Create).after(serde_json::json!(agent));
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(agent)
    }

    /// Issues the agent a new token and revokes the ones it had; returns the new token's id.
    pub async fn agent_token_rotate(
        &self,
        agent: AgentId,
        token_hash: &str,
        now: Instant,
        by: &Principal,
    ) -> Result<TokenId> {
        let mut tx = self.begin().await?;
        let row: Option<Agent> = on_tx!(&mut tx, |c| sqlx::query_as(GET)
            .bind(agent)
            .fetch_optional(c)
            .await)?;
        let agent_row = row.ok_or(StoreError::NotFound)?;
        let revoked: Vec<TokenId> = on_tx!(&mut tx, |c| sqlx::query_scalar(REVOKE_TOKENS)
            .bind(agent)
            .bind(now)
            .fetch_all(c)
            .await)?;
        let id: TokenId = on_tx!(&mut tx, |c| sqlx::query_scalar(INSERT_TOKEN)
            .bind(&agent_row.name)
            .bind(Role::Agent)
            .bind(token_hash)
            .bind(agent)
            .bind(now)
            .fetch_one(c)
            .await)?;
        let record = change(id, Action::Rotate)
            .before(serde_json::json!({"agent": agent, "tokens": revoked}))
            .after(serde_json::json!({"agent": agent, "token": id}));
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn agent_get(&self, id: AgentId) -> Result<Agent> {
        self.read_by_id(GET, id).await
    }

    /// Every active agent (who may work which campaign is the campaigns' teams' to say).
    pub async fn agents_active(&self) -> Result<Vec<Agent>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(ACTIVE)
            .fetch_all(p)
            .await)?)
    }

    /// Agents in id order after the cursor, `limit + 1` at most (see [`super::Page`]).
    pub async fn agent_list(&self, after: AgentId, limit: i64) -> Result<Vec<Agent>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(LIST)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(p)
            .await)?)
    }

    /// Applies a patch and returns the agent as it now is.
    pub async fn agent_update(
        &self,
        id: AgentId,
        patch: AgentPatch,
        now: Instant,
        by: &Principal,
    ) -> Result<Agent> {
        let (team_set, team) = match patch.team {
            Some(team) => (true, team),
            None => (false, None),
        };
        let mut tx = self.begin().await?;
        let before: Option<Agent> = on_tx!(&mut tx, |c| sqlx::query_as(GET)
            .bind(id)
            .fetch_optional(c)
            .await)?;
        let before = before.ok_or(StoreError::NotFound)?;
        let after: Agent = on_tx!(&mut tx, |c| sqlx::query_as(UPDATE)
            .bind(id)
            .bind(patch.name)
            .bind(team_set)
            .bind(team)
            .bind(patch.active)
            .bind(now)
            .fetch_one(c)
            .await)?;
        // A deactivation ends the agent's tokens for good: reactivating the agent does not
        // bring them back (a token that left with someone stays dead); it needs a new one.
        let revoked: Vec<TokenId> = if before.active && !after.active {
            on_tx!(&mut tx, |c| sqlx::query_scalar(REVOKE_TOKENS)
                .bind(id)
                .bind(now)
                .fetch_all(c)
                .await)?
        } else {
            vec![]
        };
        let mut after_json = serde_json::json!(after);
        if !revoked.is_empty() {
            after_json["revoked_tokens"] = serde_json::json!(revoked);
        }
        let record = change(id, Action::Update)
            .before(serde_json::json!(before))
            .after(after_json);
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(after)
    }
}

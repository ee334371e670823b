//! Agents, each with one agent token.

use serde::Serialize;

use crate::{on_pool, on_tx, people::Role};

use super::{Result, Store, StoreError};

/// An agent as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Agent {
    pub id: i64,
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

impl Store {
    /// Creates an agent and its token in one transaction.
    pub async fn agent_create(
        &self,
        name: &str,
        team: Option<&str>,
        token_hash: &str,
        now: i64,
    ) -> Result<Agent> {
        let mut tx = self.begin().await?;
        let agent: Agent = on_tx!(&mut tx, |c| sqlx::query_as(
            "INSERT INTO agents (name, team, active, created_at, updated_at) \
             VALUES ($1, $2, TRUE, $3, $3) RETURNING id, name, team, active"
        )
        .bind(name)
        .bind(team)
        .bind(now)
        .fetch_one(c)
        .await)?;
        on_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO tokens (name, role, secret_hash, agent_id, created_at) \
             VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(name)
        .bind(Role::Agent.as_str())
        .bind(token_hash)
        .bind(agent.id)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        Ok(agent)
    }

    pub async fn agent_get(&self, id: i64) -> Result<Agent> {
        const SQL: &str = "SELECT id, name, team, active FROM agents WHERE id = $1";
        on_pool!(&self.reads, |p| sqlx::query_as(SQL)
            .bind(id)
            .fetch_optional(p)
            .await)?
        .ok_or(StoreError::NotFound)
    }

    /// Agents in id order after the cursor, `limit + 1` at most (see [`super::Page`]).
    pub async fn agent_list(&self, after: i64, limit: i64) -> Result<Vec<Agent>> {
        const SQL: &str =
            "SELECT id, name, team, active FROM agents WHERE id > $1 ORDER BY id LIMIT $2";
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(p)
            .await)?)
    }

    /// Applies a patch and returns the agent as it now is.
    pub async fn agent_update(&self, id: i64, patch: AgentPatch, now: i64) -> Result<Agent> {
        const SQL: &str = "UPDATE agents SET \
               name = COALESCE($2, name), \
               team = CASE WHEN $3 THEN $4 ELSE team END, \
               active = COALESCE($5, active), \
               updated_at = $6 \
             WHERE id = $1 RETURNING id, name, team, active";
        let (team_set, team) = match patch.team {
            Some(team) => (true, team),
            None => (false, None),
        };
        on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(id)
            .bind(patch.name)
            .bind(team_set)
            .bind(team)
            .bind(patch.active)
            .bind(now)
            .fetch_optional(p)
            .await)?
        .ok_or(StoreError::NotFound)
    }
}

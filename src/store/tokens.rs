//! API tokens: stored only as hashes.

use crate::{
    on_pool, on_tx,
    people::{Principal, Role},
};

use super::{Result, Store};

#[derive(sqlx::FromRow)]
struct PrincipalRow {
    id: i64,
    name: String,
    role: String,
    agent_id: Option<i64>,
}

impl Store {
    /// The live principal for a token hash: not revoked, and for agent tokens, the agent active.
    pub async fn principal_by_hash(&self, hash: &str) -> Result<Option<Principal>> {
        const SQL: &str = "SELECT t.id, t.name, t.role, t.agent_id FROM tokens t \
             LEFT JOIN agents a ON a.id = t.agent_id \
             WHERE t.secret_hash = $1 AND t.revoked_at IS NULL \
               AND (t.agent_id IS NULL OR a.active)";
        let row: Option<PrincipalRow> = on_pool!(&self.reads, |p| sqlx::query_as(SQL)
            .bind(hash)
            .fetch_optional(p)
            .await)?;
        Ok(row.and_then(|r| {
            let role = r.role.parse().ok()?;
            Some(Principal {
                token_id: r.id,
                name: r.name,
                role,
                agent_id: r.agent_id,
            })
        }))
    }

    /// Stores a new token and returns its id.
    pub async fn token_create(
        &self,
        name: &str,
        role: Role,
        hash: &str,
        agent_id: Option<i64>,
        now: i64,
    ) -> Result<i64> {
        const SQL: &str = "INSERT INTO tokens (name, role, secret_hash, agent_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id";
        let id: i64 = on_pool!(&self.pool, |p| sqlx::query_scalar(SQL)
            .bind(name)
            .bind(role.as_str())
            .bind(hash)
            .bind(agent_id)
            .bind(now)
            .fetch_one(p)
            .await)?;
        Ok(id)
    }

    /// Revokes a token that is not an agent's (agents are deactivated instead). Returns whether
    /// a live token was revoked.
    pub async fn token_revoke(&self, id: i64, now: i64) -> Result<bool> {
        const SQL: &str = "UPDATE tokens SET revoked_at = $2 \
             WHERE id = $1 AND revoked_at IS NULL AND agent_id IS NULL";
        let done = on_pool!(&self.pool, |p| sqlx::query(SQL)
            .bind(id)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done == 1)
    }

    /// Stores a generated admin token if no live admin token exists; returns whether it did.
    /// Serialised across processes, so several starting at once make only one.
    pub async fn token_bootstrap_if_none(&self, hash: &str, now: i64) -> Result<bool> {
        let mut tx = self.begin().await?;
        if let super::Tx::Postgres(t) = &mut tx {
            sqlx::query("SELECT pg_advisory_xact_lock(7263001)")
                .execute(&mut **t)
                .await?;
        }
        let n: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM tokens WHERE role = 'admin' AND revoked_at IS NULL"
        )
        .fetch_one(c)
        .await)?;
        if n > 0 {
            return Ok(false);
        }
        on_tx!(&mut tx, |c| {
            sqlx::query(
            "INSERT INTO tokens (name, role, secret_hash, created_at) VALUES ('generated admin', 'admin', $1, $2)"
        )
        .bind(hash)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether any live admin token exists.
    pub async fn admin_token_exists(&self) -> Result<bool> {
        const SQL: &str = "SELECT COUNT(*) FROM tokens WHERE role = 'admin' AND revoked_at IS NULL";
        let n: i64 = on_pool!(&self.pool, |p| sqlx::query_scalar(SQL).fetch_one(p).await)?;
        Ok(n > 0)
    }

    /// Makes sure a live admin token with this hash exists (the bootstrap token). A token with
    /// this hash that was revoked is brought back: the operator asked for it by configuration.
    pub async fn token_ensure_admin(&self, hash: &str, now: i64) -> Result<()> {
        const SQL: &str = "INSERT INTO tokens (name, role, secret_hash, created_at) \
             VALUES ('bootstrap', 'admin', $1, $2) \
             ON CONFLICT (secret_hash) DO UPDATE SET revoked_at = NULL, role = 'admin', agent_id = NULL";
        on_pool!(&self.pool, |p| sqlx::query(SQL)
            .bind(hash)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}

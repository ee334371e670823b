//! API tokens: stored only as hashes.

use crate::{
    audit::{Action, change},
    ids::{AgentId, TokenId},
    on_pool, on_tx,
    people::{Principal, Role},
    time::Instant,
};

/// A token as an admin sees it: never its secret.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: TokenId,
    pub name: String,
    pub role: Role,
    pub agent_id: Option<AgentId>,
    pub created_at: Instant,
    pub expires_at: Option<Instant>,
    pub revoked_at: Option<Instant>,
}

const LIST: &str = "SELECT id, name, role, agent_id, created_at, expires_at, revoked_at FROM tokens \
     WHERE id > $1 ORDER BY id LIMIT $2";

use super::{Result, Store, StoreError, locks};

/// Why the last live admin token stays.
const LAST_ADMIN: &str = "this is the last admin token that works; issue another admin token \
     before revoking it";

#[derive(sqlx::FromRow)]
struct PrincipalRow {
    id: TokenId,
    name: String,
    role: Role,
    agent_id: Option<AgentId>,
}

/// A live token (not revoked, not expired), and for an agent's token, an active agent.
const PRINCIPAL: &str = "SELECT t.id, t.name, t.role, t.agent_id FROM tokens t \
     LEFT JOIN agents a ON a.id = t.agent_id \
     WHERE t.secret_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2) \
       AND (t.agent_id IS NULL OR a.active)";
/// The same condition by the token's primary key: what an open event stream re-checks.
const LIVE: &str = "SELECT COUNT(*) FROM tokens t \
     LEFT JOIN agents a ON a.id = t.agent_id \
     WHERE t.id = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2) \
       AND (t.agent_id IS NULL OR a.active)";
const INSERT: &str = "INSERT INTO tokens (name, role, secret_hash, agent_id, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
/// Agents' tokens are not revoked here: they are rotated, or the agent deactivated.
const REVOKE: &str = "UPDATE tokens SET revoked_at = $2 \
     WHERE id = $1 AND revoked_at IS NULL AND agent_id IS NULL RETURNING name, role";
/// Admin tokens that work now: not revoked and not expired (one that expired locks nobody in).
const LIVE_ADMINS: &str = "SELECT COUNT(*) FROM tokens \
     WHERE role = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)";
/// Whether a token is a live admin token.
const IS_LIVE_ADMIN: &str = "SELECT COUNT(*) FROM tokens \
     WHERE id = $1 AND role = $2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3)";
const INSERT_ADMIN: &str =
    "INSERT INTO tokens (name, role, secret_hash, created_at) VALUES ($1, $2, $3, $4)";
/// The configured bootstrap secret; a revoked token with this hash is brought back.
const ENSURE_ADMIN: &str = "INSERT INTO tokens (name, role, secret_hash, created_at) \
     VALUES ('bootstrap', $1, $2, $3) \
     ON CONFLICT (secret_hash) DO UPDATE SET revoked_at = NULL, role = $1, agent_id = NULL";

impl Store {
    /// The live principal for a token hash: not revoked, and for agent tokens, the agent active.
    pub async fn principal_by_hash(&self, hash: &str, now: Instant) -> Result<Option<Principal>> {
        let row: Option<PrincipalRow> = on_pool!(&self.reads, |p| sqlx::query_as(PRINCIPAL)
            .bind(hash)
            .bind(now)
            .fetch_optional(p)
            .await)?;
        Ok(row.map(|r| Principal {
            token_id: r.id,
            name: r.name,
            role: r.role,
            agent_id: r.agent_id,
        }))
    }

    /// Whether the token still admits its holder (not revoked, not expired; an agent's token,
    /// its agent active): one primary-key read on the read connections.
    pub async fn token_live(&self, id: TokenId, now: Instant) -> Result<bool> {
        let n: i64 = on_pool!(&self.reads, |p| sqlx::query_scalar(LIVE)
            .bind(id)
            .bind(now)
            .fetch_one(p)
            .await)?;
        Ok(n > 0)
    }

    /// Stores a new token (not an agent's) and returns its id.
    pub async fn token_create(
        &self,
        name: &str,
        role: Role,
        hash: &str,
        expires_at: Option<Instant>,
        now: Instant,
        by: &Principal,
    ) -> Result<TokenId> {
        let mut tx = self.begin().await?;
        let id: TokenId = on_tx!(&mut tx, |c| sqlx::query_scalar(INSERT)
            .bind(name)
            .bind(role)
            .bind(hash)
            .bind(None::<AgentId>)
            .bind(now)
            .bind(expires_at)
            .fetch_one(c)
            .await)?;
        let after = serde_json::json!({"name": name, "role": role, "expires_at": expires_at});
        Store::audit_in(&mut tx, by, now, &change(id, Action::Create).after(after)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Revokes a token that is not an agent's (agents' tokens are rotated instead). Returns
    /// whether a live token was revoked. The last live admin token is not revoked (a conflict):
    /// nobody could issue tokens after it. Serialised with the bootstrap, so two admins revoking
    /// each other at once cannot both succeed.
    pub async fn token_revoke(&self, id: TokenId, now: Instant, by: &Principal) -> Result<bool> {
        let mut tx = self.begin().await?;
        locks::exclusive(&mut tx, locks::BOOTSTRAP).await?;
        let admin: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(IS_LIVE_ADMIN)
            .bind(id)
            .bind(Role::Admin)
            .bind(now)
            .fetch_one(c)
            .await)?;
        if admin > 0 {
            let live: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(LIVE_ADMINS)
                .bind(Role::Admin)
                .bind(now)
                .fetch_one(c)
                .await)?;
            if live <= 1 {
                return Err(StoreError::Conflict(
                    crate::codes::Code::LastAdmin.because(LAST_ADMIN),
                ));
            }
        }
        let revoked: Option<(String, Role)> = on_tx!(&mut tx, |c| sqlx::query_as(REVOKE)
            .bind(id)
            .bind(now)
            .fetch_optional(c)
            .await)?;
        let Some((name, role)) = revoked else {
            return Ok(false);
        };
        let before = serde_json::json!({"name": name, "role": role});
        Store::audit_in(&mut tx, by, now, &change(id, Action::Revoke).before(before)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Tokens in id order after the cursor, `limit + 1` at most; never their secrets.
    pub async fn token_list(&self, after: TokenId, limit: i64) -> Result<Vec<TokenRow>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(LIST)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(p)
            .await)?)
    }

    /// Stores a generated admin token if no live admin token exists; returns whether it did.
    /// Serialised across processes, so several starting at once make only one.
    pub async fn token_bootstrap_if_none(&self, hash: &str, now: Instant) -> Result<bool> {
        let mut tx = self.begin().await?;
        locks::exclusive(&mut tx, locks::BOOTSTRAP).await?;
        let n: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(LIVE_ADMINS)
            .bind(Role::Admin)
            .bind(now)
            .fetch_one(c)
            .await)?;
        if n > 0 {
            return Ok(false);
        }
        on_tx!(&mut tx, |c| sqlx::query(INSERT_ADMIN)
            .bind("generated admin")
            .bind(Role::Admin)
            .bind(hash)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether any live admin token (not revoked, not expired) exists at `now`.
    pub async fn admin_token_exists(&self, now: Instant) -> Result<bool> {
        let n: i64 = on_pool!(&self.reads, |p| sqlx::query_scalar(LIVE_ADMINS)
            .bind(Role::Admin)
            .bind(now)
            .fetch_one(p)
            .await)?;
        Ok(n > 0)
    }

    /// Makes sure a live admin token with this hash exists (the bootstrap token). A token with
    /// this hash that was revoked is brought back: the operator asked for it by configuration.
    pub async fn token_ensure_admin(&self, hash: &str, now: Instant) -> Result<()> {
        on_pool!(&self.pool, |p| sqlx::query(ENSURE_ADMIN)
            .bind(Role::Admin)
            .bind(hash)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}

//! The audit log: written inside the transaction of each change (so both commit or neither),
//! read newest first.

use crate::{
    audit::{Action, Change, Entity},
    ids::TokenId,
    on_pool, on_tx,
    people::Principal,
    time::Instant,
};

use super::{Result, Store, Tx};

/// One recorded change.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: Instant,
    pub actor_id: Option<TokenId>,
    pub actor_name: String,
    pub actor_role: String,
    pub entity: Entity,
    pub entity_id: String,
    pub action: Action,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Which changes a page of the log shows (every field optional).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity: Option<Entity>,
    pub entity_id: Option<String>,
    /// A token's name (or its id, written as a number).
    pub actor: Option<String>,
    pub from: Option<Instant>,
    pub to: Option<Instant>,
}

const INSERT: &str = "INSERT INTO audit (at, actor_id, actor_name, actor_role, entity, entity_id, \
       action, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// Newest first, before the cursor `$1`.
const LIST: &str = "SELECT id, at, actor_id, actor_name, actor_role, entity, entity_id, action, \
       before, after FROM audit \
     WHERE id < $1 AND ($2 IS NULL OR entity = $2) AND ($3 IS NULL OR entity_id = $3) \
       AND ($4 IS NULL OR actor_name = $4 OR CAST(actor_id AS TEXT) = $4) \
       AND ($5 IS NULL OR at >= $5) AND ($6 IS NULL OR at < $6) \
     ORDER BY id DESC LIMIT $7";

impl Store {
    /// Records `change` by `by` at `at`, in the change's own transaction.
    pub async fn audit_in(tx: &mut Tx, by: &Principal, at: Instant, change: &Change) -> Result<()> {
        let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
        on_tx!(tx, |c| sqlx::query(INSERT)
            .bind(at)
            .bind(by.token_id)
            .bind(&by.name)
            .bind(by.role)
            .bind(change.entity)
            .bind(&change.entity_id)
            .bind(change.action)
            .bind(json(&change.before))
            .bind(json(&change.after))
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Records `change` on its own, for changes made of many transactions (an import's
    /// batches): written once the change is done, with its outcome.
    pub async fn audit(&self, by: &Principal, at: Instant, change: &Change) -> Result<()> {
        let mut tx = self.begin().await?;
        Store::audit_in(&mut tx, by, at, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A page of the log, newest first, before the cursor (an id; `i64::MAX` for the first).
    pub async fn audit_list(
        &self,
        f: &AuditFilter,
        before: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(LIST)
            .bind(before)
            .bind(f.entity)
            .bind(f.entity_id.as_deref())
            .bind(f.actor.as_deref())
            .bind(f.from)
            .bind(f.to)
            .bind(limit + 1)
            .fetch_all(p)
            .await)?)
    }
}

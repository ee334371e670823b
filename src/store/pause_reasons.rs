//! The reasons an agent may pause for, kept by leads.

use serde::Serialize;

use crate::{
    audit::{Action, Change, Entity},
    ids::PauseReasonId,
    on_pool, on_tx,
    people::Principal,
    time::Instant,
};

use super::{Result, Store};

/// A pause reason.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PauseReason {
    pub id: PauseReasonId,
    pub name: String,
}

const INSERT: &str =
    "INSERT INTO pause_reasons (name, created_at) VALUES ($1, $2) RETURNING id, name";
const LIST: &str = "SELECT id, name FROM pause_reasons WHERE id > $1 ORDER BY id LIMIT $2";
const EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM pause_reasons WHERE name = $1)";

impl Store {
    /// Adds a reason (a name already kept is a conflict), audited.
    pub async fn pause_reason_create(
        &self,
        name: &str,
        now: Instant,
        by: &Principal,
    ) -> Result<PauseReason> {
        let mut tx = self.begin().await?;
        let reason: PauseReason = on_tx!(&mut tx, |c| sqlx::query_as(INSERT)
            .bind(name)
            .bind(now)
            .fetch_one(c)
            .await)?;
        let record = Change::new(Entity::PauseReason, reason.id, Action::Create)
            .after(serde_json::json!(reason));
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(reason)
    }

    /// A page of reasons after the cursor, in id order.
    pub async fn pause_reasons(
        &self,
        after: PauseReasonId,
        limit: i64,
    ) -> Result<Vec<PauseReason>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(LIST)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(p)
            .await)?)
    }

    /// Whether `name` is one of the reasons.
    pub async fn pause_reason_exists(&self, name: &str) -> Result<bool> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_scalar(EXISTS)
            .bind(name)
            .fetch_one(p)
            .await)?)
    }
}

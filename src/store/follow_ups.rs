//! Follow-ups opened by complaints, for leads to resolve.

use crate::on_pool;

use super::{Result, Store, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FollowUpRow {
    pub id: i64,
    pub contact_id: i64,
    pub phone: String,
    pub campaign_id: i64,
    pub call_id: i64,
    pub agent_id: Option<i64>,
    pub notes: Option<String>,
    pub due_at: i64,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
    pub resolution: Option<String>,
}

macro_rules! select_follow_up {
    ($tail:literal) => {
        concat!(
            "SELECT f.id, f.contact_id, k.phone, f.campaign_id, f.call_id, f.agent_id, f.notes, f.due_at, f.created_at, \
             f.resolved_at, f.resolution FROM follow_ups f JOIN contacts k ON k.id = f.contact_id ",
            $tail
        )
    };
}

impl Store {
    /// Follow-ups after the cursor; `open` filters on whether they are resolved.
    pub async fn follow_ups(
        &self,
        open: Option<bool>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<FollowUpRow>> {
        const SQL: &str = select_follow_up!(
            "WHERE f.id > $1 AND ($2 IS NULL OR ($2 AND f.resolved_at IS NULL) OR (NOT $2 AND f.resolved_at IS NOT NULL)) \
             ORDER BY f.id LIMIT $3"
        );
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(after)
            .bind(open)
            .bind(limit + 1)
            .fetch_all(p)
            .await)?)
    }

    /// Resolves (or re-opens, with `None`) a follow-up.
    pub async fn follow_up_resolve(
        &self,
        id: i64,
        resolution: Option<&str>,
        resolved: bool,
        now: i64,
    ) -> Result<FollowUpRow> {
        const SQL: &str = "UPDATE follow_ups SET resolved_at = CASE WHEN $2 THEN $3 ELSE NULL END, \
             resolution = COALESCE($4, resolution) WHERE id = $1";
        let n = on_pool!(&self.pool, |p| sqlx::query(SQL)
            .bind(id)
            .bind(resolved)
            .bind(now)
            .bind(resolution)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        const GET: &str = select_follow_up!("WHERE f.id = $1");
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(GET)
            .bind(id)
            .fetch_one(p)
            .await)?)
    }
}

//! Targets: goals per campaign, team or agent and period.

use crate::{
    audit::{Action, change},
    ids::TargetId,
    on_pool, on_tx,
    people::Principal,
    stats::{Metric, Period, TargetScope},
    time::Instant,
};

use super::{Result, Store, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TargetRow {
    pub id: TargetId,
    pub scope: TargetScope,
    pub scope_id: String,
    pub period: Period,
    pub metric: Metric,
    pub goal: i64,
}

/// A target to set.
pub struct NewTarget<'a> {
    pub scope: TargetScope,
    pub scope_id: &'a str,
    pub period: Period,
    pub metric: Metric,
    pub goal: i64,
}

const COLUMNS: &str = "id, scope, scope_id, period, metric, goal";

const INSERT: &str = "INSERT INTO targets (scope, scope_id, period, metric, goal, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ";
const LIST: &str = "FROM targets WHERE id > $1 AND ($2 IS NULL OR scope = $2) \
     AND ($3 IS NULL OR scope_id = $3) ORDER BY id LIMIT $4";
const SET_GOAL: &str = "UPDATE targets SET goal = $2 WHERE id = $1 RETURNING ";
const DELETE: &str = "DELETE FROM targets WHERE id = $1";
const GET: &str = "FROM targets WHERE id = $1";
const CURRENT: &str =
    "FROM targets WHERE scope = $1 AND scope_id = $2 AND period IN ($3, $4, $5) ORDER BY id";

/// Conversions attributed to a call of the scope, activated in a period.
const ACTIVATIONS_OF_CAMPAIGN: &str = "SELECT COUNT(*) FROM conversions \
     WHERE campaign_id = $1 AND occurred_at >= $2 AND occurred_at < $3";
const ACTIVATIONS_OF_AGENT: &str = "SELECT COUNT(*) FROM conversions \
     WHERE agent_id = $1 AND occurred_at >= $2 AND occurred_at < $3";
const ACTIVATIONS_OF_TEAM: &str = "SELECT COUNT(*) FROM conversions v \
     JOIN agents a ON a.id = v.agent_id \
     WHERE a.team = $1 AND v.occurred_at >= $2 AND v.occurred_at < $3";

impl TargetRow {
    /// The target as the audit log records it.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({"scope": self.scope, "scope_id": self.scope_id,
            "period": self.period.to_string(), "metric": self.metric, "goal": self.goal})
    }
}

/// A target read in a transaction (not found if there is none).
async fn target_in(tx: &mut super::Tx, id: TargetId) -> Result<TargetRow> {
    let sql = format!("SELECT {COLUMNS} {GET}");
    on_tx!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_optional(c)
        .await)?
    .ok_or(StoreError::NotFound)
}

impl Store {
    pub async fn target_create(
        &self,
        t: &NewTarget<'_>,
        now: Instant,
        by: &Principal,
    ) -> Result<TargetRow> {
        let sql = format!("{INSERT}{COLUMNS}");
        let mut tx = self.begin().await?;
        let row: TargetRow = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(t.scope)
        .bind(t.scope_id)
        .bind(t.period)
        .bind(t.metric)
        .bind(t.goal)
        .bind(now)
        .fetch_one(c)
        .await)?;
        let record = change(row.id, Action::Create).after(row.json());
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Targets after the cursor, optionally of one scope (as written in the query) and id.
    pub async fn target_list(
        &self,
        scope: Option<&str>,
        scope_id: Option<&str>,
        after: TargetId,
        limit: i64,
    ) -> Result<Vec<TargetRow>> {
        let sql = format!("SELECT {COLUMNS} {LIST}");
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(after)
        .bind(scope)
        .bind(scope_id)
        .bind(limit + 1)
        .fetch_all(p)
        .await)?)
    }

    pub async fn target_set_goal(
        &self,
        id: TargetId,
        goal: i64,
        now: Instant,
        by: &Principal,
    ) -> Result<TargetRow> {
        let mut tx = self.begin().await?;
        let before = target_in(&mut tx, id).await?;
        let sql = format!("{SET_GOAL}{COLUMNS}");
        let row: TargetRow = on_tx!(&mut tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(id)
        .bind(goal)
        .fetch_one(c)
        .await)?;
        let record = change(id, Action::Update)
            .before(before.json())
            .after(row.json());
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn target_delete(&self, id: TargetId, now: Instant, by: &Principal) -> Result<()> {
        let mut tx = self.begin().await?;
        let before = target_in(&mut tx, id).await?;
        on_tx!(&mut tx, |c| sqlx::query(DELETE)
            .bind(id)
            .execute(c)
            .await
            .map(|_| ()))?;
        let record = change(id, Action::Delete).before(before.json());
        Store::audit_in(&mut tx, by, now, &record).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The conversions attributed to calls of a target's scope (a campaign id, an agent id or
    /// a team's name) and activated in `[from, to)`: the `activations` metric.
    pub async fn activations(
        &self,
        scope: TargetScope,
        scope_id: &str,
        from: Instant,
        to: Instant,
    ) -> Result<i64> {
        let (sql, id) = match scope {
            TargetScope::Campaign => (ACTIVATIONS_OF_CAMPAIGN, scope_id.parse::<i64>().ok()),
            TargetScope::Agent => (ACTIVATIONS_OF_AGENT, scope_id.parse::<i64>().ok()),
            TargetScope::Team => {
                return Ok(on_pool!(&self.reads, |p| sqlx::query_scalar(
                    ACTIVATIONS_OF_TEAM
                )
                .bind(scope_id)
                .bind(from)
                .bind(to)
                .fetch_one(p)
                .await)?);
            }
        };
        let Some(id) = id else { return Ok(0) };
        Ok(on_pool!(&self.reads, |p| sqlx::query_scalar(sql)
            .bind(id)
            .bind(from)
            .bind(to)
            .fetch_one(p)
            .await)?)
    }

    /// The targets of one scope whose period is one of `periods` (a month, its quarter and its
    /// year).
    pub async fn targets_for(
        &self,
        scope: TargetScope,
        scope_id: &str,
        periods: &[Period; 3],
    ) -> Result<Vec<TargetRow>> {
        let sql = format!("SELECT {COLUMNS} {CURRENT}");
        Ok(on_pool!(&self.reads, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(scope)
        .bind(scope_id)
        .bind(periods[0])
        .bind(periods[1])
        .bind(periods[2])
        .fetch_all(pool)
        .await)?)
    }
}

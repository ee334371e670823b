//! Outcome roll-ups and targets. Roll-ups are counted by a trigger on the outcome's history row
//! (migration 0006), in the outcome's own transaction, so stats never disagree with what was
//! recorded and never re-read the history.

use std::collections::BTreeMap;

use crate::{on_pool, stats::Tally};

use super::{Result, Store, StoreError};

/// What a range query groups by.
#[derive(Debug, Clone, Copy)]
pub enum GroupBy {
    Offer,
    Agent,
    Hour,
}

/// Which outcomes a range query counts.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub campaign: Option<i64>,
    pub agent: Option<i64>,
    pub team: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct TargetRow {
    pub id: i64,
    pub scope: String,
    pub scope_id: String,
    pub period: String,
    pub metric: String,
    pub goal: i64,
}

impl Store {
    /// A campaign's all-time tally per agent (agent id, agent name, disposition, count).
    pub async fn campaign_totals(&self, campaign: i64) -> Result<Vec<(i64, String, String, i64)>> {
        const SQL: &str = "SELECT t.agent_id, a.name, t.disposition, t.n FROM outcome_totals t \
             JOIN agents a ON a.id = t.agent_id WHERE t.campaign_id = $1 ORDER BY t.agent_id";
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(campaign)
            .fetch_all(p)
            .await)?)
    }

    /// How many of a campaign's contacts are in each state.
    pub async fn contact_states(&self, campaign: i64) -> Result<BTreeMap<String, i64>> {
        const SQL: &str =
            "SELECT state, COUNT(*) FROM campaign_contacts WHERE campaign_id = $1 GROUP BY state";
        let rows: Vec<(String, i64)> = on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(campaign)
            .fetch_all(p)
            .await)?;
        Ok(rows.into_iter().collect())
    }

    /// Outcome counts in `[from_hour, to_hour)` epoch hours, grouped, for the filter. Reads the
    /// per-agent roll-up when the query is about agents or teams, else the per-campaign one.
    pub async fn tally_range(
        &self,
        group: GroupBy,
        filter: &Filter,
        from_hour: i64,
        to_hour: i64,
    ) -> Result<BTreeMap<i64, Tally>> {
        let by_agent =
            matches!(group, GroupBy::Agent) || filter.agent.is_some() || filter.team.is_some();
        let sql = if by_agent {
            let key = if matches!(group, GroupBy::Agent) {
                "h.agent_id"
            } else {
                "h.hour"
            };
            format!(
                "SELECT {key} AS k, h.disposition, SUM(h.n) AS n FROM agent_hourly h JOIN agents a ON a.id = h.agent_id \
                 WHERE h.hour >= $1 AND h.hour < $2 AND ($3 IS NULL OR h.agent_id = $3) AND ($4 IS NULL OR a.team = $4) \
                 GROUP BY {key}, h.disposition"
            )
        } else {
            let key = if matches!(group, GroupBy::Offer) {
                "h.offer_id"
            } else {
                "h.hour"
            };
            format!(
                "SELECT {key} AS k, h.disposition, SUM(h.n) AS n FROM campaign_hourly h \
                 WHERE h.hour >= $1 AND h.hour < $2 AND ($3 IS NULL OR h.campaign_id = $3) AND ($4 IS NULL OR $4 = '') \
                 GROUP BY {key}, h.disposition"
            )
        };
        let first = if by_agent {
            filter.agent
        } else {
            filter.campaign
        };
        let rows: Vec<(i64, String, i64)> = match &self.pool {
            super::Pool::Sqlite(p) => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(from_hour)
                .bind(to_hour)
                .bind(first)
                .bind(filter.team.as_deref())
                .fetch_all(p)
                .await
                .map_err(StoreError::from)?,
            // SUM of BIGINT is NUMERIC on PostgreSQL: cast back.
            super::Pool::Postgres(p) => sqlx::query_as(sqlx::AssertSqlSafe(
                sql.replace("SUM(h.n) AS n", "SUM(h.n)::BIGINT AS n"),
            ))
            .bind(from_hour)
            .bind(to_hour)
            .bind(first)
            .bind(filter.team.as_deref())
            .fetch_all(p)
            .await
            .map_err(StoreError::from)?,
        };
        let mut out: BTreeMap<i64, Tally> = BTreeMap::new();
        for (k, disposition, n) in rows {
            out.entry(k).or_default().add(&disposition, n);
        }
        Ok(out)
    }

    pub async fn target_create(
        &self,
        scope: &str,
        scope_id: &str,
        period: &str,
        metric: &str,
        goal: i64,
        now: i64,
    ) -> Result<TargetRow> {
        const SQL: &str = "INSERT INTO targets (scope, scope_id, period, metric, goal, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING id, scope, scope_id, period, metric, goal";
        on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(scope)
            .bind(scope_id)
            .bind(period)
            .bind(metric)
            .bind(goal)
            .bind(now)
            .fetch_one(p)
            .await)
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict(
                "a target for this scope, period and metric exists; PATCH it".into(),
            ),
            other => other,
        })
    }

    pub async fn target_list(
        &self,
        scope: Option<&str>,
        scope_id: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<TargetRow>> {
        const SQL: &str = "SELECT id, scope, scope_id, period, metric, goal FROM targets \
             WHERE id > $1 AND ($2 IS NULL OR scope = $2) AND ($3 IS NULL OR scope_id = $3) ORDER BY id LIMIT $4";
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(after)
            .bind(scope)
            .bind(scope_id)
            .bind(limit + 1)
            .fetch_all(p)
            .await)?)
    }

    pub async fn target_set_goal(&self, id: i64, goal: i64) -> Result<TargetRow> {
        const SQL: &str = "UPDATE targets SET goal = $2 WHERE id = $1 RETURNING id, scope, scope_id, period, metric, goal";
        on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(id)
            .bind(goal)
            .fetch_optional(p)
            .await)?
        .ok_or(StoreError::NotFound)
    }

    pub async fn target_delete(&self, id: i64) -> Result<bool> {
        Ok(on_pool!(&self.pool, |p| sqlx::query(
            "DELETE FROM targets WHERE id = $1"
        )
        .bind(id)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?
            == 1)
    }

    /// The targets of one scope whose period is one of `periods`.
    pub async fn targets_for(
        &self,
        scope: &str,
        scope_id: &str,
        periods: &[String],
    ) -> Result<Vec<TargetRow>> {
        const SQL: &str = "SELECT id, scope, scope_id, period, metric, goal FROM targets \
             WHERE scope = $1 AND scope_id = $2 AND period IN ($3, $4, $5) ORDER BY id";
        let p = |i: usize| periods.get(i).cloned().unwrap_or_default();
        Ok(on_pool!(&self.pool, |pool| sqlx::query_as(SQL)
            .bind(scope)
            .bind(scope_id)
            .bind(p(0))
            .bind(p(1))
            .bind(p(2))
            .fetch_all(pool)
            .await)?)
    }

    /// Queue depth by campaign and state, for the metrics endpoint (active campaigns only).
    pub async fn queue_depths(&self) -> Result<Vec<(i64, String, i64)>> {
        const SQL: &str = "SELECT e.campaign_id, e.state, COUNT(*) FROM campaign_contacts e \
             JOIN campaigns c ON c.id = e.campaign_id WHERE c.status IN ('active', 'paused') \
               AND e.state IN ('ready', 'leased', 'scheduled') GROUP BY e.campaign_id, e.state";
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .fetch_all(p)
            .await)?)
    }
}

/// One recorded outcome, for the CSV export.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportRow {
    pub id: i64,
    pub at: i64,
    pub contact_id: i64,
    pub phone: String,
    pub contact_name: Option<String>,
    pub agent_id: Option<i64>,
    pub agent_name: Option<String>,
    pub disposition: Option<String>,
    pub notes: Option<String>,
    pub script_version: Option<i64>,
}

impl Store {
    /// A campaign's outcomes in `[from, to)`, in id order after `after`.
    pub async fn outcomes_export(
        &self,
        campaign: i64,
        from: i64,
        to: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ExportRow>> {
        const SQL: &str = "SELECT h.id, h.at, h.contact_id, k.phone, k.name AS contact_name, h.agent_id, a.name AS agent_name, \
               h.disposition, h.notes, h.script_version FROM history h JOIN contacts k ON k.id = h.contact_id \
               LEFT JOIN agents a ON a.id = h.agent_id \
             WHERE h.campaign_id = $1 AND h.kind = 'outcome' AND h.at >= $2 AND h.at < $3 AND h.id > $4 ORDER BY h.id LIMIT $5";
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(campaign)
            .bind(from)
            .bind(to)
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }
}

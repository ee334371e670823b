//! A log of what background maintenance did, for operators and tests.

use serde::Serialize;

use crate::on_pool;

use super::{Result, Store};

/// One maintenance run.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MaintenanceRun {
    pub task: String,
    pub ran_at: i64,
    pub affected: i64,
}

impl Store {
    pub async fn maintenance_record(&self, task: &str, now: i64, affected: i64) -> Result<()> {
        const SQL: &str =
            "INSERT INTO maintenance_runs (task, ran_at, affected) VALUES ($1, $2, $3)";
        on_pool!(&self.pool, |p| sqlx::query(SQL)
            .bind(task)
            .bind(now)
            .bind(affected)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The most recent runs, newest first. Old entries are pruned by the sweep itself.
    pub async fn maintenance_recent(&self, limit: i64) -> Result<Vec<MaintenanceRun>> {
        const SQL: &str =
            "SELECT task, ran_at, affected FROM maintenance_runs ORDER BY id DESC LIMIT $1";
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }

    /// Keeps only runs newer than `before`.
    pub async fn maintenance_prune(&self, before: i64) -> Result<u64> {
        const SQL: &str = "DELETE FROM maintenance_runs WHERE ran_at < $1";
        Ok(on_pool!(&self.pool, |p| sqlx::query(SQL)
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?)
    }
}

//! A log of what background maintenance did, for operators and tests.

use serde::Serialize;

use crate::{on_pool, time::Instant};

use super::{Result, Store};

/// One maintenance run.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct MaintenanceRun {
    pub task: String,
    #[schema(value_type = i64)]
    pub ran_at: Instant,
    pub affected: i64,
}

const RECORD: &str = "INSERT INTO maintenance_runs (task, ran_at, affected) VALUES ($1, $2, $3)";
const RECENT: &str =
    "SELECT task, ran_at, affected FROM maintenance_runs ORDER BY id DESC LIMIT $1";
const PRUNE: &str = "DELETE FROM maintenance_runs WHERE ran_at < $1";

impl Store {
    pub async fn maintenance_record(&self, task: &str, now: Instant, affected: i64) -> Result<()> {
        on_pool!(&self.pool, |p| sqlx::query(RECORD)
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
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(RECENT)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }

    /// Keeps only runs newer than `before`.
    pub async fn maintenance_prune(&self, before: Instant) -> Result<u64> {
        Ok(on_pool!(&self.pool, |p| sqlx::query(PRUNE)
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?)
    }
}

//! The janitor: periodic maintenance. Prunes expired idempotency records, old maintenance
//! log entries, old events and skips that ran out. Idempotent, so a slot swept twice does no
//! harm.

use apalis::prelude::{BoxDynError, Data};
use serde::{Deserialize, Serialize};

use super::{Context, JobsDb};

/// One periodic sweep; `slot` is the time slot it was enqueued for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sweep {
    #[serde(default)]
    pub slot: i64,
}

pub async fn sweep(_job: Sweep, ctx: Data<Context>) -> Result<(), BoxDynError> {
    super::counted("janitor", run(_job, &ctx).await)
}

async fn run(_job: Sweep, ctx: &Context) -> Result<(), BoxDynError> {
    let pruned = ctx.service.prune_kept(ctx.service.now()).await?;
    let jobs = prune_finished_jobs(&ctx.jobs_db).await?;
    if jobs > 0 {
        tracing::debug!(jobs, "pruned finished background jobs");
    }
    if pruned > 0 {
        tracing::info!(pruned, "pruned expired idempotency records");
    }
    Ok(())
}

/// apalis never deletes finished jobs; keep an hour of them for inspection.
async fn prune_finished_jobs(db: &JobsDb) -> Result<u64, sqlx::Error> {
    let cutoff = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64
        - 3600;
    Ok(match db {
        JobsDb::Sqlite(p) => sqlx::query(
            "DELETE FROM Jobs WHERE status IN ('Done', 'Killed') AND done_at IS NOT NULL AND done_at < $1",
        )
        .bind(cutoff)
        .execute(p)
        .await?
        .rows_affected(),
        JobsDb::Postgres(p) => sqlx::query(
            "DELETE FROM apalis.jobs WHERE status IN ('Done', 'Killed') AND done_at IS NOT NULL \
             AND done_at < to_timestamp($1)",
        )
        .bind(cutoff as f64)
        .execute(p)
        .await?
        .rows_affected(),
    })
}

//! The janitor: periodic maintenance. Prunes expired idempotency records and old maintenance
//! log entries. Idempotent, so a slot swept twice does no harm.

use apalis::prelude::{BoxDynError, Data};
use serde::{Deserialize, Serialize};

use super::Context;

/// One periodic sweep; `slot` is the time slot it was enqueued for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sweep {
    #[serde(default)]
    pub slot: i64,
}

/// How long maintenance log entries are kept.
const KEEP_LOG_MS: i64 = 7 * 24 * 3_600_000;

pub async fn sweep(_job: Sweep, ctx: Data<Context>) -> Result<(), BoxDynError> {
    let now = ctx.clock.now_ms();
    let pruned = ctx.store.idempotency_prune(now).await?;
    ctx.store.maintenance_prune(now - KEEP_LOG_MS).await?;
    ctx.store
        .maintenance_record("prune_idempotency", now, pruned as i64)
        .await?;
    if pruned > 0 {
        tracing::info!(pruned, "pruned expired idempotency records");
    }
    Ok(())
}

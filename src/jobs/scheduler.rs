//! The scheduler: every second, on whichever process takes the tick, runs the service's tick
//! ([`Service::tick`]: expired leases, due retries and callbacks, schedules, recurrences,
//! orphaned imports), and starts this process's importer afresh when imports wait with no
//! live worker while it reads none.
//!
//! [`Service::tick`]: crate::service::Service::tick

use apalis::prelude::{BoxDynError, Data};
use serde::{Deserialize, Serialize};

use super::Context;

/// One scheduler run for a time slot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tick {
    #[serde(default)]
    pub slot: i64,
}

/// A tick this far behind its time slot is skipped: a later one does the same work. After a
/// stall the backlog is not replayed all at once.
const STALE_SECS: i64 = 5;

pub async fn tick(tick: Tick, ctx: Data<Context>) -> Result<(), BoxDynError> {
    ctx.progress.beat();
    let now_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    if tick.slot > 0 && tick.slot < now_secs - STALE_SECS {
        return Ok(());
    }
    let beat = || ctx.progress.beat();
    let result = ctx.service.tick(&beat).await;
    ctx.progress.beat();
    if let Ok(ticked) = &result
        && !ticked.requeued.is_empty()
        && ctx.importer.idle()
    {
        // Work nobody reads while this importer reads nothing: its fetching may have hung.
        ctx.importer.restart();
    }
    super::counted("scheduler", result.map(|_| ()).map_err(Into::into))
}

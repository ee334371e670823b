//! The scheduler: every second, on whichever process takes the tick, acts on what has come
//! due: expired leases, retries and callbacks whose time has come, campaigns whose
//! `start_at` or `end_at` has passed, recurrences, and imports left without a worker. Every step is a compare-and-set, so a due time is acted on once however
//! many processes run.
//!
//! Missed due times: a process that starts after every process was down acts at once on what
//! came due meanwhile: a campaign whose `start_at` passed becomes active (or completed if its
//! `end_at` passed too), and a recurrence whose due times passed fires once (not once per
//! missed time), then waits for its next due time after now.

use apalis::prelude::{BoxDynError, Data};
use serde::{Deserialize, Serialize};

use super::Context;
use crate::clock::from_ms;

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
    let result = run(tick, &ctx).await;
    ctx.progress.beat();
    super::counted("scheduler", result)
}

/// Runs one scheduler tick now, as the background scheduler does each second (tests call this
/// through `Running::tick` instead of waiting for a real tick).
pub async fn run_once(ctx: &Context) -> Result<(), BoxDynError> {
    run(Tick { slot: 0 }, ctx).await
}

async fn run(_tick: Tick, ctx: &Context) -> Result<(), BoxDynError> {
    let now = ctx.clock.now_ms();
    ctx.store.reap_expired(now).await?;
    ctx.progress.beat();
    ctx.store.promote_due(now).await?;
    ctx.progress.beat();
    for (id, status) in ctx.store.campaigns_apply_schedule(now).await? {
        tracing::info!(campaign = id, status = %status, "campaign schedule applied");
    }
    for (id, due) in ctx.store.campaigns_recurrence_due(now).await? {
        let campaign = ctx.store.campaign_get(id).await?;
        let next = campaign
            .def()
            .recurrence
            .and_then(|r| r.next_after(from_ms(now.max(due)), campaign.tz()))
            .map(|t| t.timestamp_millis());
        ctx.progress.beat();
        if let Some(reopened) = ctx.store.campaign_recur(id, due, next, now).await? {
            tracing::info!(
                campaign = id,
                reopened,
                "recurrence re-opened finished contacts"
            );
        }
    }
    let (orphaned, abandoned) = ctx
        .store
        .imports_orphaned(now, ctx.config.import_stale.as_millis())
        .await?;
    for id in abandoned {
        ctx.store
            .import_finish(id, Some("the upload did not finish"), now)
            .await?;
    }
    if let Some(jobs) = ctx.jobs.get() {
        if !orphaned.is_empty() && ctx.importer.idle() {
            // Work nobody reads while this importer reads nothing: its fetching may have hung.
            ctx.importer.restart();
        }
        for id in orphaned {
            tracing::warn!(
                import = id,
                "import has no live worker; enqueueing it again"
            );
            jobs.push_import(id).await?;
        }
    }
    Ok(())
}

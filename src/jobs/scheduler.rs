//! The scheduler: every second, on every process, runs the service's tick ([`Service::tick`]:
//! expired leases, due retries and callbacks, schedules, recurrences, orphaned imports), and
//! starts this process's importer afresh when imports wait with no live worker while it reads
//! none.
//!
//! It runs on a task of its own, not as a queued job: a queue's worker polls, backs off and
//! was seen to stall under CPU load (the watchdog restarted it 49 times in 35 minutes, each
//! time at least 15 s without lease reaping or schedules). Every step of the tick is a
//! compare-and-set, so several processes ticking each second act on each due time once.
//!
//! [`Service::tick`]: crate::service::Service::tick

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Context;

/// How often the scheduler runs.
pub const TICK: Duration = Duration::from_secs(1);

/// Ticks every [`TICK`] until `shutdown`; a tick that comes late is skipped, not replayed.
pub(super) async fn run(ctx: Context, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        ctx.progress.beat();
        let beat = || ctx.progress.beat();
        let result = ctx.service.tick(&beat).await;
        ctx.progress.beat();
        metrics::histogram!("outcall_scheduler_tick_gap_seconds")
            .record(last.elapsed().as_secs_f64());
        last = std::time::Instant::now();
        if let Ok(ticked) = &result
            && !ticked.requeued.is_empty()
            && ctx.importer.idle()
        {
            // Work nobody reads while this importer reads nothing: its fetching may have hung.
            ctx.importer.restart();
        }
        let _ = super::counted("scheduler", result.map(|_| ()).map_err(Into::into));
    }
}

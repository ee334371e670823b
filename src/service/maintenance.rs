//! Pruning what is kept only for a while: idempotency records past their time, the event log
//! past its replay window, agents' skips past their time, delivered webhook events past
//! `OUTCALL_WEBHOOK_KEEP`, the maintenance log itself.

use crate::time::{DAY_MS, Instant};

use super::{Result, Service};

/// How long maintenance log entries are kept.
const KEEP_LOG_MS: i64 = 7 * DAY_MS;

impl Service {
    /// Prunes everything kept only for a while; the count of idempotency records pruned.
    #[tracing::instrument(skip_all, err)]
    pub async fn prune_kept(&self, now: Instant) -> Result<u64> {
        let pruned = self.store.idempotency_prune(now).await?;
        self.store
            .maintenance_prune(now.plus_millis(-KEEP_LOG_MS))
            .await?;
        // Last-Event-ID replays reach back a day.
        self.store.events_prune(now.plus_millis(-DAY_MS)).await?;
        self.store.skips_prune(now).await?;
        let delivered = self.deliveries_prune().await?;
        if delivered > 0 {
            tracing::info!(delivered, "pruned delivered webhook events");
        }
        self.store
            .maintenance_record("prune_idempotency", now, pruned as i64)
            .await?;
        Ok(pruned)
    }
}

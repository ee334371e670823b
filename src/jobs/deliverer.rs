//! The deliverer: on every process, sends the webhook deliveries that are due
//! ([`Service::deliver_due`]) — at once after a change on this process wrote some, otherwise
//! every `OUTCALL_WEBHOOK_POLL_MS`. Claims are compare-and-set (`SKIP LOCKED` on PostgreSQL),
//! so several processes never send one delivery's attempt twice. It runs on a task of its own,
//! apart from the hand-out and the scheduler: a slow receiver holds up only its deliveries.
//!
//! [`Service::deliver_due`]: crate::service::Service::deliver_due

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::service::Service;

/// Delivers until `shutdown`; a delivery in flight then is abandoned, and its lease running out
/// makes it due again (at least once).
pub(super) async fn run(service: Service, shutdown: CancellationToken) {
    let poll = Duration::from_millis(service.config.webhook_poll_ms.max(10));
    loop {
        let round = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = service.deliver_due() => r,
        };
        let more = match round {
            Ok(n) => Service::full_batch(n),
            Err(e) => {
                let _ = super::counted::<()>("deliverer", Err(e.into()));
                false
            }
        };
        if more {
            continue;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(poll) => {}
            _ = service.deliveries_wake.notified() => {}
        }
    }
}

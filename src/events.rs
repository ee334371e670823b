//! The live event hub: one pump per process reads new rows of the `events` table and
//! broadcasts them to every SSE client of this process. On PostgreSQL a `LISTEN` connection
//! wakes the pump the moment any process commits an event (`pg_notify` in the same
//! transaction); otherwise, and as a fallback, it looks once a second.
//!
//! A slow client never slows anyone: the broadcast never waits, and a client that falls behind
//! re-reads what it missed from the table.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use crate::store::{Pool, Store, events::EventRow};

/// The Postgres channel events are announced on.
pub const CHANNEL: &str = "outcall_events";
/// How far back (in ids) the pump looks again, for events that committed out of id order.
const LOOKBACK: i64 = 256;
/// How many delivered ids the pump remembers, to never send one twice.
const REMEMBER: usize = 8_192;

#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Arc<EventRow>>,
    wake: Arc<Notify>,
    /// Cancelled at shutdown: open streams end so the server can stop.
    pub shutdown: CancellationToken,
}

impl EventHub {
    /// Starts the pump (and, on PostgreSQL, the listener) until `shutdown`.
    pub async fn start(store: Store, shutdown: CancellationToken) -> anyhow::Result<Self> {
        let (tx, _) = broadcast::channel(1_024);
        let hub = Self {
            tx,
            wake: Arc::new(Notify::new()),
            shutdown: shutdown.clone(),
        };
        let mut watermark = store.events_last_id().await?;
        if let Pool::Postgres(pool) = &store.pool {
            let pool = pool.clone();
            let wake = hub.wake.clone();
            let stop = shutdown.clone();
            tokio::spawn(async move {
                loop {
                    let listened = async {
                        let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                        listener.listen(CHANNEL).await?;
                        loop {
                            listener.recv().await?;
                            wake.notify_one();
                        }
                        #[allow(unreachable_code)]
                        Ok::<(), sqlx::Error>(())
                    };
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        result = listened => {
                            if let Err(e) = result {
                                tracing::warn!(error = %e, "event listener lost its connection; reconnecting");
                            }
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            });
        }
        let pump = hub.clone();
        tokio::spawn(async move {
            let mut seen: VecDeque<i64> = VecDeque::new();
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = pump.wake.notified() => {},
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {},
                }
                match store.events_after(watermark - LOOKBACK, 1_000).await {
                    Ok(rows) => {
                        for row in rows {
                            if row.id <= watermark - LOOKBACK || seen.contains(&row.id) {
                                continue;
                            }
                            watermark = watermark.max(row.id);
                            seen.push_back(row.id);
                            if seen.len() > REMEMBER {
                                seen.pop_front();
                            }
                            let _ = pump.tx.send(Arc::new(row));
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "event pump could not read events"),
                }
            }
        });
        Ok(hub)
    }

    /// Tells the pump that this process just committed an event.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EventRow>> {
        self.tx.subscribe()
    }
}

//! The live event hub: one pump per process reads new rows of the `events` table and
//! broadcasts them to every SSE client of this process. On PostgreSQL a `LISTEN` connection
//! wakes the pump the moment any process commits an event (`pg_notify` in the same
//! transaction); otherwise, and as a fallback, it looks once a second.
//!
//! A slow client never slows anyone: the broadcast never waits, and a client that falls behind
//! re-reads what it missed from the table (`feed.rs`, which also sends `reset` when that is too
//! much).

use std::{
    collections::{HashSet, VecDeque},
    sync::Arc,
    time::Duration,
};

use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config,
    ids::EventId,
    store::{
        Pool, Store,
        events::{CHANNEL, EventRow},
    },
};

/// How far back (in ids) the pump looks again on PostgreSQL, for events that committed out of
/// id order. SQLite commits one writer at a time, so its ids commit in order.
const LOOKBACK: i64 = 256;
/// How many rows one read of the table takes at most.
const PAGE: i64 = 1_000;
/// The least time between two reads of the table: under load, the pokes of many outcomes are
/// served by one read instead of one read each.
const COALESCE: Duration = Duration::from_millis(50);
/// How many delivered ids the pump remembers, to never send one twice.
const REMEMBER: usize = 8_192;

/// What the streams of one process may take.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    /// Most events one replay sends before it is a reset instead.
    pub replay: usize,
}

impl StreamLimits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            replay: config.event_replay_limit.max(1),
        }
    }
}

#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Arc<EventRow>>,
    wake: Arc<Notify>,
    pub limits: StreamLimits,
    /// Cancelled at shutdown: open streams end so the server can stop.
    pub shutdown: CancellationToken,
}

impl EventHub {
    /// Starts the pump (and, on PostgreSQL, the listener) until `shutdown`.
    pub async fn start(
        store: Store,
        limits: StreamLimits,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let (tx, _) = broadcast::channel(1_024);
        let hub = Self {
            tx,
            wake: Arc::new(Notify::new()),
            limits,
            shutdown: shutdown.clone(),
        };
        let mut watermark = store.events_last_id().await?.get();
        if let Pool::Postgres(pool) = &store.pool {
            tokio::spawn(listen(pool.clone(), hub.wake.clone(), shutdown.clone()));
        }
        let lookback = match store.pool {
            Pool::Postgres(_) => LOOKBACK,
            Pool::Sqlite(_) => 0,
        };
        let pump = hub.clone();
        tokio::spawn(async move {
            let mut seen_order: VecDeque<i64> = VecDeque::new();
            let mut seen: HashSet<i64> = HashSet::new();
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = pump.wake.notified() => {},
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {},
                }
                tokio::time::sleep(COALESCE).await;
                match store
                    .events_after(EventId(watermark - lookback), PAGE)
                    .await
                {
                    Ok(rows) => {
                        if rows.len() as i64 == PAGE {
                            // More may be waiting: read again without waiting for a poke.
                            pump.wake.notify_one();
                        }
                        for row in rows {
                            let id = row.id.get();
                            if id <= watermark - lookback || !seen.insert(id) {
                                continue;
                            }
                            watermark = watermark.max(id);
                            seen_order.push_back(id);
                            if seen_order.len() > REMEMBER
                                && let Some(old) = seen_order.pop_front()
                            {
                                seen.remove(&old);
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

    /// Tells the pump that this process (or, by `NOTIFY`, another) just committed an event.
    pub fn poke(&self) {
        self.wake.notify_one();
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EventRow>> {
        self.tx.subscribe()
    }
}

/// Wakes the pump whenever any process commits an event (PostgreSQL's `LISTEN`), reconnecting
/// after a lost connection, until `stop`.
async fn listen(pool: sqlx::PgPool, wake: Arc<Notify>, stop: CancellationToken) {
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
}

//! The live event hub: one pump per process reads new rows of the `events` table and
//! broadcasts them to every SSE client of this process. On PostgreSQL a `LISTEN` connection
//! wakes the pump the moment any process commits an event (`pg_notify` in the same
//! transaction); otherwise, and as a fallback, it looks once a second.
//!
//! A slow client never slows anyone: the broadcast never waits, and a client that falls behind
//! re-reads what it missed from the table (`feed.rs`, which also sends `reset` when that is too
//! much).
//!
//! The hub also counts the open streams against their caps, per token and for the process
//! ([`EventHub::admit`]); a stream's place is given back when the stream is dropped, which is
//! when its client goes away.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config,
    ids::{EventId, TokenId},
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
    /// Open streams per token.
    pub per_token: usize,
    /// Open streams in all.
    pub per_process: usize,
    /// Most events one replay sends before it is a reset instead.
    pub replay: usize,
    /// How often an open stream re-checks its token.
    pub recheck: Duration,
}

impl StreamLimits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            per_token: config.event_streams_per_token,
            per_process: config.event_streams_per_process,
            replay: config.event_replay_limit.max(1),
            // A zero period would re-check without pause.
            recheck: config.event_recheck.std().max(Duration::from_secs(1)),
        }
    }
}

#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Arc<EventRow>>,
    wake: Arc<Notify>,
    streams: Arc<Streams>,
    pub limits: StreamLimits,
    /// Cancelled at shutdown: open streams end so the server can stop.
    pub shutdown: CancellationToken,
}

impl EventHub {
    /// Starts the pump (and, on PostgreSQL, the listener) until `shutdown`.
    #[tracing::instrument(skip_all)]
    pub async fn start(
        store: Store,
        limits: StreamLimits,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let (tx, _) = broadcast::channel(1_024);
        let hub = Self {
            tx,
            wake: Arc::new(Notify::new()),
            streams: Arc::default(),
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

    /// A place for one more open stream of `token`, or why there is none: the token holds its
    /// cap of streams, or the process does. The place is given back when the slot is dropped.
    pub fn admit(&self, token: TokenId) -> Result<StreamSlot, Full> {
        let mut open = self.streams.lock();
        // The token's own cap first: a client over it is told so (429), whatever the process.
        let mine = open.by_token.get(&token).copied().unwrap_or(0);
        if mine >= self.limits.per_token {
            metrics::counter!("outcall_event_streams_refused_total", "cap" => "token").increment(1);
            return Err(Full::Token(self.limits.per_token));
        }
        if open.total >= self.limits.per_process {
            metrics::counter!("outcall_event_streams_refused_total", "cap" => "process")
                .increment(1);
            return Err(Full::Process(self.limits.per_process));
        }
        *open.by_token.entry(token).or_default() += 1;
        open.total += 1;
        metrics::gauge!("outcall_event_streams").set(open.total as f64);
        Ok(StreamSlot {
            streams: self.streams.clone(),
            token,
        })
    }
}

/// Why a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Full {
    /// The token already holds this many open streams in this process, its cap.
    #[error("this token already holds {0} open event streams, the most it may")]
    Token(usize),
    /// The process already serves this many open streams, its cap.
    #[error("this server already serves {0} event streams, the most it may")]
    Process(usize),
}

/// The open streams of this process, by token.
#[derive(Default)]
struct Streams(Mutex<Open>);

#[derive(Default)]
struct Open {
    total: usize,
    by_token: HashMap<TokenId, usize>,
}

impl Streams {
    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        // The counts stay consistent whatever panicked while holding the lock: each change is
        // one statement.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One open stream's place among the caps; dropping it (the stream ends or its client goes
/// away) gives the place back.
pub struct StreamSlot {
    streams: Arc<Streams>,
    token: TokenId,
}

impl StreamSlot {
    /// The token the stream was opened with.
    pub fn token(&self) -> TokenId {
        self.token
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.streams.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(mine) = open.by_token.get_mut(&self.token) {
            *mine -= 1;
            if *mine == 0 {
                open.by_token.remove(&self.token);
            }
        }
        metrics::gauge!("outcall_event_streams").set(open.total as f64);
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

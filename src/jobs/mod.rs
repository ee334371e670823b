//! Background work on apalis: durable queues in the database (apalis-sqlite in a sibling
//! `.jobs.db` file, apalis-postgres in schema `apalis` of the application database), the workers
//! that drain them, and the tickers that enqueue periodic work.
//!
//! Periodic work is enqueued by a ticker on every process with an idempotency key per time
//! slot, and every periodic job is itself idempotent, so several processes on one PostgreSQL
//! never do a slot's work twice over.

use std::{sync::Arc, time::Duration};

use apalis::prelude::{BackendExt, Monitor, TaskBuilder, TaskSink, WorkerBuilder};
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use tokio::{sync::Mutex, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    clock::SharedClock,
    config::Config,
    store::{Pool, Store},
};

pub mod janitor;

pub use janitor::Sweep;

/// How often idle workers look for new work.
const POLL: Duration = Duration::from_millis(200);

/// The queues of one backend.
#[derive(Clone)]
enum Queues {
    Sqlite { sweep: SqliteStorage<Sweep> },
    Postgres { sweep: PostgresStorage<Sweep> },
}

/// Handle to the background machinery; cheap to clone into handlers.
#[derive(Clone)]
pub struct Jobs {
    queues: Queues,
    monitor: Arc<Mutex<Option<JoinHandle<()>>>>,
    shutdown: CancellationToken,
}

/// What a job handler needs from the application.
#[derive(Clone)]
pub struct Context {
    pub store: Store,
    pub clock: SharedClock,
}

fn unique(name: &str) -> String {
    use rand::RngCore;
    format!("{name}-{:08x}", rand::rng().next_u32())
}

impl Jobs {
    /// Opens the queues, starts the workers and tickers; they stop when `shutdown` is cancelled.
    pub async fn start(
        config: &Config,
        store: Store,
        clock: SharedClock,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let ctx = Context {
            store: store.clone(),
            clock,
        };
        let queues = match &store.pool {
            Pool::Sqlite(_) => {
                // apalis keeps its own file: its migrations table and PRAGMAs must not touch ours.
                let url = jobs_sqlite_url(&config.database_url);
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(crate::store::sqlite_options(&url)?)
                    .await?;
                SqliteStorage::migrations().run(&pool).await?;
                let sweep = SqliteStorage::new(&pool)
                    .with_config(apalis_sqlite::Config::default().queue("outcall.sweep"));
                Queues::Sqlite { sweep }
            }
            Pool::Postgres(pool) => {
                PostgresStorage::setup(pool).await?;
                let sweep = PostgresStorage::new(pool)
                    .with_config(apalis_postgres::Config::default().queue("outcall.sweep"));
                Queues::Postgres { sweep }
            }
        };

        let monitor = match &queues {
            Queues::Sqlite { sweep } => {
                let sweep = sweep.clone();
                let ctx = ctx.clone();
                Monitor::new().register(move |_| {
                    WorkerBuilder::new(unique("janitor"))
                        .backend(sweep.clone().poll_with_interval(POLL))
                        .data(ctx.clone())
                        .build(janitor::sweep)
                })
            }
            Queues::Postgres { sweep } => {
                let sweep = sweep.clone();
                let ctx = ctx.clone();
                Monitor::new().register(move |_| {
                    WorkerBuilder::new(unique("janitor"))
                        .backend(sweep.clone().poll_with_interval(POLL))
                        .data(ctx.clone())
                        .build(janitor::sweep)
                })
            }
        };
        let stop = shutdown.clone();
        let monitor_task = tokio::spawn(async move {
            let signal = async move {
                stop.cancelled().await;
                Ok::<(), std::io::Error>(())
            };
            if let Err(error) = monitor.run_with_signal(signal).await {
                tracing::error!(error = %error, "background workers stopped with an error");
            }
        });

        let jobs = Self {
            queues,
            monitor: Arc::new(Mutex::new(Some(monitor_task))),
            shutdown,
        };
        jobs.spawn_ticker(config.sweep_every.std().max(Duration::from_secs(1)));
        Ok(jobs)
    }

    /// Enqueues a sweep for each period, keyed by its slot so several processes enqueue it once.
    fn spawn_ticker(&self, every: Duration) {
        let jobs = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = jobs.shutdown.cancelled() => break,
                    _ = ticks.tick() => {
                        let slot = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap_or_default()
                            .as_millis() / every.as_millis().max(1);
                        jobs.push_sweep(slot as i64).await;
                    }
                }
            }
        });
    }

    async fn push_sweep(&self, slot: i64) {
        let key = format!("sweep-{slot}");
        let task = TaskBuilder::new(Sweep { slot })
            .idempotency_key(&key)
            .max_attempts(3)
            .build();
        let pushed = match &self.queues {
            Queues::Sqlite { sweep } => sweep
                .clone()
                .push_task(task)
                .await
                .map_err(|e| e.to_string()),
            Queues::Postgres { sweep } => sweep
                .clone()
                .push_task(task)
                .await
                .map_err(|e| e.to_string()),
        };
        // On PostgreSQL another process may have enqueued this slot already: that is the point.
        if let Err(error) = pushed {
            tracing::debug!(error = %error, slot, "sweep not enqueued (already enqueued elsewhere?)");
        }
    }

    /// Waits until the workers have finished their in-flight jobs after shutdown.
    pub async fn stopped(&self) {
        self.shutdown.cancelled().await;
        if let Some(task) = self.monitor.lock().await.take() {
            let _ = task.await;
        }
    }
}

/// The apalis SQLite file that sits beside the application's: `outcall.db` → `outcall.jobs.db`.
pub fn jobs_sqlite_url(url: &str) -> String {
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (url, None),
    };
    let base = path.strip_suffix(".db").unwrap_or(path);
    let mut out = format!("{base}.jobs.db");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

//! Background work on apalis: durable queues in the database (apalis-sqlite in a sibling
//! `.jobs.db` file, apalis-postgres in schema `apalis` of the application database), the workers
//! that drain them, and the tickers that enqueue periodic work.
//!
//! Periodic work is enqueued by a ticker on every process with an idempotency key per time
//! slot, and every periodic job is itself idempotent (compare-and-set updates), so several
//! processes on one PostgreSQL never act twice on the same due time.

use std::{sync::Arc, time::Duration};

use apalis::prelude::{BackendExt, Monitor, TaskBuilder, TaskSink, WorkerBuilder};
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use serde::{Serialize, de::DeserializeOwned};
use tokio::{sync::Mutex, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    clock::SharedClock,
    config::Config,
    contacts::Region,
    store::{Pool, Store, StoreError},
};

pub mod importer;
pub mod janitor;
pub mod scheduler;

pub use importer::ImportJob;
pub use janitor::Sweep;
pub use scheduler::Tick;

/// How often idle workers look for new work.
const POLL: Duration = Duration::from_millis(200);
/// How often the scheduler runs (schedules, retries coming due, expired leases).
const TICK: Duration = Duration::from_secs(1);
/// How long the scheduler may go without making progress before its workers are started
/// afresh. A tick takes milliseconds; one that has not moved for this long is stuck.
const STALL: Duration = Duration::from_secs(15);
/// How often the watchdog looks.
const WATCH: Duration = Duration::from_secs(2);
/// How long one enqueue may take before the ticker gives up on that slot.
const PUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// One queue on whichever backend is configured.
#[derive(Clone)]
enum Queue<T> {
    Sqlite(SqliteStorage<T>),
    Postgres(PostgresStorage<T>),
}

impl<T> Queue<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    fn open(backend: &Backend, name: &str) -> Self {
        match backend {
            Backend::Sqlite(pool) => Queue::Sqlite(
                SqliteStorage::new(pool).with_config(apalis_sqlite::Config::default().queue(name)),
            ),
            Backend::Postgres(pool) => Queue::Postgres(
                PostgresStorage::new(pool)
                    .with_config(apalis_postgres::Config::default().queue(name)),
            ),
        }
    }

    async fn push(
        &self,
        job: T,
        key: Option<String>,
        max_attempts: usize,
    ) -> Result<(), PushError> {
        use apalis::prelude::TaskSinkError;
        let mut task = TaskBuilder::new(job).max_attempts(max_attempts);
        if let Some(key) = key {
            task = task.idempotency_key(key);
        }
        let task = task.build();
        match self {
            Queue::Sqlite(q) => q.clone().push_task(task).await.map_err(|e| match e {
                TaskSinkError::PushError(apalis_sqlite::Error::Database(e)) => e.into(),
                other => PushError::Other(other.to_string()),
            }),
            Queue::Postgres(q) => q.clone().push_task(task).await.map_err(|e| match e {
                TaskSinkError::PushError(apalis_postgres::Error::Database(e)) => e.into(),
                other => PushError::Other(other.to_string()),
            }),
        }
    }
}

/// Why a job could not be enqueued.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The queue's database refused or could not be reached; [`StoreError::Unavailable`]
    /// when it is out of reach, so the HTTP edge answers 503 rather than 500.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else (the job could not be encoded).
    #[error("{0}")]
    Other(String),
}

impl From<sqlx::Error> for PushError {
    fn from(error: sqlx::Error) -> Self {
        PushError::Store(error.into())
    }
}

enum Backend {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Handle to the background machinery; cheap to clone into handlers.
#[derive(Clone)]
pub struct Jobs {
    sweeps: Queue<Sweep>,
    ticks: Queue<Tick>,
    imports: Queue<ImportJob>,
    monitor: Arc<Mutex<Option<JoinHandle<()>>>>,
    shutdown: CancellationToken,
}

/// What a job handler needs from the application.
#[derive(Clone)]
pub struct Context {
    pub store: Store,
    pub clock: SharedClock,
    pub region: Region,
    pub jobs_db: JobsDb,
    /// Set once the handle exists, so jobs can enqueue further jobs.
    pub jobs: Arc<std::sync::OnceLock<Jobs>>,
    pub config: Arc<Config>,
    /// When the scheduler last made progress, for the watchdog.
    pub progress: Progress,
    /// This process's importer, as the scheduler sees it.
    pub importer: ImporterWatch,
}

/// How many imports this process's importer is reading, and a way to start it afresh: the
/// scheduler does when imports wait with no live worker while this importer reads none (its
/// fetching may have hung, as the scheduler's has been seen to).
#[derive(Clone, Default)]
pub struct ImporterWatch {
    reading: Arc<std::sync::atomic::AtomicUsize>,
    restart: Arc<tokio::sync::Notify>,
}

/// Counts one import as being read until dropped.
pub struct Reading(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Reading {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl ImporterWatch {
    /// Marks an import as being read by this process until the guard is dropped.
    pub fn reading(&self) -> Reading {
        self.reading
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Reading(self.reading.clone())
    }

    /// Whether this process reads no import now.
    pub fn idle(&self) -> bool {
        self.reading.load(std::sync::atomic::Ordering::SeqCst) == 0
    }

    /// Asks for the importer to be started afresh.
    pub fn restart(&self) {
        self.restart.notify_one();
    }
}

/// When background work last moved. The scheduler beats at every step of every tick; the
/// watchdog restarts the workers when it has not beaten for [`STALL`].
#[derive(Clone)]
pub struct Progress(Arc<std::sync::Mutex<std::time::Instant>>);

impl Progress {
    fn new() -> Self {
        Self(Arc::new(std::sync::Mutex::new(std::time::Instant::now())))
    }

    /// Records that work moved just now.
    pub fn beat(&self) {
        if let Ok(mut at) = self.0.lock() {
            *at = std::time::Instant::now();
        }
    }

    fn idle(&self) -> Duration {
        self.0.lock().map(|at| at.elapsed()).unwrap_or_default()
    }
}

/// Where apalis keeps its jobs, for housekeeping.
#[derive(Clone)]
pub enum JobsDb {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

fn unique(name: &str) -> String {
    format!("{name}-{:08x}", rand::random::<u32>())
}

/// Registers a worker for `queue` running `handler`, on either backend.
macro_rules! register {
    ($monitor:expr, $queue:expr, $name:literal, $ctx:expr, $handler:path) => {{
        let ctx = $ctx.clone();
        match $queue.clone() {
            Queue::Sqlite(q) => $monitor.register(move |_| {
                WorkerBuilder::new(unique($name))
                    .backend(q.clone().poll_with_interval(POLL))
                    .data(ctx.clone())
                    .build($handler)
            }),
            Queue::Postgres(q) => $monitor.register(move |_| {
                WorkerBuilder::new(unique($name))
                    .backend(q.clone().poll_with_interval(POLL))
                    .data(ctx.clone())
                    .build($handler)
            }),
        }
    }};
}

impl Jobs {
    /// Opens the queues, starts the workers and tickers; they stop when `shutdown` is cancelled.
    pub async fn start(
        config: &Config,
        store: Store,
        clock: SharedClock,
        shutdown: CancellationToken,
    ) -> anyhow::Result<(Self, Context)> {
        let backend = match &store.pool {
            Pool::Sqlite(_) => {
                // apalis keeps its own file: its migrations table and PRAGMAs must not touch ours.
                let url = jobs_sqlite_url(&config.database_url);
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(crate::store::sqlite_options(&url)?)
                    .await?;
                SqliteStorage::migrations().run(&pool).await?;
                Backend::Sqlite(pool)
            }
            Pool::Postgres(pool) => {
                PostgresStorage::setup(pool).await?;
                Backend::Postgres(pool.clone())
            }
        };
        let region = Region::parse(&config.default_region).map_err(anyhow::Error::msg)?;
        let ctx = Context {
            store,
            clock,
            region,
            jobs_db: match &backend {
                Backend::Sqlite(p) => JobsDb::Sqlite(p.clone()),
                Backend::Postgres(p) => JobsDb::Postgres(p.clone()),
            },
            jobs: Arc::new(std::sync::OnceLock::new()),
            config: Arc::new(config.clone()),
            progress: Progress::new(),
            importer: ImporterWatch::default(),
        };
        let sweeps: Queue<Sweep> = Queue::open(&backend, "outcall.sweep");
        let ticks: Queue<Tick> = Queue::open(&backend, "outcall.tick");
        let imports: Queue<ImportJob> = Queue::open(&backend, "outcall.import");

        let supervisor = tokio::spawn(supervise(
            sweeps.clone(),
            ticks.clone(),
            imports.clone(),
            ctx.clone(),
            shutdown.clone(),
        ));

        let jobs = Self {
            sweeps,
            ticks,
            imports,
            monitor: Arc::new(Mutex::new(Some(supervisor))),
            shutdown,
        };
        let _ = ctx.jobs.set(jobs.clone());
        jobs.spawn_ticker(config.sweep_every.std().max(Duration::from_secs(1)), |jobs, slot| async move {
            if let Err(e) = jobs.sweeps.push(Sweep { slot }, Some(format!("sweep-{slot}")), 3).await {
                tracing::debug!(error = %e, slot, "sweep not enqueued (already enqueued elsewhere?)");
            }
        });
        jobs.spawn_ticker(TICK, |jobs, slot| async move {
            if let Err(e) = jobs.ticks.push(Tick { slot }, Some(format!("tick-{slot}")), 1).await {
                tracing::debug!(error = %e, slot, "tick not enqueued (already enqueued elsewhere?)");
            }
        });
        Ok((jobs, ctx))
    }

    /// Calls `push` once per period with the period's slot number (the same on every process).
    fn spawn_ticker<F, Fut>(&self, every: Duration, push: F)
    where
        F: Fn(Jobs, i64) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
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
                        // A stuck enqueue must not hold up the next slots (nor a connection).
                        if tokio::time::timeout(PUSH_TIMEOUT, push(jobs.clone(), slot as i64)).await.is_err() {
                            tracing::warn!(slot, "enqueueing periodic work timed out");
                        }
                    }
                }
            }
        });
    }

    /// Enqueues the reading of a stored upload.
    pub async fn push_import(&self, import_id: i64) -> Result<(), PushError> {
        self.imports.push(ImportJob { import_id }, None, 5).await
    }

    /// Waits until the workers have finished their in-flight jobs after shutdown.
    pub async fn stopped(&self) {
        self.shutdown.cancelled().await;
        if let Some(task) = self.monitor.lock().await.take() {
            let _ = task.await;
        }
    }
}

/// Runs the workers until shutdown, and starts them afresh whenever they stop making progress.
///
/// A worker ends on any backend error (a lost connection, a database restart); apalis starts
/// it again at once, and the pool's acquire timeout paces the retries while the database is
/// away. A worker can also hang without an error (seen under load right after a restart: the
/// scheduler fetched a tick and never finished it, or never fetched one), which would stop
/// lease reaping and schedules for good; the watchdog drops the janitor's and the scheduler's
/// workers, with whatever they had in flight (their transactions roll back, and every job is
/// idempotent), and registers new ones. The importer runs apart ([`run_importer`]).
async fn supervise(
    sweeps: Queue<Sweep>,
    ticks: Queue<Tick>,
    imports: Queue<ImportJob>,
    ctx: Context,
    shutdown: CancellationToken,
) {
    let importer = tokio::spawn(run_importer(imports, ctx.clone(), shutdown.clone()));
    watch_scheduler(sweeps, ticks, ctx, shutdown).await;
    let _ = importer.await;
}

/// A monitor whose workers apalis starts again whenever they end with an error.
fn monitor() -> Monitor {
    Monitor::new().should_restart(|worker, error| {
        tracing::warn!(worker = %worker.name(), error = %error, restarts = worker.restarts(), "restarting background worker");
        true
    })
}

/// Runs `monitor`'s workers on their own task until `shutdown`.
fn run_until(monitor: Monitor, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let signal = async move {
            shutdown.cancelled().await;
            Ok::<(), std::io::Error>(())
        };
        if let Err(error) = monitor.run_with_signal(signal).await {
            tracing::error!(error = %error, "background workers stopped with an error");
        }
    })
}

/// The importer runs under its own monitor, out of the watchdog's reach: an import is long (a
/// million rows take tens of seconds) and shows its own progress batch by batch, so a restart
/// for the scheduler's sake must not cut it (it did, on PostgreSQL: the import then waited out
/// `OUTCALL_IMPORT_STALE` before the orphan sweep enqueued it again).
async fn run_importer(imports: Queue<ImportJob>, ctx: Context, shutdown: CancellationToken) {
    loop {
        let monitor = register!(monitor(), imports, "importer", ctx, importer::import);
        let mut run = run_until(monitor, shutdown.clone());
        tokio::select! {
            _ = &mut run => {
                if shutdown.is_cancelled() {
                    return;
                }
                tracing::warn!("the importer ended; starting it again");
                tokio::time::sleep(WATCH).await;
            }
            _ = ctx.importer.restart.notified(), if !shutdown.is_cancelled() => {
                metrics::counter!("outcall_worker_restarts_total").increment(1);
                tracing::warn!("imports wait with no live worker; starting the importer afresh");
                run.abort();
                let _ = run.await;
            }
        }
    }
}

/// Runs the janitor and the scheduler, and starts them afresh whenever the scheduler stops
/// making progress.
async fn watch_scheduler(
    sweeps: Queue<Sweep>,
    ticks: Queue<Tick>,
    ctx: Context,
    shutdown: CancellationToken,
) {
    loop {
        let monitor = register!(monitor(), sweeps, "janitor", ctx, janitor::sweep);
        let monitor = register!(monitor, ticks, "scheduler", ctx, scheduler::tick);
        let mut run = run_until(monitor, shutdown.clone());
        ctx.progress.beat();
        loop {
            tokio::select! {
                _ = &mut run => {
                    if shutdown.is_cancelled() {
                        return;
                    }
                    tracing::warn!("background workers ended; starting them again");
                    break;
                }
                _ = tokio::time::sleep(WATCH), if !shutdown.is_cancelled() => {
                    let idle = ctx.progress.idle();
                    if idle >= STALL {
                        metrics::counter!("outcall_worker_restarts_total").increment(1);
                        tracing::warn!(
                            idle_secs = idle.as_secs(),
                            "the scheduler made no progress; starting the background workers afresh"
                        );
                        run.abort();
                        let _ = run.await;
                        break;
                    }
                }
            }
        }
    }
}

/// Counts a background job's failure (by job) before handing the error back to apalis.
pub(crate) fn counted<T>(
    job: &'static str,
    result: Result<T, apalis::prelude::BoxDynError>,
) -> Result<T, apalis::prelude::BoxDynError> {
    if let Err(error) = &result {
        metrics::counter!("outcall_job_failures_total", "job" => job).increment(1);
        tracing::warn!(job, error = %error, "background job failed");
    }
    result
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

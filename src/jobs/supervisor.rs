//! Keeps the background workers running: the importer under its own monitor, the janitor under
//! another, and the scheduler's own task under a watchdog that starts it afresh when it stops
//! making progress (a tick hung on a connection that never answers).

use std::{sync::Arc, time::Duration};

use apalis::prelude::{BackendExt, Monitor, WorkerBuilder};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Context, ImportJob, Sweep, importer, janitor, queue::Queue, scheduler};

/// How often idle workers look for new work.
const POLL: Duration = Duration::from_millis(200);
/// How long the scheduler may go without making progress before its task is started afresh.
/// A tick takes milliseconds; one that has not moved for this long is stuck.
const STALL: Duration = Duration::from_secs(15);
/// How often the watchdog looks.
const WATCH: Duration = Duration::from_secs(2);

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
    pub(super) fn new() -> Self {
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

/// Runs the workers until shutdown, and starts them afresh whenever they stop making progress.
///
/// A worker ends on any backend error (a lost connection, a database restart); apalis starts
/// it again at once, and the pool's acquire timeout paces the retries while the database is
/// away. A worker can also hang without an error (seen under load right after a restart: the
/// scheduler fetched a tick and never finished it, or never fetched one), which would stop
/// lease reaping and schedules for good; the watchdog drops the janitor's and the scheduler's
/// workers, with whatever they had in flight (their transactions roll back, and every job is
/// idempotent), and registers new ones. The importer runs apart ([`run_importer`]).
pub(super) async fn supervise(
    sweeps: Queue<Sweep>,
    imports: Queue<ImportJob>,
    ctx: Context,
    shutdown: CancellationToken,
) {
    let importer = tokio::spawn(run_importer(imports, ctx.clone(), shutdown.clone()));
    let janitor = run_until(
        register!(monitor(), sweeps, "janitor", ctx, janitor::sweep),
        shutdown.clone(),
    );
    watch_scheduler(ctx, shutdown).await;
    let _ = importer.await;
    let _ = janitor.await;
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

/// Runs the scheduler's task, and starts it afresh whenever it stops making progress.
async fn watch_scheduler(ctx: Context, shutdown: CancellationToken) {
    loop {
        let mut run = tokio::spawn(scheduler::run(ctx.clone(), shutdown.clone()));
        ctx.progress.beat();
        loop {
            tokio::select! {
                _ = &mut run => {
                    if shutdown.is_cancelled() {
                        return;
                    }
                    tracing::warn!("the scheduler ended; starting it again");
                    break;
                }
                _ = tokio::time::sleep(WATCH), if !shutdown.is_cancelled() => {
                    let idle = ctx.progress.idle();
                    if idle >= STALL {
                        metrics::counter!("outcall_worker_restarts_total").increment(1);
                        tracing::warn!(
                            idle_secs = idle.as_secs(),
                            "the scheduler made no progress; starting it afresh"
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

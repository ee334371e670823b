//! Background work on apalis: durable queues in the database ([`queue`]), the workers that
//! drain them ([`supervisor`]), and the tickers that enqueue periodic work. Each job handler is
//! thin: the work itself is an operation of the [`Service`], the same one tests and the HTTP
//! edge reach.
//!
//! The janitor's sweeps are enqueued by a ticker on every process with an idempotency key per
//! time slot; the scheduler ticks on a task of its own on every process ([`scheduler`]). Both
//! are idempotent (compare-and-set updates), so several processes on one PostgreSQL never act
//! twice on the same due time.

use std::{sync::Arc, time::Duration};

use futures::future::BoxFuture;
use tokio::{sync::Mutex, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    config::Config,
    ids::ImportId,
    service::{self, ImportQueue, Service},
    store::Store,
};

mod deliverer;
pub mod importer;
pub mod janitor;
pub mod queue;
pub mod scheduler;
mod supervisor;

pub use importer::ImportJob;
pub use janitor::Sweep;
pub use queue::{JobsDb, PushError, jobs_sqlite_url};
pub use supervisor::{ImporterWatch, Progress};

use queue::Queue;

/// How long one enqueue may take before the ticker gives up on that slot.
const PUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Handle to the background machinery: its queues, and once started, its workers. Cheap to
/// clone.
#[derive(Clone)]
pub struct Jobs {
    db: JobsDb,
    sweeps: Queue<Sweep>,
    imports: Queue<ImportJob>,
    monitor: Arc<Mutex<Option<JoinHandle<()>>>>,
    shutdown: CancellationToken,
}

/// What a job handler needs.
#[derive(Clone)]
pub struct Context {
    pub service: Service,
    pub jobs_db: JobsDb,
    /// When the scheduler last made progress, for the watchdog.
    pub progress: Progress,
    /// This process's importer, as the scheduler sees it.
    pub importer: ImporterWatch,
}

impl Jobs {
    /// Opens the queues; nothing runs until [`Jobs::start`]. Everything stops when `shutdown`
    /// is cancelled.
    pub async fn open(
        config: &Config,
        store: &Store,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let db = JobsDb::open(config, store).await?;
        Ok(Self {
            sweeps: Queue::open(&db, "outcall.sweep"),
            imports: Queue::open(&db, "outcall.import"),
            db,
            monitor: Arc::new(Mutex::new(None)),
            shutdown,
        })
    }

    /// Starts the workers and the tickers.
    pub async fn start(&self, service: Service) {
        let ctx = Context {
            jobs_db: self.db.clone(),
            progress: Progress::new(),
            importer: ImporterWatch::default(),
            service: service.clone(),
        };
        let supervisor = tokio::spawn(supervisor::supervise(
            self.sweeps.clone(),
            self.imports.clone(),
            ctx,
            self.shutdown.clone(),
        ));
        *self.monitor.lock().await = Some(supervisor);
        tokio::spawn(deliverer::run(service.clone(), self.shutdown.clone()));
        let every = service.config.sweep_every.std().max(Duration::from_secs(1));
        let sweeps = self.sweeps.clone();
        self.spawn_ticker(every, move |slot| {
            let sweeps = sweeps.clone();
            async move {
                let key = Some(format!("sweep-{slot}"));
                if let Err(e) = sweeps.push(Sweep { slot }, key, 3).await {
                    tracing::debug!(error = %e, slot, "sweep not enqueued (already enqueued elsewhere?)");
                }
            }
        });
    }

    /// Calls `push` once per period with the period's slot number (the same on every process).
    fn spawn_ticker<F, Fut>(&self, every: Duration, push: F)
    where
        F: Fn(i64) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = ticks.tick() => {
                        let slot = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap_or_default()
                            .as_millis() / every.as_millis().max(1);
                        // A stuck enqueue must not hold up the next slots (nor a connection).
                        if tokio::time::timeout(PUSH_TIMEOUT, push(slot as i64)).await.is_err() {
                            tracing::warn!(slot, "enqueueing periodic work timed out");
                        }
                    }
                }
            }
        });
    }

    /// Waits until the workers have finished their in-flight jobs after shutdown.
    pub async fn stopped(&self) {
        self.shutdown.cancelled().await;
        if let Some(task) = self.monitor.lock().await.take() {
            let _ = task.await;
        }
    }
}

/// The service queues large imports here.
impl ImportQueue for Jobs {
    fn push(&self, import: ImportId) -> BoxFuture<'_, service::Result<()>> {
        Box::pin(async move {
            let job = ImportJob { import_id: import };
            self.imports.push(job, None, 5).await.map_err(|e| match e {
                PushError::Store(e) => e.into(),
                PushError::Other(message) => service::Error::Internal(anyhow::anyhow!(message)),
            })
        })
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

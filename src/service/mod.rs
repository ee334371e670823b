//! The operations: one home for each thing the service does — hand a call out, record an
//! outcome, import a list, run the scheduler's tick, evaluate a target — with the rules and the
//! transaction it takes. The HTTP edge and the background jobs both call these; neither calls
//! the other. Operations use the store and the domain; nothing here knows HTTP or apalis.

use std::sync::Arc;

use futures::future::BoxFuture;

use crate::{
    clock::SharedClock,
    codes::{Code, Reason},
    config::Config,
    contacts::Region,
    ids::ImportId,
    store::{Reads, Store, StoreError},
    time::Instant,
    validate::{FieldError, Invalid},
};

pub mod agent_states;
pub mod callbacks;
pub mod calls;
pub mod campaigns;
pub mod contact_edit;
pub mod conversion_batch;
pub mod conversion_import;
pub mod conversions;
pub mod deliveries;
pub mod dnc;
pub mod eligibility;
pub mod feed;
pub mod figures;
pub mod floor;
pub mod forecast;
pub mod handout;
pub mod hub;
pub mod import_job;
pub mod imports;
pub mod lists;
pub mod maintenance;
pub mod next_call;
pub mod outcome;
mod outcome_check;
pub mod people;
pub mod render;
mod render_pool;
pub mod render_worker;
pub mod scheduler;
pub mod scripts;
pub mod segments;
pub mod targets;
mod upload_preview;
pub mod warnings;
pub mod webhooks;
mod workbooks;

pub use handout::HandOut;
pub use hub::EventHub;
pub use render::Renderer;

/// What an operation can fail with, in the terms the edge answers in.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing with that id (or not the caller's).
    #[error("not found")]
    NotFound,
    /// The request conflicts with the current state: a stable code the pages tell apart
    /// (`lease_lost`, `agent_paused` …) with the English words for logs.
    #[error("conflict ({}): {}", .0.code, .0.message)]
    Conflict(Reason),
    /// A value given in `field` is already taken.
    #[error("{field}: {message}")]
    Taken {
        field: &'static str,
        message: &'static str,
    },
    /// Past a rate limit (a stable `code`, e.g. `release_limit`): try again in `retry_after`
    /// whole seconds.
    #[error("limited ({code}): {detail}")]
    Limited {
        code: Code,
        detail: String,
        retry_after: u64,
    },
    /// Input that was read but is not acceptable, field by field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Input that could not be read at all (an upload that broke off).
    #[error("unreadable: {}", .0.message)]
    Unreadable(FieldError),
    /// An upload larger than allowed.
    #[error("too large")]
    TooLarge,
    /// Storage failed (the database unavailable, or a defect).
    #[error(transparent)]
    Store(StoreError),
    /// A defect.
    #[error("{0:#}")]
    Internal(anyhow::Error),
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Error::NotFound,
            StoreError::Conflict(message) => Error::Conflict(message),
            StoreError::Taken { field, message } => Error::Taken { field, message },
            StoreError::OutOfRange { field, message } => {
                Error::Invalid(Invalid(vec![FieldError::new(
                    field,
                    Code::OutOfRange.because(message),
                )]))
            }
            StoreError::Other(e) => {
                // Logged here, inside the operation's span (its name and ids), once: the edge
                // answers 500 without logging it again.
                tracing::error!(error = %e, "storage failed");
                Error::Store(StoreError::Other(e))
            }
            other => Error::Store(other),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Marks a defect already logged where it happened (in the operation's span).
#[derive(Debug, Clone, Copy)]
pub struct Logged;

impl std::fmt::Display for Logged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("logged where it happened")
    }
}

/// Where imports too large to read inline wait for a background worker (the job queue; the
/// service only needs to put one in).
pub trait ImportQueue: Send + Sync + 'static {
    fn push(&self, import: ImportId) -> BoxFuture<'_, Result<()>>;
}

/// The application's operations, over its store, clock, configuration and live events.
/// Cheap to clone.
#[derive(Clone)]
pub struct Service {
    /// The only writer: every change goes through an operation here.
    store: Store,
    /// Reads for the edge, which never writes through the store.
    pub reads: Reads,
    pub clock: SharedClock,
    pub config: Arc<Config>,
    pub events: EventHub,
    /// The region national phone numbers are read in.
    pub region: Region,
    handout: Arc<HandOut>,
    /// Renders scripts in worker processes, within the time budget.
    renderer: Renderer,
    queue: Arc<dyn ImportQueue>,
    /// Turns to parse an import (`OUTCALL_IMPORTS_AT_ONCE`): an inline import or an import job
    /// holds one while it reads, so only so many uploads are parsed at once in this process.
    importing: Arc<tokio::sync::Semaphore>,
    /// Turns to run a forecast (`OUTCALL_FORECASTS_AT_ONCE`): its year-long simulations and
    /// staffing search take up to a second of CPU at their worst, so however many leads ask,
    /// forecasts take at most this many blocking threads at once.
    forecasting: Arc<tokio::sync::Semaphore>,
    /// Sends webhook deliveries (only the deliverer, never a request).
    sender: Arc<deliveries::Sender>,
    /// Wakes this process's deliverer when a change may have written deliveries.
    pub deliveries_wake: Arc<tokio::sync::Notify>,
}

impl Service {
    pub fn new(
        store: Store,
        clock: SharedClock,
        config: Arc<Config>,
        events: EventHub,
        queue: Arc<dyn ImportQueue>,
    ) -> anyhow::Result<Self> {
        let region = Region::parse(&config.default_region).map_err(anyhow::Error::msg)?;
        let handout = Arc::new(HandOut::new(store.clone(), clock.clone(), &config));
        let importing = Arc::new(tokio::sync::Semaphore::new(config.imports_at_once.into()));
        let forecasting = Arc::new(tokio::sync::Semaphore::new(config.forecasts_at_once.into()));
        let renderer = Renderer::new(
            config.render_worker.clone(),
            config.render_workers(),
            config.render_memory_mib,
            render::RENDER_BUDGET,
        )?;
        let allow = crate::webhooks::Allow(config.webhook_allow.clone());
        let sender = Arc::new(deliveries::Sender::new(allow)?);
        Ok(Self {
            reads: Reads::new(store.clone()),
            store,
            clock,
            config,
            events,
            region,
            handout,
            renderer,
            queue,
            importing,
            forecasting,
            sender,
            deliveries_wake: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Now, by the service's clock.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The zone the service shows times in when nothing more specific applies.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.config.timezone
    }
}

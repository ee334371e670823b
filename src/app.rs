//! Builds the service from its configuration and runs it until a shutdown signal: the store,
//! the bootstrap token, the background workers and the HTTP server.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use crate::{
    clock::{SharedClock, SystemClock},
    config::Config,
    http::{self, AppState},
    jobs::Jobs,
    people::Secret,
    service::Service,
    store::{Store, StoreOptions},
    time::Instant,
};

/// How long shutdown waits for background jobs in flight.
const JOBS_GRACE: std::time::Duration = std::time::Duration::from_secs(8);

/// A started service.
pub struct Running {
    /// Where it listens (the real port when configured with port 0).
    pub addr: SocketAddr,
    /// Cancel to shut down gracefully: in-flight requests finish, workers stop.
    pub shutdown: CancellationToken,
    /// The store, for tests that look behind the API.
    pub store: Store,
    /// The operations, for tests that drive them directly (the scheduler's tick).
    pub service: Service,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Runs one scheduler tick now (expired leases, due retries and callbacks, schedules,
    /// recurrences, orphaned imports), as the background scheduler does every second: tests
    /// use it instead of waiting for a real tick.
    pub async fn tick(&self) -> anyhow::Result<()> {
        self.service.tick(&|| {}).await?;
        Ok(())
    }

    /// Waits until the service has stopped.
    pub async fn stopped(self) -> anyhow::Result<()> {
        self.task.await.context("server task panicked")?
    }
}

/// Starts the service with the given clock and returns once it is listening.
pub async fn start(config: Config, clock: SharedClock) -> anyhow::Result<Running> {
    start_with_routes(config, clock, axum::Router::new()).await
}

/// [`start`], serving `extra` routes too behind every layer (tests only: the binary never
/// passes any).
pub async fn start_with_routes(
    config: Config,
    clock: SharedClock,
    extra: axum::Router<AppState>,
) -> anyhow::Result<Running> {
    crate::telemetry::metrics_handle();
    let options = StoreOptions {
        durable: config.sqlite_durable(),
        promote_batch: config.promote_batch,
        busy_timeout: config.sqlite_busy_timeout.std(),
        zone: config.timezone,
    };
    let store = Store::connect(&config.database_url, &options)
        .await
        .with_context(|| format!("open the database ({})", redact(&config.database_url)))?;
    bootstrap(&store, &config, clock.now()).await?;

    let shutdown = CancellationToken::new();
    let jobs = Jobs::open(&config, &store, shutdown.clone())
        .await
        .context("open the job queues")?;
    let limits = crate::service::hub::StreamLimits::from_config(&config);
    let events = crate::service::EventHub::start(store.clone(), limits, shutdown.clone())
        .await
        .context("start the event hub")?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let service = Service::new(
        store.clone(),
        clock,
        Arc::new(config),
        events,
        Arc::new(jobs.clone()),
    )?;
    jobs.start(service.clone()).await;
    let state = AppState::new(service.clone());
    let limits = http::serve::Limits {
        header_timeout: state.config.header_timeout.std(),
        max_connections: state.config.max_connections.max(1),
        per_address: state.config.max_connections_per_address,
    };
    let app = http::router_with(state, extra);

    let stop = shutdown.clone();
    let signal = shutdown.clone();
    let task_store = store.clone();
    let task = tokio::spawn(async move {
        http::serve::serve(listener, app, limits, signal).await;
        stop.cancel();
        tracing::info!("HTTP server stopped; stopping background workers");
        // Background work is durable (imports resume, sweeps are idempotent): give in-flight
        // jobs a bounded time to finish, then stop regardless.
        if tokio::time::timeout(JOBS_GRACE, jobs.stopped())
            .await
            .is_err()
        {
            tracing::warn!(
                "background workers did not stop within {JOBS_GRACE:?}; stopping without them"
            );
        }
        task_store.close().await;
        tracing::info!("outcall stopped");
        Ok(())
    });
    tracing::info!(%addr, backend = store.backend_name(), "outcall listening");
    Ok(Running {
        addr,
        shutdown,
        store,
        service,
        task,
    })
}

/// `outcall serve`: runs on the system clock until SIGTERM or SIGINT.
pub async fn serve(mut config: Config) -> anyhow::Result<()> {
    // Scripts are rendered by workers of this same program (`outcall render-worker`).
    config.render_worker =
        Some(std::env::current_exe().context("find this program's path for its render workers")?);
    let running = start(config, Arc::new(SystemClock)).await?;
    println!("outcall listening on http://{}", running.addr);
    let shutdown = running.shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown signal received; finishing in-flight requests");
        shutdown.cancel();
    });
    running.stopped().await
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// The bootstrap rule: a configured secret always works as an admin token; without one, the
/// first start generates an admin token and prints it once.
async fn bootstrap(store: &Store, config: &Config, now: Instant) -> anyhow::Result<()> {
    match &config.bootstrap_token {
        Some(secret) if !secret.trim().is_empty() => {
            store
                .token_ensure_admin(&Secret::from_given(secret.trim().to_owned()).hash(), now)
                .await?;
        }
        _ => {
            let secret = Secret::generate();
            if store.token_bootstrap_if_none(&secret.hash(), now).await? {
                // Printed, not logged: this is the one time the secret is shown.
                println!(
                    "outcall: generated an admin token (shown only now): {}",
                    secret.expose()
                );
            }
        }
    }
    Ok(())
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#![allow(dead_code)]
//! The test harness: starts the real server in-process on 127.0.0.1:0 against a fresh
//! database (a temp SQLite file, or a new PostgreSQL database), with a manual clock; the typed
//! helpers over HTTP are `outcall_client::Client`'s. Also the macros that run a test on both
//! backends, and the database set-up the real-binary tests share.

use std::{
    ops::Deref,
    sync::{
        Once,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, TimeZone, Utc};
use outcall::{app::Running, clock::ManualClock, config::Config};
pub use outcall_client::{Client, all_day_windows};
use serde_json::Value;

pub const ADMIN_SECRET: &str = "test-admin-secret-0123456789";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for each named test function
/// `async fn name(app: TestApp)`, in modules `sqlite` and `postgres`.
///
/// `on_both_backends!(start = f; …)` starts the app with `async fn f(Backend) -> TestApp`
/// instead of [`TestApp::start`] (a path seen from inside the modules: `super::f`), and
/// `on_both_backends!(start = f; mod a, b; …)` names the SQLite and PostgreSQL modules.
#[macro_export]
macro_rules! on_both_backends {
    (start = $start:path; mod $sqlite:ident, $postgres:ident; $($name:ident),* $(,)?) => {
        $crate::backend_module!(start $start, $sqlite, Sqlite, [$($name),*]);
        $crate::backend_module!(start $start, $postgres, Postgres, [$($name),*]);
    };
    (start = $start:path; $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(start = $start; mod sqlite, postgres; $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(start = $crate::helpers::TestApp::start; $($name),*);
    };
}

/// Generates one test per backend for each named test function that starts what it needs
/// itself from a [`Backend`] (the real binary, a proxy, …): `async fn name(backend: Backend)`
/// as a `#[tokio::test]`, in modules `sqlite` and `postgres`.
///
/// - `backend_tests!(mod a, b; …)` names the SQLite and PostgreSQL modules;
/// - `backend_tests!(sync; …)` is for `fn name(backend: Backend)`, as plain `#[test]`s;
/// - `backend_tests!(postgres mod m; …)` is for tests that only PostgreSQL can run, and
///   `backend_tests!(sqlite mod m; …)` for tests only SQLite can.
#[macro_export]
macro_rules! backend_tests {
    (sync; $($name:ident),* $(,)?) => {
        $crate::backend_module!(sync sqlite, Sqlite, [$($name),*]);
        $crate::backend_module!(sync postgres, Postgres, [$($name),*]);
    };
    (postgres mod $postgres:ident; $($name:ident),* $(,)?) => {
        $crate::backend_module!(start $crate::helpers::the_backend, $postgres, Postgres, [$($name),*]);
    };
    (sqlite mod $sqlite:ident; $($name:ident),* $(,)?) => {
        $crate::backend_module!(start $crate::helpers::the_backend, $sqlite, Sqlite, [$($name),*]);
    };
    (mod $sqlite:ident, $postgres:ident; $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(
            start = $crate::helpers::the_backend; mod $sqlite, $postgres; $($name),*
        );
    };
    ($($name:ident),* $(,)?) => {
        $crate::backend_tests!(mod sqlite, postgres; $($name),*);
    };
}

/// One module of tests on one backend, for [`on_both_backends!`] and [`backend_tests!`]:
/// `start f` makes `#[tokio::test]`s that call `name(f(backend).await)`, `sync` plain `#[test]`s
/// that call `name(backend)`.
#[macro_export]
macro_rules! backend_module {
    (start $start:path, $module:ident, $backend:ident, [$($name:ident),*]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($start($crate::helpers::Backend::$backend).await).await
                }
            )*
        }
    };
    (sync $module:ident, $backend:ident, [$($name:ident),*]) => {
        mod $module {
            $(
                #[test]
                fn $name() {
                    super::$name($crate::helpers::Backend::$backend)
                }
            )*
        }
    };
}

/// How many entries of one kind (`outcome`, `lease_expired`, …) a contact page's history has.
pub fn history_count(page: &Value, event: &str) -> usize {
    page["history"]
        .as_array()
        .map_or(0, |h| h.iter().filter(|e| e["event"] == event).count())
}

/// Asserts that a contact whose outcome was acknowledged kept it: its campaign entry is done
/// and its history holds exactly one outcome.
#[track_caller]
pub fn assert_acknowledged_once(page: &Value, contact: i64) {
    assert_eq!(
        page["campaigns"][0]["state"], "done",
        "contact {contact} lost its acknowledged outcome"
    );
    let outcomes = history_count(page, "outcome");
    assert_eq!(
        outcomes, 1,
        "contact {contact}: exactly one outcome recorded"
    );
}

/// The app [`backend_tests!`] starts for its tests: the backend itself.
pub async fn the_backend(backend: Backend) -> Backend {
    backend
}

/// The admin URL of the PostgreSQL server tests create databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("OUTCALL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn with_database(admin_url: &str, db: &str) -> String {
    let base = admin_url.split('?').next().unwrap_or(admin_url);
    let (head, _) = base.rsplit_once('/').expect("a database URL has a path");
    format!("{head}/{db}")
}

static CLEAN_ONCE: Once = Once::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);
const PREFIX: &str = "outcall_t_";

fn run_blocking_pg(sql: Vec<String>) {
    let url = postgres_admin_url();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            use sqlx::Connection;
            let Ok(mut conn) = sqlx::PgConnection::connect(&url).await else {
                return;
            };
            for statement in sql {
                let _ = sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&mut conn)
                    .await;
            }
        });
    })
    .join()
    .ok();
}

/// Drops test databases a previous run left behind.
fn clean_leftovers() {
    CLEAN_ONCE.call_once(|| {
        let url = postgres_admin_url();
        let names: Vec<String> = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                use sqlx::Connection;
                let Ok(mut conn) = sqlx::PgConnection::connect(&url).await else {
                    return vec![];
                };
                sqlx::query_scalar(
                    "SELECT datname FROM pg_database WHERE datname LIKE 'outcall\\_t\\_%'",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap_or_default()
            })
        })
        .join()
        .unwrap_or_default();
        // Only those of test processes that are gone: a run in another checkout may be live.
        let gone = |name: &String| {
            name.strip_prefix(PREFIX)
                .and_then(|rest| rest.split('_').next())
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_none_or(|pid| {
                    pid != std::process::id()
                        && !std::path::Path::new(&format!("/proc/{pid}")).exists()
                })
        };
        run_blocking_pg(
            names
                .into_iter()
                .filter(gone)
                .map(|n| format!("DROP DATABASE IF EXISTS \"{n}\" WITH (FORCE)"))
                .collect(),
        );
    });
}

/// A fresh database URL for one test.
pub async fn fresh_database(backend: Backend) -> (String, Option<tempfile_dir::TempDir>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile_dir::TempDir::new();
            let url = format!("sqlite://{}/outcall.db", dir.path().display());
            (url, Some(dir))
        }
        Backend::Postgres => {
            clean_leftovers();
            let name = format!(
                "{PREFIX}{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst),
                rand_suffix()
            );
            let admin = postgres_admin_url();
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                panic!(
                    "the PostgreSQL suite needs a server at {admin} ({e}); scripts/test.sh skips \
                     this suite when none is reachable (and fails under CI=true)"
                )
            });
            let mut tries = 0;
            loop {
                let created =
                    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                        .execute(&mut conn)
                        .await;
                match created {
                    Ok(_) => break,
                    Err(e) if tries < 20 => {
                        tries += 1;
                        let _ = e;
                        tokio::time::sleep(Duration::from_millis(50 * tries)).await;
                    }
                    Err(e) => panic!("create test database {name}: {e}"),
                }
            }
            (with_database(&admin, &name), None)
        }
    }
}

fn rand_suffix() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    (h.finish() % 1_000_000) as u32
}

/// A small temp-dir helper (removed on drop), to avoid another dependency.
pub mod tempfile_dir {
    use std::path::{Path, PathBuf};

    pub struct TempDir(PathBuf);

    impl TempDir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(format!(
                "outcall-test-{}-{}",
                std::process::id(),
                super::COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            ));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).expect("create a temp dir");
            Self(path)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The instant every test starts at: Wednesday 2026-11-25 10:00 in Shanghai.
pub fn start_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap()
}

/// A server running in-process on a fresh database with a manual clock, and a [`Client`] for
/// it with the admin token: every typed helper of the client is reachable on the `TestApp`
/// (`app.take(&agent)`, `app.post(…)`).
pub struct TestApp {
    pub client: Client,
    pub backend: Backend,
    pub clock: ManualClock,
    pub running: Option<Running>,
    pub database_url: String,
    /// The configuration it was started with (a restart starts with it again).
    pub config: Config,
    _dir: Option<tempfile_dir::TempDir>,
}

impl Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl TestApp {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts with a configuration adjusted by `tweak`.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_with_routes(backend, tweak, axum::Router::new()).await
    }

    /// Starts serving `extra` routes too, behind every layer of the real router (routes no
    /// build of the binary has, such as one that panics).
    pub async fn start_with_routes(
        backend: Backend,
        tweak: impl FnOnce(&mut Config),
        extra: axum::Router<outcall::http::AppState>,
    ) -> Self {
        static LOGS: Once = Once::new();
        LOGS.call_once(|| {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        });
        let (url, dir) = fresh_database(backend).await;
        let mut config = Config::for_database(&url);
        config.bootstrap_token = Some(ADMIN_SECRET.to_owned());
        config.render_worker = Some(env!("CARGO_BIN_EXE_outcall").into());
        tweak(&mut config);
        let clock = ManualClock::new(start_instant());
        let running = outcall::app::start_with_routes(
            config.clone(),
            std::sync::Arc::new(clock.clone()),
            extra,
        )
        .await
        .expect("the server starts");
        Self {
            client: Client::new(format!("http://{}", running.addr), ADMIN_SECRET),
            backend,
            clock,
            running: Some(running),
            database_url: url,
            config,
            _dir: dir,
        }
    }

    /// Stops the server and starts it again on the same database, configuration and clock:
    /// nothing kept in memory survives, as after a restart.
    pub async fn restart(&mut self) {
        self.stop().await;
        let clock = std::sync::Arc::new(self.clock.clone());
        let running = outcall::app::start(self.config.clone(), clock)
            .await
            .expect("the server starts again");
        self.client = self.client.with_base(format!("http://{}", running.addr));
        self.running = Some(running);
    }

    /// Another process of the service on the same database and clock (two processes on one
    /// PostgreSQL database); stop it with `shutdown.cancel()` and `stopped()`.
    pub async fn another_process(&self) -> Running {
        let mut config = Config::for_database(&self.database_url);
        config.bootstrap_token = Some(ADMIN_SECRET.to_owned());
        config.render_worker = Some(env!("CARGO_BIN_EXE_outcall").into());
        outcall::app::start(config, std::sync::Arc::new(self.clock.clone()))
            .await
            .expect("the second process starts")
    }

    /// Moves the manual clock forward.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Runs one scheduler tick now, at the manual clock's time: what the background scheduler
    /// does every second (expired leases, due retries and callbacks, campaign schedules,
    /// recurrences, orphaned imports), without waiting for it.
    pub async fn tick(&self) {
        self.running
            .as_ref()
            .expect("the server runs")
            .tick()
            .await
            .expect("the scheduler tick runs");
    }

    /// Shuts the server down gracefully and waits for it.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown.cancel();
            running.stopped().await.expect("the server stops cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            running.shutdown.cancel();
        }
        if self.backend == Backend::Postgres {
            let db = self
                .database_url
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_owned();
            if db.starts_with(PREFIX) {
                run_blocking_pg(vec![format!(
                    "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"
                )]);
            }
        }
    }
}

/// Rows of `sql` read straight from the database at `url` (either backend), on a connection
/// of its own: the truth a test holds the API's answers against.
pub async fn db_rows<T>(url: &str, sql: &'static str) -> Vec<T>
where
    T: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_as(sql).fetch_all(&mut c).await.unwrap()
    }
}

/// Opens the live stream with `token` (after `last_event_id`, when given) and expects 200.
pub async fn open_events(
    app: &TestApp,
    token: &str,
    last_event_id: Option<&str>,
) -> reqwest::Response {
    let mut req = app.request(reqwest::Method::GET, "/v1/events", Some(token));
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    let live = req.send().await.unwrap();
    assert_eq!(live.status(), reqwest::StatusCode::OK);
    live
}

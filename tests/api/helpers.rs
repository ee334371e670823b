#![allow(dead_code)]
//! The test harness: starts the real server in-process on 127.0.0.1:0 against a fresh
//! database (a temp SQLite file, or a new PostgreSQL database), with a manual clock, and
//! offers typed helpers over HTTP.

use std::{
    sync::{
        Once,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, TimeZone, Utc};
use outcall::{app::Running, clock::ManualClock, config::Config};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const ADMIN_SECRET: &str = "test-admin-secret-0123456789";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for each named test function
/// `async fn name(app: TestApp)`, in modules `sqlite` and `postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::TestApp::start($crate::helpers::Backend::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::TestApp::start($crate::helpers::Backend::Postgres).await).await
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

/// A running server and a client for it.
pub struct TestApp {
    pub backend: Backend,
    pub base: String,
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub running: Option<Running>,
    pub database_url: String,
    _dir: Option<tempfile_dir::TempDir>,
}

impl TestApp {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts with a configuration adjusted by `tweak`.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
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
        tweak(&mut config);
        let clock = ManualClock::new(start_instant());
        let running = outcall::app::start(config, std::sync::Arc::new(clock.clone()))
            .await
            .expect("the server starts");
        Self {
            backend,
            base: format!("http://{}", running.addr),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            clock,
            running: Some(running),
            database_url: url,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a JSON request (or none, for `Value::Null`) with an optional token.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if !body.is_null() {
            req = req.json(&body);
        }
        Reply::from(req.send().await.expect("the request reaches the server")).await
    }

    /// Sends a raw body with a content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        Reply::from(req.send().await.expect("the request reaches the server")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), Value::Null).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), body).await
    }

    pub fn admin(&self) -> &'static str {
        ADMIN_SECRET
    }

    /// Issues a token with the given role (`lead`, `viewer`, `admin`).
    pub async fn token(&self, role: &str) -> String {
        let r = self
            .post(
                "/v1/tokens",
                ADMIN_SECRET,
                json!({"role": role, "name": format!("{role} token")}),
            )
            .await;
        r.expect(StatusCode::CREATED);
        r.body["token"].as_str().unwrap().to_owned()
    }

    /// Creates an agent; returns (id, token).
    pub async fn agent(&self, name: &str, team: Option<&str>) -> (i64, String) {
        let r = self
            .post(
                "/v1/agents",
                ADMIN_SECRET,
                json!({"name": name, "team": team}),
            )
            .await;
        r.expect(StatusCode::CREATED);
        (
            r.body["id"].as_i64().unwrap(),
            r.body["token"].as_str().unwrap().to_owned(),
        )
    }

    /// Creates an offer; returns its code.
    pub async fn offer(&self, code: &str) -> String {
        let r = self
            .post(
                "/v1/offers",
                ADMIN_SECRET,
                json!({"code": code, "name": format!("offer {code}")}),
            )
            .await;
        r.expect(StatusCode::CREATED);
        code.to_owned()
    }

    /// Creates a script; returns its id.
    pub async fn script(&self, body: &str) -> i64 {
        let r = self
            .post(
                "/v1/scripts",
                ADMIN_SECRET,
                json!({"name": "script", "body": body}),
            )
            .await;
        r.expect(StatusCode::CREATED);
        r.body["id"].as_i64().unwrap()
    }

    /// Creates a draft campaign with a fresh offer and script; `extra` fields override.
    pub async fn campaign(&self, extra: Value) -> i64 {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let offer = self.offer(&format!("OFFER-{n}")).await;
        let script = self.script("您好{{ name }}，{{ attributes.plan }}").await;
        let mut body = json!({"name": format!("campaign {n}"), "offer": offer, "script_id": script,
            "calling_windows": [{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "00:00", "end": "24:00"}]});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            body[k] = v;
        }
        let r = self.post("/v1/campaigns", ADMIN_SECRET, body).await;
        r.expect(StatusCode::CREATED);
        r.body["id"].as_i64().unwrap()
    }

    /// A started campaign (see [`TestApp::campaign`]) holding the contacts of `csv`.
    pub async fn running_campaign(&self, extra: Value, csv: &str) -> i64 {
        let id = self.campaign(extra).await;
        self.import_csv(id, csv).await.expect(StatusCode::OK);
        self.start_campaign(id).await;
        id
    }

    /// Starts a campaign (expects 200).
    pub async fn start_campaign(&self, id: i64) {
        self.post(
            &format!("/v1/campaigns/{id}/start"),
            ADMIN_SECRET,
            Value::Null,
        )
        .await
        .expect(StatusCode::OK);
    }

    /// `POST /v1/calls/next` as an agent.
    pub async fn next(&self, agent_token: &str) -> Reply {
        self.call(
            Method::POST,
            "/v1/calls/next",
            Some(agent_token),
            Value::Null,
        )
        .await
    }

    /// Takes the next call and expects one; returns (call id, contact phone, whole body).
    pub async fn take(&self, agent_token: &str) -> (i64, String, Value) {
        let r = self.next(agent_token).await;
        r.expect(StatusCode::OK);
        (
            r.body["call"]["id"].as_i64().unwrap(),
            r.body["contact"]["phone"].as_str().unwrap().to_owned(),
            r.body.clone(),
        )
    }

    /// Records an outcome.
    pub async fn outcome(&self, agent_token: &str, call: i64, body: Value) -> Reply {
        self.call(
            Method::POST,
            &format!("/v1/calls/{call}/outcome"),
            Some(agent_token),
            body,
        )
        .await
    }

    /// Moves the manual clock forward.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// A campaign's status.
    pub async fn campaign_status(&self, id: i64) -> String {
        self.get(&format!("/v1/campaigns/{id}"), ADMIN_SECRET)
            .await
            .body["status"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// Uploads CSV contacts.
    pub async fn import_csv(&self, campaign: i64, csv: &str) -> Reply {
        self.raw(
            Method::POST,
            &format!("/v1/campaigns/{campaign}/contacts"),
            Some(ADMIN_SECRET),
            "text/csv",
            csv.to_owned(),
        )
        .await
    }

    /// All of a campaign's contacts (following pages), optionally in one state.
    pub async fn contacts(&self, campaign: i64, state: Option<&str>) -> Vec<Value> {
        let mut out = vec![];
        let mut after = String::new();
        loop {
            let mut path = format!("/v1/campaigns/{campaign}/contacts?limit=1000&after={after}");
            if let Some(s) = state {
                path.push_str(&format!("&state={s}"));
            }
            let page = self.get(&path, ADMIN_SECRET).await;
            page.expect(StatusCode::OK);
            out.extend(page.body["items"].as_array().unwrap().iter().cloned());
            match page.body["next"].as_str() {
                Some(next) => after = next.to_owned(),
                None => return out,
            }
        }
    }

    /// Polls `probe` every 100 ms until it returns `Some`, for at most `secs` seconds.
    pub async fn eventually<T, F, Fut>(&self, secs: u64, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = probe().await {
                return v;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for: {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub async fn from(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            content_type,
            headers,
            text,
            body,
        }
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a problem+json with this status that names `field`.
    #[track_caller]
    pub fn expect_problem(&self, status: StatusCode, field: &str) -> &Self {
        self.expect(status);
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "expected problem+json, got {} ({})",
            self.content_type,
            self.text
        );
        assert_eq!(
            self.body["status"].as_u64(),
            Some(status.as_u16() as u64),
            "{}",
            self.text
        );
        if !field.is_empty() {
            let named = self.body["errors"]
                .as_array()
                .is_some_and(|errors| errors.iter().any(|e| e["field"] == field));
            assert!(
                named,
                "expected the problem to name field '{field}': {}",
                self.text
            );
        }
        self
    }
}

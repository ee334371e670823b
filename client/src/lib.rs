//! A typed HTTP client for outcall's API: the requests the black-box tests (`tests/api`) and the
//! load generators (`examples/`) send, in one place. It needs only a base URL and tokens, so it
//! drives a server started in-process, the real binary or a deployed service alike.
//!
//! The set-up helpers ([`Client::agent`], [`Client::campaign`], …) act with the client's admin
//! token and assert that the server agreed; [`Client::call`] and friends return the [`Reply`]
//! whatever it is, and [`Client::request`] gives a bare request for anything else (extra
//! headers, streams, timing loops that must stay thin).

mod reply;

use std::{
    future::Future,
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

pub use reply::Reply;
pub use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Calling windows open all day on every day of the week.
pub fn all_day_windows() -> Value {
    json!([{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "00:00", "end": "24:00"}])
}

/// Numbers offer codes and campaign names apart within one process.
static NAMES: AtomicU32 = AtomicU32::new(0);

/// A client of one outcall service.
#[derive(Debug, Clone)]
pub struct Client {
    /// `http://host:port`, no trailing slash.
    pub base: String,
    pub http: reqwest::Client,
    admin: String,
}

impl Client {
    /// A client of the service at `base` whose set-up helpers act with the `admin` token;
    /// requests time out after 30 s.
    pub fn new(base: impl Into<String>, admin: impl Into<String>) -> Self {
        Self::with_timeout(base, admin, Duration::from_secs(30))
    }

    /// Like [`Client::new`] with another request timeout.
    pub fn with_timeout(
        base: impl Into<String>,
        admin: impl Into<String>,
        timeout: Duration,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .expect("an HTTP client");
        Self::with_http(http, base, admin)
    }

    /// A client that sends through `http` (its pool, its timeouts).
    pub fn with_http(
        http: reqwest::Client,
        base: impl Into<String>,
        admin: impl Into<String>,
    ) -> Self {
        Self {
            base: base.into(),
            http,
            admin: admin.into(),
        }
    }

    /// The same client for another process of the service (`http://host:port`).
    pub fn with_base(&self, base: impl Into<String>) -> Self {
        Self::with_http(self.http.clone(), base, self.admin.clone())
    }

    /// The same client, its set-up helpers acting with another token (a lead's, say).
    pub fn with_admin(&self, admin: impl Into<String>) -> Self {
        Self::with_http(self.http.clone(), self.base.clone(), admin)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The token the set-up helpers act with.
    pub fn admin(&self) -> &str {
        &self.admin
    }

    /// A bare request for `path`, with `token` as its bearer if given.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let req = self.http.request(method, self.url(path));
        match token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    /// Sends a request and reads the response whole; panics if the server cannot be reached.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        Reply::from(req.send().await.expect("the request reaches the server")).await
    }

    /// Sends a request and reads the response whole; an error if the server could not be
    /// reached or the connection broke before the whole response arrived.
    pub async fn try_send(&self, req: reqwest::RequestBuilder) -> reqwest::Result<Reply> {
        Reply::read(req.send().await?).await
    }

    /// Sends a JSON request (or none, for `Value::Null`) with an optional token.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> Reply {
        let mut req = self.request(method, path, token);
        if !body.is_null() {
            req = req.json(&body);
        }
        self.send(req).await
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
        let req = self
            .request(method, path, token)
            .header("content-type", content_type)
            .body(body);
        self.send(req).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), Value::Null).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), body).await
    }

    /// Posts with the admin token and expects 201; returns the created resource.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let r = self.post(path, &self.admin, body).await;
        r.expect(StatusCode::CREATED);
        r.body
    }

    /// Issues a token with the given role (`lead`, `viewer`, `admin`).
    pub async fn token(&self, role: &str) -> String {
        let created = self
            .create(
                "/v1/tokens",
                json!({"role": role, "name": format!("{role} token")}),
            )
            .await;
        created["token"].as_str().unwrap().to_owned()
    }

    /// Creates an agent and signs it in (`ready`), as its desk would; returns (id, token).
    pub async fn agent(&self, name: &str, team: Option<&str>) -> (i64, String) {
        let created = self
            .create("/v1/agents", json!({"name": name, "team": team}))
            .await;
        let token = created["token"].as_str().unwrap().to_owned();
        self.sign_in(&token).await;
        (created["id"].as_i64().unwrap(), token)
    }

    /// Signs an agent in (`POST /v1/agents/me/state {"state": "ready"}`), as its desk does: a
    /// new agent is offline and gets no calls until then. Expects 200.
    pub async fn sign_in(&self, agent_token: &str) {
        self.post(
            "/v1/agents/me/state",
            agent_token,
            json!({"state": "ready"}),
        )
        .await
        .expect(StatusCode::OK);
    }

    /// Creates an offer; returns its code.
    pub async fn offer(&self, code: &str) -> String {
        self.create(
            "/v1/offers",
            json!({"code": code, "name": format!("offer {code}")}),
        )
        .await;
        code.to_owned()
    }

    /// Creates a script; returns its id.
    pub async fn script(&self, body: &str) -> i64 {
        self.create("/v1/scripts", json!({"name": "script", "body": body}))
            .await["id"]
            .as_i64()
            .unwrap()
    }

    /// Creates a draft campaign, calling all day, with a fresh offer and script; `extra`
    /// fields override.
    pub async fn campaign(&self, extra: Value) -> i64 {
        let n = NAMES.fetch_add(1, Ordering::SeqCst);
        let offer = self.offer(&format!("OFFER-{n}")).await;
        let script = self.script("您好{{ name }}，{{ attributes.plan }}").await;
        let mut body = json!({"name": format!("campaign {n}"), "offer": offer, "script_id": script,
            "calling_windows": all_day_windows()});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            body[k] = v;
        }
        self.create("/v1/campaigns", body).await["id"]
            .as_i64()
            .unwrap()
    }

    /// A started campaign (see [`Client::campaign`]) holding the contacts of `csv`.
    pub async fn running_campaign(&self, extra: Value, csv: &str) -> i64 {
        let id = self.campaign(extra).await;
        self.import_csv(id, csv).await.expect(StatusCode::OK);
        self.start_campaign(id).await;
        id
    }

    /// Starts a campaign (expects 200).
    pub async fn start_campaign(&self, id: i64) {
        self.campaign_action(id, "start")
            .await
            .expect(StatusCode::OK);
    }

    /// `POST /v1/campaigns/{id}/{action}` (`start`, `pause`, `resume`, `stop`) as admin.
    pub async fn campaign_action(&self, id: i64, action: &str) -> Reply {
        let path = format!("/v1/campaigns/{id}/{action}");
        self.post(&path, &self.admin, Value::Null).await
    }

    /// A campaign's status.
    pub async fn campaign_status(&self, id: i64) -> String {
        self.get(&format!("/v1/campaigns/{id}"), &self.admin)
            .await
            .body["status"]
            .as_str()
            .unwrap_or("")
            .to_owned()
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
            r.body,
        )
    }

    /// Takes the next call and records `disposition` on it; returns the contact's id.
    pub async fn call_through(&self, agent_token: &str, disposition: &str) -> i64 {
        let (call, _, body) = self.take(agent_token).await;
        self.outcome(agent_token, call, json!({ "disposition": disposition }))
            .await
            .expect(StatusCode::OK);
        body["contact"]["id"].as_i64().unwrap()
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

    /// `POST /v1/calls/{call}/heartbeat` as an agent.
    pub async fn heartbeat(&self, agent_token: &str, call: i64) -> Reply {
        let path = format!("/v1/calls/{call}/heartbeat");
        self.call(Method::POST, &path, Some(agent_token), Value::Null)
            .await
    }

    /// `POST /v1/calls/{call}/release` as an agent.
    pub async fn release(&self, agent_token: &str, call: i64) -> Reply {
        let path = format!("/v1/calls/{call}/release");
        self.call(Method::POST, &path, Some(agent_token), Value::Null)
            .await
    }

    /// `POST /v1/calls/{call}/release` with a body (`{"reason"?, "skip"?}`) and any token.
    pub async fn release_with(&self, token: &str, call: i64, body: Value) -> Reply {
        self.post(&format!("/v1/calls/{call}/release"), token, body)
            .await
    }

    /// Uploads CSV contacts.
    pub async fn import_csv(&self, campaign: i64, csv: impl Into<String>) -> Reply {
        self.raw(
            Method::POST,
            &format!("/v1/campaigns/{campaign}/contacts"),
            Some(&self.admin),
            "text/csv",
            csv.into(),
        )
        .await
    }

    /// Waits for an import job to end, reading its state every `every`; returns the import
    /// (`state` is `done` or `failed`).
    pub async fn wait_import(&self, id: i64, every: Duration) -> Value {
        loop {
            tokio::time::sleep(every).await;
            let s = self
                .get(&format!("/v1/imports/{id}"), &self.admin)
                .await
                .body;
            if s["state"] == "done" || s["state"] == "failed" {
                return s;
            }
        }
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
            let page = self.get(&path, &self.admin).await;
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
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = probe().await {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

//! Webhooks deliver what happened to an operator's systems: each event signed with the
//! webhook's secret, at least once, in order per contact, through a receiver that goes away and
//! comes back, once per attempt with two processes on one PostgreSQL, never to an internal
//! address unless allowed; a delivery can be retried by hand, and an integration token reaches
//! only its own webhooks.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use hmac::{KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    task::{JoinHandle, JoinSet},
};

use crate::helpers::{Backend, TestApp};

const SECRET: &str = "test-webhook-secret-42";

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub signature: String,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A webhook receiver on a loopback port that answers 200 to every POST (after `delay`), and
/// can be killed (every connection dropped) and started again on the same port.
pub struct Receiver {
    pub addr: SocketAddr,
    pub got: Arc<Mutex<Vec<Received>>>,
    delay: Duration,
    task: Option<JoinHandle<()>>,
}

impl Receiver {
    pub async fn start(delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let task = Some(tokio::spawn(serve(listener, got.clone(), delay)));
        Self {
            addr,
            got,
            delay,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Stops listening and drops every open connection, as a crashed receiver does.
    pub fn kill(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.task = Some(tokio::spawn(serve(listener, self.got.clone(), self.delay)));
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn serve(listener: TcpListener, got: Arc<Mutex<Vec<Received>>>, delay: Duration) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let got = got.clone();
        connections.spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head_end, length) = loop {
                let Ok(n) = socket.read(&mut chunk).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..at]).to_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (at + 4, length);
                }
            };
            while buf.len() < head_end + length {
                let Ok(n) = socket.read(&mut chunk).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let signature = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("outcall-signature")
                        .then(|| value.trim().to_owned())
                })
                .unwrap_or_default();
            let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
            tokio::time::sleep(delay).await;
            got.lock().unwrap().push(Received { signature, body });
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        });
    }
}

/// The app with loopback allowed for webhooks and a quick deliverer.
async fn allowing_loopback(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| {
        c.webhook_allow = vec!["127.0.0.0/8".parse().unwrap()];
        c.webhook_poll_ms = 50;
    })
    .await
}

/// The app with the default (empty) allow list.
async fn allowing_nothing(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| c.webhook_poll_ms = 50).await
}

async fn subscribe(app: &TestApp, token: &str, url: &str, events: &[&str]) -> i64 {
    let r = app
        .post(
            "/v1/webhooks",
            token,
            json!({"url": url, "events": events, "secret": SECRET}),
        )
        .await;
    r.expect(StatusCode::CREATED);
    assert_eq!(r.body["secret"], SECRET);
    r.body["id"].as_i64().unwrap()
}

/// A running campaign with `n` contacts and a signed-in agent's token.
async fn campaign_of(app: &TestApp, n: usize) -> String {
    let mut csv = String::from("phone,external_id\n");
    for i in 0..n {
        csv.push_str(&format!("1380013{i:04},CRM-{i}\n"));
    }
    app.running_campaign(json!({}), &csv).await;
    app.agent("Ann", None).await.1
}

async fn deliveries(app: &TestApp, token: &str, webhook: i64) -> Vec<Value> {
    let r = app
        .get(
            &format!("/v1/webhooks/{webhook}/deliveries?limit=1000"),
            token,
        )
        .await;
    r.expect(StatusCode::OK);
    r.body["items"].as_array().unwrap().clone()
}

/// Waits until the receiver got at least `n` requests.
async fn wait_for(app: &TestApp, receiver: &Receiver, n: usize) -> Vec<Received> {
    app.eventually(20, &format!("{n} webhook requests"), || async {
        let got = receiver.received();
        (got.len() >= n).then_some(got)
    })
    .await
}

fn hex_hmac(secret: &str, message: &str) -> String {
    let mut mac = hmac::Hmac::<sha2_hmac::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn an_outcome_is_delivered_to_its_receiver_signed_with_the_webhook_secret(app: TestApp) {
    let receiver = Receiver::start(Duration::ZERO).await;
    let admin = app.admin().to_owned();
    let webhook = subscribe(&app, &admin, &receiver.url(), &["outcome"]).await;
    let agent = campaign_of(&app, 1).await;
    let contact = app.call_through(&agent, "accepted").await;

    let got = wait_for(&app, &receiver, 1).await;
    let event = &got[0];
    let (t, v1) = event
        .signature
        .strip_prefix("t=")
        .and_then(|s| s.split_once(",v1="))
        .expect("Outcall-Signature: t=<unix>,v1=<hex>");
    assert!(t.parse::<i64>().is_ok(), "t is unix seconds: {t}");
    assert_eq!(
        v1,
        hex_hmac(SECRET, &format!("{t}.{}", event.body)),
        "v1 is the HMAC-SHA256 of \"<t>.<body>\" with the secret"
    );
    let body = event.json();
    assert_eq!(body["type"], "outcome");
    assert!(body["id"].is_i64() && body["at"].is_string(), "{body}");
    assert_eq!(body["data"]["contact"], contact);
    assert_eq!(body["data"]["disposition"], "accepted");
    assert_eq!(
        body["data"]["external_id"], "CRM-0",
        "the operator's own id for the contact"
    );
    assert!(
        body["data"].get("phone").is_none(),
        "no phone unless asked for"
    );
    assert!(!event.body.contains("13800130000"), "no phone anywhere");

    let listed = app
        .eventually(10, "the delivery listed as delivered", || async {
            let items = deliveries(&app, &admin, webhook).await;
            (items.len() == 1 && items[0]["state"] == "delivered").then_some(items)
        })
        .await;
    assert_eq!(listed[0]["id"], body["id"]);
    assert_eq!(listed[0]["attempts"][0]["result"], "delivered");
    assert_eq!(listed[0]["attempts"][0]["response_code"], 200);
}

/// Every event received, de-duplicated by id, per contact in the order received.
fn by_contact(got: &[Received]) -> BTreeMap<i64, Vec<(i64, String)>> {
    let mut seen = BTreeSet::new();
    let mut out: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
    for r in got {
        let body = r.json();
        let id = body["id"].as_i64().unwrap();
        if seen.insert(id) {
            let contact = body["data"]["contact"].as_i64().unwrap();
            let kind = body["type"].as_str().unwrap().to_owned();
            out.entry(contact).or_default().push((id, kind));
        }
    }
    out
}

async fn a_receiver_killed_and_restarted_mid_run_receives_every_event_in_order_per_contact(
    app: TestApp,
) {
    let mut receiver = Receiver::start(Duration::ZERO).await;
    let admin = app.admin().to_owned();
    let webhook = subscribe(
        &app,
        &admin,
        &receiver.url(),
        &["outcome", "dnc", "follow_up"],
    )
    .await;
    let agent = campaign_of(&app, 6).await;
    // A complaint lists the phone, opens a follow-up and records the outcome: three events
    // about one contact, in that order, in one transaction.
    for _ in 0..2 {
        app.call_through(&agent, "complaint").await;
    }
    wait_for(&app, &receiver, 6).await;

    receiver.kill();
    for _ in 0..4 {
        app.call_through(&agent, "complaint").await;
    }
    // The deliverer tries while the receiver is down: each contact's first event fails, and
    // its later events wait behind it, untried.
    let items = app
        .eventually(20, "a failed attempt for each new contact", || async {
            let items = deliveries(&app, &admin, webhook).await;
            let failed = items
                .iter()
                .filter(|d| d["attempts"].as_array().is_some_and(|a| !a.is_empty()))
                .filter(|d| d["state"] == "pending")
                .count();
            (failed == 4).then_some(items)
        })
        .await;
    for d in items.iter().filter(|d| d["state"] == "pending") {
        let tried = !d["attempts"].as_array().unwrap().is_empty();
        assert_eq!(
            tried,
            d["type"] == "dnc",
            "only a contact's first event is tried while it is undelivered: {d}"
        );
    }

    receiver.restart().await;
    let got = app
        .eventually(30, "every event after the restart", || async {
            app.advance(3600);
            let got = receiver.received();
            (by_contact(&got).values().map(Vec::len).sum::<usize>() == 18).then_some(got)
        })
        .await;
    let contacts = by_contact(&got);
    assert_eq!(contacts.len(), 6, "every contact's events arrived");
    for (contact, events) in contacts {
        let kinds: Vec<&str> = events.iter().map(|(_, k)| k.as_str()).collect();
        assert_eq!(
            kinds,
            ["dnc", "follow_up", "outcome"],
            "contact {contact}: in the order they happened"
        );
        assert!(
            events.windows(2).all(|w| w[0].0 < w[1].0),
            "contact {contact}: {events:?}"
        );
    }
}

async fn an_internal_address_is_refused_without_the_allow_list_at_creation_and_after_resolution(
    app: TestApp,
) {
    let receiver = Receiver::start(Duration::ZERO).await;
    let admin = app.admin().to_owned();
    let port = receiver.addr.port();
    for url in [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://[::1]:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        "http://10.0.0.5/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[fd00::1]/hook".to_owned(),
    ] {
        app.post(
            "/v1/webhooks",
            &admin,
            json!({"url": url, "events": ["outcome"]}),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "url");
    }
    // A name is checked once resolved, at each delivery.
    let url = format!("http://localhost:{port}/hook");
    let webhook = subscribe(&app, &admin, &url, &["outcome"]).await;
    let agent = campaign_of(&app, 1).await;
    app.call_through(&agent, "accepted").await;
    let items = app
        .eventually(20, "a refused attempt", || async {
            let items = deliveries(&app, &admin, webhook).await;
            items
                .first()
                .is_some_and(|d| !d["attempts"].as_array().unwrap().is_empty())
                .then_some(items)
        })
        .await;
    let attempt = &items[0]["attempts"][0];
    assert_eq!(attempt["result"], "failed");
    assert!(
        attempt["error"].as_str().unwrap().contains("internal"),
        "{attempt}"
    );
    assert!(attempt["response_code"].is_null());
    assert!(
        receiver.received().is_empty(),
        "nothing reached the receiver"
    );
}

async fn a_delivery_retried_through_the_api_is_sent_again_and_listed_with_both_attempts(
    app: TestApp,
) {
    let receiver = Receiver::start(Duration::ZERO).await;
    let mine = app.token("integration").await;
    let theirs = app.token("integration").await;
    let webhook = subscribe(&app, &mine, &receiver.url(), &["outcome"]).await;
    let agent = campaign_of(&app, 1).await;
    app.call_through(&agent, "no_answer").await;
    let first = wait_for(&app, &receiver, 1).await[0].json();
    let items = app
        .eventually(10, "delivered", || async {
            let items = deliveries(&app, &mine, webhook).await;
            (items.first().is_some_and(|d| d["state"] == "delivered")).then_some(items)
        })
        .await;
    let delivery = items[0]["id"].as_i64().unwrap();
    let retry = format!("/v1/webhooks/{webhook}/deliveries/{delivery}/retry");
    app.post(&retry, &theirs, Value::Null)
        .await
        .expect_problem(StatusCode::NOT_FOUND, "");
    app.post(&retry, &mine, Value::Null)
        .await
        .expect(StatusCode::ACCEPTED);
    let again = wait_for(&app, &receiver, 2).await[1].json();
    assert_eq!(again["id"], first["id"], "the same event, by its id");
    assert_eq!(again["data"], first["data"]);
    let items = app
        .eventually(10, "two attempts listed", || async {
            let items = deliveries(&app, &mine, webhook).await;
            (items[0]["attempts"].as_array().unwrap().len() == 2
                && items[0]["state"] == "delivered")
                .then_some(items)
        })
        .await;
    assert!(
        items[0]["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["result"] == "delivered")
    );
    let audit = app.get("/v1/audit?entity=webhook", app.admin()).await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["retry", "create"], "newest first: {}", audit.text);
}

async fn an_integration_token_reaches_only_its_own_webhooks(app: TestApp) {
    let mine = app.token("integration").await;
    let theirs = app.token("integration").await;
    let webhook = subscribe(&app, &mine, "http://hooks.example.com/a", &["dnc"]).await;
    let listed = |token: String| {
        let app = &app;
        async move {
            let r = app.get("/v1/webhooks", &token).await;
            r.expect(StatusCode::OK);
            r.body["items"].as_array().unwrap().clone()
        }
    };
    let own = listed(mine.clone()).await;
    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["events"], json!(["dnc"]));
    assert!(
        own[0].get("secret").is_none(),
        "never listed with its secret"
    );
    assert!(listed(theirs.clone()).await.is_empty());
    assert_eq!(
        listed(app.admin().to_owned()).await.len(),
        1,
        "an admin sees all"
    );
    let path = format!("/v1/webhooks/{webhook}");
    app.get(&format!("{path}/deliveries"), &theirs)
        .await
        .expect(StatusCode::NOT_FOUND);
    app.call(reqwest::Method::DELETE, &path, Some(&theirs), Value::Null)
        .await
        .expect(StatusCode::NOT_FOUND);
    let lead = app.token("lead").await;
    app.get("/v1/webhooks", &lead)
        .await
        .expect(StatusCode::FORBIDDEN);
    app.call(reqwest::Method::DELETE, &path, Some(&mine), Value::Null)
        .await
        .expect(StatusCode::NO_CONTENT);
    assert!(listed(mine).await.is_empty());
}

async fn a_webhook_that_cannot_work_is_refused_naming_the_field(app: TestApp) {
    let admin = app.admin().to_owned();
    let long = format!("https://example.com/{}", "a".repeat(2_000));
    let cases = [
        (
            json!({"url": "ftp://example.com/", "events": ["outcome"]}),
            "url",
        ),
        (json!({"url": "", "events": ["outcome"]}), "url"),
        (json!({"url": long, "events": ["outcome"]}), "url"),
        (
            json!({"url": "https://u:p@example.com/", "events": ["outcome"]}),
            "url",
        ),
        (
            json!({"url": "https://example.com/", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://example.com/", "events": ["outcome", "sale"]}),
            "events",
        ),
        (
            json!({"url": "https://example.com/", "events": ["dnc"], "secret": "short"}),
            "secret",
        ),
    ];
    for (body, field) in cases {
        app.post("/v1/webhooks", &admin, body.clone())
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let r = app
        .post(
            "/v1/webhooks",
            &admin,
            json!({"url": "https://example.com/", "events": ["campaign", "campaign"]}),
        )
        .await;
    r.expect(StatusCode::CREATED);
    assert_eq!(r.body["events"], json!(["campaign"]));
    assert!(
        r.body["secret"].as_str().unwrap().len() >= 32,
        "a secret is generated"
    );
}

crate::on_both_backends!(start = super::allowing_loopback;
    an_outcome_is_delivered_to_its_receiver_signed_with_the_webhook_secret,
    a_receiver_killed_and_restarted_mid_run_receives_every_event_in_order_per_contact,
    a_delivery_retried_through_the_api_is_sent_again_and_listed_with_both_attempts,
    an_integration_token_reaches_only_its_own_webhooks,
    a_webhook_that_cannot_work_is_refused_naming_the_field,
);

mod refused {
    use super::*;
    crate::on_both_backends!(start = super::super::allowing_nothing;
        an_internal_address_is_refused_without_the_allow_list_at_creation_and_after_resolution,
    );
}

/// Two processes on one PostgreSQL database: every attempt is sent by one of them, never both.
async fn two_postgresql_processes_send_each_event_once_per_attempt(backend: Backend) {
    let app = allowing_loopback(backend).await;
    // A slow receiver keeps claims in flight while the other process looks for work.
    let receiver = Receiver::start(Duration::from_millis(30)).await;
    let admin = app.admin().to_owned();
    let webhook = subscribe(
        &app,
        &admin,
        &receiver.url(),
        &["outcome", "dnc", "follow_up"],
    )
    .await;
    let second = outcall::app::start(app.config.clone(), Arc::new(app.clock.clone()))
        .await
        .expect("the second process starts");
    let agent = campaign_of(&app, 12).await;
    for _ in 0..12 {
        app.call_through(&agent, "complaint").await;
    }
    let got = wait_for(&app, &receiver, 36).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_now = receiver.received();
    assert_eq!(
        got_now.len(),
        36,
        "no event sent twice: {}",
        got_now.len() - got.len()
    );
    let ids: BTreeSet<i64> = got_now
        .iter()
        .map(|r| r.json()["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 36);
    for d in deliveries(&app, &admin, webhook).await {
        assert_eq!(d["attempts"].as_array().unwrap().len(), 1, "{d}");
    }
    second.shutdown.cancel();
    second.stopped().await.unwrap();
}

crate::backend_tests!(postgres mod two_processes;
    two_postgresql_processes_send_each_event_once_per_attempt,
);

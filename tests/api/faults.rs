//! Losing PostgreSQL under load. With the real binary behind a TCP proxy the test cuts: while
//! the database is away every request that needs it is a prompt 503 problem+json, `/healthz`
//! stays 200; once it is back the service recovers by itself, background work included, and
//! every outcome that got a 2xx is there. And with PostgreSQL ending the service's sessions
//! again and again: 503s, never 500s. SQLite has no server to lose, so these are
//! PostgreSQL-only.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::{
    helpers::{
        Backend, Client, TestApp, all_day_windows, assert_acknowledged_once, fresh_database,
        history_count,
    },
    process::Server,
    proxy::Proxy,
};

const SECRET: &str = "faults-test-admin-secret";
/// How long the database stays away: longer than the pool's acquire timeout (5 s), so requests
/// that wait for a new connection give up inside the outage.
const OUTAGE: Duration = Duration::from_secs(8);
/// No request may take longer than this while the database is away.
const PROMPT: Duration = Duration::from_secs(7);
/// The service must be whole again within this long after the database returns.
const RECOVERY: Duration = Duration::from_secs(15);
/// The held lease must be reaped in the background within this long after the database
/// returns: it runs out 2 s after the return, and the scheduler's watchdog (15 s) bounds a
/// stalled worker.
const REAPED_WITHIN: Duration = Duration::from_secs(30);

/// What the load saw, for the assertions.
#[derive(Default)]
struct Seen {
    /// Contacts whose outcome was acknowledged with 200.
    acknowledged: Vec<i64>,
    /// Responses while the database was away: (status, content type, how long it took).
    during: Vec<(u16, String, Duration)>,
    /// Responses that are wrong at any time (5xx other than 503, 503 without problem+json,
    /// transport errors), with when they came.
    wrong: Vec<String>,
    /// When an outcome was last acknowledged.
    last_ack: Option<Instant>,
}

/// One agent's loop: next call, then its outcome (retried with the same Idempotency-Key until
/// it is answered), remembering every acknowledged outcome and judging every response.
async fn agent_loop(
    client: Client,
    token: String,
    stop: Arc<AtomicBool>,
    down: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
) {
    let judge = |status: StatusCode, content_type: &str, started: (Instant, bool), what: &str| {
        let seen = seen.clone();
        let took = started.0.elapsed();
        let was_down = started.1 || down.load(Ordering::SeqCst);
        let content_type = content_type.to_owned();
        let what = what.to_owned();
        async move {
            let mut seen = seen.lock().await;
            if was_down {
                seen.during
                    .push((status.as_u16(), content_type.clone(), took));
            }
            let ok_503 = status == StatusCode::SERVICE_UNAVAILABLE
                && content_type.starts_with("application/problem+json");
            if status.is_server_error() && !ok_503 {
                seen.wrong
                    .push(format!("{what}: {status} {content_type} after {took:?}"));
            }
        }
    };
    while !stop.load(Ordering::SeqCst) {
        let started = (Instant::now(), down.load(Ordering::SeqCst));
        let next = client.next(&token).await;
        judge(next.status, &next.content_type, started, "next").await;
        let (status, body) = (next.status, next.body);
        if status == StatusCode::NO_CONTENT {
            return;
        }
        if status.is_client_error() {
            seen.lock()
                .await
                .wrong
                .push(format!("next: {status} {body}"));
            return;
        }
        if status != StatusCode::OK {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let call = body["call"]["id"].as_i64().unwrap();
        let contact = body["contact"]["id"].as_i64().unwrap();
        loop {
            let started = (Instant::now(), down.load(Ordering::SeqCst));
            let path = format!("/v1/calls/{call}/outcome");
            let r = client
                .send(
                    client
                        .request(Method::POST, &path, Some(&token))
                        .header("Idempotency-Key", format!("outcome-{call}"))
                        .json(&json!({"disposition": "accepted"})),
                )
                .await;
            let status = r.status;
            judge(status, &r.content_type, started, "outcome").await;
            if status == StatusCode::OK {
                let mut seen = seen.lock().await;
                seen.acknowledged.push(contact);
                seen.last_ack = Some(Instant::now());
                break;
            }
            if !status.is_server_error() {
                seen.lock()
                    .await
                    .wrong
                    .push(format!("outcome for call {call}: {status}"));
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The campaign's stats count one attempt for each acknowledged outcome.
async fn assert_rollups_agree(client: &Client, campaign: i64, acknowledged: usize) {
    let stats = client
        .get(&format!("/v1/stats/campaigns/{campaign}"), client.admin())
        .await
        .body;
    assert_eq!(
        stats["attempts"].as_u64(),
        Some(acknowledged as u64),
        "the roll-ups agree: {stats}"
    );
}

/// Polls `path` until it answers `want`; returns how long that took.
async fn until_status(client: &Client, path: &str, want: StatusCode, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let status = client.get(path, client.admin()).await.status;
        if status == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{path} did not answer {want} within {within:?} (last {status})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn losing_postgresql_under_load_gives_503s_then_recovers_by_itself_losing_nothing_acknowledged(
    backend: Backend,
) {
    let (direct, _) = fresh_database(backend).await;
    let (head, database) = direct.rsplit_once('/').unwrap();
    let upstream = head.rsplit_once('@').map_or(head, |(_, h)| h);
    let upstream = upstream.trim_start_matches("postgres://");
    let proxy = Proxy::start(upstream).await;
    let userinfo = head
        .trim_start_matches("postgres://")
        .rsplit_once('@')
        .map_or(String::new(), |(u, _)| format!("{u}@"));
    let url = format!("postgres://{userinfo}127.0.0.1:{}/{database}", proxy.port());
    let log = std::env::temp_dir().join(format!("outcall-faults-{}.log", std::process::id()));
    let server = Server::start_full(&url, Some(SECRET), Some(&log), &[]);
    let client = server.client(SECRET);
    let windows = all_day_windows();
    client
        .create("/v1/offers", json!({"code": "LOSS", "name": "loss"}))
        .await;
    let script = client
        .create("/v1/scripts", json!({"name": "s", "body": "hi"}))
        .await["id"]
        .clone();
    let campaign = |name: &str, team: &str, lease: &str| {
        json!({"name": name, "offer": "LOSS", "script_id": script, "calling_windows": windows,
               "teams": [team], "lease": lease})
    };
    let load = client
        .create("/v1/campaigns", campaign("load", "load", "15m"))
        .await["id"]
        .as_i64()
        .unwrap();
    let held = client
        .create("/v1/campaigns", campaign("held", "holders", "10s"))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut csv = String::from("phone\n");
    for i in 0..3000 {
        csv.push_str(&format!("1370000{i:04}\n"));
    }
    for (id, csv) in [
        (load, csv),
        (held, "phone\n13900000001\n13900000002\n".to_owned()),
    ] {
        let r = client.import_csv(id, csv).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        client.start_campaign(id).await;
    }

    let down = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut tokens = vec![];
    for i in 0..8 {
        let agent = client
            .create(
                "/v1/agents",
                json!({"name": format!("a{i}"), "team": "load"}),
            )
            .await;
        let token = agent["token"].as_str().unwrap().to_owned();
        client.sign_in(&token).await;
        tokens.push(token);
    }
    let load_with = |stop: &Arc<AtomicBool>| {
        tokens
            .iter()
            .map(|token| {
                tokio::spawn(agent_loop(
                    client.clone(),
                    token.clone(),
                    stop.clone(),
                    down.clone(),
                    seen.clone(),
                ))
            })
            .collect::<Vec<_>>()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let agents = load_with(&stop);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = seen.lock().await.acknowledged.len();
    assert!(
        before > 10,
        "the load runs before the cut ({before} outcomes)"
    );
    // A call whose 10 s lease runs out after the database is back; nobody reports on it.
    let holder = client
        .create("/v1/agents", json!({"name": "holder", "team": "holders"}))
        .await;
    client.sign_in(holder["token"].as_str().unwrap()).await;
    let (_, _, call) = client.take(holder["token"].as_str().unwrap()).await;
    let held_contact = call["contact"]["id"].as_i64().unwrap();

    // The database goes away.
    down.store(true, Ordering::SeqCst);
    proxy.cut().await;
    let cut_at = Instant::now();
    let readyz_503_after = until_status(
        &client,
        "/readyz",
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(5),
    )
    .await;
    let started = Instant::now();
    let r = client.call(Method::GET, "/readyz", None, Value::Null).await;
    let readyz_took = started.elapsed();
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        r.content_type.starts_with("application/problem+json"),
        "{}",
        r.content_type
    );
    assert!(
        readyz_took < Duration::from_secs(3),
        "/readyz answers promptly while the database is away ({readyz_took:?})"
    );
    let status = client
        .call(Method::GET, "/healthz", None, Value::Null)
        .await
        .status;
    assert_eq!(status, StatusCode::OK, "the process itself is up");
    // A request that must read the database, with an admin token.
    let started = Instant::now();
    let r = client.get(&format!("/v1/campaigns/{load}"), SECRET).await;
    let lookup_took = started.elapsed();
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.content_type.starts_with("application/problem+json"));
    assert_eq!(r.body["status"], 503);
    // From here on agents only finish the outcomes they hold: no hand-out (which also reaps
    // expired leases) runs until the background reaper has been seen to work.
    stop.store(true, Ordering::SeqCst);
    tokio::time::sleep(OUTAGE.saturating_sub(cut_at.elapsed())).await;

    // It comes back.
    proxy.restore().await;
    let restored_at = Instant::now();
    down.store(false, Ordering::SeqCst);
    let readyz_200_after = until_status(&client, "/readyz", StatusCode::OK, RECOVERY).await;
    for agent in agents {
        agent.await.unwrap();
    }
    let first_ack_after = seen
        .lock()
        .await
        .last_ack
        .filter(|at| *at > restored_at)
        .map(|at| at - restored_at);
    assert!(
        first_ack_after.is_some_and(|after| after < RECOVERY),
        "the outcomes held through the outage are acknowledged once the database is back"
    );

    // Background work survived the outage: with nobody asking for calls, the held lease runs
    // out and the scheduler hands the contact back.
    let reaped_after = loop {
        let page = client
            .get(&format!("/v1/contacts/{held_contact}"), SECRET)
            .await
            .body;
        let expired = page["history"]
            .as_array()
            .is_some_and(|h| h.iter().any(|h| h["event"] == "lease_expired"));
        if expired && page["campaigns"][0]["state"] == "ready" {
            break cut_at.elapsed();
        }
        assert!(
            restored_at.elapsed() < REAPED_WITHIN,
            "the lease that ran out after the outage was not reaped in the background: {page}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    // Hand-outs work again.
    let at_return = seen.lock().await.acknowledged.len();
    let stop = Arc::new(AtomicBool::new(false));
    let agents = load_with(&stop);
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    for agent in agents {
        agent.await.unwrap();
    }

    let seen = seen.lock().await;
    let worst = seen
        .during
        .iter()
        .map(|(_, _, took)| *took)
        .max()
        .unwrap_or_default();
    let unavailable = seen.during.iter().filter(|(s, _, _)| *s == 503).count();
    let mut by_status = std::collections::BTreeMap::new();
    for (status, _, _) in &seen.during {
        *by_status.entry(*status).or_insert(0) += 1;
    }
    eprintln!(
        "database loss: /readyz 503 after {readyz_503_after:?} (answered in {readyz_took:?}), \
         campaign lookup 503 in {lookup_took:?}; responses while away by status {by_status:?} \
         (slowest {worst:?}); after the return /readyz 200 in {readyz_200_after:?}, first \
         acknowledged outcome in {first_ack_after:?}; the lease due 10 s after the cut reaped \
         {reaped_after:?} after the cut; outcomes acknowledged: {before} before the cut, {} in all",
        seen.acknowledged.len()
    );
    assert!(
        seen.wrong.is_empty(),
        "every failure is a 503 problem+json: {:?}",
        seen.wrong
    );
    assert!(
        unavailable > 0,
        "the load met the outage: {:?}",
        seen.during
    );
    assert!(
        worst < PROMPT,
        "no request hangs while the database is away (slowest {worst:?})"
    );
    assert!(
        seen.acknowledged.len() > at_return,
        "calls are handed out and outcomes acknowledged after the return"
    );

    // Nothing acknowledged is lost, and nothing is recorded twice.
    for contact in &seen.acknowledged {
        let r = client.get(&format!("/v1/contacts/{contact}"), SECRET).await;
        let (status, page) = (r.status, r.body);
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_acknowledged_once(&page, *contact);
    }
    assert_rollups_agree(&client, load, seen.acknowledged.len()).await;
    drop(server);
    let _ = std::fs::remove_file(&log);
}

/// The other way to lose the database: PostgreSQL ends the service's sessions
/// (`pg_terminate_backend`, as an administrator or a failover does), again and again under
/// load. Queries cut off that way are 503s the agent retries, never 500s, and nothing
/// acknowledged is lost.
async fn postgresql_ending_the_services_sessions_under_load_gives_503s_never_500s(
    backend: Backend,
) {
    let app = TestApp::start(backend).await;
    let mut csv = String::from("phone\n");
    for i in 0..3000 {
        csv.push_str(&format!("1370000{i:04}\n"));
    }
    let campaign = app.running_campaign(json!({}), &csv).await;
    let client = app.client.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let down = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut agents = vec![];
    for i in 0..8 {
        let (_, token) = app.agent(&format!("a{i}"), None).await;
        agents.push(tokio::spawn(agent_loop(
            client.clone(),
            token,
            stop.clone(),
            down.clone(),
            seen.clone(),
        )));
    }
    let database = app.database_url.rsplit('/').next().unwrap().to_owned();
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&crate::helpers::postgres_admin_url())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut terminated = 0;
    for _ in 0..20 {
        let ended: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&database)
        .fetch_all(&mut admin)
        .await
        .unwrap();
        terminated += ended.into_iter().filter(|e| *e).count();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let ready = client
        .call(Method::GET, "/readyz", None, Value::Null)
        .await
        .status;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    for agent in agents {
        agent.await.unwrap();
    }
    let seen = seen.lock().await;
    eprintln!(
        "sessions ended: {terminated} sessions terminated in 20 rounds; {} outcomes acknowledged",
        seen.acknowledged.len()
    );
    assert!(terminated >= 20, "sessions were ended ({terminated})");
    assert_eq!(
        ready,
        StatusCode::OK,
        "ready again once sessions can be opened"
    );
    assert!(
        seen.wrong.is_empty(),
        "every failure is a 503 problem+json: {:?}",
        seen.wrong
    );
    for contact in &seen.acknowledged {
        let page = client
            .get(&format!("/v1/contacts/{contact}"), app.admin())
            .await
            .body;
        let outcomes = history_count(&page, "outcome");
        assert_eq!(
            outcomes, 1,
            "contact {contact}: exactly one outcome recorded"
        );
    }
    assert_rollups_agree(&client, campaign, seen.acknowledged.len()).await;
}

crate::backend_tests!(
    postgres mod db_loss_postgres;
    losing_postgresql_under_load_gives_503s_then_recovers_by_itself_losing_nothing_acknowledged,
    postgresql_ending_the_services_sessions_under_load_gives_503s_never_500s,
);

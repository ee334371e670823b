//! Limits that keep the service and its data sound: recurrences at most once a minute, a
//! promotion sweep that writes each opened callback's history once however many fall due,
//! SQLite durable by default, and a failed-auth limit per client behind a trusted proxy.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, TestApp, history_count};

async fn a_recurrence_more_often_than_once_a_minute_is_refused(app: TestApp) {
    let (offer, script) = (app.offer("EVERY").await, app.script("hi").await);
    for every in ["* * * * * *", "*/30 * * * * *", "0,30 * * * * *"] {
        let body = json!({"name": "x", "offer": offer, "script_id": script, "recurrence": every});
        let r = app.post("/v1/campaigns", app.admin(), body).await;
        r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "recurrence");
        let q = every
            .replace(' ', "%20")
            .replace(',', "%2C")
            .replace('/', "%2F");
        app.get(
            &format!("/v1/schedules/preview?recurrence={q}"),
            app.admin(),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "recurrence");
    }
    let id = app.campaign(json!({"recurrence": "0 * * * * *"})).await;
    app.call(
        Method::PATCH,
        &format!("/v1/campaigns/{id}"),
        Some(app.admin()),
        json!({"recurrence": "*/10 * * * * *"}),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "recurrence");
}

async fn each_promoted_callback_is_opened_once_in_the_history_even_past_a_sweeps_batch(
    app: TestApp,
) {
    let id = app
        .running_campaign(json!({}), "phone\n13800138000\n13800138001\n13800138002\n")
        .await;
    let (_, agent) = app.agent("caller", None).await;
    let mut contacts = vec![];
    for _ in 0..3 {
        let (call, _, body) = app.take(&agent).await;
        contacts.push(body["contact"]["id"].as_i64().unwrap());
        app.outcome(
            &agent,
            call,
            json!({"disposition": "callback", "callback_at": "2026-11-25T10:05:00+08:00"}),
        )
        .await
        .expect(StatusCode::OK);
    }
    // Due at 10:05, the agent's for 15 minutes more: at 10:30 all three open to the campaign,
    // two per sweep here.
    app.advance(30 * 60);
    app.tick().await;
    app.tick().await;
    assert_eq!(app.contacts(id, Some("ready")).await.len(), 3);
    for contact in contacts {
        let page = app
            .get(&format!("/v1/contacts/{contact}"), app.admin())
            .await;
        assert_eq!(
            history_count(&page.body, "callback_opened"),
            1,
            "contact {contact}: {}",
            page.text
        );
    }
}

async fn sqlite_syncs_every_commit_unless_told_to_sync_at_checkpoints(backend: Backend) {
    for (setting, want) in [(None, 2), (Some("normal"), 1)] {
        let app = TestApp::start_with(backend, |c| {
            if let Some(s) = setting {
                c.sqlite_sync = clap::ValueEnum::from_str(s, true).unwrap();
            }
        })
        .await;
        let store = app.running.as_ref().unwrap().store.clone();
        let level: i64 =
            outcall::on_pool!(&store.pool, |p| sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(p)
                .await
                .unwrap());
        assert_eq!(
            level, want,
            "synchronous with {setting:?} (2 is FULL, 1 NORMAL)"
        );
    }
}

/// Four unknown tokens from one client address (`client`), then one from another.
async fn guess(app: &TestApp, client: &str, other: &str) -> (Vec<u16>, Option<String>, u16) {
    let bad = |from: &str| {
        app.request(Method::GET, "/v1/offers", Some("oc_not_a_token"))
            .header("x-forwarded-for", format!("{from}, 127.0.0.1"))
    };
    let mut statuses = vec![];
    let mut retry_after = None;
    for _ in 0..4 {
        let r = app.send(bad(client)).await;
        retry_after = r
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        statuses.push(r.status.as_u16());
    }
    (
        statuses,
        retry_after,
        app.send(bad(other)).await.status.as_u16(),
    )
}

async fn behind_a_trusted_proxy_each_client_has_its_own_failed_auth_limit(backend: Backend) {
    let trusted = TestApp::start_with(backend, |c| {
        c.auth_failures_per_minute = 3;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let (statuses, retry_after, other) = guess(&trusted, "203.0.113.7", "198.51.100.9").await;
    assert_eq!(statuses, vec![401, 401, 401, 429]);
    let wait: u64 = retry_after
        .expect("a 429 says when to retry")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(
        other, 401,
        "another client behind the proxy is not held back"
    );
    let valid = trusted
        .request(Method::GET, "/v1/offers", Some(trusted.admin()))
        .header("x-forwarded-for", "203.0.113.7");
    assert_eq!(
        trusted.send(valid).await.status,
        StatusCode::OK,
        "valid tokens keep working"
    );

    // Without trusted proxies the header is ignored: everyone here is 127.0.0.1.
    let plain = TestApp::start_with(backend, |c| c.auth_failures_per_minute = 3).await;
    let (statuses, _, other) = guess(&plain, "203.0.113.7", "198.51.100.9").await;
    assert_eq!(statuses, vec![401, 401, 401, 429]);
    assert_eq!(
        other, 429,
        "a forwarded-for header from an untrusted peer names no one"
    );
}

/// Promotion sweeps of two entries at most.
async fn small_sweeps(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| c.promote_batch = 2).await
}

crate::on_both_backends!(a_recurrence_more_often_than_once_a_minute_is_refused);
crate::on_both_backends!(
    start = super::small_sweeps;
    mod sweep_sqlite, sweep_postgres;
    each_promoted_callback_is_opened_once_in_the_history_even_past_a_sweeps_batch,
);
crate::backend_tests!(sqlite mod sync_sqlite; sqlite_syncs_every_commit_unless_told_to_sync_at_checkpoints);
crate::backend_tests!(
    mod limiter_sqlite, limiter_postgres;
    behind_a_trusted_proxy_each_client_has_its_own_failed_auth_limit
);

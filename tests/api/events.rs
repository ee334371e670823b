//! The live stream holds up under real use: open streams are capped per token and per process
//! and a closed one frees its place, a revoked token's stream ends within seconds, and a replay
//! that cannot be sent whole is an explicit `reset` followed by live events.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp},
    stats::read_events,
};

/// Opens `GET /v1/events` with `token` (and `Last-Event-ID` if given), headers read, body not.
async fn open(app: &TestApp, token: &str, last: Option<i64>) -> reqwest::Response {
    let mut req = app.request(Method::GET, "/v1/events", Some(token));
    if let Some(last) = last {
        req = req.header("Last-Event-ID", last.to_string());
    }
    req.send().await.expect("the request reaches the server")
}

/// Asserts a refusal of a stream: this status, problem+json, and a `Retry-After` in seconds.
async fn assert_refused(response: reqwest::Response, status: StatusCode) {
    assert_eq!(response.status(), status);
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        retry_after.is_some_and(|s| s > 0),
        "Retry-After in seconds: {:?}",
        response.headers().get("retry-after")
    );
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
}

/// Tries to open a stream until one is accepted (a closed stream's place is freed as soon as
/// the server notices the client gone), failing after `secs`.
async fn open_eventually(app: &TestApp, token: &str, secs: u64) -> reqwest::Response {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let r = open(app, token, None).await;
        if r.status() == StatusCode::OK {
            return r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a closed stream's place is freed within {secs} s; still {}",
            r.status()
        );
        drop(r);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn small_caps(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| {
        c.event_streams_per_token = 2;
        c.event_streams_per_process = 3;
    })
    .await
}

async fn a_token_over_its_stream_cap_gets_429_with_retry_after_and_closing_a_stream_frees_its_place(
    app: TestApp,
) {
    let viewer = app.token("viewer").await;
    let first = open(&app, &viewer, None).await;
    let second = open(&app, &viewer, None).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::OK);
    assert_refused(
        open(&app, &viewer, None).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    // Another token is not held back by this one's streams.
    let other = app.token("viewer").await;
    let others = open(&app, &other, None).await;
    assert_eq!(others.status(), StatusCode::OK);
    drop(first);
    let again = open_eventually(&app, &viewer, 5).await;
    assert_refused(
        open(&app, &viewer, None).await,
        StatusCode::TOO_MANY_REQUESTS,
    )
    .await;
    drop((second, again, others));
}

async fn a_process_over_its_stream_cap_answers_503_with_retry_after_and_closing_a_stream_frees_its_place(
    app: TestApp,
) {
    let (a, b) = (app.token("viewer").await, app.token("lead").await);
    let streams = [
        open(&app, &a, None).await,
        open(&app, &a, None).await,
        open(&app, &b, None).await,
    ];
    assert!(streams.iter().all(|s| s.status() == StatusCode::OK));
    let c = app.token("viewer").await;
    assert_refused(open(&app, &c, None).await, StatusCode::SERVICE_UNAVAILABLE).await;
    let [first, second, third] = streams;
    drop(third);
    let c_stream = open_eventually(&app, &c, 5).await;
    assert_refused(open(&app, &b, None).await, StatusCode::SERVICE_UNAVAILABLE).await;
    drop((first, second, c_stream));
}

/// Reads a stream until it ends, for at most `secs`; whether it ended.
async fn ends_within(mut response: reqwest::Response, secs: u64) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Err(_) => return false,
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None) | Err(_)) => return true,
        }
    }
}

async fn revoking_a_viewer_or_lead_token_ends_its_open_stream_within_seconds(app: TestApp) {
    let viewer = app
        .create("/v1/tokens", json!({"role": "viewer", "name": "wallboard"}))
        .await;
    let lead = app
        .create("/v1/tokens", json!({"role": "lead", "name": "lead"}))
        .await;
    let viewer_stream = open(&app, viewer["token"].as_str().unwrap(), None).await;
    let lead_stream = open(&app, lead["token"].as_str().unwrap(), None).await;
    assert_eq!(viewer_stream.status(), StatusCode::OK);
    assert_eq!(lead_stream.status(), StatusCode::OK);
    let app = &app;
    let revoke = |id: &Value| {
        let path = format!("/v1/tokens/{id}");
        async move {
            app.call(Method::DELETE, &path, Some(app.admin()), Value::Null)
                .await
        }
    };
    revoke(&viewer["id"]).await.expect(StatusCode::NO_CONTENT);
    let started = std::time::Instant::now();
    // The default re-check runs every 5 s.
    assert!(
        ends_within(viewer_stream, 10).await,
        "the revoked viewer's stream ended"
    );
    let ended_after = started.elapsed();
    // The lead's token is live: its stream outlasts the viewer's by at least one re-check.
    let (lead_stream, still) = {
        let mut s = lead_stream;
        let r = tokio::time::timeout(Duration::from_secs(6), s.chunk()).await;
        (s, !matches!(r, Ok(Ok(None) | Err(_))))
    };
    assert!(still, "a live token's stream stays open");
    revoke(&lead["id"]).await.expect(StatusCode::NO_CONTENT);
    assert!(
        ends_within(lead_stream, 10).await,
        "the revoked lead's stream ended"
    );
    assert!(ended_after < Duration::from_secs(10), "{ended_after:?}");
    let again = open(app, viewer["token"].as_str().unwrap(), None).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}

async fn small_replay(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| c.event_replay_limit = 3).await
}

/// Moves a campaign through pause and resume `times` times: two `campaign` events each.
async fn flip(app: &TestApp, campaign: i64, times: usize) {
    for _ in 0..times {
        app.campaign_action(campaign, "pause")
            .await
            .expect(StatusCode::OK);
        app.campaign_action(campaign, "resume")
            .await
            .expect(StatusCode::OK);
    }
}

async fn a_replay_longer_than_the_replay_limit_sends_reset_then_live_events(app: TestApp) {
    let viewer = app.token("viewer").await;
    let campaign = app.campaign(json!({})).await;
    let live = open(&app, &viewer, None).await;
    app.start_campaign(campaign).await;
    let first = read_events(live, 1, 10).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let seen = first[0].0;
    // Four events missed, one more than the limit.
    flip(&app, campaign, 2).await;
    let replay = open(&app, &viewer, Some(seen)).await;
    assert_eq!(replay.status(), StatusCode::OK);
    let reader = tokio::spawn(read_events(replay, 2, 10));
    // A live event after the reset, once the stream is surely past its start.
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.campaign_action(campaign, "pause")
        .await
        .expect(StatusCode::OK);
    let events = reader.await.unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    let (reset_id, kind, data) = &events[0];
    assert_eq!(kind, "reset", "{events:?}");
    assert_eq!(data["reason"], "too_many");
    assert!(*reset_id >= seen + 4, "the reset carries the newest id");
    assert_eq!(events[1].1, "campaign");
    assert_eq!(events[1].2["status"], "paused");
    assert!(events[1].0 > *reset_id);
    // From the reset's id on, nothing more is missed: no reset, the live event replayed.
    let after_reset = open(&app, &viewer, Some(*reset_id)).await;
    let resumed = read_events(after_reset, 1, 5).await;
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].0, events[1].0);
    // A replay within the limit is sent whole, without a reset.
    for action in ["resume", "pause"] {
        app.campaign_action(campaign, action)
            .await
            .expect(StatusCode::OK);
    }
    let whole = open(&app, &viewer, Some(events[1].0)).await;
    let replayed = read_events(whole, 2, 5).await;
    let kinds: Vec<&str> = replayed.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(kinds, ["campaign", "campaign"], "{replayed:?}");
}

async fn a_replay_from_events_already_pruned_sends_reset_then_live_events(app: TestApp) {
    let viewer = app.token("viewer").await;
    let campaign = app.campaign(json!({})).await;
    let live = open(&app, &viewer, None).await;
    app.start_campaign(campaign).await;
    let first = read_events(live, 1, 10).await;
    let seen = first[0].0;
    flip(&app, campaign, 1).await;
    // The janitor prunes events older than a day; here, every one older than now + 1 s.
    let running = app.running.as_ref().expect("the server runs");
    let cutoff = running.service.now().plus_millis(1_000);
    running.store.events_prune(cutoff).await.unwrap();
    let replay = open(&app, &viewer, Some(seen)).await;
    let reader = tokio::spawn(read_events(replay, 2, 10));
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.campaign_action(campaign, "pause")
        .await
        .expect(StatusCode::OK);
    let events = reader.await.unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].1, "reset");
    assert_eq!(events[0].2["reason"], "expired");
    assert_eq!(events[1].2["status"], "paused");
    assert!(events[1].0 > events[0].0);
}

async fn live_events_keep_flowing_after_the_janitor_prunes_a_quiet_day(app: TestApp) {
    let viewer = app.token("viewer").await;
    let campaign = app.campaign(json!({})).await;
    let before = open(&app, &viewer, None).await;
    app.start_campaign(campaign).await;
    flip(&app, campaign, 1).await;
    // Once a dashboard has them, the server has seen these ids.
    let seen = read_events(before, 3, 10).await;
    assert_eq!(seen.len(), 3, "{seen:?}");
    // A day without events: the janitor prunes every one of them.
    app.advance(2 * 86_400);
    let running = app.running.as_ref().expect("the server runs");
    let day_ago = running.service.now().plus_millis(-86_400_000);
    running.store.events_prune(day_ago).await.unwrap();
    let live = open(&app, &viewer, None).await;
    let reader = tokio::spawn(read_events(live, 1, 10));
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.campaign_action(campaign, "pause")
        .await
        .expect(StatusCode::OK);
    let events = reader.await.unwrap();
    assert_eq!(events.len(), 1, "the next event reaches the dashboard");
    assert_eq!(events[0].2["status"], "paused");
    assert!(events[0].0 > seen[2].0, "ids never go back: {events:?}");
}

crate::on_both_backends!(
    start = super::small_caps;
    mod caps_sqlite, caps_postgres;
    a_token_over_its_stream_cap_gets_429_with_retry_after_and_closing_a_stream_frees_its_place,
    a_process_over_its_stream_cap_answers_503_with_retry_after_and_closing_a_stream_frees_its_place,
);

crate::on_both_backends!(
    revoking_a_viewer_or_lead_token_ends_its_open_stream_within_seconds,
    live_events_keep_flowing_after_the_janitor_prunes_a_quiet_day,
);

crate::on_both_backends!(
    start = super::small_replay;
    mod replay_sqlite, replay_postgres;
    a_replay_longer_than_the_replay_limit_sends_reset_then_live_events,
    a_replay_from_events_already_pruned_sends_reset_then_live_events,
);

//! The live stream holds up under real use: live events keep flowing after the event log was
//! pruned, and a replay that cannot be sent whole is an explicit `reset` followed by live
//! events.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

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
    let service = &app.running.as_ref().expect("the server runs").service;
    let cutoff = service.now().plus_millis(1_000);
    service.store.events_prune(cutoff).await.unwrap();
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
    let service = &app.running.as_ref().expect("the server runs").service;
    let day_ago = service.now().plus_millis(-86_400_000);
    service.store.events_prune(day_ago).await.unwrap();
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

crate::on_both_backends!(live_events_keep_flowing_after_the_janitor_prunes_a_quiet_day);

crate::on_both_backends!(
    start = super::small_replay;
    mod replay_sqlite, replay_postgres;
    a_replay_longer_than_the_replay_limit_sends_reset_then_live_events,
    a_replay_from_events_already_pruned_sends_reset_then_live_events,
);

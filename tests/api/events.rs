//! The live stream holds up under real use: live events keep flowing after the event log was
//! pruned.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{helpers::TestApp, stats::read_events};

/// Opens `GET /v1/events` with `token` (and `Last-Event-ID` if given), headers read, body not.
async fn open(app: &TestApp, token: &str, last: Option<i64>) -> reqwest::Response {
    let mut req = app.request(Method::GET, "/v1/events", Some(token));
    if let Some(last) = last {
        req = req.header("Last-Event-ID", last.to_string());
    }
    req.send().await.expect("the request reaches the server")
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

//! A campaign's funnel follows what it counts wherever that changes: a person's zone given by a
//! later import, and a person's phone rules (gap and cap), which bind across campaigns and
//! before a retry's own delay. Each contact is counted under the first reason of its own
//! explanation. Tests start on Wednesday 2026-11-25 10:00 in Shanghai; the calling hours are
//! 08:00-21:00, the cap 3/24h and the gap 1h (the defaults).

use serde_json::json;

use crate::{
    eligibility::{codes, eligibility, funnel, windows},
    helpers::TestApp,
};

async fn a_later_import_that_gives_a_person_a_zone_moves_them_in_every_campaign(app: TestApp) {
    let first = app
        .running_campaign(
            json!({"calling_windows": windows("09:00", "12:00")}),
            "phone\n13800138000\n",
        )
        .await;
    app.agent("agent", None).await;
    assert_eq!(funnel(&app, first).await["callable_now"], 1);
    // Another list says the person lives in London, where it is 02:00.
    app.running_campaign(json!({}), "phone,timezone\n13800138000,Europe/London\n")
        .await;
    let f = funnel(&app, first).await;
    assert_eq!(f["callable_now"], 0, "{f}");
    assert_eq!(f["blocked"]["outside_campaign_window"], 1, "{f}");
    assert_eq!(f["next_callable_at"], "2026-11-25T17:00:00+08:00");
}

async fn a_retry_due_before_the_phone_gap_ends_is_counted_under_the_gap(app: TestApp) {
    let campaign = app
        .running_campaign(
            json!({"retry": {"no_answer": "10m"}, "max_attempts": 3}),
            "phone\n13800138000\n",
        )
        .await;
    let (_, agent) = app.agent("agent", None).await;
    let contact = app.call_through(&agent, "no_answer").await;
    // Waiting for its retry, inside the gap: the gap comes first.
    app.advance(300);
    assert_eq!(
        codes(&eligibility(&app, contact, campaign).await),
        ["phone_min_gap", "retry_wait"]
    );
    let f = funnel(&app, campaign).await;
    assert_eq!(f["blocked"]["phone_min_gap"], 1, "{f}");
    assert_eq!(f["blocked"]["retry_wait"], 0, "{f}");
    // The retry is due and back in the queue; the gap still holds it.
    app.advance(900);
    app.tick().await;
    assert_eq!(
        codes(&eligibility(&app, contact, campaign).await),
        ["phone_min_gap"]
    );
    let f = funnel(&app, campaign).await;
    assert_eq!(f["callable_now"], 0, "{f}");
    assert_eq!(f["blocked"]["phone_min_gap"], 1, "{f}");
    assert_eq!(f["next_callable_at"], "2026-11-25T11:00:00+08:00");
    app.advance(2400);
    assert_eq!(funnel(&app, campaign).await["callable_now"], 1);
}

async fn a_person_added_to_a_campaign_within_their_gap_is_counted_under_it(app: TestApp) {
    app.running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (_, agent) = app.agent("agent", None).await;
    app.call_through(&agent, "declined").await;
    app.advance(600);
    let later = app
        .running_campaign(json!({}), "phone\n13800138000\n13800138001\n")
        .await;
    let f = funnel(&app, later).await;
    assert_eq!(f["callable_now"], 1, "{f}");
    assert_eq!(f["blocked"]["phone_min_gap"], 1, "{f}");
    assert_eq!(f["next_callable_at"], "2026-11-25T11:00:00+08:00");
}

async fn a_person_called_as_often_as_the_cap_allows_is_counted_under_the_cap(app: TestApp) {
    let campaign = app
        .running_campaign(
            json!({"retry": {"no_answer": "10m"}, "max_attempts": 5}),
            "phone\n13800138000\n",
        )
        .await;
    let (_, agent) = app.agent("agent", None).await;
    let mut contact = 0;
    for _ in 0..3 {
        contact = app.call_through(&agent, "no_answer").await;
        app.advance(3600);
        app.tick().await;
    }
    // Three calls today (10:00, 11:00, 12:00): the cap holds the phone until 10:00 tomorrow.
    assert_eq!(
        codes(&eligibility(&app, contact, campaign).await),
        ["phone_cap"]
    );
    let f = funnel(&app, campaign).await;
    assert_eq!(f["callable_now"], 0, "{f}");
    assert_eq!(f["blocked"]["phone_cap"], 1, "{f}");
    assert_eq!(f["next_callable_at"], "2026-11-26T10:00:00+08:00");
}

crate::on_both_backends!(
    a_later_import_that_gives_a_person_a_zone_moves_them_in_every_campaign,
    a_retry_due_before_the_phone_gap_ends_is_counted_under_the_gap,
    a_person_added_to_a_campaign_within_their_gap_is_counted_under_it,
    a_person_called_as_often_as_the_cap_allows_is_counted_under_the_cap,
);

//! Leases: one that runs out puts the contact back in the queue (and a late outcome counts only
//! while nobody else took the person), a heartbeat extends it, a release gives the call back
//! unattempted, and so does deactivating the agent.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn an_expired_lease_goes_back_to_the_queue_and_a_late_outcome_is_409(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({"lease": "30s"}), "phone\n13800138000\n")
        .await;
    let (_, first) = app.agent("first", None).await;
    let (_, second) = app.agent("second", None).await;
    let (call, _, _) = app.take(&first).await;
    app.next(&second).await.expect(StatusCode::NO_CONTENT);
    app.advance(31);
    let (again, phone, body) = app.take(&second).await;
    assert_ne!(again, call);
    assert_eq!(phone, "+8613800138000");
    assert_eq!(
        body["call"]["attempt"], 1,
        "an expired lease is not an attempt"
    );
    assert_eq!(body["history"][0]["event"], "lease_expired");
    assert_eq!(body["history"][0]["agent"], "first");
    app.outcome(&first, call, json!({"disposition": "accepted"}))
        .await
        .expect_problem(StatusCode::CONFLICT, "");
    app.heartbeat(&first, call)
        .await
        .expect_problem(StatusCode::CONFLICT, "");
    app.outcome(&second, again, json!({"disposition": "accepted"}))
        .await
        .expect(StatusCode::OK);
    app.outcome(&second, call, json!({"disposition": "accepted"}))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "");
}

async fn an_outcome_after_expiry_counts_while_nobody_else_took_the_contact(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({"lease": "30s"}), "phone\n13800138000\n")
        .await;
    let (_, agent) = app.agent("slow", None).await;
    let (call, _, _) = app.take(&agent).await;
    app.advance(45);
    app.outcome(&agent, call, json!({"disposition": "accepted"}))
        .await
        .expect(StatusCode::OK);
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
}

async fn a_late_outcome_is_409_once_the_person_was_handed_out_in_another_campaign(app: TestApp) {
    // One person in two campaigns; the first campaign outranks the second.
    let first_campaign = app
        .running_campaign(
            json!({"lease": "30s", "priority": 90}),
            "phone\n13800138000\n",
        )
        .await;
    app.running_campaign(
        json!({"lease": "30s", "priority": 10}),
        "phone\n13800138000\n",
    )
    .await;
    let (_, slow) = app.agent("slow", None).await;
    let (_, other) = app.agent("other", None).await;
    let (call, _, _) = app.take(&slow).await;
    app.advance(31);
    app.campaign_action(first_campaign, "pause")
        .await
        .expect(StatusCode::OK);
    let (again, phone, body) = app.take(&other).await;
    assert_eq!(phone, "+8613800138000");
    assert_ne!(
        body["campaign"]["id"], first_campaign,
        "handed out through the other campaign"
    );
    // The slow agent's outcome would now overlap the other agent's hold on the same person.
    app.outcome(&slow, call, json!({"disposition": "accepted"}))
        .await
        .expect_problem(StatusCode::CONFLICT, "");
    app.outcome(&other, again, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
}

async fn an_agent_whose_lease_just_ran_out_gets_a_call_before_the_reaper_passes(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({"lease": "30s"}), "phone\n13800138000\n13800138001\n")
        .await;
    let (_, first) = app.agent("first", None).await;
    let (_, second) = app.agent("second", None).await;
    let (call, _, _) = app.take(&first).await;
    // Another hand-out sweeps just before the lease runs out; the first agent asks again
    // within the quarter second in which hand-outs do not sweep, so the lapsed lease is still
    // recorded as theirs and would make the one-lease-per-agent index refuse every claim.
    app.clock.advance(std::time::Duration::from_millis(29_900));
    app.take(&second).await;
    app.clock.advance(std::time::Duration::from_millis(200));
    let (again, _, body) = app.take(&first).await;
    assert_ne!(again, call, "the lapsed call is not handed back");
    assert_eq!(body["history"][0]["event"], "lease_expired");
}

async fn a_heartbeat_extends_the_lease(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({"lease": "60s"}), "phone\n13800138000\n")
        .await;
    let (_, holder) = app.agent("holder", None).await;
    let (_, other) = app.agent("other", None).await;
    let (call, _, _) = app.take(&holder).await;
    app.advance(50);
    let r = app
        .call(
            Method::POST,
            &format!("/v1/calls/{call}/heartbeat"),
            Some(&holder),
            Value::Null,
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["lease_expires_at"], "2026-11-25T10:01:50+08:00");
    app.advance(50);
    app.next(&other).await.expect(StatusCode::NO_CONTENT);
    app.heartbeat(&other, call)
        .await
        .expect_problem(StatusCode::NOT_FOUND, "");
}

async fn a_released_call_goes_back_unattempted(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (_, a) = app.agent("a", None).await;
    let (_, b) = app.agent("b", None).await;
    let (call, _, _) = app.take(&a).await;
    app.release(&a, call).await.expect(StatusCode::OK);
    app.release(&a, call)
        .await
        .expect_problem(StatusCode::CONFLICT, "");
    let (_, _, body) = app.take(&b).await;
    assert_eq!(body["call"]["attempt"], 1);
    assert_eq!(body["history"][0]["event"], "released");
}

async fn deactivating_an_agent_releases_their_call(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (id, leaving) = app.agent("leaving", None).await;
    let (_, staying) = app.agent("staying", None).await;
    app.take(&leaving).await;
    app.call(
        Method::PATCH,
        &format!("/v1/agents/{id}"),
        Some(app.admin()),
        json!({"active": false}),
    )
    .await
    .expect(StatusCode::OK);
    app.next(&leaving)
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "");
    app.take(&staying).await;
}

crate::on_both_backends!(
    an_expired_lease_goes_back_to_the_queue_and_a_late_outcome_is_409,
    a_late_outcome_is_409_once_the_person_was_handed_out_in_another_campaign,
    an_outcome_after_expiry_counts_while_nobody_else_took_the_contact,
    an_agent_whose_lease_just_ran_out_gets_a_call_before_the_reaper_passes,
    a_heartbeat_extends_the_lease,
    a_released_call_goes_back_unattempted,
    deactivating_an_agent_releases_their_call,
);

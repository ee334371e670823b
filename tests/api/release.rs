//! Releasing a call: an agent hands back their own, a supervisor or lead anyone's; a preview
//! agent may skip a contact, which keeps it away from them (only them) for the campaign's
//! `no_answer` delay without counting an attempt.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, history_count};

async fn a_skipped_contact_is_not_offered_to_the_same_agent_within_the_no_answer_delay(
    app: TestApp,
) {
    let campaign = app
        .running_campaign(
            json!({"retry": {"no_answer": "2h"}}),
            "phone\n13800138000\n",
        )
        .await;
    let (_, first) = app.agent("first", None).await;
    let (_, second) = app.agent("second", None).await;
    let (call, _, _) = app.take(&first).await;
    let r = app
        .release_with(&first, call, json!({"skip": true, "reason": "不方便"}))
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["call"]["state"], "released");
    assert!(r.body["call"]["skip_until"].is_string(), "{}", r.text);
    app.next(&first).await.expect(StatusCode::NO_CONTENT);
    app.advance(3600);
    app.next(&first).await.expect(StatusCode::NO_CONTENT);

    // Someone else may still get it, and a plain release brings it back at once.
    let (again, phone, body) = app.take(&second).await;
    assert_eq!(phone, "+8613800138000");
    assert_eq!(body["call"]["attempt"], 1, "a skip is not an attempt");
    assert_eq!(history_count(&body, "released"), 1);
    assert_eq!(body["history"][0]["notes"], "不方便");
    app.release_with(&second, again, json!({}))
        .await
        .expect(StatusCode::OK);
    app.next(&first).await.expect(StatusCode::NO_CONTENT);

    app.advance(3601);
    let (_, phone, body) = app.take(&first).await;
    assert_eq!(phone, "+8613800138000", "the skip ran out");
    assert_eq!(body["call"]["attempt"], 1);
    let entries = app.contacts(campaign, None).await;
    assert_eq!(entries[0]["attempts"], 0, "no attempt was counted");
}

async fn a_skip_passes_over_the_contact_to_the_next_one_in_line(app: TestApp) {
    app.running_campaign(json!({}), "phone\n13800138000\n13800138001\n")
        .await;
    let (_, agent) = app.agent("preview", None).await;
    let (call, phone, _) = app.take(&agent).await;
    app.release_with(&agent, call, json!({"skip": true}))
        .await
        .expect(StatusCode::OK);
    let (_, next, _) = app.take(&agent).await;
    assert_ne!(next, phone, "the skipped contact is passed over");
}

async fn a_supervisor_or_lead_may_release_any_call_and_another_agent_may_not(app: TestApp) {
    app.running_campaign(json!({}), "phone\n13800138000\n13800138001\n")
        .await;
    let (_, first) = app.agent("first", None).await;
    let (_, second) = app.agent("second", None).await;
    let supervisor = app.token("supervisor").await;
    let lead = app.token("lead").await;
    let viewer = app.token("viewer").await;
    let (call, phone, _) = app.take(&first).await;
    app.release_with(&second, call, json!({}))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "");
    app.release_with(&viewer, call, json!({}))
        .await
        .expect_problem(StatusCode::FORBIDDEN, "");
    let r = app
        .release_with(&supervisor, call, json!({"reason": "agent left the desk"}))
        .await;
    r.expect(StatusCode::OK);
    app.heartbeat(&first, call)
        .await
        .expect_problem(StatusCode::CONFLICT, "");
    app.release_with(&supervisor, call, json!({}))
        .await
        .expect_problem(StatusCode::CONFLICT, "");
    let (other, again, body) = app.take(&second).await;
    assert_eq!(
        again, phone,
        "the released contact is back at the head of the queue"
    );
    assert_eq!(body["history"][0]["notes"], "agent left the desk");
    app.release_with(&lead, other, json!({"skip": true}))
        .await
        .expect(StatusCode::OK);
    let (_, after, _) = app.take(&second).await;
    assert_ne!(
        after, phone,
        "a lead's skip keeps the contact from the call's agent"
    );
}

async fn bad_release_bodies_are_refused_naming_the_field(app: TestApp) {
    app.running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (_, agent) = app.agent("agent", None).await;
    let (call, _, _) = app.take(&agent).await;
    let long = "很".repeat(501);
    for (body, field) in [
        (json!({"skip": "yes"}), "skip"),
        (json!({"reason": 7}), "reason"),
        (json!({"reason": "a\u{0}b"}), "reason"),
        (json!({"reason": long}), "reason"),
    ] {
        app.release_with(&agent, call, body.clone())
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    app.release_with(&agent, call, json!({"skip": false}))
        .await
        .expect(StatusCode::OK);
}

crate::on_both_backends!(
    a_skipped_contact_is_not_offered_to_the_same_agent_within_the_no_answer_delay,
    a_skip_passes_over_the_contact_to_the_next_one_in_line,
    a_supervisor_or_lead_may_release_any_call_and_another_agent_may_not,
    bad_release_bodies_are_refused_naming_the_field,
);

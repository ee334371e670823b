//! The agent desk in the browser against a supervisor's pending pause, a release under the
//! agent, and its own "sign out" (see `web.rs` for how scenarios run).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{ADMIN_SECRET, TestApp},
    web::scenario,
};

async fn a_desk_learns_of_a_pending_pause_and_a_released_call_within_two_seconds_and_its_sign_out_sets_offline(
    app: TestApp,
) {
    app.running_campaign(json!({}), "phone\n13800138000\n13900139000\n")
        .await;
    app.create("/v1/pause-reasons", json!({"name": "辅导"}))
        .await;
    let (agent_id, agent) = app.agent("agent", None).await;
    let supervisor = app.token("supervisor").await;
    scenario(
        &app,
        "desk_pending",
        json!({"agent_token": agent, "agent": agent_id, "supervisor_token": supervisor,
               "reason": "辅导", "release_reason": "主管接手"}),
    )
    .await;

    let floor = app.get("/v1/floor", &supervisor).await;
    floor.expect(StatusCode::OK);
    let me = floor.body["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent"] == agent_id)
        .unwrap()
        .clone();
    assert_eq!(me["state"], "offline", "the desk's sign out: {me}");
    assert_eq!(me["call"], Value::Null, "the held call went back: {me}");

    // The first contact: released by the supervisor, then its outcome from the desk.
    let found = app
        .get("/v1/contacts?phone=13800138000", ADMIN_SECRET)
        .await;
    found.expect(StatusCode::OK);
    let contact = found.body["items"][0]["id"].as_i64().unwrap();
    let r = app
        .get(&format!("/v1/contacts/{contact}"), ADMIN_SECRET)
        .await;
    let events: Vec<(&str, &Value)> = r.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["event"].as_str().unwrap(), &h["notes"]))
        .collect();
    assert_eq!(
        events,
        vec![("released", &json!("主管接手")), ("outcome", &Value::Null)],
        "{}",
        r.text
    );
}

crate::on_both_backends!(
    start = crate::web::browser_app;
    a_desk_learns_of_a_pending_pause_and_a_released_call_within_two_seconds_and_its_sign_out_sets_offline,
);

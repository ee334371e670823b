//! No outcome is lost to a pause: a supervisor's pause or sign-out of an agent on a call, or a
//! sign-out for a quiet desk, waits for the call to end (its outcome, a release or an expired
//! lease) and answers 202 with what is pending; and after a supervisor releases a call, its
//! agent's outcome is still taken while nobody else has been handed the contact.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_SECRET, TestApp};

/// The agent as a supervisor sees it on the floor.
async fn on_the_floor(app: &TestApp, supervisor: &str, agent: i64) -> Value {
    let floor = app.get("/v1/floor", supervisor).await;
    floor.expect(StatusCode::OK);
    let agents = floor.body["agents"].as_array().unwrap();
    agents.iter().find(|a| a["agent"] == agent).unwrap().clone()
}

async fn my_state(app: &TestApp, token: &str) -> Value {
    let r = app.get("/v1/agents/me/state", token).await;
    r.expect(StatusCode::OK);
    r.body
}

/// The events of a contact's history, oldest first, with their notes.
async fn history(app: &TestApp, contact: i64) -> Vec<(String, Value)> {
    let r = app
        .get(&format!("/v1/contacts/{contact}"), ADMIN_SECRET)
        .await;
    r.expect(StatusCode::OK);
    r.body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["event"].as_str().unwrap().to_owned(), h["notes"].clone()))
        .collect()
}

async fn a_supervisors_pause_of_an_agent_on_a_call_waits_for_its_outcome_and_then_pauses_it(
    app: TestApp,
) {
    app.running_campaign(
        json!({"wrap_up": "30s"}),
        "phone\n13800138000\n13800138001\n",
    )
    .await;
    app.create("/v1/pause-reasons", json!({"name": "辅导"}))
        .await;
    let (id, agent) = app.agent("agent", None).await;
    let supervisor = app.token("supervisor").await;
    let (call, _, _) = app.take(&agent).await;

    let r = app
        .post(
            &format!("/v1/agents/{id}/state"),
            &supervisor,
            json!({"state": "paused", "reason": "辅导"}),
        )
        .await;
    r.expect(StatusCode::ACCEPTED);
    assert_eq!(r.body["state"], "on_call", "{}", r.text);
    assert_eq!(r.body["pending"], "paused", "{}", r.text);
    assert_eq!(r.body["reason"], "辅导", "{}", r.text);

    let me = my_state(&app, &agent).await;
    assert_eq!(me["state"], "on_call", "{me}");
    assert_eq!(me["pending"], "paused", "{me}");
    assert_eq!(me["pending_reason"], "辅导", "{me}");
    let floor = on_the_floor(&app, &supervisor, id).await;
    assert_eq!(floor["state"], "on_call", "{floor}");
    assert_eq!(floor["pending"], "paused", "{floor}");
    assert_eq!(floor["pending_reason"], "辅导", "{floor}");
    assert_eq!(floor["call"]["id"], call, "the agent still holds its call");
    app.heartbeat(&agent, call).await.expect(StatusCode::OK);

    app.advance(20);
    app.outcome(&agent, call, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
    let me = my_state(&app, &agent).await;
    assert_eq!(
        me["state"], "paused",
        "the pause applies, without a wrap-up: {me}"
    );
    assert_eq!(me["reason"], "辅导", "{me}");
    assert_eq!(me["pending"], Value::Null, "{me}");
    assert_eq!(me["since"], "2026-11-25T10:00:20+08:00", "{me}");
    let r = app.next(&agent).await;
    r.expect_problem(StatusCode::CONFLICT, "");

    let audit = app.get("/v1/audit?entity=agent", app.admin()).await;
    let set_state: Vec<&Value> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "set_state")
        .collect();
    assert_eq!(set_state.len(), 1, "{}", audit.text);
    assert_eq!(set_state[0]["after"]["pending"], "paused");
    assert_eq!(set_state[0]["after"]["pending_reason"], "辅导");
}

async fn a_supervisors_sign_out_of_an_agent_on_a_call_applies_when_the_supervisor_releases_it_and_the_outcome_is_still_taken(
    app: TestApp,
) {
    app.running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (id, agent) = app.agent("agent", None).await;
    let supervisor = app.token("supervisor").await;
    let (call, _, body) = app.take(&agent).await;
    let contact = body["contact"]["id"].as_i64().unwrap();

    let r = app
        .post(
            &format!("/v1/agents/{id}/state"),
            &supervisor,
            json!({"state": "offline"}),
        )
        .await;
    r.expect(StatusCode::ACCEPTED);
    assert_eq!(r.body["pending"], "offline", "{}", r.text);
    app.release_with(&supervisor, call, json!({"reason": "客户投诉升级"}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        on_the_floor(&app, &supervisor, id).await["state"],
        "offline"
    );

    let r = app.heartbeat(&agent, call).await;
    r.expect_problem(StatusCode::CONFLICT, "");
    assert_eq!(r.body["code"], "call_released", "{}", r.text);
    app.outcome(
        &agent,
        call,
        json!({"disposition": "declined", "notes": "不需要"}),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(
        history(&app, contact).await,
        vec![
            ("released".to_owned(), json!("客户投诉升级")),
            ("outcome".to_owned(), json!("不需要")),
        ]
    );
    assert_eq!(
        on_the_floor(&app, &supervisor, id).await["state"],
        "offline",
        "a late outcome does not move the agent"
    );
}

async fn an_outcome_after_a_supervisors_release_is_refused_once_another_agent_has_the_contact(
    app: TestApp,
) {
    app.running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (_, first) = app.agent("first", None).await;
    let (_, second) = app.agent("second", None).await;
    let supervisor = app.token("supervisor").await;
    let (call, phone, _) = app.take(&first).await;
    app.release_with(&supervisor, call, json!({}))
        .await
        .expect(StatusCode::OK);
    let (other, again, _) = app.take(&second).await;
    assert_eq!(again, phone);
    let r = app
        .outcome(&first, call, json!({"disposition": "accepted"}))
        .await;
    r.expect_problem(StatusCode::CONFLICT, "");
    assert_eq!(r.body["code"], "lease_lost", "{}", r.text);
    app.outcome(&second, other, json!({"disposition": "accepted"}))
        .await
        .expect(StatusCode::OK);
}

async fn start_with_idle_sign_out(backend: crate::helpers::Backend) -> TestApp {
    TestApp::start_with(backend, |c| c.agent_idle = Some("2m".parse().unwrap())).await
}

async fn an_agent_whose_desk_goes_quiet_on_a_call_is_signed_out_once_its_outcome_is_recorded(
    app: TestApp,
) {
    app.running_campaign(
        json!({"lease": "10m", "wrap_up": "30s"}),
        "phone\n13800138000\n",
    )
    .await;
    let supervisor = app.token("supervisor").await;
    let (id, agent) = app.agent("quiet", None).await;
    let (call, _, _) = app.take(&agent).await;
    app.advance(121);
    app.tick().await;
    let floor = on_the_floor(&app, &supervisor, id).await;
    assert_eq!(floor["state"], "on_call", "{floor}");
    assert_eq!(floor["pending"], "offline", "{floor}");
    app.outcome(&agent, call, json!({"disposition": "no_answer"}))
        .await
        .expect(StatusCode::OK);
    let floor = on_the_floor(&app, &supervisor, id).await;
    assert_eq!(floor["state"], "offline", "{floor}");
    assert_eq!(floor["pending"], Value::Null, "{floor}");
}

crate::on_both_backends!(
    a_supervisors_pause_of_an_agent_on_a_call_waits_for_its_outcome_and_then_pauses_it,
    a_supervisors_sign_out_of_an_agent_on_a_call_applies_when_the_supervisor_releases_it_and_the_outcome_is_still_taken,
    an_outcome_after_a_supervisors_release_is_refused_once_another_agent_has_the_contact,
);
crate::on_both_backends!(
    start = super::start_with_idle_sign_out;
    mod idle_sqlite, idle_postgres;
    an_agent_whose_desk_goes_quiet_on_a_call_is_signed_out_once_its_outcome_is_recorded,
);

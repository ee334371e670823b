//! Callbacks leads and supervisors can see and manage: the list across agents (filtered by
//! agent, campaign and due time, paged), an agent's own with the contact's local time, and
//! reassigning, moving or cancelling one, each audited.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Tomorrow 10:00 in Shanghai (the clock starts on Wednesday 10:00 there).
const TOMORROW: &str = "2026-11-26T10:00:00+08:00";

/// A campaign whose contacts each got a callback for tomorrow from an agent of `agents`, in
/// order; returns the campaign.
async fn callbacks_from(app: &TestApp, agents: &[&str]) -> i64 {
    let mut csv = String::from("phone,name\n");
    for i in 0..agents.len() {
        csv.push_str(&format!("1380013800{i},客户{i}\n"));
    }
    let campaign = app.running_campaign(json!({}), &csv).await;
    for agent in agents {
        let (call, _, _) = app.take(agent).await;
        app.outcome(
            agent,
            call,
            json!({"disposition": "callback", "callback_at": TOMORROW}),
        )
        .await
        .expect(StatusCode::OK);
    }
    campaign
}

/// `PATCH /v1/callbacks/{id}` with `token`.
async fn patch(app: &TestApp, token: &str, id: &Value, body: Value) -> outcall_client::Reply {
    let path = format!("/v1/callbacks/{id}");
    app.call(reqwest::Method::PATCH, &path, Some(token), body)
        .await
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn leads_and_supervisors_see_open_callbacks_and_an_agent_only_their_own(app: TestApp) {
    let (first_id, first) = app.agent("first", None).await;
    let (_, second) = app.agent("second", None).await;
    let campaign = callbacks_from(&app, &[&first, &second]).await;
    let supervisor = app.token("supervisor").await;
    let lead = app.token("lead").await;

    let all = app.get("/v1/callbacks", &supervisor).await;
    all.expect(StatusCode::OK);
    assert_eq!(items(&all.body).len(), 2, "{}", all.text);
    assert!(!all.text.contains("+86138"), "never a phone: {}", all.text);
    let mine = app
        .get(&format!("/v1/callbacks?agent={first_id}"), &lead)
        .await;
    let mine = items(&mine.body);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["agent_name"], "first");
    assert_eq!(mine[0]["campaign"], campaign);
    let other = app
        .get(
            &format!("/v1/callbacks?campaign={}", campaign + 1000),
            &lead,
        )
        .await;
    assert!(items(&other.body).is_empty());
    let due = "/v1/callbacks?due_before=2026-11-26T09:00:00%2B08:00";
    assert!(items(&app.get(due, &lead).await.body).is_empty());
    let due = "/v1/callbacks?due_before=2026-11-26T11:00:00%2B08:00";
    assert_eq!(items(&app.get(due, &lead).await.body).len(), 2);

    let first_page = app.get("/v1/callbacks?limit=1", &lead).await;
    assert_eq!(items(&first_page.body).len(), 1);
    let next = first_page.body["next"].as_str().expect("a next page");
    let second_page = app
        .get(&format!("/v1/callbacks?limit=1&after={next}"), &lead)
        .await;
    assert_eq!(items(&second_page.body).len(), 1);
    assert_ne!(
        items(&first_page.body)[0]["id"],
        items(&second_page.body)[0]["id"]
    );
    assert!(second_page.body["next"].is_null());

    let own = app.get("/v1/agents/me/callbacks", &first).await;
    own.expect(StatusCode::OK);
    let own = items(&own.body);
    assert_eq!(own.len(), 1, "only the agent's own");
    assert_eq!(own[0]["local_time"], "2026-11-26 10:00");
    assert_eq!(own[0]["timezone"], "Asia/Shanghai");
    assert_eq!(own[0]["contact_name"], "客户0");
    assert_eq!(own[0]["at"], TOMORROW);
}

async fn a_reassigned_callback_goes_to_the_new_agent_and_is_audited(app: TestApp) {
    let (_, first) = app.agent("first", None).await;
    let (second_id, second) = app.agent("second", None).await;
    let supervisor = app.token("supervisor").await;
    callbacks_from(&app, &[&first]).await;
    let id = items(&app.get("/v1/callbacks", &supervisor).await.body)[0]["id"].clone();
    let r = app
        .call(
            reqwest::Method::PATCH,
            &format!("/v1/callbacks/{id}"),
            Some(&supervisor),
            json!({"agent": second_id}),
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["agent"], second_id);
    assert!(items(&app.get("/v1/agents/me/callbacks", &first).await.body).is_empty());
    assert_eq!(
        items(&app.get("/v1/agents/me/callbacks", &second).await.body).len(),
        1
    );
    app.advance(24 * 3600);
    app.next(&first).await.expect(StatusCode::NO_CONTENT);
    let (_, _, body) = app.take(&second).await;
    assert_eq!(body["contact"]["name"], "客户0");

    let audit = app.get("/v1/audit?entity=callback", app.admin()).await;
    audit.expect(StatusCode::OK);
    let entries = items(&audit.body);
    assert_eq!(entries.len(), 1, "{}", audit.text);
    assert_eq!(entries[0]["entity_id"], id.to_string());
    assert_eq!(entries[0]["action"], "update");
    assert_eq!(entries[0]["after"]["agent"], second_id);
}

async fn a_moved_callback_waits_for_its_new_time_and_a_cancelled_one_is_never_called(app: TestApp) {
    let (_, agent) = app.agent("agent", None).await;
    let lead = app.token("lead").await;
    let campaign = callbacks_from(&app, &[&agent, &agent]).await;
    let open = items(&app.get("/v1/callbacks", &lead).await.body);
    patch(
        &app,
        &lead,
        &open[0]["id"],
        json!({"at": "2026-11-27T10:00:00+08:00"}),
    )
    .await
    .expect(StatusCode::OK);
    let r = patch(&app, &lead, &open[1]["id"], json!({"cancelled": true})).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["state"], "done");
    let left = items(&app.get("/v1/callbacks", &lead).await.body);
    assert_eq!(left.len(), 1, "a cancelled callback leaves the list");
    assert_eq!(left[0]["at"], "2026-11-27T10:00:00+08:00");
    patch(&app, &lead, &open[1]["id"], json!({"cancelled": true}))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "");

    app.advance(24 * 3600 + 60);
    app.tick().await;
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    app.advance(24 * 3600);
    app.tick().await;
    let (_, _, body) = app.take(&agent).await;
    assert_eq!(body["contact"]["id"], open[0]["contact"]);
    let entries = app.contacts(campaign, Some("done")).await;
    assert_eq!(entries.len(), 1, "the cancelled one is done");
    let audit = app.get("/v1/audit?entity=callback", app.admin()).await;
    let actions: Vec<Value> = items(&audit.body)
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert!(actions.contains(&json!("cancel")), "{actions:?}");
}

async fn bad_callback_changes_and_queries_are_refused_naming_the_field(app: TestApp) {
    let (_, agent) = app.agent("agent", None).await;
    let lead = app.token("lead").await;
    callbacks_from(&app, &[&agent]).await;
    let id = items(&app.get("/v1/callbacks", &lead).await.body)[0]["id"].clone();
    let path = format!("/v1/callbacks/{id}");
    for (body, field) in [
        (json!({"at": "2026-11-24T10:00:00+08:00"}), "at"),
        (json!({"at": "2026-11-26T23:30:00+08:00"}), "at"),
        (json!({"at": "tomorrow"}), "at"),
        (json!({"agent": 999999}), "agent"),
        (json!({"agent": "first"}), "agent"),
        (json!({"cancelled": "yes"}), "cancelled"),
    ] {
        app.call(reqwest::Method::PATCH, &path, Some(&lead), body)
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    app.call(
        reqwest::Method::PATCH,
        "/v1/callbacks/999999",
        Some(&lead),
        json!({"cancelled": true}),
    )
    .await
    .expect_problem(StatusCode::NOT_FOUND, "");
    for (query, field) in [
        ("agent=x", "agent"),
        ("campaign=x", "campaign"),
        ("due_before=soon", "due_before"),
        ("limit=0", "limit"),
    ] {
        app.get(&format!("/v1/callbacks?{query}"), &lead)
            .await
            .expect_problem(StatusCode::BAD_REQUEST, field);
    }
    // One being called cannot be changed.
    app.advance(24 * 3600);
    app.take(&agent).await;
    app.call(
        reqwest::Method::PATCH,
        &path,
        Some(&lead),
        json!({"cancelled": true}),
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "");
}

/// A callback is reserved only for an agent the hand-out would give the campaign's calls to.
async fn a_callback_is_not_reassigned_to_an_agent_outside_the_campaigns_teams(app: TestApp) {
    let (_, north) = app.agent("north", Some("north")).await;
    let (south_id, _) = app.agent("south", Some("south")).await;
    let (loner_id, _) = app.agent("loner", None).await;
    let (mate_id, _) = app.agent("mate", Some("north")).await;
    let campaign = app
        .running_campaign(
            json!({"teams": ["north"]}),
            "phone,name\n13800138000,客户\n",
        )
        .await;
    let (call, _, _) = app.take(&north).await;
    app.outcome(
        &north,
        call,
        json!({"disposition": "callback", "callback_at": TOMORROW}),
    )
    .await
    .expect(StatusCode::OK);
    let lead = app.token("lead").await;
    let listed = app
        .get(&format!("/v1/callbacks?campaign={campaign}"), &lead)
        .await;
    let id = items(&listed.body)[0]["id"].clone();
    for outsider in [south_id, loner_id] {
        patch(&app, &lead, &id, json!({"agent": outsider}))
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "agent");
    }
    let r = patch(&app, &lead, &id, json!({"agent": mate_id})).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["agent"], mate_id);
}

crate::on_both_backends!(
    leads_and_supervisors_see_open_callbacks_and_an_agent_only_their_own,
    a_reassigned_callback_goes_to_the_new_agent_and_is_audited,
    a_moved_callback_waits_for_its_new_time_and_a_cancelled_one_is_never_called,
    bad_callback_changes_and_queries_are_refused_naming_the_field,
    a_callback_is_not_reassigned_to_an_agent_outside_the_campaigns_teams,
);

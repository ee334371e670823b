//! Who changed what: every change through the API is in the audit log with who made it, when,
//! and the values before and after; tokens can be listed (never their secrets), may expire, and
//! an agent's token can be replaced; a phone comes off the do-not-call list only with a reason.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// The audit log's entries for `query`, newest first (all pages).
async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let mut out = vec![];
    let mut after = String::new();
    loop {
        let page = app
            .get(
                &format!("/v1/audit?{query}&limit=2&after={after}"),
                app.admin(),
            )
            .await;
        page.expect(StatusCode::OK);
        out.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["next"].as_str() {
            Some(next) => after = next.to_owned(),
            None => return out,
        }
    }
}

fn actions(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

async fn every_change_is_in_the_audit_log_with_who_when_and_the_values_before_and_after(
    app: TestApp,
) {
    let lead = app.token("lead").await;
    let as_lead = app.with_admin(lead.clone());
    let id = as_lead.campaign(json!({"priority": 50})).await;
    as_lead
        .call(
            Method::PATCH,
            &format!("/v1/campaigns/{id}"),
            Some(&lead),
            json!({"priority": 70}),
        )
        .await
        .expect(StatusCode::OK);
    as_lead.start_campaign(id).await;
    as_lead
        .import_csv(id, "phone\n13800138000\n13800138000\nnot a phone\n")
        .await
        .expect(StatusCode::OK);
    let entries = audit(&app, &format!("entity=campaign&id={id}")).await;
    assert_eq!(
        actions(&entries),
        vec!["import", "start", "update", "create"]
    );
    let import = &entries[0]["after"];
    assert_eq!(
        (
            import["accepted"].as_i64(),
            import["duplicates"].as_i64(),
            import["invalid"].as_i64()
        ),
        (Some(1), Some(1), Some(1)),
        "{import}"
    );
    assert_eq!(entries[0]["actor"]["name"], "lead token");
    let update = &entries[2];
    assert_eq!(
        (
            update["before"]["priority"].as_i64(),
            update["after"]["priority"].as_i64()
        ),
        (Some(50), Some(70))
    );
    assert_eq!(update["actor"]["name"], "lead token");
    assert_eq!(update["actor"]["role"], "lead");
    assert_eq!(entries[1]["before"]["status"], "draft");
    assert!(entries[0]["at"].as_str().unwrap().ends_with("+08:00"));

    let (agent, _) = as_lead.agent("王芳", Some("north")).await;
    as_lead
        .call(
            Method::PATCH,
            &format!("/v1/agents/{agent}"),
            Some(&lead),
            json!({"team": "south"}),
        )
        .await
        .expect(StatusCode::OK);
    let entries = audit(&app, &format!("entity=agent&id={agent}")).await;
    assert_eq!(actions(&entries), vec!["update", "create"]);
    assert_eq!(
        (
            entries[0]["before"]["team"].as_str(),
            entries[0]["after"]["team"].as_str()
        ),
        (Some("north"), Some("south"))
    );

    let target = app
        .post("/v1/targets", &lead, json!({"scope": "campaign", "scope_id": id, "period": "2026-11", "metric": "conversions", "goal": 10}))
        .await;
    target.expect(StatusCode::CREATED);
    let target = target.body["id"].as_i64().unwrap();
    app.call(
        Method::PATCH,
        &format!("/v1/targets/{target}"),
        Some(&lead),
        json!({"goal": 20}),
    )
    .await
    .expect(StatusCode::OK);
    app.call(
        Method::DELETE,
        &format!("/v1/targets/{target}"),
        Some(&lead),
        Value::Null,
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    let entries = audit(&app, &format!("entity=target&id={target}")).await;
    assert_eq!(actions(&entries), vec!["delete", "update", "create"]);
    assert_eq!(entries[1]["after"]["goal"], 20);

    let script = app
        .post(
            "/v1/scripts",
            &lead,
            json!({"name": "5G", "body": "您好 {{ name }}"}),
        )
        .await;
    script.expect(StatusCode::CREATED);
    let script = script.body["id"].as_i64().unwrap();
    app.call(
        Method::PUT,
        &format!("/v1/scripts/{script}"),
        Some(&lead),
        json!({"body": "您好，{{ name }}"}),
    )
    .await
    .expect(StatusCode::OK);
    let entries = audit(&app, &format!("entity=script&id={script}")).await;
    assert_eq!(actions(&entries), vec!["update", "create"]);
    assert_eq!(
        (
            entries[0]["before"]["version"].as_i64(),
            entries[0]["after"]["version"].as_i64()
        ),
        (Some(1), Some(2))
    );

    let by_lead = audit(&app, "actor=lead%20token").await;
    assert!(by_lead.len() >= 8, "{}", by_lead.len());
    assert!(by_lead.iter().all(|e| e["actor"]["name"] == "lead token"));
    let offers = audit(&app, "entity=offer").await;
    assert!(offers.iter().all(|e| e["action"] == "create"), "{offers:?}");
    let viewer = app.token("viewer").await;
    app.get("/v1/audit", &viewer)
        .await
        .expect_problem(StatusCode::FORBIDDEN, "");
}

async fn an_agents_new_token_works_and_the_tokens_it_had_stop_at_once(app: TestApp) {
    app.running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (agent, old) = app.agent("rotated", None).await;
    let r = app
        .post(
            &format!("/v1/agents/{agent}/token"),
            app.admin(),
            Value::Null,
        )
        .await;
    r.expect(StatusCode::CREATED);
    let new = r.body["token"].as_str().unwrap().to_owned();
    app.next(&old)
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "");
    app.next(&new).await.expect(StatusCode::OK);
    // Deactivating the agent revokes every token it had: reactivated, it needs a new one.
    for active in [false, true] {
        app.call(
            Method::PATCH,
            &format!("/v1/agents/{agent}"),
            Some(app.admin()),
            json!({"active": active}),
        )
        .await
        .expect(StatusCode::OK);
    }
    for token in [&old, &new] {
        app.next(token)
            .await
            .expect_problem(StatusCode::UNAUTHORIZED, "");
    }
    let r = app
        .post(
            &format!("/v1/agents/{agent}/token"),
            app.admin(),
            Value::Null,
        )
        .await;
    r.expect(StatusCode::CREATED);
    let newer = r.body["token"].as_str().unwrap().to_owned();
    app.get("/v1/agents/me/stats", &newer)
        .await
        .expect(StatusCode::OK);
    let entries = audit(&app, "entity=token").await;
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "rotate" && e["after"]["agent"] == agent),
        "{entries:?}"
    );
    app.post("/v1/agents/99999/token", app.admin(), Value::Null)
        .await
        .expect_problem(StatusCode::NOT_FOUND, "");
}

async fn tokens_are_listed_without_their_secrets_and_an_expired_token_stops_working(app: TestApp) {
    let body =
        json!({"role": "viewer", "name": "wallboard", "expires_at": "2026-11-25T11:00:00+08:00"});
    let r = app.post("/v1/tokens", app.admin(), body).await;
    r.expect(StatusCode::CREATED);
    let (id, secret) = (
        r.body["id"].as_i64().unwrap(),
        r.body["token"].as_str().unwrap().to_owned(),
    );
    app.get("/v1/campaigns", &secret)
        .await
        .expect(StatusCode::OK);
    app.advance(2 * 3600);
    app.get("/v1/campaigns", &secret)
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "");
    let list = app.get("/v1/tokens?limit=1000", app.admin()).await;
    list.expect(StatusCode::OK);
    assert!(
        !list.text.contains(&secret) && !list.text.contains("hash"),
        "{}",
        list.text
    );
    let listed = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(
        (listed["name"].as_str(), listed["live"].as_bool()),
        (Some("wallboard"), Some(false)),
        "{listed}"
    );
    for past in ["2026-11-25T09:00:00+08:00", "not a time"] {
        let body = json!({"role": "viewer", "name": "x", "expires_at": past});
        app.post("/v1/tokens", app.admin(), body)
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "expires_at");
    }
}

async fn a_phone_comes_off_the_list_only_with_a_reason_and_its_listing_is_kept(app: TestApp) {
    app.post(
        "/v1/dnc",
        app.admin(),
        json!({"phone": "13800138000", "reason": "asked"}),
    )
    .await
    .expect(StatusCode::CREATED);
    for path in ["/v1/dnc/13800138000", "/v1/dnc/13800138000?reason=%20"] {
        app.call(Method::DELETE, path, Some(app.admin()), Value::Null)
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "reason");
    }
    app.call(
        Method::DELETE,
        "/v1/dnc/138-0013-8000?reason=listed%20by%20mistake",
        Some(app.admin()),
        Value::Null,
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    let entries = audit(&app, "entity=dnc&id=13800138000").await;
    assert_eq!(actions(&entries), vec!["unlist", "list"]);
    assert_eq!(entries[0]["entity_id"], "+8613800138000");
    assert_eq!(entries[0]["after"]["reason"], "listed by mistake");
    assert_eq!(entries[0]["before"]["reason"], "asked");
}

crate::on_both_backends!(
    every_change_is_in_the_audit_log_with_who_when_and_the_values_before_and_after,
    an_agents_new_token_works_and_the_tokens_it_had_stop_at_once,
    tokens_are_listed_without_their_secrets_and_an_expired_token_stops_working,
    a_phone_comes_off_the_list_only_with_a_reason_and_its_listing_is_kept,
);

//! Who may call what: a role matrix over every route the OpenAPI document lists.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// (method, path, roles admitted besides admin). `{id}` paths use an id that may not exist:
/// an admitted role gets anything but 401/403. `no-admin` marks the agent's own routes: an
/// admin token has no agent behind it, so it gets 403 there.
const MATRIX: &[(&str, &str, &[&str])] = &[
    (
        "GET",
        "/healthz",
        &["none", "agent", "lead", "viewer", "supervisor"],
    ),
    (
        "GET",
        "/readyz",
        &["none", "agent", "lead", "viewer", "supervisor"],
    ),
    ("GET", "/metrics", &["lead", "viewer", "supervisor"]),
    ("POST", "/v1/tokens", &[]),
    ("GET", "/v1/tokens", &[]),
    ("DELETE", "/v1/tokens/{id}", &[]),
    ("GET", "/v1/audit", &["lead"]),
    ("POST", "/v1/agents/{id}/token", &["lead"]),
    ("POST", "/v1/agents", &["lead"]),
    ("GET", "/v1/agents", &["lead"]),
    ("GET", "/v1/agents/{id}", &["lead"]),
    ("PATCH", "/v1/agents/{id}", &["lead"]),
    ("POST", "/v1/offers", &["lead"]),
    ("GET", "/v1/offers", &["lead", "viewer", "supervisor"]),
    ("GET", "/v1/offers/{id}", &["lead", "viewer", "supervisor"]),
    ("POST", "/v1/scripts", &["lead"]),
    ("GET", "/v1/scripts", &["lead"]),
    ("GET", "/v1/scripts/{id}", &["lead"]),
    ("PUT", "/v1/scripts/{id}", &["lead"]),
    ("GET", "/v1/scripts/{id}/versions/{version}", &["lead"]),
    ("POST", "/v1/scripts/preview", &["lead"]),
    ("POST", "/v1/campaigns", &["lead"]),
    ("GET", "/v1/campaigns", &["lead", "viewer", "supervisor"]),
    (
        "GET",
        "/v1/campaigns/{id}",
        &["lead", "viewer", "supervisor"],
    ),
    ("PATCH", "/v1/campaigns/{id}", &["lead"]),
    ("POST", "/v1/campaigns/{id}/start", &["lead"]),
    ("POST", "/v1/campaigns/{id}/pause", &["lead"]),
    ("POST", "/v1/campaigns/{id}/resume", &["lead"]),
    ("POST", "/v1/campaigns/{id}/stop", &["lead"]),
    ("GET", "/v1/schedules/preview", &["lead"]),
    ("POST", "/v1/campaigns/{id}/contacts", &["lead"]),
    ("GET", "/v1/campaigns/{id}/contacts", &["lead"]),
    ("GET", "/v1/contacts/{id}", &["lead"]),
    (
        "POST",
        "/v1/campaigns/{id}/contacts/from-segment",
        &["lead"],
    ),
    ("POST", "/v1/segments", &["lead"]),
    ("GET", "/v1/segments", &["lead", "supervisor"]),
    ("POST", "/v1/segments/preview", &["lead", "supervisor"]),
    ("GET", "/v1/campaigns/{id}/lists", &["lead", "supervisor"]),
    ("PATCH", "/v1/lists/{id}", &["lead"]),
    ("DELETE", "/v1/lists/{id}", &["lead"]),
    ("GET", "/v1/imports/{id}", &["lead"]),
    ("GET", "/v1/imports/{id}/invalid.csv", &["lead"]),
    ("POST", "/v1/imports/preview", &["lead"]),
    ("POST", "/v1/dnc", &["lead"]),
    ("GET", "/v1/dnc", &["lead"]),
    ("DELETE", "/v1/dnc/{phone}", &["lead"]),
    ("POST", "/v1/calls/next", &["agent", "no-admin"]),
    ("POST", "/v1/calls/{id}/heartbeat", &["agent", "no-admin"]),
    (
        "POST",
        "/v1/calls/{id}/release",
        &["agent", "supervisor", "lead"],
    ),
    ("POST", "/v1/calls/{id}/outcome", &["agent", "no-admin"]),
    ("GET", "/v1/follow-ups", &["lead"]),
    ("GET", "/v1/callbacks", &["lead", "supervisor"]),
    ("PATCH", "/v1/callbacks/{id}", &["lead", "supervisor"]),
    ("GET", "/v1/agents/me/callbacks", &["agent", "no-admin"]),
    ("GET", "/v1/agents/me/state", &["agent", "no-admin"]),
    ("POST", "/v1/agents/me/state", &["agent", "no-admin"]),
    ("POST", "/v1/agents/{id}/state", &["lead", "supervisor"]),
    ("GET", "/v1/pause-reasons", &["agent", "lead", "supervisor"]),
    ("POST", "/v1/pause-reasons", &["lead"]),
    ("GET", "/v1/floor", &["lead", "supervisor"]),
    ("PATCH", "/v1/follow-ups/{id}", &["lead"]),
    (
        "GET",
        "/v1/stats/campaigns/{id}",
        &["lead", "viewer", "supervisor"],
    ),
    ("GET", "/v1/stats/offers", &["lead", "viewer", "supervisor"]),
    ("GET", "/v1/stats/agents", &["lead", "viewer", "supervisor"]),
    (
        "GET",
        "/v1/stats/agents.csv",
        &["lead", "viewer", "supervisor"],
    ),
    ("GET", "/v1/stats/teams", &["lead", "viewer", "supervisor"]),
    (
        "GET",
        "/v1/stats/teams.csv",
        &["lead", "viewer", "supervisor"],
    ),
    (
        "GET",
        "/v1/stats/timeseries",
        &["lead", "viewer", "supervisor"],
    ),
    ("GET", "/v1/agents/me/stats", &["agent", "no-admin"]),
    ("POST", "/v1/targets", &["lead"]),
    ("GET", "/v1/targets", &["lead", "viewer", "supervisor"]),
    ("PATCH", "/v1/targets/{id}", &["lead"]),
    ("DELETE", "/v1/targets/{id}", &["lead"]),
    ("GET", "/v1/campaigns/{id}/outcomes.csv", &["lead"]),
    ("GET", "/v1/dnc.csv", &["lead"]),
    ("GET", "/v1/campaigns/{id}/contacts.csv", &["lead"]),
    ("PATCH", "/v1/contacts/{id}", &["lead"]),
    ("POST", "/v1/conversions", &["integration"]),
    ("GET", "/v1/stats/funnel", &["lead", "supervisor", "viewer"]),
    ("GET", "/v1/stats/answers", &["lead", "supervisor"]),
    (
        "GET",
        "/v1/contacts/{id}/eligibility",
        &["lead", "viewer", "supervisor"],
    ),
    (
        "GET",
        "/v1/campaigns/{id}/eligibility",
        &["lead", "viewer", "supervisor"],
    ),
    ("GET", "/v1/agents/me/outlook", &["agent", "no-admin"]),
    (
        "GET",
        "/v1/campaigns/{id}/forecast",
        &["lead", "supervisor"],
    ),
    (
        "GET",
        "/v1/contacts",
        &["lead", "supervisor", "integration"],
    ),
    (
        "GET",
        "/v1/events",
        &["lead", "viewer", "supervisor", "stream"],
    ),
    ("POST", "/v1/webhooks", &["integration"]),
    ("GET", "/v1/webhooks", &["integration"]),
    ("DELETE", "/v1/webhooks/{id}", &["integration"]),
    ("GET", "/v1/webhooks/{id}/deliveries", &["integration"]),
    (
        "POST",
        "/v1/webhooks/{id}/deliveries/{delivery}/retry",
        &["integration"],
    ),
];

async fn every_route_admits_exactly_the_roles_it_names(app: TestApp) {
    // The matrix covers every route the server describes, so none is forgotten.
    let doc = app
        .call(Method::GET, "/openapi.json", None, Value::Null)
        .await;
    doc.expect(StatusCode::OK);
    let mut described = vec![];
    for (path, item) in doc.body["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                described.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    for (method, path) in &described {
        assert!(
            MATRIX.iter().any(|(m, p, _)| m == method && p == path),
            "{method} {path} is missing from the role matrix"
        );
    }

    let (_, agent) = app.agent("矩阵 agent", None).await;
    let lead = app.token("lead").await;
    let viewer = app.token("viewer").await;
    let supervisor = app.token("supervisor").await;
    let integration = app.token("integration").await;
    let callers: [(&str, Option<&str>); 7] = [
        ("none", None),
        ("admin", Some(app.admin())),
        ("agent", Some(&agent)),
        ("lead", Some(&lead)),
        ("viewer", Some(&viewer)),
        ("supervisor", Some(&supervisor)),
        ("integration", Some(&integration)),
    ];
    for (method, path, admitted) in MATRIX {
        let concrete = path
            .replace("{id}", "999999")
            .replace("{version}", "1")
            .replace("{delivery}", "1")
            .replace("{phone}", "13800138000");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = if matches!(method, Method::POST | Method::PUT | Method::PATCH) {
            json!({})
        } else {
            Value::Null
        };
        for (role, token) in &callers {
            if admitted.contains(&"stream") {
                // A stream never ends: judge it by its status line alone.
                let req = app.request(method.clone(), &concrete, *token);
                let status = req.send().await.unwrap().status();
                let allowed = *role == "admin" || admitted.contains(role);
                let expected = if allowed {
                    StatusCode::OK
                } else if token.is_none() {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::FORBIDDEN
                };
                assert_eq!(status, expected, "{role} on {method} {path}");
                continue;
            }
            let r = app
                .call(method.clone(), &concrete, *token, body.clone())
                .await;
            let allowed =
                (*role == "admin" && !admitted.contains(&"no-admin")) || admitted.contains(role);
            let public = admitted.contains(&"none");
            if allowed || public {
                assert!(
                    r.status != StatusCode::UNAUTHORIZED && r.status != StatusCode::FORBIDDEN,
                    "{role} should reach {method} {path}, got {}",
                    r.status
                );
            } else if token.is_none() {
                r.expect_problem(StatusCode::UNAUTHORIZED, "");
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{role} on {method} {path}: {}",
                    r.text
                );
                r.expect_problem(StatusCode::FORBIDDEN, "");
            }
        }
    }
}

async fn unknown_malformed_and_revoked_tokens_are_refused(app: TestApp) {
    for header in ["Bearer nope", "Bearer ", "Basic abc", "bearer", "Token x"] {
        let r = app
            .request(Method::GET, "/v1/agents", None)
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{header}");
    }
    let created = app
        .post(
            "/v1/tokens",
            app.admin(),
            json!({"role": "lead", "name": "temp"}),
        )
        .await;
    created.expect(StatusCode::CREATED);
    let (id, token) = (
        created.body["id"].as_i64().unwrap(),
        created.body["token"].as_str().unwrap().to_owned(),
    );
    app.get("/v1/agents", &token).await.expect(StatusCode::OK);
    app.call(
        Method::DELETE,
        &format!("/v1/tokens/{id}"),
        Some(app.admin()),
        Value::Null,
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    app.get("/v1/agents", &token)
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "");
    app.call(
        Method::DELETE,
        &format!("/v1/tokens/{id}"),
        Some(app.admin()),
        Value::Null,
    )
    .await
    .expect_problem(StatusCode::NOT_FOUND, "");
}

async fn a_deactivated_agent_gets_401_and_a_reactivated_one_needs_a_new_token(app: TestApp) {
    let (id, token) = app.agent("李雷", Some("north")).await;
    let lead = app.token("lead").await;
    let off = app
        .call(
            Method::PATCH,
            &format!("/v1/agents/{id}"),
            Some(&lead),
            json!({"active": false}),
        )
        .await;
    off.expect(StatusCode::OK);
    assert_eq!(off.body["active"], false);
    app.get("/v1/agents", &token)
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "");
    app.call(
        Method::PATCH,
        &format!("/v1/agents/{id}"),
        Some(&lead),
        json!({"active": true}),
    )
    .await
    .expect(StatusCode::OK);
    // Back in, but its old token stays revoked: a new one is issued for it.
    app.get("/v1/agents", &token)
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "");
}

async fn tokens_are_stored_only_as_hashes(app: TestApp) {
    let lead = app.token("lead").await;
    let (_, agent) = app.agent("王芳", None).await;
    let store = &app.running.as_ref().unwrap().store;
    let hashes: Vec<String> = outcall::on_pool!(&store.pool, |p| sqlx::query_scalar(
        "SELECT secret_hash FROM tokens"
    )
    .fetch_all(p)
    .await)
    .unwrap();
    for secret in [lead.as_str(), agent.as_str(), app.admin()] {
        assert!(
            !hashes.iter().any(|h| h.contains(secret)),
            "a secret is stored in clear"
        );
        assert!(hashes.contains(&outcall::people::hash_secret(secret)));
    }
}

async fn only_admins_issue_tokens_and_roles_are_checked(app: TestApp) {
    for (body, field) in [
        (json!({"role": "agent", "name": "x"}), "role"),
        (json!({"role": "root", "name": "x"}), "role"),
        (json!({"role": "lead", "name": ""}), "name"),
        (json!({"role": "lead"}), "name"),
    ] {
        app.post("/v1/tokens", app.admin(), body)
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let admin2 = app.token("admin").await;
    let viewer = app.token("viewer").await;
    app.post(
        "/v1/tokens",
        &admin2,
        json!({"role": "viewer", "name": "wall"}),
    )
    .await
    .expect(StatusCode::CREATED);
    app.post(
        "/v1/tokens",
        &viewer,
        json!({"role": "viewer", "name": "wall"}),
    )
    .await
    .expect_problem(StatusCode::FORBIDDEN, "");
}

crate::on_both_backends!(
    every_route_admits_exactly_the_roles_it_names,
    unknown_malformed_and_revoked_tokens_are_refused,
    a_deactivated_agent_gets_401_and_a_reactivated_one_needs_a_new_token,
    tokens_are_stored_only_as_hashes,
    only_admins_issue_tokens_and_roles_are_checked,
);

//! Agents: created by leads with a token shown once, listed, renamed, moved between teams.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn a_lead_creates_an_agent_whose_token_is_shown_once(app: TestApp) {
    let lead = app.token("lead").await;
    let created = app
        .post(
            "/v1/agents",
            &lead,
            json!({"name": "王芳", "team": "north"}),
        )
        .await;
    created.expect(StatusCode::CREATED);
    assert_eq!(created.body["name"], "王芳");
    assert_eq!(created.body["team"], "north");
    assert_eq!(created.body["active"], true);
    assert!(created.body["token"].as_str().unwrap().starts_with("oc_"));
    let id = created.body["id"].as_i64().unwrap();
    let got = app.get(&format!("/v1/agents/{id}"), &lead).await;
    got.expect(StatusCode::OK);
    assert!(
        got.body.get("token").is_none(),
        "the token is shown only at creation"
    );
    let list = app.get("/v1/agents", &lead).await;
    assert!(list.text.contains("王芳") && !list.text.contains("oc_"));
}

async fn patching_an_agent_changes_only_the_fields_given(app: TestApp) {
    let (id, _) = app.agent("Li Lei", Some("north")).await;
    let path = format!("/v1/agents/{id}");
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(app.admin()),
            json!({"name": "李雷"}),
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(
        (r.body["name"].as_str(), r.body["team"].as_str()),
        (Some("李雷"), Some("north"))
    );
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(app.admin()),
            json!({"team": null}),
        )
        .await;
    assert!(r.body["team"].is_null());
    assert_eq!(r.body["name"], "李雷");
    let r = app
        .call(
            Method::PATCH,
            "/v1/agents/987654",
            Some(app.admin()),
            json!({"name": "x"}),
        )
        .await;
    r.expect_problem(StatusCode::NOT_FOUND, "");
    let _ = Value::Null;
}

crate::on_both_backends!(
    a_lead_creates_an_agent_whose_token_is_shown_once,
    patching_an_agent_changes_only_the_fields_given,
);

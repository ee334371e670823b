//! Codes, not sentences (contract v1.2): every problem carries a stable `code` and `params`,
//! every field error its `field`, `code` and `params`, every campaign warning its `kind`,
//! `code` and `params`, so that pages can say them in the reader's language.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn field_error<'a>(body: &'a Value, field: &str) -> &'a Value {
    body["errors"]
        .as_array()
        .and_then(|errors| errors.iter().find(|e| e["field"] == field))
        .unwrap_or_else(|| panic!("no error for {field}: {body}"))
}

async fn every_problem_carries_a_code_and_params_and_each_field_error_its_own(app: TestApp) {
    let admin = app.admin();
    let r = app.get("/v1/campaigns", "not-a-token").await;
    r.expect_problem(StatusCode::UNAUTHORIZED, "");
    assert_eq!(r.body["code"], "unauthorized", "{}", r.text);
    let r = app.get("/v1/campaigns/999999", admin).await;
    r.expect_problem(StatusCode::NOT_FOUND, "");
    assert_eq!(r.body["code"], "not_found", "{}", r.text);
    let r = app
        .call(Method::DELETE, "/v1/offers", Some(admin), Value::Null)
        .await;
    assert_eq!(r.body["code"], "method_not_allowed", "{}", r.text);

    // A duration the campaign cannot read: the field, its code, and examples to offer.
    let r = app
        .post(
            "/v1/campaigns",
            admin,
            json!({"name": "", "offer": "nothing", "script_id": 1, "lease": "soon",
                   "priority": 0, "timezone": "Mars/Olympus"}),
        )
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "lease");
    assert_eq!(r.body["code"], "invalid_input", "{}", r.text);
    let lease = field_error(&r.body, "lease");
    assert_eq!(lease["code"], "duration_invalid", "{}", r.text);
    assert!(
        lease["params"]["examples"]
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x == "15m")),
        "{}",
        r.text
    );
    assert_eq!(field_error(&r.body, "name")["code"], "required");
    assert_eq!(field_error(&r.body, "offer")["code"], "unknown");
    assert_eq!(field_error(&r.body, "timezone")["code"], "timezone_unknown");
    let priority = field_error(&r.body, "priority");
    assert_eq!(priority["code"], "out_of_range", "{}", r.text);
    assert_eq!(priority["params"]["min"], 1, "{}", r.text);
    assert_eq!(priority["params"]["max"], 100, "{}", r.text);

    // A name too long says how long it may be.
    let r = app
        .post(
            "/v1/offers",
            admin,
            json!({"code": "x".repeat(201), "name": "n"}),
        )
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "code");
    let code = field_error(&r.body, "code");
    assert_eq!(code["code"], "too_long", "{}", r.text);
    assert_eq!(code["params"]["max"], 200, "{}", r.text);

    // A value taken: the problem says `taken`, the field `already_exists`.
    app.offer("dup").await;
    let r = app
        .post("/v1/offers", admin, json!({"code": "dup", "name": "again"}))
        .await;
    r.expect_problem(StatusCode::CONFLICT, "code");
    assert_eq!(r.body["code"], "taken", "{}", r.text);
    assert_eq!(field_error(&r.body, "code")["code"], "already_exists");

    // A malformed body and a bad query parameter are 400s with codes too.
    let r = app
        .raw(
            Method::POST,
            "/v1/offers",
            Some(admin),
            "application/json",
            "{\"code\": ",
        )
        .await;
    r.expect_problem(StatusCode::BAD_REQUEST, "body");
    assert_eq!(r.body["code"], "bad_request", "{}", r.text);
    assert_eq!(field_error(&r.body, "body")["code"], "invalid_json");
    let r = app.get("/v1/campaigns?limit=0", admin).await;
    r.expect_problem(StatusCode::BAD_REQUEST, "limit");
    assert_eq!(field_error(&r.body, "limit")["code"], "out_of_range");
}

async fn a_paused_agent_asking_for_a_call_gets_the_code_agent_paused(app: TestApp) {
    let campaign = app
        .running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let _ = campaign;
    let (_, token) = app.agent("李四", None).await;
    app.sign_in(&token).await;
    // 午餐 (lunch) is one of the reasons every floor starts with.
    let r = app
        .post(
            "/v1/agents/me/state",
            &token,
            json!({"state": "paused", "reason": "午餐"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = app.post("/v1/calls/next", &token, json!({})).await;
    r.expect_problem(StatusCode::CONFLICT, "");
    assert_eq!(r.body["code"], "agent_paused", "{}", r.text);
    assert_eq!(r.body["params"]["reason"], "午餐", "{}", r.text);
}

async fn campaign_warnings_carry_kind_code_and_params(app: TestApp) {
    let campaign = app.campaign(json!({"teams": ["华北"]})).await;
    let r = app
        .get(&format!("/v1/campaigns/{campaign}"), app.admin())
        .await;
    let warnings = r.body["warnings"].as_array().cloned().unwrap_or_default();
    let team = warnings
        .iter()
        .find(|w| w["kind"] == "team_without_active_agent")
        .unwrap_or_else(|| panic!("{}", r.text));
    assert_eq!(team["code"], "team_without_active_agent", "{}", r.text);
    assert_eq!(team["params"]["team"], "华北", "{}", r.text);
    assert!(team["message"].as_str().is_some_and(|m| m.contains("华北")));
}

crate::on_both_backends!(
    every_problem_carries_a_code_and_params_and_each_field_error_its_own,
    a_paused_agent_asking_for_a_call_gets_the_code_agent_paused,
    campaign_warnings_carry_kind_code_and_params,
);

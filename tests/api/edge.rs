//! The HTTP edge: every failure is problem+json naming the field, never a 5xx.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn bad_inputs_get_a_4xx_problem_that_names_the_field(app: TestApp) {
    let (agent_id, _) = app.agent("张三", None).await;
    let script = app
        .post(
            "/v1/scripts",
            app.admin(),
            json!({"name": "s", "body": "hi"}),
        )
        .await;
    let script_id = script.body["id"].as_i64().unwrap();
    let long = "x".repeat(201);
    let cases: Vec<(Method, String, Value, StatusCode, &str)> = vec![
        (
            Method::POST,
            "/v1/agents".into(),
            json!({"name": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            Method::POST,
            "/v1/agents".into(),
            json!({"name": "   "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            Method::POST,
            "/v1/agents".into(),
            json!({"name": long}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            Method::POST,
            "/v1/agents".into(),
            json!({"name": "a\u{0000}b"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            Method::POST,
            "/v1/agents".into(),
            json!({"name": "ok", "team": "\u{0007}"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "team",
        ),
        (
            Method::POST,
            "/v1/agents".into(),
            json!({"name": 42}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            Method::POST,
            "/v1/agents".into(),
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            Method::POST,
            "/v1/agents".into(),
            json!({"name": "ok", "colour": "red"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour",
        ),
        (
            Method::POST,
            "/v1/agents".into(),
            json!([1, 2]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
        ),
        (
            Method::PATCH,
            format!("/v1/agents/{agent_id}"),
            json!({"name": null}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            Method::PATCH,
            format!("/v1/agents/{agent_id}"),
            json!({"active": "yes"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "active",
        ),
        (
            Method::POST,
            "/v1/offers".into(),
            json!({"code": "", "name": "n"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "code",
        ),
        (
            Method::POST,
            "/v1/offers".into(),
            json!({"code": "c", "name": "n", "description": "d".repeat(4001)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "description",
        ),
        (
            Method::POST,
            "/v1/offers".into(),
            json!({"code": "c\u{0000}", "name": "n"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "code",
        ),
        (
            Method::POST,
            "/v1/scripts".into(),
            json!({"name": "s", "body": "{% if %}"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
        ),
        (
            Method::POST,
            "/v1/scripts".into(),
            json!({"name": "s", "body": "nul \u{0000}"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
        ),
        (
            Method::PUT,
            format!("/v1/scripts/{script_id}"),
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body",
        ),
        (
            Method::GET,
            "/v1/agents?limit=0".into(),
            Value::Null,
            StatusCode::BAD_REQUEST,
            "limit",
        ),
        (
            Method::GET,
            "/v1/agents?limit=1001".into(),
            Value::Null,
            StatusCode::BAD_REQUEST,
            "limit",
        ),
        (
            Method::GET,
            "/v1/agents?limit=ten".into(),
            Value::Null,
            StatusCode::BAD_REQUEST,
            "limit",
        ),
        (
            Method::GET,
            "/v1/agents?after=-3".into(),
            Value::Null,
            StatusCode::BAD_REQUEST,
            "after",
        ),
        (
            Method::GET,
            "/v1/agents?after=abc".into(),
            Value::Null,
            StatusCode::BAD_REQUEST,
            "after",
        ),
        (
            Method::GET,
            "/v1/agents/abc".into(),
            Value::Null,
            StatusCode::BAD_REQUEST,
            "id",
        ),
        (
            Method::GET,
            "/v1/agents/99999999999999999999999".into(),
            Value::Null,
            StatusCode::BAD_REQUEST,
            "id",
        ),
        (
            Method::GET,
            "/v1/scripts/1/versions/x".into(),
            Value::Null,
            StatusCode::BAD_REQUEST,
            "version",
        ),
    ];
    for (method, path, body, status, field) in cases {
        let r = app
            .call(method.clone(), &path, Some(app.admin()), body.clone())
            .await;
        assert!(
            r.status == status,
            "{method} {path} {body}: expected {status}, got {} {}",
            r.status,
            r.text
        );
        r.expect_problem(status, field);
    }
}

async fn malformed_bodies_wrong_types_unknown_routes_and_methods_are_problems(app: TestApp) {
    let admin = Some(app.admin());
    let r = app
        .raw(
            Method::POST,
            "/v1/offers",
            admin,
            "application/json",
            "{\"code\": ",
        )
        .await;
    r.expect_problem(StatusCode::BAD_REQUEST, "body");
    let r = app
        .raw(
            Method::POST,
            "/v1/offers",
            admin,
            "application/json",
            "{} trailing",
        )
        .await;
    r.expect_problem(StatusCode::BAD_REQUEST, "body");
    let r = app
        .raw(
            Method::POST,
            "/v1/offers",
            admin,
            "application/json",
            vec![0xff, 0xfe, 0x00],
        )
        .await;
    r.expect_problem(StatusCode::BAD_REQUEST, "body");
    let r = app
        .raw(
            Method::POST,
            "/v1/offers",
            admin,
            "text/plain",
            "{\"code\":\"a\",\"name\":\"b\"}",
        )
        .await;
    r.expect_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "");
    let r = app
        .call(Method::GET, "/v1/no-such-thing", admin, Value::Null)
        .await;
    r.expect_problem(StatusCode::NOT_FOUND, "");
    let r = app
        .call(Method::DELETE, "/v1/offers", admin, Value::Null)
        .await;
    r.expect_problem(StatusCode::METHOD_NOT_ALLOWED, "");
    let r = app
        .call(Method::GET, "/v1/offers/424242", admin, Value::Null)
        .await;
    r.expect_problem(StatusCode::NOT_FOUND, "");
}

async fn oversized_bodies_are_refused_with_413(app: TestApp) {
    let huge = format!(
        "{{\"code\":\"a\",\"name\":\"b\",\"description\":\"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let r = app
        .raw(
            Method::POST,
            "/v1/offers",
            Some(app.admin()),
            "application/json",
            huge,
        )
        .await;
    r.expect_problem(StatusCode::PAYLOAD_TOO_LARGE, "");
}

async fn a_duplicate_offer_code_is_a_conflict(app: TestApp) {
    let body = json!({"code": "5G-PLUS", "name": "5G 套餐升级", "description": "全国通用"});
    let first = app.post("/v1/offers", app.admin(), body.clone()).await;
    first.expect(StatusCode::CREATED);
    assert_eq!(first.body["name"], "5G 套餐升级");
    app.post("/v1/offers", app.admin(), body)
        .await
        .expect_problem(StatusCode::CONFLICT, "");
    let id = first.body["id"].as_i64().unwrap();
    let got = app.get(&format!("/v1/offers/{id}"), app.admin()).await;
    assert_eq!(got.body["description"], "全国通用");
}

async fn lists_page_through_every_item_exactly_once(app: TestApp) {
    let mut ids = vec![];
    for i in 0..7 {
        let r = app
            .post(
                "/v1/offers",
                app.admin(),
                json!({"code": format!("O{i}"), "name": format!("offer {i}")}),
            )
            .await;
        ids.push(r.body["id"].as_i64().unwrap());
    }
    let mut seen = vec![];
    let mut path = "/v1/offers?limit=3".to_owned();
    loop {
        let page = app.get(&path, app.admin()).await;
        page.expect(StatusCode::OK);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|o| o["id"].as_i64().unwrap()));
        match page.body["next"].as_str() {
            Some(cursor) => path = format!("/v1/offers?limit=3&after={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let default = app.get("/v1/offers", app.admin()).await;
    assert_eq!(default.body["items"].as_array().unwrap().len(), 7);
    assert!(default.body["next"].is_null());
}

async fn health_readiness_metrics_and_docs_answer(app: TestApp) {
    app.call(Method::GET, "/healthz", None, Value::Null)
        .await
        .expect(StatusCode::OK);
    let ready = app.call(Method::GET, "/readyz", None, Value::Null).await;
    ready.expect(StatusCode::OK);
    app.get("/v1/offers", app.admin()).await;
    app.call(Method::GET, "/metrics", None, Value::Null)
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "");
    let viewer = app.token("viewer").await;
    let metrics = app.get("/metrics", &viewer).await;
    metrics.expect(StatusCode::OK);
    assert!(
        metrics.text.contains("outcall_http_requests_total"),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains("route=\"/v1/offers\""));
    assert!(
        metrics
            .text
            .contains("outcall_http_request_duration_seconds_bucket")
    );
    let docs = app.call(Method::GET, "/docs/", None, Value::Null).await;
    docs.expect(StatusCode::OK);
    assert!(
        docs.text.contains("swagger"),
        "docs page: {}",
        &docs.text[..docs.text.len().min(300)]
    );
    let doc = app
        .call(Method::GET, "/openapi.json", None, Value::Null)
        .await;
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc.body["components"]["schemas"]["Problem"].is_object());
    assert!(ready.headers.get("x-request-id").is_some());
}

/// A client generated from the description must accept what the server sends: every state a
/// campaign view, a contact, a token or the audit log carries is spelt there as on the wire.
async fn the_api_description_spells_every_state_as_the_api_sends_it(app: TestApp) {
    let doc = app
        .call(Method::GET, "/openapi.json", None, Value::Null)
        .await;
    let schemas = &doc.body["components"]["schemas"];
    for (schema, spelt) in [
        ("CampaignStatus", "active"),
        ("ContactState", "leased"),
        ("Role", "admin"),
        ("Entity", "campaign"),
    ] {
        let values = schemas[schema]["enum"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            values.iter().any(|v| v == spelt),
            "{schema} lists {values:?}, not {spelt:?}"
        );
    }
}

async fn the_api_description_names_outcall_its_mit_licence_and_no_person(app: TestApp) {
    let doc = app
        .call(Method::GET, "/openapi.json", None, Value::Null)
        .await;
    let info = &doc.body["info"];
    assert_eq!(info["title"], "outcall", "{info}");
    assert_eq!(info["license"]["name"], "MIT", "{info}");
    assert!(info.get("contact").is_none(), "credits a person: {info}");
    assert!(
        !doc.text.contains('@'),
        "an e-mail address in the description"
    );
}

async fn the_pages_have_a_favicon(app: TestApp) {
    let r = app
        .call(Method::GET, "/favicon.ico", None, Value::Null)
        .await;
    r.expect(StatusCode::OK);
    assert!(r.content_type.starts_with("image/"), "{}", r.content_type);
    assert!(r.text.contains("<svg"), "{}", r.text);
}

crate::on_both_backends!(
    the_api_description_names_outcall_its_mit_licence_and_no_person,
    the_pages_have_a_favicon,
    the_api_description_spells_every_state_as_the_api_sends_it,
    bad_inputs_get_a_4xx_problem_that_names_the_field,
    malformed_bodies_wrong_types_unknown_routes_and_methods_are_problems,
    oversized_bodies_are_refused_with_413,
    a_duplicate_offer_code_is_a_conflict,
    lists_page_through_every_item_exactly_once,
    health_readiness_metrics_and_docs_answer,
);

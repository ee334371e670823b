//! Scripts: templates checked at save time, versioned on every change.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

async fn every_put_makes_a_new_version_and_old_versions_stay_readable(app: TestApp) {
    let lead = app.token("lead").await;
    let created = app
        .post(
            "/v1/scripts",
            &lead,
            json!({"name": "5G 升级", "body": "您好{{ name }}"}),
        )
        .await;
    created.expect(StatusCode::CREATED);
    assert_eq!(created.body["version"], 1);
    let id = created.body["id"].as_i64().unwrap();
    let path = format!("/v1/scripts/{id}");
    let v2 = app
        .call(
            Method::PUT,
            &path,
            Some(&lead),
            json!({"body": "您好{{ name }}，{{ attributes.plan }}"}),
        )
        .await;
    v2.expect(StatusCode::OK);
    assert_eq!(v2.body["version"], 2);
    let v3 = app
        .call(Method::PUT, &path, Some(&lead), json!({"body": "第三版"}))
        .await;
    assert_eq!(v3.body["version"], 3);
    let current = app.get(&path, &lead).await;
    assert_eq!(
        (
            current.body["version"].as_i64(),
            current.body["body"].as_str()
        ),
        (Some(3), Some("第三版"))
    );
    let first = app.get(&format!("{path}/versions/1"), &lead).await;
    first.expect(StatusCode::OK);
    assert_eq!(first.body["body"], "您好{{ name }}");
    app.get(&format!("{path}/versions/4"), &lead)
        .await
        .expect_problem(StatusCode::NOT_FOUND, "");
    app.call(
        Method::PUT,
        "/v1/scripts/424242",
        Some(&lead),
        json!({"body": "x"}),
    )
    .await
    .expect_problem(StatusCode::NOT_FOUND, "");
}

async fn a_template_that_does_not_parse_is_a_422_naming_the_line(app: TestApp) {
    let r = app
        .post(
            "/v1/scripts",
            app.admin(),
            json!({"name": "bad", "body": "第一行\n第二行 {{ name \n第三行"}),
        )
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "body");
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("line 2") || message.starts_with("line 3"),
        "{message}"
    );
    let ok = app
        .post(
            "/v1/scripts",
            app.admin(),
            json!({"name": "ok", "body": "{{ undefined_thing }} is fine"}),
        )
        .await;
    ok.expect(StatusCode::CREATED);
    let id = ok.body["id"].as_i64().unwrap();
    let r = app
        .call(
            Method::PUT,
            &format!("/v1/scripts/{id}"),
            Some(app.admin()),
            json!({"body": "{% for %}"}),
        )
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "body");
    // A refused update leaves the version where it was.
    assert_eq!(
        app.get(&format!("/v1/scripts/{id}"), app.admin())
            .await
            .body["version"],
        1
    );
}

crate::on_both_backends!(
    every_put_makes_a_new_version_and_old_versions_stay_readable,
    a_template_that_does_not_parse_is_a_422_naming_the_line,
);

//! Finding people and editing them (issue 25 item 6): by phone in any form, by the start of
//! their name (张 finds 张伟), by a CRM's id; a lead edits name, zone, attributes and
//! `external_id` with the import's own checks, and every edit is audited without the phone.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn people(app: &TestApp) -> i64 {
    let campaign = app.campaign(json!({})).await;
    app.post(
        &format!("/v1/campaigns/{campaign}/contacts"),
        app.admin(),
        json!({"contacts": [
            {"phone": "13800138000", "name": "张伟", "external_id": "C-1"},
            {"phone": "13800138001", "name": "张三"},
            {"phone": "13800138002", "name": "张伟明", "attributes": {"plan": "全球通"}},
            {"phone": "13800138003", "name": "李四"},
            {"phone": "13800138004", "name": "Zhang Wei", "external_id": "C-1"},
            {"phone": "13800138005"}
        ]}),
    )
    .await
    .expect(StatusCode::OK);
    campaign
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn people_are_found_by_the_start_of_their_name_a_page_at_a_time_and_by_phone_or_crm_id(
    app: TestApp,
) {
    people(&app).await;
    let lead = app.token("lead").await;
    let found = app.get("/v1/contacts?name=%E5%BC%A0", &lead).await; // 张
    found.expect(StatusCode::OK);
    assert_eq!(
        names(&found.body),
        ["张三", "张伟", "张伟明"],
        "{}",
        found.text
    );
    assert_eq!(found.body["next"], Value::Null);
    // A page at a time, in name order.
    let first = app.get("/v1/contacts?name=%E5%BC%A0&limit=2", &lead).await;
    assert_eq!(names(&first.body), ["张三", "张伟"], "{}", first.text);
    let next = first.body["next"].as_str().expect("a next page").to_owned();
    let second = app
        .get(
            &format!("/v1/contacts?name=%E5%BC%A0&limit=2&after={next}"),
            &lead,
        )
        .await;
    assert_eq!(names(&second.body), ["张伟明"], "{}", second.text);
    assert_eq!(second.body["next"], Value::Null);
    let found = app.get("/v1/contacts?name=%E5%BC%A0%E4%BC%9F", &lead).await; // 张伟
    assert_eq!(names(&found.body), ["张伟", "张伟明"], "{}", found.text);
    assert_eq!(found.body["items"][1]["attributes"]["plan"], "全球通");
    let found = app.get("/v1/contacts?name=Zh", &lead).await;
    assert_eq!(names(&found.body), ["Zhang Wei"], "{}", found.text);
    let found = app.get("/v1/contacts?name=%E7%8E%8B", &lead).await; // 王
    assert_eq!(found.body["items"], json!([]), "{}", found.text);
    // By phone in another form, and by the CRM's id (two phones share it).
    let found = app.get("/v1/contacts?phone=138%200013%208003", &lead).await;
    assert_eq!(names(&found.body), ["李四"], "{}", found.text);
    let found = app.get("/v1/contacts?external_id=C-1", &lead).await;
    assert_eq!(names(&found.body), ["张伟", "Zhang Wei"], "{}", found.text);
    // One way at a time, and a name within a name's bound.
    app.get("/v1/contacts?name=a&phone=13800138000", &lead)
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "name");
    let long = "x".repeat(201);
    app.get(&format!("/v1/contacts?name={long}"), &lead)
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "name");
    app.get("/v1/contacts?name=a&limit=0", &lead)
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "limit");
    // Supervisors and machine callers find people too; viewers and agents do not.
    for role in ["supervisor", "integration"] {
        let token = app.token(role).await;
        let found = app.get("/v1/contacts?name=%E6%9D%8E", &token).await; // 李
        assert_eq!(names(&found.body), ["李四"], "{role}: {}", found.text);
    }
    let viewer = app.token("viewer").await;
    app.get("/v1/contacts?name=%E6%9D%8E", &viewer)
        .await
        .expect(StatusCode::FORBIDDEN);
}

async fn patch(app: &TestApp, token: &str, id: i64, body: Value) -> outcall_client::Reply {
    app.call(
        Method::PATCH,
        &format!("/v1/contacts/{id}"),
        Some(token),
        body,
    )
    .await
}

async fn a_lead_edits_a_person_with_the_imports_checks_and_the_edit_is_audited_without_the_phone(
    app: TestApp,
) {
    people(&app).await;
    let lead = app.token("lead").await;
    let found = app
        .get("/v1/contacts?name=%E5%BC%A0%E4%BC%9F%E6%98%8E", &lead)
        .await; // 张伟明
    let id = found.body["items"][0]["id"].as_i64().unwrap();
    let r = patch(
        &app,
        &lead,
        id,
        json!({"name": "张伟民", "timezone": "Asia/Urumqi", "external_id": "C-9",
            "attributes": {"plan": null, "套餐": "5G-PLUS", "arpu": 128}}),
    )
    .await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["name"], "张伟民", "{}", r.text);
    assert_eq!(r.body["timezone"], "Asia/Urumqi");
    assert_eq!(r.body["external_id"], "C-9");
    assert_eq!(
        r.body["attributes"],
        json!({"套餐": "5G-PLUS", "arpu": "128"})
    );
    let shown = app.get(&format!("/v1/contacts/{id}"), &lead).await;
    assert_eq!(shown.body["name"], "张伟民", "{}", shown.text);
    assert_eq!(shown.body["attributes"]["套餐"], "5G-PLUS");
    let found = app.get("/v1/contacts?name=%E5%BC%A0%E4%BC%9F", &lead).await; // 张伟
    assert_eq!(names(&found.body), ["张伟", "张伟民"], "{}", found.text);

    // Audited: who, before and after, and no phone anywhere in it.
    let audit = app
        .get(
            &format!("/v1/audit?entity=contact&entity_id={id}"),
            app.admin(),
        )
        .await;
    audit.expect(StatusCode::OK);
    let entry = &audit.body["items"][0];
    assert_eq!(entry["action"], "update", "{}", audit.text);
    assert_eq!(entry["before"]["name"], "张伟明", "{}", audit.text);
    assert_eq!(entry["after"]["name"], "张伟民");
    assert_eq!(entry["after"]["timezone"], "Asia/Urumqi");
    assert!(!audit.text.contains("13800138002"), "{}", audit.text);

    // Cleared with null; what is left out stays.
    let r = patch(
        &app,
        &lead,
        id,
        json!({"external_id": null, "attributes": {"arpu": ""}}),
    )
    .await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["external_id"], Value::Null, "{}", r.text);
    assert_eq!(r.body["name"], "张伟民");
    assert_eq!(r.body["attributes"], json!({"套餐": "5G-PLUS"}));

    // The import's checks, each naming its field; nothing changes.
    for (body, field) in [
        (json!({"timezone": "Mars/Olympus"}), "timezone"),
        (json!({"external_id": "x".repeat(101)}), "external_id"),
        (json!({"name": "a\u{7}b"}), "name"),
        (
            json!({"attributes": {"plan": "x".repeat(1001)}}),
            "attributes",
        ),
        (json!({"attributes": {"plan": {"nested": 1}}}), "attributes"),
    ] {
        patch(&app, &lead, id, body.clone())
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let many: serde_json::Map<String, Value> =
        (0..100).map(|i| (format!("k{i}"), json!("v"))).collect();
    patch(&app, &lead, id, json!({ "attributes": many }))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "attributes");
    let r = patch(&app, &lead, id, json!({"phone": "13900139000"})).await;
    assert!(r.status.is_client_error(), "{}", r.text);
    let shown = app.get(&format!("/v1/contacts/{id}"), &lead).await;
    assert_eq!(shown.body["timezone"], "Asia/Urumqi", "{}", shown.text);
    assert_eq!(shown.body["phone"], "+8613800138002");
    patch(&app, &lead, 999_999, json!({"name": "x"}))
        .await
        .expect(StatusCode::NOT_FOUND);
    let supervisor = app.token("supervisor").await;
    patch(&app, &supervisor, id, json!({"name": "x"}))
        .await
        .expect(StatusCode::FORBIDDEN);
}

crate::on_both_backends!(
    people_are_found_by_the_start_of_their_name_a_page_at_a_time_and_by_phone_or_crm_id,
    a_lead_edits_a_person_with_the_imports_checks_and_the_edit_is_audited_without_the_phone,
);

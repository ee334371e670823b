//! The do-not-call list: add, look up, remove; effective for every campaign at once.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn a_phone_is_listed_looked_up_and_removed_in_any_form(app: TestApp) {
    let lead = app.token("lead").await;
    let r = app
        .post(
            "/v1/dnc",
            &lead,
            json!({"phone": "138-0013-8000", "reason": "客户要求"}),
        )
        .await;
    r.expect(StatusCode::CREATED);
    assert_eq!(r.body["phone"], "+8613800138000");
    assert_eq!(r.body["reason"], "客户要求");
    assert_eq!(r.body["added_by"], "lead token", "who listed it is kept");
    app.post("/v1/dnc", &lead, json!({"phone": "+8613800138000"}))
        .await
        .expect(StatusCode::OK);
    let found = app.get("/v1/dnc?phone=13800138000", &lead).await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(found.body["items"][0]["reason"], "客户要求");
    let none = app.get("/v1/dnc?phone=13800138009", &lead).await;
    assert_eq!(none.body["items"], json!([]));
    app.get("/v1/dnc?phone=12", &lead)
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "phone");
    app.post("/v1/dnc", &lead, json!({"phone": "12"}))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "phone");
    app.post(
        "/v1/dnc",
        &lead,
        json!({"phone": "13800138000", "reason": "\u{0000}"}),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "reason");
    app.call(
        Method::DELETE,
        "/v1/dnc/13800138000?reason=asked%20by%20the%20customer",
        Some(&lead),
        Value::Null,
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    app.call(
        Method::DELETE,
        "/v1/dnc/%2B8613800138000?reason=again",
        Some(&lead),
        Value::Null,
    )
    .await
    .expect_problem(StatusCode::NOT_FOUND, "");
    app.call(
        Method::DELETE,
        "/v1/dnc/not-a-phone",
        Some(&lead),
        Value::Null,
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "phone");
}

async fn listing_a_phone_suppresses_it_in_every_campaign_and_removal_restores_it(app: TestApp) {
    let a = app.campaign(json!({})).await;
    let b = app.campaign(json!({})).await;
    for c in [a, b] {
        app.import_csv(c, "phone\n13800138000\n13800138001\n")
            .await
            .expect(StatusCode::OK);
    }
    app.post("/v1/dnc", app.admin(), json!({"phone": "13800138000"}))
        .await
        .expect(StatusCode::CREATED);
    for c in [a, b] {
        let s = app.contacts(c, Some("suppressed")).await;
        assert_eq!(s.len(), 1);
        assert_eq!(s[0]["phone"], "+8613800138000");
        assert_eq!(app.contacts(c, Some("ready")).await.len(), 1);
    }
    app.call(
        Method::DELETE,
        "/v1/dnc/+8613800138000?reason=listed%20by%20mistake",
        Some(app.admin()),
        Value::Null,
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    for c in [a, b] {
        assert_eq!(app.contacts(c, Some("ready")).await.len(), 2);
    }
}

async fn a_csv_of_phones_lists_many_and_explains_bad_rows(app: TestApp) {
    app.post("/v1/dnc", app.admin(), json!({"phone": "13800138000"}))
        .await;
    let csv = "phone,reason\n13800138000,again\n13800138001,complained\n12,bad\n13800138002,\n";
    let r = app
        .raw(Method::POST, "/v1/dnc", Some(app.admin()), "text/csv", csv)
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["total"], 4);
    assert_eq!(r.body["added"], 2);
    assert_eq!(r.body["already_listed"], 1);
    assert_eq!(r.body["invalid"][0]["row"], 4);
    let mut phones = vec![];
    let mut path = "/v1/dnc?limit=2".to_owned();
    loop {
        let page = app.get(&path, app.admin()).await;
        phones.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["phone"].as_str().unwrap().to_owned()),
        );
        match page.body["next"].as_str() {
            Some(n) => path = format!("/v1/dnc?limit=2&after={}", n.replace('+', "%2B")),
            None => break,
        }
    }
    assert_eq!(
        phones,
        vec!["+8613800138000", "+8613800138001", "+8613800138002"]
    );
    let r = app
        .raw(
            Method::POST,
            "/v1/dnc",
            Some(app.admin()),
            "text/csv",
            "number\n1\n",
        )
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "phone");
}

/// 1,005 listed phones (past one page of the stream) come out of `GET /v1/dnc.csv` once each in
/// phone order, with a formula-looking reason written with a leading `'`; a viewer may not.
async fn the_do_not_call_list_is_exported_whole_as_csv_past_a_page(app: TestApp) {
    let mut csv = String::from("phone,reason\n");
    for i in 0..1_005 {
        csv.push_str(&format!(
            "1380{i:07},{}\n",
            if i == 3 {
                "=HYPERLINK(1)"
            } else {
                "客户要求"
            }
        ));
    }
    app.raw(Method::POST, "/v1/dnc", Some(app.admin()), "text/csv", csv)
        .await
        .expect(StatusCode::OK);
    let r = app.get("/v1/dnc.csv", app.admin()).await;
    r.expect(StatusCode::OK);
    assert!(r.content_type.starts_with("text/csv"), "{}", r.content_type);
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(lines[0], "phone,reason,added_by,added_at");
    assert_eq!(lines.len(), 1 + 1_005, "every phone once");
    assert!(
        lines[1].starts_with("'+8613800000000,客户要求,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[4].starts_with("'+8613800000003,'=HYPERLINK(1),"),
        "{}",
        lines[4]
    );
    assert!(
        lines[1_005].starts_with("'+8613800001004,"),
        "{}",
        lines[1_005]
    );
    let viewer = app.token("viewer").await;
    app.get("/v1/dnc.csv", &viewer)
        .await
        .expect(StatusCode::FORBIDDEN);
}

crate::on_both_backends!(
    the_do_not_call_list_is_exported_whole_as_csv_past_a_page,
    a_phone_is_listed_looked_up_and_removed_in_any_form,
    listing_a_phone_suppresses_it_in_every_campaign_and_removal_restores_it,
    a_csv_of_phones_lists_many_and_explains_bad_rows,
);

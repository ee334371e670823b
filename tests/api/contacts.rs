//! Contact imports (CSV and JSON, inline and as a job), listings and one contact's page.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

async fn a_csv_with_every_edge_case_imports_exactly(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    app.post("/v1/dnc", app.admin(), json!({"phone": "13900139000"}))
        .await
        .expect(StatusCode::CREATED);
    // Already in the campaign before this upload.
    app.import_csv(campaign, "phone\n13700137000\n")
        .await
        .expect(StatusCode::OK);
    let csv = "\u{feff}phone,name,plan,address\r\n\
        13800138000,王芳,\"全球通, 88\",\"北京市\r\n朝阳区\"\r\n\
        138-0013-8001,\"Li \"\"Lei\"\"\",5G,\r\n\
        13800138000,王芳 again,x,\r\n\
        12,bad phone,y,\r\n\
        13900139000,on the list,z,\r\n\
        13700137000,already there,w,\r\n\
        +86 138 0013 8002,张伟,\"a,b,c\",\r\n";
    let r = app.import_csv(campaign, csv).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["total"], 7, "{}", r.text);
    assert_eq!(r.body["accepted"], 3);
    assert_eq!(r.body["duplicates"], 2);
    assert_eq!(r.body["suppressed"], 1);
    let invalid = r.body["invalid"].as_array().unwrap();
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0]["row"], 5);
    assert!(invalid[0]["reason"].as_str().unwrap().contains("phone"));

    let all = app.contacts(campaign, None).await;
    let by_phone = |p: &str| {
        all.iter()
            .find(|c| c["phone"] == p)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let wang = by_phone("+8613800138000");
    assert_eq!(wang["name"], "王芳");
    assert_eq!(wang["attributes"]["plan"], "全球通, 88");
    assert_eq!(wang["attributes"]["address"], "北京市\r\n朝阳区");
    assert_eq!(wang["state"], "ready");
    assert_eq!(by_phone("+8613800138001")["name"], "Li \"Lei\"");
    assert_eq!(by_phone("+8613800138002")["attributes"]["plan"], "a,b,c");
    assert_eq!(by_phone("+8613900139000")["state"], "suppressed");
    assert_eq!(all.len(), 5);
    let suppressed = app.contacts(campaign, Some("suppressed")).await;
    assert_eq!(suppressed.len(), 1);
}

async fn a_json_upload_is_checked_row_by_row(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let (agent, _) = app.agent("owner", None).await;
    let body = json!({"contacts": [
        {"phone": "13800138000", "name": "王芳", "timezone": "Asia/Urumqi", "priority": 80, "owner_agent": agent,
         "attributes": {"plan": "全球通 88", "monthly_spend": 156}},
        {"phone": "nope"},
        {"phone": "13800138001", "timezone": "Nowhere/Land"},
        {"phone": "13800138002", "priority": 101},
        {"phone": "13800138003", "owner_agent": 999999},
        {"phone": "13800138004", "attributes": {"bad": "nul\u{0000}"}},
        {"phone": "13800138000"}
    ]});
    let r = app
        .post(
            &format!("/v1/campaigns/{campaign}/contacts"),
            app.admin(),
            body,
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(
        (
            r.body["total"].as_u64(),
            r.body["accepted"].as_u64(),
            r.body["duplicates"].as_u64()
        ),
        (Some(7), Some(1), Some(1)),
        "{}",
        r.text
    );
    let rows: Vec<u64> = r.body["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, vec![2, 3, 4, 5, 6]);
    let contact = &app.contacts(campaign, None).await[0];
    assert_eq!(contact["timezone"], "Asia/Urumqi");
    assert_eq!(contact["priority"], 80);
    assert_eq!(contact["owner_agent"], agent);
    assert_eq!(contact["attributes"]["monthly_spend"], "156");
    let r = app
        .post(
            &format!("/v1/campaigns/{campaign}/contacts"),
            app.admin(),
            json!({"contacts": [{"name": "no phone"}]}),
        )
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "contacts[0].phone");
}

async fn uploads_that_cannot_be_read_are_refused_whole(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let r = app.import_csv(campaign, "name,plan\n王芳,x\n").await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "phone");
    let r = app.import_csv(campaign, "").await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "phone");
    let r = app
        .raw(
            Method::POST,
            &format!("/v1/campaigns/{campaign}/contacts"),
            Some(app.admin()),
            "application/xml",
            "<x/>",
        )
        .await;
    r.expect_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "");
    let r = app.import_csv(987654, "phone\n13800138000\n").await;
    r.expect_problem(StatusCode::NOT_FOUND, "");
    let r = app
        .raw(
            Method::POST,
            &format!("/v1/campaigns/{campaign}/contacts"),
            Some(app.admin()),
            "text/csv",
            vec![0xffu8, 0xfe, b'\n', 0xff],
        )
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "phone");
    app.campaign_action(campaign, "start").await;
    app.campaign_action(campaign, "stop").await;
    app.import_csv(campaign, "phone\n13800138000\n")
        .await
        .expect_problem(StatusCode::CONFLICT, "");
}

async fn a_large_csv_is_imported_by_a_job_with_progress_and_an_exact_report(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let mut csv = String::from("phone,name,tier\n");
    let rows = 5_000;
    for i in 0..rows {
        if i % 1000 == 7 {
            csv.push_str("not-a-phone,bad,x\n");
        } else {
            csv.push_str(&format!("1380{:07},客户{i},gold\n", i));
        }
    }
    csv.push_str("13800000001,repeat,gold\n");
    let r = app.import_csv(campaign, &csv).await;
    r.expect(StatusCode::ACCEPTED);
    assert_eq!(r.body["state"], "queued");
    let id = r.body["id"].as_i64().unwrap();
    let mut seen_progress: Vec<(String, i64)> = vec![];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let done = loop {
        let s = app.get(&format!("/v1/imports/{id}"), app.admin()).await;
        s.expect(StatusCode::OK);
        seen_progress.push((
            s.body["state"].as_str().unwrap().to_owned(),
            s.body["processed"].as_i64().unwrap(),
        ));
        if s.body["state"] == "done" {
            break s.body;
        }
        assert!(s.body["report"].is_null(), "no report before the end");
        assert!(
            std::time::Instant::now() < deadline,
            "the import did not finish: {seen_progress:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let report = &done["report"];
    assert_eq!(report["total"], rows + 1);
    assert_eq!(report["accepted"], rows - 5);
    assert_eq!(report["duplicates"], 1);
    assert_eq!(report["invalid"].as_array().unwrap().len(), 5);
    assert_eq!(report["invalid"][0]["row"], 9);
    assert_eq!(done["processed"], rows + 1);
    assert!(
        seen_progress.windows(2).all(|w| w[0].1 <= w[1].1),
        "progress never goes back: {seen_progress:?}"
    );
    assert_eq!(
        app.contacts(campaign, Some("ready")).await.len() as i64,
        rows - 5
    );
    app.get("/v1/imports/424242", app.admin())
        .await
        .expect_problem(StatusCode::NOT_FOUND, "");
}

async fn a_contact_page_shows_every_campaign_it_is_in(app: TestApp) {
    let a = app.campaign(json!({})).await;
    let b = app.campaign(json!({})).await;
    app.import_csv(a, "phone,name,plan\n13800138000,王芳,old\n")
        .await
        .expect(StatusCode::OK);
    app.import_csv(b, "phone,name,plan\n13800138000,王芳,new\n")
        .await
        .expect(StatusCode::OK);
    let id = app.contacts(a, None).await[0]["id"].as_i64().unwrap();
    assert_eq!(
        app.contacts(b, None).await[0]["id"].as_i64().unwrap(),
        id,
        "one person, one contact id"
    );
    let c = app.get(&format!("/v1/contacts/{id}"), app.admin()).await;
    c.expect(StatusCode::OK);
    assert_eq!(c.body["phone"], "+8613800138000");
    assert_eq!(
        c.body["attributes"]["plan"], "new",
        "the latest list's attributes win"
    );
    let campaigns: Vec<i64> = c.body["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(campaigns, vec![a, b]);
    assert_eq!(c.body["history"], json!([]));
    app.get("/v1/contacts/987654", app.admin())
        .await
        .expect_problem(StatusCode::NOT_FOUND, "");
    app.get(
        &format!("/v1/campaigns/{a}/contacts?state=gone"),
        app.admin(),
    )
    .await
    .expect_problem(StatusCode::BAD_REQUEST, "state");
}

crate::on_both_backends!(
    a_csv_with_every_edge_case_imports_exactly,
    a_json_upload_is_checked_row_by_row,
    uploads_that_cannot_be_read_are_refused_whole,
    a_contact_page_shows_every_campaign_it_is_in,
);

async fn with_small_inline_limit(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| c.import_inline_bytes = 4096).await
}

crate::on_both_backends!(
    start = super::with_small_inline_limit;
    mod job_sqlite, job_postgres;
    a_large_csv_is_imported_by_a_job_with_progress_and_an_exact_report,
);

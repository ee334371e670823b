//! Contact lists as offices really have them (issue 25): saved by Excel on Chinese Windows
//! (GBK), as "Unicode text" (UTF-16, tabs), as "CSV UTF-8" (BOM) or with semicolons; headed in
//! Chinese; exported by a CRM with its own column names, mapped with the upload. The fixtures
//! are made by scripts/make-fixtures.py with the codecs office software uses.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

const GBK: &[u8] = include_bytes!("../fixtures/files/excel-gbk.csv");
const UNICODE_TEXT: &[u8] = include_bytes!("../fixtures/files/excel-unicode-text.txt");
const UTF8_BOM: &[u8] = include_bytes!("../fixtures/files/excel-utf8-bom.csv");
const SEMICOLON: &[u8] = include_bytes!("../fixtures/files/excel-semicolon.csv");
const CRM: &[u8] = include_bytes!("../fixtures/files/crm-export.csv");

/// The CRM export's columns mapped: its phone, name and id columns, its note skipped.
const CRM_MAPPING: &str =
    r#"{"客户手机": "phone", "称呼": "name", "CRM_ID": "external_id", "备注": null}"#;

fn query(mapping: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("mapping", mapping)
        .finish()
}

async fn upload(
    app: &TestApp,
    campaign: i64,
    query: &str,
    content_type: &str,
    body: &[u8],
) -> outcall_client::Reply {
    app.raw(
        Method::POST,
        &format!("/v1/campaigns/{campaign}/contacts?{query}"),
        Some(app.admin()),
        content_type,
        body.to_vec(),
    )
    .await
}

/// The fixtures' people as the campaign shows them: phone → the contact.
async fn people(app: &TestApp, campaign: i64) -> Vec<Value> {
    let mut all = app.contacts(campaign, None).await;
    all.sort_by_key(|c| c["phone"].as_str().unwrap_or("").to_owned());
    all
}

async fn lists_saved_by_excel_in_each_charset_and_separator_are_read_with_their_chinese_headers(
    app: TestApp,
) {
    for (fixture, charset) in [
        (GBK, "gb18030"),
        (UNICODE_TEXT, "utf-16le"),
        (UTF8_BOM, "utf-8"),
        (SEMICOLON, "utf-8"),
    ] {
        let campaign = app.campaign(json!({})).await;
        let r = upload(&app, campaign, "", "text/csv", fixture).await;
        r.expect(StatusCode::OK);
        assert_eq!(r.body["charset"], charset, "{}", r.text);
        assert_eq!(
            (r.body["total"].as_u64(), r.body["accepted"].as_u64()),
            (Some(4), Some(3)),
            "{charset}: {}",
            r.text
        );
        assert_eq!(r.body["invalid"][0]["row"], 5, "{}", r.text);
        let people = people(&app, campaign).await;
        assert_eq!(people.len(), 3);
        assert_eq!(people[0]["phone"], "+8613700137002");
        assert_eq!(people[0]["name"], "张伟", "{charset}");
        assert_eq!(people[0]["external_id"], "C-0003", "{charset}");
        assert_eq!(
            people[1]["attributes"],
            json!({"套餐": "全球通 88", "月消费": "128"}),
            "{charset}"
        );
    }
}

async fn a_declared_charset_is_used_and_one_outcall_cannot_read_is_refused(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let r = upload(&app, campaign, "", "text/csv; charset=GBK", GBK).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["charset"], "gb18030");
    assert_eq!(r.body["accepted"], 3, "{}", r.text);
    let other = app.campaign(json!({})).await;
    upload(&app, other, "", "text/csv; charset=latin1", GBK)
        .await
        .expect(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(people(&app, other).await.is_empty());
}

async fn a_crm_export_is_read_through_the_mapping_given_and_a_bad_mapping_is_refused_naming_it(
    app: TestApp,
) {
    let campaign = app.campaign(json!({})).await;
    // Without a mapping the header has no column a phone is recognised by.
    upload(&app, campaign, "", "text/csv", CRM)
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "phone");
    for (mapping, status) in [
        ("not json", StatusCode::BAD_REQUEST),
        (r#"["phone"]"#, StatusCode::BAD_REQUEST),
        (r#"{"客户手机": "email"}"#, StatusCode::UNPROCESSABLE_ENTITY),
        (r#"{"手机": "phone"}"#, StatusCode::UNPROCESSABLE_ENTITY),
        (
            r#"{"客户手机": "phone", "称呼": "phone"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (r#"{"称呼": "name"}"#, StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        upload(&app, campaign, &query(mapping), "text/csv", CRM)
            .await
            .expect_problem(status, "mapping");
    }
    assert!(people(&app, campaign).await.is_empty());

    let r = upload(&app, campaign, &query(CRM_MAPPING), "text/csv", CRM).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["accepted"], 3, "{}", r.text);
    let people = people(&app, campaign).await;
    assert_eq!(people[1]["name"], "王芳");
    assert_eq!(people[1]["external_id"], "C-0001");
    // The skipped column is nowhere.
    assert_eq!(people[1]["attributes"], json!({}));
}

async fn people_are_found_by_their_external_id_and_an_id_past_its_bound_is_refused(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    upload(&app, campaign, "", "text/csv", GBK)
        .await
        .expect(StatusCode::OK);
    let found = app
        .get("/v1/contacts?external_id=C-0002", app.admin())
        .await;
    found.expect(StatusCode::OK);
    let items = found.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", found.text);
    assert_eq!(items[0]["phone"], "+8613900139001");
    assert_eq!(items[0]["external_id"], "C-0002");
    let page = app
        .get("/v1/contacts?external_id=C-9999", app.admin())
        .await;
    assert_eq!(page.body["items"], json!([]), "{}", page.text);
    let long = "x".repeat(101);
    app.get(&format!("/v1/contacts?external_id={long}"), app.admin())
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "external_id");
    app.get(
        "/v1/contacts?external_id=C-0002&phone=13900139001",
        app.admin(),
    )
    .await
    .expect_problem(StatusCode::BAD_REQUEST, "external_id");
    // JSON uploads carry it too, and a row without one keeps the person's.
    let r = app
        .post(
            &format!("/v1/campaigns/{campaign}/contacts"),
            app.admin(),
            json!({"contacts": [{"phone": "13800138000", "external_id": "C-0100"},
                {"phone": "13800138111", "external_id": "C-0111"}]}),
        )
        .await;
    r.expect(StatusCode::OK);
    let other = app.campaign(json!({})).await;
    upload(&app, other, "", "text/csv", b"phone\n13800138111\n")
        .await
        .expect(StatusCode::OK);
    let found = app
        .get("/v1/contacts?external_id=C-0111", app.admin())
        .await;
    assert_eq!(
        found.body["items"][0]["phone"], "+8613800138111",
        "{}",
        found.text
    );
}

async fn importing_by_job(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| c.import_inline_bytes = 64).await
}

async fn a_large_upload_is_read_by_the_job_in_its_charset_and_through_its_mapping(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let r = upload(&app, campaign, &query(CRM_MAPPING), "text/csv", CRM).await;
    r.expect(StatusCode::ACCEPTED);
    let id = r.body["id"].as_i64().unwrap();
    let done = app.wait_import(id, Duration::from_millis(50)).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["report"]["charset"], "gb18030", "{done}");
    assert_eq!(done["report"]["accepted"], 3, "{done}");
    let people = people(&app, campaign).await;
    assert_eq!(people[1]["external_id"], "C-0001");
    assert_eq!(people[1]["name"], "王芳");
    // A mapping the header does not fit is refused before anything is stored.
    upload(
        &app,
        campaign,
        &query(r#"{"手机": "phone"}"#),
        "text/csv",
        CRM,
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "mapping");
}

async fn a_preview_shows_columns_mapping_rows_and_what_the_script_reads_without_importing(
    app: TestApp,
) {
    let script = app
        .script("您好{{ name }}，您的套餐是{{ attributes.plan }}，{{ attributes.spend }}")
        .await;
    let campaign = app.campaign(json!({"script_id": script})).await;
    let preview = |q: String| {
        let app = &app;
        async move {
            app.raw(
                Method::POST,
                &format!("/v1/imports/preview?campaign={campaign}&{q}"),
                Some(app.admin()),
                "text/csv",
                GBK.to_vec(),
            )
            .await
        }
    };
    let r = preview(String::new()).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["charset"], "gb18030");
    assert_eq!(
        r.body["columns"],
        json!(["手机号码", "客户姓名", "客户编号", "套餐", "月消费"])
    );
    assert_eq!(
        r.body["mapping"],
        json!({"手机号码": "phone", "客户姓名": "name", "客户编号": "external_id",
            "套餐": "attributes.套餐", "月消费": "attributes.月消费"})
    );
    assert_eq!(r.body["rows"].as_array().unwrap().len(), 4);
    assert_eq!(r.body["rows"][0][1], "王芳");
    assert_eq!(r.body["missing_for_script"], json!(["plan", "spend"]));
    let r = preview(query(r#"{"套餐": "attributes.plan"}"#)).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["missing_for_script"], json!(["spend"]), "{}", r.text);
    preview(query(r#"{"套餐": "email"}"#))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "mapping");
    assert!(people(&app, campaign).await.is_empty());
}

async fn each_invalid_row_says_its_value_and_a_translated_code_and_the_rows_download_as_csv(
    app: TestApp,
) {
    let campaign = app.campaign(json!({})).await;
    // Past the 1,000-character attribute bound, within the 4 KiB field bound.
    let long = "长".repeat(1_200);
    let csv = format!(
        "phone,timezone,plan\n12,,a\n13800138000,Mars/Base,b\n13800138001,,{long}\n=1+1,,c\n13800138002,,d\n"
    );
    let r = app.import_csv(campaign, csv).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["accepted"], 1, "{}", r.text);
    let invalid = r.body["invalid"].as_array().unwrap().clone();
    let codes: Vec<(&str, &str)> = invalid
        .iter()
        .map(|i| {
            (
                i["code"].as_str().unwrap(),
                i["value"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(codes[0], ("phone_invalid", "12"));
    assert_eq!(codes[1], ("timezone_unknown", "Mars/Base"));
    assert_eq!(codes[2].0, "attribute_invalid");
    // The value is bounded: 100 characters and an ellipsis, whatever the cell.
    assert_eq!(codes[2].1.chars().count(), 101, "{}", codes[2].1);
    assert_eq!(invalid[2]["params"], json!({"key": "plan"}));
    assert_eq!(codes[3], ("phone_invalid", "=1+1"));
    assert_eq!(
        invalid
            .iter()
            .map(|i| i["row"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![2, 3, 4, 5]
    );
    for i in &invalid {
        assert!(i["reason"].as_str().is_some_and(|r| !r.is_empty()), "{i}");
    }
    // Every code the report uses is translated on the pages, in both languages.
    let i18n = include_str!("../../web/i18n.js");
    for (code, _) in &codes {
        assert_eq!(
            i18n.matches(&format!("\"code.{code}\"")).count(),
            2,
            "code.{code}"
        );
    }

    // The import is recorded: its report and its invalid rows can be read again.
    let id = r.body["import"]
        .as_i64()
        .expect("an inline import has an id");
    let again = app.get(&format!("/v1/imports/{id}"), app.admin()).await;
    again.expect(StatusCode::OK);
    assert_eq!(
        again.body["report"]["invalid"],
        json!(invalid),
        "{}",
        again.text
    );
    let file = app
        .get(&format!("/v1/imports/{id}/invalid.csv"), app.admin())
        .await;
    file.expect(StatusCode::OK);
    let lines: Vec<&str> = file.text.lines().collect();
    assert_eq!(lines[0], "row,value,code,reason");
    assert_eq!(lines.len(), 5, "{}", file.text);
    assert!(lines[1].starts_with("2,12,phone_invalid,"), "{}", lines[1]);
    // A value a spreadsheet would run as a formula is written as text.
    assert!(
        lines[4].starts_with("5,'=1+1,phone_invalid,"),
        "{}",
        lines[4]
    );
    let viewer = app.token("viewer").await;
    assert_eq!(
        app.get(&format!("/v1/imports/{id}/invalid.csv"), &viewer)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    app.get("/v1/imports/999999/invalid.csv", app.admin())
        .await
        .expect(StatusCode::NOT_FOUND);
}

crate::on_both_backends!(
    each_invalid_row_says_its_value_and_a_translated_code_and_the_rows_download_as_csv,
    lists_saved_by_excel_in_each_charset_and_separator_are_read_with_their_chinese_headers,
    a_declared_charset_is_used_and_one_outcall_cannot_read_is_refused,
    a_crm_export_is_read_through_the_mapping_given_and_a_bad_mapping_is_refused_naming_it,
    people_are_found_by_their_external_id_and_an_id_past_its_bound_is_refused,
    a_preview_shows_columns_mapping_rows_and_what_the_script_reads_without_importing,
);

crate::on_both_backends!(
    start = super::importing_by_job;
    mod by_job_sqlite, by_job_postgres;
    a_large_upload_is_read_by_the_job_in_its_charset_and_through_its_mapping,
);

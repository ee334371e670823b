//! .xlsx uploads (issue 25 item 1, and issue 24's bounds for them): a workbook as Excel saves
//! it — Chinese headers, shared strings, a phone typed as a number, a date, a boolean, two
//! sheets — imported inline and by the job, previewed, and hostile workbooks (a zip bomb, a
//! shared-strings table announcing billions of strings, a header of ten million columns, a
//! broken zip) refused with a coded 4xx. Fixtures: scripts/make-fixtures.py.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const EXCEL: &[u8] = include_bytes!("../fixtures/files/excel.xlsx");
const BOMB_CELL: &[u8] = include_bytes!("../fixtures/files/bomb-cell.xlsx");
const BOMB_STRINGS: &[u8] = include_bytes!("../fixtures/files/bomb-strings.xlsx");
const WIDE_HEADER: &[u8] = include_bytes!("../fixtures/files/wide-header.xlsx");

async fn upload(
    app: &outcall_client::Client,
    campaign: i64,
    query: &str,
    body: &[u8],
) -> outcall_client::Reply {
    app.raw(
        Method::POST,
        &format!("/v1/campaigns/{campaign}/contacts?{query}"),
        Some(app.admin()),
        XLSX,
        body.to_vec(),
    )
    .await
}

async fn people(app: &TestApp, campaign: i64) -> Vec<Value> {
    let mut all = app.contacts(campaign, None).await;
    all.sort_by_key(|c| c["phone"].as_str().unwrap_or("").to_owned());
    all
}

/// The first sheet of the fixture, as the campaign shows it.
async fn assert_first_sheet_read(app: &TestApp, campaign: i64) {
    let people = people(app, campaign).await;
    assert_eq!(people.len(), 3, "{people:?}");
    // Typed as numbers (13800138000 and 1.3700137002E10 in the XML): the right digits.
    assert_eq!(people[0]["phone"], "+8613700137002");
    assert_eq!(people[0]["name"], "张伟");
    assert_eq!(people[0]["external_id"], "C-0003");
    assert_eq!(people[1]["phone"], "+8613800138000");
    assert_eq!(people[1]["name"], "王芳");
    assert_eq!(
        people[1]["attributes"],
        json!({"套餐": "全球通 88", "月消费": "128.5", "开户日期": "2024-01-01", "已签约": "true"})
    );
    assert_eq!(people[2]["phone"], "+8613900139001");
    assert_eq!(people[2]["attributes"]["开户日期"], "2024-01-02 12:00:00");
    assert_eq!(people[2]["attributes"]["已签约"], "false");
}

async fn a_workbook_saved_by_excel_imports_with_chinese_headers_and_phones_typed_as_numbers(
    app: TestApp,
) {
    let campaign = app.campaign(json!({})).await;
    let r = upload(&app, campaign, "", EXCEL).await;
    r.expect(StatusCode::OK);
    assert_eq!(
        (r.body["total"].as_u64(), r.body["accepted"].as_u64()),
        (Some(4), Some(3)),
        "{}",
        r.text
    );
    assert_eq!(r.body["sheet"], "客户", "{}", r.text);
    // The row as Excel numbers it, its value and code.
    let invalid = &r.body["invalid"][0];
    assert_eq!(
        (&invalid["row"], &invalid["value"], &invalid["code"]),
        (&json!(5), &json!("12"), &json!("phone_invalid")),
        "{}",
        r.text
    );
    assert_first_sheet_read(&app, campaign).await;
    let id = r.body["import"].as_i64().unwrap();
    let csv = app
        .get(&format!("/v1/imports/{id}/invalid.csv"), app.admin())
        .await;
    assert!(csv.text.contains("5,12,phone_invalid"), "{}", csv.text);
}

async fn a_sheet_is_picked_by_name_and_an_unknown_one_is_refused_naming_sheet(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let r = upload(&app, campaign, "sheet=%E5%A4%87%E7%94%A8", EXCEL).await; // 备用
    r.expect(StatusCode::OK);
    assert_eq!(r.body["accepted"], 1, "{}", r.text);
    let people = people(&app, campaign).await;
    assert_eq!(people[0]["phone"], "+8613900000001");
    assert_eq!(people[0]["name"], "备用联系人");

    let other = app.campaign(json!({})).await;
    let r = upload(&app, other, "sheet=Sheet9", EXCEL).await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "sheet");
    assert_eq!(r.body["errors"][0]["code"], "sheet_unknown", "{}", r.text);
    assert!(people_of(&app, other).await.is_empty());
    // `sheet` with a CSV upload means nothing it could do.
    app.raw(
        Method::POST,
        &format!("/v1/campaigns/{other}/contacts?sheet=x"),
        Some(app.admin()),
        "text/csv",
        b"phone\n13800138000\n".to_vec(),
    )
    .await
    .expect_problem(StatusCode::BAD_REQUEST, "sheet");
}

async fn people_of(app: &TestApp, campaign: i64) -> Vec<Value> {
    app.contacts(campaign, None).await
}

async fn a_zip_bomb_a_huge_string_table_a_wide_header_and_a_broken_file_are_refused_coded(
    app: TestApp,
) {
    let campaign = app.campaign(json!({})).await;
    // Each hostile workbook is decompressed (up to 150 MB of XML here) before it is refused:
    // seconds on an idle machine, more on a loaded one; the default 30 s is not the point.
    let patient = outcall_client::Client::with_timeout(
        app.base.clone(),
        app.admin(),
        Duration::from_secs(180),
    );
    for (what, body, code) in [
        ("one cell of 100 MB", BOMB_CELL, "workbook_too_large"),
        (
            "four billion strings announced",
            BOMB_STRINGS,
            "workbook_unreadable",
        ),
        ("ten million columns", WIDE_HEADER, "column_missing"),
        (
            "half a file",
            &EXCEL[..EXCEL.len() / 2],
            "workbook_unreadable",
        ),
        (
            "not a zip",
            b"phone\n13800138000\n".as_slice(),
            "workbook_unreadable",
        ),
    ] {
        let r = upload(&patient, campaign, "", body).await;
        r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "");
        assert_eq!(r.body["errors"][0]["code"], code, "{what}: {}", r.text);
    }
    assert!(people_of(&app, campaign).await.is_empty());
    // The server is still there and reads a good workbook.
    upload(&app, campaign, "", EXCEL)
        .await
        .expect(StatusCode::OK);
}

async fn a_workbook_is_previewed_with_its_sheets_columns_and_first_rows(app: TestApp) {
    let r = app
        .raw(
            Method::POST,
            "/v1/imports/preview",
            Some(app.admin()),
            XLSX,
            EXCEL.to_vec(),
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["sheet"], "客户", "{}", r.text);
    assert_eq!(r.body["sheets"], json!(["客户", "备用"]), "{}", r.text);
    assert_eq!(r.body["mapping"]["手机号码"], "phone", "{}", r.text);
    assert_eq!(r.body["mapping"]["客户姓名"], "name", "{}", r.text);
    assert_eq!(
        r.body["mapping"]["月消费"], "attributes.月消费",
        "{}",
        r.text
    );
    assert_eq!(r.body["rows"][0][0], "13800138000", "{}", r.text);
    assert_eq!(
        r.body["rows"].as_array().map(Vec::len),
        Some(4),
        "{}",
        r.text
    );
    app.raw(
        Method::POST,
        "/v1/imports/preview?sheet=nope",
        Some(app.admin()),
        XLSX,
        EXCEL.to_vec(),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "sheet");
}

async fn importing_by_job(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| {
        c.import_inline_bytes = 64;
        c.max_xlsx_bytes = 200 * 1024;
    })
    .await
}

async fn a_large_workbook_is_read_by_the_job_and_one_past_its_bound_is_refused_before_queueing(
    app: TestApp,
) {
    let campaign = app.campaign(json!({})).await;
    let r = upload(&app, campaign, "", EXCEL).await;
    r.expect(StatusCode::ACCEPTED);
    let id = r.body["id"].as_i64().unwrap();
    let done = app.wait_import(id, Duration::from_millis(50)).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["report"]["accepted"], 3, "{done}");
    assert_eq!(done["report"]["sheet"], "客户", "{done}");
    assert_eq!(done["report"]["invalid"][0]["row"], 5, "{done}");
    assert_first_sheet_read(&app, campaign).await;
    // An unknown sheet is refused when the upload ends, not left to fail in the job.
    let other = app.campaign(json!({})).await;
    upload(&app, other, "sheet=nope", EXCEL)
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "sheet");
    // Past OUTCALL_MAX_XLSX_BYTES (200 KiB here): 413.
    let wide = upload(&app, other, "", WIDE_HEADER).await;
    wide.expect(StatusCode::PAYLOAD_TOO_LARGE);
    assert!(people_of(&app, other).await.is_empty());
}

crate::on_both_backends!(
    a_workbook_saved_by_excel_imports_with_chinese_headers_and_phones_typed_as_numbers,
    a_sheet_is_picked_by_name_and_an_unknown_one_is_refused_naming_sheet,
    a_zip_bomb_a_huge_string_table_a_wide_header_and_a_broken_file_are_refused_coded,
    a_workbook_is_previewed_with_its_sheets_columns_and_first_rows,
);

crate::on_both_backends!(
    start = super::importing_by_job;
    mod by_job_sqlite, by_job_postgres;
    a_large_workbook_is_read_by_the_job_and_one_past_its_bound_is_refused_before_queueing,
);

//! Data out (issue 25 item 7): a campaign's people as CSV with where each stands and their
//! attributes as columns, outcomes with attributes, every cell a spreadsheet would evaluate
//! escaped, and `?charset=gb18030` on every export decoding to the same text.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

const PEOPLE: &str = "phone,name,plan,note,state\n\
    13800138000,张伟,全球通,=1+2,上海\n\
    13800138001,-bob,@x,plain,\n";

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// The export's raw bytes (no decoding by the client) and its content type.
async fn download(app: &TestApp, path: &str) -> (StatusCode, String, Vec<u8>) {
    let r = app
        .request(Method::GET, path, Some(app.admin()))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, r.bytes().await.unwrap().to_vec())
}

async fn a_campaigns_people_download_with_where_each_stands_and_their_attributes_escaped(
    app: TestApp,
) {
    let campaign = app.running_campaign(json!({}), PEOPLE).await;
    let (_, agent) = app.agent("小李", None).await;
    app.sign_in(&agent).await;
    app.call_through(&agent, "no_answer").await;

    let (status, ct, bytes) =
        download(&app, &format!("/v1/campaigns/{campaign}/contacts.csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "text/csv; charset=utf-8");
    let text = String::from_utf8(bytes).unwrap();
    let rows = csv_rows(&text);
    assert_eq!(
        rows[0],
        [
            "phone",
            "name",
            "external_id",
            "timezone",
            "state",
            "attempts",
            "last_disposition",
            "next_attempt_at",
            "list",
            "priority",
            "note",
            "plan",
            "attributes.state"
        ],
        "{text}"
    );
    assert_eq!(rows.len(), 3, "{text}");
    // A phone starts with `+`, which a spreadsheet reads as a formula: the contract's rule
    // holds for every cell, whatever the column.
    let zhang = rows
        .iter()
        .find(|r| r[0] == "'+8613800138000")
        .expect(&text);
    assert_eq!(zhang[1], "张伟");
    assert!(
        zhang[8].starts_with("upload "),
        "the list the upload made, named for its time: {text}"
    );
    assert_eq!(zhang[10], "'=1+2", "a formula is escaped: {text}");
    assert_eq!(zhang[11], "全球通");
    assert_eq!(zhang[12], "上海");
    let bob = rows
        .iter()
        .find(|r| r[0] == "'+8613800138001")
        .expect(&text);
    assert_eq!(bob[1], "'-bob");
    assert_eq!(bob[11], "'@x");
    assert_eq!(bob[12], "");
    // The one called: one attempt, its disposition, waiting for its next try.
    let called: Vec<_> = rows[1..].iter().filter(|r| r[5] == "1").collect();
    assert_eq!(called.len(), 1, "{text}");
    assert_eq!(called[0][6], "no_answer");
    assert_eq!(called[0][4], "scheduled");
    assert!(!called[0][7].is_empty());

    // The outcomes carry the attributes too.
    let out = app
        .get(
            &format!("/v1/campaigns/{campaign}/outcomes.csv"),
            app.admin(),
        )
        .await;
    let out = csv_rows(&out.text);
    assert_eq!(&out[0][11..], ["note", "plan", "state"], "{out:?}");
    assert_eq!(out.len(), 2);
    assert_eq!(out[1][11..], ["'=1+2", "全球通", "上海"], "{out:?}");

    // A bad charset is refused naming it; an unknown campaign is 404.
    app.get(
        &format!("/v1/campaigns/{campaign}/contacts.csv?charset=latin1"),
        app.admin(),
    )
    .await
    .expect_problem(StatusCode::BAD_REQUEST, "charset");
    app.get("/v1/campaigns/999999/contacts.csv", app.admin())
        .await
        .expect(StatusCode::NOT_FOUND);
    let supervisor = app.token("supervisor").await;
    app.get(
        &format!("/v1/campaigns/{campaign}/contacts.csv"),
        &supervisor,
    )
    .await
    .expect(StatusCode::FORBIDDEN);
}

async fn a_long_list_downloads_whole_across_pages(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let mut csv = String::from("phone,name\n");
    for i in 0..2_345 {
        csv.push_str(&format!("1390{i:07},客户{i}\n"));
    }
    let r = app.import_csv(campaign, csv).await;
    if r.status == StatusCode::ACCEPTED {
        let id = r.body["id"].as_i64().unwrap();
        app.wait_import(id, std::time::Duration::from_millis(50))
            .await;
    } else {
        r.expect(StatusCode::OK);
    }
    let out = app
        .get(
            &format!("/v1/campaigns/{campaign}/contacts.csv"),
            app.admin(),
        )
        .await;
    let rows = csv_rows(&out.text);
    assert_eq!(rows.len(), 2_346);
    let mut phones: Vec<_> = rows[1..].iter().map(|r| r[0].clone()).collect();
    phones.sort();
    phones.dedup();
    assert_eq!(phones.len(), 2_345, "each person once");
}

async fn every_export_in_gb18030_decodes_to_the_same_text(app: TestApp) {
    let campaign = app.running_campaign(json!({}), PEOPLE).await;
    let (_, agent) = app.agent("小王", None).await;
    app.sign_in(&agent).await;
    app.call_through(&agent, "declined").await;
    app.post(
        "/v1/dnc",
        app.admin(),
        json!({"phone": "13800138009", "reason": "投诉：客户要求"}),
    )
    .await
    .expect(StatusCode::CREATED);
    let import = app
        .import_csv(campaign, "phone,name\n电话未知,王五\n")
        .await;
    let import = import.body["import"].as_i64().expect(&import.text);
    for path in [
        format!("/v1/campaigns/{campaign}/contacts.csv"),
        format!("/v1/campaigns/{campaign}/outcomes.csv"),
        "/v1/dnc.csv".to_owned(),
        format!("/v1/imports/{import}/invalid.csv"),
    ] {
        let (status, _, utf8) = download(&app, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let utf8 = String::from_utf8(utf8).unwrap();
        assert!(!utf8.is_ascii(), "{path}: {utf8}");
        let sep = if path.contains('?') { '&' } else { '?' };
        let (status, ct, gb) = download(&app, &format!("{path}{sep}charset=gb18030")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(ct, "text/csv; charset=gb18030", "{path}");
        assert!(
            std::str::from_utf8(&gb).is_err(),
            "{path}: not UTF-8 any more"
        );
        let (back, _, bad) = encoding_rs::GB18030.decode(&gb);
        assert!(!bad, "{path}");
        assert_eq!(back, utf8, "{path}");
    }
}

crate::on_both_backends!(
    a_campaigns_people_download_with_where_each_stands_and_their_attributes_escaped,
    a_long_list_downloads_whole_across_pages,
    every_export_in_gb18030_decodes_to_the_same_text,
);

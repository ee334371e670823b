//! The console's Contacts and Segments tabs in the browser (tests/web/scenarios/contacts.mjs),
//! checked afterwards through the API: the edit was saved and audited, the segment saved and
//! its people added to the other campaign.

use reqwest::StatusCode;
use serde_json::json;

use crate::{helpers::TestApp, web::scenario};

async fn a_lead_finds_and_edits_a_person_exports_in_gb18030_and_builds_a_segment_in_both_languages(
    app: TestApp,
) {
    let lead = app.token("lead").await;
    let campaign = app
        .running_campaign(
            json!({}),
            "phone,name,plan\n13800138000,张伟,全球通\n13800138001,张三,动感地带\n13800138002,李四,全球通\n13800138003,王芳,神州行\n",
        )
        .await;
    let target = app.campaign(json!({})).await;
    scenario(
        &app,
        "contacts",
        json!({"lead_token": lead, "campaign": campaign, "target": target, "people": 4}),
    )
    .await;
    let found = app.get("/v1/contacts?phone=13800138000", &lead).await;
    let person = &found.body["items"][0];
    assert_eq!(person["name"], "张伟强", "{}", found.text);
    assert_eq!(person["timezone"], "Asia/Urumqi");
    assert_eq!(person["attributes"]["套餐"], "5G-PLUS");
    let id = person["id"].as_i64().unwrap();
    let audit = app
        .get(
            &format!("/v1/audit?entity=contact&entity_id={id}"),
            app.admin(),
        )
        .await;
    assert_eq!(
        audit.body["items"][0]["after"]["name"], "张伟强",
        "{}",
        audit.text
    );
    // 李四's edit with a bad zone changed nothing.
    let li = app.get("/v1/contacts?phone=13800138002", &lead).await;
    assert_eq!(li.body["items"][0]["external_id"], serde_json::Value::Null);
    let segments = app.get("/v1/segments", &lead).await;
    segments.expect(StatusCode::OK);
    assert_eq!(
        segments.body["items"][0]["name"], "全球通客户",
        "{}",
        segments.text
    );
    let mut added: Vec<String> = app
        .contacts(target, None)
        .await
        .iter()
        .map(|c| c["phone"].as_str().unwrap().to_owned())
        .collect();
    added.sort();
    assert_eq!(added, ["+8613800138000", "+8613800138002"]);
}

crate::on_both_backends!(
    start = crate::web::browser_app;
    a_lead_finds_and_edits_a_person_exports_in_gb18030_and_builds_a_segment_in_both_languages,
);

//! The console's lists, in the browser (tests/web/scenarios/lists.mjs): a lead names a list on
//! upload, sees it with its report, switches it off and removes its untouched contacts, in
//! English and in Chinese; the API then shows what the browser did.

use reqwest::StatusCode;
use serde_json::json;

use crate::{
    helpers::TestApp,
    web::{browser_app, scenario},
};

async fn a_lead_names_switches_off_and_empties_a_list_in_the_browser_in_both_languages(
    app: TestApp,
) {
    let lead = app.token("lead").await;
    let english = app.campaign(json!({})).await;
    let chinese = app.campaign(json!({})).await;
    let runs = json!([
        {"campaign": english, "name": "April prepaid"},
        {"campaign": chinese, "name": "四月预付费"},
    ]);
    let csv = "phone,name\n13800138000,王芳\n13800138001,李娜\n";
    scenario(
        &app,
        "lists",
        json!({"lead_token": lead, "runs": runs, "csv": csv}),
    )
    .await;
    for (campaign, name) in [(english, "April prepaid"), (chinese, "四月预付费")] {
        let r = app
            .get(&format!("/v1/campaigns/{campaign}/lists"), &lead)
            .await;
        r.expect(StatusCode::OK);
        let list = &r.body["items"][0];
        assert_eq!(list["name"], name, "{}", r.text);
        assert_eq!(list["active"], false, "{}", r.text);
        assert_eq!(list["report"]["accepted"], 2, "{}", r.text);
        assert!(app.contacts(campaign, None).await.is_empty());
    }
}

crate::on_both_backends!(
    start = super::browser_app;
    a_lead_names_switches_off_and_empties_a_list_in_the_browser_in_both_languages,
);

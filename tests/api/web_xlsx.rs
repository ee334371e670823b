//! The console's import form with an .xlsx workbook, in both languages (browser scenario
//! `xlsxImport`, tests/web/scenarios/xlsx.mjs): what the page imported is checked over HTTP.

use serde_json::json;

use crate::{
    helpers::TestApp,
    web::{browser_app, scenario},
};

async fn a_lead_previews_a_workbook_picks_its_second_sheet_and_imports_it_in_both_languages(
    app: TestApp,
) {
    let lead = app.token("lead").await;
    let (en, zh) = (app.campaign(json!({})).await, app.campaign(json!({})).await);
    scenario(
        &app,
        "xlsxImport",
        json!({"lead_token": lead, "campaign_en": en, "campaign_zh": zh}),
    )
    .await;
    for campaign in [en, zh] {
        let people = app.contacts(campaign, None).await;
        assert_eq!(people.len(), 1, "{people:?}");
        assert_eq!(people[0]["phone"], "+8613900000001");
        assert_eq!(people[0]["name"], "备用联系人");
    }
}

crate::on_both_backends!(
    start = super::browser_app;
    a_lead_previews_a_workbook_picks_its_second_sheet_and_imports_it_in_both_languages,
);

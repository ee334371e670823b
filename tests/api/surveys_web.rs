//! The desk answers a survey in English and in Chinese, and the console edits questions and
//! charts the answers (see `web.rs` for how scenarios run; the scenario is
//! tests/web/scenarios/surveys.mjs).

use reqwest::StatusCode;
use serde_json::json;

use crate::{helpers::TestApp, web::scenario};

async fn the_desk_answers_a_survey_in_both_languages_and_the_console_charts_and_edits_it(
    app: TestApp,
) {
    let questions = json!([
        {"key": "plan", "label": "您现在用的套餐", "type": "choice", "options": ["88元", "128元", "其他"], "required": true},
        {"key": "apps", "label": "常用的应用", "type": "multi", "options": ["微信", "抖音", "淘宝"]},
        {"key": "spend", "label": "每月话费（元）", "type": "number"},
        {"key": "remark", "label": "其他意见", "type": "text"}
    ]);
    let script = app
        .create(
            "/v1/scripts",
            json!({"name": "市场调查", "body": "您好{{ name }}", "questions": questions}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let campaign = app.campaign(json!({"script_id": script})).await;
    app.import_csv(campaign, "phone,name\n13800138000,王芳\n13800138001,李雷\n")
        .await
        .expect(StatusCode::OK);
    app.start_campaign(campaign).await;
    let (_, agent) = app.agent("agent", None).await;
    let lead = app.token("lead").await;
    scenario(
        &app,
        "desk_survey",
        json!({"agent_token": agent, "lead_token": lead, "campaign": campaign, "script": script}),
    )
    .await;

    let stats = app
        .get(&format!("/v1/stats/answers?campaign={campaign}"), &lead)
        .await;
    assert_eq!(stats.body["questions"][0]["count"], 2, "{}", stats.text);
    let saved = app.get(&format!("/v1/scripts/{script}"), &lead).await;
    assert_eq!(saved.body["version"], 2, "{}", saved.text);
    assert_eq!(
        saved.body["questions"][4],
        json!({"key": "satisfied", "label": "Satisfied?", "type": "choice", "options": ["yes", "no"], "required": false})
    );
    // The script made through the New script form asks its question from version 1.
    let scripts = app.get("/v1/scripts", &lead).await;
    let made = scripts.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "问卷话术")
        .cloned()
        .unwrap_or_else(|| panic!("the new script was made: {}", scripts.text));
    assert_eq!(made["version"], 1, "{made}");
    assert_eq!(
        made["questions"],
        json!([{"key": "channel", "label": "从哪里听说？", "type": "choice", "options": ["短信", "营业厅"], "required": false}]),
        "{made}"
    );
}

crate::on_both_backends!(
    start = crate::web::browser_app;
    the_desk_answers_a_survey_in_both_languages_and_the_console_charts_and_edits_it,
);

//! Two campaigns on one team in the browser (issue 27 item 4): a lead opens the starved
//! campaign's Insight and sees why it makes no calls — the `starved` warning naming the
//! campaign that holds its agents, its callable contacts counted as waiting for agents busy
//! elsewhere, and a forecast that says whom its agents are shared with — in Chinese and in
//! English (the scenario is tests/web/scenarios/shares.mjs).

use reqwest::StatusCode;
use serde_json::json;

use crate::{helpers::TestApp, web::scenario};

async fn a_lead_sees_in_insight_that_a_starved_campaigns_agents_are_busy_elsewhere_in_both_languages(
    app: TestApp,
) {
    let team = json!(["深圳二组"]);
    let list = |from: usize| -> String {
        let rows: String = (from..from + 50).map(|i| format!("139{i:08}\n")).collect();
        format!("phone\n{rows}")
    };
    app.running_campaign(
        json!({"name": "服务关怀", "priority": 60, "teams": team, "wrap_up": "0s"}),
        &list(0),
    )
    .await;
    let sales = app
        .running_campaign(
            json!({"name": "新业务推广", "priority": 40, "teams": team, "wrap_up": "0s"}),
            &list(100),
        )
        .await;
    let agent = app.agent("座席", Some("深圳二组")).await.1;
    for minutes in [0, 16] {
        app.advance(minutes * 60);
        let (call, _, _) = app.take(&agent).await;
        app.outcome(&agent, call, json!({"disposition": "declined"}))
            .await
            .expect(StatusCode::OK);
    }
    let lead = app.token("lead").await;
    scenario(
        &app,
        "sharedTeam",
        json!({"lead_token": lead, "campaign": sales, "holder": "服务关怀", "elsewhere": 50}),
    )
    .await;
}

crate::on_both_backends!(
    start = crate::web::browser_app;
    a_lead_sees_in_insight_that_a_starved_campaigns_agents_are_busy_elsewhere_in_both_languages
);

//! Attribute labels in the browser (issue 26 item 2): the desk shows a campaign's labels for
//! the contact's attributes, and the console's form sets them, in Chinese and in English (see
//! `web.rs` for how scenarios run; the scenario is tests/web/scenarios/forecast.mjs).

use serde_json::json;

use crate::{helpers::TestApp, web::scenario};

async fn the_desk_shows_attribute_labels_and_the_console_sets_them_in_both_languages(app: TestApp) {
    app.running_campaign(
        json!({"attribute_labels": {"monthly_spend": "月消费"}}),
        "phone,monthly_spend,city\n13800138000,156,杭州\n13900139000,156,杭州\n",
    )
    .await;
    let (_, first) = app.agent("王芳", None).await;
    let (_, second) = app.agent("Li Lei", None).await;
    let lead = app.token("lead").await;
    let names = ["标签活动", "Labels campaign"];
    scenario(
        &app,
        "attributeLabels",
        json!({"agents": [first, second], "lead_token": lead, "names": names}),
    )
    .await;
    let all = app.get("/v1/campaigns", app.admin()).await;
    for name in names {
        let made = all.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name} was made: {}", all.text));
        assert_eq!(
            made["attribute_labels"],
            json!({"plan": "套餐", "monthly_spend": "月消费"}),
            "{made}"
        );
    }
}

crate::on_both_backends!(
    start = crate::web::browser_app;
    the_desk_shows_attribute_labels_and_the_console_sets_them_in_both_languages
);

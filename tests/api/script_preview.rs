//! A script read before it is saved: `POST /v1/scripts/preview` renders a body for one person
//! (or the sample contact) under a hand-out's limits, and saves nothing.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

async fn a_lead_reads_a_draft_as_the_agent_would_for_a_sample_or_a_real_person_and_nothing_is_saved(
    app: TestApp,
) {
    let lead = app.token("lead").await;
    let body = "您好{{ name }}，您现在的套餐是{{ attributes.plan }}。";
    let sample = app
        .post("/v1/scripts/preview", &lead, json!({"body": body}))
        .await;
    sample.expect(StatusCode::OK);
    assert_eq!(sample.body["text"], "您好王芳，您现在的套餐是全球通 88。");

    let campaign = app
        .running_campaign(json!({}), "phone,name,plan\n13900139000,李娜,5G 畅享 128\n")
        .await;
    let people = app
        .get(&format!("/v1/campaigns/{campaign}/contacts"), &lead)
        .await;
    people.expect(StatusCode::OK);
    let contact = people.body["items"][0]["id"].as_i64().unwrap();
    let real = app
        .post(
            "/v1/scripts/preview",
            &lead,
            json!({"body": body, "contact": contact}),
        )
        .await;
    real.expect(StatusCode::OK);
    assert_eq!(real.body["text"], "您好李娜，您现在的套餐是5G 畅享 128。");

    let scripts = app.get("/v1/scripts", &lead).await;
    let saved = scripts.body["items"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(
        saved, 1,
        "only the campaign's own script; a preview saves nothing"
    );
}

async fn a_draft_that_does_not_parse_is_too_costly_or_names_nobody_is_a_422_naming_its_field(
    app: TestApp,
) {
    let lead = app.token("lead").await;
    let broken = app
        .post("/v1/scripts/preview", &lead, json!({"body": "您好{{ name"}))
        .await;
    broken.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "body");
    assert_eq!(broken.body["errors"][0]["code"], "template_invalid");

    let loops = "{% for i in range(100000) %}{% for j in range(100000) %}{{ name }}\
                 {% endfor %}{% endfor %}";
    let costly = app
        .post("/v1/scripts/preview", &lead, json!({"body": loops}))
        .await;
    costly.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "body");
    assert_eq!(costly.body["errors"][0]["code"], "template_too_costly");

    let nobody = app
        .post(
            "/v1/scripts/preview",
            &lead,
            json!({"body": "您好", "contact": 987654}),
        )
        .await;
    nobody.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "contact");

    let (_, agent) = app.agent("王磊", None).await;
    let r = app
        .post("/v1/scripts/preview", &agent, json!({"body": "您好"}))
        .await;
    r.expect(StatusCode::FORBIDDEN);
}

crate::on_both_backends!(
    a_lead_reads_a_draft_as_the_agent_would_for_a_sample_or_a_real_person_and_nothing_is_saved,
    a_draft_that_does_not_parse_is_too_costly_or_names_nobody_is_a_422_naming_its_field,
);

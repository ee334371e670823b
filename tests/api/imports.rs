//! What an import does to the people it names: a row updates only what it carries, and only a
//! row that joins the campaign updates anything; a phone that cannot exist is an invalid row.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, db_rows};

/// The person with `phone` as campaign `campaign`'s contact list shows them.
async fn person(app: &TestApp, campaign: i64, phone: &str) -> Value {
    app.contacts(campaign, None)
        .await
        .into_iter()
        .find(|c| c["phone"] == phone)
        .unwrap_or(Value::Null)
}

/// The zone kept on each of the person's entries (migration 0018), in entry order.
async fn entry_zones(app: &TestApp) -> Vec<String> {
    let rows: Vec<(Option<String>,)> = db_rows(
        &app.database_url,
        "SELECT zone FROM campaign_contacts ORDER BY id",
    )
    .await;
    rows.into_iter().map(|(z,)| z.unwrap_or_default()).collect()
}

async fn import_json(app: &TestApp, campaign: i64, contacts: Value) -> Value {
    let r = app
        .post(
            &format!("/v1/campaigns/{campaign}/contacts"),
            app.admin(),
            json!({ "contacts": contacts }),
        )
        .await;
    r.expect(StatusCode::OK);
    r.body.clone()
}

async fn a_second_list_without_a_column_keeps_what_the_first_gave_and_its_campaigns_script_still_shows_it(
    app: TestApp,
) {
    let script = app
        .script("您好{{ name }}，您的宽带是{{ attributes.broadband }}")
        .await;
    let broadband = app
        .running_campaign(
            json!({"script_id": script, "teams": ["broadband"]}),
            "phone,name,broadband\n13800138000,王芳,300M\n13800138001,李雷,1000M\n",
        )
        .await;
    // The 5G list shares both people but has no broadband column, and one name left empty.
    let five_g = app.campaign(json!({"teams": ["5g"]})).await;
    let r = app
        .import_csv(
            five_g,
            "phone,name,plan_5g\n13800138000,,5G 畅享\n13800138001,李雷,5G 尊享\n13900139002,张伟,5G 畅享\n",
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["accepted"], 3, "{}", r.text);

    for campaign in [broadband, five_g] {
        let wang = person(&app, campaign, "+8613800138000").await;
        assert_eq!(wang["name"], "王芳", "{wang}");
        assert_eq!(
            wang["attributes"],
            json!({"broadband": "300M", "plan_5g": "5G 畅享"})
        );
        let li = person(&app, campaign, "+8613800138001").await;
        assert_eq!(
            li["attributes"],
            json!({"broadband": "1000M", "plan_5g": "5G 尊享"})
        );
    }
    let (_, agent) = app.agent("宽带坐席", Some("broadband")).await;
    for _ in 0..2 {
        let (call, phone, body) = app.take(&agent).await;
        let expected = match phone.as_str() {
            "+8613800138000" => "您好王芳，您的宽带是300M",
            _ => "您好李雷，您的宽带是1000M",
        };
        assert_eq!(body["script"]["text"], expected, "{body}");
        app.outcome(&agent, call, json!({"disposition": "accepted"}))
            .await
            .expect(StatusCode::OK);
    }
}

async fn an_empty_cell_keeps_the_stored_value_and_a_filled_one_overwrites_it(app: TestApp) {
    let first = app.campaign(json!({})).await;
    app.import_csv(
        first,
        "phone,name,timezone,plan,city\n13800138000,王芳,Asia/Urumqi,全球通,北京\n",
    )
    .await
    .expect(StatusCode::OK);
    let second = app.campaign(json!({})).await;
    app.import_csv(second, "phone,name,timezone,plan,city\n13800138000,,,5G,\n")
        .await
        .expect(StatusCode::OK);
    let wang = person(&app, first, "+8613800138000").await;
    assert_eq!(wang["name"], "王芳", "{wang}");
    assert_eq!(wang["timezone"], "Asia/Urumqi");
    assert_eq!(wang["attributes"], json!({"plan": "5G", "city": "北京"}));
    // A row without a timezone leaves the zone kept on the person's entries alone…
    assert_eq!(entry_zones(&app).await, vec!["Asia/Urumqi"; 2]);

    // …and one with a timezone moves every entry of theirs.
    let third = app.campaign(json!({})).await;
    app.import_csv(
        third,
        "phone,name,timezone,city\n13800138000,王芳芳,Europe/London,上海\n",
    )
    .await
    .expect(StatusCode::OK);
    let wang = person(&app, first, "+8613800138000").await;
    assert_eq!(wang["name"], "王芳芳");
    assert_eq!(wang["timezone"], "Europe/London");
    assert_eq!(wang["attributes"], json!({"plan": "5G", "city": "上海"}));
    assert_eq!(entry_zones(&app).await, vec!["Europe/London"; 3]);
}

async fn a_row_for_a_phone_on_the_dnc_list_changes_nothing_about_the_person(app: TestApp) {
    let first = app.campaign(json!({})).await;
    app.import_csv(
        first,
        "phone,name,timezone,plan\n13800138000,王芳,Asia/Urumqi,全球通\n",
    )
    .await
    .expect(StatusCode::OK);
    app.post("/v1/dnc", app.admin(), json!({"phone": "13800138000"}))
        .await
        .expect(StatusCode::CREATED);
    let second = app.campaign(json!({})).await;
    let r = app
        .import_csv(
            second,
            "phone,name,timezone,plan,city\n13800138000,冒名,Europe/London,5G,上海\n",
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["suppressed"], 1, "{}", r.text);
    for campaign in [first, second] {
        let wang = person(&app, campaign, "+8613800138000").await;
        assert_eq!(wang["name"], "王芳", "{wang}");
        assert_eq!(wang["timezone"], "Asia/Urumqi");
        assert_eq!(wang["attributes"], json!({"plan": "全球通"}));
    }
    assert_eq!(entry_zones(&app).await, vec!["Asia/Urumqi"; 2]);
}

async fn a_repeated_row_a_row_already_in_the_campaign_and_an_invalid_row_change_nothing(
    app: TestApp,
) {
    let first = app.campaign(json!({})).await;
    app.import_csv(first, "phone,name,plan\n13800138000,王芳,全球通\n")
        .await
        .expect(StatusCode::OK);
    // Already in this campaign: a duplicate, which renames nobody.
    let r = app
        .import_csv(first, "phone,name,plan\n13800138000,改名,改套餐\n")
        .await;
    assert_eq!(r.body["duplicates"], 1, "{}", r.text);
    let wang = person(&app, first, "+8613800138000").await;
    assert_eq!(wang["name"], "王芳", "{wang}");
    assert_eq!(wang["attributes"], json!({"plan": "全球通"}));

    // In another campaign the first row counts; its repeats (in this batch and in later ones:
    // this server reads one row a batch) and an invalid row change nothing.
    let second = app.campaign(json!({})).await;
    let r = app
        .import_csv(
            second,
            "phone,name,plan,timezone\n13800138000,王芳二,5G,\n13800138000,重复,重复,Europe/London\n\
             13800138000,坏的,坏的,Mars/Base\n",
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(
        (&r.body["accepted"], &r.body["duplicates"]),
        (&json!(1), &json!(1)),
        "{}",
        r.text
    );
    assert_eq!(r.body["invalid"][0]["row"], 4);
    let wang = person(&app, second, "+8613800138000").await;
    assert_eq!(wang["name"], "王芳二", "{wang}");
    assert_eq!(wang["timezone"], Value::Null);
    assert_eq!(wang["attributes"], json!({"plan": "5G"}));
}

async fn json_contacts_keep_what_they_leave_out_or_empty_and_overwrite_what_they_give(
    app: TestApp,
) {
    let first = app.campaign(json!({})).await;
    import_json(
        &app,
        first,
        json!([{"phone": "13800138000", "name": "王芳", "timezone": "Asia/Urumqi",
                "attributes": {"plan": "全球通", "city": "北京", "spend": 88}}]),
    )
    .await;
    let second = app.campaign(json!({})).await;
    let r = import_json(
        &app,
        second,
        json!([{"phone": "13800138000", "name": "", "timezone": null,
                "attributes": {"plan": "5G", "city": "", "spend": null, "devices": 2}}]),
    )
    .await;
    assert_eq!(r["accepted"], 1, "{r}");
    let wang = person(&app, first, "+8613800138000").await;
    assert_eq!(wang["name"], "王芳", "{wang}");
    assert_eq!(wang["timezone"], "Asia/Urumqi");
    assert_eq!(
        wang["attributes"],
        json!({"plan": "5G", "city": "北京", "spend": "88", "devices": "2"})
    );
    // Nothing at all but the phone: everything kept.
    let third = app.campaign(json!({})).await;
    import_json(&app, third, json!([{"phone": "+8613800138000"}])).await;
    let again = person(&app, third, "+8613800138000").await;
    assert_eq!(
        (&again["name"], &again["timezone"], &again["attributes"]),
        (&wang["name"], &wang["timezone"], &wang["attributes"])
    );
}

async fn a_phone_that_cannot_exist_is_an_invalid_row_and_real_cn_numbers_are_accepted(
    app: TestApp,
) {
    let campaign = app.campaign(json!({})).await;
    let r = app
        .import_csv(
            campaign,
            "phone\n99999999999\n13800138000\n16212345678\n+86 199 1234 5678\n\
             (010) 6552 9988\n0755-2345-6789\n",
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(
        (&r.body["total"], &r.body["accepted"]),
        (&json!(6), &json!(5)),
        "{}",
        r.text
    );
    let invalid = r.body["invalid"].as_array().unwrap();
    assert_eq!(invalid.len(), 1, "{}", r.text);
    assert_eq!(invalid[0]["row"], 2);
    let reason = invalid[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("phone") && reason.contains("valid"),
        "{reason}"
    );

    app.post("/v1/dnc", app.admin(), json!({"phone": "99999999999"}))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "phone");
}

crate::on_both_backends!(
    a_second_list_without_a_column_keeps_what_the_first_gave_and_its_campaigns_script_still_shows_it,
    an_empty_cell_keeps_the_stored_value_and_a_filled_one_overwrites_it,
    a_row_for_a_phone_on_the_dnc_list_changes_nothing_about_the_person,
    json_contacts_keep_what_they_leave_out_or_empty_and_overwrite_what_they_give,
    a_phone_that_cannot_exist_is_an_invalid_row_and_real_cn_numbers_are_accepted,
);

async fn reading_one_row_a_batch(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| c.import_batch = Some(1)).await
}

crate::on_both_backends!(
    start = super::reading_one_row_a_batch;
    mod one_row_batches_sqlite, one_row_batches_postgres;
    a_repeated_row_a_row_already_in_the_campaign_and_an_invalid_row_change_nothing,
);

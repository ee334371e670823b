//! Lists: each upload or segment addition is a named list with its source and report; a lead
//! switches a list off (its contacts are not handed out, `list_inactive` says why; callbacks
//! promised to a person are kept) and on again, and removes its contacts never attempted.
//! Every change audited; agents may not touch them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    eligibility::{codes, eligibility, funnel},
    helpers::TestApp,
    on_both_backends,
};

/// Every byte percent-encoded: a query value that survives any text.
fn encoded(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// Uploads `csv` to `campaign` as the list `name` (as admin); the report.
async fn upload(app: &TestApp, campaign: i64, name: Option<&str>, csv: &str) -> Value {
    let query = name.map_or(String::new(), |n| format!("?list_name={}", encoded(n)));
    let r = app
        .raw(
            Method::POST,
            &format!("/v1/campaigns/{campaign}/contacts{query}"),
            Some(app.admin()),
            "text/csv",
            csv.to_owned(),
        )
        .await;
    r.expect(StatusCode::OK);
    r.body
}

/// The campaign's lists, as a lead sees them.
async fn lists(app: &TestApp, campaign: i64) -> Vec<Value> {
    let lead = app.token("lead").await;
    let r = app
        .get(&format!("/v1/campaigns/{campaign}/lists"), &lead)
        .await;
    r.expect(StatusCode::OK);
    r.body["items"].as_array().unwrap().clone()
}

async fn switch(app: &TestApp, list: i64, active: bool) -> Value {
    let lead = app.token("lead").await;
    let r = app
        .call(
            Method::PATCH,
            &format!("/v1/lists/{list}"),
            Some(&lead),
            json!({ "active": active }),
        )
        .await;
    r.expect(StatusCode::OK);
    r.body
}

/// The id of the campaign's contact with `phone` (E.164).
async fn contact(app: &TestApp, campaign: i64, phone: &str) -> i64 {
    app.contacts(campaign, None)
        .await
        .iter()
        .find(|c| c["phone"] == phone)
        .unwrap_or_else(|| panic!("{phone} in campaign {campaign}"))["id"]
        .as_i64()
        .unwrap()
}

async fn audit_of(app: &TestApp, list: i64) -> Vec<Value> {
    let r = app
        .get(&format!("/v1/audit?entity=list&id={list}"), app.admin())
        .await;
    r.expect(StatusCode::OK);
    r.body["items"].as_array().unwrap().clone()
}

async fn a_list_named_on_upload_is_listed_with_its_source_and_report(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let csv = "phone\n13800138000\n13800138001\n13800138001\nnot a phone\n";
    let report = upload(&app, campaign, Some("四月 存量客户"), csv).await;
    assert_eq!(report["accepted"], 2, "{report}");
    // Unnamed: named for its time. A phone the first list has stays the first list's.
    upload(&app, campaign, None, "phone\n13800138001\n13800138002\n").await;
    let lead = app.token("lead").await;
    let segment = app
        .post(
            &format!("/v1/campaigns/{campaign}/contacts/from-segment"),
            &lead,
            json!({"filter": {"called_within": "30d"}, "list_name": "recalled"}),
        )
        .await;
    segment.expect(StatusCode::OK);

    let found = lists(&app, campaign).await;
    assert_eq!(found.len(), 3, "{found:?}");
    let first = &found[0];
    assert_eq!(first["name"], "四月 存量客户");
    assert_eq!(first["source"], "upload");
    assert_eq!(first["active"], true);
    assert!(first["created_at"].as_str().unwrap().starts_with("2026-"));
    let r = &first["report"];
    assert_eq!(
        (
            &r["state"],
            &r["total"],
            &r["accepted"],
            &r["duplicates"],
            &r["invalid_count"]
        ),
        (&json!("done"), &json!(4), &json!(2), &json!(1), &json!(1)),
        "{first}"
    );
    assert_eq!(r["import"], report["import"]);
    let second = &found[1];
    assert!(
        second["name"].as_str().unwrap().starts_with("upload 2026-"),
        "{second}"
    );
    assert_eq!(second["report"]["accepted"], 1);
    assert_eq!(second["report"]["duplicates"], 1);
    assert_eq!(found[2]["name"], "recalled");
    assert_eq!(found[2]["source"], "segment");

    // A name past 200 characters is refused, naming the field, before anything is read.
    let long = "名".repeat(201);
    let r = app
        .raw(
            Method::POST,
            &format!(
                "/v1/campaigns/{campaign}/contacts?list_name={}",
                encoded(&long)
            ),
            Some(app.admin()),
            "text/csv",
            "phone\n13800138009\n",
        )
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "list_name");
    assert_eq!(lists(&app, campaign).await.len(), 3);
}

async fn switching_a_list_off_stops_its_hand_outs_and_says_list_inactive_until_switched_on(
    app: TestApp,
) {
    let campaign = app.campaign(json!({})).await;
    upload(
        &app,
        campaign,
        Some("bad"),
        "phone,priority\n13800138000,90\n",
    )
    .await;
    upload(&app, campaign, Some("good"), "phone\n13800138001\n").await;
    app.start_campaign(campaign).await;
    let found = lists(&app, campaign).await;
    let bad = found[0]["id"].as_i64().unwrap();
    let off = switch(&app, bad, false).await;
    assert_eq!(off["active"], false, "{off}");
    assert_eq!(lists(&app, campaign).await[0]["active"], false);

    let (_, agent) = app.agent("agent", None).await;
    let muted = contact(&app, campaign, "+8613800138000").await;
    let place = eligibility(&app, muted, campaign).await;
    assert_eq!(place["callable"], false, "{place}");
    assert_eq!(codes(&place), ["list_inactive"]);
    assert_eq!(place["callable_at"], Value::Null);
    let f = funnel(&app, campaign).await;
    assert_eq!(f["callable_now"], 1, "{f}");
    assert_eq!(f["blocked"]["list_inactive"], 1, "{f}");

    // The higher priority is switched off: the other list's contact comes, then nothing.
    let (call, phone, _) = app.take(&agent).await;
    assert_eq!(phone, "+8613800138001");
    app.outcome(&agent, call, json!({"disposition": "accepted"}))
        .await
        .expect(StatusCode::OK);
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);

    switch(&app, bad, true).await;
    let place = eligibility(&app, muted, campaign).await;
    assert_eq!(place["callable"], true, "{place}");
    assert_eq!(funnel(&app, campaign).await["blocked"]["list_inactive"], 0);
    let (_, phone, _) = app.take(&agent).await;
    assert_eq!(phone, "+8613800138000");

    let audit = audit_of(&app, bad).await;
    let actions: Vec<_> = audit
        .iter()
        .map(|a| (&a["action"], &a["after"]["active"]))
        .collect();
    assert_eq!(actions.len(), 2, "{audit:?}");
    assert!(
        actions.contains(&(&json!("update"), &json!(false))),
        "{audit:?}"
    );
    assert!(
        actions.contains(&(&json!("update"), &json!(true))),
        "{audit:?}"
    );
}

async fn a_callback_promised_on_a_switched_off_list_is_still_kept(app: TestApp) {
    let campaign = app
        .running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let list = lists(&app, campaign).await[0]["id"].as_i64().unwrap();
    let (_, agent) = app.agent("agent", None).await;
    let (call, _, _) = app.take(&agent).await;
    app.outcome(
        &agent,
        call,
        json!({"disposition": "callback", "callback_at": "2026-11-25T11:00:00+08:00"}),
    )
    .await
    .expect(StatusCode::OK);
    switch(&app, list, false).await;
    app.advance(2 * 3600);
    app.tick().await;
    let (_, phone, _) = app.take(&agent).await;
    assert_eq!(phone, "+8613800138000");
}

async fn removing_a_list_takes_only_its_never_attempted_contacts_and_says_how_many(app: TestApp) {
    let campaign = app.campaign(json!({"retry": {"no_answer": "1m"}})).await;
    upload(&app, campaign, Some("kept"), "phone\n13900139000\n").await;
    let csv = "phone,priority\n13800138000,90\n13800138001,80\n13800138002\n13800138003\n";
    upload(&app, campaign, Some("bad"), csv).await;
    app.start_campaign(campaign).await;
    let bad = lists(&app, campaign).await[1]["id"].as_i64().unwrap();
    let (_, first) = app.agent("first", None).await;
    let (_, second) = app.agent("second", None).await;
    // One attempted (no answer, queued again), one on a call now.
    app.call_through(&first, "no_answer").await;
    app.take(&second).await;

    let (_, agent) = app.agent("third", None).await;
    let path = format!("/v1/lists/{bad}");
    app.call(Method::DELETE, &path, Some(&agent), Value::Null)
        .await
        .expect(StatusCode::FORBIDDEN);
    let lead = app.token("lead").await;
    let r = app
        .call(Method::DELETE, &path, Some(&lead), Value::Null)
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["removed"], 2, "{}", r.text);
    let mut left: Vec<String> = app
        .contacts(campaign, None)
        .await
        .iter()
        .map(|c| c["phone"].as_str().unwrap().to_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["+8613800138000", "+8613800138001", "+8613900139000"]);
    // Nothing left to remove; the list itself stays, with its report.
    let again = app
        .call(Method::DELETE, &path, Some(&lead), Value::Null)
        .await;
    assert_eq!(again.body["removed"], 0);
    assert_eq!(lists(&app, campaign).await.len(), 2);

    let audit = audit_of(&app, bad).await;
    let deletes: Vec<_> = audit.iter().filter(|a| a["action"] == "delete").collect();
    assert_eq!(deletes.len(), 2, "{audit:?}");
    assert!(
        deletes.iter().any(|a| a["after"]["removed"] == 2),
        "{audit:?}"
    );
}

async fn a_removal_racing_hand_outs_never_removes_a_contact_being_called(app: TestApp) {
    let csv: String = (0..60).map(|i| format!("1380013{i:04}\n")).collect();
    let campaign = app.campaign(json!({})).await;
    upload(&app, campaign, Some("raced"), &format!("phone\n{csv}")).await;
    app.start_campaign(campaign).await;
    let list = lists(&app, campaign).await[0]["id"].as_i64().unwrap();
    let mut agents = vec![];
    for i in 0..6 {
        agents.push(app.agent(&format!("racer {i}"), None).await.1);
    }
    let lead = app.token("lead").await;
    let path = format!("/v1/lists/{list}");
    let takes = agents.iter().map(|a| app.next(a));
    let (removal, replies) = tokio::join!(
        app.call(Method::DELETE, &path, Some(&lead), Value::Null),
        futures::future::join_all(takes)
    );
    removal.expect(StatusCode::OK);
    let handed: Vec<&Value> = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .map(|r| &r.body)
        .collect();
    let left = app.contacts(campaign, None).await;
    for call in &handed {
        let id = &call["contact"]["id"];
        assert!(
            left.iter().any(|c| &c["id"] == id),
            "a contact handed out was removed: {call}"
        );
    }
    let removed = removal.body["removed"].as_u64().unwrap() as usize;
    assert_eq!(removed + left.len(), 60, "{}", removal.text);
    assert_eq!(
        left.len(),
        handed.len(),
        "only the contacts handed out stay"
    );
}

async fn agents_may_not_read_or_change_lists_and_supervisors_only_read_them(app: TestApp) {
    let campaign = app
        .running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let list = lists(&app, campaign).await[0]["id"].as_i64().unwrap();
    let (_, agent) = app.agent("agent", None).await;
    let supervisor = app.token("supervisor").await;
    let lead = app.token("lead").await;
    let of_campaign = format!("/v1/campaigns/{campaign}/lists");
    app.get(&of_campaign, &agent)
        .await
        .expect(StatusCode::FORBIDDEN);
    app.get(&of_campaign, &supervisor)
        .await
        .expect(StatusCode::OK);
    let path = format!("/v1/lists/{list}");
    for token in [&agent, &supervisor] {
        app.call(Method::PATCH, &path, Some(token), json!({"active": false}))
            .await
            .expect(StatusCode::FORBIDDEN);
    }
    app.call(Method::PATCH, &path, Some(&lead), json!({"active": "no"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    app.call(
        Method::PATCH,
        "/v1/lists/987654",
        Some(&lead),
        json!({"active": false}),
    )
    .await
    .expect(StatusCode::NOT_FOUND);
    app.call(Method::DELETE, "/v1/lists/987654", Some(&lead), Value::Null)
        .await
        .expect(StatusCode::NOT_FOUND);
    app.get("/v1/campaigns/987654/lists", &lead)
        .await
        .expect(StatusCode::NOT_FOUND);
    app.get(&format!("{of_campaign}?limit=0"), &lead)
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "limit");
    assert_eq!(lists(&app, campaign).await[0]["active"], true);
}

on_both_backends!(
    a_list_named_on_upload_is_listed_with_its_source_and_report,
    switching_a_list_off_stops_its_hand_outs_and_says_list_inactive_until_switched_on,
    a_callback_promised_on_a_switched_off_list_is_still_kept,
    removing_a_list_takes_only_its_never_attempted_contacts_and_says_how_many,
    a_removal_racing_hand_outs_never_removes_a_contact_being_called,
    agents_may_not_read_or_change_lists_and_supervisors_only_read_them,
);

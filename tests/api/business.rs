//! Conversions reaching the business: a `conversion` webhook event written with the conversion,
//! a nightly billing file of conversions, targets counting activations, the activation rate
//! beside the acceptance rate, and segments that mean a billing conversion by "converted".

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    conversions::{TWO_DAYS_LATER, a_sale_and_a_refusal, report},
    helpers::{Backend, TestApp},
    webhooks::Receiver,
};

mod bulk;

/// The app with loopback allowed for webhooks and a quick deliverer.
async fn allowing_loopback(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| {
        c.webhook_allow = vec!["127.0.0.0/8".parse().unwrap()];
        c.webhook_poll_ms = 50;
    })
    .await
}

async fn subscribe(app: &TestApp, url: &str, include_phone: bool) {
    app.post(
        "/v1/webhooks",
        app.admin(),
        json!({"url": url, "events": ["conversion"], "include_phone": include_phone}),
    )
    .await
    .expect(StatusCode::CREATED);
}

async fn a_subscriber_receives_each_conversion_with_its_attribution_and_no_phone_unless_asked(
    app: TestApp,
) {
    let plain = Receiver::start(Duration::ZERO).await;
    let phones = Receiver::start(Duration::ZERO).await;
    subscribe(&app, &plain.url(), false).await;
    subscribe(&app, &phones.url(), true).await;
    let (campaign, offer, agent, accepted) = a_sale_and_a_refusal(&app).await;
    let billing = app.token("integration").await;
    let sold = app
        .post(
            "/v1/conversions",
            &billing,
            report("13800138000", &offer, TWO_DAYS_LATER, "BILL-1"),
        )
        .await;
    sold.expect(StatusCode::CREATED);
    // The same reference again is no new event.
    app.post(
        "/v1/conversions",
        &billing,
        report("13800138000", &offer, TWO_DAYS_LATER, "BILL-1"),
    )
    .await
    .expect(StatusCode::OK);
    app.post(
        "/v1/conversions",
        &billing,
        json!({"external_id": "NOT-OURS-7", "offer": offer, "occurred_at": TWO_DAYS_LATER,
               "reference": "BILL-2"}),
    )
    .await
    .expect(StatusCode::CREATED);

    let got = app
        .eventually(20, "two conversion events", || async {
            let got = plain.received();
            (got.len() >= 2).then_some(got)
        })
        .await;
    let events: Vec<Value> = got.iter().map(|r| r.json()).collect();
    let first = events
        .iter()
        .find(|e| e["data"]["reference"] == "BILL-1")
        .expect("BILL-1 announced");
    assert_eq!(first["type"], "conversion");
    let d = &first["data"];
    assert_eq!(d["conversion"], sold.body["id"]);
    assert!(d["contact"].is_i64(), "{d}");
    assert_eq!(d["external_id"], "CRM-8000");
    assert_eq!(d["offer"], offer.as_str());
    assert_eq!(d["attributed_to"]["call"], accepted);
    assert_eq!(d["attributed_to"]["agent"], agent);
    assert_eq!(d["attributed_to"]["campaign"], campaign);
    assert!(d.get("phone").is_none(), "no phone unless asked for: {d}");
    assert!(!got.iter().any(|r| r.body.contains("13800138000")));
    let organic = events
        .iter()
        .find(|e| e["data"]["reference"] == "BILL-2")
        .expect("BILL-2 announced");
    assert_eq!(organic["data"]["attributed_to"], Value::Null);
    assert_eq!(organic["data"]["contact"], Value::Null);
    assert_eq!(organic["data"]["external_id"], "NOT-OURS-7");

    let with_phone = app
        .eventually(20, "the events with phones", || async {
            let got = phones.received();
            (got.len() >= 2).then_some(got)
        })
        .await;
    let sale = with_phone
        .iter()
        .map(|r| r.json())
        .find(|e| e["data"]["reference"] == "BILL-1")
        .unwrap();
    assert_eq!(sale["data"]["phone"], "+8613800138000");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(plain.received().len(), 2, "one event per conversion");
}

async fn targets_count_the_activations_billing_attributed_to_their_campaign_and_agent(
    app: TestApp,
) {
    let (campaign, offer, agent, _) = a_sale_and_a_refusal(&app).await;
    let billing = app.token("integration").await;
    // One sale attributed to the campaign's agent, one organic.
    for (phone, reference) in [("13800138000", "B-1"), ("13999999999", "B-2")] {
        app.post(
            "/v1/conversions",
            &billing,
            report(phone, &offer, TWO_DAYS_LATER, reference),
        )
        .await
        .expect(StatusCode::CREATED);
    }
    let lead = app.token("lead").await;
    for (scope, id) in [("campaign", campaign), ("agent", agent)] {
        let t = app
            .post(
                "/v1/targets",
                &lead,
                json!({"scope": scope, "scope_id": id, "period": "2026-11",
                       "metric": "activations", "goal": 4}),
            )
            .await;
        t.expect(StatusCode::CREATED);
        assert_eq!(t.body["metric"], "activations");
        assert_eq!(
            (&t.body["actual"], &t.body["gap"]),
            (&json!(1), &json!(3)),
            "{scope}: {}",
            t.text
        );
    }
    // The month after counts none of them.
    let next = app
        .post(
            "/v1/targets",
            &lead,
            json!({"scope": "campaign", "scope_id": campaign, "period": "2026-12",
                   "metric": "activations", "goal": 4}),
        )
        .await;
    next.expect(StatusCode::CREATED);
    assert_eq!(next.body["actual"], 0, "{}", next.text);
}

async fn converted_means_a_conversion_billing_reported_not_an_accepted_outcome(app: TestApp) {
    let (_, offer, _, _) = a_sale_and_a_refusal(&app).await;
    let lead = app.token("lead").await;
    let preview = async |filter: Value| {
        let r = app
            .post("/v1/segments/preview", &lead, json!({ "filter": filter }))
            .await;
        r.expect(StatusCode::OK);
        r.body
    };
    let before = preview(json!({ "converted": offer })).await;
    assert_eq!(
        before["count"], 0,
        "an accepted outcome is a promise: {before}"
    );
    // The person who declined the call bought it anyway.
    let billing = app.token("integration").await;
    app.post(
        "/v1/conversions",
        &billing,
        report("13800138001", &offer, TWO_DAYS_LATER, "B-9"),
    )
    .await
    .expect(StatusCode::CREATED);
    let after = preview(json!({ "converted": offer })).await;
    assert_eq!(after["count"], 1, "{after}");
    assert_eq!(after["sample"][0]["phone"], "+8613800138001", "{after}");
}

async fn the_activation_rate_stands_beside_the_acceptance_rate_for_campaign_and_agent(
    app: TestApp,
) {
    let campaign = app
        .running_campaign(json!({}), "phone\n13800138010\n13800138011\n")
        .await;
    let offer = app
        .get(&format!("/v1/campaigns/{campaign}"), app.admin())
        .await
        .body["offer"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, agent) = app.agent("李雷", None).await;
    let viewer = app.token("viewer").await;
    let before = app
        .get(&format!("/v1/stats/campaigns/{campaign}"), &viewer)
        .await;
    before.expect(StatusCode::OK);
    assert_eq!(
        before.body["activation_rate"],
        Value::Null,
        "{}",
        before.text
    );
    for _ in 0..2 {
        app.call_through(&agent, "accepted").await;
        app.advance(60);
    }
    let billing = app.token("integration").await;
    app.post(
        "/v1/conversions",
        &billing,
        report("13800138011", &offer, TWO_DAYS_LATER, "A-1"),
    )
    .await
    .expect(StatusCode::CREATED);
    let stats = app
        .get(&format!("/v1/stats/campaigns/{campaign}"), &viewer)
        .await;
    stats.expect(StatusCode::OK);
    assert_eq!(
        (
            &stats.body["conversions"],
            &stats.body["activated"],
            &stats.body["activation_rate"]
        ),
        (&json!(2), &json!(1), &json!(0.5)),
        "{}",
        stats.text
    );
    let me = app.get("/v1/agents/me/stats", &agent).await;
    me.expect(StatusCode::OK);
    assert_eq!(
        me.body["month"],
        json!({"accepted": 2, "activated": 1, "activation_rate": 0.5}),
        "{}",
        me.text
    );
}

crate::on_both_backends!(
    the_activation_rate_stands_beside_the_acceptance_rate_for_campaign_and_agent,
    targets_count_the_activations_billing_attributed_to_their_campaign_and_agent,
    converted_means_a_conversion_billing_reported_not_an_accepted_outcome,
);

crate::on_both_backends!(start = super::allowing_loopback; mod webhook_sqlite, webhook_postgres;
    a_subscriber_receives_each_conversion_with_its_attribution_and_no_phone_unless_asked,
);

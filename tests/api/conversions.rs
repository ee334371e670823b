//! Conversions billing reports: attributed to the latest accepted call of the person and offer
//! within the attribution window, or organic; one per reference, however often and however
//! concurrently it is reported; and the promotion funnel that adds them up.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// A running campaign of two people; its agent accepts the first and is declined by the second.
/// Answers (campaign, offer code, agent id, the accepted call).
pub async fn a_sale_and_a_refusal(app: &TestApp) -> (i64, String, i64, i64) {
    let campaign = app
        .running_campaign(
            json!({}),
            "phone,external_id\n13800138000,CRM-8000\n13800138001,CRM-8001\n",
        )
        .await;
    let offer = app
        .get(&format!("/v1/campaigns/{campaign}"), app.admin())
        .await
        .body["offer"]
        .as_str()
        .unwrap()
        .to_owned();
    let (agent_id, agent) = app.agent("王芳", None).await;
    let (accepted, _, _) = app.take(&agent).await;
    app.outcome(&agent, accepted, json!({"disposition": "accepted"}))
        .await
        .expect(StatusCode::OK);
    app.advance(3600);
    let (declined, _, _) = app.take(&agent).await;
    app.outcome(&agent, declined, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
    (campaign, offer, agent_id, accepted)
}

/// 2026-11-25 10:00 Shanghai is the tests' start: the sale is reported two days later.
pub const TWO_DAYS_LATER: &str = "2026-11-27T12:00:00+08:00";

pub fn report(phone: &str, offer: &str, at: &str, reference: &str) -> Value {
    json!({"phone": phone, "offer": offer, "occurred_at": at, "reference": reference})
}

async fn a_conversion_is_attributed_to_the_accepted_call_and_one_reference_is_one_conversion(
    app: TestApp,
) {
    let (campaign, offer, agent, accepted) = a_sale_and_a_refusal(&app).await;
    let billing = app.token("integration").await;
    let first = app
        .post(
            "/v1/conversions",
            &billing,
            report("138 0013 8000", &offer, TWO_DAYS_LATER, "BILL-1"),
        )
        .await;
    first.expect(StatusCode::CREATED);
    let to = &first.body["attributed_to"];
    assert_eq!(to["call"], accepted, "{}", first.text);
    assert_eq!(to["agent"], agent);
    assert_eq!(to["campaign"], campaign);
    assert_eq!(to["script_version"], 1);
    let again = app
        .post(
            "/v1/conversions",
            &billing,
            report("13800138000", &offer, TWO_DAYS_LATER, "BILL-1"),
        )
        .await;
    again.expect(StatusCode::OK);
    assert_eq!(
        again.body, first.body,
        "the same reference answers the first report"
    );

    // Eight reports of one new reference at once are one conversion.
    let reports = (0..8).map(|_| {
        app.post(
            "/v1/conversions",
            &billing,
            report("13800138000", &offer, TWO_DAYS_LATER, "BILL-2"),
        )
    });
    let answers = futures::future::join_all(reports).await;
    let created = answers
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "one report records it");
    assert!(answers.iter().all(|r| r.status.is_success()));
    let id = &answers[0].body["id"];
    assert!(
        answers.iter().all(|r| &r.body["id"] == id),
        "one conversion"
    );

    // Billing may name the person by the CRM's id instead of the phone.
    let by_id = app
        .post(
            "/v1/conversions",
            &billing,
            json!({"external_id": "CRM-8000", "offer": offer, "occurred_at": TWO_DAYS_LATER,
                   "reference": "BILL-6"}),
        )
        .await;
    by_id.expect(StatusCode::CREATED);
    assert_eq!(
        by_id.body["attributed_to"]["call"], accepted,
        "{}",
        by_id.text
    );

    // The declined person, and a sale past the 30-day window, are organic.
    for (phone, at, reference) in [
        ("13800138001", TWO_DAYS_LATER, "BILL-3"),
        ("13800138000", "2027-01-10T12:00:00+08:00", "BILL-4"),
        ("13999999999", TWO_DAYS_LATER, "BILL-5"),
    ] {
        let r = app
            .post(
                "/v1/conversions",
                &billing,
                report(phone, &offer, at, reference),
            )
            .await;
        r.expect(StatusCode::CREATED);
        assert_eq!(
            r.body["attributed_to"],
            Value::Null,
            "{reference}: {}",
            r.text
        );
    }
}

async fn a_conversion_is_refused_naming_its_field_and_only_billing_may_report(app: TestApp) {
    let (_, offer, _, _) = a_sale_and_a_refusal(&app).await;
    let billing = app.token("integration").await;
    for (body, field) in [
        (
            report("13800138000", "NO-SUCH", TWO_DAYS_LATER, "R"),
            "offer",
        ),
        (
            report("13800138000", &offer, TWO_DAYS_LATER, " "),
            "reference",
        ),
        (
            report("13800138000", &offer, "yesterday", "R"),
            "occurred_at",
        ),
        (report("12", &offer, TWO_DAYS_LATER, "R"), "phone"),
        (
            json!({"offer": offer, "occurred_at": TWO_DAYS_LATER, "reference": "R"}),
            "phone",
        ),
    ] {
        let r = app.post("/v1/conversions", &billing, body).await;
        assert!(
            r.status.is_client_error(),
            "{field}: {} {}",
            r.status,
            r.text
        );
        assert!(r.text.contains(field), "{field}: {}", r.text);
    }
    for role in ["lead", "viewer", "supervisor"] {
        let token = app.token(role).await;
        app.post(
            "/v1/conversions",
            &token,
            report("13800138000", &offer, TWO_DAYS_LATER, "R"),
        )
        .await
        .expect(StatusCode::FORBIDDEN);
    }
}

async fn the_funnel_adds_up_across_campaign_agent_and_script_version(app: TestApp) {
    let (campaign, offer, agent, _) = a_sale_and_a_refusal(&app).await;
    let billing = app.token("integration").await;
    for (phone, reference) in [("13800138000", "B-1"), ("13999999999", "B-2")] {
        app.post(
            "/v1/conversions",
            &billing,
            report(phone, &offer, TWO_DAYS_LATER, reference),
        )
        .await
        .expect(StatusCode::CREATED);
    }
    let viewer = app.token("viewer").await;
    let f = app
        .get(&format!("/v1/stats/funnel?campaign={campaign}"), &viewer)
        .await;
    f.expect(StatusCode::OK);
    let b = &f.body;
    assert_eq!(
        (
            &b["attempts"],
            &b["reached"],
            &b["accepted"],
            &b["activated"]
        ),
        (&json!(2), &json!(2), &json!(1), &json!(1)),
        "{b}"
    );
    assert_eq!(b["activation_rate"], 1.0);
    assert_eq!(b["by_agent"][0]["agent"], agent);
    assert_eq!(b["by_agent"][0]["name"], "王芳");
    for key in ["attempts", "reached", "accepted", "activated"] {
        for group in ["by_agent", "by_script_version"] {
            let sum: i64 = b[group]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g[key].as_i64().unwrap())
                .sum();
            assert_eq!(json!(sum), b[key], "{group} adds up to the {key}: {b}");
        }
    }
    let by_offer = app
        .get(&format!("/v1/stats/funnel?offer={offer}"), &viewer)
        .await;
    assert_eq!(by_offer.body["activated"], 1, "{}", by_offer.text);
    assert_eq!(
        by_offer.body["organic"], 1,
        "the unknown phone's sale is organic"
    );
    let before = app
        .get("/v1/stats/funnel?to=2026-11-01T00:00:00Z", &viewer)
        .await;
    assert_eq!(before.body["attempts"], 0, "{}", before.text);
}

crate::on_both_backends!(
    a_conversion_is_attributed_to_the_accepted_call_and_one_reference_is_one_conversion,
    a_conversion_is_refused_naming_its_field_and_only_billing_may_report,
    the_funnel_adds_up_across_campaign_agent_and_script_version,
);

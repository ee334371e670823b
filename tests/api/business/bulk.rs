//! The nightly billing file: conversions uploaded as CSV, each good row recorded whatever the
//! bad ones, a reference seen before a duplicate, the upload audited.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    conversions::{TWO_DAYS_LATER, a_sale_and_a_refusal},
    helpers::TestApp,
    webhooks::Receiver,
};

async fn upload(app: &TestApp, token: &str, csv: String) -> outcall_client::Reply {
    app.raw(
        Method::POST,
        "/v1/conversions",
        Some(token),
        "text/csv",
        csv,
    )
    .await
}

async fn a_billing_file_records_its_good_rows_and_reports_the_rest(app: TestApp) {
    let (campaign, offer, _, accepted) = a_sale_and_a_refusal(&app).await;
    let billing = app.token("integration").await;
    let at = TWO_DAYS_LATER;
    let csv = format!(
        "\u{feff}phone,external_id,offer,occurred_at,reference\n\
         13800138000,,{offer},{at},F-1\n\
         ,CRM-8001,{offer},{at},F-2\n\
         13999999999,,{offer},{at},F-3\n\
         13800138000,,{offer},{at},F-1\n\
         12,,{offer},{at},F-4\n\
         13800138000,,NO-SUCH,{at},F-5\n\
         13800138000,,{offer},yesterday,F-6\n\
         13800138000,CRM-8000,{offer},{at},F-7\n\
         13800138000,,{offer},{at},\n"
    );
    let r = upload(&app, &billing, csv).await;
    r.expect(StatusCode::OK);
    let b = &r.body;
    assert_eq!(
        (
            &b["total"],
            &b["accepted"],
            &b["duplicates"],
            &b["attributed"]
        ),
        (
            &Value::from(9),
            &Value::from(3),
            &Value::from(1),
            &Value::from(1)
        ),
        "{}",
        r.text
    );
    assert_eq!(b["invalid_count"], 5, "{}", r.text);
    let codes: Vec<(i64, &str)> = b["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["row"].as_i64().unwrap(), i["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            (6, "phone_invalid"),
            (7, "unknown"),
            (8, "time_invalid"),
            (9, "one_of_two"),
            (10, "too_long"),
        ],
        "{}",
        r.text
    );

    // Sent again, every recorded row is a duplicate; the first answer stands.
    let again = app
        .post(
            "/v1/conversions",
            &billing,
            crate::conversions::report("13800138000", &offer, at, "F-1"),
        )
        .await;
    again.expect(StatusCode::OK);
    assert_eq!(again.body["attributed_to"]["call"], accepted);
    let funnel = app
        .get(
            &format!("/v1/stats/funnel?campaign={campaign}"),
            app.admin(),
        )
        .await;
    assert_eq!(funnel.body["activated"], 1, "{}", funnel.text);

    let audit = app.get("/v1/audit?entity=conversion", app.admin()).await;
    audit.expect(StatusCode::OK);
    let entry = &audit.body["items"][0];
    assert_eq!(entry["action"], "import", "{}", audit.text);
    assert_eq!(entry["after"]["accepted"], 3);
}

async fn a_billing_file_without_its_columns_is_refused_naming_the_column(app: TestApp) {
    let billing = app.token("integration").await;
    for (csv, field) in [
        (
            "phone,offer,occurred_at\n13800138000,X,2026-11-27T12:00:00+08:00\n",
            "reference",
        ),
        (
            "name,offer,occurred_at,reference\nA,X,2026-11-27T12:00:00+08:00,R\n",
            "phone",
        ),
        ("", "body"),
    ] {
        let r = upload(&app, &billing, csv.to_owned()).await;
        assert!(
            r.status.is_client_error(),
            "{field}: {} {}",
            r.status,
            r.text
        );
        assert!(r.text.contains(field), "{field}: {}", r.text);
    }
    let lead = app.token("lead").await;
    upload(&app, &lead, "phone\n".into())
        .await
        .expect(StatusCode::FORBIDDEN);
    app.raw(
        Method::POST,
        "/v1/conversions",
        Some(&billing),
        "application/xml",
        "<a/>",
    )
    .await
    .expect(StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// What the JSON report of `reference` answers now: the conversion as first recorded (200).
async fn recorded(app: &TestApp, billing: &str, offer: &str, reference: &str) -> Value {
    let r = app
        .post(
            "/v1/conversions",
            billing,
            crate::conversions::report("13800138000", offer, TWO_DAYS_LATER, reference),
        )
        .await;
    r.expect(StatusCode::OK);
    r.body
}

async fn a_billing_file_records_and_announces_each_row_as_its_single_report_would(app: TestApp) {
    let plain = Receiver::start(Duration::ZERO).await;
    let phones = Receiver::start(Duration::ZERO).await;
    super::subscribe(&app, &plain.url(), false).await;
    super::subscribe(&app, &phones.url(), true).await;
    let (_, offer, _, accepted) = a_sale_and_a_refusal(&app).await;
    let billing = app.token("integration").await;
    app.post(
        "/v1/conversions",
        &billing,
        crate::conversions::report("13800138001", &offer, TWO_DAYS_LATER, "PRE-1"),
    )
    .await
    .expect(StatusCode::CREATED);
    let at = TWO_DAYS_LATER;
    // Before the sale's call: outside its attribution window.
    let early = "2026-11-24T12:00:00+08:00";
    let mut csv = format!(
        "phone,external_id,offer,occurred_at,reference\n\
         13800138000,,{offer},{at},A-1\n\
         ,CRM-8000,{offer},{at},A-2\n\
         ,CRM-8001,{offer},{at},A-3\n\
         13999999999,,{offer},{at},A-4\n\
         ,NOT-OURS-9,{offer},{at},A-5\n\
         13800138000,,{offer},{at},A-1\n\
         13800138001,,{offer},{at},PRE-1\n\
         13800138000,,{offer},{early},A-6\n"
    );
    // Invalid rows fill the first chunk of 1,000; the second repeats A-2 and adds A-7.
    for n in 0..992 {
        csv.push_str(&format!("12,,{offer},{at},X-{n}\n"));
    }
    csv.push_str(&format!(
        ",CRM-8000,{offer},{at},A-2\n13800138000,,{offer},{at},A-7\n"
    ));
    let r = upload(&app, &billing, csv).await;
    r.expect(StatusCode::OK);
    let b = &r.body;
    let counts = [
        "total",
        "accepted",
        "duplicates",
        "attributed",
        "invalid_count",
    ]
    .map(|k| b[k].as_i64().unwrap_or(-1));
    assert_eq!(counts, [1002, 7, 3, 3, 992], "{}", r.text);

    for (reference, call) in [
        ("A-1", Some(accepted)),
        ("A-2", Some(accepted)),
        ("A-3", None),
        ("A-4", None),
        ("A-5", None),
        ("A-6", None),
        ("A-7", Some(accepted)),
        ("PRE-1", None),
    ] {
        let c = recorded(&app, &billing, &offer, reference).await;
        assert_eq!(
            c["attributed_to"]["call"].as_i64(),
            call,
            "{reference}: {c}"
        );
    }

    // One event per conversion recorded, with what the single report's event carries.
    let got = app
        .eventually(20, "eight conversion events", || async {
            let got = plain.received();
            (got.len() >= 8).then_some(got)
        })
        .await;
    let event = |reference: &str| {
        got.iter()
            .map(|r| r.json())
            .find(|e| e["data"]["reference"] == reference)
            .unwrap_or_else(|| panic!("{reference} announced"))["data"]
            .clone()
    };
    for (reference, external_id, attributed) in [
        ("A-1", json!("CRM-8000"), true),
        ("A-2", json!("CRM-8000"), true),
        ("A-3", json!("CRM-8001"), false),
        ("A-4", Value::Null, false),
        ("A-5", json!("NOT-OURS-9"), false),
        ("A-6", json!("CRM-8000"), false),
        ("A-7", json!("CRM-8000"), true),
    ] {
        let d = event(reference);
        assert_eq!(d["external_id"], external_id, "{reference}: {d}");
        assert_eq!(
            d["attributed_to"]["call"].is_i64(),
            attributed,
            "{reference}: {d}"
        );
        assert_eq!(d["offer"], offer.as_str(), "{reference}: {d}");
        assert!(d.get("phone").is_none(), "{reference}: {d}");
    }
    assert!(event("A-1")["contact"].is_i64());
    assert_eq!(event("A-2")["contact"], event("A-1")["contact"]);
    assert_eq!(event("A-5")["contact"], Value::Null);
    let with_phone = app
        .eventually(20, "the events with phones", || async {
            let got = phones.received();
            (got.len() >= 8).then_some(got)
        })
        .await;
    let phone_of = |reference: &str| {
        with_phone
            .iter()
            .map(|r| r.json())
            .find(|e| e["data"]["reference"] == reference)
            .unwrap()["data"]
            .get("phone")
            .cloned()
    };
    assert_eq!(phone_of("A-2"), Some(json!("+8613800138000")));
    assert_eq!(phone_of("A-4"), Some(json!("+8613999999999")));
    assert_eq!(phone_of("A-5"), None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(plain.received().len(), 8, "one event per conversion");
}

crate::on_both_backends!(
    a_billing_file_records_its_good_rows_and_reports_the_rest,
    a_billing_file_without_its_columns_is_refused_naming_the_column,
);

crate::on_both_backends!(start = crate::business::allowing_loopback; mod webhook_sqlite, webhook_postgres;
    a_billing_file_records_and_announces_each_row_as_its_single_report_would,
);

//! The nightly billing file: conversions uploaded as CSV, each good row recorded whatever the
//! bad ones, a reference seen before a duplicate, the upload audited.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::{
    conversions::{TWO_DAYS_LATER, a_sale_and_a_refusal},
    helpers::TestApp,
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

crate::on_both_backends!(
    a_billing_file_records_its_good_rows_and_reports_the_rest,
    a_billing_file_without_its_columns_is_refused_naming_the_column,
);

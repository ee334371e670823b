//! `/metrics` is honest: it needs a token, its label sets stay bounded whatever clients send,
//! and a series that vanished goes to zero instead of keeping its last value.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::TestApp;

/// The value of the sample whose line starts with `series` (labels included), if any.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn an_unknown_method_is_counted_as_other(app: TestApp) {
    let odd = Method::from_bytes(b"BREW").unwrap();
    let r = app
        .call(odd, "/v1/offers", Some(app.admin()), Value::Null)
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    let metrics = app.get("/metrics", app.admin()).await;
    metrics.expect(StatusCode::OK);
    assert!(
        !metrics.text.contains("method=\"BREW\""),
        "{}",
        metrics.text
    );
    assert!(
        metrics.text.contains("method=\"other\""),
        "{}",
        metrics.text
    );
}

async fn a_campaigns_queue_gauge_goes_to_zero_when_it_stops(app: TestApp) {
    // The metrics registry is the process's, shared with other tests' servers: a campaign id
    // past the few that most tests make keeps their series apart from this one.
    for _ in 0..5 {
        app.campaign(serde_json::json!({})).await;
    }
    let id = app
        .running_campaign(serde_json::json!({}), "phone\n13800138000\n13800138001\n")
        .await;
    let series = format!("outcall_queue_depth{{campaign=\"{id}\",state=\"ready\"}}");
    // Another test's server scraping at the same moment may set the same series for its own
    // campaign with this id: a few scrapes in a row settle it.
    scraped(&app, &series, 2.0).await;
    app.campaign_action(id, "stop").await.expect(StatusCode::OK);
    scraped(&app, &series, 0.0).await;
}

/// Scrapes until `series` reads `want` (ten scrapes at most).
async fn scraped(app: &TestApp, series: &str, want: f64) {
    for _ in 0..10 {
        let page = app.get("/metrics", app.admin()).await;
        if sample(&page.text, series) == Some(want) {
            return;
        }
    }
    panic!("{series} never read {want}");
}

crate::on_both_backends!(
    an_unknown_method_is_counted_as_other,
    a_campaigns_queue_gauge_goes_to_zero_when_it_stops,
);

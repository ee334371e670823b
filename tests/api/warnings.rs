//! Campaign views warn before a campaign disappoints: a window outside the global calling
//! hours (08:00-21:00), a team with no active agent, a retry delay longer than the time left
//! before `end_at`, a script field more than a tenth of the contacts lack.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn warnings(app: &TestApp, campaign: i64) -> Vec<(String, String)> {
    let viewer = app.token("viewer").await;
    let one = app.get(&format!("/v1/campaigns/{campaign}"), &viewer).await;
    one.expect(StatusCode::OK);
    let list = app.get("/v1/campaigns?limit=200", &viewer).await;
    let listed = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == campaign)
        .unwrap()
        .clone();
    assert_eq!(
        listed["warnings"], one.body["warnings"],
        "the list says the same"
    );
    let mut out: Vec<(String, String)> = one.body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["kind"].as_str().unwrap().to_owned(),
                w["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn codes(w: &[(String, String)]) -> Vec<&str> {
    w.iter().map(|(c, _)| c.as_str()).collect()
}

async fn a_campaign_warns_of_windows_teams_retries_and_script_fields_before_it_disappoints(
    app: TestApp,
) {
    let campaign = app
        .campaign(json!({
            "calling_windows": [
                {"days": ["mon", "tue"], "start": "21:30", "end": "23:00"},
                {"days": ["wed"], "start": "09:00", "end": "12:00"},
            ],
            "teams": ["华北"],
            "end_at": "2026-11-25T11:00:00+08:00",
            "retry": {"no_answer": "2h", "busy": "15m", "voicemail": "4h"},
        }))
        .await;
    let csv =
        "phone,plan\n13800138000,88\n13800138001,\n13800138002,128\n13800138003,58\n13800138004,\n";
    app.import_csv(campaign, csv).await.expect(StatusCode::OK);
    let w = warnings(&app, campaign).await;
    assert_eq!(
        codes(&w),
        [
            "retry_longer_than_time_left",
            "retry_longer_than_time_left",
            "script_field_missing",
            "team_without_active_agent",
            "window_outside_calling_hours",
        ],
        "{w:?}"
    );
    assert!(w[2].1.contains("plan") && w[2].1.contains("40%"), "{w:?}");
    assert!(w[3].1.contains("华北"), "{w:?}");
    assert!(w[4].1.contains("21:30-23:00"), "{w:?}");

    // Staffed, with the plan filled in for all but one in ten, and windows fixed: quiet. The
    // missing plan comes from a list of another campaign: a row for someone already in this
    // one is a duplicate, which changes nothing about them.
    app.agent("north", Some("华北")).await;
    let other = app.campaign(json!({})).await;
    app.import_csv(other, "phone,plan\n13800138001,66\n")
        .await
        .expect(StatusCode::OK);
    let more: String = (5..10).map(|i| format!("1380013800{i},99\n")).collect();
    app.import_csv(campaign, format!("phone,plan\n{more}"))
        .await
        .expect(StatusCode::OK);
    let lead = app.token("lead").await;
    app.call(
        reqwest::Method::PATCH,
        &format!("/v1/campaigns/{campaign}"),
        Some(&lead),
        json!({"calling_windows": [{"days": ["wed"], "start": "09:00", "end": "12:00"}],
               "end_at": Value::Null}),
    )
    .await
    .expect(StatusCode::OK);
    let w = warnings(&app, campaign).await;
    assert_eq!(codes(&w), Vec::<&str>::new(), "{w:?}");
}

async fn a_recurrence_that_comes_round_before_a_round_can_be_called_is_warned_of(app: TestApp) {
    let extra = json!({
        "recurrence": "0 0 9 * * *",
        "max_attempts": 1,
        "teams": ["夜班"],
        "calling_windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                             "start": "09:00", "end": "10:00"}],
    });
    app.agent("only", Some("夜班")).await;
    let small = app.campaign(extra.clone()).await;
    app.import_csv(small, "phone,plan\n13800138000,88\n")
        .await
        .expect(StatusCode::OK);
    assert_eq!(codes(&warnings(&app, small).await), Vec::<&str>::new());
    // One agent, an hour a day, three minutes a call: 20 calls a day for 500 contacts.
    let big = app.campaign(extra).await;
    let csv: String = (0..500).map(|i| format!("139{i:08},88\n")).collect();
    app.import_csv(big, format!("phone,plan\n{csv}"))
        .await
        .expect(StatusCode::OK);
    let w = warnings(&app, big).await;
    assert_eq!(codes(&w), ["recurrence_before_round_ends"], "{w:?}");
}

crate::on_both_backends!(
    a_campaign_warns_of_windows_teams_retries_and_script_fields_before_it_disappoints,
    a_recurrence_that_comes_round_before_a_round_can_be_called_is_warned_of,
);

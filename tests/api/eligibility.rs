//! "Why isn't it dialing?": a contact's reasons in each of its campaigns, a campaign's funnel,
//! an agent's outlook and the `Retry-After` of an empty `next`, and a change of windows that
//! takes effect at once. Tests start on Wednesday 2026-11-25 10:00 in Shanghai; the global
//! calling hours are 08:00-21:00, the cap 3/24h and the gap 1h (the defaults).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

const EVERY_DAY: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

pub fn windows(start: &str, end: &str) -> Value {
    json!([{"days": EVERY_DAY, "start": start, "end": end}])
}

/// The campaign's entry in a contact's eligibility.
pub async fn eligibility(app: &TestApp, contact: i64, campaign: i64) -> Value {
    let lead = app.token("lead").await;
    let r = app
        .get(&format!("/v1/contacts/{contact}/eligibility"), &lead)
        .await;
    r.expect(StatusCode::OK);
    r.body["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["campaign"] == campaign)
        .cloned()
        .unwrap_or_else(|| panic!("campaign {campaign} in {}", r.text))
}

pub fn codes(place: &Value) -> Vec<String> {
    place["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_owned())
        .collect()
}

pub async fn funnel(app: &TestApp, campaign: i64) -> Value {
    let viewer = app.token("viewer").await;
    let r = app
        .get(&format!("/v1/campaigns/{campaign}/eligibility"), &viewer)
        .await;
    r.expect(StatusCode::OK);
    r.body
}

/// A lead changes the campaign's windows to every day from `start` to `end`.
async fn set_windows(app: &TestApp, campaign: i64, start: &str, end: &str) {
    let lead = app.token("lead").await;
    app.call(
        Method::PATCH,
        &format!("/v1/campaigns/{campaign}"),
        Some(&lead),
        json!({"calling_windows": windows(start, end)}),
    )
    .await
    .expect(StatusCode::OK);
}

async fn contact_id(app: &TestApp, campaign: i64) -> i64 {
    app.contacts(campaign, None).await[0]["id"]
        .as_i64()
        .unwrap()
}

async fn a_contact_outside_its_windows_is_explained_and_freed_at_once_when_the_windows_widen(
    app: TestApp,
) {
    let campaign = app
        .running_campaign(
            json!({"calling_windows": windows("14:00", "18:00")}),
            "phone\n13800138000\n",
        )
        .await;
    let (_, agent) = app.agent("agent", None).await;
    let r = app.next(&agent).await;
    r.expect(StatusCode::NO_CONTENT);
    assert_eq!(
        r.headers["retry-after"], "14400",
        "four hours until the window opens"
    );
    let outlook = app.get("/v1/agents/me/outlook", &agent).await;
    outlook.expect(StatusCode::OK);
    assert_eq!(
        outlook.body["next_call_expected_at"],
        "2026-11-25T14:00:00+08:00"
    );
    assert_eq!(outlook.body["reason"], "outside_campaign_window");

    let contact = contact_id(&app, campaign).await;
    let place = eligibility(&app, contact, campaign).await;
    assert_eq!(place["callable"], false);
    assert_eq!(codes(&place), ["outside_campaign_window"]);
    assert_eq!(place["reasons"][0]["until"], "2026-11-25T14:00:00+08:00");
    assert_eq!(place["callable_at"], "2026-11-25T14:00:00+08:00");
    let f = funnel(&app, campaign).await;
    assert_eq!(f["callable_now"], 0);
    assert_eq!(f["blocked"]["outside_campaign_window"], 1);
    assert_eq!(f["next_callable_at"], "2026-11-25T14:00:00+08:00");

    // Widened to the whole day: the contact it held is called now, not at 14:00.
    set_windows(&app, campaign, "09:00", "21:00").await;
    let place = eligibility(&app, contact, campaign).await;
    assert_eq!(place["callable"], true, "{place}");
    assert_eq!(funnel(&app, campaign).await["callable_now"], 1);
    app.take(&agent).await;
}

async fn a_retry_the_old_windows_pushed_to_tomorrow_is_freed_when_they_widen(app: TestApp) {
    let campaign = app
        .running_campaign(
            json!({"calling_windows": windows("09:00", "12:00"), "retry": {"no_answer": "4h"}}),
            "phone\n13800138000\n",
        )
        .await;
    let (_, agent) = app.agent("agent", None).await;
    let contact = app.call_through(&agent, "no_answer").await;
    // Due at 14:00, after the window: held by it until 09:00 tomorrow.
    let place = eligibility(&app, contact, campaign).await;
    assert_eq!(place["callable_at"], "2026-11-26T09:00:00+08:00", "{place}");
    set_windows(&app, campaign, "09:00", "21:00").await;
    // Free now, held only by the phone's gap (an hour after the call).
    let place = eligibility(&app, contact, campaign).await;
    assert_eq!(codes(&place), ["phone_min_gap"], "{place}");
    app.advance(3600);
    app.take(&agent).await;
}

async fn every_reason_that_applies_is_named_with_when_it_stops(app: TestApp) {
    let campaign = app
        .running_campaign(
            json!({"retry": {"no_answer": "30m"}}),
            "phone\n13800138000\n13800138001\n13800138002\n",
        )
        .await;
    let (_, agent) = app.agent("agent", None).await;
    // One unanswered: its retry waits 30 minutes, and the phone's gap an hour.
    let (call, _, body) = app.take(&agent).await;
    let first = body["contact"]["id"].as_i64().unwrap();
    app.outcome(&agent, call, json!({"disposition": "no_answer"}))
        .await
        .expect(StatusCode::OK);
    let place = eligibility(&app, first, campaign).await;
    assert_eq!(codes(&place), ["phone_min_gap", "retry_wait"]);
    assert_eq!(place["callable_at"], "2026-11-25T11:00:00+08:00");
    // One taken: leased. One finished: done.
    let (call, _, body) = app.take(&agent).await;
    let second = body["contact"]["id"].as_i64().unwrap();
    assert_eq!(
        codes(&eligibility(&app, second, campaign).await),
        ["leased"]
    );
    app.outcome(&agent, call, json!({"disposition": "accepted"}))
        .await
        .expect(StatusCode::OK);
    let place = eligibility(&app, second, campaign).await;
    assert_eq!(codes(&place), ["done"]);
    assert_eq!(place["callable_at"], Value::Null);
    // The third is listed.
    let lead = app.token("lead").await;
    app.post("/v1/dnc", &lead, json!({"phone": "+8613800138002"}))
        .await
        .expect(StatusCode::CREATED);
    let f = funnel(&app, campaign).await;
    assert_eq!(f["callable_now"], 0, "{f}");
    // Counted under the first reason of its own explanation: the gap, not the retry.
    assert_eq!(f["blocked"]["phone_min_gap"], 1, "{f}");
    assert_eq!(f["blocked"]["retry_wait"], 0, "{f}");
    assert_eq!(f["blocked"]["done"], 1, "{f}");
    assert_eq!(f["blocked"]["dnc"], 1, "{f}");
    assert_eq!(f["next_callable_at"], "2026-11-25T11:00:00+08:00");

    // Paused: every contact's first reason is the campaign.
    app.campaign_action(campaign, "pause").await;
    let f = funnel(&app, campaign).await;
    assert_eq!(f["blocked"]["campaign_not_active"], 3, "{f}");
    assert_eq!(f["next_callable_at"], Value::Null);
}

async fn a_phone_called_in_one_campaign_is_counted_as_held_by_its_gap_in_the_others(app: TestApp) {
    let first = app
        .running_campaign(json!({"priority": 90}), "phone\n13800138000\n")
        .await;
    let second = app
        .running_campaign(json!({"priority": 10}), "phone\n13800138000\n")
        .await;
    let (_, agent) = app.agent("agent", None).await;
    let (call, _, body) = app.take(&agent).await;
    assert_eq!(body["campaign"]["id"], first);
    let contact = body["contact"]["id"].as_i64().unwrap();
    app.outcome(&agent, call, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
    let f = funnel(&app, second).await;
    assert_eq!(f["callable_now"], 0, "{f}");
    assert_eq!(f["blocked"]["phone_min_gap"], 1, "{f}");
    assert_eq!(f["next_callable_at"], "2026-11-25T11:00:00+08:00");
    let place = eligibility(&app, contact, second).await;
    assert_eq!(codes(&place), ["phone_min_gap"]);
    let r = app.next(&agent).await;
    r.expect(StatusCode::NO_CONTENT);
    assert_eq!(r.headers["retry-after"], "3600");
    app.advance(3600);
    let (_, _, body) = app.take(&agent).await;
    assert_eq!(body["campaign"]["id"], second);
}

async fn contacts_in_their_own_zones_are_counted_by_their_own_windows(app: TestApp) {
    let campaign = app
        .running_campaign(
            json!({"calling_windows": windows("09:00", "12:00")}),
            "phone,timezone\n13800138000,\n13800138001,Europe/London\n13800138002,Asia/Shanghai\n",
        )
        .await;
    app.agent("agent", None).await;
    // 10:00 in Shanghai (the campaign's zone and one contact's), 02:00 in London.
    let f = funnel(&app, campaign).await;
    assert_eq!(f["callable_now"], 2, "{f}");
    assert_eq!(f["blocked"]["outside_campaign_window"], 1, "{f}");
    assert_eq!(f["next_callable_at"], "2026-11-25T17:00:00+08:00");
    // Once the hand-out has held the London contact back, it is counted by what it recorded.
    let (_, agent) = app.agent("second", None).await;
    app.take(&agent).await;
    let (_, other) = app.agent("third", None).await;
    app.take(&other).await;
    app.next(&app.agent("fourth", None).await.1)
        .await
        .expect(StatusCode::NO_CONTENT);
    let f = funnel(&app, campaign).await;
    assert_eq!(f["callable_now"], 0, "{f}");
    assert_eq!(f["blocked"]["leased"], 2, "{f}");
    assert_eq!(f["blocked"]["outside_campaign_window"], 1, "{f}");
    assert_eq!(f["next_callable_at"], "2026-11-25T17:00:00+08:00");
}

async fn a_person_on_a_call_in_one_campaign_is_counted_as_leased_in_the_others(app: TestApp) {
    let first = app
        .running_campaign(json!({"priority": 90}), "phone\n13800138000\n")
        .await;
    let second = app
        .running_campaign(json!({"priority": 10}), "phone\n13800138000\n13800138001\n")
        .await;
    let (_, agent) = app.agent("agent", None).await;
    let (_, _, body) = app.take(&agent).await;
    assert_eq!(body["campaign"]["id"], first);
    let f = funnel(&app, second).await;
    assert_eq!(f["blocked"]["leased"], 1, "{f}");
    // The other contact waits for an agent: the only one is on the first campaign's call
    // (issue 27); a second agent could call it now.
    assert_eq!(f["callable_now"], 0, "{f}");
    assert_eq!(f["blocked"]["agents_busy_elsewhere"], 1, "{f}");
    let (_, other) = app.agent("other", None).await;
    let f = funnel(&app, second).await;
    assert_eq!(f["callable_now"], 1, "{f}");
    assert_eq!(f["blocked"]["leased"], 1, "{f}");
    let r = app.get("/v1/agents/me/outlook", &other).await;
    r.expect(StatusCode::OK);
}

async fn a_campaign_whose_teams_have_nobody_says_so(app: TestApp) {
    let campaign = app
        .running_campaign(json!({"teams": ["华东"]}), "phone\n13800138000\n")
        .await;
    app.agent("elsewhere", Some("华南")).await;
    let contact = contact_id(&app, campaign).await;
    let place = eligibility(&app, contact, campaign).await;
    assert_eq!(codes(&place), ["no_agent_for_team"]);
    assert_eq!(
        funnel(&app, campaign).await["blocked"]["no_agent_for_team"],
        1
    );
    let (_, agent) = app.agent("east", Some("华东")).await;
    assert_eq!(eligibility(&app, contact, campaign).await["callable"], true);
    app.take(&agent).await;
}

async fn the_explanations_are_for_leads_supervisors_and_viewers_and_the_outlook_for_agents(
    app: TestApp,
) {
    let campaign = app
        .running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let contact = contact_id(&app, campaign).await;
    let (_, agent) = app.agent("agent", None).await;
    let integration = app.token("integration").await;
    for path in [
        format!("/v1/contacts/{contact}/eligibility"),
        format!("/v1/campaigns/{campaign}/eligibility"),
    ] {
        app.get(&path, &agent)
            .await
            .expect_problem(StatusCode::FORBIDDEN, "");
        app.get(&path, &integration)
            .await
            .expect_problem(StatusCode::FORBIDDEN, "");
        let supervisor = app.token("supervisor").await;
        app.get(&path, &supervisor).await.expect(StatusCode::OK);
    }
    app.get("/v1/contacts/999999/eligibility", &app.token("lead").await)
        .await
        .expect_problem(StatusCode::NOT_FOUND, "");
    let lead = app.token("lead").await;
    app.get("/v1/agents/me/outlook", &lead)
        .await
        .expect_problem(StatusCode::FORBIDDEN, "");
    let r = app.get("/v1/agents/me/outlook", &agent).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["next_call_expected_at"], "2026-11-25T10:00:00+08:00");
    assert_eq!(r.body["reason"], Value::Null);
}

async fn a_person_is_found_by_phone_in_any_form(app: TestApp) {
    let campaign = app
        .running_campaign(json!({}), "phone,name\n13800138000,王芳\n")
        .await;
    let contact = contact_id(&app, campaign).await;
    let integration = app.token("integration").await;
    for phone in ["13800138000", "+86 138 0013 8000", "%2B8613800138000"] {
        let r = app
            .get(&format!("/v1/contacts?phone={phone}"), &integration)
            .await;
        r.expect(StatusCode::OK);
        assert_eq!(r.body["items"][0]["id"], contact, "{phone}: {}", r.text);
        assert_eq!(r.body["items"][0]["name"], "王芳");
    }
    let none = app
        .get("/v1/contacts?phone=13900139000", &integration)
        .await;
    none.expect(StatusCode::OK);
    assert_eq!(none.body["items"], json!([]));
    for query in ["", "?phone=", "?phone=12", "?nick=x"] {
        let r = app.get(&format!("/v1/contacts{query}"), &integration).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text);
    }
    app.get("/v1/contacts?phone=13800138000", &app.token("viewer").await)
        .await
        .expect_problem(StatusCode::FORBIDDEN, "");
}

crate::on_both_backends!(
    a_person_is_found_by_phone_in_any_form,
    a_retry_the_old_windows_pushed_to_tomorrow_is_freed_when_they_widen,
    a_phone_called_in_one_campaign_is_counted_as_held_by_its_gap_in_the_others,
    contacts_in_their_own_zones_are_counted_by_their_own_windows,
    a_person_on_a_call_in_one_campaign_is_counted_as_leased_in_the_others,
    a_contact_outside_its_windows_is_explained_and_freed_at_once_when_the_windows_widen,
    every_reason_that_applies_is_named_with_when_it_stops,
    a_campaign_whose_teams_have_nobody_says_so,
    the_explanations_are_for_leads_supervisors_and_viewers_and_the_outlook_for_agents,
);

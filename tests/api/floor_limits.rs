//! Bounded under hostile input, on the floor: an agent cannot walk a list by releasing calls
//! (`OUTCALL_RELEASE_LIMIT`), a token cannot sweep the phone look-up (`OUTCALL_LOOKUP_LIMIT`),
//! overlapping calling windows are merged when saved, and the small items: a reactivated agent
//! needs a new token, and only live admin tokens keep the service from being locked out.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// `count` phones, one a line, under a `phone` header.
fn phones(count: usize) -> String {
    let rows: String = (0..count).map(|i| format!("139{i:08}\n")).collect();
    format!("phone\n{rows}")
}

fn retry_after(r: &outcall_client::Reply) -> u64 {
    r.headers
        .get("retry-after")
        .unwrap_or_else(|| panic!("a Retry-After header: {}", r.text))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn floor_agent(floor: &Value, id: i64) -> &Value {
    floor["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent"] == id)
        .unwrap_or_else(|| panic!("agent {id} on the floor: {floor}"))
}

async fn an_agent_who_skipped_twenty_contacts_within_an_hour_gets_no_more_until_the_oldest_skip_ages_out(
    app: TestApp,
) {
    app.running_campaign(json!({}), &phones(30)).await;
    let (id, agent) = app.agent("walker", None).await;
    let supervisor = app.token("supervisor").await;
    let lead = app.token("lead").await;
    for i in 0..20 {
        let (call, _, _) = app.take(&agent).await;
        let body = if i % 2 == 0 {
            json!({"skip": true})
        } else {
            json!({})
        };
        app.release_with(&agent, call, body)
            .await
            .expect(StatusCode::OK);
        app.advance(60);
    }
    // The twentieth release was 19 minutes after the first; a minute has passed since.
    let refused = app.next(&agent).await;
    refused.expect_problem(StatusCode::TOO_MANY_REQUESTS, "");
    assert_eq!(refused.body["code"], "release_limit", "{}", refused.text);
    assert_eq!(
        retry_after(&refused),
        3600 - 20 * 60,
        "until the first release is an hour old"
    );

    let floor = app.get("/v1/floor", &supervisor).await;
    floor.expect(StatusCode::OK);
    assert_eq!(floor_agent(&floor.body, id)["release_limited"], true);
    assert_eq!(floor_agent(&floor.body, id)["today"]["releases"], 20);

    let audit = app
        .get("/v1/audit?entity=call&limit=100", app.admin())
        .await;
    let releases = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "release")
        .count();
    assert_eq!(releases, 20, "every agent's release is audited");

    let figures = app.get("/v1/stats/agents", &lead).await;
    figures.expect(StatusCode::OK);
    let mine = figures.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent"] == id)
        .unwrap_or_else(|| panic!("an agent with releases only has figures: {}", figures.text));
    assert_eq!(mine["releases"], 20);
    assert_eq!(mine["attempts"], 0);
    let me = app.get("/v1/agents/me/stats", &agent).await;
    me.expect(StatusCode::OK);
    assert_eq!(me.body["releases"], 20, "{}", me.text);

    app.advance(retry_after(&refused));
    app.take(&agent).await;
    let floor = app.get("/v1/floor", &supervisor).await;
    assert_eq!(floor_agent(&floor.body, id)["release_limited"], false);
}

async fn a_supervisors_release_of_an_agents_call_does_not_count_against_the_agent(app: TestApp) {
    app.running_campaign(json!({}), &phones(30)).await;
    let (_, agent) = app.agent("held up", None).await;
    let supervisor = app.token("supervisor").await;
    for _ in 0..21 {
        let (call, _, _) = app.take(&agent).await;
        app.release_with(&supervisor, call, json!({"skip": true}))
            .await
            .expect(StatusCode::OK);
    }
    app.take(&agent).await;
}

async fn a_token_that_looks_up_more_than_sixty_phones_a_minute_waits_for_the_minute_to_pass(
    app: TestApp,
) {
    app.running_campaign(json!({}), &phones(3)).await;
    let crm = app.token("integration").await;
    let other = app.token("supervisor").await;
    for i in 0..60 {
        app.get(&format!("/v1/contacts?phone=139{:08}", i % 3), &crm)
            .await
            .expect(StatusCode::OK);
    }
    let refused = app.get("/v1/contacts?phone=13900000000", &crm).await;
    refused.expect_problem(StatusCode::TOO_MANY_REQUESTS, "");
    let wait = retry_after(&refused);
    assert!((1..=60).contains(&wait), "{wait}");
    app.get("/v1/contacts?phone=13900000000", &other)
        .await
        .expect(StatusCode::OK);
    app.advance(wait);
    app.get("/v1/contacts?phone=13900000000", &crm)
        .await
        .expect(StatusCode::OK);
}

async fn fifty_overlapping_windows_are_saved_as_one_and_forecast_as_one(app: TestApp) {
    let every_day = json!(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]);
    let many: Vec<Value> = (0..50)
        .map(|i| json!({"days": every_day, "start": format!("09:{:02}", i % 60), "end": "12:00"}))
        .collect();
    let overlapping = app.campaign(json!({"calling_windows": many})).await;
    let single = app
        .campaign(
            json!({"calling_windows": [{"days": every_day, "start": "09:00", "end": "12:00"}]}),
        )
        .await;
    let saved = app
        .get(&format!("/v1/campaigns/{overlapping}"), app.admin())
        .await;
    assert_eq!(
        saved.body["calling_windows"],
        json!([{"days": every_day, "start": "09:00", "end": "12:00"}]),
        "{}",
        saved.text
    );
    // Adjacent windows and the same hours on other days merge too.
    let patched = app
        .call(
            Method::PATCH,
            &format!("/v1/campaigns/{overlapping}"),
            Some(app.admin()),
            json!({"calling_windows": [
                {"days": ["mon"], "start": "09:00", "end": "12:00"},
                {"days": ["mon", "tue"], "start": "12:00", "end": "15:00"},
                {"days": ["tue"], "start": "08:00", "end": "12:30"},
                {"days": ["sat"], "start": "10:00", "end": "11:00"},
            ]}),
        )
        .await;
    patched.expect(StatusCode::OK);
    assert_eq!(
        patched.body["calling_windows"],
        json!([{"days": ["tue"], "start": "08:00", "end": "15:00"},
               {"days": ["mon"], "start": "09:00", "end": "15:00"},
               {"days": ["sat"], "start": "10:00", "end": "11:00"}]),
        "{}",
        patched.text
    );
    app.call(
        Method::PATCH,
        &format!("/v1/campaigns/{overlapping}"),
        Some(app.admin()),
        json!({"calling_windows": many}),
    )
    .await
    .expect(StatusCode::OK);

    let lead = app.token("lead").await;
    let mut forecasts = vec![];
    for campaign in [overlapping, single] {
        app.import_csv(campaign, phones(200))
            .await
            .expect(StatusCode::OK);
        let path = format!("/v1/campaigns/{campaign}/forecast?agents=2&handle_time=5m&days=5");
        let f = app.get(&path, &lead).await;
        f.expect(StatusCode::OK);
        forecasts.push(f.body["days"].clone());
    }
    assert_eq!(forecasts[0], forecasts[1]);
}

async fn a_reactivated_agent_needs_a_new_token(app: TestApp) {
    let (id, old) = app.agent("returning", None).await;
    let lead = app.token("lead").await;
    let path = format!("/v1/agents/{id}");
    for active in [false, true] {
        app.call(
            Method::PATCH,
            &path,
            Some(&lead),
            json!({ "active": active }),
        )
        .await
        .expect(StatusCode::OK);
    }
    app.get("/v1/agents/me/stats", &old)
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "");
    let issued = app
        .post(&format!("/v1/agents/{id}/token"), &lead, Value::Null)
        .await;
    issued.expect(StatusCode::CREATED);
    let new = issued.body["token"].as_str().unwrap();
    app.get("/v1/agents/me/stats", new)
        .await
        .expect(StatusCode::OK);
}

async fn the_last_live_admin_token_cannot_be_revoked_and_an_expired_one_does_not_count(
    app: TestApp,
) {
    let tokens = app.get("/v1/tokens", app.admin()).await;
    let bootstrap = tokens.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["role"] == "admin")
        .unwrap()["id"]
        .clone();
    let soon = (helpers_start() + chrono::Duration::hours(1)).to_rfc3339();
    app.create(
        "/v1/tokens",
        json!({"role": "admin", "name": "short-lived admin", "expires_at": soon}),
    )
    .await;
    app.advance(2 * 3600);
    let r = app
        .call(
            Method::DELETE,
            &format!("/v1/tokens/{bootstrap}"),
            Some(app.admin()),
            Value::Null,
        )
        .await;
    r.expect_problem(StatusCode::CONFLICT, "");
    assert_eq!(r.body["code"], "last_admin", "{}", r.text);
    app.get("/v1/tokens", app.admin())
        .await
        .expect(StatusCode::OK);

    // With another live admin token, it may go.
    let other = app
        .create(
            "/v1/tokens",
            json!({"role": "admin", "name": "second admin"}),
        )
        .await;
    let other = other["token"].as_str().unwrap().to_owned();
    app.call(
        Method::DELETE,
        &format!("/v1/tokens/{bootstrap}"),
        Some(&other),
        Value::Null,
    )
    .await
    .expect(StatusCode::NO_CONTENT);
}

fn helpers_start() -> chrono::DateTime<chrono::Utc> {
    crate::helpers::start_instant()
}

crate::on_both_backends!(
    an_agent_who_skipped_twenty_contacts_within_an_hour_gets_no_more_until_the_oldest_skip_ages_out,
    a_supervisors_release_of_an_agents_call_does_not_count_against_the_agent,
    a_token_that_looks_up_more_than_sixty_phones_a_minute_waits_for_the_minute_to_pass,
    fifty_overlapping_windows_are_saved_as_one_and_forecast_as_one,
    a_reactivated_agent_needs_a_new_token,
    the_last_live_admin_token_cannot_be_revoked_and_an_expired_one_does_not_count,
);

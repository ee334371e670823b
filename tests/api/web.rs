//! The browser pages, driven in headless Chromium by Playwright (tests/web/e2e.mjs) against
//! the real server. Each test prepares data over HTTP, runs one browser scenario, then checks
//! through the API that what the browser did really happened.
//!
//! Needs Debian's `chromium` and `npm ci` in tests/web: scripts/test.sh installs both.

use std::{path::PathBuf, time::Duration};

use chrono::{Datelike, Duration as Days, Utc};
use chrono_tz::Asia::Shanghai;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN_SECRET, Backend, TestApp};

/// A server whose clock reads the real time (the browser counts leases down on its own
/// clock) and whose calling hours never close, so the tests pass at any hour.
pub async fn browser_app(backend: Backend) -> TestApp {
    let app = TestApp::start_with(backend, |c| {
        c.calling_hours = "00:00-24:00".parse().expect("all-day calling hours");
    })
    .await;
    app.clock.set(Utc::now());
    app
}

fn web_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/web")
}

/// Runs one scenario of tests/web/e2e.mjs and fails the test with its output if any check fails.
pub async fn scenario(app: &TestApp, name: &str, mut input: Value) {
    let dir = web_dir();
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run scripts/test.sh (it runs `npm ci` in tests/web)"
    );
    let chromium = std::env::var("OUTCALL_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: run scripts/test.sh (it installs Debian's chromium package)"
    );
    input["scenario"] = json!(name);
    input["base"] = json!(app.base);
    let mut node = tokio::process::Command::new("node");
    node.arg(dir.join("e2e.mjs"))
        .env("OUTCALL_E2E", input.to_string())
        .current_dir(&dir)
        .kill_on_drop(true);
    if let Ok(shots) = std::env::var("OUTCALL_SCREENSHOTS") {
        // Relative to the repository, like every other path the README names.
        node.env(
            "OUTCALL_SCREENSHOTS",
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(shots),
        );
    }
    let run = node.output();
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the browser scenario ends within 120 s")
        .expect("node runs");
    assert!(
        out.status.success(),
        "browser scenario {name} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn history(app: &TestApp, contact: i64) -> Vec<Value> {
    let r = app
        .get(&format!("/v1/contacts/{contact}"), ADMIN_SECRET)
        .await;
    r.expect(StatusCode::OK);
    r.body["history"].as_array().cloned().unwrap_or_default()
}

async fn contacts(app: &TestApp, campaign: i64) -> Vec<Value> {
    let r = app
        .get(
            &format!("/v1/campaigns/{campaign}/contacts?limit=1000"),
            ADMIN_SECRET,
        )
        .await;
    r.expect(StatusCode::OK);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

fn contact_id(list: &[Value], phone: &str) -> i64 {
    list.iter()
        .find(|c| c["phone"] == phone)
        .and_then(|c| c["id"].as_i64())
        .unwrap_or_else(|| panic!("{phone} is in the campaign"))
}

async fn an_agent_takes_a_call_sees_the_script_and_records_outcomes_in_the_browser(app: TestApp) {
    let (_, agent) = app.agent("王磊", None).await;
    let campaign = app
        .running_campaign(
            json!({}),
            "phone,name,plan,priority\n13800138000,王芳,全球通 88,90\n13900139000,李娜,5G 畅享,10\n",
        )
        .await;
    let notes = "客户同意升级 <b>5G</b> & 'quotes'";
    scenario(
        &app,
        "agent",
        json!({
            "agent_token": agent,
            "first": {"phone": "+8613800138000", "name": "王芳", "script": "您好王芳，全球通 88", "attribute": "全球通 88"},
            "second": {"phone": "+8613900139000"},
            "notes": notes,
        }),
    )
    .await;
    let list = contacts(&app, campaign).await;
    let first = history(&app, contact_id(&list, "+8613800138000")).await;
    assert_eq!(
        first.len(),
        1,
        "one outcome for the first contact: {first:?}"
    );
    assert_eq!(first[0]["disposition"], "accepted");
    assert_eq!(first[0]["notes"], notes, "notes are stored verbatim");
    let second = history(&app, contact_id(&list, "+8613900139000")).await;
    assert_eq!(
        second[0]["disposition"], "no_answer",
        "the keyboard shortcut 3 records no answer"
    );
}

async fn a_callback_picked_in_the_contacts_local_time_is_sent_with_its_offset(app: TestApp) {
    let (_, agent) = app.agent("agent", None).await;
    let campaign = app
        .running_campaign(json!({}), "phone,name\n13800138000,王芳\n")
        .await;
    let tomorrow = (Utc::now().with_timezone(&Shanghai) + Days::days(1)).date_naive();
    let local = format!("{}T10:00", tomorrow.format("%Y-%m-%d"));
    scenario(
        &app,
        "callback",
        json!({
            "agent_token": agent,
            "callback_local": local,
            // The browser runs in London: 10:00 in Shanghai is 02:00 there in winter.
            "callback_agent_time": "02:00",
        }),
    )
    .await;
    let list = contacts(&app, campaign).await;
    assert_eq!(list[0]["state"], "scheduled");
    let due = chrono::DateTime::parse_from_rfc3339(list[0]["next_attempt_at"].as_str().unwrap())
        .expect("next_attempt_at is RFC 3339");
    let wanted = tomorrow
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_local_timezone(Shanghai)
        .unwrap();
    assert_eq!(
        due, wanted,
        "the callback is due at 10:00 on the contact's clock"
    );
}

async fn a_lead_uploads_a_csv_in_the_browser_and_sees_the_report_with_its_invalid_rows(
    app: TestApp,
) {
    let lead = app.token("lead").await;
    let campaign = app.campaign(json!({})).await;
    let csv = "phone,name,timezone\n13800138000,王芳,\n12345,坏号码,\n13900139000,李娜,Mars/Olympus\n13700137000,张伟,\n13800138000,重复,\n";
    // What the API says about the same rows decides what the page must show.
    let reference = app.campaign(json!({})).await;
    let report = app.import_csv(reference, csv).await;
    report.expect(StatusCode::OK);
    let report = report.body.clone();
    assert_eq!(report["invalid"].as_array().map(Vec::len), Some(2));
    scenario(
        &app,
        "import",
        json!({"lead_token": lead, "campaign": campaign, "csv": csv, "report": report}),
    )
    .await;
    assert_eq!(
        contacts(&app, campaign).await.len(),
        2,
        "the good rows are in the campaign"
    );
}

async fn a_lead_creates_and_starts_a_campaign_in_the_browser_with_a_schedule_preview(app: TestApp) {
    let lead = app.token("lead").await;
    let offer = app.offer("5G-PLUS").await;
    app.script("您好{{ name }}").await;
    let name = "5G 升级 — <script>alert(1)</script>";
    scenario(
        &app,
        "campaign",
        json!({"lead_token": lead, "offer": offer, "name": name}),
    )
    .await;
    let list = app.get("/v1/campaigns", ADMIN_SECRET).await;
    let made = list.body["items"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["name"] == name).cloned())
        .expect("the campaign exists with its name verbatim");
    assert_eq!(made["status"], "active");
    assert_eq!(made["priority"], 70);
    assert_eq!(made["recurrence"], "0 0 9 1 * *");
    assert_eq!(made["offer"], offer);
    assert_eq!(made["calling_windows"].as_array().map(Vec::len), Some(2));
}

async fn a_lead_keeps_the_do_not_call_list_sets_targets_and_resolves_follow_ups_in_the_browser(
    app: TestApp,
) {
    let lead = app.token("lead").await;
    let (_, agent) = app.agent("agent", None).await;
    let campaign = app
        .running_campaign(json!({}), "phone,name\n13700137000,张伟\n")
        .await;
    let (call, _, _) = app.take(&agent).await;
    let complaint = "客户投诉：重复来电";
    app.outcome(
        &agent,
        call,
        json!({"disposition": "complaint", "notes": complaint}),
    )
    .await
    .expect(StatusCode::OK);
    let now = Utc::now().with_timezone(&Shanghai);
    let reason = "客户要求 <不再来电>";
    let resolution = "已致电道歉";
    scenario(
        &app,
        "console",
        json!({"lead_token": lead, "campaign": campaign, "reason": reason,
               "campaign_name": app.get(&format!("/v1/campaigns/{campaign}"), ADMIN_SECRET).await.body["name"],
               "period": format!("{}-{:02}", now.year(), now.month()),
               "complaint_notes": complaint, "resolution": resolution}),
    )
    .await;
    let listed = app.get("/v1/dnc?phone=13800138000", ADMIN_SECRET).await;
    assert_eq!(listed.body["items"][0]["reason"], reason);
    let removed = app.get("/v1/dnc?phone=13900139000", ADMIN_SECRET).await;
    assert_eq!(
        removed.body["items"],
        json!([]),
        "the second phone was removed again"
    );
    let targets = app.get("/v1/targets", ADMIN_SECRET).await;
    assert_eq!(targets.body["items"][0]["goal"], 20);
    let done = app.get("/v1/follow-ups?state=resolved", ADMIN_SECRET).await;
    assert_eq!(done.body["items"][0]["resolution"], resolution);
}

async fn the_dashboard_updates_live_when_another_agent_records_an_outcome(app: TestApp) {
    let viewer = app.token("viewer").await;
    let supervisor = app.token("supervisor").await;
    let (_, agent) = app.agent("赵敏", Some("north")).await;
    let campaign = app
        .running_campaign(
            json!({}),
            "phone,name\n13800138000,王芳\n13900139000,李娜\n",
        )
        .await;
    let now = Utc::now().with_timezone(&Shanghai);
    app.post(
        "/v1/targets",
        ADMIN_SECRET,
        json!({"scope": "campaign", "scope_id": campaign, "period": format!("{}-{:02}", now.year(), now.month()),
               "metric": "conversions", "goal": 10}),
    )
    .await
    .expect(StatusCode::CREATED);
    scenario(
        &app,
        "dashboard",
        json!({"viewer_token": viewer, "supervisor_token": supervisor, "agent_token": agent,
               "agent_name": "赵敏", "campaign": campaign}),
    )
    .await;
    let stats = app
        .get(&format!("/v1/stats/campaigns/{campaign}"), ADMIN_SECRET)
        .await;
    assert_eq!(stats.body["conversions"], 1);
}

async fn an_agent_pauses_for_a_reason_and_sees_its_wrap_up_in_the_browser(app: TestApp) {
    app.running_campaign(json!({"wrap_up": "10m"}), "phone\n13800138000\n")
        .await;
    app.create("/v1/pause-reasons", json!({"name": "coffee"}))
        .await;
    let (_, agent) = app.agent("agent", None).await;
    scenario(
        &app,
        "desk",
        json!({"agent_token": agent, "reason": "coffee"}),
    )
    .await;
}

/// The desk signs in (`ready`) only an agent that is signed out: opening it must not undo a
/// supervisor's pause.
async fn a_desk_opened_while_its_agent_is_paused_by_a_supervisor_keeps_the_pause(app: TestApp) {
    app.create("/v1/pause-reasons", json!({"name": "coaching"}))
        .await;
    let (agent_id, agent) = app.agent("agent", None).await;
    let supervisor = app.token("supervisor").await;
    let pause = json!({"state": "paused", "reason": "coaching"});
    app.post(&format!("/v1/agents/{agent_id}/state"), &supervisor, pause)
        .await
        .expect(StatusCode::OK);
    scenario(
        &app,
        "desk_keeps_pause",
        json!({"agent_token": agent, "reason": "coaching"}),
    )
    .await;
    let state = app.get("/v1/agents/me/state", &agent).await;
    state.expect(StatusCode::OK);
    assert_eq!(state.body["state"], "paused", "{}", state.body);
    assert_eq!(state.body["reason"], "coaching", "{}", state.body);
}

async fn a_supervisor_watches_the_floor_live_in_the_browser(app: TestApp) {
    let campaign = app
        .running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let campaign_name = app
        .get(&format!("/v1/campaigns/{campaign}"), app.admin())
        .await
        .body["name"]
        .clone();
    let supervisor = app.token("supervisor").await;
    let (agent_id, agent) = app.agent("钱坤", Some("north")).await;
    let (paused_id, paused) = app.agent("孙丽", Some("south")).await;
    app.post(
        "/v1/agents/me/state",
        &paused,
        json!({"state": "paused", "reason": "培训"}),
    )
    .await
    .expect(StatusCode::OK);
    scenario(
        &app,
        "floor",
        json!({"supervisor_token": supervisor, "agent_token": agent, "agent": agent_id,
               "paused_agent": paused_id, "reason": "培训", "team": "north",
               "phone": "13800138000", "campaign": campaign, "campaign_name": campaign_name}),
    )
    .await;
    // What the supervisor did from the page really happened, and is audited.
    let floor = app.get("/v1/floor", &supervisor).await.body;
    let state_of = |id: i64| {
        floor["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["agent"] == id)
            .map(|a| a["state"].clone())
            .unwrap()
    };
    assert_eq!(state_of(agent_id), "paused", "{floor}");
    assert_eq!(state_of(paused_id), "offline", "{floor}");
    let audit = app.get("/v1/audit?limit=100", app.admin()).await;
    assert!(audit.text.contains("release"), "{}", audit.text);
}

/// Two days from now in Shanghai, and a calling window open on that weekday only: closed now
/// at any hour of the test, opening at that day's midnight.
fn a_window_on_a_later_day() -> (chrono::NaiveDate, Value) {
    let day = (Utc::now().with_timezone(&Shanghai) + Days::days(2)).date_naive();
    let weekday = day.format("%a").to_string().to_lowercase();
    (
        day,
        json!([{"days": [weekday], "start": "00:00", "end": "24:00"}]),
    )
}

async fn a_lead_sees_why_a_campaign_is_not_dialing_its_forecast_and_why_a_contact_is_not_called(
    app: TestApp,
) {
    let lead = app.token("lead").await;
    // Someone to call them once the window opens.
    app.agent("agent", None).await;
    let (_, windows) = a_window_on_a_later_day();
    let end_at = (Utc::now() + Days::days(20)).to_rfc3339();
    // The client's script reads attributes.plan, which these contacts lack: a warning.
    let campaign = app
        .running_campaign(
            json!({"calling_windows": windows, "end_at": end_at}),
            "phone,name\n13800138000,王芳\n13900139000,李娜\n13700137000,张伟\n",
        )
        .await;
    app.post(
        "/v1/dnc",
        ADMIN_SECRET,
        json!({"phone": "13900139000", "reason": "客户要求"}),
    )
    .await
    .expect(StatusCode::CREATED);
    let draft = app.campaign(json!({})).await;
    app.import_csv(draft, "phone\n13600136000\n")
        .await
        .expect(StatusCode::OK);

    // What the API says decides what the page must show.
    let view = app.get(&format!("/v1/campaigns/{campaign}"), &lead).await;
    view.expect(StatusCode::OK);
    let warnings = view.body["warnings"].clone();
    assert_eq!(warnings[0]["code"], "script_field_missing", "{warnings}");
    let funnel = app
        .get(&format!("/v1/campaigns/{campaign}/eligibility"), &lead)
        .await;
    funnel.expect(StatusCode::OK);
    assert_eq!(funnel.body["callable_now"], 0, "{}", funnel.text);
    assert!(
        funnel.body["blocked"]["outside_campaign_window"].as_i64() > Some(0),
        "{}",
        funnel.text
    );
    let defaults = app
        .get(&format!("/v1/campaigns/{campaign}/forecast"), &lead)
        .await;
    defaults.expect(StatusCode::OK);
    let forecast = app
        .get(
            &format!("/v1/campaigns/{campaign}/forecast?agents=2&handle_time=120"),
            &lead,
        )
        .await;
    forecast.expect(StatusCode::OK);
    assert!(
        forecast.body["exhausted_on"].is_string(),
        "the list runs out within the days forecast: {}",
        forecast.text
    );
    assert!(
        forecast.body["agents_needed_to_finish_by_end"].is_u64(),
        "{}",
        forecast.text
    );
    let name = view.body["name"].clone();
    scenario(
        &app,
        "insight",
        json!({"lead_token": lead, "campaign": campaign, "campaign_name": name, "draft": draft,
               "warnings": warnings, "funnel": funnel.body,
               "default_agents": defaults.body["assumptions"]["agents"],
               "agents": 2, "handle_time": 120, "forecast": forecast.body,
               "dnc_phone": "139 0013 9000", "window_phone": "+86 138-0013-8000",
               "unknown_phone": "13500135000"}),
    )
    .await;
    // Looking is not touching: nothing was handed out or changed.
    let after = app
        .get(&format!("/v1/campaigns/{campaign}/eligibility"), &lead)
        .await;
    assert_eq!(after.body["blocked"], funnel.body["blocked"]);
    assert_eq!(app.campaign_status(draft).await, "draft");
}

async fn an_agent_with_nothing_callable_now_is_told_when_the_next_call_comes_and_why(app: TestApp) {
    let (day, windows) = a_window_on_a_later_day();
    app.running_campaign(json!({"calling_windows": windows}), "phone\n13800138000\n")
        .await;
    let (_, agent) = app.agent("agent", None).await;
    let outlook = app.get("/v1/agents/me/outlook", &agent).await;
    outlook.expect(StatusCode::OK);
    assert_eq!(
        outlook.body["reason"], "outside_campaign_window",
        "{}",
        outlook.text
    );
    scenario(
        &app,
        "outlook",
        json!({"agent_token": agent, "day_en": day.format("%a").to_string()}),
    )
    .await;
    let state = app.get("/v1/agents/me/state", &agent).await;
    assert_eq!(
        state.body["state"], "ready",
        "still waiting for a call: {}",
        state.text
    );
}

async fn the_language_follows_the_browser_and_the_switch_sticks(app: TestApp) {
    let (_, agent) = app.agent("agent", None).await;
    scenario(&app, "language", json!({"agent_token": agent})).await;
}

async fn the_pages_are_served_from_the_binary_with_a_strict_content_security_policy(app: TestApp) {
    for page in ["/app/agent", "/app/lead", "/app/dashboard", "/app/floor"] {
        let r = app.call(Method::GET, page, None, Value::Null).await;
        r.expect(StatusCode::OK);
        assert!(r.content_type.starts_with("text/html"), "{page} is HTML");
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert!(
            !r.text.contains("https://"),
            "{page} loads nothing from the internet"
        );
    }
    let js = app
        .call(
            Method::GET,
            "/app/assets/vendor/uPlot.iife.min.js",
            None,
            Value::Null,
        )
        .await;
    js.expect(StatusCode::OK);
    assert!(js.content_type.starts_with("text/javascript"));
    for missing in [
        "/app/nope",
        "/app/assets/nope.js",
        "/app/assets/../Cargo.toml",
    ] {
        let r = app.call(Method::GET, missing, None, Value::Null).await;
        r.expect(StatusCode::NOT_FOUND);
        assert!(
            r.content_type.starts_with("application/problem+json"),
            "{missing}"
        );
    }
}

async fn an_admin_makes_agents_tokens_and_pause_reasons_from_the_console_without_curl(
    app: TestApp,
) {
    scenario(&app, "people", json!({"admin_token": ADMIN_SECRET})).await;
    let agents = app.get("/v1/agents", app.admin()).await.body;
    let agent = agents["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "张伟")
        .cloned()
        .expect("the agent made in the browser");
    assert_eq!(agent["team"], "深圳二组", "{agent}");
    let audit = app.get("/v1/audit?limit=100", app.admin()).await;
    assert!(audit.text.contains("张伟"), "{}", audit.text);
    let reasons = app.get("/v1/pause-reasons", app.admin()).await;
    assert!(reasons.text.contains("辅导"), "{}", reasons.text);
}

crate::on_both_backends!(
    start = super::browser_app;
    an_admin_makes_agents_tokens_and_pause_reasons_from_the_console_without_curl,
    an_agent_takes_a_call_sees_the_script_and_records_outcomes_in_the_browser,
    a_callback_picked_in_the_contacts_local_time_is_sent_with_its_offset,
    a_lead_uploads_a_csv_in_the_browser_and_sees_the_report_with_its_invalid_rows,
    a_lead_creates_and_starts_a_campaign_in_the_browser_with_a_schedule_preview,
    a_lead_keeps_the_do_not_call_list_sets_targets_and_resolves_follow_ups_in_the_browser,
    the_dashboard_updates_live_when_another_agent_records_an_outcome,
    a_supervisor_watches_the_floor_live_in_the_browser,
    an_agent_pauses_for_a_reason_and_sees_its_wrap_up_in_the_browser,
    a_desk_opened_while_its_agent_is_paused_by_a_supervisor_keeps_the_pause,
    the_language_follows_the_browser_and_the_switch_sticks,
    a_lead_sees_why_a_campaign_is_not_dialing_its_forecast_and_why_a_contact_is_not_called,
    an_agent_with_nothing_callable_now_is_told_when_the_next_call_comes_and_why,
    the_pages_are_served_from_the_binary_with_a_strict_content_security_policy,
);

//! Stats equal the ground truth, targets keep pace, events reach dashboards, exports round-trip.

use std::{collections::BTreeMap, time::Duration};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

/// Records a mix of outcomes (with a replay and an expired lease) and returns the truth:
/// (agent id, disposition) for every outcome that really happened.
async fn record_mix(app: &TestApp, campaign: i64) -> Vec<(i64, String)> {
    let mut csv = String::from("phone\n");
    // Eleven contacts: ten for the mix, the last for the expired lease.
    for i in 0..11 {
        csv.push_str(&format!("1380000{i:04}\n"));
    }
    app.import_csv(campaign, &csv).await.expect(StatusCode::OK);
    app.start_campaign(campaign).await;
    let (a_id, a) = app.agent("甲", Some("north")).await;
    let (b_id, b) = app.agent("乙", Some("south")).await;
    let plan = [
        "accepted",
        "declined",
        "no_answer",
        "busy",
        "accepted",
        "voicemail",
        "wrong_number",
        "do_not_call",
        "complaint",
        "accepted",
    ];
    let mut truth = vec![];
    for (i, disposition) in plan.iter().enumerate() {
        let (id, token) = if i % 2 == 0 { (a_id, &a) } else { (b_id, &b) };
        let (call, _, _) = app.take(token).await;
        let path = format!("/v1/calls/{call}/outcome");
        let send = || {
            app.send(
                app.request(Method::POST, &path, Some(token))
                    .header("Idempotency-Key", format!("k-{i}"))
                    .json(&json!({"disposition": disposition})),
            )
        };
        assert_eq!(send().await.status, StatusCode::OK);
        // Every second outcome is retried: it must not count twice.
        if i % 2 == 1 {
            assert_eq!(send().await.status, StatusCode::OK);
        }
        truth.push((id, disposition.to_string()));
    }
    // An expired lease is no outcome; the next holder's is.
    let (lost, _, _) = app.take(&a).await;
    app.advance(16 * 60);
    let (call, _, _) = app.take(&b).await;
    app.outcome(&a, lost, json!({"disposition": "accepted"}))
        .await
        .expect_problem(StatusCode::CONFLICT, "");
    app.outcome(&b, call, json!({"disposition": "accepted"}))
        .await
        .expect(StatusCode::OK);
    truth.push((b_id, "accepted".into()));
    truth
}

fn reached(d: &str) -> bool {
    [
        "accepted",
        "declined",
        "callback",
        "do_not_call",
        "complaint",
    ]
    .contains(&d)
}

async fn campaign_stats_equal_the_ground_truth(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let truth = record_mix(&app, campaign).await;
    let viewer = app.token("viewer").await;
    let s = app
        .get(&format!("/v1/stats/campaigns/{campaign}"), &viewer)
        .await;
    s.expect(StatusCode::OK);
    let attempts = truth.len() as i64;
    let reach = truth.iter().filter(|(_, d)| reached(d)).count() as i64;
    let conversions = truth.iter().filter(|(_, d)| d == "accepted").count() as i64;
    assert_eq!(s.body["attempts"], attempts, "{}", s.text);
    assert_eq!(s.body["reached"], reach);
    assert_eq!(s.body["conversions"], conversions);
    assert!(
        (s.body["contact_rate"].as_f64().unwrap() - reach as f64 / attempts as f64).abs() < 1e-9
    );
    assert!(
        (s.body["conversion_rate"].as_f64().unwrap() - conversions as f64 / attempts as f64).abs()
            < 1e-9
    );
    let mut by_d: BTreeMap<String, i64> = BTreeMap::new();
    for (_, d) in &truth {
        *by_d.entry(d.clone()).or_default() += 1;
    }
    assert_eq!(
        s.body["by_disposition"],
        serde_json::to_value(&by_d).unwrap()
    );
    for agent in s.body["by_agent"].as_array().unwrap() {
        let id = agent["agent"].as_i64().unwrap();
        let mine: Vec<_> = truth.iter().filter(|(a, _)| *a == id).collect();
        assert_eq!(agent["attempts"], mine.len() as i64);
        assert_eq!(
            agent["conversions"],
            mine.iter().filter(|(_, d)| d == "accepted").count() as i64
        );
    }
    assert_eq!(
        s.body["contacts"]["ready"].as_i64().unwrap_or(0)
            + s.body["contacts"]["scheduled"].as_i64().unwrap_or(0)
            + s.body["contacts"]["done"].as_i64().unwrap_or(0)
            + s.body["contacts"]["suppressed"].as_i64().unwrap_or(0)
            + s.body["contacts"]["exhausted"].as_i64().unwrap_or(0),
        11
    );
    // The same truth through the range endpoints.
    let offers = app.get("/v1/stats/offers", &viewer).await;
    assert_eq!(offers.body["items"][0]["attempts"], attempts);
    assert_eq!(offers.body["items"][0]["conversions"], conversions);
    let agents = app.get("/v1/stats/agents", &viewer).await;
    let sum: i64 = agents.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["attempts"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, attempts);
    let series = app
        .get(
            &format!("/v1/stats/timeseries?campaign={campaign}&bucket=hour"),
            &viewer,
        )
        .await;
    series.expect(StatusCode::OK);
    let sum: i64 = series.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["attempts"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, attempts);
    assert_eq!(series.body["items"][0]["at"], "2026-11-25T10:00:00+08:00");
    let days = app
        .get(
            &format!("/v1/stats/timeseries?campaign={campaign}&bucket=day&timezone=Europe/London"),
            &viewer,
        )
        .await;
    assert_eq!(days.body["items"][0]["at"], "2026-11-25T00:00:00+00:00");
    app.get("/v1/stats/timeseries?bucket=week", &viewer)
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "bucket");
    app.get("/v1/stats/offers?from=yesterday", &viewer)
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "from");
}

async fn targets_show_goal_actual_gap_and_pace(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let truth = record_mix(&app, campaign).await;
    let conversions = truth.iter().filter(|(_, d)| d == "accepted").count() as i64;
    let lead = app.token("lead").await;
    let t = app.post("/v1/targets", &lead, json!({"scope": "campaign", "scope_id": campaign, "period": "2026-11", "metric": "conversions", "goal": 100})).await;
    t.expect(StatusCode::CREATED);
    // 2026-11-25 10:16 in Shanghai: 24 days, 10 h 16 min of a 30-day month.
    let elapsed = (24.0 * 24.0 * 60.0 + 10.0 * 60.0 + 16.0) / (30.0 * 24.0 * 60.0);
    let expected = (100.0 * elapsed * 100.0_f64).round() / 100.0;
    assert_eq!(t.body["goal"], 100);
    assert_eq!(t.body["actual"], conversions);
    assert_eq!(t.body["gap"], 100 - conversions);
    assert!(
        (t.body["expected_by_now"].as_f64().unwrap() - expected).abs() < 0.011,
        "{}",
        t.text
    );
    assert_eq!(t.body["on_track"], false);
    let s = app
        .get(&format!("/v1/stats/campaigns/{campaign}"), &lead)
        .await;
    assert_eq!(s.body["target"]["goal"], 100);
    let id = t.body["id"].as_i64().unwrap();
    let patched = app
        .call(
            Method::PATCH,
            &format!("/v1/targets/{id}"),
            Some(&lead),
            json!({"goal": 4}),
        )
        .await;
    assert_eq!(patched.body["on_track"], true);
    assert_eq!(patched.body["gap"], 0);
    app.post("/v1/targets", &lead, json!({"scope": "campaign", "scope_id": campaign, "period": "2026-11", "metric": "conversions", "goal": 5}))
        .await
        .expect_problem(StatusCode::CONFLICT, "");
    // The agent sees their own and their team's targets with today's numbers.
    let (agent_id, agent) = app.agent("丙", Some("north")).await;
    app.post("/v1/targets", &lead, json!({"scope": "agent", "scope_id": agent_id, "period": "2026-Q4", "metric": "attempts", "goal": 50})).await.expect(StatusCode::CREATED);
    app.post("/v1/targets", &lead, json!({"scope": "team", "scope_id": "north", "period": "2026", "metric": "reached", "goal": 1000})).await.expect(StatusCode::CREATED);
    let me = app.get("/v1/agents/me/stats", &agent).await;
    me.expect(StatusCode::OK);
    assert_eq!(me.body["date"], "2026-11-25");
    assert_eq!(me.body["attempts"], 0);
    let targets = me.body["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    let team = targets.iter().find(|t| t["scope"] == "team").unwrap();
    let north_reached = truth
        .iter()
        .enumerate()
        .filter(|(i, (_, d))| i % 2 == 0 && *i < 10 && reached(d))
        .count() as i64;
    assert_eq!(
        team["actual"], north_reached,
        "team north's reached outcomes"
    );
    for (body, field) in [
        (
            json!({"scope": "planet", "scope_id": "x", "period": "2026-11", "metric": "conversions", "goal": 1}),
            "scope",
        ),
        (
            json!({"scope": "campaign", "scope_id": 987654, "period": "2026-11", "metric": "conversions", "goal": 1}),
            "scope_id",
        ),
        (
            json!({"scope": "campaign", "scope_id": campaign, "period": "2026-13", "metric": "conversions", "goal": 1}),
            "period",
        ),
        (
            json!({"scope": "campaign", "scope_id": campaign, "period": "2026-11", "metric": "revenue", "goal": 1}),
            "metric",
        ),
        (
            json!({"scope": "campaign", "scope_id": campaign, "period": "2026-11", "metric": "conversions", "goal": 0}),
            "goal",
        ),
    ] {
        app.post("/v1/targets", &lead, body)
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    app.call(
        Method::DELETE,
        &format!("/v1/targets/{id}"),
        Some(&lead),
        Value::Null,
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    app.call(
        Method::DELETE,
        &format!("/v1/targets/{id}"),
        Some(&lead),
        Value::Null,
    )
    .await
    .expect_problem(StatusCode::NOT_FOUND, "");
}

async fn the_outcome_export_round_trips(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let truth = record_mix(&app, campaign).await;
    let r = app
        .get(
            &format!("/v1/campaigns/{campaign}/outcomes.csv"),
            app.admin(),
        )
        .await;
    r.expect(StatusCode::OK);
    assert!(r.content_type.starts_with("text/csv"));
    let mut reader = csv::Reader::from_reader(r.text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        vec![
            "at",
            "contact_id",
            "phone",
            "name",
            "agent_id",
            "agent",
            "disposition",
            "notes",
            "script_version",
            "handle_seconds",
            "talk_seconds"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), truth.len());
    for (row, (agent, disposition)) in rows.iter().zip(&truth) {
        assert_eq!(&row[4], agent.to_string());
        assert_eq!(&row[6], disposition.as_str());
        assert_eq!(&row[8], "1");
        assert_eq!(
            (&row[9], &row[10]),
            ("0", ""),
            "taken and recorded at once, no talk time"
        );
        // The contract's formula guard: E.164 starts with `+`, so a phone is written `'+86…`.
        assert!(row[2].starts_with("'+86"), "{}", &row[2]);
    }
    let none = app
        .get(
            &format!("/v1/campaigns/{campaign}/outcomes.csv?to=2026-11-01T00:00:00%2B08:00"),
            app.admin(),
        )
        .await;
    assert_eq!(
        none.text.lines().count(),
        1,
        "only the header before any outcome"
    );
    app.get(
        &format!("/v1/campaigns/{campaign}/outcomes.csv?from=nope"),
        app.admin(),
    )
    .await
    .expect_problem(StatusCode::BAD_REQUEST, "from");
}

async fn exported_cells_a_spreadsheet_would_read_as_formulas_start_with_a_quote(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let formula = r#"=HYPERLINK("http://x","y")"#;
    let csv = format!(
        "phone,name\n13800000001,\"{}\"\n13800000002,王芳\n13800000003,王芳\n\
         13800000004,王芳\n13800000005,王芳\n13800000006,王芳\n",
        formula.replace('"', "\"\"")
    );
    app.import_csv(campaign, csv).await.expect(StatusCode::OK);
    app.start_campaign(campaign).await;
    let (_, agent) = app.agent("@夜班", None).await;
    let notes = [
        "+1 called back",
        "-5 minutes late",
        "@team call again",
        "\tindented",
        "\rreturned",
        "ordinary = text, not -a formula",
    ];
    let mut by_phone = BTreeMap::new();
    for note in notes {
        let (call, phone, _) = app.take(&agent).await;
        app.outcome(
            &agent,
            call,
            json!({"disposition": "declined", "notes": note}),
        )
        .await
        .expect(StatusCode::OK);
        by_phone.insert(phone, note);
    }
    let r = app
        .get(
            &format!("/v1/campaigns/{campaign}/outcomes.csv"),
            app.admin(),
        )
        .await;
    r.expect(StatusCode::OK);
    let mut reader = csv::Reader::from_reader(r.text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), notes.len());
    for row in &rows {
        let phone = row[2]
            .strip_prefix('\'')
            .expect("the phone starts with a quote");
        let note = by_phone[phone];
        let expected_note = if note.starts_with("ordinary") {
            note.to_owned()
        } else {
            format!("'{note}")
        };
        assert_eq!(&row[7], expected_note, "notes of {phone}");
        let expected_name = if phone == "+8613800000001" {
            format!("'{formula}")
        } else {
            "王芳".to_owned()
        };
        assert_eq!(&row[3], expected_name, "name of {phone}");
        assert_eq!(&row[5], "'@夜班", "the agent's name");
        assert_eq!(&row[6], "declined", "ordinary text is unchanged");
        assert!(row[0].starts_with("2026-11-25T"), "times are unchanged");
    }
}

/// Reads SSE events from a response until `n` arrived or the deadline passes.
pub async fn read_events(
    response: reqwest::Response,
    n: usize,
    secs: u64,
) -> Vec<(i64, String, Value)> {
    read_events_of(response, &[], n, secs).await
}

/// Like [`read_events`], keeping only events of `kinds` (every kind when empty): the floor's
/// `agent` and `call` events come between the outcomes and campaign changes a dashboard reads.
pub async fn read_events_of(
    mut response: reqwest::Response,
    kinds: &[&str],
    n: usize,
    secs: u64,
) -> Vec<(i64, String, Value)> {
    let mut out = vec![];
    let mut buf = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while out.len() < n {
        let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(c))) => c,
            _ => break,
        };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut id, mut kind, mut data) = (0, String::new(), Value::Null);
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().unwrap_or(0);
                } else if let Some(v) = line.strip_prefix("event:") {
                    kind = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = serde_json::from_str(v.trim()).unwrap_or(Value::Null);
                }
            }
            if id > 0 && (kinds.is_empty() || kinds.contains(&kind.as_str())) {
                out.push((id, kind, data));
            }
        }
    }
    out
}

/// The kinds a dashboard reads.
const DASHBOARD: &[&str] = &["campaign", "outcome"];

async fn events_stream_live_and_replay_after_last_event_id(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    app.import_csv(campaign, "phone\n13800138000\n13800138001\n")
        .await;
    let viewer = app.token("viewer").await;
    let live = app
        .request(Method::GET, "/v1/events", Some(&viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    assert!(
        live.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    app.start_campaign(campaign).await;
    let (_, agent) = app.agent("丁", None).await;
    let (call, _, _) = app.take(&agent).await;
    app.outcome(&agent, call, json!({"disposition": "accepted"}))
        .await
        .expect(StatusCode::OK);
    let events = read_events_of(live, DASHBOARD, 2, 10).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].1, "campaign");
    assert_eq!(events[0].2["status"], "active");
    assert_eq!(events[1].1, "outcome");
    assert_eq!(events[1].2["disposition"], "accepted");
    assert_eq!(events[1].2["campaign"], campaign);
    assert!(
        !events[1].2.to_string().contains("13800138"),
        "never a phone number"
    );
    // Reconnect after the first: the second is replayed.
    let replay = app
        .request(Method::GET, "/v1/events", Some(&viewer))
        .header("Last-Event-ID", events[0].0.to_string())
        .send()
        .await
        .unwrap();
    let again = read_events_of(replay, DASHBOARD, 1, 5).await;
    assert_eq!(again[0].0, events[1].0);
    let (_, agent_token) = app.agent("戊", None).await;
    app.get("/v1/events", &agent_token)
        .await
        .expect_problem(StatusCode::FORBIDDEN, "");
}

crate::on_both_backends!(
    campaign_stats_equal_the_ground_truth,
    targets_show_goal_actual_gap_and_pace,
    the_outcome_export_round_trips,
    exported_cells_a_spreadsheet_would_read_as_formulas_start_with_a_quote,
    events_stream_live_and_replay_after_last_event_id,
);

mod two_postgres {
    use super::*;

    /// A dashboard connected to one process sees an outcome recorded through another.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn an_sse_client_receives_an_event_produced_through_another_process() {
        let first = TestApp::start(Backend::Postgres).await;
        let second = first.another_process().await;
        let campaign = first.campaign(json!({})).await;
        first.import_csv(campaign, "phone\n13800138000\n").await;
        first.start_campaign(campaign).await;
        let viewer = first.token("viewer").await;
        let live = first
            .with_base(format!("http://{}", second.addr))
            .request(Method::GET, "/v1/events", Some(&viewer))
            .send()
            .await
            .unwrap();
        let (_, agent) = first.agent("己", None).await;
        let (call, _, _) = first.take(&agent).await;
        first
            .outcome(&agent, call, json!({"disposition": "declined"}))
            .await
            .expect(StatusCode::OK);
        let started = std::time::Instant::now();
        let events = read_events_of(live, &["outcome"], 1, 10).await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].2["disposition"], "declined");
        assert!(started.elapsed() < Duration::from_secs(5));
        second.shutdown.cancel();
        second.stopped().await.unwrap();
    }
}

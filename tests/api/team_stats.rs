//! Figures per agent and per team, in JSON and CSV: pause time by reason next to `paused_s`,
//! a team's handle time, pauses and occupancy from its agents' kept figures, and each call's
//! handle and talk time in the outcome export.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn by_agent(page: &Value, id: i64) -> &Value {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent"] == id)
        .unwrap_or_else(|| panic!("agent {id} is listed: {page}"))
}

/// Agents `a` and `b` of team north and `c` of none, all signed in at 0 s: `a` is on a call
/// 0–60 s (talk 45 s) then paused for a break 180–280 s and for `=lunch` 280–480 s; `b` on a
/// call 60–180 s then paused for a break 180–230 s; `c` on a call 480–510 s. No wrap-up.
async fn a_floor_with_pauses(app: &TestApp) -> (i64, i64, i64) {
    app.running_campaign(
        json!({"wrap_up": "0s"}),
        "phone\n13800138000\n13800138001\n13800138002\n",
    )
    .await;
    for reason in ["break", "=lunch"] {
        app.create("/v1/pause-reasons", json!({"name": reason}))
            .await;
    }
    let (a_id, a) = app.agent("a", Some("north")).await;
    let (b_id, b) = app.agent("b", Some("north")).await;
    let (c_id, c) = app.agent("c", None).await;
    let state = |token: &str, body: Value| {
        let token = token.to_owned();
        async move {
            app.post("/v1/agents/me/state", &token, body)
                .await
                .expect(StatusCode::OK);
        }
    };
    let (call, _, _) = app.take(&a).await;
    app.advance(60);
    let done = json!({"disposition": "accepted", "talk_seconds": 45});
    app.outcome(&a, call, done).await.expect(StatusCode::OK);
    let (call, _, _) = app.take(&b).await;
    app.advance(120);
    let done = json!({"disposition": "declined"});
    app.outcome(&b, call, done).await.expect(StatusCode::OK);
    state(&a, json!({"state": "paused", "reason": "break"})).await;
    state(&b, json!({"state": "paused", "reason": "break"})).await;
    app.advance(50);
    state(&b, json!({"state": "ready"})).await;
    app.advance(50);
    state(&a, json!({"state": "paused", "reason": "=lunch"})).await;
    app.advance(200);
    state(&a, json!({"state": "ready"})).await;
    let (call, _, _) = app.take(&c).await;
    app.advance(30);
    let done = json!({"disposition": "no_answer"});
    app.outcome(&c, call, done).await.expect(StatusCode::OK);
    (a_id, b_id, c_id)
}

async fn pause_time_by_reason_and_team_figures_show_in_the_stats_and_their_csv(app: TestApp) {
    let (a, b, c) = a_floor_with_pauses(&app).await;
    let viewer = app.token("viewer").await;

    let agents = app.get("/v1/stats/agents", &viewer).await;
    agents.expect(StatusCode::OK);
    let first = by_agent(&agents.body, a);
    assert_eq!(first["paused_s"], 300, "{first}");
    assert_eq!(
        first["paused_by_reason"],
        json!({"break": 100, "=lunch": 200})
    );
    assert_eq!(first["occupancy"], 0.333, "60 s on a call, 120 s ready");
    assert_eq!(
        by_agent(&agents.body, b)["paused_by_reason"],
        json!({"break": 50})
    );
    assert_eq!(by_agent(&agents.body, c)["paused_by_reason"], json!({}));

    let teams = app.get("/v1/stats/teams", &viewer).await;
    teams.expect(StatusCode::OK);
    let items = teams.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{}", teams.text);
    let north = &items[0];
    assert_eq!(north["team"], "north");
    assert_eq!(north["agents"], 2);
    assert_eq!(
        (&north["attempts"], &north["reached"], &north["conversions"]),
        (&json!(2), &json!(2), &json!(1))
    );
    assert_eq!(north["handle_time_avg_s"], 90.0, "(60 + 120) / 2: {north}");
    assert_eq!(north["talk_time_avg_s"], 45.0, "{north}");
    assert_eq!(north["paused_s"], 350, "{north}");
    assert_eq!(
        north["paused_by_reason"],
        json!({"break": 150, "=lunch": 200})
    );
    assert_eq!(
        north["occupancy"], 0.5,
        "180 s on calls, 180 s ready: {north}"
    );
    let none = &items[1];
    assert_eq!(none["team"], Value::Null);
    assert_eq!((&none["agents"], &none["attempts"]), (&json!(1), &json!(1)));
    assert_eq!(none["handle_time_avg_s"], 30.0, "{none}");

    let csv = app.get("/v1/stats/agents.csv", &viewer).await;
    csv.expect(StatusCode::OK);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(
        lines[0],
        "agent_id,agent,team,attempts,reached,conversions,contact_rate,conversion_rate,\
         handle_time_avg_s,talk_time_avg_s,wrap_up_avg_s,paused_s,paused_s:=lunch,\
         paused_s:break,occupancy"
    );
    assert!(
        lines.contains(&format!("{a},a,north,1,1,1,1,1,60,45,0,300,200,100,0.333").as_str()),
        "{}",
        csv.text
    );
    let csv = app.get("/v1/stats/teams.csv", &viewer).await;
    csv.expect(StatusCode::OK);
    let lines: Vec<&str> = csv.text.lines().collect();
    assert!(
        lines[0].starts_with("team,agents,attempts,"),
        "{}",
        csv.text
    );
    assert_eq!(lines[1], "north,2,2,2,1,1,0.5,90,45,0,350,200,150,0.5");
    assert!(lines[2].starts_with(",1,1,"), "{}", csv.text);
}

/// A team or reason a spreadsheet would read as a formula is written with a leading `'`, and
/// bad ranges are refused naming the field, as for the JSON.
async fn the_stats_csv_is_spreadsheet_safe_and_checks_its_range(app: TestApp) {
    app.running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (_, agent) = app.agent("=cmd", Some("+north")).await;
    let (call, _, _) = app.take(&agent).await;
    app.advance(5);
    app.outcome(&agent, call, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
    let viewer = app.token("viewer").await;
    let csv = app.get("/v1/stats/agents.csv", &viewer).await;
    assert!(csv.text.contains(",'=cmd,'+north,"), "{}", csv.text);
    let csv = app.get("/v1/stats/teams.csv", &viewer).await;
    assert!(
        csv.text.lines().nth(1).unwrap().starts_with("'+north,1,"),
        "{}",
        csv.text
    );
    for path in [
        "/v1/stats/agents.csv",
        "/v1/stats/teams.csv",
        "/v1/stats/teams",
    ] {
        app.get(&format!("{path}?from=nope"), &viewer)
            .await
            .expect_problem(StatusCode::BAD_REQUEST, "from");
    }
}

async fn the_outcome_export_carries_each_calls_handle_and_talk_seconds(app: TestApp) {
    let campaign = app
        .running_campaign(json!({"lease": "5m"}), "phone\n13800138000\n13800138001\n")
        .await;
    let (_, agent) = app.agent("agent", None).await;
    let (call, _, _) = app.take(&agent).await;
    app.advance(75);
    let done = json!({"disposition": "accepted", "talk_seconds": 50});
    app.outcome(&agent, call, done).await.expect(StatusCode::OK);
    let (call, _, _) = app.take(&agent).await;
    app.advance(12);
    let done = json!({"disposition": "no_answer"});
    app.outcome(&agent, call, done).await.expect(StatusCode::OK);
    let lead = app.token("lead").await;
    let r = app
        .get(&format!("/v1/campaigns/{campaign}/outcomes.csv"), &lead)
        .await;
    r.expect(StatusCode::OK);
    let mut reader = csv::Reader::from_reader(r.text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (handle, talk) = (at("handle_seconds"), at("talk_seconds"));
    let rows: Vec<(String, String)> = reader
        .records()
        .map(|r| r.unwrap())
        .map(|r| (r[handle].to_owned(), r[talk].to_owned()))
        .collect();
    assert_eq!(
        rows,
        vec![("75".into(), "50".into()), ("12".into(), String::new())]
    );
}

crate::on_both_backends!(
    pause_time_by_reason_and_team_figures_show_in_the_stats_and_their_csv,
    the_stats_csv_is_spreadsheet_safe_and_checks_its_range,
    the_outcome_export_carries_each_calls_handle_and_talk_seconds,
);

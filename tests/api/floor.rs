//! The live floor: every active agent with its state since when, the call it holds and today's
//! numbers, for supervisors and leads; and the live stream's `agent` and `call` events, which
//! never carry a phone number.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, db_rows, open_events},
    stats::{read_events, read_events_of},
};

fn agent<'a>(floor: &'a Value, name: &str) -> &'a Value {
    floor["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("{name} is on the floor: {floor}"))
}

async fn the_floor_shows_each_agent_its_state_its_call_and_todays_numbers(app: TestApp) {
    app.running_campaign(
        json!({"wrap_up": "30s"}),
        "phone\n13800138000\n13800138001\n13800138002\n",
    )
    .await;
    let (_, busy) = app.agent("busy", Some("north")).await;
    let (_, done) = app.agent("done", Some("south")).await;
    let (_, away) = app.agent("away", Some("north")).await;
    let supervisor = app.token("supervisor").await;
    let (held, _, _) = app.take(&busy).await;
    let (call, _, _) = app.take(&done).await;
    app.advance(90);
    app.outcome(&done, call, json!({"disposition": "accepted"}))
        .await
        .expect(StatusCode::OK);
    app.post(
        "/v1/agents/me/state",
        &done,
        json!({"state": "paused", "reason": "午餐"}),
    )
    .await
    .expect(StatusCode::OK);
    app.post("/v1/agents/me/state", &away, json!({"state": "offline"}))
        .await
        .expect(StatusCode::OK);
    app.advance(60);

    let floor = app.get("/v1/floor", &supervisor).await;
    floor.expect(StatusCode::OK);
    assert!(
        !floor.text.contains("13800138"),
        "never a phone: {}",
        floor.text
    );
    assert_eq!(floor.body["agents"].as_array().unwrap().len(), 3);
    let b = agent(&floor.body, "busy");
    assert_eq!(b["state"], "on_call");
    assert_eq!(b["team"], "north");
    assert_eq!(b["since"], "2026-11-25T10:00:00+08:00");
    assert_eq!(b["call"]["id"], held);
    assert_eq!(b["call"]["leased_at"], "2026-11-25T10:00:00+08:00");
    assert_eq!(b["call"]["lease_expires_at"], "2026-11-25T10:15:00+08:00");
    assert!(b["call"]["campaign"].is_i64() && b["call"]["contact"].is_i64());
    assert_eq!(b["today"]["attempts"], 0);
    let d = agent(&floor.body, "done");
    assert_eq!(d["state"], "paused");
    assert_eq!(d["reason"], "午餐");
    assert!(d["call"].is_null());
    assert_eq!(d["today"]["attempts"], 1);
    assert_eq!(d["today"]["reached"], 1);
    assert_eq!(d["today"]["conversions"], 1);
    assert_eq!(d["today"]["handle_time_avg_s"], 90.0);
    assert_eq!(
        d["today"]["paused_s"], 60,
        "a pause going on counts up to now"
    );
    assert_eq!(agent(&floor.body, "away")["state"], "offline");

    // A pause that ended counts too.
    app.post("/v1/agents/me/state", &done, json!({"state": "ready"}))
        .await
        .expect(StatusCode::OK);
    app.advance(30);
    let floor = app.get("/v1/floor?team=north", &supervisor).await;
    let names: Vec<&str> = floor.body["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["busy", "away"]);
    let lead = app.token("lead").await;
    let floor = app.get("/v1/floor", &lead).await;
    let d = agent(&floor.body, "done");
    assert_eq!(d["state"], "ready");
    assert_eq!(d["today"]["paused_s"], 60);
}

async fn the_live_stream_tells_agents_states_and_calls_and_never_a_phone(app: TestApp) {
    app.running_campaign(json!({"lease": "30s"}), "phone\n13800138000\n")
        .await;
    let (agent_id, token) = app.agent("agent", None).await;
    let supervisor = app.token("supervisor").await;
    let live = open_events(&app, &supervisor, None).await;
    let reader = tokio::spawn(read_events(live, 7, 15));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (call, _, _) = app.take(&token).await;
    app.release_with(&token, call, json!({}))
        .await
        .expect(StatusCode::OK);
    let (again, _, _) = app.take(&token).await;
    app.advance(31);
    app.tick().await;
    let events = reader.await.unwrap();
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|(_, kind, data)| {
            let what = if kind == "agent" {
                &data["state"]
            } else {
                &data["event"]
            };
            (kind.clone(), what.as_str().unwrap_or("").to_owned())
        })
        .collect();
    let expected = [
        ("agent", "on_call"),
        ("call", "handed_out"),
        ("call", "released"),
        ("agent", "ready"),
        ("agent", "on_call"),
        ("call", "handed_out"),
        ("call", "expired"),
    ];
    for (kind, what) in expected {
        assert!(
            seen.contains(&(kind.to_owned(), what.to_owned())),
            "{kind} {what} in {seen:?}"
        );
    }
    for (_, kind, data) in &events {
        let text = data.to_string();
        assert!(!text.contains("13800138000"), "never a phone: {text}");
        assert_eq!(data["agent"], agent_id, "{kind}: {text}");
    }
    let handed: Vec<&Value> = events
        .iter()
        .filter(|(_, k, d)| k == "call" && d["event"] == "handed_out")
        .map(|(_, _, d)| d)
        .collect();
    assert_eq!(handed[0]["call"], call);
    assert_eq!(handed[1]["call"], again);
    assert!(handed[0]["contact"].is_i64() && handed[0]["campaign"].is_i64());
}

/// A wallboard's viewer token reads outcomes and campaigns, not who holds which call or why an
/// agent paused: live and on replay, its stream carries no `agent` or `call` event.
async fn a_viewers_stream_carries_no_floor_events(app: TestApp) {
    app.running_campaign(json!({"lease": "30s"}), "phone\n13800138000\n")
        .await;
    let (_, token) = app.agent("agent", None).await;
    let viewer = app.token("viewer").await;
    let live = open_events(&app, &viewer, None).await;
    let reader = tokio::spawn(read_events(live, 1, 10));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (call, _, _) = app.take(&token).await;
    app.outcome(&token, call, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
    let first = reader.await.unwrap();
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].1, "outcome", "{first:?}");
    let replay = open_events(&app, &viewer, Some("0")).await;
    let replayed = read_events(replay, 10, 2).await;
    let kinds: Vec<&str> = replayed.iter().map(|(_, k, _)| k.as_str()).collect();
    assert!(kinds.contains(&"outcome"), "{kinds:?}");
    assert!(
        !kinds.iter().any(|k| *k == "agent" || *k == "call"),
        "{kinds:?}"
    );
}

/// A wrap-up lasts until the campaign's wrap-up time has passed: the scheduler's tick then makes
/// the agent `ready` from that moment, tells the floor with `event: agent` and counts the
/// wrap-up's time, without waiting for the agent's next move.
async fn a_wrap_up_whose_time_passed_ends_by_itself_and_the_floor_is_told(app: TestApp) {
    app.running_campaign(json!({"wrap_up": "30s"}), "phone\n13800138000\n")
        .await;
    let (agent_id, token) = app.agent("agent", None).await;
    let supervisor = app.token("supervisor").await;
    let (call, _, _) = app.take(&token).await;
    app.advance(20);
    app.outcome(&token, call, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
    let live = open_events(&app, &supervisor, None).await;
    let reader = tokio::spawn(read_events_of(live, &["agent"], 1, 10));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.advance(31);
    app.tick().await;
    let events = reader.await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let data = &events[0].2;
    assert_eq!(data["agent"], agent_id, "{data}");
    assert_eq!(data["state"], "ready", "{data}");
    assert_eq!(data["since"], "2026-11-25T10:00:50+08:00", "{data}");
    assert!(!data.to_string().contains("138"), "never a phone: {data}");

    let rows: Vec<(String,)> = db_rows(&app.database_url, "SELECT state FROM agent_states").await;
    assert_eq!(rows, vec![("ready".to_owned(),)]);
    let viewer = app.token("viewer").await;
    let board = app.get("/v1/stats/agents", &viewer).await;
    assert_eq!(
        board.body["items"][0]["wrap_up_avg_s"], 30.0,
        "{}",
        board.text
    );
}

crate::on_both_backends!(
    the_floor_shows_each_agent_its_state_its_call_and_todays_numbers,
    the_live_stream_tells_agents_states_and_calls_and_never_a_phone,
    a_viewers_stream_carries_no_floor_events,
    a_wrap_up_whose_time_passed_ends_by_itself_and_the_floor_is_told,
);

//! Agents' states: a new agent is offline until its desk signs it in; hand-outs, outcomes and
//! releases move it; an agent pauses itself (for a reason the leads keep) or signs out,
//! releasing a held call; a supervisor's pause or sign-out, and a quiet desk's, wait for a held
//! call to end (more in `pending.rs`). And however state changes race hand-outs and outcomes,
//! no agent is ever `on_call` without a call or with two.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp};

async fn state(app: &TestApp, token: &str) -> Value {
    let r = app.get("/v1/agents/me/state", token).await;
    r.expect(StatusCode::OK);
    r.body
}

async fn set(app: &Client, token: &str, body: Value) -> outcall_client::Reply {
    app.post("/v1/agents/me/state", token, body).await
}

async fn a_new_agent_is_offline_until_its_desk_signs_it_in_and_calls_move_its_state(app: TestApp) {
    app.running_campaign(
        json!({"wrap_up": "30s"}),
        "phone\n13800138000\n13800138001\n",
    )
    .await;
    // 午餐 (lunch) is one of the reasons every floor starts with: no lead has to make it.
    let created = app.create("/v1/agents", json!({"name": "new"})).await;
    let token = created["token"].as_str().unwrap().to_owned();
    assert_eq!(state(&app, &token).await["state"], "offline");
    let r = app.next(&token).await;
    r.expect_problem(StatusCode::CONFLICT, "");
    assert!(
        r.body["detail"].as_str().unwrap().contains("offline"),
        "{}",
        r.text
    );

    let r = set(&app, &token, json!({"state": "ready"})).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["state"], "ready");
    assert_eq!(r.body["since"], "2026-11-25T10:00:00+08:00");
    let (call, _, _) = app.take(&token).await;
    assert_eq!(state(&app, &token).await["state"], "on_call");
    let r = set(&app, &token, json!({"state": "ready"})).await;
    assert_eq!(
        r.body["state"], "on_call",
        "asking to be ready keeps the call"
    );
    app.advance(60);
    app.outcome(&token, call, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
    let s = state(&app, &token).await;
    assert_eq!(s["state"], "wrap_up");
    assert_eq!(s["wrap_up_until"], "2026-11-25T10:01:30+08:00");
    app.advance(31);
    let s = state(&app, &token).await;
    assert_eq!(s["state"], "ready", "the campaign's wrap-up time passed");
    assert_eq!(s["since"], "2026-11-25T10:01:30+08:00");

    let r = set(&app, &token, json!({"state": "paused", "reason": "午餐"})).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["reason"], "午餐");
    let r = app.next(&token).await;
    r.expect_problem(StatusCode::CONFLICT, "");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("paused") && detail.contains("午餐"),
        "{detail}"
    );
    set(&app, &token, json!({"state": "ready"}))
        .await
        .expect(StatusCode::OK);
    app.take(&token).await;
}

async fn an_agents_own_pause_releases_its_call_and_a_supervisors_sign_out_waits_for_the_call_and_is_audited(
    app: TestApp,
) {
    app.running_campaign(json!({}), "phone\n13800138000\n13800138001\n")
        .await;
    app.create("/v1/pause-reasons", json!({"name": "training"}))
        .await;
    let (_, first) = app.agent("first", None).await;
    let (second_id, second) = app.agent("second", None).await;
    let (_, third) = app.agent("third", None).await;
    let supervisor = app.token("supervisor").await;
    let (call, phone, _) = app.take(&first).await;
    set(
        &app,
        &first,
        json!({"state": "paused", "reason": "training"}),
    )
    .await
    .expect(StatusCode::OK);
    app.heartbeat(&first, call)
        .await
        .expect_problem(StatusCode::CONFLICT, "");
    let (other, again, body) = app.take(&second).await;
    assert_eq!(
        again, phone,
        "the paused agent's call went back to the queue"
    );
    assert_eq!(body["call"]["attempt"], 1);

    let r = app
        .post(
            &format!("/v1/agents/{second_id}/state"),
            &supervisor,
            json!({"state": "offline"}),
        )
        .await;
    r.expect(StatusCode::ACCEPTED);
    assert_eq!(r.body["state"], "on_call");
    assert_eq!(r.body["pending"], "offline");
    app.outcome(&second, other, json!({"disposition": "accepted"}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(state(&app, &second).await["state"], "offline");
    app.next(&second)
        .await
        .expect_problem(StatusCode::CONFLICT, "");
    let (_, next, _) = app.take(&third).await;
    assert_ne!(
        next, phone,
        "the signed-out agent's call was finished, not released"
    );
    let audit = app.get("/v1/audit?entity=agent", app.admin()).await;
    let set_state: Vec<&Value> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "set_state")
        .collect();
    assert_eq!(set_state.len(), 1, "{}", audit.text);
    assert_eq!(set_state[0]["after"]["state"], "on_call");
    assert_eq!(set_state[0]["after"]["pending"], "offline");
}

async fn bad_state_requests_are_refused_naming_the_field(app: TestApp) {
    app.create("/v1/pause-reasons", json!({"name": "break"}))
        .await;
    let (id, agent) = app.agent("agent", None).await;
    let supervisor = app.token("supervisor").await;
    for (body, field) in [
        (json!({"state": "on_call"}), "state"),
        (json!({"state": "wrap_up"}), "state"),
        (json!({"state": 1}), "state"),
        (json!({}), "state"),
        (json!({"state": "paused"}), "reason"),
        (json!({"state": "paused", "reason": "nap"}), "reason"),
        (json!({"state": "ready", "reason": "break"}), "reason"),
    ] {
        set(&app, &agent, body)
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let path = format!("/v1/agents/{id}/state");
    app.post(&path, &supervisor, json!({"state": "ready"}))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "state");
    app.post(
        "/v1/agents/999999/state",
        &supervisor,
        json!({"state": "offline"}),
    )
    .await
    .expect_problem(StatusCode::NOT_FOUND, "");
    let lead = app.token("lead").await;
    app.post("/v1/pause-reasons", &lead, json!({"name": " "}))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "name");
    app.post("/v1/pause-reasons", &lead, json!({"name": "break"}))
        .await
        .expect_problem(StatusCode::CONFLICT, "");
    let reasons = app.get("/v1/pause-reasons", &agent).await;
    reasons.expect(StatusCode::OK);
    let names: Vec<&str> = reasons.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["休息", "午餐", "培训", "会议", "系统故障", "break"],
        "the shipped reasons first"
    );
}

async fn start_with_idle_sign_out(backend: crate::helpers::Backend) -> TestApp {
    TestApp::start_with(backend, |c| c.agent_idle = Some("2m".parse().unwrap())).await
}

/// An agent's state as a supervisor sees it on the floor (asking it with the agent's own token
/// would be a sign of life).
async fn on_the_floor(app: &TestApp, supervisor: &str, agent: i64) -> String {
    let floor = app.get("/v1/floor", supervisor).await;
    floor.expect(StatusCode::OK);
    let agents = floor.body["agents"].as_array().unwrap();
    let me = agents.iter().find(|a| a["agent"] == agent).unwrap();
    me["state"].as_str().unwrap().to_owned()
}

async fn an_agent_whose_desk_goes_quiet_on_a_call_is_signed_out_once_its_lease_runs_out(
    app: TestApp,
) {
    app.running_campaign(json!({"lease": "10m"}), "phone\n13800138000\n")
        .await;
    let supervisor = app.token("supervisor").await;
    let (quiet_id, quiet) = app.agent("quiet", None).await;
    let (busy_id, busy) = app.agent("busy", None).await;
    let (waiting_id, waiting) = app.agent("waiting", None).await;
    let (call, _, _) = app.take(&quiet).await;
    app.advance(100);
    app.heartbeat(&quiet, call).await.expect(StatusCode::OK);
    state(&app, &waiting).await;
    app.advance(100);
    set(&app, &busy, json!({"state": "ready"}))
        .await
        .expect(StatusCode::OK);
    state(&app, &waiting).await;
    app.tick().await;
    assert_eq!(
        on_the_floor(&app, &supervisor, quiet_id).await,
        "on_call",
        "a heartbeat is a sign of life"
    );
    app.advance(30);
    app.tick().await;
    assert_eq!(
        on_the_floor(&app, &supervisor, quiet_id).await,
        "on_call",
        "signed out once its call ends: its outcome may still come"
    );
    assert_eq!(on_the_floor(&app, &supervisor, busy_id).await, "ready");
    assert_eq!(
        on_the_floor(&app, &supervisor, waiting_id).await,
        "ready",
        "a desk waiting for calls asks its state, a sign of life"
    );
    app.next(&busy).await.expect(StatusCode::NO_CONTENT);
    // The lease (10 min from the heartbeat at 100 s) runs out: the sign-out applies.
    app.advance(480);
    app.tick().await;
    assert_eq!(on_the_floor(&app, &supervisor, quiet_id).await, "offline");
    set(&app, &busy, json!({"state": "ready"}))
        .await
        .expect(StatusCode::OK);
    let (_, _, body) = app.take(&busy).await;
    assert_eq!(body["history"][0]["event"], "lease_expired");
}

/// `(agent, state, leased calls)` for every agent, read in one statement.
async fn standing(url: &str) -> Vec<(i64, String, i64)> {
    const SQL: &str = "SELECT a.agent_id, a.state, (SELECT COUNT(*) FROM calls c \
                       WHERE c.agent_id = a.agent_id AND c.state = 'leased') FROM agent_states a";
    crate::helpers::db_rows(url, SQL).await
}

/// How many calls ended each way, to show that a hammer run raced what it means to.
async fn calls_by_state(url: &str) -> Vec<(String, i64)> {
    crate::helpers::db_rows(url, "SELECT state, COUNT(*) FROM calls GROUP BY state").await
}

#[track_caller]
fn assert_consistent(rows: &[(i64, String, i64)]) {
    for (agent, state, held) in rows {
        assert!(*held <= 1, "agent {agent} holds {held} calls");
        assert_eq!(
            state == "on_call",
            *held == 1,
            "agent {agent} is {state} holding {held} calls"
        );
    }
}

async fn state_changes_racing_hand_outs_and_outcomes_never_leave_an_agent_on_call_without_a_call_or_with_two(
    app: TestApp,
) {
    hammer(&app, vec![app.client.clone()]).await;
}

/// Agents loop on next, outcome or release and pause themselves now and then, while a
/// supervisor pauses and signs them out and releases the calls the floor shows, and the clock
/// runs on in steps that end wrap-ups and leases, which the scheduler's tick reaps; agent `n`
/// and the supervisor talk to `processes[n % len]`. The floor is checked all along and at the
/// end.
async fn hammer(app: &TestApp, processes: Vec<Client>) {
    let mut csv = String::from("phone\n");
    for i in 0..400 {
        csv.push_str(&format!("1380000{i:04}\n"));
    }
    app.running_campaign(json!({"wrap_up": "5s", "lease": "30s"}), &csv)
        .await;
    app.create("/v1/pause-reasons", json!({"name": "break"}))
        .await;
    let supervisor = app.token("supervisor").await;
    let mut agents = vec![];
    for i in 0..8 {
        agents.push(app.agent(&format!("hammer {i}"), None).await);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(6);
    let mut tasks = vec![];
    for (n, (_, token)) in agents.iter().cloned().enumerate() {
        let api = processes[n % processes.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while std::time::Instant::now() < deadline {
                i += 1;
                let r = api.next(&token).await;
                match r.status {
                    StatusCode::OK => {
                        let call = r.body["call"]["id"].as_i64().unwrap();
                        if (i + n as u64).is_multiple_of(5) {
                            // Walks away long enough for the lease to run out and be reaped.
                            tokio::time::sleep(Duration::from_millis(1_500)).await;
                        }
                        let r = if (i + n as u64).is_multiple_of(3) {
                            api.release_with(&token, call, json!({})).await
                        } else {
                            api.outcome(&token, call, json!({"disposition": "no_answer"}))
                                .await
                        };
                        assert!(
                            matches!(r.status, StatusCode::OK | StatusCode::CONFLICT),
                            "{}",
                            r.text
                        );
                    }
                    StatusCode::CONFLICT => {
                        // Paused or signed out by the supervisor: back to work.
                        let r = set(&api, &token, json!({"state": "ready"})).await;
                        r.expect(StatusCode::OK);
                    }
                    StatusCode::NO_CONTENT => {}
                    other => panic!("next answered {other}: {}", r.text),
                }
                if i % 7 == n as u64 % 7 {
                    let r = set(&api, &token, json!({"state": "paused", "reason": "break"})).await;
                    r.expect(StatusCode::OK);
                }
            }
        }));
    }
    let ids: Vec<i64> = agents.iter().map(|(id, _)| *id).collect();
    let api = processes[processes.len() - 1].clone();
    let steering = tokio::spawn(async move {
        let mut i = 0usize;
        while std::time::Instant::now() < deadline {
            let id = ids[i % ids.len()];
            let body = if i.is_multiple_of(2) {
                json!({"state": "offline"})
            } else {
                json!({"state": "paused", "reason": "break"})
            };
            let r = api
                .call(
                    Method::POST,
                    &format!("/v1/agents/{id}/state"),
                    Some(&supervisor),
                    body,
                )
                .await;
            assert!(
                matches!(r.status, StatusCode::OK | StatusCode::ACCEPTED),
                "{}",
                r.text
            );
            // Pull back a call the floor shows, as a supervisor does for an agent who left.
            let floor = api.get("/v1/floor", &supervisor).await;
            floor.expect(StatusCode::OK);
            let held = floor.body["agents"]
                .as_array()
                .unwrap()
                .iter()
                .find_map(|a| a["call"]["id"].as_i64());
            if let Some(call) = held {
                let r = api
                    .release_with(&supervisor, call, json!({"reason": "pulled back"}))
                    .await;
                assert!(
                    matches!(r.status, StatusCode::OK | StatusCode::CONFLICT),
                    "{}",
                    r.text
                );
            }
            i += 1;
            // A supervisor's pace: calls left alone long enough also run out their leases.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    while std::time::Instant::now() < deadline {
        assert_consistent(&standing(&app.database_url).await);
        app.advance(8);
        app.tick().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for task in tasks {
        task.await.unwrap();
    }
    steering.await.unwrap();
    assert_consistent(&standing(&app.database_url).await);
    let ended = calls_by_state(&app.database_url).await;
    for way in ["completed", "released", "expired"] {
        assert!(
            ended.iter().any(|(state, n)| state == way && *n > 0),
            "no call was {way}: {ended:?}"
        );
    }
}

crate::on_both_backends!(
    a_new_agent_is_offline_until_its_desk_signs_it_in_and_calls_move_its_state,
    an_agents_own_pause_releases_its_call_and_a_supervisors_sign_out_waits_for_the_call_and_is_audited,
    bad_state_requests_are_refused_naming_the_field,
    state_changes_racing_hand_outs_and_outcomes_never_leave_an_agent_on_call_without_a_call_or_with_two,
);
crate::on_both_backends!(
    start = super::start_with_idle_sign_out;
    mod idle_sqlite, idle_postgres;
    an_agent_whose_desk_goes_quiet_on_a_call_is_signed_out_once_its_lease_runs_out,
);

mod two_postgres {
    use super::*;

    /// The same hammer with agents and the supervisor spread over two processes of the service
    /// on one PostgreSQL database.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn state_changes_racing_hand_outs_across_two_processes_never_leave_an_agent_on_call_without_a_call_or_with_two()
     {
        let app = TestApp::start(crate::helpers::Backend::Postgres).await;
        let second = app.another_process().await;
        let other = app.client.with_base(format!("http://{}", second.addr));
        hammer(&app, vec![app.client.clone(), other]).await;
        second.shutdown.cancel();
        second.stopped().await.unwrap();
    }
}

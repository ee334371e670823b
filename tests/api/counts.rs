//! Contact counts per campaign and state are kept, not counted: whatever happens to the contacts
//! (hand-outs, outcomes of every kind, releases, expired leases, imports, DNC listings and their
//! removal, due retries and callbacks, recurrences, a restart or a kill -9), the counts the
//! stats show equal a `GROUP BY` over the contacts themselves.

use std::{collections::BTreeMap, time::Duration};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, Client, TestApp, fresh_database},
    process::Server,
};

/// `campaign → state → count` from the rows themselves, read straight from the database.
async fn truth(url: &str) -> BTreeMap<i64, BTreeMap<String, i64>> {
    const SQL: &str = "SELECT campaign_id, state, COUNT(*) FROM campaign_contacts \
                       GROUP BY campaign_id, state";
    let rows: Vec<(i64, String, i64)> = crate::helpers::db_rows(url, SQL).await;
    let mut out: BTreeMap<i64, BTreeMap<String, i64>> = BTreeMap::new();
    for (campaign, state, n) in rows {
        out.entry(campaign).or_default().insert(state, n);
    }
    out
}

/// The counts `GET /v1/stats/campaigns/{id}` shows.
async fn kept(api: &Client, campaign: i64) -> BTreeMap<String, i64> {
    let stats = api
        .get(&format!("/v1/stats/campaigns/{campaign}"), api.admin())
        .await;
    stats.expect(StatusCode::OK);
    serde_json::from_value(stats.body["contacts"].clone()).unwrap()
}

/// The kept counts equal the truth, read between two equal reads of the truth (the scheduler
/// may still be moving due entries while a check runs: a count read across a move is retried).
async fn assert_kept_counts_are_true(api: &Client, url: &str, campaigns: &[i64], when: &str) {
    for _ in 0..20 {
        let before = truth(url).await;
        let mut kept_now = BTreeMap::new();
        for &c in campaigns {
            kept_now.insert(c, kept(api, c).await);
        }
        if truth(url).await != before {
            continue;
        }
        for &c in campaigns {
            let want = before.get(&c).cloned().unwrap_or_default();
            assert_eq!(kept_now[&c], want, "campaign {c}, {when}");
        }
        return;
    }
    panic!("the contacts never held still long enough to compare ({when})");
}

/// A small deterministic generator (the same operations on both backends, run after run).
struct Dice(u64);

impl Dice {
    fn roll(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

const DISPOSITIONS: [&str; 9] = [
    "accepted",
    "declined",
    "callback",
    "no_answer",
    "busy",
    "voicemail",
    "wrong_number",
    "do_not_call",
    "complaint",
];

fn phone(i: usize) -> String {
    format!("1390000{i:04}")
}

/// One random step; `held` is each agent's call, if any.
async fn step(
    app: &TestApp,
    dice: &mut Dice,
    campaigns: &[i64],
    agents: &[String],
    held: &mut [Option<i64>],
) {
    let a = dice.roll(agents.len());
    match dice.roll(10) {
        0 => {
            let mut csv = String::from("phone\n");
            for _ in 0..1 + dice.roll(6) {
                csv.push_str(&format!("{}\n", phone(dice.roll(40))));
            }
            app.import_csv(campaigns[dice.roll(campaigns.len())], csv)
                .await
                .expect(StatusCode::OK);
        }
        1..=3 => {
            let r = app.next(&agents[a]).await;
            if r.status == StatusCode::OK {
                held[a] = r.body["call"]["id"].as_i64();
            }
        }
        4..=5 => {
            if let Some(call) = held[a].take() {
                let d = DISPOSITIONS[dice.roll(DISPOSITIONS.len())];
                let mut body = json!({"disposition": d});
                if d == "callback" {
                    let now = outcall::clock::Clock::now(&app.clock).utc();
                    let at = now + chrono::Duration::minutes(5);
                    body["callback_at"] = json!(at.to_rfc3339());
                    body["callback_scope"] = json!(["agent", "campaign"][dice.roll(2)]);
                }
                let r = app.outcome(&agents[a], call, body).await;
                assert!(matches!(r.status.as_u16(), 200 | 409), "{}", r.text);
            }
        }
        6 => {
            if let Some(call) = held[a].take() {
                let r = app.release(&agents[a], call).await;
                assert!(matches!(r.status.as_u16(), 200 | 409), "{}", r.text);
            }
        }
        7 => {
            // Leases run out (30 s), retries and callbacks come due.
            app.advance([20, 40, 130, 330][dice.roll(4)]);
            app.tick().await;
        }
        8 => {
            let body = json!({"phone": phone(dice.roll(40))});
            assert!(
                app.post("/v1/dnc", app.admin(), body)
                    .await
                    .status
                    .is_success()
            );
        }
        _ => {
            let r = app
                .call(
                    Method::DELETE,
                    &format!("/v1/dnc/{}?reason=ok", phone(dice.roll(40))),
                    Some(app.admin()),
                    Value::Null,
                )
                .await;
            assert!(matches!(r.status.as_u16(), 204 | 404), "{}", r.text);
        }
    }
}

async fn kept_contact_counts_equal_a_count_of_the_rows_after_random_operations_and_a_restart(
    mut app: TestApp,
) {
    let retry = json!({"no_answer": "2m", "busy": "1m", "voicemail": "5m"});
    let extra =
        json!({"lease": "30s", "max_attempts": 2, "retry": retry, "recurrence": "0 */10 * * * *"});
    let mut campaigns = vec![];
    for _ in 0..2 {
        campaigns.push(
            app.running_campaign(extra.clone(), "phone\n13900000000\n")
                .await,
        );
    }
    let mut agents = vec![];
    for i in 0..4 {
        agents.push(app.agent(&format!("agent {i}"), None).await.1);
    }
    let mut held = vec![None; agents.len()];
    let mut dice = Dice(7);
    for round in 0..4 {
        for _ in 0..60 {
            step(&app, &mut dice, &campaigns, &agents, &mut held).await;
        }
        app.tick().await;
        let when = format!("after round {round}");
        assert_kept_counts_are_true(&app, &app.database_url, &campaigns, &when).await;
        if round == 1 {
            app.restart().await;
            assert_kept_counts_are_true(&app, &app.database_url, &campaigns, "after a restart")
                .await;
        }
    }
}

crate::on_both_backends!(
    start = super::counts_app;
    kept_contact_counts_equal_a_count_of_the_rows_after_random_operations_and_a_restart,
);

/// The app for the random walk: calls may be handed out at any hour it reaches.
async fn counts_app(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| {
        c.calling_hours = "00:00-24:00".parse().unwrap();
    })
    .await
}

/// Sixteen agents work a campaign (outcomes of every kind, releases) while the process is
/// killed; after the restart the kept counts are true, and stay true as work goes on.
async fn kept_contact_counts_survive_kill_9(backend: Backend) {
    const SECRET: &str = "counts-kill-secret";
    let (url, _dir) = fresh_database(backend).await;
    let server = Server::start(&url, Some(SECRET));
    let api = Client::with_timeout(server.base(), SECRET, Duration::from_secs(10));
    let id = api
        .campaign(json!({"max_attempts": 3, "retry": {"no_answer": "0s", "busy": "0s"}}))
        .await;
    let mut csv = String::from("phone\n");
    for i in 0..1500 {
        csv.push_str(&format!("1380000{i:04}\n"));
    }
    assert!(api.import_csv(id, csv).await.status.is_success());
    api.start_campaign(id).await;
    let mut tasks = vec![];
    for i in 0..16 {
        let (_, token) = api.agent(&format!("k{i}"), None).await;
        tasks.push(tokio::spawn(work(api.clone(), token, i)));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let restarted = Server::start(&url, Some(SECRET));
    let api = api.with_base(restarted.base());
    assert_kept_counts_are_true(&api, &url, &[id], "after kill -9").await;
    let (_, token) = api.agent("after", None).await;
    let _ = tokio::time::timeout(Duration::from_millis(800), work(api.clone(), token, 99)).await;
    assert_kept_counts_are_true(&api, &url, &[id], "after more work").await;
}

/// An agent's loop until the server goes away: next, then an outcome, a release or nothing.
async fn work(api: Client, token: String, seed: u64) {
    let mut dice = Dice(seed);
    loop {
        let next = api.request(Method::POST, "/v1/calls/next", Some(&token));
        let Ok(r) = api.try_send(next).await else {
            return;
        };
        if r.status != StatusCode::OK {
            return;
        }
        let call = r.body["call"]["id"].as_i64().unwrap();
        let (path, body) = match dice.roll(6) {
            0 => (format!("/v1/calls/{call}/release"), Value::Null),
            1 => (
                format!("/v1/calls/{call}/outcome"),
                json!({"disposition": "do_not_call"}),
            ),
            2 | 3 => (
                format!("/v1/calls/{call}/outcome"),
                json!({"disposition": "no_answer"}),
            ),
            _ => (
                format!("/v1/calls/{call}/outcome"),
                json!({"disposition": "accepted"}),
            ),
        };
        let mut req = api.request(Method::POST, &path, Some(&token));
        if !body.is_null() {
            req = req.json(&body);
        }
        if api.try_send(req).await.is_err() {
            return;
        }
    }
}

crate::backend_tests!(mod kill_sqlite, kill_postgres; kept_contact_counts_survive_kill_9);

//! Imports survive the database going away for a while: PostgreSQL cut off for 8 s, or another
//! program holding SQLite's write lock. The import pauses, carries on where it stopped, and ends
//! with an exact report; it is never failed, and its upload is not thrown away.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, Client, TestApp, fresh_database},
    process::Server,
    proxy::Proxy,
};

const SECRET: &str = "import-blips-secret";

/// A CSV of `rows` distinct contacts.
fn list(rows: usize) -> String {
    let mut csv = String::from("phone,name\n");
    for i in 0..rows {
        csv.push_str(&format!("186{i:08},联系人{i}\n"));
    }
    csv
}

/// Uploads `rows` contacts (a job, as the inline limit is tiny) and waits until some are in.
async fn start_import(api: &Client, campaign: i64, rows: usize) -> i64 {
    let r = api.import_csv(campaign, list(rows)).await;
    r.expect(StatusCode::ACCEPTED);
    let id = r.body["id"].as_i64().unwrap();
    api.eventually(60, "the import is under way", || async {
        let r = api.get(&format!("/v1/imports/{id}"), api.admin()).await;
        (r.body["processed"].as_i64().unwrap_or(0) > 0).then_some(())
    })
    .await;
    id
}

/// Waits (polling, never failing on 503s) until the import is done; fails if it ever fails.
async fn until_done(api: &Client, id: i64, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let r = api.get(&format!("/v1/imports/{id}"), api.admin()).await;
        if r.status == StatusCode::OK {
            assert_ne!(r.body["state"], "failed", "the import failed: {}", r.text);
            if r.body["state"] == "done" {
                return r.body;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the import did not finish: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn assert_exact(report: &Value, rows: u64) {
    let r = &report["report"];
    assert_eq!(
        (
            r["total"].as_u64(),
            r["accepted"].as_u64(),
            r["duplicates"].as_u64()
        ),
        (Some(rows), Some(rows), Some(0)),
        "{report}"
    );
    assert_eq!(r["invalid"].as_array().map(Vec::len), Some(0), "{report}");
}

async fn an_import_carries_on_after_postgresql_is_cut_for_8_seconds_with_exact_counts(
    backend: Backend,
) {
    let (direct, _dir) = fresh_database(backend).await;
    let (proxy, url) = Proxy::in_front_of(&direct).await;
    let vars = [("OUTCALL_IMPORT_INLINE_BYTES", "4096")];
    let server = Server::start_env(&url, Some(SECRET), &vars);
    let api = server.client(SECRET);
    let campaign = api.campaign(json!({})).await;
    let rows = 60_000;
    let id = start_import(&api, campaign, rows).await;
    proxy.cut().await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    proxy.restore().await;
    // Well before a stale import would be taken over (30 s): this worker carries on itself.
    let done = until_done(&api, id, Duration::from_secs(25)).await;
    assert_exact(&done, rows as u64);
    let stats = api
        .get(&format!("/v1/stats/campaigns/{campaign}"), SECRET)
        .await;
    assert_eq!(
        stats.body["contacts"]["ready"], rows,
        "every row is in the campaign once"
    );
}

async fn an_import_carries_on_after_another_program_held_the_sqlite_lock(backend: Backend) {
    let app = TestApp::start_with(backend, |c| {
        c.import_inline_bytes = 4096;
        c.sqlite_busy_timeout = "1s".parse().unwrap();
    })
    .await;
    let campaign = app.campaign(json!({})).await;
    let rows = 60_000;
    let id = start_import(&app, campaign, rows).await;
    let held = {
        use sqlx::Connection;
        let mut other = sqlx::SqliteConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut other)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(4)).await;
        sqlx::query("COMMIT").execute(&mut other).await.unwrap();
        Instant::now()
    };
    let done = until_done(&app, id, Duration::from_secs(20)).await;
    assert_exact(&done, rows as u64);
    eprintln!(
        "the import finished {:?} after the lock was released",
        held.elapsed()
    );
}

crate::backend_tests!(
    postgres mod postgres;
    an_import_carries_on_after_postgresql_is_cut_for_8_seconds_with_exact_counts
);
crate::backend_tests!(sqlite mod sqlite; an_import_carries_on_after_another_program_held_the_sqlite_lock);

//! kill -9 of the real binary under load: every outcome that got a 2xx is there after restart.

use std::{sync::Arc, time::Duration};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::sync::Mutex;

use crate::{
    helpers::{Backend, Client, assert_acknowledged_once, fresh_database},
    process::Server,
};

const SECRET: &str = "crash-test-admin-secret";

async fn acknowledged_outcomes_survive_kill_9(backend: Backend) {
    let (url, _dir) = fresh_database(backend).await;
    let server = Server::start(&url, Some(SECRET));
    let api = Client::with_timeout(server.base(), SECRET, Duration::from_secs(10));
    let id = api.campaign(json!({})).await;
    let mut csv = String::from("phone\n");
    for i in 0..2000 {
        csv.push_str(&format!("1370000{i:04}\n"));
    }
    assert!(api.import_csv(id, csv).await.status.is_success());
    api.start_campaign(id).await;

    let acknowledged: Arc<Mutex<Vec<i64>>> = Arc::new(Mutex::new(vec![]));
    let mut tasks = vec![];
    for i in 0..16 {
        let (_, token) = api.agent(&format!("a{i}"), None).await;
        let (api, acknowledged) = (api.clone(), acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let next = api.request(Method::POST, "/v1/calls/next", Some(&token));
                let Ok(r) = api.try_send(next).await else {
                    return;
                };
                if r.status != StatusCode::OK {
                    return;
                }
                let call = r.body["call"]["id"].as_i64().unwrap();
                let contact = r.body["contact"]["id"].as_i64().unwrap();
                let sent = api
                    .request(
                        Method::POST,
                        &format!("/v1/calls/{call}/outcome"),
                        Some(&token),
                    )
                    .json(&json!({"disposition": "accepted"}))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == StatusCode::OK => {
                        acknowledged.lock().await.push(contact)
                    }
                    _ => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for t in tasks {
        let _ = t.await;
    }
    let acknowledged = acknowledged.lock().await.clone();
    assert!(
        acknowledged.len() > 20,
        "the load ran before the kill ({} outcomes)",
        acknowledged.len()
    );

    let restarted = Server::start(&url, Some(SECRET));
    let api = api.with_base(restarted.base());
    for contact in &acknowledged {
        let page = api
            .get(&format!("/v1/contacts/{contact}"), SECRET)
            .await
            .body;
        assert_acknowledged_once(&page, *contact);
    }
}

crate::backend_tests!(acknowledged_outcomes_survive_kill_9);

/// kill -9 in the middle of a large import: after a restart the import is resumed after its
/// last committed batch and ends with an exact report, blank lines included.
async fn an_import_killed_midway_resumes_with_exact_counts(backend: Backend) {
    let (url, _dir) = fresh_database(backend).await;
    let start = |url: &str| {
        Server::start_env(
            url,
            Some(SECRET),
            &[
                ("OUTCALL_IMPORT_INLINE_BYTES", "4096"),
                ("OUTCALL_IMPORT_STALE", "2s"),
            ],
        )
    };
    let mut server = start(&url);
    let api = server.client(SECRET);
    let id = api.campaign(json!({})).await;
    let rows = 60_000;
    let mut csv = String::from("phone,name\n");
    for i in 0..rows {
        csv.push_str(&format!("1{}{:08},客户{i}\n", [38, 39, 50, 58][i % 4], i));
        // Blank lines are not counted as rows; resuming must skip them the same way.
        if i % 97 == 0 {
            csv.push_str(", \n");
        }
    }
    csv.push_str("not-a-phone,bad\n");
    let r = api.import_csv(id, csv).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let import = format!("/v1/imports/{}", r.body["id"].as_i64().unwrap());
    // Kill it once some, but not all, batches are in.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let at_kill = loop {
        let s = api.get(&import, SECRET).await.body;
        let processed = s["processed"].as_i64().unwrap();
        assert_ne!(
            s["state"], "done",
            "the import finished before it could be killed; make it bigger"
        );
        if processed > 0 {
            break processed;
        }
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let restarted = start(&url);
    let api = api.with_base(restarted.base());
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let done = loop {
        let s = api.get(&import, SECRET).await.body;
        if s["state"] == "done" {
            break s;
        }
        assert_ne!(s["state"], "failed", "{s}");
        assert!(
            std::time::Instant::now() < deadline,
            "the import was not resumed: {s}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(at_kill < rows as i64);
    assert_eq!(done["report"]["total"], rows + 1);
    assert_eq!(done["report"]["accepted"], rows);
    assert_eq!(
        done["report"]["duplicates"], 0,
        "resumed exactly after the last committed row"
    );
    assert_eq!(done["invalid_count"], 1);
    let stats = api
        .get(&format!("/v1/stats/campaigns/{id}"), SECRET)
        .await
        .body;
    assert_eq!(stats["contacts"]["ready"], rows);
}

crate::backend_tests!(
    mod import_sqlite, import_postgres;
    an_import_killed_midway_resumes_with_exact_counts,
);

//! kill -9 of the real binary under load: every outcome that got a 2xx is there after restart.

use std::{sync::Arc, time::Duration};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::{
    helpers::{Backend, fresh_database},
    process::Server,
};

const SECRET: &str = "crash-test-admin-secret";

async fn post(
    client: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
) -> reqwest::Response {
    client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// An offer `code`, a script and a draft campaign (with `extra` fields) over HTTP; its id.
async fn new_campaign(client: &reqwest::Client, base: &str, code: &str, extra: Value) -> i64 {
    post(
        client,
        format!("{base}/v1/offers"),
        SECRET,
        json!({"code": code, "name": code}),
    )
    .await;
    let script: Value = post(
        client,
        format!("{base}/v1/scripts"),
        SECRET,
        json!({"name": "s", "body": "hi"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let mut body = json!({"name": code, "offer": code, "script_id": script["id"]});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        body[k] = v;
    }
    let campaign: Value = post(client, format!("{base}/v1/campaigns"), SECRET, body)
        .await
        .json()
        .await
        .unwrap();
    campaign["id"].as_i64().unwrap()
}

async fn acknowledged_outcomes_survive_kill_9(backend: Backend) {
    let (url, _dir) = fresh_database(backend).await;
    let server = Server::start(&url, Some(SECRET));
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let windows = json!([{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "00:00", "end": "24:00"}]);
    let id = new_campaign(&client, &base, "K9", json!({"calling_windows": windows})).await;
    let mut csv = String::from("phone\n");
    for i in 0..2000 {
        csv.push_str(&format!("1370000{i:04}\n"));
    }
    let r = client
        .post(format!("{base}/v1/campaigns/{id}/contacts"))
        .bearer_auth(SECRET)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    post(
        &client,
        format!("{base}/v1/campaigns/{id}/start"),
        SECRET,
        Value::Null,
    )
    .await;

    let acknowledged: Arc<Mutex<Vec<i64>>> = Arc::new(Mutex::new(vec![]));
    let mut tasks = vec![];
    for i in 0..16 {
        let agent: Value = post(
            &client,
            format!("{base}/v1/agents"),
            SECRET,
            json!({"name": format!("a{i}")}),
        )
        .await
        .json()
        .await
        .unwrap();
        let token = agent["token"].as_str().unwrap().to_owned();
        let (client, base, acknowledged) = (client.clone(), base.clone(), acknowledged.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Ok(r) = client
                    .post(format!("{base}/v1/calls/next"))
                    .bearer_auth(&token)
                    .send()
                    .await
                else {
                    return;
                };
                if r.status() != StatusCode::OK {
                    return;
                }
                let Ok(body) = r.json::<Value>().await else {
                    return;
                };
                let call = body["call"]["id"].as_i64().unwrap();
                let contact = body["contact"]["id"].as_i64().unwrap();
                let sent = client
                    .post(format!("{base}/v1/calls/{call}/outcome"))
                    .bearer_auth(&token)
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
    let base = format!("http://{}", restarted.addr);
    for contact in &acknowledged {
        let r = client
            .get(format!("{base}/v1/contacts/{contact}"))
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap();
        let page: Value = r.json().await.unwrap();
        assert_eq!(
            page["campaigns"][0]["state"], "done",
            "contact {contact} lost its acknowledged outcome"
        );
        let outcomes = crate::helpers::history_count(&page, "outcome");
        assert_eq!(
            outcomes, 1,
            "contact {contact}: exactly one outcome recorded"
        );
    }
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn acknowledged_outcomes_survive_kill_9() {
        super::acknowledged_outcomes_survive_kill_9(super::Backend::Sqlite).await
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn acknowledged_outcomes_survive_kill_9() {
        super::acknowledged_outcomes_survive_kill_9(super::Backend::Postgres).await
    }
}

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
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let id = new_campaign(&client, &base, "IMP", json!({})).await;
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
    let r = client
        .post(format!("{base}/v1/campaigns/{id}/contacts"))
        .bearer_auth(SECRET)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let import = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    // Kill it once some, but not all, batches are in.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let at_kill = loop {
        let s: Value = client
            .get(format!("{base}/v1/imports/{import}"))
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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
    let base = format!("http://{}", restarted.addr);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let done = loop {
        let s: Value = client
            .get(format!("{base}/v1/imports/{import}"))
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
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
    let stats: Value = client
        .get(format!("{base}/v1/stats/campaigns/{id}"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["contacts"]["ready"], rows);
}

mod import_sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_import_killed_midway_resumes_with_exact_counts() {
        super::an_import_killed_midway_resumes_with_exact_counts(super::Backend::Sqlite).await
    }
}

mod import_postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_import_killed_midway_resumes_with_exact_counts() {
        super::an_import_killed_midway_resumes_with_exact_counts(super::Backend::Postgres).await
    }
}

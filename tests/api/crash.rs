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

async fn acknowledged_outcomes_survive_kill_9(backend: Backend) {
    let (url, _dir) = fresh_database(backend).await;
    let server = Server::start(&url, Some(SECRET));
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    post(
        &client,
        format!("{base}/v1/offers"),
        SECRET,
        json!({"code": "K9", "name": "k9"}),
    )
    .await;
    let script: Value = post(
        &client,
        format!("{base}/v1/scripts"),
        SECRET,
        json!({"name": "s", "body": "hi"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let windows = json!([{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "00:00", "end": "24:00"}]);
    let campaign: Value = post(
        &client,
        format!("{base}/v1/campaigns"),
        SECRET,
        json!({"name": "k9", "offer": "K9", "script_id": script["id"], "calling_windows": windows}),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = campaign["id"].as_i64().unwrap();
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
        let outcomes = page["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["event"] == "outcome")
            .count();
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

//! Security promises: token guessing is slowed down, and the server's log of a full run holds
//! no phone number and no token.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, fresh_database},
    process::Server,
};

async fn guessing_tokens_gets_429_but_valid_tokens_keep_working(app: TestApp) {
    let mut statuses = vec![];
    for i in 0..40 {
        let r = app.get("/v1/agents", &format!("oc_guess_{i}")).await;
        statuses.push(r.status);
    }
    assert!(
        statuses[..30]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[30..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    app.get("/v1/agents", &format!("oc_guess_x"))
        .await
        .expect_problem(StatusCode::TOO_MANY_REQUESTS, "");
    app.get("/v1/agents", app.admin())
        .await
        .expect(StatusCode::OK);
}

crate::on_both_backends!(guessing_tokens_gets_429_but_valid_tokens_keep_working);

const SECRET: &str = "log-scan-admin-secret-5f2c";

async fn the_log_of_a_full_run_has_no_phone_numbers_or_tokens(backend: Backend) {
    let (url, _dir) = fresh_database(backend).await;
    let log = std::env::temp_dir().join(format!(
        "outcall-log-scan-{}-{:?}.log",
        std::process::id(),
        backend
    ));
    let mut server = Server::start_logging(&url, Some(SECRET), Some(&log));
    let base = format!("http://{}", server.addr);
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let post = |path: &str, token: &str, body: Value| {
        c.post(format!("{base}{path}"))
            .bearer_auth(token.to_owned())
            .json(&body)
            .send()
    };
    post("/v1/offers", SECRET, json!({"code": "LOG", "name": "log"}))
        .await
        .unwrap();
    let script: Value = post(
        "/v1/scripts",
        SECRET,
        json!({"name": "s", "body": "您好{{ name }} {{ phone }}"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let windows = json!([{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "00:00", "end": "24:00"}]);
    let campaign: Value = post("/v1/campaigns", SECRET, json!({"name": "log", "offer": "LOG", "script_id": script["id"], "calling_windows": windows}))
        .await.unwrap().json().await.unwrap();
    let id = campaign["id"].as_i64().unwrap();
    c.post(format!("{base}/v1/campaigns/{id}/contacts"))
        .bearer_auth(SECRET)
        .header("content-type", "text/csv")
        .body("phone,name\n13812345678,王芳\n13987654321,李雷\nbad-phone-13700001111,x\n")
        .send()
        .await
        .unwrap();
    post("/v1/dnc", SECRET, json!({"phone": "13987654321"}))
        .await
        .unwrap();
    c.get(format!("{base}/v1/dnc?phone=13987654321"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    c.delete(format!("{base}/v1/dnc/13987654321"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    post(&format!("/v1/campaigns/{id}/start"), SECRET, Value::Null)
        .await
        .unwrap();
    let agent: Value = post("/v1/agents", SECRET, json!({"name": "log agent"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = agent["token"].as_str().unwrap().to_owned();
    let call: Value = post("/v1/calls/next", &token, Value::Null)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let call_id = call["call"]["id"].as_i64().unwrap();
    post(
        &format!("/v1/calls/{call_id}/outcome"),
        &token,
        json!({"disposition": "do_not_call", "notes": "客户 13812345678 要求"}),
    )
    .await
    .unwrap();
    c.get(format!("{base}/v1/agents"))
        .bearer_auth("oc_wrong_token_for_the_log")
        .send()
        .await
        .unwrap();
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(15)));
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(
        text.contains("outcome recorded"),
        "the log is the server's real log: {text}"
    );
    for secret in [
        "13812345678",
        "13987654321",
        "13700001111",
        "8613812345678",
        SECRET,
        &token,
        "oc_wrong_token_for_the_log",
    ] {
        assert!(!text.contains(secret), "the log contains '{secret}'");
    }
}

mod log_sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_of_a_full_run_has_no_phone_numbers_or_tokens() {
        super::the_log_of_a_full_run_has_no_phone_numbers_or_tokens(super::Backend::Sqlite).await
    }
}

mod log_postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_of_a_full_run_has_no_phone_numbers_or_tokens() {
        super::the_log_of_a_full_run_has_no_phone_numbers_or_tokens(super::Backend::Postgres).await
    }
}

//! Security promises: token guessing is slowed down, and the server's log of a full run holds
//! no phone number and no token.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, Client, TestApp, all_day_windows, fresh_database},
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
    app.get("/v1/agents", "oc_guess_x")
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
    let api = Client::with_timeout(server.base(), SECRET, Duration::from_secs(10));
    api.post("/v1/offers", SECRET, json!({"code": "LOG", "name": "log"}))
        .await;
    let script = api
        .post(
            "/v1/scripts",
            SECRET,
            json!({"name": "s", "body": "您好{{ name }} {{ phone }}"}),
        )
        .await
        .body;
    let campaign = api
        .post(
            "/v1/campaigns",
            SECRET,
            json!({"name": "log", "offer": "LOG", "script_id": script["id"],
                   "calling_windows": all_day_windows()}),
        )
        .await
        .body;
    let id = campaign["id"].as_i64().unwrap();
    api.import_csv(
        id,
        "phone,name\n13812345678,王芳\n13987654321,李雷\nbad-phone-13700001111,x\n",
    )
    .await;
    api.post("/v1/dnc", SECRET, json!({"phone": "13987654321"}))
        .await;
    api.get("/v1/dnc?phone=13987654321", SECRET).await;
    api.call(
        Method::DELETE,
        "/v1/dnc/13987654321?reason=asked",
        Some(SECRET),
        Value::Null,
    )
    .await;
    api.post(&format!("/v1/campaigns/{id}/start"), SECRET, Value::Null)
        .await;
    let agent = api
        .post("/v1/agents", SECRET, json!({"name": "log agent"}))
        .await
        .body;
    let token = agent["token"].as_str().unwrap().to_owned();
    api.sign_in(&token).await;
    let call = api.next(&token).await.body;
    let call_id = call["call"]["id"].as_i64().unwrap();
    api.outcome(
        &token,
        call_id,
        json!({"disposition": "do_not_call", "notes": "客户 13812345678 要求"}),
    )
    .await;
    api.get("/v1/agents", "oc_wrong_token_for_the_log").await;
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

crate::backend_tests!(
    mod log_sqlite, log_postgres;
    the_log_of_a_full_run_has_no_phone_numbers_or_tokens,
);

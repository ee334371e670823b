//! Script renders under hostile input (issue #24): a hand-out's render is stored with its call
//! and a retried `next` answers from it; what a template builds is bounded; compiles run on
//! the render pool, never on the request threads; a version that ran past its budget is not
//! rendered again.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Runs `sql` with `text` and `id` bound as `$1`, `$2` on the test's database, on a connection
/// of its own: how a body saved before today's checks, or data changed behind the API, gets in.
async fn exec(app: &TestApp, sql: &'static str, text: &str, id: i64) {
    use sqlx::Connection;
    let url = &app.database_url;
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(sql)
            .bind(text)
            .bind(id)
            .execute(&mut c)
            .await
            .unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql)
            .bind(text)
            .bind(id)
            .execute(&mut c)
            .await
            .unwrap();
    }
}

/// Replaces the body of every version of a script, bypassing the save checks: a script saved
/// before a check existed.
async fn poison(app: &TestApp, script: i64, body: &str) {
    exec(
        app,
        "UPDATE script_versions SET body = $1 WHERE script_id = $2",
        body,
        script,
    )
    .await;
}

/// A body the engine evaluates while it compiles (a constant expression), for seconds.
const SLOW_TO_COMPILE: &str = "您好{{ attributes.plan }}{{ -1 in ([0] * 10000) * 10000 }}";

/// A body whose render is one engine operation that runs for seconds.
const SLOW_TO_RENDER: &str = "您好{{ -1 in range(100000) * 1000 }}";

/// The script of the review: saves under the old checks, needs gigabytes for a large `n`.
const DOUBLING: &str = "{% set s = \"x\" * (attributes.n|int) %}{% set s = s ~ s %}\
                        {% set s = s ~ s %}{% set s = s ~ s %}{{ s|length }}";

fn peak_memory_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn a_retried_next_returns_the_script_as_rendered_at_hand_out_without_rendering_again(
    app: TestApp,
) {
    let script = app
        .script("您好{{ name }}，您的套餐是{{ attributes.plan }}")
        .await;
    let csv = "phone,name,plan\n13800138000,王芳,全球通 88\n";
    app.running_campaign(json!({"script_id": script}), csv)
        .await;
    let (_, agent) = app.agent("张伟", None).await;
    let (call, _, first) = app.take(&agent).await;
    assert_eq!(first["script"]["text"], "您好王芳，您的套餐是全球通 88");
    let contact = first["contact"]["id"].as_i64().unwrap();
    exec(
        &app,
        "UPDATE contacts SET attributes = $1 WHERE id = $2",
        r#"{"plan":"改过"}"#,
        contact,
    )
    .await;
    let again = app.next(&agent).await;
    again.expect(StatusCode::OK);
    assert_eq!(again.body["call"]["id"], call);
    assert_eq!(
        again.body["script"]["text"],
        "您好王芳，您的套餐是全球通 88"
    );
    assert_eq!(again.body["script"]["failed"], false);
}

async fn a_script_that_doubles_a_huge_string_is_refused_and_a_stored_one_fails_its_render_in_bounded_memory(
    app: TestApp,
) {
    let lead = app.token("lead").await;
    let r = app
        .post(
            "/v1/scripts",
            &lead,
            json!({"name": "big", "body": DOUBLING}),
        )
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "body");
    let script = app.script("您好").await;
    poison(&app, script, DOUBLING).await;
    let csv = "phone,name,n\n13800138000,王芳,100000000\n";
    app.running_campaign(json!({"script_id": script}), csv)
        .await;
    let (_, agent) = app.agent("张伟", None).await;
    let started = Instant::now();
    let (_, _, call) = app.take(&agent).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(call["script"]["failed"], true, "{call}");
    assert_eq!(call["script"]["text"], DOUBLING);
    assert!(call["script"]["error"].is_string(), "{call}");
    app.call(Method::GET, "/healthz", None, Value::Null)
        .await
        .expect(StatusCode::OK);
    // The whole test process, other tests included: far below the gigabytes of the render.
    let peak = peak_memory_kib();
    assert!(peak < 768 * 1024, "peak memory {peak} KiB");
}

async fn listing_campaigns_with_a_slow_compiling_script_does_not_hold_up_an_agents_next(
    app: TestApp,
) {
    let slow = app.script("您好{{ attributes.plan }}").await;
    poison(&app, slow, SLOW_TO_COMPILE).await;
    // A campaign nobody calls yet, that its viewers see with its warnings.
    app.campaign(json!({"script_id": slow})).await;
    let ok = app.script("您好{{ name }}").await;
    app.running_campaign(json!({"script_id": ok}), "phone,name\n13800138000,王芳\n")
        .await;
    let (_, agent) = app.agent("张伟", None).await;
    let lead = app.token("lead").await;
    let viewers: Vec<_> = (0..4)
        .map(|_| {
            let (client, lead) = (app.client.clone(), lead.clone());
            tokio::spawn(async move { client.get("/v1/campaigns", &lead).await.status })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let (_, _, call) = app.take(&agent).await;
    let took = started.elapsed();
    assert_eq!(call["script"]["text"], "您好王芳");
    assert!(took < Duration::from_millis(1500), "next took {took:?}");
    for viewer in viewers {
        assert_eq!(viewer.await.unwrap(), StatusCode::OK);
    }
    // The version's compile ran past its budget once: views no longer wait for it.
    let started = Instant::now();
    app.get("/v1/campaigns", &lead).await.expect(StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

async fn a_render_past_its_budget_marks_its_version_and_the_next_hand_out_does_not_render_it_again(
    app: TestApp,
) {
    let script = app.script("您好").await;
    poison(&app, script, SLOW_TO_RENDER).await;
    let csv = "phone,name\n13800138000,王芳\n13900139000,李雷\n";
    app.running_campaign(json!({"script_id": script}), csv)
        .await;
    let (_, a) = app.agent("张伟", None).await;
    let (_, b) = app.agent("赵敏", None).await;
    let (_, _, first) = app.take(&a).await;
    let error = first["script"]["error"].as_str().unwrap();
    assert!(error.contains("ms to render"), "{error}");
    let started = Instant::now();
    let (_, _, second) = app.take(&b).await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(second["script"]["failed"], true);
    let error = second["script"]["error"].as_str().unwrap();
    assert!(error.contains("ran past its time budget before"), "{error}");
}

async fn three_saves_of_a_slow_body_differing_by_a_space_are_refused_by_the_guard_quickly(
    app: TestApp,
) {
    let lead = app.token("lead").await;
    let script = app.script("您好").await;
    let path = format!("/v1/scripts/{script}");
    let first = app
        .call(
            Method::PUT,
            &path,
            Some(&lead),
            json!({"body": SLOW_TO_COMPILE}),
        )
        .await;
    first.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "body");
    for spaces in [" ", "  "] {
        let body = format!("{SLOW_TO_COMPILE}{spaces}");
        let started = Instant::now();
        let r = app
            .call(Method::PUT, &path, Some(&lead), json!({"body": body}))
            .await;
        let took = started.elapsed();
        r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "body");
        assert!(
            took < Duration::from_millis(300),
            "refused after {took:?}: {}",
            r.text
        );
    }
}

crate::on_both_backends!(
    a_retried_next_returns_the_script_as_rendered_at_hand_out_without_rendering_again,
    a_script_that_doubles_a_huge_string_is_refused_and_a_stored_one_fails_its_render_in_bounded_memory,
    listing_campaigns_with_a_slow_compiling_script_does_not_hold_up_an_agents_next,
    a_render_past_its_budget_marks_its_version_and_the_next_hand_out_does_not_render_it_again,
    three_saves_of_a_slow_body_differing_by_a_space_are_refused_by_the_guard_quickly,
);

//! Scripts: templates checked at save time (they parse, and render for a sample contact within
//! the engine's limits), versioned on every change; a script that fails only on some contact's
//! data never keeps that call from being handed out, and leads see the failure.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, Client, TestApp, fresh_database},
    process::Server,
};

async fn every_put_makes_a_new_version_and_old_versions_stay_readable(app: TestApp) {
    let lead = app.token("lead").await;
    let created = app
        .post(
            "/v1/scripts",
            &lead,
            json!({"name": "5G 升级", "body": "您好{{ name }}"}),
        )
        .await;
    created.expect(StatusCode::CREATED);
    assert_eq!(created.body["version"], 1);
    let id = created.body["id"].as_i64().unwrap();
    let path = format!("/v1/scripts/{id}");
    let v2 = app
        .call(
            Method::PUT,
            &path,
            Some(&lead),
            json!({"body": "您好{{ name }}，{{ attributes.plan }}"}),
        )
        .await;
    v2.expect(StatusCode::OK);
    assert_eq!(v2.body["version"], 2);
    let v3 = app
        .call(Method::PUT, &path, Some(&lead), json!({"body": "第三版"}))
        .await;
    assert_eq!(v3.body["version"], 3);
    let current = app.get(&path, &lead).await;
    assert_eq!(
        (
            current.body["version"].as_i64(),
            current.body["body"].as_str()
        ),
        (Some(3), Some("第三版"))
    );
    let first = app.get(&format!("{path}/versions/1"), &lead).await;
    first.expect(StatusCode::OK);
    assert_eq!(first.body["body"], "您好{{ name }}");
    app.get(&format!("{path}/versions/4"), &lead)
        .await
        .expect_problem(StatusCode::NOT_FOUND, "");
    app.call(
        Method::PUT,
        "/v1/scripts/424242",
        Some(&lead),
        json!({"body": "x"}),
    )
    .await
    .expect_problem(StatusCode::NOT_FOUND, "");
}

async fn a_template_that_does_not_parse_is_a_422_naming_the_line(app: TestApp) {
    let r = app
        .post(
            "/v1/scripts",
            app.admin(),
            json!({"name": "bad", "body": "第一行\n第二行 {{ name \n第三行"}),
        )
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "body");
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("line 2") || message.starts_with("line 3"),
        "{message}"
    );
    let ok = app
        .post(
            "/v1/scripts",
            app.admin(),
            json!({"name": "ok", "body": "{{ undefined_thing }} is fine"}),
        )
        .await;
    ok.expect(StatusCode::CREATED);
    let id = ok.body["id"].as_i64().unwrap();
    let r = app
        .call(
            Method::PUT,
            &format!("/v1/scripts/{id}"),
            Some(app.admin()),
            json!({"body": "{% for %}"}),
        )
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "body");
    // A refused update leaves the version where it was.
    assert_eq!(
        app.get(&format!("/v1/scripts/{id}"), app.admin())
            .await
            .body["version"],
        1
    );
}

/// Asserts that `body` is refused naming `body` with a message that says `why`, when creating
/// a script and when saving it as a new version of one (which then stays at version 1).
async fn refused_on_post_and_put(app: &TestApp, body: &str, why: &str) {
    let lead = app.token("lead").await;
    let r = app
        .post("/v1/scripts", &lead, json!({"name": "bad", "body": body}))
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "body");
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(why), "{message}");
    let id = app.script("您好{{ name }}").await;
    let path = format!("/v1/scripts/{id}");
    let r = app
        .call(Method::PUT, &path, Some(&lead), json!({"body": body}))
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "body");
    let current = app.get(&path, &lead).await;
    assert_eq!(current.body["version"], 1, "{}", current.text);
}

async fn a_script_with_nested_huge_loops_is_a_422_naming_body_when_saved(app: TestApp) {
    let loops = "{% for i in range(100000) %}{% for j in range(100000) %}{{ name }}\
                 {% endfor %}{% endfor %}";
    refused_on_post_and_put(&app, loops, "steps").await;
    let quiet = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
    refused_on_post_and_put(&app, quiet, "steps").await;
}

async fn a_script_with_a_huge_string_repetition_is_a_422_naming_body_when_saved(app: TestApp) {
    // Ten megabytes of text for every hand-out; and one the engine will not build at all.
    let loop_body = "您好{{ name }}{% for i in range(100) %}{{ 'x' * 100000 }}{% endfor %}";
    refused_on_post_and_put(&app, loop_body, "bytes").await;
    refused_on_post_and_put(&app, "{{ '您好' * 1000000000 }}", "at most 100000").await;
}

async fn a_script_with_an_operator_chain_too_long_for_the_stack_is_a_422_and_the_service_lives_on(
    app: TestApp,
) {
    // 80,000 characters, under the size limit; parsed, it is a tree 40,000 levels deep.
    let body = format!("您好{{{{ name }}}}\n{{{{ {}1 }}}}", "a+".repeat(40_000));
    refused_on_post_and_put(&app, &body, "line 2: a tag with more than 1000 operators").await;
    app.call(Method::GET, "/healthz", None, Value::Null)
        .await
        .expect(StatusCode::OK);
}

async fn ordinary_scripts_render_as_before_and_are_not_marked_failed(app: TestApp) {
    let lead = app.token("lead").await;
    let body = "您好{{ name }}，您的套餐是{{ attributes.plan }}{{ attributes.nope.deeper }}\
                {{ undefined_thing }}。{{ '-' * 3 }}{% for k, v in attributes|items %}{{ k }}:{{ v }};\
                {% endfor %}{{ campaign.offer|default('') != '' }}";
    let script = app.script(body).await;
    let campaign = app
        .running_campaign(
            json!({"script_id": script}),
            "phone,name,plan\n13800138000,王芳,全球通 88\n",
        )
        .await;
    assert!(campaign > 0);
    let (_, agent) = app.agent("张伟", None).await;
    let (_, _, b) = app.take(&agent).await;
    assert_eq!(
        b["script"]["text"],
        "您好王芳，您的套餐是全球通 88。---plan:全球通 88;True"
    );
    assert_eq!(b["script"]["failed"], false);
    assert!(b["script"].get("error").is_none(), "{}", b["script"]);
    let seen = app.get(&format!("/v1/scripts/{script}"), &lead).await;
    assert_eq!(seen.body["render_failures"], json!([]), "{}", seen.text);
}

/// `POST /v1/calls/next` for each agent at once, from a runtime of its own (so its requests
/// answer or time out whatever happens to the server's), asking `/healthz` every 50 ms
/// meanwhile with a 2 s timeout. Returns the hand-outs and the slowest `/healthz` answer, or
/// why `/healthz` did not answer.
fn next_while_probing_health(
    client: &Client,
    agents: [String; 2],
) -> (Vec<Value>, Result<Duration, String>) {
    let client = client.clone();
    let probe = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let done = AtomicBool::new(false);
            let nexts = async {
                let (a, b) = tokio::join!(client.next(&agents[0]), client.next(&agents[1]));
                done.store(true, Ordering::SeqCst);
                vec![a.expect(StatusCode::OK).body.clone(), b.body]
            };
            let health = async {
                let mut slowest = Duration::ZERO;
                while !done.load(Ordering::SeqCst) {
                    let started = Instant::now();
                    let req = client
                        .request(Method::GET, "/healthz", None)
                        .timeout(Duration::from_secs(2));
                    match client.try_send(req).await {
                        Ok(r) if r.status == StatusCode::OK => {}
                        other => return Err(format!("/healthz did not answer: {other:?}")),
                    }
                    slowest = slowest.max(started.elapsed());
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(slowest)
            };
            tokio::join!(nexts, health)
        })
    });
    probe.join().expect("the hand-outs answer")
}

async fn a_script_that_blows_up_for_some_contacts_data_still_hands_the_call_out_marked_failed(
    app: TestApp,
) {
    let lead = app.token("lead").await;
    // Fine for the sample contact (no `loops`), hundreds of millions of steps for these two.
    let body = "您好{{ name }}{% for i in range(attributes.loops|default(0)|int) %}\
                {% for j in range(attributes.loops|default(0)|int) %}{% endfor %}{% endfor %}";
    let script = app.script(body).await;
    let csv = "phone,name,loops\n13800138001,王芳,20000\n13900139002,李雷,20000\n";
    app.running_campaign(json!({"script_id": script}), csv)
        .await;
    let (_, a) = app.agent("张伟", None).await;
    let (_, b) = app.agent("赵敏", None).await;
    let client = Client::with_timeout(app.base.clone(), app.admin(), Duration::from_secs(20));
    let (handed, health) = next_while_probing_health(&client, [a.clone(), b]);
    let slowest = health.expect("/healthz answers while the scripts fail");
    assert!(
        slowest < Duration::from_secs(1),
        "/healthz took {slowest:?}"
    );
    for call in &handed {
        assert_eq!(call["script"]["failed"], true, "{call}");
        assert_eq!(call["script"]["text"], body);
        assert_eq!(call["script"]["version"], 1);
        let error = call["script"]["error"].as_str().unwrap();
        assert!(error.contains("steps"), "{error}");
    }
    // A retried hand-out returns the same call, failed again, and is not counted again.
    let again = app.next(&a).await;
    again.expect(StatusCode::OK);
    assert_eq!(again.body["call"]["id"], handed[0]["call"]["id"]);
    assert_eq!(again.body["script"]["failed"], true);
    let seen = app.get(&format!("/v1/scripts/{script}"), &lead).await;
    seen.expect(StatusCode::OK);
    let failures = &seen.body["render_failures"];
    assert_eq!(failures.as_array().map(Vec::len), Some(1), "{}", seen.text);
    assert_eq!(failures[0]["version"], 1);
    assert_eq!(failures[0]["count"], 2, "{}", seen.text);
    assert!(failures[0]["last_at"].is_string(), "{}", seen.text);
    let last_error = failures[0]["last_error"].as_str().unwrap();
    assert!(last_error.contains("steps"), "{last_error}");
    for digits in ["13800138001", "13900139002"] {
        assert!(
            !seen.text.contains(digits),
            "a phone number in {}",
            seen.text
        );
    }
}

/// The real binary: a body whose render cannot be stopped in the middle (one engine operation
/// over a billion items) is refused after the time budget, and SIGTERM still ends the process
/// promptly while that render runs on.
async fn a_render_running_past_its_budget_is_refused_and_does_not_hold_up_shutdown(
    backend: Backend,
) {
    let (url, _dir) = fresh_database(backend).await;
    let mut server = Server::start(&url, Some("render-budget-secret"));
    let client = server.client("render-budget-secret");
    let body = json!({"name": "slow", "body": "{{ -1 in ([0] * 100000) * 20000 }}"});
    let started = Instant::now();
    let r = client.post("/v1/scripts", client.admin(), body).await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "body");
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("ms to render"), "{message}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    server.terminate();
    assert!(
        server.wait_exit(Duration::from_secs(15)),
        "SIGTERM ends the server cleanly"
    );
}

crate::backend_tests!(
    mod binary_sqlite, binary_postgres;
    a_render_running_past_its_budget_is_refused_and_does_not_hold_up_shutdown,
);

crate::on_both_backends!(
    every_put_makes_a_new_version_and_old_versions_stay_readable,
    a_template_that_does_not_parse_is_a_422_naming_the_line,
    a_script_with_nested_huge_loops_is_a_422_naming_body_when_saved,
    a_script_with_a_huge_string_repetition_is_a_422_naming_body_when_saved,
    a_script_with_an_operator_chain_too_long_for_the_stack_is_a_422_and_the_service_lives_on,
    ordinary_scripts_render_as_before_and_are_not_marked_failed,
    a_script_that_blows_up_for_some_contacts_data_still_hands_the_call_out_marked_failed,
);

//! Surveys (issue 28): questions declared on a script version reach the agent with the call;
//! an outcome's answers are checked against the questions of the version the call was handed
//! out with, required only for `accepted` and `declined`; and they are counted per option in
//! `GET /v1/stats/answers` and exported in `outcomes.csv`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn survey() -> Value {
    json!([
        {"key": "plan", "label": "您现在用的套餐", "type": "choice", "options": ["88元", "128元", "其他"], "required": true},
        {"key": "apps", "label": "常用的应用", "type": "multi", "options": ["微信", "抖音", "淘宝"], "required": false},
        {"key": "spend", "label": "每月话费（元）", "type": "number", "required": false},
        {"key": "remark", "label": "其他意见", "type": "text", "required": false}
    ])
}

/// A running campaign whose script asks [`survey`], with `csv`'s contacts; answers (campaign,
/// script id).
async fn surveyed_campaign(app: &TestApp, csv: &str) -> (i64, i64) {
    let script = app
        .create(
            "/v1/scripts",
            json!({"name": "市场调查", "body": "您好{{ name }}", "questions": survey()}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let campaign = app.campaign(json!({"script_id": script})).await;
    app.import_csv(campaign, csv).await.expect(StatusCode::OK);
    app.start_campaign(campaign).await;
    (campaign, script)
}

async fn a_script_version_carries_its_questions_to_the_agent_with_the_call(app: TestApp) {
    let lead = app.token("lead").await;
    let (_, script) = surveyed_campaign(&app, "phone,name\n13800138000,王芳\n").await;
    let path = format!("/v1/scripts/{script}");
    let got = app.get(&path, &lead).await;
    got.expect(StatusCode::OK);
    assert_eq!(got.body["questions"], survey(), "{}", got.text);

    // A new version without questions asks what the previous one asked; with them, its own.
    let v2 = app
        .call(Method::PUT, &path, Some(&lead), json!({"body": "第二版"}))
        .await;
    v2.expect(StatusCode::OK);
    assert_eq!(v2.body["questions"], survey(), "{}", v2.text);
    let asked = json!([{"key": "satisfied", "label": "满意吗", "type": "choice", "options": ["是", "否"], "required": false}]);
    let v3 = app
        .call(
            Method::PUT,
            &path,
            Some(&lead),
            json!({"body": "第三版", "questions": asked}),
        )
        .await;
    assert_eq!(v3.body["questions"], asked, "{}", v3.text);
    let first = app.get(&format!("{path}/versions/1"), &lead).await;
    assert_eq!(first.body["questions"], survey());

    // The campaign keeps the version it started with, and so does the hand-out.
    let (_, agent) = app.agent("a", None).await;
    let (_, _, body) = app.take(&agent).await;
    assert_eq!(body["script"]["version"], 1, "{body}");
    assert_eq!(body["script"]["questions"], survey(), "{body}");
}

async fn bad_questions_are_422_naming_the_question_and_its_part(app: TestApp) {
    let lead = app.token("lead").await;
    let q = |extra: Value| {
        let mut q = json!({"key": "plan", "label": "套餐", "type": "text"});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            q[k] = v;
        }
        q
    };
    let too_many: Vec<Value> = (0..51)
        .map(|i| json!({"key": format!("q{i}"), "label": "x", "type": "text"}))
        .collect();
    for (questions, field) in [
        (json!("plan"), "questions"),
        (Value::from(too_many), "questions"),
        (json!([q(json!({"key": "Plan"}))]), "questions[0].key"),
        (json!([q(json!({"key": "套餐"}))]), "questions[0].key"),
        (json!([q(json!({"label": ""}))]), "questions[0].label"),
        (
            json!([q(json!({"label": "x".repeat(201)}))]),
            "questions[0].label",
        ),
        (json!([q(json!({"type": "date"}))]), "questions[0].type"),
        (
            json!([q(json!({"type": "choice"}))]),
            "questions[0].options",
        ),
        (
            json!([q(json!({"type": "multi", "options": []}))]),
            "questions[0].options",
        ),
        (
            json!([q(json!({"type": "choice", "options": ["A", "A"]}))]),
            "questions[0].options",
        ),
        (
            json!([q(json!({"options": ["A"]}))]),
            "questions[0].options",
        ),
        (json!([q(json!({"required": 1}))]), "questions[0].required"),
        (json!([q(json!({})), q(json!({}))]), "questions[1].key"),
    ] {
        app.post(
            "/v1/scripts",
            &lead,
            json!({"name": "s", "body": "b", "questions": questions}),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let script = app.script("b").await;
    app.call(
        Method::PUT,
        &format!("/v1/scripts/{script}"),
        Some(&lead),
        json!({"body": "b", "questions": [q(json!({"type": "choice"}))]}),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "questions[0].options");
}

async fn answers_are_checked_against_the_calls_questions_and_required_only_for_accepted_and_declined(
    app: TestApp,
) {
    let (_, script) = surveyed_campaign(&app, "phone\n13800138000\n13800138001\n").await;
    // A later version asks something else; the call keeps the version it was handed out with.
    let lead = app.token("lead").await;
    app.call(
        Method::PUT,
        &format!("/v1/scripts/{script}"),
        Some(&lead),
        json!({"body": "b", "questions": []}),
    )
    .await
    .expect(StatusCode::OK);
    let (_, agent) = app.agent("a", None).await;
    let (call, _, _) = app.take(&agent).await;
    for (answers, field) in [
        (json!({}), "answers.plan"),
        (json!({"plan": "256元"}), "answers.plan"),
        (json!({"plan": ["88元"]}), "answers.plan"),
        (json!({"plan": "88元", "apps": "微信"}), "answers.apps"),
        (json!({"plan": "88元", "apps": ["微博"]}), "answers.apps"),
        (json!({"plan": "88元", "spend": "很多"}), "answers.spend"),
        (json!({"plan": "88元", "remark": 5}), "answers.remark"),
        (json!({"plan": "88元", "age": 40}), "answers.age"),
    ] {
        app.outcome(
            &agent,
            call,
            json!({"disposition": "accepted", "answers": answers}),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    app.outcome(&agent, call, json!({"disposition": "declined"}))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "answers.plan");
    // Not reached: nothing is required, but what is given is still checked.
    app.outcome(
        &agent,
        call,
        json!({"disposition": "no_answer", "answers": {"plan": "x"}}),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "answers.plan");
    app.outcome(&agent, call, json!({"disposition": "no_answer"}))
        .await
        .expect(StatusCode::OK);

    // An outcome retried with its Idempotency-Key answers as first and counts once.
    let (call, _, _) = app.take(&agent).await;
    let body = json!({"disposition": "accepted",
        "answers": {"plan": "128元", "apps": ["抖音", "微信"], "spend": 128}});
    let send = || {
        app.send(
            app.request(
                Method::POST,
                &format!("/v1/calls/{call}/outcome"),
                Some(&agent),
            )
            .header("Idempotency-Key", "survey-1")
            .json(&body),
        )
    };
    let first = send().await;
    first.expect(StatusCode::OK);
    let again = send().await;
    again.expect(StatusCode::OK);
    assert_eq!(again.body, first.body);
}

async fn answers_are_counted_per_option_and_exported_with_the_outcomes(app: TestApp) {
    let (campaign, _) = surveyed_campaign(
        &app,
        "phone,name\n13800138000,王芳\n13800138001,李雷\n13800138002,韩梅\n",
    )
    .await;
    let (_, agent) = app.agent("a", None).await;
    for (disposition, answers) in [
        (
            "accepted",
            json!({"plan": "128元", "apps": ["抖音", "微信"], "spend": 128, "remark": "=1+1"}),
        ),
        (
            "declined",
            json!({"plan": "88元", "apps": ["微信"], "spend": 88.5}),
        ),
        ("callback_free", json!({})),
    ] {
        let (call, _, _) = app.take(&agent).await;
        let body = if disposition == "callback_free" {
            json!({"disposition": "busy"})
        } else {
            json!({"disposition": disposition, "answers": answers})
        };
        app.outcome(&agent, call, body).await.expect(StatusCode::OK);
    }
    let supervisor = app.token("supervisor").await;
    let stats = app
        .get(
            &format!("/v1/stats/answers?campaign={campaign}"),
            &supervisor,
        )
        .await;
    stats.expect(StatusCode::OK);
    let q = &stats.body["questions"];
    assert_eq!(q[0]["key"], "plan", "{}", stats.text);
    assert_eq!(q[0]["count"], 2);
    assert_eq!(
        q[0]["options"],
        json!([{"option": "88元", "count": 1}, {"option": "128元", "count": 1}, {"option": "其他", "count": 0}])
    );
    assert_eq!(q[1]["count"], 2);
    assert_eq!(
        q[1]["options"],
        json!([{"option": "微信", "count": 2}, {"option": "抖音", "count": 1}, {"option": "淘宝", "count": 0}])
    );
    assert_eq!(
        (&q[2]["count"], &q[2]["mean"], &q[2]["min"], &q[2]["max"]),
        (&json!(2), &json!(108.25), &json!(88.5), &json!(128.0))
    );
    assert_eq!(q[3]["count"], 1);
    let before = app
        .get(
            &format!("/v1/stats/answers?campaign={campaign}&to=2020-01-01T00:00:00Z"),
            &supervisor,
        )
        .await;
    assert_eq!(before.body["questions"][0]["count"], 0, "{}", before.text);
    for (query, status, field) in [
        ("", StatusCode::BAD_REQUEST, "campaign"),
        ("campaign=x", StatusCode::BAD_REQUEST, "campaign"),
        ("campaign=987654", StatusCode::NOT_FOUND, ""),
        (
            &*format!("campaign={campaign}&from=soon"),
            StatusCode::BAD_REQUEST,
            "from",
        ),
    ] {
        app.get(&format!("/v1/stats/answers?{query}"), &supervisor)
            .await
            .expect_problem(status, field);
    }
    let (_, agent_token) = app.agent("b", None).await;
    app.get(
        &format!("/v1/stats/answers?campaign={campaign}"),
        &agent_token,
    )
    .await
    .expect(StatusCode::FORBIDDEN);

    let csv = app
        .get(
            &format!("/v1/campaigns/{campaign}/outcomes.csv"),
            app.admin(),
        )
        .await;
    csv.expect(StatusCode::OK);
    let lines: Vec<&str> = csv.text.lines().collect();
    assert!(
        lines[0].ends_with(",answer.plan,answer.apps,answer.spend,answer.remark"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].ends_with(",128元,抖音; 微信,128,'=1+1"),
        "{}",
        lines[1]
    );
    assert!(lines[2].ends_with(",88元,微信,88.5,"), "{}", lines[2]);
    assert!(lines[3].ends_with(",,,,"), "{}", lines[3]);
}

crate::on_both_backends!(
    a_script_version_carries_its_questions_to_the_agent_with_the_call,
    bad_questions_are_422_naming_the_question_and_its_part,
    answers_are_checked_against_the_calls_questions_and_required_only_for_accepted_and_declined,
    answers_are_counted_per_option_and_exported_with_the_outcomes,
);

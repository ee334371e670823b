//! Outcomes: callbacks, validation, idempotency keys, and do-not-call and complaints listing the
//! phone.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn an_agents_callback_waits_for_them_then_opens_to_the_campaign(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (_, mine) = app.agent("mine", None).await;
    let (_, other) = app.agent("other", None).await;
    let (call, _, _) = app.take(&mine).await;
    let r = app
        .outcome(
            &mine,
            call,
            json!({"disposition": "callback", "callback_at": "2026-11-25T12:00:00+08:00"}),
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["contact"]["state"], "scheduled");
    assert_eq!(
        r.body["contact"]["next_attempt_at"],
        "2026-11-25T12:00:00+08:00"
    );
    app.advance(2 * 3600);
    app.next(&other).await.expect(StatusCode::NO_CONTENT);
    app.advance(14 * 60);
    app.next(&other).await.expect(StatusCode::NO_CONTENT);
    app.advance(2 * 60); // past the 15-minute grace
    let (_, _, body) = app.take(&other).await;
    let events: Vec<&str> = body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, vec!["outcome", "callback_opened"]);
}

async fn a_callback_ignores_the_campaign_windows_but_not_the_calling_hours(app: TestApp) {
    let _campaign = app.running_campaign(json!({"calling_windows": [{"days": ["wed"], "start": "09:00", "end": "11:00"}], "max_attempts": 5}), "phone\n13800138000\n").await;
    let (_, agent) = app.agent("a", None).await;
    let (call, _, _) = app.take(&agent).await;
    let late = app
        .outcome(
            &agent,
            call,
            json!({"disposition": "callback", "callback_at": "2026-11-25T21:30:00+08:00"}),
        )
        .await;
    late.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "callback_at");
    let past = app
        .outcome(
            &agent,
            call,
            json!({"disposition": "callback", "callback_at": "2026-11-25T09:00:00+08:00"}),
        )
        .await;
    past.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "callback_at");
    app.outcome(&agent, call, json!({"disposition": "callback"}))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "callback_at");
    app.outcome(&agent, call, json!({"disposition": "callback", "callback_at": "2026-11-25T15:00:00+08:00", "callback_scope": "campaign"}))
        .await
        .expect(StatusCode::OK);
    app.advance(5 * 3600); // 15:00: outside the campaign's window, inside the calling hours
    app.take(&agent).await;
}

async fn bad_outcomes_are_422_naming_the_field(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (_, agent) = app.agent("a", None).await;
    let (call, _, _) = app.take(&agent).await;
    for (body, field) in [
        (json!({"disposition": "maybe"}), "disposition"),
        (json!({}), "disposition"),
        (
            json!({"disposition": "accepted", "notes": "a\u{0000}b"}),
            "notes",
        ),
        (
            json!({"disposition": "accepted", "notes": "x".repeat(4001)}),
            "notes",
        ),
        (
            json!({"disposition": "accepted", "answers": [1]}),
            "answers",
        ),
        (
            json!({"disposition": "accepted", "answers": {"q": "\u{0000}"}}),
            "answers",
        ),
        (
            json!({"disposition": "accepted", "callback_at": "2026-11-25T15:00:00+08:00"}),
            "callback_at",
        ),
        (
            json!({"disposition": "callback", "callback_at": "soon"}),
            "callback_at",
        ),
        (
            json!({"disposition": "callback", "callback_at": "2026-11-25T15:00:00+08:00", "callback_scope": "team"}),
            "callback_scope",
        ),
    ] {
        app.outcome(&agent, call, body)
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    app.outcome(&agent, 987654, json!({"disposition": "accepted"}))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "");
}

async fn the_same_idempotency_key_records_once_and_a_different_body_is_422(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (_, agent) = app.agent("a", None).await;
    let (call, _, _) = app.take(&agent).await;
    let path = format!("/v1/calls/{call}/outcome");
    let send = |body: Value| {
        app.send(
            app.request(Method::POST, &path, Some(&agent))
                .header("Idempotency-Key", "retry-7f3a")
                .json(&body),
        )
    };
    let first = send(json!({"disposition": "accepted", "notes": "签约"})).await;
    first.expect(StatusCode::OK);
    let again = send(json!({"disposition": "accepted", "notes": "签约"})).await;
    again.expect(StatusCode::OK);
    assert_eq!(again.body, first.body, "a replay returns the first answer");
    let other = send(json!({"disposition": "declined"})).await;
    other.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "Idempotency-Key");
    let contact = first.body["contact"]["id"].as_i64().unwrap();
    let page = app
        .get(&format!("/v1/contacts/{contact}"), app.admin())
        .await;
    assert_eq!(
        page.body["history"].as_array().unwrap().len(),
        1,
        "recorded once"
    );
    // Without a key, a second outcome for a finished call is a conflict.
    app.outcome(
        &agent,
        call,
        json!({"disposition": "accepted", "notes": "签约"}),
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "");
}

async fn do_not_call_and_complaint_list_the_phone_and_a_complaint_opens_a_follow_up(app: TestApp) {
    let a = app.campaign(json!({})).await;
    let b = app.campaign(json!({})).await;
    app.import_csv(a, "phone\n13800138000\n13800138001\n").await;
    app.import_csv(b, "phone\n13800138000\n13800138001\n").await;
    app.start_campaign(a).await;
    let (_, agent) = app.agent("王五", None).await;
    let (call, first, _) = app.take(&agent).await;
    app.outcome(&agent, call, json!({"disposition": "do_not_call"}))
        .await
        .expect(StatusCode::OK);
    let (call, second, _) = app.take(&agent).await;
    let r = app
        .outcome(
            &agent,
            call,
            json!({"disposition": "complaint", "notes": "投诉骚扰"}),
        )
        .await;
    assert_eq!(r.body["contact"]["state"], "done");
    for phone in [&first, &second] {
        let listed = app
            .get(
                &format!("/v1/dnc?phone={}", phone.replace('+', "%2B")),
                app.admin(),
            )
            .await;
        assert_eq!(
            listed.body["items"].as_array().unwrap().len(),
            1,
            "{phone} is listed"
        );
    }
    assert_eq!(
        app.contacts(b, Some("suppressed")).await.len(),
        2,
        "listed in every campaign at once"
    );
    app.start_campaign(b).await;
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    let lead = app.token("lead").await;
    let open = app.get("/v1/follow-ups", &lead).await;
    open.expect(StatusCode::OK);
    let items = open.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["notes"], "投诉骚扰");
    assert_eq!(items[0]["due_at"], "2026-11-26T10:00:00+08:00");
    let id = items[0]["id"].as_i64().unwrap();
    let done = app
        .call(
            Method::PATCH,
            &format!("/v1/follow-ups/{id}"),
            Some(&lead),
            json!({"resolved": true, "resolution": "已致歉"}),
        )
        .await;
    done.expect(StatusCode::OK);
    assert!(done.body["resolved_at"].is_string());
    assert_eq!(
        app.get("/v1/follow-ups", &lead).await.body["items"],
        json!([])
    );
    assert_eq!(
        app.get("/v1/follow-ups?state=resolved", &lead).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

crate::on_both_backends!(
    an_agents_callback_waits_for_them_then_opens_to_the_campaign,
    a_callback_ignores_the_campaign_windows_but_not_the_calling_hours,
    bad_outcomes_are_422_naming_the_field,
    the_same_idempotency_key_records_once_and_a_different_body_is_422,
    do_not_call_and_complaint_list_the_phone_and_a_complaint_opens_a_follow_up,
);

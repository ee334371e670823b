//! The agent's loop and every eligibility rule, one at a time, with the manual clock.
//! The clock starts on Wednesday 2026-11-25 at 10:00 in Shanghai (02:00 UTC).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

async fn an_agent_gets_a_call_with_the_rendered_script_and_the_same_call_on_retry(app: TestApp) {
    let offer = app.offer("5G-PLUS").await;
    let script = app
        .script("您好{{ name }}，您的套餐是{{ attributes.plan }}{{ undefined_thing }}。")
        .await;
    let campaign = app
        .campaign(json!({"offer": offer, "script_id": script}))
        .await;
    app.import_csv(campaign, "phone,name,plan\n13800138000,王芳,全球通 88\n")
        .await
        .expect(StatusCode::OK);
    let (_, agent) = app.agent("李雷", None).await;
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    app.start_campaign(campaign).await;
    let r = app.next(&agent).await;
    r.expect(StatusCode::OK);
    let b = &r.body;
    assert_eq!(b["contact"]["phone"], "+8613800138000");
    assert_eq!(b["contact"]["name"], "王芳");
    assert_eq!(b["contact"]["timezone"], "Asia/Shanghai");
    assert_eq!(b["contact"]["attributes"]["plan"], "全球通 88");
    assert_eq!(b["campaign"]["id"], campaign);
    assert_eq!(b["campaign"]["offer"]["code"], "5G-PLUS");
    assert_eq!(b["script"]["text"], "您好王芳，您的套餐是全球通 88。");
    assert_eq!(b["script"]["version"], 1);
    assert_eq!(b["call"]["attempt"], 1);
    assert_eq!(b["call"]["lease_expires_at"], "2026-11-25T10:15:00+08:00");
    assert_eq!(b["history"], json!([]));
    let again = app.next(&agent).await;
    assert_eq!(
        again.body["call"]["id"], b["call"]["id"],
        "holding a call, next returns it again"
    );
    let call = b["call"]["id"].as_i64().unwrap();
    let done = app
        .outcome(
            &agent,
            call,
            json!({"disposition": "no_answer", "notes": "无人接听"}),
        )
        .await;
    done.expect(StatusCode::OK);
    assert_eq!(done.body["contact"]["state"], "scheduled");
    assert_eq!(
        done.body["contact"]["next_attempt_at"],
        "2026-11-25T12:00:00+08:00"
    );
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    app.advance(2 * 3600);
    let (_, _, second) = app.take(&agent).await;
    assert_eq!(second["call"]["attempt"], 2);
    assert_eq!(second["history"][0]["disposition"], "no_answer");
    assert_eq!(second["history"][0]["agent"], "李雷");
    assert_eq!(second["history"][0]["notes"], "无人接听");
}

async fn only_active_campaigns_hand_out_calls(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    app.import_csv(campaign, "phone\n13800138000\n").await;
    let (_, agent) = app.agent("a", None).await;
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    app.start_campaign(campaign).await;
    app.post(
        &format!("/v1/campaigns/{campaign}/pause"),
        app.admin(),
        Value::Null,
    )
    .await
    .expect(StatusCode::OK);
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    app.post(
        &format!("/v1/campaigns/{campaign}/resume"),
        app.admin(),
        Value::Null,
    )
    .await
    .expect(StatusCode::OK);
    let (call, _, _) = app.take(&agent).await;
    app.call(
        Method::POST,
        &format!("/v1/calls/{call}/release"),
        Some(&agent),
        Value::Null,
    )
    .await
    .expect(StatusCode::OK);
    app.post(
        &format!("/v1/campaigns/{campaign}/stop"),
        app.admin(),
        Value::Null,
    )
    .await
    .expect(StatusCode::OK);
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    let lead = app.token("lead").await;
    app.next(&lead)
        .await
        .expect_problem(StatusCode::FORBIDDEN, "");
}

async fn calling_windows_are_read_in_the_contacts_own_time_zone(app: TestApp) {
    let campaign = app.campaign(json!({"calling_windows": [{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "09:00", "end": "12:00"}]})).await;
    app.import_csv(
        campaign,
        "phone,timezone\n13800138000,\n13800138001,Europe/London\n",
    )
    .await
    .expect(StatusCode::OK);
    app.start_campaign(campaign).await;
    let (_, agent) = app.agent("a", None).await;
    let (call, phone, _) = app.take(&agent).await;
    assert_eq!(
        phone, "+8613800138000",
        "10:00 in Shanghai is open; 02:00 in London is not"
    );
    app.outcome(&agent, call, json!({"disposition": "accepted"}))
        .await
        .expect(StatusCode::OK);
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    let london = app.contacts(campaign, Some("scheduled")).await;
    assert_eq!(london.len(), 1);
    assert_eq!(
        london[0]["next_attempt_at"], "2026-11-25T09:00:00+00:00",
        "held until the window opens in London"
    );
    app.advance(7 * 3600); // 09:00 in London
    let (_, phone, _) = app.take(&agent).await;
    assert_eq!(phone, "+8613800138001");
}

async fn the_global_calling_hours_hold_whatever_the_campaign_says(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({}), "phone\n13800138000\n")
        .await; // windows 00:00–24:00
    let (_, agent) = app.agent("a", None).await;
    app.advance(12 * 3600); // 22:00 in Shanghai
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    app.advance(9 * 3600 + 59 * 60); // 07:59
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    app.advance(60); // 08:00
    app.take(&agent).await;
}

async fn a_phone_listed_after_import_is_never_handed_out(app: TestApp) {
    let a = app.campaign(json!({})).await;
    let b = app.campaign(json!({})).await;
    for c in [a, b] {
        app.import_csv(c, "phone\n13800138000\n").await;
        app.start_campaign(c).await;
    }
    app.post("/v1/dnc", app.admin(), json!({"phone": "13800138000"}))
        .await
        .expect(StatusCode::CREATED);
    let (_, agent) = app.agent("a", None).await;
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
}

async fn the_frequency_cap_and_the_gap_hold_across_campaigns(app: TestApp) {
    let a = app
        .campaign(json!({"priority": 90, "retry": {"busy": "1m"}, "max_attempts": 10}))
        .await;
    let b = app
        .campaign(json!({"priority": 10, "retry": {"busy": "1m"}, "max_attempts": 10}))
        .await;
    for c in [a, b] {
        app.import_csv(c, "phone\n13800138000\n").await;
        app.start_campaign(c).await;
    }
    let (_, agent) = app.agent("a", None).await;
    let (call, _, first) = app.take(&agent).await;
    assert_eq!(first["campaign"]["id"], a);
    app.outcome(&agent, call, json!({"disposition": "busy"}))
        .await
        .expect(StatusCode::OK);
    // The gap (1 h by default) holds the same phone back in campaign B too.
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    app.advance(3600);
    let (call, _, second) = app.take(&agent).await;
    app.outcome(&agent, call, json!({"disposition": "busy"}))
        .await
        .expect(StatusCode::OK);
    app.advance(3600);
    let (call, _, third) = app.take(&agent).await;
    assert_ne!(second["campaign"]["id"], Value::Null);
    app.outcome(&agent, call, json!({"disposition": "busy"}))
        .await
        .expect(StatusCode::OK);
    let _ = third;
    // Three attempts in 24 h: the cap (3/24h) is reached in every campaign.
    app.advance(3600);
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    app.advance(19 * 3600);
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    app.advance(3600); // 09:00: 23 h after the first attempt
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    app.advance(3600); // 10:00: 24 h after the first attempt, the cap frees a slot
    app.take(&agent).await;
}

async fn a_contact_is_exhausted_after_max_attempts(app: TestApp) {
    let campaign = app
        .campaign(json!({"max_attempts": 2, "retry": {"no_answer": "1m"}}))
        .await;
    app.import_csv(campaign, "phone\n13800138000\n").await;
    app.start_campaign(campaign).await;
    let (_, agent) = app.agent("a", None).await;
    let (call, _, _) = app.take(&agent).await;
    app.outcome(&agent, call, json!({"disposition": "no_answer"}))
        .await
        .expect(StatusCode::OK);
    app.advance(3600);
    let (call, _, _) = app.take(&agent).await;
    let r = app
        .outcome(&agent, call, json!({"disposition": "no_answer"}))
        .await;
    assert_eq!(r.body["contact"]["state"], "exhausted");
    app.advance(3600);
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    assert_eq!(
        app.contacts(campaign, Some("exhausted")).await[0]["attempts"],
        2
    );
}

async fn teams_limit_who_may_work_a_campaign(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({"teams": ["north"]}), "phone\n13800138000\n")
        .await;
    let (_, south) = app.agent("south", Some("south")).await;
    let (_, nobody) = app.agent("no team", None).await;
    let (_, north) = app.agent("north", Some("north")).await;
    app.next(&south).await.expect(StatusCode::NO_CONTENT);
    app.next(&nobody).await.expect(StatusCode::NO_CONTENT);
    app.take(&north).await;
}

async fn calls_go_out_in_the_contract_order(app: TestApp) {
    let (owner_id, owner) = app.agent("owner", None).await;
    let (_, other) = app.agent("other", None).await;
    let high = app.campaign(json!({"priority": 80})).await;
    let low = app.campaign(json!({"priority": 20})).await;
    app.import_csv(
        high,
        "phone,priority\n13800000001,10\n13800000002,90\n13800000003,50\n",
    )
    .await;
    app.import_csv(
        low,
        &format!("phone,owner_agent\n13900000001,{owner_id}\n13900000002,\n"),
    )
    .await;
    app.start_campaign(high).await;
    app.start_campaign(low).await;
    // The owner gets their own contact first, despite its campaign's lower priority.
    let (call, phone, _) = app.take(&owner).await;
    assert_eq!(phone, "+8613900000001");
    app.outcome(&owner, call, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
    // Everyone else: campaign priority, then contact priority.
    let mut order = vec![];
    for _ in 0..3 {
        let (call, phone, _) = app.take(&other).await;
        order.push(phone);
        let callback_at = "2026-11-25T11:00:00+08:00";
        let body = if order.len() == 1 {
            json!({"disposition": "callback", "callback_at": callback_at})
        } else {
            json!({"disposition": "declined"})
        };
        app.outcome(&other, call, body).await.expect(StatusCode::OK);
    }
    assert_eq!(
        order,
        vec!["+8613800000002", "+8613800000003", "+8613800000001"]
    );
    // At 11:00 the callback comes back to its agent before the remaining contact.
    app.advance(3600);
    let (call, phone, body) = app.take(&other).await;
    assert_eq!(
        phone, "+8613800000002",
        "a due callback of this agent's goes first"
    );
    assert_eq!(body["history"][0]["disposition"], "callback");
    app.outcome(&other, call, json!({"disposition": "accepted"}))
        .await
        .expect(StatusCode::OK);
    let (_, phone, _) = app.take(&other).await;
    assert_eq!(phone, "+8613900000002");
}

async fn an_expired_lease_goes_back_to_the_queue_and_a_late_outcome_is_409(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({"lease": "30s"}), "phone\n13800138000\n")
        .await;
    let (_, first) = app.agent("first", None).await;
    let (_, second) = app.agent("second", None).await;
    let (call, _, _) = app.take(&first).await;
    app.next(&second).await.expect(StatusCode::NO_CONTENT);
    app.advance(31);
    let (again, phone, body) = app.take(&second).await;
    assert_ne!(again, call);
    assert_eq!(phone, "+8613800138000");
    assert_eq!(
        body["call"]["attempt"], 1,
        "an expired lease is not an attempt"
    );
    assert_eq!(body["history"][0]["event"], "lease_expired");
    assert_eq!(body["history"][0]["agent"], "first");
    app.outcome(&first, call, json!({"disposition": "accepted"}))
        .await
        .expect_problem(StatusCode::CONFLICT, "");
    app.call(
        Method::POST,
        &format!("/v1/calls/{call}/heartbeat"),
        Some(&first),
        Value::Null,
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "");
    app.outcome(&second, again, json!({"disposition": "accepted"}))
        .await
        .expect(StatusCode::OK);
    app.outcome(&second, call, json!({"disposition": "accepted"}))
        .await
        .expect_problem(StatusCode::NOT_FOUND, "");
}

async fn an_outcome_after_expiry_counts_while_nobody_else_took_the_contact(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({"lease": "30s"}), "phone\n13800138000\n")
        .await;
    let (_, agent) = app.agent("slow", None).await;
    let (call, _, _) = app.take(&agent).await;
    app.advance(45);
    app.outcome(&agent, call, json!({"disposition": "accepted"}))
        .await
        .expect(StatusCode::OK);
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
}

async fn a_late_outcome_is_409_once_the_person_was_handed_out_in_another_campaign(app: TestApp) {
    // One person in two campaigns; the first campaign outranks the second.
    let first_campaign = app
        .running_campaign(
            json!({"lease": "30s", "priority": 90}),
            "phone\n13800138000\n",
        )
        .await;
    app.running_campaign(
        json!({"lease": "30s", "priority": 10}),
        "phone\n13800138000\n",
    )
    .await;
    let (_, slow) = app.agent("slow", None).await;
    let (_, other) = app.agent("other", None).await;
    let (call, _, _) = app.take(&slow).await;
    app.advance(31);
    app.post(
        &format!("/v1/campaigns/{first_campaign}/pause"),
        app.admin(),
        Value::Null,
    )
    .await
    .expect(StatusCode::OK);
    let (again, phone, body) = app.take(&other).await;
    assert_eq!(phone, "+8613800138000");
    assert_ne!(
        body["campaign"]["id"], first_campaign,
        "handed out through the other campaign"
    );
    // The slow agent's outcome would now overlap the other agent's hold on the same person.
    app.outcome(&slow, call, json!({"disposition": "accepted"}))
        .await
        .expect_problem(StatusCode::CONFLICT, "");
    app.outcome(&other, again, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
}

async fn a_late_outcome_waits_for_a_hand_out_of_the_same_person_in_flight_and_is_409(app: TestApp) {
    use outcall::{
        clock::Clock,
        store::{
            Store,
            dispatch::{Search, Step},
        },
    };
    let first_campaign = app
        .running_campaign(
            json!({"lease": "30s", "priority": 90}),
            "phone\n13800138000\n",
        )
        .await;
    let second_campaign = app
        .running_campaign(
            json!({"lease": "30s", "priority": 10}),
            "phone\n13800138000\n",
        )
        .await;
    let (_, slow) = app.agent("slow", None).await;
    let (other_id, _) = app.agent("other", None).await;
    let (call, _, body) = app.take(&slow).await;
    assert_eq!(body["campaign"]["id"], first_campaign);
    app.advance(31);
    let store = app.running.as_ref().unwrap().store.clone();
    let now = app.clock.now_ms();
    store.reap_expired(now).await.unwrap();
    // A hand-out of the same person through the other campaign, caught before its commit:
    // exactly the statements the dispatcher runs, in one open transaction.
    let mut handout = store.begin().await.unwrap();
    let within = [second_campaign];
    let search = Search {
        step: Step::Campaign(second_campaign),
        agent: other_id,
        within: &within,
        now,
        since: now - 86_400_000,
        cap: 3,
        batch: 16,
    };
    let candidates = store.candidates(&mut handout, &search).await.unwrap();
    assert_eq!(candidates.len(), 1, "the person is free to hand out again");
    let claimed = Store::claim(&mut handout, &candidates[0], other_id, 1, 30_000, now)
        .await
        .unwrap();
    assert!(claimed.is_some(), "the hand-out holds the person");
    let late = {
        let client = app.client.clone();
        tokio::spawn(async move {
            client
                .outcome(&slow, call, json!({"disposition": "accepted"}))
                .await
                .status
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    handout.commit().await.unwrap();
    assert_eq!(
        late.await.unwrap(),
        StatusCode::CONFLICT,
        "the late outcome would overlap the hand-out that committed first"
    );
    let entries = app.contacts(first_campaign, None).await;
    assert_eq!(
        entries[0]["attempts"], 0,
        "the refused outcome counted nothing"
    );
}

async fn an_agent_whose_lease_just_ran_out_gets_a_call_before_the_reaper_passes(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({"lease": "30s"}), "phone\n13800138000\n13800138001\n")
        .await;
    let (_, first) = app.agent("first", None).await;
    let (_, second) = app.agent("second", None).await;
    let (call, _, _) = app.take(&first).await;
    // Another hand-out sweeps just before the lease runs out; the first agent asks again
    // within the quarter second in which hand-outs do not sweep, so the lapsed lease is still
    // recorded as theirs and would make the one-lease-per-agent index refuse every claim.
    app.clock.advance(std::time::Duration::from_millis(29_900));
    app.take(&second).await;
    app.clock.advance(std::time::Duration::from_millis(200));
    let (again, _, body) = app.take(&first).await;
    assert_ne!(again, call, "the lapsed call is not handed back");
    assert_eq!(body["history"][0]["event"], "lease_expired");
}

async fn a_heartbeat_extends_the_lease(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({"lease": "60s"}), "phone\n13800138000\n")
        .await;
    let (_, holder) = app.agent("holder", None).await;
    let (_, other) = app.agent("other", None).await;
    let (call, _, _) = app.take(&holder).await;
    app.advance(50);
    let r = app
        .call(
            Method::POST,
            &format!("/v1/calls/{call}/heartbeat"),
            Some(&holder),
            Value::Null,
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["lease_expires_at"], "2026-11-25T10:01:50+08:00");
    app.advance(50);
    app.next(&other).await.expect(StatusCode::NO_CONTENT);
    app.call(
        Method::POST,
        &format!("/v1/calls/{call}/heartbeat"),
        Some(&other),
        Value::Null,
    )
    .await
    .expect_problem(StatusCode::NOT_FOUND, "");
}

async fn a_released_call_goes_back_unattempted(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (_, a) = app.agent("a", None).await;
    let (_, b) = app.agent("b", None).await;
    let (call, _, _) = app.take(&a).await;
    app.call(
        Method::POST,
        &format!("/v1/calls/{call}/release"),
        Some(&a),
        Value::Null,
    )
    .await
    .expect(StatusCode::OK);
    app.call(
        Method::POST,
        &format!("/v1/calls/{call}/release"),
        Some(&a),
        Value::Null,
    )
    .await
    .expect_problem(StatusCode::CONFLICT, "");
    let (_, _, body) = app.take(&b).await;
    assert_eq!(body["call"]["attempt"], 1);
    assert_eq!(body["history"][0]["event"], "released");
}

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

async fn deactivating_an_agent_releases_their_call(app: TestApp) {
    let _campaign = app
        .running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (id, leaving) = app.agent("leaving", None).await;
    let (_, staying) = app.agent("staying", None).await;
    app.take(&leaving).await;
    app.call(
        Method::PATCH,
        &format!("/v1/agents/{id}"),
        Some(app.admin()),
        json!({"active": false}),
    )
    .await
    .expect(StatusCode::OK);
    app.next(&leaving)
        .await
        .expect_problem(StatusCode::UNAUTHORIZED, "");
    app.take(&staying).await;
}

async fn many_agents_hammering_one_campaign_never_share_a_contact(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let contacts = 300;
    let mut csv = String::from("phone\n");
    for i in 0..contacts {
        csv.push_str(&format!("1380000{i:04}\n"));
    }
    app.import_csv(campaign, &csv).await.expect(StatusCode::OK);
    app.start_campaign(campaign).await;
    let mut agents = vec![];
    for i in 0..50 {
        agents.push(app.agent(&format!("agent {i}"), None).await.1);
    }
    let mut tasks = vec![];
    for token in agents {
        let client = app.client.clone();
        tasks.push(tokio::spawn(async move {
            let mut taken = vec![];
            loop {
                let r = client.next(&token).await;
                match r.status {
                    StatusCode::NO_CONTENT => return taken,
                    StatusCode::OK => {}
                    other => panic!("next answered {other}: {}", r.text),
                }
                let call = r.body["call"]["id"].as_i64().unwrap();
                let phone = r.body["contact"]["phone"].as_str().unwrap().to_owned();
                let r = client
                    .outcome(&token, call, json!({"disposition": "accepted"}))
                    .await;
                assert_eq!(r.status, StatusCode::OK, "outcome: {}", r.text);
                taken.push((call, phone));
            }
        }));
    }
    let mut all = vec![];
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let phones: std::collections::HashSet<_> = all.iter().map(|(_, p)| p.clone()).collect();
    let calls: std::collections::HashSet<_> = all.iter().map(|(c, _)| *c).collect();
    assert_eq!(all.len(), contacts, "every contact called exactly once");
    assert_eq!(phones.len(), contacts, "no contact handed to two agents");
    assert_eq!(calls.len(), contacts);
    assert_eq!(app.contacts(campaign, Some("done")).await.len(), contacts);
}

/// An agent's client that sends `next` twice at once (a retry racing the first request) gets one
/// call, twice: never a call and a "nothing due".
async fn two_nexts_of_one_agent_at_once_get_the_same_call(app: TestApp) {
    let campaign = app.campaign(json!({})).await;
    let rounds = 15;
    let mut csv = String::from("phone\n");
    for i in 0..rounds * 2 {
        csv.push_str(&format!("1370000{i:04}\n"));
    }
    app.import_csv(campaign, &csv).await.expect(StatusCode::OK);
    app.start_campaign(campaign).await;
    let (_, token) = app.agent("twice", None).await;
    let next = || {
        let (client, token) = (app.client.clone(), token.clone());
        async move {
            let r = client.next(&token).await;
            let call = if r.status == StatusCode::OK {
                r.body["call"]["id"].as_i64()
            } else {
                None
            };
            (r.status, call)
        }
    };
    for round in 0..rounds {
        let (a, b) = tokio::join!(next(), next());
        assert_eq!(
            (a.0, b.0),
            (StatusCode::OK, StatusCode::OK),
            "round {round}: {a:?} {b:?}"
        );
        assert_eq!(a.1, b.1, "round {round}: two calls for one agent");
        let r = app
            .outcome(&token, a.1.unwrap(), json!({"disposition": "declined"}))
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
}

crate::on_both_backends!(
    two_nexts_of_one_agent_at_once_get_the_same_call,
    an_agent_gets_a_call_with_the_rendered_script_and_the_same_call_on_retry,
    only_active_campaigns_hand_out_calls,
    calling_windows_are_read_in_the_contacts_own_time_zone,
    the_global_calling_hours_hold_whatever_the_campaign_says,
    a_phone_listed_after_import_is_never_handed_out,
    the_frequency_cap_and_the_gap_hold_across_campaigns,
    a_contact_is_exhausted_after_max_attempts,
    teams_limit_who_may_work_a_campaign,
    calls_go_out_in_the_contract_order,
    an_expired_lease_goes_back_to_the_queue_and_a_late_outcome_is_409,
    a_late_outcome_is_409_once_the_person_was_handed_out_in_another_campaign,
    a_late_outcome_waits_for_a_hand_out_of_the_same_person_in_flight_and_is_409,
    an_outcome_after_expiry_counts_while_nobody_else_took_the_contact,
    an_agent_whose_lease_just_ran_out_gets_a_call_before_the_reaper_passes,
    a_heartbeat_extends_the_lease,
    a_released_call_goes_back_unattempted,
    an_agents_callback_waits_for_them_then_opens_to_the_campaign,
    a_callback_ignores_the_campaign_windows_but_not_the_calling_hours,
    bad_outcomes_are_422_naming_the_field,
    the_same_idempotency_key_records_once_and_a_different_body_is_422,
    do_not_call_and_complaint_list_the_phone_and_a_complaint_opens_a_follow_up,
    deactivating_an_agent_releases_their_call,
    many_agents_hammering_one_campaign_never_share_a_contact,
);

mod two_postgres {
    use super::*;

    /// Two server processes on one PostgreSQL database, agents split between them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_processes_never_hand_one_contact_to_two_agents() {
        let first = TestApp::start(Backend::Postgres).await;
        let second = first.another_process().await;
        let on_second = first.with_base(format!("http://{}", second.addr));
        let campaign = first.campaign(json!({})).await;
        let mut csv = String::from("phone\n");
        for i in 0..200 {
            csv.push_str(&format!("1390000{i:04}\n"));
        }
        first
            .import_csv(campaign, &csv)
            .await
            .expect(StatusCode::OK);
        first.start_campaign(campaign).await;
        let mut tasks = vec![];
        for i in 0..40 {
            let token = first.agent(&format!("agent {i}"), None).await.1;
            let client = if i % 2 == 0 {
                first.client.clone()
            } else {
                on_second.clone()
            };
            tasks.push(tokio::spawn(async move {
                let mut taken = vec![];
                loop {
                    let r = client.next(&token).await;
                    if r.status == StatusCode::NO_CONTENT {
                        return taken;
                    }
                    assert_eq!(r.status, StatusCode::OK);
                    let call = r.body["call"]["id"].as_i64().unwrap();
                    taken.push(r.body["contact"]["phone"].as_str().unwrap().to_owned());
                    let r = client
                        .outcome(&token, call, json!({"disposition": "declined"}))
                        .await;
                    assert_eq!(r.status, StatusCode::OK);
                }
            }));
        }
        let mut all = vec![];
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(all.len(), 200);
        assert_eq!(unique.len(), 200);
        second.shutdown.cancel();
        second.stopped().await.unwrap();
    }
}

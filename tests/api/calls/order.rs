//! Who gets which call, and when: the rendered script, campaign states, calling windows and
//! hours, the do-not-call list, the frequency cap and gap, attempts, teams and the contract
//! order. The clock starts on Wednesday 2026-11-25 at 10:00 in Shanghai (02:00 UTC).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

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
    app.campaign_action(campaign, "pause")
        .await
        .expect(StatusCode::OK);
    app.next(&agent).await.expect(StatusCode::NO_CONTENT);
    app.campaign_action(campaign, "resume")
        .await
        .expect(StatusCode::OK);
    let (call, _, _) = app.take(&agent).await;
    app.release(&agent, call).await.expect(StatusCode::OK);
    app.campaign_action(campaign, "stop")
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

crate::on_both_backends!(
    an_agent_gets_a_call_with_the_rendered_script_and_the_same_call_on_retry,
    only_active_campaigns_hand_out_calls,
    calling_windows_are_read_in_the_contacts_own_time_zone,
    the_global_calling_hours_hold_whatever_the_campaign_says,
    a_phone_listed_after_import_is_never_handed_out,
    the_frequency_cap_and_the_gap_hold_across_campaigns,
    a_contact_is_exhausted_after_max_attempts,
    teams_limit_who_may_work_a_campaign,
    calls_go_out_in_the_contract_order,
);

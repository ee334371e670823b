//! Handle time and occupancy: time from hand-out to outcome, the talk time an agent's phone
//! system reports, wrap-up per call, pauses and the share of working time on calls, per agent
//! in `GET /v1/stats/agents` and in a campaign's `by_agent`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

fn assert_times(stats: &Value) {
    assert_eq!(stats["handle_time_avg_s"], 90.0, "{stats}");
    assert_eq!(stats["talk_time_avg_s"], 45.0, "{stats}");
    assert_eq!(stats["wrap_up_avg_s"], 15.0, "{stats}");
    assert_eq!(stats["paused_s"], 300, "{stats}");
    assert_eq!(stats["occupancy"], 0.913, "{stats}");
}

async fn handle_time_wrap_up_pauses_and_occupancy_show_in_agent_and_campaign_stats(app: TestApp) {
    let campaign = app
        .running_campaign(
            json!({"wrap_up": "30s"}),
            "phone\n13800138000\n13800138001\n",
        )
        .await;
    app.create("/v1/pause-reasons", json!({"name": "break"}))
        .await;
    let (agent_id, agent) = app.agent("agent", None).await;
    app.advance(10);
    let (call, _, _) = app.take(&agent).await;
    app.advance(60);
    app.outcome(
        &agent,
        call,
        json!({"disposition": "accepted", "talk_seconds": 45}),
    )
    .await
    .expect(StatusCode::OK);
    app.advance(40);
    let (call, _, _) = app.take(&agent).await;
    app.advance(120);
    app.outcome(&agent, call, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
    let pause = json!({"state": "paused", "reason": "break"});
    app.post("/v1/agents/me/state", &agent, pause)
        .await
        .expect(StatusCode::OK);
    app.advance(300);
    app.post("/v1/agents/me/state", &agent, json!({"state": "ready"}))
        .await
        .expect(StatusCode::OK);

    let viewer = app.token("viewer").await;
    let board = app.get("/v1/stats/agents", &viewer).await;
    board.expect(StatusCode::OK);
    let mine = &board.body["items"][0];
    assert_eq!(mine["agent"], agent_id);
    assert_eq!(mine["attempts"], 2);
    assert_times(mine);
    let stats = app
        .get(&format!("/v1/stats/campaigns/{campaign}"), &viewer)
        .await;
    stats.expect(StatusCode::OK);
    assert_times(&stats.body["by_agent"][0]);
}

async fn a_talk_time_out_of_range_is_refused_naming_the_field(app: TestApp) {
    app.running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (_, agent) = app.agent("agent", None).await;
    let (call, _, _) = app.take(&agent).await;
    for talk in [json!(-1), json!(86_401), json!("45"), json!(1.5)] {
        app.outcome(
            &agent,
            call,
            json!({"disposition": "accepted", "talk_seconds": talk}),
        )
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "talk_seconds");
    }
    app.outcome(
        &agent,
        call,
        json!({"disposition": "accepted", "talk_seconds": 0}),
    )
    .await
    .expect(StatusCode::OK);
}

/// An agent who walked away from a call and recorded it an hour later, after the lease ran out,
/// did not handle it for an hour: its handle time ends with the lease (30 s here).
async fn a_late_outcome_counts_handle_time_only_until_its_lease_ran_out(app: TestApp) {
    app.running_campaign(
        json!({"lease": "30s", "wrap_up": "0s"}),
        "phone\n13800138000\n13800138001\n",
    )
    .await;
    let (_, agent) = app.agent("agent", None).await;
    let (call, _, _) = app.take(&agent).await;
    app.advance(20);
    app.outcome(&agent, call, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
    let (late, _, _) = app.take(&agent).await;
    app.advance(3_600);
    app.outcome(&agent, late, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
    let viewer = app.token("viewer").await;
    let board = app.get("/v1/stats/agents", &viewer).await;
    board.expect(StatusCode::OK);
    let mine = &board.body["items"][0];
    assert_eq!(mine["attempts"], 2, "{mine}");
    assert_eq!(mine["handle_time_avg_s"], 25.0, "{mine}");
}

/// A wrap-up belongs to its call's campaign: each campaign's `by_agent` counts the wrap-ups
/// after its own calls, while pauses and occupancy stay the agent's own (documented so).
async fn a_campaigns_wrap_up_counts_only_the_wrap_ups_after_its_own_calls(app: TestApp) {
    let long = app
        .running_campaign(json!({"wrap_up": "30s"}), "phone\n13800138000\n")
        .await;
    let (_, agent) = app.agent("agent", None).await;
    let (call, _, _) = app.take(&agent).await;
    app.outcome(&agent, call, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
    app.advance(40);
    app.tick().await;
    let short = app
        .running_campaign(json!({"wrap_up": "10s"}), "phone\n13800138001\n")
        .await;
    let (call, _, _) = app.take(&agent).await;
    app.outcome(&agent, call, json!({"disposition": "declined"}))
        .await
        .expect(StatusCode::OK);
    app.advance(20);
    app.tick().await;

    let viewer = app.token("viewer").await;
    for (campaign, wrap_up) in [(long, 30.0), (short, 10.0)] {
        let stats = app
            .get(&format!("/v1/stats/campaigns/{campaign}"), &viewer)
            .await;
        stats.expect(StatusCode::OK);
        let mine = &stats.body["by_agent"][0];
        assert_eq!(
            mine["wrap_up_avg_s"], wrap_up,
            "campaign {campaign}: {mine}"
        );
        assert_eq!(
            mine["occupancy"], 0.8,
            "the agent's own, 40 s busy of 50: {mine}"
        );
    }
    let board = app.get("/v1/stats/agents", &viewer).await;
    assert_eq!(
        board.body["items"][0]["wrap_up_avg_s"], 20.0,
        "{}",
        board.text
    );
}

crate::on_both_backends!(
    a_late_outcome_counts_handle_time_only_until_its_lease_ran_out,
    handle_time_wrap_up_pauses_and_occupancy_show_in_agent_and_campaign_stats,
    a_talk_time_out_of_range_is_refused_naming_the_field,
    a_campaigns_wrap_up_counts_only_the_wrap_ups_after_its_own_calls,
);

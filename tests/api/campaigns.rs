//! Campaigns: validation, defaults, lifecycle transitions and script versions.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn campaign_fields_are_validated_and_each_error_names_its_field(app: TestApp) {
    let offer = app.offer("V-OFFER").await;
    let script = app.script("hi").await;
    let base = json!({"name": "v", "offer": offer, "script_id": script});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let window =
        |start: &str, end: &str, days: Value| json!([{"days": days, "start": start, "end": end}]);
    let cases = vec![
        (with("timezone", json!("Mars/Olympus")), "timezone"),
        (
            with("calling_windows", window("25:00", "26:00", json!(["mon"]))),
            "calling_windows[0].start",
        ),
        (
            with("calling_windows", window("12:00", "09:00", json!(["mon"]))),
            "calling_windows[0].end",
        ),
        (
            with(
                "calling_windows",
                window("09:00", "12:00", json!(["funday"])),
            ),
            "calling_windows[0].days",
        ),
        (with("calling_windows", json!([])), "calling_windows"),
        (with("lease", json!("15 fortnights")), "lease"),
        (with("lease", json!("1s")), "lease"),
        (with("retry", json!({"busy": "soon"})), "retry.busy"),
        (with("recurrence", json!("0 9 * * *")), "recurrence"),
        (with("recurrence", json!("not cron at all")), "recurrence"),
        (with("priority", json!(0)), "priority"),
        (with("priority", json!(101)), "priority"),
        (with("max_attempts", json!(0)), "max_attempts"),
        (with("start_at", json!("tomorrow")), "start_at"),
        (
            json!({"name": "v", "offer": "NOPE", "script_id": script}),
            "offer",
        ),
        (
            json!({"name": "v", "offer": offer, "script_id": 99999}),
            "script_id",
        ),
        (json!({"offer": offer, "script_id": script}), "name"),
        (
            json!({"name": "", "offer": offer, "script_id": script}),
            "name",
        ),
        (with("teams", json!(["north", ""])), "teams"),
        (
            with("end_at", json!("2026-11-01T00:00:00+08:00"))
                .as_object()
                .cloned()
                .map(|mut o| {
                    o.insert("start_at".into(), json!("2026-11-02T00:00:00+08:00"));
                    Value::Object(o)
                })
                .unwrap(),
            "end_at",
        ),
    ];
    for (body, field) in cases {
        let r = app.post("/v1/campaigns", app.admin(), body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text
        );
        r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, field);
    }
}

async fn a_campaign_starts_as_a_draft_with_sane_defaults(app: TestApp) {
    let offer = app.offer("5G-PLUS").await;
    let script = app.script("您好{{ name }}").await;
    let r = app
        .post(
            "/v1/campaigns",
            app.admin(),
            json!({"name": "5G 升级 — 11月", "offer": offer, "script_id": script}),
        )
        .await;
    r.expect(StatusCode::CREATED);
    let c = &r.body;
    assert_eq!(c["status"], "draft");
    assert_eq!(c["priority"], 50);
    assert_eq!(c["timezone"], "Asia/Shanghai");
    assert_eq!(
        c["calling_windows"],
        json!([{"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "09:00", "end": "21:00"}])
    );
    assert_eq!(c["max_attempts"], 3);
    assert_eq!(
        c["retry"],
        json!({"no_answer": "2h", "busy": "15m", "voicemail": "4h"})
    );
    assert_eq!(c["lease"], "15m");
    assert_eq!(c["teams"], json!([]));
    assert_eq!(c["owner_first"], true);
    assert_eq!(c["offer"], "5G-PLUS");
    assert!(c["script_version"].is_null());
    let id = c["id"].as_i64().unwrap();
    let got = app.get(&format!("/v1/campaigns/{id}"), app.admin()).await;
    assert_eq!(got.body["name"], "5G 升级 — 11月");
    let viewer = app.token("viewer").await;
    app.get("/v1/campaigns?status=draft", &viewer)
        .await
        .expect(StatusCode::OK);
    app.get("/v1/campaigns?status=sleeping", &viewer)
        .await
        .expect_problem(StatusCode::BAD_REQUEST, "status");
}

async fn every_lifecycle_transition_is_allowed_or_a_409(app: TestApp) {
    // From each state, each command: the contract's table.
    type Outcomes<'a> = &'a [(&'a str, Option<&'a str>)];
    let expected: &[(&str, Outcomes)] = &[
        (
            "draft",
            &[
                ("pause", None),
                ("resume", None),
                ("stop", None),
                ("start", Some("active")),
            ],
        ),
        (
            "active",
            &[("start", None), ("resume", None), ("pause", Some("paused"))],
        ),
        (
            "paused",
            &[("start", None), ("pause", None), ("resume", Some("active"))],
        ),
        (
            "completed",
            &[
                ("start", None),
                ("pause", None),
                ("resume", None),
                ("stop", None),
            ],
        ),
    ];
    for (from, commands) in expected {
        for (command, to) in *commands {
            let id = app.campaign(json!({})).await;
            let path = |c: &str| format!("/v1/campaigns/{id}/{c}");
            // Walk to `from`.
            match *from {
                "draft" => {}
                "active" => app.start_campaign(id).await,
                "paused" => {
                    app.start_campaign(id).await;
                    app.post(&path("pause"), app.admin(), Value::Null)
                        .await
                        .expect(StatusCode::OK);
                }
                "completed" => {
                    app.start_campaign(id).await;
                    app.post(&path("stop"), app.admin(), Value::Null)
                        .await
                        .expect(StatusCode::OK);
                }
                _ => unreachable!(),
            }
            let r = app.post(&path(command), app.admin(), Value::Null).await;
            match to {
                Some(status) => {
                    r.expect(StatusCode::OK);
                    assert_eq!(r.body["status"], *status, "{from} --{command}-->");
                }
                None => {
                    r.expect_problem(StatusCode::CONFLICT, "");
                }
            }
        }
    }
    // stop from scheduled, active and paused completes.
    for walk in ["scheduled", "active", "paused"] {
        let extra = if walk == "scheduled" {
            json!({"start_at": "2030-01-01T09:00:00+08:00"})
        } else {
            json!({})
        };
        let id = app.campaign(extra).await;
        let started = app.campaign_action(id, "start").await;
        assert_eq!(
            started.body["status"],
            if walk == "scheduled" {
                "scheduled"
            } else {
                "active"
            }
        );
        if walk == "paused" {
            app.campaign_action(id, "pause")
                .await
                .expect(StatusCode::OK);
        }
        let r = app.campaign_action(id, "stop").await;
        r.expect(StatusCode::OK);
        assert_eq!(r.body["status"], "completed");
    }
    app.post("/v1/campaigns/987654/start", app.admin(), Value::Null)
        .await
        .expect_problem(StatusCode::NOT_FOUND, "");
}

async fn starting_pins_the_script_version_until_the_campaign_is_moved(app: TestApp) {
    let id = app.campaign(json!({})).await;
    let c = app.get(&format!("/v1/campaigns/{id}"), app.admin()).await;
    let script = c.body["script_id"].as_i64().unwrap();
    app.call(
        Method::PUT,
        &format!("/v1/scripts/{script}"),
        Some(app.admin()),
        json!({"body": "v2"}),
    )
    .await
    .expect(StatusCode::OK);
    app.start_campaign(id).await;
    let c = app.get(&format!("/v1/campaigns/{id}"), app.admin()).await;
    assert_eq!(c.body["script_version"], 2);
    app.call(
        Method::PUT,
        &format!("/v1/scripts/{script}"),
        Some(app.admin()),
        json!({"body": "v3"}),
    )
    .await
    .expect(StatusCode::OK);
    let c = app.get(&format!("/v1/campaigns/{id}"), app.admin()).await;
    assert_eq!(
        c.body["script_version"], 2,
        "a running campaign keeps its version"
    );
    let moved = app
        .call(
            Method::PATCH,
            &format!("/v1/campaigns/{id}"),
            Some(app.admin()),
            json!({"script_id": script}),
        )
        .await;
    moved.expect(StatusCode::OK);
    assert_eq!(moved.body["script_version"], 3);
}

async fn patch_changes_only_the_fields_given_and_null_clears_schedules(app: TestApp) {
    let id = app.campaign(json!({"priority": 70, "start_at": "2030-01-01T09:00:00+08:00", "recurrence": "0 0 9 1 * *"})).await;
    let path = format!("/v1/campaigns/{id}");
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(app.admin()),
            json!({"lease": "90s", "teams": ["north", "south"], "retry": {"busy": "5m"}}),
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["lease"], "90s");
    assert_eq!(r.body["teams"], json!(["north", "south"]));
    assert_eq!(
        r.body["retry"],
        json!({"no_answer": "2h", "busy": "5m", "voicemail": "4h"})
    );
    assert_eq!(r.body["priority"], 70);
    assert_eq!(r.body["start_at"], "2030-01-01T09:00:00+08:00");
    assert_eq!(r.body["next_recurrence_at"], "2026-12-01T09:00:00+08:00");
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(app.admin()),
            json!({"start_at": null, "recurrence": null}),
        )
        .await;
    assert!(
        r.body["start_at"].is_null()
            && r.body["recurrence"].is_null()
            && r.body["next_recurrence_at"].is_null()
    );
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(app.admin()),
            json!({"priority": null}),
        )
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "priority");
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(app.admin()),
            json!({"priority": 101}),
        )
        .await;
    r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "priority");
    app.post(&format!("{path}/stop"), app.admin(), Value::Null)
        .await;
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(app.admin()),
            json!({"priority": 10}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "a draft cannot be stopped, so it is still editable: {}",
        r.text
    );
}

async fn the_schedule_preview_lists_the_next_due_times_in_the_zone_and_names_bad_fields(
    app: TestApp,
) {
    // The clock reads Wednesday 2026-11-25 10:00 in Shanghai.
    let lead = app.token("lead").await;
    let r = app
        .get(
            "/v1/schedules/preview?recurrence=0%200%209%201%20*%20*&timezone=Asia/Shanghai&count=3",
            &lead,
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(
        r.body["next"],
        json!([
            "2026-12-01T09:00:00+08:00",
            "2027-01-01T09:00:00+08:00",
            "2027-02-01T09:00:00+08:00"
        ])
    );
    // 02:30 on the day New York springs forward does not exist: it fires once, just after the gap.
    app.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2027, 3, 13, 12, 0, 0).unwrap());
    let r = app
        .get(
            "/v1/schedules/preview?recurrence=0%2030%202%20*%20*%20*&timezone=America/New_York&count=2",
            &lead,
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(
        r.body["next"],
        json!(["2027-03-14T03:00:00-04:00", "2027-03-15T02:30:00-04:00"])
    );
    for (query, field) in [
        ("recurrence=0%200%209", "recurrence"),
        ("recurrence=nonsense%20a%20b%20c%20d%20e", "recurrence"),
        (
            "recurrence=0%200%209%201%20*%20*&timezone=Mars/Olympus",
            "timezone",
        ),
        ("recurrence=0%200%209%201%20*%20*&count=0", "count"),
        ("recurrence=0%200%209%201%20*%20*&count=21", "count"),
    ] {
        app.get(&format!("/v1/schedules/preview?{query}"), &lead)
            .await
            .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let agent = app.agent("a", None).await.1;
    app.get(
        "/v1/schedules/preview?recurrence=0%200%209%201%20*%20*",
        &agent,
    )
    .await
    .expect(StatusCode::FORBIDDEN);
}

crate::on_both_backends!(
    campaign_fields_are_validated_and_each_error_names_its_field,
    a_campaign_starts_as_a_draft_with_sane_defaults,
    every_lifecycle_transition_is_allowed_or_a_409,
    starting_pins_the_script_version_until_the_campaign_is_moved,
    patch_changes_only_the_fields_given_and_null_clears_schedules,
    the_schedule_preview_lists_the_next_due_times_in_the_zone_and_names_bad_fields,
);

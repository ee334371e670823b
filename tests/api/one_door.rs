//! Every change goes through one door, the service's operations: a value already taken is a
//! 409 naming its field in the same words on both backends (never the database's own text),
//! and changes that handlers used to write straight to the store are audited like the rest.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// A 409 naming `field`, whose detail is exactly `detail` on both backends.
fn taken(r: &outcall_client::Reply, field: &str, detail: &str) {
    r.expect_problem(StatusCode::CONFLICT, field);
    assert_eq!(r.body["detail"], detail, "{}", r.text);
    assert!(
        !r.text.contains("UNIQUE") && !r.text.contains("duplicate key"),
        "{}",
        r.text
    );
}

async fn a_value_already_taken_is_a_409_naming_its_field_in_the_same_words_on_both_backends(
    app: TestApp,
) {
    app.create("/v1/pause-reasons", json!({"name": "午休"}))
        .await;
    let again = app
        .post("/v1/pause-reasons", app.admin(), json!({"name": "午休"}))
        .await;
    taken(&again, "name", "name: a pause reason with this name exists");

    app.create("/v1/offers", json!({"code": "5G-PLUS", "name": "5G 套餐"}))
        .await;
    let again = app
        .post(
            "/v1/offers",
            app.admin(),
            json!({"code": "5G-PLUS", "name": "另一个"}),
        )
        .await;
    taken(&again, "code", "code: an offer with this code exists");

    let campaign = app.campaign(json!({})).await;
    let target = json!({"scope": "campaign", "scope_id": campaign.to_string(), "period": "2026-12",
        "metric": "conversions", "goal": 100});
    app.create("/v1/targets", target.clone()).await;
    let again = app.post("/v1/targets", app.admin(), target).await;
    taken(
        &again,
        "period",
        "period: a target for this scope, period and metric exists; PATCH it",
    );
}

async fn audit(app: &TestApp, entity: &str) -> Vec<Value> {
    let page = app
        .get(&format!("/v1/audit?entity={entity}&limit=50"), app.admin())
        .await;
    page.expect(StatusCode::OK);
    page.body["items"].as_array().unwrap().clone()
}

async fn resolving_and_reopening_a_follow_up_is_audited_without_the_phone(app: TestApp) {
    app.running_campaign(json!({}), "phone\n13800138000\n")
        .await;
    let (_, agent) = app.agent("王芳", None).await;
    app.sign_in(&agent).await;
    app.call_through(&agent, "complaint").await;
    let list = app.get("/v1/follow-ups", app.admin()).await;
    let id = list.body["items"][0]["id"].as_i64().expect("a follow-up");
    for (resolved, resolution) in [(true, "已回电致歉"), (false, "客户再次投诉")] {
        app.call(
            Method::PATCH,
            &format!("/v1/follow-ups/{id}"),
            Some(app.admin()),
            json!({"resolved": resolved, "resolution": resolution}),
        )
        .await
        .expect(StatusCode::OK);
    }
    let entries = audit(&app, "follow_up").await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(
        entries
            .iter()
            .all(|e| e["entity_id"].as_str() == Some(id.to_string().as_str())
                && e["action"] == "update"
                && !e.to_string().contains("13800138000")),
        "{entries:?}"
    );
    assert_eq!(
        entries[0]["after"]["resolution"], "客户再次投诉",
        "{entries:?}"
    );
    assert_eq!(
        entries[0]["after"]["resolved_at"],
        Value::Null,
        "{entries:?}"
    );
}

async fn a_value_a_database_check_refuses_is_answered_as_its_field_on_both_backends(app: TestApp) {
    use outcall::{
        ids::TokenId,
        people::{Principal, Role},
        stats::{Metric, Period, TargetScope},
        store::{StoreError, targets::NewTarget},
    };
    // The API validates the goal first; behind it, the database's own check is still named.
    let running = app.running.as_ref().expect("the server runs");
    let admin = Principal {
        token_id: TokenId(1),
        name: "admin".into(),
        role: Role::Admin,
        agent_id: None,
    };
    let target = NewTarget {
        scope: TargetScope::Team,
        scope_id: "深圳二组",
        period: "2026-12".parse::<Period>().unwrap(),
        metric: Metric::Conversions,
        goal: 0,
    };
    let refused = running
        .store
        .target_create(&target, running.service.now(), &admin)
        .await
        .expect_err("a goal of 0 breaks the table's check");
    assert!(
        matches!(refused, StoreError::OutOfRange { field: "goal", .. }),
        "{refused:?}"
    );
}

crate::on_both_backends!(
    a_value_a_database_check_refuses_is_answered_as_its_field_on_both_backends,
    a_value_already_taken_is_a_409_naming_its_field_in_the_same_words_on_both_backends,
    resolving_and_reopening_a_follow_up_is_audited_without_the_phone,
);

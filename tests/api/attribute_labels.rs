//! Attribute labels (issue 26 item 2): a campaign keeps a bounded map from contact attribute
//! keys to what the agent desk shows, settable on create and patch, cleared by null, and
//! handed to the desk with each call.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::TestApp;

async fn a_campaigns_attribute_labels_reach_the_desk_with_the_call(app: TestApp) {
    let labels = json!({"monthly_spend": "月消费", "plan": "套餐"});
    let id = app
        .running_campaign(
            json!({"attribute_labels": labels, "teams": ["一组"]}),
            "phone,monthly_spend,city\n13800138000,156,杭州\n",
        )
        .await;
    let c = app.get(&format!("/v1/campaigns/{id}"), app.admin()).await;
    c.expect(StatusCode::OK);
    assert_eq!(c.body["attribute_labels"], labels, "{}", c.text);
    let (_, agent) = app.agent("王芳", Some("一组")).await;
    let (_, _, call) = app.take(&agent).await;
    assert_eq!(call["campaign"]["attribute_labels"], labels, "{call}");
    assert_eq!(call["contact"]["attributes"]["monthly_spend"], "156");

    let path = format!("/v1/campaigns/{id}");
    let patch = |body| app.call(Method::PATCH, &path, Some(app.admin()), body);
    let r = patch(json!({"attribute_labels": {"city": "城市"}})).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["attribute_labels"], json!({"city": "城市"}));
    let r = patch(json!({"priority": 60})).await;
    assert_eq!(
        r.body["attribute_labels"],
        json!({"city": "城市"}),
        "kept when not given"
    );
    let r = patch(json!({"attribute_labels": null})).await;
    r.expect(StatusCode::OK);
    assert_eq!(r.body["attribute_labels"], json!({}), "null clears");
}

async fn attribute_labels_are_bounded_and_refused_by_name(app: TestApp) {
    let id = app.campaign(json!({})).await;
    let path = format!("/v1/campaigns/{id}");
    let ok = json!({"monthly_spend": "月消费"});
    let r = app
        .call(
            Method::PATCH,
            &path,
            Some(app.admin()),
            json!({"attribute_labels": ok}),
        )
        .await;
    r.expect(StatusCode::OK);
    let many: serde_json::Map<String, serde_json::Value> =
        (0..101).map(|i| (format!("k{i}"), json!("标签"))).collect();
    for bad in [
        json!({"k": ""}),
        json!({" ": "label"}),
        json!({"k": "x".repeat(201)}),
        json!({"k": "a\u{7}b"}),
        json!(many),
        json!({"k": 5}),
        json!(["k"]),
    ] {
        let r = app
            .call(
                Method::PATCH,
                &format!("/v1/campaigns/{id}"),
                Some(app.admin()),
                json!({"attribute_labels": bad}),
            )
            .await;
        assert!(r.status.is_client_error(), "{bad}: {}", r.text);
        assert!(r.text.contains("attribute_labels"), "{bad}: {}", r.text);
    }
}

crate::on_both_backends!(
    a_campaigns_attribute_labels_reach_the_desk_with_the_call,
    attribute_labels_are_bounded_and_refused_by_name,
);

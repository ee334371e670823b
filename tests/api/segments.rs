//! Segments of the customer base: saved (audited), previewed, refused with the path of what is
//! wrong, and added to a campaign with an upload's report, inline or by an import job.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::{
    helpers::{Backend, TestApp},
    on_both_backends,
};

const PEOPLE: &str = "phone,plan,spend\n\
    13800138001,4G,120\n\
    13800138002,4G,99.5\n\
    13800138003,5G,300\n\
    13800138004,4G,n/a\n";

async fn with_people(app: &TestApp) -> i64 {
    let base = app.campaign(json!({})).await;
    let r = app.import_csv(base, PEOPLE).await;
    if r.status == StatusCode::ACCEPTED {
        let id = r.body["id"].as_i64().unwrap();
        app.wait_import(id, Duration::from_millis(50)).await;
    } else {
        r.expect(StatusCode::OK);
    }
    base
}

async fn a_preview_counts_exactly_and_shows_a_sample_to_leads_and_supervisors(app: TestApp) {
    with_people(&app).await;
    let filter = json!({"all": [{"attribute": "plan", "op": "eq", "value": "4G"},
                                {"attribute": "spend", "op": "gt", "value": 100}]});
    let supervisor = app.token("supervisor").await;
    let r = app
        .post(
            "/v1/segments/preview",
            &supervisor,
            json!({ "filter": filter }),
        )
        .await;
    r.expect(StatusCode::OK);
    // 120 > 100 and 99.5 < 100 as numbers; "n/a" is not a number, so it compares as text,
    // after "100".
    assert_eq!(r.body["count"], 2, "{}", r.text);
    assert_eq!(r.body["sample"][0]["phone"], "+8613800138001");
    assert_eq!(r.body["sample"][1]["phone"], "+8613800138004");
    let viewer = app.token("viewer").await;
    app.post("/v1/segments/preview", &viewer, json!({ "filter": filter }))
        .await
        .expect(StatusCode::FORBIDDEN);
}

async fn a_bad_filter_is_refused_naming_its_path(app: TestApp) {
    let lead = app.token("lead").await;
    let bad = json!({"all": [{"called_within": "30d"},
                             {"attribute": "plan", "op": "like", "value": "4G"}]});
    app.post("/v1/segments/preview", &lead, json!({ "filter": bad }))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "filter.all[1].op");
    let deep = (0..9).fold(json!({"called_within": "1d"}), |f, _| json!({ "not": f }));
    app.post(
        "/v1/segments",
        &lead,
        json!({"name": "deep", "filter": deep}),
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY);
}

async fn a_saved_segment_is_listed_and_audited(app: TestApp) {
    let lead = app.token("lead").await;
    let filter = json!({"attribute": "plan", "op": "in", "value": ["4G", "5G"]});
    let created = app
        .post(
            "/v1/segments",
            &lead,
            json!({"name": "4G and 5G", "filter": filter}),
        )
        .await;
    created.expect(StatusCode::CREATED);
    let id = created.body["id"].as_i64().unwrap();
    let list = app.get("/v1/segments", &lead).await;
    assert_eq!(list.body["items"][0]["id"], id, "{}", list.text);
    assert_eq!(list.body["items"][0]["filter"], filter);
    let audit = app
        .get(&format!("/v1/audit?entity=segment&id={id}"), app.admin())
        .await;
    assert_eq!(audit.body["items"][0]["action"], "create", "{}", audit.text);
}

async fn adding_a_segment_reports_listed_phones_suppressed_and_members_duplicates(app: TestApp) {
    with_people(&app).await;
    let lead = app.token("lead").await;
    let target = app.campaign(json!({})).await;
    app.import_csv(target, "phone\n13800138002\n")
        .await
        .expect(StatusCode::OK);
    app.post("/v1/dnc", &lead, json!({"phone": "+8613800138003"}))
        .await
        .expect(StatusCode::CREATED);
    let segment = app
        .post(
            "/v1/segments",
            &lead,
            json!({"name": "everyone", "filter": {"attribute": "plan", "op": "exists"}}),
        )
        .await
        .body["id"]
        .clone();
    let path = format!("/v1/campaigns/{target}/contacts/from-segment");
    let r = app
        .post(
            &path,
            &lead,
            json!({"segment": segment, "list_name": "all plans"}),
        )
        .await;
    r.expect(StatusCode::OK);
    assert_eq!(
        (
            &r.body["total"],
            &r.body["accepted"],
            &r.body["duplicates"],
            &r.body["suppressed"]
        ),
        (&json!(4), &json!(2), &json!(1), &json!(1)),
        "{}",
        r.text
    );
    assert_eq!(app.contacts(target, Some("ready")).await.len(), 3);
    app.post(&path, &lead, json!({"segment": 999_999}))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "segment");
}

async fn small_inline_limit(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| c.import_inline_bytes = 32).await
}

async fn a_large_segment_is_added_by_an_import_job_with_the_same_report(app: TestApp) {
    with_people(&app).await;
    let lead = app.token("lead").await;
    let target = app.campaign(json!({})).await;
    let path = format!("/v1/campaigns/{target}/contacts/from-segment");
    let r = app
        .post(
            &path,
            &lead,
            json!({"filter": {"attribute": "plan", "op": "eq", "value": "4G"}}),
        )
        .await;
    r.expect(StatusCode::ACCEPTED);
    let import = r.body["id"].as_i64().unwrap();
    let done = app.wait_import(import, Duration::from_millis(50)).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["report"]["accepted"], 3, "{done}");
    assert_eq!(app.contacts(target, None).await.len(), 3);
}

on_both_backends!(
    a_preview_counts_exactly_and_shows_a_sample_to_leads_and_supervisors,
    a_bad_filter_is_refused_naming_its_path,
    a_saved_segment_is_listed_and_audited,
    adding_a_segment_reports_listed_phones_suppressed_and_members_duplicates,
);
on_both_backends!(start = super::small_inline_limit; mod sqlite_job, postgres_job;
    a_large_segment_is_added_by_an_import_job_with_the_same_report);

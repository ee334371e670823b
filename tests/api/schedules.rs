//! Campaign schedules acting on their own, driven by the manual clock.

use serde_json::json;

use crate::helpers::TestApp;

async fn a_scheduled_campaign_activates_at_start_at_and_completes_at_end_at(app: TestApp) {
    // The clock starts at 2026-11-25T10:00+08:00.
    let id = app
        .campaign(
            json!({"start_at": "2026-11-25T11:00:00+08:00", "end_at": "2026-11-25T12:00:00+08:00"}),
        )
        .await;
    app.start_campaign(id).await;
    assert_eq!(app.campaign_status(id).await, "scheduled");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        app.campaign_status(id).await,
        "scheduled",
        "nothing happens before start_at"
    );
    app.clock.advance(std::time::Duration::from_secs(3600));
    app.eventually(30, "activation at start_at", || async {
        (app.campaign_status(id).await == "active").then_some(())
    })
    .await;
    app.clock.advance(std::time::Duration::from_secs(3600));
    app.eventually(30, "completion at end_at", || async {
        (app.campaign_status(id).await == "completed").then_some(())
    })
    .await;
}

crate::on_both_backends!(a_scheduled_campaign_activates_at_start_at_and_completes_at_end_at);

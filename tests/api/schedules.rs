//! Campaign schedules acting on their own, driven by the manual clock. The first test and the
//! two-process one wait for the background scheduler, to prove that it acts unprompted; the
//! others run a scheduler tick themselves once the clock has moved.

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
    app.eventually(60, "activation at start_at", || async {
        (app.campaign_status(id).await == "active").then_some(())
    })
    .await;
    app.clock.advance(std::time::Duration::from_secs(3600));
    app.eventually(60, "completion at end_at", || async {
        (app.campaign_status(id).await == "completed").then_some(())
    })
    .await;
}

async fn a_recurrence_reopens_finished_contacts_at_each_due_time(app: TestApp) {
    let id = app
        .campaign(json!({"recurrence": "0 0 12 * * *", "max_attempts": 1}))
        .await;
    app.import_csv(id, "phone\n13800138000\n13800138001\n")
        .await;
    app.start_campaign(id).await;
    let c = app.get(&format!("/v1/campaigns/{id}"), app.admin()).await;
    assert_eq!(c.body["next_recurrence_at"], "2026-11-25T12:00:00+08:00");
    let (_, agent) = app.agent("a", None).await;
    let (call, _, _) = app.take(&agent).await;
    app.outcome(&agent, call, json!({"disposition": "accepted"}))
        .await;
    let (call, _, _) = app.take(&agent).await;
    app.outcome(&agent, call, json!({"disposition": "no_answer"}))
        .await;
    assert_eq!(app.contacts(id, Some("done")).await.len(), 1);
    assert_eq!(app.contacts(id, Some("exhausted")).await.len(), 1);
    app.advance(2 * 3600); // 12:00
    app.tick().await;
    assert_eq!(
        app.contacts(id, Some("ready")).await.len(),
        2,
        "the recurrence re-opens both contacts"
    );
    let c = app.get(&format!("/v1/campaigns/{id}"), app.admin()).await;
    assert_eq!(c.body["next_recurrence_at"], "2026-11-26T12:00:00+08:00");
    assert_eq!(app.contacts(id, Some("ready")).await[0]["attempts"], 0);
    let (_, _, body) = app.take(&agent).await;
    assert_eq!(body["call"]["attempt"], 1);
}

async fn recurrences_follow_wall_clock_time_across_daylight_saving(app: TestApp) {
    // 2027-03-14 in New York: 02:00–03:00 does not exist. 02:30 falls in the gap. The clock
    // only ever moves forward: a scheduler tick already running with the start time must not
    // find this campaign due (a backward jump once made that tick fire it in CI).
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2027-03-13T23:00:00-05:00")
            .unwrap()
            .into(),
    );
    let id = app
        .campaign(json!({"timezone": "America/New_York", "recurrence": "0 30 2 * * *"}))
        .await;
    app.start_campaign(id).await;
    let next = |app: &TestApp| {
        let path = format!("/v1/campaigns/{id}");
        let client = app.client.clone();
        async move {
            client.get(&path, client.admin()).await.body["next_recurrence_at"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        }
    };
    assert_eq!(
        next(&app).await,
        "2027-03-14T03:00:00-04:00",
        "a skipped 02:30 fires right after the gap"
    );
    app.advance(5 * 3600); // 05:00 EDT
    app.tick().await;
    assert_eq!(
        next(&app).await,
        "2027-03-15T02:30:00-04:00",
        "the recurrence fires and moves on"
    );
}

crate::on_both_backends!(
    a_scheduled_campaign_activates_at_start_at_and_completes_at_end_at,
    a_recurrence_reopens_finished_contacts_at_each_due_time,
    recurrences_follow_wall_clock_time_across_daylight_saving,
);

mod two_postgres {
    use super::*;
    use crate::helpers::Backend;

    /// Two processes on one database: every due time acts once, whichever process sees it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_processes_act_once_per_due_time() {
        let first = TestApp::start(Backend::Postgres).await;
        let second = first.another_process().await;
        let id = first
            .campaign(json!({"recurrence": "0 */10 * * * *"}))
            .await;
        first.start_campaign(id).await;
        let store = first.running.as_ref().unwrap().store.clone();
        let count = || {
            let store = store.clone();
            async move {
                let events = store
                    .events_after(outcall::ids::EventId(0), 10_000)
                    .await
                    .unwrap();
                events
                    .iter()
                    .filter(|e| {
                        e.payload.contains("recurrence_due_at")
                            && e.payload.contains(&format!("\"campaign\":{id}"))
                    })
                    .count()
            }
        };
        for due in 1..=3 {
            first.advance(600);
            first
                .eventually(60, "the due time is acted on", || async {
                    (count().await >= due).then_some(())
                })
                .await;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert_eq!(
            count().await,
            3,
            "three due times, three actions, across two processes"
        );

        // The claim itself is a compare-and-set: many racers, one winner.
        let id = outcall::ids::CampaignId(id);
        let row = store.campaign_get(id).await.unwrap();
        let due = row.next_recurrence_at.unwrap();
        let mut racers = vec![];
        for _ in 0..16 {
            let s = if racers.len() % 2 == 0 {
                store.clone()
            } else {
                second.store.clone()
            };
            racers.push(tokio::spawn(async move {
                s.campaign_recur(id, due, Some(due.plus_millis(600_000)), due)
                    .await
                    .unwrap()
            }));
        }
        let mut winners = 0;
        for r in racers {
            winners += r.await.unwrap().is_some() as usize;
        }
        assert_eq!(winners, 1);
        second.shutdown.cancel();
        second.stopped().await.unwrap();
    }
}

//! Background work runs on apalis on both backends.

use std::time::Duration;

use crate::helpers::{Backend, TestApp};

async fn the_maintenance_sweep_runs_in_the_background_and_prunes_expired_records(app: TestApp) {
    let store = app.running.as_ref().unwrap().store.clone();
    let now = outcall::clock::Clock::now(&app.clock);
    let token = outcall::ids::TokenId(1);
    let mut tx = store.begin().await.unwrap();
    let answer = outcall::store::idempotency::Remembered {
        request_hash: "h".into(),
        status: 200,
        body: "{}".into(),
    };
    outcall::store::Store::idempotency_put(
        &mut tx,
        token,
        "old-key",
        &answer,
        now.plus_millis(-2 * outcall::store::idempotency::KEEP_MS),
    )
    .await
    .unwrap();
    outcall::store::Store::idempotency_put(&mut tx, token, "fresh-key", &answer, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        // Sweeps may come in a burst (ticks queued while workers were busy), so the one that
        // pruned can be followed by many that found nothing: look far enough back.
        let runs = store.maintenance_recent(10_000).await.unwrap();
        if runs
            .iter()
            .any(|r| r.task == "prune_idempotency" && r.affected >= 1)
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no sweep pruned within 60 s; last runs: {:?}",
            &runs[..runs.len().min(5)]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        store
            .idempotency_get(
                token,
                "old-key",
                now.plus_millis(-10 * outcall::store::idempotency::KEEP_MS)
            )
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .idempotency_get(token, "fresh-key", now)
            .await
            .unwrap()
            .is_some()
    );
}

async fn start_sweeping_every_second(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| c.sweep_every = "1s".parse().unwrap()).await
}

crate::on_both_backends!(
    start = super::start_sweeping_every_second;
    the_maintenance_sweep_runs_in_the_background_and_prunes_expired_records,
);

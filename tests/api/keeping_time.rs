//! The scheduler keeps time under load: with both cores busy on other work, an expired lease is
//! still reaped within a few seconds, every time (it used to run as a queued job whose worker
//! stalled under CPU load, and a watchdog restart cost at least 15 s without reaping).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp};

/// Busy threads on every core (and one more) until the returned flag is set.
fn load_the_cpu() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) + 1;
    for _ in 0..threads {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut x = 0u64;
            while !stop.load(Ordering::Relaxed) {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                std::hint::black_box(x);
            }
        });
    }
    stop
}

async fn expired_leases_are_reaped_within_seconds_while_the_cpu_is_loaded(app: TestApp) {
    let csv: String = std::iter::once("phone".to_owned())
        .chain((0..12).map(|i| format!("1380013{:04}", 8000 + i)))
        .collect::<Vec<_>>()
        .join("\n");
    app.running_campaign(json!({"lease": "1m"}), &csv).await;
    let (_, agent) = app.agent("值班", None).await;
    app.sign_in(&agent).await;
    let stop = load_the_cpu();
    let mut gaps = vec![];
    for _ in 0..6 {
        app.next(&agent).await.expect(StatusCode::OK);
        app.advance(120);
        let expired = Instant::now();
        loop {
            let state = app.get("/v1/agents/me/state", &agent).await;
            if state.body["state"] != "on_call" {
                break;
            }
            assert!(
                expired.elapsed() < Duration::from_secs(20),
                "the lease was not reaped within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        gaps.push(expired.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    let worst = gaps.iter().max().unwrap();
    assert!(
        *worst < Duration::from_secs(4),
        "the largest wait for a reap was {worst:?}: {gaps:?}"
    );
}

async fn start_with_short_gaps(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |c| {
        c.phone_min_gap = "0s".parse().unwrap();
    })
    .await
}

crate::on_both_backends!(
    start = super::start_with_short_gaps;
    expired_leases_are_reaped_within_seconds_while_the_cpu_is_loaded,
);

//! Scripts are rendered in worker processes (issue 24): with the real binary, a script that
//! builds gigabytes kills only its worker, never the server, whose memory stays small; a render
//! past its budget has its worker killed; later renders work.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::{
    helpers::{Backend, fresh_database},
    process::Server,
};

const SECRET: &str = "render-worker-secret";

/// Doubles a string through a copy (`set t = s`, `set s = s ~ t`), which the save checks do
/// not see: 100 bytes doubled 25 times is 3.3 GB.
fn doubling_through_a_copy() -> String {
    let double = "{% set t = s %}{% set s = s ~ t %}".repeat(25);
    format!("您好{{% set s = \"x\" * 100 %}}{double}{{{{ s|length }}}}")
}

/// Joins 30,000 copies of a 100 KB string: 3 GB in one allocation.
const JOIN_OVER_A_BIG_LIST: &str =
    "您好{% set s = \"x\" * 100000 %}{{ ([s] * 30000)|join|length }}";

/// One engine operation over ten billion items: no fuel, no memory, only time.
const SLOW_TO_RENDER: &str = "您好{{ -1 in range(100000) * 100000 }}";

/// The most resident memory the server may ever have had in these tests, in KiB: a few tens
/// of MiB serve them; the doubling script alone needs gigabytes.
const SERVER_PEAK_KIB: u64 = 256 * 1024;

/// Replaces the body of every version of a script behind the API: a body saved before the
/// save checks refused it.
async fn poison(url: &str, script: i64, body: &str) {
    use sqlx::Connection;
    let sql = "UPDATE script_versions SET body = $1 WHERE script_id = $2";
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        let q = sqlx::query(sql).bind(body).bind(script);
        q.execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let q = sqlx::query(sql).bind(body).bind(script);
        q.execute(&mut c).await.unwrap();
    }
}

/// A field of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The render workers the server `pid` runs now.
fn render_workers(pid: u32) -> Vec<u32> {
    let mut found = vec![];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        // The parent's pid is the second field after the command's closing bracket.
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
        let worker = String::from_utf8_lossy(&cmdline).contains("render-worker");
        if parent == Some(pid) && worker && !stat.contains(") Z ") {
            found.push(child);
        }
    }
    found
}

fn alive(pid: u32) -> bool {
    std::fs::metadata(format!("/proc/{pid}")).is_ok()
}

async fn a_script_that_builds_gigabytes_fails_its_render_in_a_worker_and_the_server_stays_up_and_small(
    backend: Backend,
) {
    let (url, _dir) = fresh_database(backend).await;
    // A smaller cap than the default (512 MiB) reaches the cap well within the time budget on
    // a loaded machine and a debug build.
    let mut server = Server::start_env(&url, Some(SECRET), &[("OUTCALL_RENDER_MEMORY_MIB", "128")]);
    let client = server.client(SECRET);
    let pid = server.child.id();
    let script = client.script("您好").await;
    poison(&url, script, &doubling_through_a_copy()).await;
    client
        .running_campaign(
            json!({"script_id": script}),
            "phone,name\n13800138000,王芳\n",
        )
        .await;
    let (_, agent) = client.agent("张伟", None).await;

    let started = Instant::now();
    let r = client.next(&agent).await;
    r.expect(StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server is up"
    );
    client.get("/healthz", SECRET).await.expect(StatusCode::OK);
    let peak = status_kib(pid, "VmHWM:");
    assert!(
        peak < SERVER_PEAK_KIB,
        "the server's peak memory: {peak} KiB"
    );
    assert_eq!(r.body["script"]["failed"], true, "{}", r.body);
    let error = r.body["script"]["error"].as_str().unwrap().to_owned();
    // Its worker dies at the cap, or (the doubling is slow in a debug build on a loaded
    // machine) is killed at the budget before it gets there.
    assert!(
        error.contains("more memory than a script may use") || error.contains("ms to render"),
        "{error}"
    );

    // A healthy campaign's next works.
    let ok = client.script("您好{{ name }}").await;
    client
        .running_campaign(json!({"script_id": ok}), "phone,name\n13900139000,李雷\n")
        .await;
    let (_, other) = client.agent("赵敏", None).await;
    let (_, _, healthy) = client.take(&other).await;
    assert_eq!(healthy["script"]["text"], "您好李雷", "{healthy}");
    assert_eq!(healthy["script"]["failed"], false);

    // A join over a big list reaches the cap at once: the worker's death is the answer.
    let joined = client.script("您好").await;
    poison(&url, joined, JOIN_OVER_A_BIG_LIST).await;
    client
        .running_campaign(
            json!({"script_id": joined}),
            "phone,name\n13700137000,韩梅\n",
        )
        .await;
    let (_, third) = client.agent("钱七", None).await;
    let (_, _, call) = client.take(&third).await;
    let memory = call["script"]["error"].as_str().unwrap();
    assert_eq!(memory, "the script needs more memory than a script may use");

    // A retried next answers the stored error.
    let again = client.next(&agent).await;
    again.expect(StatusCode::OK);
    assert_eq!(again.body["call"]["id"], r.body["call"]["id"]);
    assert_eq!(again.body["script"]["failed"], true);
    assert_eq!(again.body["script"]["error"], error.as_str());
    assert!(status_kib(pid, "VmHWM:") < SERVER_PEAK_KIB);
    server.terminate();
    assert!(
        server.wait_exit(Duration::from_secs(15)),
        "SIGTERM ends it cleanly"
    );
}

async fn a_render_past_its_budget_has_its_worker_killed_and_a_later_render_works(backend: Backend) {
    let (url, _dir) = fresh_database(backend).await;
    let server = Server::start_env(&url, Some(SECRET), &[("OUTCALL_RENDER_WORKERS", "1")]);
    let client = server.client(SECRET);
    let pid = server.child.id();
    // A first hand-out starts the one worker.
    let ok = client.script("您好{{ name }}").await;
    client
        .running_campaign(json!({"script_id": ok}), "phone,name\n13800138000,王芳\n")
        .await;
    let (_, first) = client.agent("张伟", None).await;
    let (_, _, call) = client.take(&first).await;
    assert_eq!(call["script"]["text"], "您好王芳");
    let workers = render_workers(pid);
    assert_eq!(workers.len(), 1, "{workers:?}");
    let worker = workers[0];

    let slow = client.script("您好").await;
    poison(&url, slow, SLOW_TO_RENDER).await;
    client
        .running_campaign(json!({"script_id": slow}), "phone,name\n13900139000,李雷\n")
        .await;
    let (_, second) = client.agent("赵敏", None).await;
    let started = Instant::now();
    let (_, _, call) = client.take(&second).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let error = call["script"]["error"].as_str().unwrap();
    assert!(error.contains("ms to render"), "{error}");
    assert!(
        !alive(worker),
        "the worker that ran past its budget is gone"
    );

    let later = client.script("再见{{ name }}").await;
    client
        .running_campaign(
            json!({"script_id": later}),
            "phone,name\n13700137000,韩梅\n",
        )
        .await;
    let (_, third) = client.agent("钱七", None).await;
    let (_, _, call) = client.take(&third).await;
    assert_eq!(call["script"]["text"], "再见韩梅", "{call}");
    let workers = render_workers(pid);
    assert_eq!(workers.len(), 1, "{workers:?}");
    assert_ne!(workers[0], worker);
}

crate::backend_tests!(
    mod binary_sqlite, binary_postgres;
    a_script_that_builds_gigabytes_fails_its_render_in_a_worker_and_the_server_stays_up_and_small,
    a_render_past_its_budget_has_its_worker_killed_and_a_later_render_works,
);

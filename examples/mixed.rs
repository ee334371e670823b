//! A real floor's mixed load, for `scripts/bench-mixed.sh` (not a test).
//!
//! `mixed URL TOKEN CAMPAIGN IMPORT_ALONE IMPORT_BUSY` first imports `IMPORT_ROWS` contacts into
//! campaign IMPORT_ALONE with nothing else running (the import's time alone), then runs paced
//! agents on CAMPAIGN: an open loop of `RATE` next → outcome cycles a second spread over
//! `AGENTS` agents, `QUIET` seconds alone, then a busy phase of at least `BUSY` seconds in which
//! `WALLBOARDS` dashboards refresh every `WALLBOARD_EVERY` s (the dashboard page's own requests),
//! a Prometheus scraper reads `/metrics` every `SCRAPE_EVERY` s, a lead pages the campaign's
//! contacts every `PAGE_EVERY` s, `SSE` clients follow the live stream, `FLOORS` supervisors'
//! floor pages reload `/v1/floor` every `FLOOR_EVERY` s, and `IMPORT_ROWS` more
//! contacts are imported into IMPORT_BUSY (the busy phase lasts until that import is done).
//! Settings come from the environment; one JSON line of results is printed.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::StreamExt;
use outcall_client::{Client, Method, Reply, StatusCode};
use serde_json::{Value, json};

fn setting(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Latencies in milliseconds, and failures, of one kind of request in one phase.
#[derive(Default)]
struct Timings {
    ms: Vec<f64>,
    errors: u64,
}

impl Timings {
    fn summary(&mut self) -> Value {
        self.ms.sort_by(|a, b| a.total_cmp(b));
        let p = |q: f64| {
            let i = ((self.ms.len() as f64 - 1.0) * q).round().max(0.0) as usize;
            self.ms.get(i).copied().unwrap_or(0.0)
        };
        json!({"n": self.ms.len(), "errors": self.errors, "p50": p(0.5), "p95": p(0.95),
               "p99": p(0.99), "max": self.ms.last().copied().unwrap_or(0.0)})
    }
}

/// Every timing of a run, by phase (0 quiet, 1 busy) where it applies.
#[derive(Default)]
struct Results {
    next: [Timings; 2],
    outcome: [Timings; 2],
    wallboard: Timings,
    metrics: Timings,
    page: Timings,
    floor: Timings,
    sse_events: u64,
}

type Shared = Arc<Mutex<Results>>;

/// When the busy phase starts, and whether the run is over.
#[derive(Clone)]
struct Clock {
    busy_at: Instant,
    done: Arc<std::sync::atomic::AtomicBool>,
}

impl Clock {
    fn phase(&self) -> usize {
        usize::from(Instant::now() >= self.busy_at)
    }
    fn over(&self) -> bool {
        self.done.load(std::sync::atomic::Ordering::SeqCst)
    }
}

async fn timed(api: &Client, req: reqwest::RequestBuilder) -> (f64, Option<Reply>) {
    let started = Instant::now();
    let reply = api.try_send(req).await.ok();
    (started.elapsed().as_secs_f64() * 1000.0, reply)
}

/// One agent of the open loop: cycle `k` of agent `a` of `n` starts at `(k·n + a) / rate` s.
async fn agent(
    api: Client,
    token: String,
    a: usize,
    n: usize,
    rate: f64,
    clock: Clock,
    out: Shared,
) {
    let start = Instant::now();
    let dispositions = [
        "declined",
        "no_answer",
        "accepted",
        "busy",
        "no_answer",
        "declined",
    ];
    for k in 0.. {
        let due = start + Duration::from_secs_f64((k * n + a) as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        if clock.over() {
            return;
        }
        let phase = clock.phase();
        let (ms, r) = timed(
            &api,
            api.request(Method::POST, "/v1/calls/next", Some(&token)),
        )
        .await;
        let call = match &r {
            Some(r) if r.status == StatusCode::OK => r.body["call"]["id"].as_i64(),
            Some(r) if r.status == StatusCode::NO_CONTENT => None,
            _ => {
                out.lock().unwrap().next[phase].errors += 1;
                continue;
            }
        };
        out.lock().unwrap().next[phase].ms.push(ms);
        let Some(call) = call else { continue };
        let body = json!({"disposition": dispositions[k % dispositions.len()]});
        let path = format!("/v1/calls/{call}/outcome");
        let (ms, r) = timed(
            &api,
            api.request(Method::POST, &path, Some(&token)).json(&body),
        )
        .await;
        let mut results = out.lock().unwrap();
        match r {
            Some(r) if r.status == StatusCode::OK => results.outcome[phase].ms.push(ms),
            _ => results.outcome[phase].errors += 1,
        }
    }
}

/// A wall dashboard: what the page reads at each refresh, timed as one refresh.
/// Whether a request succeeded; says on stderr why not (the error counts alone do not).
fn succeeded(what: &str, r: &reqwest::Result<Reply>) -> bool {
    match r {
        Ok(r) if r.status.is_success() => return true,
        Ok(r) => eprintln!("{what}: {} {}", r.status, r.body),
        Err(e) => eprintln!("{what}: {e}"),
    }
    false
}

async fn wallboard(api: Client, every: f64, offset: f64, clock: Clock, out: Shared) {
    tokio::time::sleep(Duration::from_secs_f64(offset)).await;
    let token = api.admin().to_owned();
    while !clock.over() {
        let started = Instant::now();
        let now = chrono::Utc::now();
        let day = (now - chrono::Duration::hours(12)).to_rfc3339();
        let q = |t: String| t.replace('+', "%2B");
        let paths = [
            format!(
                "/v1/stats/offers?from={}&to={}",
                q(day.clone()),
                q(now.to_rfc3339())
            ),
            format!(
                "/v1/stats/agents?from={}&to={}",
                q(day.clone()),
                q(now.to_rfc3339())
            ),
            "/v1/campaigns?limit=100".to_owned(),
            format!(
                "/v1/stats/timeseries?bucket=hour&from={}&to={}",
                q(day),
                q(now.to_rfc3339())
            ),
        ];
        let replies = futures::future::join_all(
            paths
                .iter()
                .map(|p| api.try_send(api.request(Method::GET, p, Some(&token)))),
        )
        .await;
        let mut ok = replies.iter().zip(&paths).all(|(r, p)| succeeded(p, r));
        if let Some(Ok(campaigns)) = replies.get(2) {
            let live: Vec<i64> = campaigns.body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["status"] != "completed" && c["status"] != "draft")
                .filter_map(|c| c["id"].as_i64())
                .collect();
            let stats = futures::future::join_all(live.iter().map(|id| {
                api.try_send(api.request(
                    Method::GET,
                    &format!("/v1/stats/campaigns/{id}"),
                    Some(&token),
                ))
            }))
            .await;
            ok &= stats.iter().all(|r| succeeded("campaign stats", r));
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        {
            let mut results = out.lock().unwrap();
            if ok {
                results.wallboard.ms.push(ms)
            } else {
                results.wallboard.errors += 1
            }
        }
        tokio::time::sleep(Duration::from_secs_f64(every).saturating_sub(started.elapsed())).await;
    }
}

/// Which timings a poller's reads go to.
#[derive(Clone, Copy)]
enum Reads {
    Metrics,
    Page,
    Floor,
}

/// Reads `path` every `every` seconds; `next` turns a reply into the following path (paging).
async fn poll(
    api: Client,
    every: f64,
    mut path: String,
    next: fn(&Value, &str) -> String,
    reads: Reads,
    clock: Clock,
    out: Shared,
) {
    let token = api.admin().to_owned();
    while !clock.over() {
        let started = Instant::now();
        let (ms, r) = timed(&api, api.request(Method::GET, &path, Some(&token))).await;
        {
            let mut results = out.lock().unwrap();
            let timings = match reads {
                Reads::Metrics => &mut results.metrics,
                Reads::Page => &mut results.page,
                Reads::Floor => &mut results.floor,
            };
            match r {
                Some(r) if r.status.is_success() => {
                    timings.ms.push(ms);
                    path = next(&r.body, &path);
                }
                _ => timings.errors += 1,
            }
        }
        tokio::time::sleep(Duration::from_secs_f64(every).saturating_sub(started.elapsed())).await;
    }
}

/// The next page of a contact list, or the first again after the last.
fn next_page(body: &Value, path: &str) -> String {
    let base = path.split("&after=").next().unwrap_or(path);
    match body["next"].as_str() {
        Some(cursor) => format!("{base}&after={cursor}"),
        None => base.to_owned(),
    }
}

/// A live-stream client: counts the bytes of events it reads until the run is over.
async fn follow(api: Client, clock: Clock, out: Shared) {
    let req = api.request(Method::GET, "/v1/events", Some(api.admin()));
    let Ok(response) = req.timeout(Duration::from_secs(3600)).send().await else {
        return;
    };
    let mut body = response.bytes_stream();
    while !clock.over() {
        match tokio::time::timeout(Duration::from_millis(500), body.next()).await {
            Ok(Some(Ok(bytes))) => {
                let events = bytes.windows(6).filter(|w| w == b"event:").count() as u64;
                out.lock().unwrap().sse_events += events;
            }
            Ok(_) => return,
            Err(_) => {}
        }
    }
}

/// Imports `rows` generated contacts (numbered from `first`) and waits until it is done; seconds.
async fn import(api: &Client, campaign: &str, first: usize, rows: usize) -> f64 {
    let mut csv = String::with_capacity(rows * 40);
    csv.push_str("phone,name,plan\n");
    for i in first..first + rows {
        csv.push_str(&format!("17{:09},联系人{i},全球通 88\n", i));
    }
    let started = Instant::now();
    let path = format!("/v1/campaigns/{campaign}/contacts");
    let token = api.admin().to_owned();
    let r = api
        .raw(Method::POST, &path, Some(&token), "text/csv", csv)
        .await;
    if r.status.as_u16() == 202 {
        api.wait_import(r.body["id"].as_i64().unwrap(), Duration::from_millis(250))
            .await;
    } else {
        assert!(r.status.is_success(), "import: {}", r.text);
    }
    started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, token, campaign, alone, busy_campaign) =
        (&args[1], &args[2], &args[3], &args[4], &args[5]);
    let (rate, agents) = (setting("RATE", 100.0), setting("AGENTS", 64.0) as usize);
    let (quiet, busy) = (setting("QUIET", 20.0), setting("BUSY", 30.0));
    let import_rows = setting("IMPORT_ROWS", 1_000_000.0) as usize;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    let api = Client::with_http(http, url.as_str(), token.as_str());
    let import_alone = import(&api, alone, 0, import_rows).await;

    let mut tokens = vec![];
    for i in 0..agents {
        tokens.push(api.agent(&format!("mixed {i}"), None).await.1);
    }
    let out: Shared = Arc::default();
    let clock = Clock {
        busy_at: Instant::now() + Duration::from_secs_f64(quiet),
        done: Arc::default(),
    };
    let mut tasks = vec![];
    for (a, t) in tokens.into_iter().enumerate() {
        tasks.push(tokio::spawn(agent(
            api.clone(),
            t,
            a,
            agents,
            rate,
            clock.clone(),
            out.clone(),
        )));
    }
    tokio::time::sleep_until(clock.busy_at.into()).await;
    let busy_started = Instant::now();
    let every = setting("WALLBOARD_EVERY", 5.0);
    let wallboards = setting("WALLBOARDS", 10.0) as usize;
    for w in 0..wallboards {
        let offset = every * w as f64 / wallboards.max(1) as f64;
        tasks.push(tokio::spawn(wallboard(
            api.clone(),
            every,
            offset,
            clock.clone(),
            out.clone(),
        )));
    }
    let same = |_: &Value, p: &str| p.to_owned();
    tasks.push(tokio::spawn(poll(
        api.clone(),
        setting("SCRAPE_EVERY", 15.0),
        "/metrics".into(),
        same,
        Reads::Metrics,
        clock.clone(),
        out.clone(),
    )));
    let contacts = format!("/v1/campaigns/{campaign}/contacts?limit=50");
    tasks.push(tokio::spawn(poll(
        api.clone(),
        setting("PAGE_EVERY", 1.0),
        contacts,
        next_page,
        Reads::Page,
        clock.clone(),
        out.clone(),
    )));
    // Supervisors' floor pages: each reloads the floor on the live events, at most every 250 ms,
    // which under a working floor's steady events is every 250 ms.
    for _ in 0..setting("FLOORS", 3.0) as usize {
        tasks.push(tokio::spawn(poll(
            api.clone(),
            setting("FLOOR_EVERY", 0.25),
            "/v1/floor".into(),
            same,
            Reads::Floor,
            clock.clone(),
            out.clone(),
        )));
    }
    for _ in 0..setting("SSE", 5.0) as usize {
        tasks.push(tokio::spawn(follow(
            api.clone(),
            clock.clone(),
            out.clone(),
        )));
    }
    let import_busy = import(&api, busy_campaign, import_rows, import_rows).await;
    let left = Duration::from_secs_f64(busy).saturating_sub(busy_started.elapsed());
    tokio::time::sleep(left).await;
    let busy_secs = busy_started.elapsed().as_secs_f64();
    clock.done.store(true, std::sync::atomic::Ordering::SeqCst);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
    }
    let mut r = out.lock().unwrap();
    let cycles = |r: &Results, p: usize| r.outcome[p].ms.len() as f64;
    let (quiet_cycles, busy_cycles) = (cycles(&r, 0) / quiet, cycles(&r, 1) / busy_secs);
    let [nq, nb] = &mut r.next;
    let (next_quiet, next_busy) = (nq.summary(), nb.summary());
    let [oq, ob] = &mut r.outcome;
    let (outcome_quiet, outcome_busy) = (oq.summary(), ob.summary());
    println!(
        "{}",
        json!({
            "rate": rate, "agents": agents, "quiet_seconds": quiet, "busy_seconds": busy_secs,
            "cycles_per_second": {"quiet": quiet_cycles, "busy": busy_cycles},
            "next": {"quiet": next_quiet, "busy": next_busy},
            "outcome": {"quiet": outcome_quiet, "busy": outcome_busy},
            "wallboard": r.wallboard.summary(), "metrics": r.metrics.summary(), "page": r.page.summary(),
            "floor": r.floor.summary(),
            "sse_events": r.sse_events, "import_rows": import_rows,
            "import_seconds": {"alone": import_alone, "busy": import_busy},
        })
    );
}

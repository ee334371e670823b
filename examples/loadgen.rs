//! Load generator for the benchmark scripts under `scripts/` (not a test).
//!
//! - `loadgen import URL TOKEN CAMPAIGN ROWS` uploads ROWS generated contacts (realistic CN
//!   mobile numbers, Chinese names, a few attributes) as one CSV stream and waits for the import.
//! - `loadgen dispatch URL TOKEN AGENTS SECONDS` runs AGENTS simulated agents doing
//!   next → outcome cycles for SECONDS and reports cycles/s and next-call latency.
//! - `loadgen floor URL AGENTS SECONDS` runs the same closed loop of two requests per cycle
//!   against `GET /healthz` (no database): an upper bound for the real cycle on this machine.
//! - `loadgen stats URL TOKEN CAMPAIGN REQUESTS` times campaign stats and time series.
//! - `loadgen reads URL TOKEN REQUESTS PATH…` times each GET path, one request at a time, and
//!   reports its p50 and p99 in the order asked (the first request of each path is a warm-up,
//!   not counted).
//!
//! Each prints one JSON line of results. The requests go through `outcall_client::Client`;
//! the timed loops use its bare requests, so they measure the server, not the client.

use std::time::{Duration, Instant};

use outcall_client::{Client, Method};
use serde_json::{Value, json};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙",
];
const GIVEN: [&str; 12] = [
    "芳", "伟", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰",
];
const PLANS: [&str; 4] = ["全球通 88", "动感地带 38", "神州行 18", "5G 畅享 128"];
const PREFIXES: [&str; 8] = ["138", "139", "135", "136", "150", "158", "187", "188"];

/// The CSV of `rows` contacts (deterministic; phones unique for rows ≤ 80 million). With
/// `ZONE_EVERY=n` in the environment, every n-th contact has a zone of its own (a `timezone`
/// column, empty for the rest). With `ROW_OFFSET=n` the rows are those from the n-th on, so
/// lists for several campaigns hold different people.
pub fn csv(rows: usize) -> String {
    let every: usize = std::env::var("ZONE_EVERY")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let offset: usize = std::env::var("ROW_OFFSET")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let mut out = String::with_capacity(rows * 60);
    out.push_str("phone,name,plan,monthly_spend,city");
    out.push_str(if every > 0 { ",timezone\n" } else { "\n" });
    for i in offset..offset + rows {
        out.push_str(&row(i));
        if every > 0 {
            out.push_str(if i % every == 0 {
                ",Europe/London"
            } else {
                ","
            });
        }
        out.push('\n');
    }
    out
}

/// One contact's row, without its line end.
fn row(i: usize) -> String {
    let prefix = PREFIXES[i % PREFIXES.len()];
    let n = i / PREFIXES.len();
    format!(
        "{prefix}{n:08},{}{},{},{},{}",
        SURNAMES[i % 12],
        GIVEN[(i / 12) % 12],
        PLANS[i % 4],
        30 + (i * 7) % 300,
        if i.is_multiple_of(3) {
            "北京"
        } else {
            "上海"
        }
    )
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .pool_max_idle_per_host(512)
        .build()
        .unwrap();
    // A client of the service at `url` acting with `token`.
    let client = |url: &str, token: &str| Client::with_http(http.clone(), url, token);
    match args.get(1).map(String::as_str) {
        Some("csv") => print!("{}", csv(args[2].parse().unwrap())),
        Some("import") => {
            let (url, token, campaign, rows) = (
                &args[2],
                &args[3],
                &args[4],
                args[5].parse::<usize>().unwrap(),
            );
            let api = client(url, token);
            let body = csv(rows);
            let started = Instant::now();
            let path = format!("/v1/campaigns/{campaign}/contacts");
            let r = api
                .raw(Method::POST, &path, Some(token), "text/csv", body)
                .await;
            let uploaded = started.elapsed().as_secs_f64();
            let report = if r.status.as_u16() == 202 {
                let id = r.body["id"].as_i64().unwrap();
                api.wait_import(id, Duration::from_millis(200)).await["report"].clone()
            } else {
                r.body
            };
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{}",
                json!({"rows": rows, "seconds": secs, "upload_seconds": uploaded, "rows_per_second": rows as f64 / secs,
                       "accepted": report["accepted"], "invalid": report["invalid"].as_array().map(|a| a.len())})
            );
        }
        Some("dispatch") => {
            let (url, token, agents, seconds) = (
                &args[2],
                &args[3],
                args[4].parse::<usize>().unwrap(),
                args[5].parse::<u64>().unwrap(),
            );
            let api = client(url, token);
            let mut tokens = vec![];
            for i in 0..agents {
                let a = api
                    .post(
                        "/v1/agents",
                        token,
                        json!({"name": format!("bench agent {i}")}),
                    )
                    .await
                    .body;
                let agent_token = a["token"].as_str().unwrap().to_owned();
                // A new agent is offline until its desk signs it in.
                api.sign_in(&agent_token).await;
                tokens.push(agent_token);
            }
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let started = Instant::now();
            let mut tasks = vec![];
            for t in tokens {
                let api = api.clone();
                tasks.push(tokio::spawn(async move {
                    let mut lat = vec![];
                    let (mut cycles, mut errors, mut empty) = (0u64, 0u64, 0u64);
                    while Instant::now() < deadline {
                        let t0 = Instant::now();
                        let r = api
                            .request(Method::POST, "/v1/calls/next", Some(&t))
                            .send()
                            .await;
                        let Ok(r) = r else {
                            errors += 1;
                            continue;
                        };
                        let status = r.status().as_u16();
                        let body: Value = if status == 200 {
                            r.json().await.unwrap_or(Value::Null)
                        } else {
                            Value::Null
                        };
                        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                        if status == 204 {
                            empty += 1;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                        if status != 200 {
                            errors += 1;
                            continue;
                        }
                        let call = body["call"]["id"].as_i64().unwrap();
                        let r = api
                            .request(Method::POST, &format!("/v1/calls/{call}/outcome"), Some(&t))
                            .json(&json!({"disposition": "declined", "notes": "bench"}))
                            .send()
                            .await;
                        match r {
                            Ok(r) if r.status().is_success() => cycles += 1,
                            _ => errors += 1,
                        }
                    }
                    (lat, cycles, errors, empty)
                }));
            }
            let (mut lat, mut cycles, mut errors, mut empty) = (vec![], 0, 0, 0);
            for t in tasks {
                let (l, c, e, m) = t.await.unwrap();
                lat.extend(l);
                cycles += c;
                errors += e;
                empty += m;
            }
            let secs = started.elapsed().as_secs_f64();
            lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!(
                "{}",
                json!({"agents": agents, "seconds": secs, "cycles": cycles, "cycles_per_second": cycles as f64 / secs,
                       "next_p50_ms": percentile(&lat, 0.5), "next_p99_ms": percentile(&lat, 0.99), "errors": errors, "empty": empty})
            );
        }
        Some("floor") => {
            // The same closed loop of two requests per cycle against `GET /healthz`, which
            // touches no database: what HTTP alone allows on this machine, whatever the server
            // does behind it.
            let (url, agents, seconds) = (
                &args[2],
                args[3].parse::<usize>().unwrap(),
                args[4].parse::<u64>().unwrap(),
            );
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let started = Instant::now();
            let mut tasks = vec![];
            let api = client(url, "");
            for _ in 0..agents {
                let (http, url) = (api.http.clone(), api.url("/healthz"));
                tasks.push(tokio::spawn(async move {
                    let mut cycles = 0u64;
                    while Instant::now() < deadline {
                        for _ in 0..2 {
                            let r = http.get(&url).send().await.unwrap();
                            assert!(r.status().is_success(), "{url}: {}", r.status());
                            let _ = r.bytes().await;
                        }
                        cycles += 1;
                    }
                    cycles
                }));
            }
            let mut cycles = 0;
            for t in tasks {
                cycles += t.await.unwrap();
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{}",
                json!({"agents": agents, "seconds": secs, "cycles": cycles, "cycles_per_second": cycles as f64 / secs})
            );
        }
        Some("stats") => {
            let (url, token, campaign, n) = (
                &args[2],
                &args[3],
                &args[4],
                args[5].parse::<usize>().unwrap(),
            );
            let api = client(url, token);
            let time = |path: String| {
                let api = api.clone();
                async move {
                    let mut lat = vec![];
                    for _ in 0..n {
                        let t0 = Instant::now();
                        let req = api.request(Method::GET, &path, Some(api.admin()));
                        let r = req.send().await.unwrap();
                        assert!(
                            r.status().is_success(),
                            "{}: {}",
                            api.url(&path),
                            r.status()
                        );
                        let _ = r.bytes().await;
                        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
                    (percentile(&lat, 0.5), percentile(&lat, 0.99))
                }
            };
            let (c50, c99) = time(format!("/v1/stats/campaigns/{campaign}")).await;
            let (t50, t99) = time(format!("/v1/stats/timeseries?campaign={campaign}&bucket=day&from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z")).await;
            println!(
                "{}",
                json!({"campaign_p50_ms": c50, "campaign_p99_ms": c99, "series_p50_ms": t50, "series_p99_ms": t99})
            );
        }
        Some("reads") => {
            let (url, token, n) = (&args[2], &args[3], args[4].parse::<usize>().unwrap());
            let api = client(url, token);
            let mut out = vec![];
            for path in &args[5..] {
                let mut lat = vec![];
                for i in 0..=n {
                    let t0 = Instant::now();
                    let r = api
                        .request(Method::GET, path, Some(api.admin()))
                        .send()
                        .await;
                    let r = r.unwrap();
                    assert!(r.status().is_success(), "{path}: {}", r.status());
                    let _ = r.bytes().await;
                    if i > 0 {
                        lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                    }
                }
                lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
                out.push(json!({"path": path, "p50": percentile(&lat, 0.5), "p99": percentile(&lat, 0.99)}));
            }
            println!("{}", Value::Array(out));
        }
        _ => eprintln!(
            "usage: loadgen csv ROWS | import URL TOKEN CAMPAIGN ROWS | dispatch URL TOKEN AGENTS SECONDS | floor URL AGENTS SECONDS | stats URL TOKEN CAMPAIGN N | reads URL TOKEN N PATH..."
        ),
    }
}

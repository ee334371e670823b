//! Soak load for `scripts/soak` (not a test): many simulated agents working three campaigns
//! for a long time, a lead listing phones on the do-not-call list meanwhile, and the server
//! processes' memory sampled throughout. It keeps the client's ground truth and writes it to
//! OUTDIR for `scripts/soak-check.py`, which makes the assertions.
//!
//! `soak URLS TOKEN AGENTS SECONDS OUTDIR` — URLS is a comma-separated list of server base
//! URLs (agents are spread over them round-robin); TOKEN an admin token. Environment:
//! `SOAK_CONTACTS` (contacts per campaign, default 40,000), `SOAK_PIDS` (comma-separated
//! server process ids whose VmRSS is sampled), `SOAK_SEED`.
//!
//! Files written to OUTDIR:
//! - `setup.json`: campaigns, agents, the pressure rules are the script's;
//! - `holds.jsonl`: one line per hand-out, with client wall-clock times (epoch ms) of the
//!   request, the response, the lease, and how the agent ended the call;
//! - `dnc.jsonl`: one line per lead listing, with the time its 2xx arrived;
//! - `truth.json`: 2xx outcomes per campaign, disposition and agent;
//! - `stats.json`: `GET /v1/stats/campaigns/{id}` from every process after the load;
//! - `rss.jsonl`: `{"t": seconds since the load began, "pid", "rss_kib"}` every 5 s;
//! - `summary.json`: throughput, latency and status counts (also printed).

use std::{
    collections::{BTreeMap, HashMap},
    io::Write,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use outcall_client::{Client, Method, Reply, StatusCode, all_day_windows};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};

const PREFIXES: [&str; 8] = ["138", "139", "135", "136", "150", "158", "187", "188"];
const SURNAMES: [&str; 8] = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵"];
const GIVEN: [&str; 6] = ["芳", "伟", "娜", "敏", "静", "强"];
/// The shortest lease the API accepts.
const LEASE: &str = "10s";
const LEASE_MS: u64 = 10_000;

/// Dispositions an agent records after an ordinary call, with their weights in tenths of a
/// percent of those calls.
const MIX: [(&str, u32); 9] = [
    ("accepted", 80),
    ("declined", 250),
    ("callback", 50),
    ("no_answer", 300),
    ("busy", 100),
    ("voicemail", 100),
    ("wrong_number", 50),
    ("do_not_call", 15),
    ("complaint", 5),
];

fn pick_disposition(rng: &mut impl Rng) -> &'static str {
    let total: u32 = MIX.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total);
    for (d, w) in MIX {
        if r < w {
            return d;
        }
        r -= w;
    }
    unreachable!()
}

/// Row `i` of the generated population: a national CN mobile number.
fn phone(i: usize) -> String {
    format!("{}{:08}", PREFIXES[i % PREFIXES.len()], i / PREFIXES.len())
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

fn rfc3339_ms(s: &str) -> f64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis() as f64)
        .unwrap_or(f64::NAN)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Status counts per route, shared by every task.
#[derive(Default)]
struct Counts {
    by_route: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
    server_errors: AtomicU64,
}

impl Counts {
    fn note(&self, route: &str, status: Result<StatusCode, ()>) {
        let key = match status {
            Ok(s) => {
                if s.is_server_error() {
                    self.server_errors.fetch_add(1, Ordering::Relaxed);
                }
                s.as_u16().to_string()
            }
            Err(()) => "transport".to_owned(),
        };
        *self
            .by_route
            .lock()
            .unwrap()
            .entry(route.to_owned())
            .or_default()
            .entry(key)
            .or_default() += 1;
    }
}

struct Shared {
    counts: Counts,
    deadline: Instant,
    /// Phones recently handed out, for the lead to list some that are being worked.
    recent_phones: Mutex<Vec<String>>,
}

/// A POST to `path` of `api`'s process that is retried on transport errors (with the same
/// Idempotency-Key, if any), so that every request ends with a definite status.
async fn post(
    sh: &Shared,
    route: &str,
    api: &Client,
    path: &str,
    token: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> (StatusCode, Value) {
    for attempt in 0.. {
        let mut req = api.request(Method::POST, path, Some(token));
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        match req.send().await {
            Ok(r) => {
                let status = r.status();
                sh.counts.note(route, Ok(status));
                // An empty (204) or unreadable body reads as `Null`.
                return (status, Reply::from(r).await.body);
            }
            Err(e) => {
                sh.counts.note(route, Err(()));
                if attempt >= 20 {
                    panic!("{route}: giving up after transport errors: {e}");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    unreachable!()
}

/// One agent's results.
#[derive(Default)]
struct AgentRun {
    holds: Vec<Value>,
    next_latency_ms: Vec<f64>,
    /// (campaign, disposition) → outcomes answered 2xx (replays not counted).
    truth: HashMap<(i64, String), u64>,
    cycles: u64,
    empty: u64,
    late_outcomes_ok: u64,
    outcome_conflicts: u64,
    replays_ok: u64,
    replays_mismatch: u64,
}

async fn agent_loop(
    sh: Arc<Shared>,
    api: Client,
    token: String,
    agent: i64,
    seed: u64,
) -> AgentRun {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut run = AgentRun::default();
    let sleep = |ms: u64| tokio::time::sleep(Duration::from_millis(ms));
    while Instant::now() < sh.deadline {
        let send = now_ms();
        let t0 = Instant::now();
        let (status, body) = post(&sh, "next", &api, "/v1/calls/next", &token, None, None).await;
        let recv = now_ms();
        run.next_latency_ms
            .push(t0.elapsed().as_secs_f64() * 1000.0);
        if status == StatusCode::NO_CONTENT {
            run.empty += 1;
            sleep(200).await;
            continue;
        }
        if status != StatusCode::OK {
            sleep(200).await;
            continue;
        }
        let call = body["call"]["id"].as_i64().unwrap();
        let campaign = body["campaign"]["id"].as_i64().unwrap();
        let phone = body["contact"]["phone"].as_str().unwrap_or("").to_owned();
        let mut lease_exp = rfc3339_ms(body["call"]["lease_expires_at"].as_str().unwrap_or(""));
        {
            let mut recent = sh.recent_phones.lock().unwrap();
            if recent.len() >= 256 {
                recent.remove(0);
            }
            recent.push(phone.clone());
        }
        let mut hold = json!({
            "agent": agent, "call": call, "campaign": campaign, "contact": body["contact"]["id"],
            "phone": phone, "attempt": body["call"]["attempt"], "send": send, "recv": recv,
        });
        let heartbeats = |hold: &mut Value, n: u64| hold["heartbeats"] = json!(n);
        let action = rng.random_range(0..100);
        let base = format!("/v1/calls/{call}");
        // 2 %: the agent walks away: no outcome, no heartbeat; the lease must run out.
        if action < 2 {
            hold["action"] = json!("walk_away");
            hold["lease_exp"] = json!(lease_exp);
            run.holds.push(hold);
            sleep(LEASE_MS + rng.random_range(1_000..3_000)).await;
            continue;
        }
        // 4 %: release after a moment.
        if action < 6 {
            sleep(rng.random_range(10..100)).await;
            let end_send = now_ms();
            let (s, _) = post(
                &sh,
                "release",
                &api,
                &format!("{base}/release"),
                &token,
                None,
                None,
            )
            .await;
            hold["action"] = json!("release");
            hold["end_send"] = json!(end_send);
            hold["end_status"] = json!(s.as_u16());
            hold["lease_exp"] = json!(lease_exp);
            run.holds.push(hold);
            continue;
        }
        let late = action < 7;
        let think = if late {
            // 1 %: the agent comes back after the lease ran out and records anyway: counted
            // if nobody took the contact meanwhile, 409 otherwise.
            hold["action"] = json!("late_outcome");
            sleep(LEASE_MS + rng.random_range(500..2_000)).await;
            0
        } else if action < 10 {
            // 3 %: a long call kept alive by heartbeats past the lease length.
            hold["action"] = json!("heartbeats");
            let mut n = 0;
            let until = Instant::now() + Duration::from_millis(rng.random_range(12_000..16_000));
            while Instant::now() < until {
                sleep(3_000).await;
                let (s, v) = post(
                    &sh,
                    "heartbeat",
                    &api,
                    &format!("{base}/heartbeat"),
                    &token,
                    None,
                    None,
                )
                .await;
                if s == StatusCode::OK {
                    lease_exp = rfc3339_ms(v["lease_expires_at"].as_str().unwrap_or(""));
                    n += 1;
                } else {
                    hold["heartbeat_failed"] = json!(s.as_u16());
                    break;
                }
            }
            heartbeats(&mut hold, n);
            0
        } else {
            hold["action"] = json!("outcome");
            rng.random_range(10..100)
        };
        sleep(think).await;
        let disposition = pick_disposition(&mut rng);
        let mut outcome = json!({"disposition": disposition, "notes": "soak 测试"});
        if disposition == "callback" {
            let at = chrono::Utc::now() + chrono::Duration::seconds(rng.random_range(3..20));
            outcome["callback_at"] = json!(at.to_rfc3339());
            if rng.random_bool(0.3) {
                outcome["callback_scope"] = json!("campaign");
            }
        }
        let (key, path) = (format!("soak-{call}"), format!("{base}/outcome"));
        let send = |route| post(&sh, route, &api, &path, &token, Some(&outcome), Some(&key));
        let end_send = now_ms();
        let (s, first) = send("outcome").await;
        let end_recv = now_ms();
        hold["disposition"] = json!(disposition);
        hold["end_send"] = json!(end_send);
        hold["end_recv"] = json!(end_recv);
        hold["end_status"] = json!(s.as_u16());
        hold["lease_exp"] = json!(lease_exp);
        if s.is_success() {
            run.cycles += 1;
            *run.truth
                .entry((campaign, disposition.to_owned()))
                .or_default() += 1;
            if late {
                run.late_outcomes_ok += 1;
            }
            // 2 %: the desktop retries the same outcome (lost response): same answer, counted once.
            if rng.random_range(0..100) < 2 {
                let (s2, again) = send("outcome_replay").await;
                if s2 == s && again == first {
                    run.replays_ok += 1;
                } else {
                    run.replays_mismatch += 1;
                }
            }
        } else if s == StatusCode::CONFLICT {
            run.outcome_conflicts += 1;
        }
        run.holds.push(hold);
    }
    run
}

/// The lead: lists a phone on the do-not-call list every `every`, half of them phones that were
/// handed out moments ago, half anywhere in the campaigns' populations.
async fn lead_loop(
    sh: Arc<Shared>,
    apis: Vec<Client>,
    token: String,
    population: usize,
    every: Duration,
) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut out = vec![];
    let mut i = 0usize;
    while Instant::now() < sh.deadline {
        tokio::time::sleep(every).await;
        let recent = {
            let r = sh.recent_phones.lock().unwrap();
            if r.is_empty() {
                None
            } else {
                Some(r[rng.random_range(0..r.len())].clone())
            }
        };
        let phone = match recent {
            Some(p) if rng.random_bool(0.5) => p,
            _ => format!("+86{}", phone(rng.random_range(0..population))),
        };
        let api = &apis[i % apis.len()];
        i += 1;
        let send = now_ms();
        let (s, _) = post(
            &sh,
            "dnc",
            api,
            "/v1/dnc",
            &token,
            Some(&json!({"phone": phone, "reason": "soak: lead"})),
            None,
        )
        .await;
        out.push(json!({"phone": phone, "send": send, "recv": now_ms(), "status": s.as_u16()}));
    }
    out
}

/// Samples VmRSS of each pid every 5 s until the deadline.
async fn rss_loop(sh: Arc<Shared>, pids: Vec<u32>, started: Instant) -> Vec<Value> {
    let mut out = vec![];
    loop {
        for pid in &pids {
            let kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1))
                        .and_then(|n| n.parse::<u64>().ok())
                });
            out.push(json!({"t": started.elapsed().as_secs_f64(), "pid": pid, "rss_kib": kib}));
        }
        if Instant::now() >= sh.deadline {
            return out;
        }
        let left = sh.deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(left.min(Duration::from_secs(5))).await;
    }
}

/// A set-up POST with `api`'s token that must succeed; its answer.
async fn setup(api: &Client, path: &str, body: Value) -> Value {
    let r = api.post(path, api.admin(), body).await;
    assert!(
        r.status.is_success(),
        "{}: {} {}",
        api.url(path),
        r.status,
        r.body
    );
    r.body
}

/// Uploads rows `from..from + rows` (as CSV) to a campaign, with `api`'s token, and waits for
/// the import.
async fn import(api: &Client, campaign: i64, from: usize, rows: usize, owners: &[i64]) -> Value {
    let mut csv = String::from("phone,name,plan,owner_agent\n");
    for i in from..from + rows {
        let owner = if !owners.is_empty() && i % 10 == 0 {
            owners[i % owners.len()].to_string()
        } else {
            String::new()
        };
        csv.push_str(&format!(
            "{},{}{},5G 畅享 {},{owner}\n",
            phone(i),
            SURNAMES[i % 8],
            GIVEN[i % 6],
            38 + i % 90
        ));
    }
    let r = api.import_csv(campaign, csv).await;
    if r.status.as_u16() != 202 {
        assert!(r.status.is_success(), "import: {} {}", r.status, r.body);
        return r.body;
    }
    let id = r.body["id"].as_i64().unwrap();
    let s = api.wait_import(id, Duration::from_millis(500)).await;
    assert!(s["state"] != "failed", "import failed: {s}");
    s["report"].clone()
}

fn write_jsonl(path: &std::path::Path, items: &[Value]) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for v in items {
        writeln!(f, "{v}").unwrap();
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("usage: soak URLS TOKEN AGENTS SECONDS OUTDIR");
        std::process::exit(2);
    }
    let urls: Vec<String> = args[1].split(',').map(str::to_owned).collect();
    let token = args[2].clone();
    let agents: usize = args[3].parse().unwrap();
    let seconds: u64 = args[4].parse().unwrap();
    let out = std::path::PathBuf::from(&args[5]);
    let contacts: usize = std::env::var("SOAK_CONTACTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40_000);
    let seed: u64 = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let pids: Vec<u32> = std::env::var("SOAK_PIDS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(agents + 16)
        .build()
        .unwrap();
    // One client a process, acting with the admin token.
    let apis: Vec<Client> = urls
        .iter()
        .map(|url| Client::with_http(http.clone(), url, &token))
        .collect();
    let api = &apis[0];

    // Set-up: a lead token, 500 agents (every other one in team north), three campaigns whose
    // populations overlap by half (shared people), all-day windows, short retries and leases.
    let lead = setup(
        api,
        "/v1/tokens",
        json!({"role": "lead", "name": "soak lead"}),
    )
    .await;
    let lead = lead["token"].as_str().unwrap().to_owned();
    let as_lead = api.with_admin(&lead);
    let mut agent_ids = vec![];
    let mut agent_tokens = vec![];
    for chunk in (0..agents).collect::<Vec<_>>().chunks(16) {
        let made = futures::future::join_all(chunk.iter().map(|i| {
            let team = if i % 2 == 0 { "north" } else { "south" };
            let as_lead = &as_lead;
            async move { as_lead.agent(&format!("坐席 {i}"), Some(team)).await }
        }))
        .await;
        for (id, token) in made {
            agent_ids.push(id);
            agent_tokens.push(token);
        }
    }
    let script = setup(
        &as_lead,
        "/v1/scripts",
        json!({"name": "soak", "body": "您好{{ name }}，您的套餐 {{ attributes.plan }}"}),
    )
    .await;
    let run_tag = format!("{}", now_ms() as u64 % 1_000_000_000);
    let specs = [
        ("5G 升级 soak A", 60, "0 */2 * * * *", json!([]), false),
        ("宽带 soak B", 50, "30 */2 * * * *", json!([]), true),
        (
            "国际漫游 soak C",
            40,
            "0 * * * * *",
            json!(["north"]),
            false,
        ),
    ];
    let mut campaigns = vec![];
    for (k, (name, priority, recurrence, teams, owner_first)) in specs.iter().enumerate() {
        let code = format!("SOAK-{run_tag}-{k}");
        setup(&as_lead, "/v1/offers", json!({"code": code, "name": name})).await;
        let c = setup(
            &as_lead,
            "/v1/campaigns",
            json!({
                "name": name, "offer": code, "script_id": script["id"], "priority": priority,
                "calling_windows": all_day_windows(), "recurrence": recurrence, "max_attempts": 3,
                "retry": {"no_answer": "2s", "busy": "1s", "voicemail": "3s"}, "lease": LEASE,
                "teams": teams, "owner_first": owner_first,
            }),
        )
        .await;
        let id = c["id"].as_i64().unwrap();
        let owners: &[i64] = if *owner_first { &agent_ids } else { &[] };
        let report = import(&as_lead, id, k * contacts / 2, contacts, owners).await;
        setup(&as_lead, &format!("/v1/campaigns/{id}/start"), json!({})).await;
        campaigns.push(json!({"id": id, "name": name, "from": k * contacts / 2, "rows": contacts, "import": report}));
    }
    let population = 2 * contacts;
    std::fs::write(
        out.join("setup.json"),
        json!({"urls": urls, "agents": agent_ids, "campaigns": campaigns, "seconds": seconds, "population": population, "pids": pids}).to_string(),
    )
    .unwrap();
    eprintln!(
        "soak: set up {} agents and {} campaigns; load for {seconds} s",
        agents,
        campaigns.len()
    );

    // The load.
    let started = Instant::now();
    let started_wall = now_ms();
    let sh = Arc::new(Shared {
        counts: Counts::default(),
        deadline: started + Duration::from_secs(seconds),
        recent_phones: Mutex::new(vec![]),
    });
    let rss = tokio::spawn(rss_loop(sh.clone(), pids, started));
    let leads = tokio::spawn(lead_loop(
        sh.clone(),
        apis.clone(),
        lead.clone(),
        population,
        Duration::from_millis(1_000),
    ));
    let tasks: Vec<_> = agent_tokens
        .into_iter()
        .zip(agent_ids.iter().copied())
        .enumerate()
        .map(|(i, (t, id))| {
            tokio::spawn(agent_loop(
                sh.clone(),
                apis[i % apis.len()].clone(),
                t,
                id,
                seed * 100_003 + i as u64,
            ))
        })
        .collect();
    let mut holds = vec![];
    let mut lat = vec![];
    let mut truth: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut by_agent: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let (mut cycles, mut empty, mut late_ok, mut conflicts, mut replays_ok, mut replays_bad) =
        (0, 0, 0, 0, 0, 0);
    for (t, id) in tasks.into_iter().zip(agent_ids.iter()) {
        let r = t.await.unwrap();
        for ((campaign, d), n) in &r.truth {
            *truth
                .entry(campaign.to_string())
                .or_default()
                .entry(d.clone())
                .or_default() += n;
            *by_agent
                .entry(campaign.to_string())
                .or_default()
                .entry(id.to_string())
                .or_default() += n;
        }
        holds.extend(r.holds);
        lat.extend(r.next_latency_ms);
        cycles += r.cycles;
        empty += r.empty;
        late_ok += r.late_outcomes_ok;
        conflicts += r.outcome_conflicts;
        replays_ok += r.replays_ok;
        replays_bad += r.replays_mismatch;
    }
    let load_secs = started.elapsed().as_secs_f64();
    let listings = leads.await.unwrap();
    let rss = rss.await.unwrap();

    // Let every lease run out and be swept, then read the stats from every process.
    tokio::time::sleep(Duration::from_millis(LEASE_MS + 4_000)).await;
    let mut stats = json!({});
    for api in &apis {
        for c in &campaigns {
            let id = c["id"].as_i64().unwrap();
            let s = api.get(&format!("/v1/stats/campaigns/{id}"), &lead).await;
            stats[api.base.as_str()][id.to_string()] = s.body;
        }
    }

    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    // Throughput over the nominal window: agents finish the call in hand after the deadline
    // (up to a long call's length), which would otherwise dilute the rate.
    let window_end = started_wall + seconds as f64 * 1000.0;
    let in_window = holds
        .iter()
        .filter(|h| {
            h["disposition"].is_string()
                && h["end_status"]
                    .as_u64()
                    .is_some_and(|s| (200..300).contains(&s))
        })
        .filter(|h| h["end_recv"].as_f64().is_some_and(|t| t <= window_end))
        .count();
    let by_route = sh.counts.by_route.lock().unwrap().clone();
    let summary = json!({
        "agents": agents, "processes": urls.len(), "load_seconds": load_secs, "started_wall_ms": started_wall,
        "cycles": cycles, "cycles_in_window": in_window, "cycles_per_second": in_window as f64 / seconds as f64, "hand_outs": holds.len(),
        "next_requests": lat.len(), "next_empty": empty,
        "next_p50_ms": percentile(&lat, 0.5), "next_p99_ms": percentile(&lat, 0.99), "next_max_ms": percentile(&lat, 1.0),
        "server_errors": sh.counts.server_errors.load(Ordering::Relaxed), "status_by_route": by_route,
        "late_outcomes_accepted": late_ok, "outcome_conflicts": conflicts,
        "replays_identical": replays_ok, "replays_different": replays_bad, "dnc_listings": listings.len(),
    });
    write_jsonl(&out.join("holds.jsonl"), &holds);
    write_jsonl(&out.join("dnc.jsonl"), &listings);
    write_jsonl(&out.join("rss.jsonl"), &rss);
    std::fs::write(
        out.join("truth.json"),
        json!({"by_disposition": truth, "by_agent": by_agent}).to_string(),
    )
    .unwrap();
    std::fs::write(out.join("stats.json"), stats.to_string()).unwrap();
    std::fs::write(out.join("summary.json"), summary.to_string()).unwrap();
    println!("{summary}");
}

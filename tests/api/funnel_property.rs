//! The funnel counts what the explanations say: for random campaigns (one team's or two,
//! a team with nobody, zones and windows changed or not, paused or not), people in one or
//! several of them (in their own zone or the campaign's), histories of every outcome at
//! random intervals (so retries, callbacks, the phone's gap and cap are in every phase),
//! do-not-call listings and calls left in progress, a campaign's `callable_now` and its count
//! for every reason are the tally of its contacts' own explanations by their first reason,
//! read at the same instant. Seeded: a failure prints its seed and every case that disagrees,
//! with each contact's reasons, places and history; `OUTCALL_PROPERTY_SEED` replays it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Timelike;
use outcall::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    eligibility_property::{DAYS, Rng, ZONES, instant, random_windows},
    helpers::TestApp,
};

const CASES: usize = 24;

/// A random outcome for a call: mostly a retry, whose delay is shorter than the phone's gap
/// more often than not.
fn random_outcome(rng: &mut Rng, lease: &Value) -> Value {
    let later = instant(lease) + chrono::Duration::minutes(rng.below(240) as i64 - 14);
    match rng.below(9) {
        0..=2 => json!({"disposition": "no_answer"}),
        3 => json!({"disposition": "busy"}),
        4 => json!({"disposition": "voicemail"}),
        5 => json!({"disposition": "callback", "callback_at": later.to_rfc3339()}),
        6 => json!({"disposition": "callback", "callback_at": later.to_rfc3339(),
                    "callback_scope": "campaign"}),
        7 => json!({"disposition": "declined"}),
        _ => json!({"disposition": "accepted"}),
    }
}

/// A few minutes to a few hours, under the phone's hour-long gap more often than not.
fn random_pause(rng: &mut Rng) -> u64 {
    let most = if rng.chance(70) { 2700 } else { 3 * 3600 };
    1 + rng.below(most)
}

/// Mostly, a case starts in the daytime in Shanghai (the campaigns' zone), when its agents
/// have calls to make; otherwise where the last one left the clock.
fn to_daytime(app: &TestApp, rng: &mut Rng) {
    if rng.chance(75) {
        let now = app.clock.now().utc().num_seconds_from_midnight() as u64;
        // 08:00-19:00 in Shanghai is 00:00-11:00 UTC.
        app.advance((rng.below(11 * 3600) + 86_400 - now) % 86_400);
    }
}

/// The agents pull calls and record outcomes (or hand a call back), with time passing.
async fn random_history(app: &TestApp, rng: &mut Rng, agents: &[String]) {
    for _ in 0..4 + rng.below(9) {
        let agent = &agents[rng.below(agents.len() as u64) as usize];
        let r = app.next(agent).await;
        if let Some(call) = r.body["call"]["id"].as_i64() {
            if rng.chance(10) {
                app.release(agent, call).await.expect(StatusCode::OK);
            } else {
                let body = random_outcome(rng, &r.body["call"]["lease_expires_at"]);
                // A callback outside the calling hours is refused: then nobody answered.
                if app.outcome(agent, call, body).await.status != StatusCode::OK {
                    let body = json!({"disposition": "no_answer"});
                    app.outcome(agent, call, body).await.expect(StatusCode::OK);
                }
            }
        }
        app.advance(random_pause(rng));
    }
}

/// Sets up one random scenario and returns its campaigns and people (contact ids).
async fn scenario(app: &TestApp, rng: &mut Rng, case: usize, lead: &str) -> (Vec<i64>, Vec<i64>) {
    to_daytime(app, rng);
    // Team `a` has agents; team `b` one or none.
    let mut agents = Vec::new();
    for (i, team) in ["a", "a", "b"].iter().enumerate() {
        if i == 0 || rng.chance(50) {
            let team = format!("team-{case}-{team}");
            agents.push(app.agent(&format!("agent-{case}-{i}"), Some(&team)).await.1);
        }
    }
    let minutes = |rng: &mut Rng| format!("{}m", 10 + rng.below(100));
    let mut campaigns = Vec::new();
    for i in 0..1 + rng.below(3) {
        let team = if i == 0 || rng.chance(60) { "a" } else { "b" };
        campaigns.push(
            app.campaign(json!({
                "teams": [format!("team-{case}-{team}")],
                "calling_windows": [{"days": DAYS, "start": "00:00", "end": "24:00"}],
                "max_attempts": 1 + rng.below(4),
                "priority": 1 + rng.below(100),
                "retry": {"no_answer": minutes(rng), "busy": minutes(rng),
                          "voicemail": minutes(rng)},
            }))
            .await,
        );
    }
    // Each person in one campaign, many in a second one too.
    let mut csv = vec![String::from("phone,timezone\n"); campaigns.len()];
    let mut phones = Vec::new();
    for p in 0..4 + rng.below(9) {
        let phone = format!("+86137{case:04}{p:04}");
        let zone = if rng.chance(40) { rng.pick(&ZONES) } else { "" };
        let first = rng.below(campaigns.len() as u64) as usize;
        csv[first].push_str(&format!("{phone},{zone}\n"));
        let second = rng.below(campaigns.len() as u64) as usize;
        if second != first && rng.chance(60) {
            csv[second].push_str(&format!("{phone},{zone}\n"));
        }
        phones.push(phone);
    }
    for (&campaign, csv) in campaigns.iter().zip(csv) {
        app.import_csv(campaign, csv).await.expect(StatusCode::OK);
        app.start_campaign(campaign).await;
    }
    let mut people = BTreeSet::new();
    for &campaign in &campaigns {
        for c in app.contacts(campaign, None).await {
            people.insert(c["id"].as_i64().unwrap());
        }
    }
    random_history(app, rng, &agents).await;
    for &campaign in &campaigns {
        if rng.chance(25) {
            let path = format!("/v1/campaigns/{campaign}");
            let zone = rng.pick(&ZONES);
            let body = json!({"timezone": zone, "calling_windows": random_windows(rng)});
            app.call(Method::PATCH, &path, Some(lead), body)
                .await
                .expect(StatusCode::OK);
        }
        if rng.chance(10) {
            app.campaign_action(campaign, "pause").await;
        }
    }
    if rng.chance(20) {
        let phone = &phones[rng.below(phones.len() as u64) as usize];
        app.post("/v1/dnc", lead, json!({"phone": phone}))
            .await
            .expect(StatusCode::CREATED);
    }
    // Often within the phone's gap of the last outcome.
    let most = if rng.chance(60) { 1800 } else { 3 * 3600 };
    app.advance(1 + rng.below(most));
    // Sometimes a call is left in progress, well within its lease.
    if rng.chance(40) {
        let agent = &agents[rng.below(agents.len() as u64) as usize];
        app.next(agent).await;
        app.advance(rng.below(600));
    }
    // What the scheduler does at this instant is done before the reads: nothing moves between.
    app.tick().await;
    (campaigns, people.into_iter().collect())
}

/// A contact as a failure shows it: its zone, its place in each campaign, its history.
async fn describe(app: &TestApp, lead: &str, contact: i64) -> String {
    let page = app.get(&format!("/v1/contacts/{contact}"), lead).await.body;
    let list = |key: &str, show: &dyn Fn(&Value) -> String| {
        let items = page[key].as_array().unwrap().iter().map(show);
        items.collect::<Vec<_>>().join(", ")
    };
    let places = list("campaigns", &|m| {
        let (state, n, next) = (&m["state"], &m["attempts"], &m["next_attempt_at"]);
        format!("{} {state} after {n} attempts, next {next}", m["id"])
    });
    let history = list("history", &|e| {
        let (at, event, disposition) = (&e["at"], &e["event"], &e["disposition"]);
        format!("{at} {event} {disposition} in {}", e["campaign"])
    });
    format!("zone {}; in {places}; history {history}", page["timezone"])
}

async fn one_case(app: &TestApp, rng: &mut Rng, case: usize, lead: &str) -> Vec<String> {
    let (campaigns, people) = scenario(app, rng, case, lead).await;
    // Each contact's explanation in each of its campaigns: its first reason, and all of them.
    let mut explained: BTreeMap<i64, Vec<(i64, String, Value)>> = BTreeMap::new();
    let mut instants = BTreeSet::new();
    for &contact in &people {
        let r = app
            .get(&format!("/v1/contacts/{contact}/eligibility"), lead)
            .await;
        r.expect(StatusCode::OK);
        instants.insert(r.body["at"].to_string());
        for place in r.body["campaigns"].as_array().unwrap() {
            let reasons = place["reasons"].as_array().unwrap().iter();
            let reasons: Value = reasons.map(|r| r["code"].clone()).collect();
            let first = match place["callable"] == true {
                true => "callable",
                false => reasons[0].as_str().unwrap_or("(none)"),
            };
            let campaign = place["campaign"].as_i64().unwrap();
            let entry = (contact, first.to_owned(), reasons.clone());
            explained.entry(campaign).or_default().push(entry);
        }
    }
    let mut failures = Vec::new();
    for campaign in campaigns {
        let r = app
            .get(&format!("/v1/campaigns/{campaign}/eligibility"), lead)
            .await;
        r.expect(StatusCode::OK);
        let funnel = &r.body;
        instants.insert(funnel["at"].to_string());
        // The funnel's counts by code (`callable` for `callable_now`), without the zeros.
        let blocked = funnel["blocked"].as_object().unwrap().iter();
        let counts: BTreeMap<String, i64> = blocked
            .map(|(code, n)| (code.clone(), n.as_i64().unwrap()))
            .chain([("callable".into(), funnel["callable_now"].as_i64().unwrap())])
            .filter(|(_, n)| *n != 0)
            .collect();
        let places = explained.remove(&campaign).unwrap_or_default();
        let mut tally = BTreeMap::new();
        for (_, first, _) in &places {
            *tally.entry(first.clone()).or_insert(0) += 1;
        }
        if counts == tally {
            continue;
        }
        let mut why = format!(
            "case {case}, campaign {campaign}: the funnel counts {counts:?}, the explanations \
             {tally:?}\n  funnel: {funnel}\n"
        );
        for (contact, first, reasons) in places {
            let described = describe(app, lead, contact).await;
            why.push_str(&format!(
                "  contact {contact}: first {first} of {reasons}; {described}\n"
            ));
        }
        failures.push(why);
    }
    if instants.len() != 1 {
        failures.push(format!("case {case}: read at instants {instants:?}\n"));
    }
    failures
}

async fn the_funnel_counts_every_contact_under_the_first_reason_its_own_explanation_gives(
    app: TestApp,
) {
    let seed: u64 = std::env::var("OUTCALL_PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xF011_E1ED);
    let mut rng = Rng(seed);
    let lead = app.token("lead").await;
    let mut failures = Vec::new();
    // Every case is its own teams and phones: a failing one does not spoil those after it.
    for case in 0..CASES {
        failures.extend(one_case(&app, &mut rng, case, &lead).await);
    }
    assert!(
        failures.is_empty(),
        "seed {seed}: {} disagreements\n{}",
        failures.len(),
        failures.join("")
    );
}

crate::on_both_backends!(
    the_funnel_counts_every_contact_under_the_first_reason_its_own_explanation_gives
);

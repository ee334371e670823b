//! The explanation is the hand-out's own rules: for random campaigns (zones, windows, retry
//! delays, attempts, teams, paused or not), contacts (own zone or none), histories (outcomes of
//! every kind, callbacks for the agent or the campaign), do-not-call listings and instants,
//! `callable` is true exactly when the next `POST /v1/calls/next` of an agent the campaign
//! admits hands the contact out, and at `callable_at` it does. Seeded: a failure prints its
//! seed and case; `OUTCALL_PROPERTY_SEED` replays it.

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

const CASES: usize = 24;
pub(crate) const ZONES: [&str; 3] = ["Asia/Shanghai", "Europe/London", "America/New_York"];
pub(crate) const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// xorshift64*: small, seeded, the same on every machine.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub(crate) fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
}

pub(crate) fn random_windows(rng: &mut Rng) -> Value {
    let mut days: Vec<&str> = DAYS.iter().copied().filter(|_| rng.chance(70)).collect();
    if days.is_empty() {
        days.push(rng.pick(&DAYS));
    }
    let start = rng.below(23);
    let end = (start + 1 + rng.below(16)).min(24);
    json!([{"days": days, "start": format!("{start:02}:00"), "end": format!("{end:02}:00")}])
}

pub(crate) fn instant(text: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// Whether the agent's next call is this contact (a call handed out is released again).
async fn hands_out(app: &TestApp, agent: &str, contact: i64) -> bool {
    let r = app.next(agent).await;
    if r.status == StatusCode::NO_CONTENT {
        return false;
    }
    r.expect(StatusCode::OK);
    let call = r.body["call"]["id"].as_i64().unwrap();
    app.release(agent, call).await.expect(StatusCode::OK);
    r.body["contact"]["id"] == contact
}

/// Gives the contact a random history: up to two attempts with random outcomes, when the
/// agent can be handed it.
async fn random_history(app: &TestApp, rng: &mut Rng, agent: &str) {
    for _ in 0..rng.below(3) {
        let r = app.next(agent).await;
        if r.status != StatusCode::OK {
            return;
        }
        let call = r.body["call"]["id"].as_i64().unwrap();
        // The lease is the default 15 minutes from now.
        let expires = instant(&r.body["call"]["lease_expires_at"]);
        let later = expires + chrono::Duration::minutes(rng.below(300) as i64 - 14);
        let body = match rng.below(6) {
            0 => json!({"disposition": "no_answer"}),
            1 => json!({"disposition": "busy"}),
            2 => json!({"disposition": "voicemail"}),
            3 => json!({"disposition": "callback", "callback_at": later.to_rfc3339()}),
            4 => json!({"disposition": "callback", "callback_at": later.to_rfc3339(),
                        "callback_scope": "campaign"}),
            _ => json!({"disposition": "declined"}),
        };
        // A callback outside the calling hours is refused: then nobody answered.
        if app.outcome(agent, call, body).await.status != StatusCode::OK {
            app.outcome(agent, call, json!({"disposition": "no_answer"}))
                .await
                .expect(StatusCode::OK);
        }
        app.advance(rng.below(5400) + 1);
    }
}

async fn one_case(app: &TestApp, rng: &mut Rng, case: usize, lead: &str) -> Result<(), String> {
    let team = format!("team-{case}");
    let (_, agent) = app.agent(&format!("agent-{case}"), Some(&team)).await;
    let minutes = |rng: &mut Rng| format!("{}m", 10 + rng.below(180));
    let campaign = app
        .campaign(json!({
            "teams": [team],
            "calling_windows": [{"days": DAYS, "start": "00:00", "end": "24:00"}],
            "max_attempts": 1 + rng.below(3),
            "retry": {"no_answer": minutes(rng), "busy": minutes(rng), "voicemail": minutes(rng)},
        }))
        .await;
    let phone = format!("+86139{case:08}");
    let csv = match rng.below(3) {
        0 => format!("phone\n{phone}\n"),
        z => format!("phone,timezone\n{phone},{}\n", ZONES[z as usize]),
    };
    app.import_csv(campaign, csv).await.expect(StatusCode::OK);
    app.start_campaign(campaign).await;
    let contact = app.contacts(campaign, None).await[0]["id"]
        .as_i64()
        .unwrap();
    random_history(app, rng, &agent).await;
    // Then, mostly, the campaign's own zone and windows (a change that frees what the old ones
    // held); otherwise it keeps calling all day, where retries, gaps and callbacks show.
    if rng.chance(60) {
        app.call(
            Method::PATCH,
            &format!("/v1/campaigns/{campaign}"),
            Some(lead),
            json!({"timezone": rng.pick(&ZONES), "calling_windows": random_windows(rng)}),
        )
        .await
        .expect(StatusCode::OK);
    }
    if rng.chance(15) {
        app.post("/v1/dnc", lead, json!({"phone": phone}))
            .await
            .expect(StatusCode::CREATED);
    }
    if rng.chance(10) {
        app.campaign_action(campaign, "pause").await;
    }
    app.advance(rng.below(3 * 3600) + 1);

    let r = app
        .get(&format!("/v1/contacts/{contact}/eligibility"), lead)
        .await;
    r.expect(StatusCode::OK);
    let place = r.body["campaigns"][0].clone();
    let callable = place["callable"].as_bool().unwrap();
    if std::env::var("OUTCALL_PROPERTY_SHOW").is_ok() {
        eprintln!("case {case}: {place}");
    }
    if hands_out(app, &agent, contact).await != callable {
        return Err(format!(
            "callable is {callable} but next disagrees: {place}"
        ));
    }
    if !callable && !place["callable_at"].is_null() {
        let at = instant(&place["callable_at"]);
        let wait = (at - instant(&r.body["at"])).num_seconds();
        app.advance(wait.max(0) as u64);
        if !hands_out(app, &agent, contact).await {
            return Err(format!("not handed out at its callable_at: {place}"));
        }
    }
    // Leave nothing of this case callable for later ones: their agents' teams differ anyway.
    Ok(())
}

async fn callable_is_true_exactly_when_the_next_call_hands_the_contact_out(app: TestApp) {
    let seed: u64 = std::env::var("OUTCALL_PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_CA11);
    let mut rng = Rng(seed);
    let lead = app.token("lead").await;
    for case in 0..CASES {
        if let Err(why) = one_case(&app, &mut rng, case, &lead).await {
            panic!("seed {seed}, case {case}: {why}");
        }
    }
}

crate::on_both_backends!(callable_is_true_exactly_when_the_next_call_hands_the_contact_out);

//! A segment selects the same people on both backends as its meaning in memory
//! (`outcall::segments::matches`): random people (attributes that are numbers, text, Chinese
//! or missing), random call histories over two campaigns of two offers, a random base of
//! members and random conversions billing reported (some for people never called), then random filters of every kind, each one's people read from the store and its
//! preview's count held against the in-memory evaluation of every person, read back through
//! the API. Seeded; `OUTCALL_PROPERTY_SEED` replays a failure.

use std::collections::{BTreeMap, BTreeSet};

use outcall::{
    clock::Clock,
    contacts::ContactState,
    dispatch::Disposition,
    ids::{CampaignId, ContactId},
    segments::{Conversion, Outcome, Person, matches, parse},
    time::Instant,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{eligibility_property::Rng, helpers::TestApp, on_both_backends};

const PEOPLE: usize = 30;
const FILTERS: usize = 150;
const KEYS: &[&str] = &["plan", "spend", "城市"];
const VALUES: &[&str] = &[
    "4G",
    "5G",
    "88",
    "100",
    "99.5",
    "-3",
    "007",
    "7",
    "1e3",
    "abc",
    "B",
    "b",
    "上海",
    // The edges of a number: fifteen digits are one, sixteen are text; half a decimal is text.
    "123456789012345",
    "1234567890123456",
    "12345678901234.5",
    "123456789012345.6",
    "1.",
    ".5",
    "-",
    "-0",
    "١٢",
    // Last: a person's value only (a filter's value may not be empty).
    "",
];
const SPANS: &[&str] = &["1h", "6h", "1d", "3d", "30d"];
const DISPOSITIONS: &[&str] = &["accepted", "declined", "no_answer", "busy", "wrong_number"];
const STATES: &[&str] = &["ready", "scheduled", "done", "exhausted", "suppressed"];

fn seed() -> u64 {
    std::env::var("OUTCALL_PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand_seed() | 1)
}

fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn value(rng: &mut Rng) -> Value {
    let v = rng.pick(&VALUES[..VALUES.len() - 1]);
    match v.parse::<i64>() {
        // A JSON number only where the contract takes one: at most 15 digits.
        Ok(n) if rng.chance(30) && !v.starts_with('0') && n.unsigned_abs() < 10u64.pow(15) => {
            json!(n)
        }
        _ => json!(v),
    }
}

fn random_filter(rng: &mut Rng, depth: u32, campaigns: &[i64], offers: &[&str]) -> Value {
    let leaf = depth >= 3 || rng.chance(45);
    if !leaf {
        let parts: Vec<Value> = (0..rng.below(4))
            .map(|_| random_filter(rng, depth + 1, campaigns, offers))
            .collect();
        return match rng.below(3) {
            0 => json!({ "all": parts }),
            1 => json!({ "any": parts }),
            _ => json!({ "not": random_filter(rng, depth + 1, campaigns, offers) }),
        };
    }
    let within = |rng: &mut Rng, mut f: Value| {
        if rng.chance(50) {
            f["within"] = json!(rng.pick(SPANS));
        }
        f
    };
    match rng.below(6) {
        0 | 1 => {
            let key = rng.pick(KEYS);
            match rng.pick(&["eq", "ne", "gt", "gte", "lt", "lte", "in", "exists"]) {
                "exists" => json!({"attribute": key, "op": "exists", "value": rng.chance(70)}),
                "in" => {
                    let values: Vec<Value> = (0..1 + rng.below(3)).map(|_| value(rng)).collect();
                    json!({"attribute": key, "op": "in", "value": values})
                }
                op => json!({"attribute": key, "op": op, "value": value(rng)}),
            }
        }
        2 => json!({"called_within": rng.pick(SPANS)}),
        3 => {
            let list: Vec<&str> = (0..1 + rng.below(2))
                .map(|_| rng.pick(DISPOSITIONS))
                .collect();
            within(rng, json!({ "last_disposition": list }))
        }
        4 => {
            let offer = rng.pick(offers);
            within(rng, json!({ "converted": offer }))
        }
        _ => {
            let c = campaigns[rng.below(campaigns.len() as u64) as usize];
            if rng.chance(50) {
                json!({ "in_campaign": c })
            } else {
                json!({"in_campaign": c, "state": [rng.pick(STATES), rng.pick(STATES)]})
            }
        }
    }
}

fn instant(text: &Value) -> Instant {
    let at = chrono::DateTime::parse_from_rfc3339(text.as_str().unwrap()).unwrap();
    Instant::from_utc(at.with_timezone(&chrono::Utc))
}

/// Everyone, read back through the API as a filter reads them.
async fn people(
    app: &TestApp,
    ids: &[i64],
    offers: &BTreeMap<i64, String>,
    sold: &[(String, Conversion)],
) -> Vec<(i64, Person)> {
    let mut out = vec![];
    for id in ids {
        let page = app
            .get(&format!("/v1/contacts/{id}"), app.admin())
            .await
            .body;
        let attributes = page["attributes"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let outcomes = page["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["event"] == "outcome")
            .map(|h| Outcome {
                at: instant(&h["at"]),
                disposition: h["disposition"]
                    .as_str()
                    .unwrap()
                    .parse::<Disposition>()
                    .unwrap(),
                offer: offers[&h["campaign"].as_i64().unwrap()].clone(),
            })
            .collect();
        let phone = page["phone"].as_str().unwrap();
        let conversions = sold
            .iter()
            .filter(|(p, _)| phone.ends_with(p.as_str()))
            .map(|(_, c)| c.clone())
            .collect();
        let memberships = page["campaigns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let state: ContactState = m["state"].as_str().unwrap().parse().unwrap();
                (CampaignId(m["id"].as_i64().unwrap()), state)
            })
            .collect();
        out.push((
            *id,
            Person {
                attributes,
                outcomes,
                conversions,
                memberships,
            },
        ));
    }
    out
}

async fn segments_select_on_both_backends_what_they_mean_in_memory(app: TestApp) {
    let seed = seed();
    let mut rng = Rng(seed);
    let lead = app.token("lead").await;
    let (_, agent) = app.agent("Ann", None).await;
    let mut offers = BTreeMap::new();
    let mut campaigns = vec![];
    for code in ["5G-PLUS", "BROADBAND"] {
        app.offer(code).await;
        let id = app
            .campaign(json!({"offer": code, "max_attempts": 2}))
            .await;
        offers.insert(id, code.to_owned());
        campaigns.push(id);
    }
    let base = app.campaign(json!({})).await;
    offers.insert(base, "BASE".into());
    let mut csv = format!("phone,{}\n", KEYS.join(","));
    let mut phones = vec![];
    for n in 0..PEOPLE {
        let phone = format!("138001380{n:02}");
        let cells: Vec<&str> = KEYS.iter().map(|_| rng.pick(VALUES)).collect();
        csv.push_str(&format!("{phone},{}\n", cells.join(",")));
        phones.push(phone);
    }
    app.import_csv(base, csv).await.expect(StatusCode::OK);
    for &c in &campaigns {
        let members: Vec<&String> = phones.iter().filter(|_| rng.chance(60)).collect();
        let list = format!(
            "phone\n{}\n",
            members
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
        app.import_csv(c, list).await.expect(StatusCode::OK);
        app.start_campaign(c).await;
    }
    let billing = app.token("integration").await;
    let mut sold: Vec<(String, Conversion)> = vec![];
    for round in 0..30 {
        if rng.chance(40) {
            // Billing reports an activation, hours before now, of anyone (called or not).
            let phone = phones[rng.below(PEOPLE as u64) as usize].clone();
            let offer = rng.pick(&["5G-PLUS", "BROADBAND"]).to_owned();
            let at = app
                .clock
                .now()
                .plus_millis(-(rng.below(40) as i64) * 3_600_000);
            let text = json!(at.rfc3339(chrono_tz::UTC));
            // As stored: the instant the text names.
            let at = instant(&text);
            let body = json!({"phone": phone, "offer": offer, "reference": format!("R-{round}"),
                "occurred_at": text});
            app.post("/v1/conversions", &billing, body)
                .await
                .expect(StatusCode::CREATED);
            sold.push((phone, Conversion { at, offer }));
        }
        let r = app.next(&agent).await;
        if let Some(call) = r.body["call"]["id"].as_i64() {
            let disposition = rng.pick(DISPOSITIONS);
            app.outcome(&agent, call, json!({ "disposition": disposition }))
                .await
                .expect(StatusCode::OK);
        }
        app.advance(600 + rng.below(2 * 86_400));
        app.tick().await;
    }
    let ids: Vec<i64> = app
        .contacts(base, None)
        .await
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    let people = people(&app, &ids, &offers, &sold).await;
    let now = app.clock.now();
    let store = &app.running.as_ref().unwrap().store;
    let mut offer_codes: Vec<&str> = offers.values().map(String::as_str).collect();
    offer_codes.push("NONE");
    campaigns.push(base);
    for case in 0..FILTERS {
        let json = random_filter(&mut rng, 0, &campaigns, &offer_codes);
        let filter = parse(&json, "filter").expect("a generated filter parses");
        let want: BTreeSet<i64> = people
            .iter()
            .filter(|(_, p)| matches(&filter, p, now))
            .map(|(id, _)| *id)
            .collect();
        let got: BTreeSet<i64> = store
            .segment_people(&filter, now, ContactId(0), 1000)
            .await
            .unwrap_or_else(|e| panic!("seed {seed} case {case}: {json}: {e}"))
            .iter()
            .map(|c| c.id.get())
            .collect();
        assert_eq!(got, want, "seed {seed} case {case}: {json}");
        let preview = app
            .post("/v1/segments/preview", &lead, json!({ "filter": json }))
            .await;
        assert_eq!(
            preview.body["count"],
            want.len(),
            "seed {seed} case {case}: {json}"
        );
    }
}

on_both_backends!(segments_select_on_both_backends_what_they_mean_in_memory);

//! The forecast of campaigns that share a team (issue 27): made at the start for each of two
//! campaigns of one priority at shares 3 and 1 on one team of four agents, against the floor
//! run to its end on the manual clock. Each campaign's attempts per day agree within the
//! tolerance of the single-campaign test (10 %, or one call), and each list runs out on the
//! day forecast: the share-3 campaign gets three calls in four while both have contacts, and
//! the other gets every agent once it has none left.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::forecast::{Quota, days_of, shanghai_date};
use crate::helpers::{TestApp, start_instant};

const HANDLE_S: u64 = 600;
const AGENTS: usize = 4;

async fn the_forecast_of_a_shared_team_matches_the_floor_run_to_its_end(app: TestApp) {
    let rules = json!({
        "teams": ["深圳二组"],
        "priority": 50,
        "calling_windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                             "start": "09:00", "end": "12:00"}],
        "max_attempts": 2,
        "retry": {"no_answer": "2h", "busy": "2h", "voicemail": "2h"},
    });
    let mut big = rules.clone();
    big["share"] = json!(3);
    let mut small = rules;
    small["share"] = json!(1);
    let phones = |from: usize, n: usize| -> String {
        let csv: String = (from..from + n).map(|i| format!("139{i:08}\n")).collect();
        format!("phone\n{csv}")
    };
    let a = app.running_campaign(big, &phones(0, 150)).await;
    let b = app.running_campaign(small, &phones(1000, 120)).await;
    let lead = app.token("lead").await;
    let forecast = |id: i64| {
        format!("/v1/campaigns/{id}/forecast?agents={AGENTS}&handle_time={HANDLE_S}&days=10")
    };
    let fa = app.get(&forecast(a), &lead).await;
    fa.expect(StatusCode::OK);
    let fb = app.get(&forecast(b), &lead).await;
    fb.expect(StatusCode::OK);
    assert_eq!(fa.body["shared_with"][0]["campaign"], b, "{}", fa.text);
    assert_eq!(fa.body["shared_with"][0]["share"], 1, "{}", fa.text);
    assert_eq!(fb.body["shared_with"][0]["campaign"], a, "{}", fb.text);
    let quota = |f: &Value| Quota {
        shares: f["assumptions"]["dispositions"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(d, s)| (d.clone(), s.as_f64().unwrap()))
            .collect(),
        counts: BTreeMap::new(),
        total: 0.0,
    };
    let mut quotas = BTreeMap::from([(a, quota(&fa.body)), (b, quota(&fb.body))]);

    let mut agents = vec![];
    for i in 0..AGENTS {
        agents.push(app.agent(&format!("座席 {i}"), Some("深圳二组")).await.1);
    }
    let mut actual: BTreeMap<i64, BTreeMap<NaiveDate, i64>> = BTreeMap::new();
    let mut now = start_instant();
    for _ in 0..(10 * 24 * 6) {
        let local_hour = (now + Duration::hours(8)).format("%H").to_string();
        if ("09".."12").contains(&local_hour.as_str()) {
            for agent in &agents {
                let r = app.next(agent).await;
                if r.status != StatusCode::OK {
                    continue;
                }
                let call = r.body["call"]["id"].as_i64().unwrap();
                let campaign = r.body["campaign"]["id"].as_i64().unwrap();
                let d = quotas.get_mut(&campaign).unwrap().pick();
                let mut body = json!({"disposition": d});
                if d == "callback" {
                    body["callback_at"] = Value::String((now + Duration::hours(24)).to_rfc3339());
                    body["callback_scope"] = json!("campaign");
                }
                app.outcome(agent, call, body).await.expect(StatusCode::OK);
                *actual
                    .entry(campaign)
                    .or_default()
                    .entry(shanghai_date(now))
                    .or_default() += 1;
            }
        }
        app.advance(HANDLE_S);
        now += Duration::seconds(HANDLE_S as i64);
    }
    for (id, f) in [(a, &fa), (b, &fb)] {
        for state in ["ready", "scheduled", "leased"] {
            assert!(
                app.contacts(id, Some(state)).await.is_empty(),
                "campaign {id}'s list ran out within ten days"
            );
        }
        let forecast = days_of(&f.body);
        let actual = &actual[&id];
        eprintln!("campaign {id}\nforecast {forecast:?}\nactual   {actual:?}");
        assert_eq!(
            forecast.keys().collect::<Vec<_>>(),
            actual.keys().collect::<Vec<_>>(),
            "campaign {id}: the same days have calls"
        );
        for (day, n) in actual {
            let predicted = forecast[day];
            assert!(
                (predicted - n).abs() as f64 <= (0.1 * *n as f64).max(1.0),
                "campaign {id}, {day}: forecast {predicted} attempts, made {n}"
            );
        }
        let last = actual.keys().last().unwrap().to_string();
        assert_eq!(
            f.body["exhausted_on"], last,
            "campaign {id} runs out on the day forecast"
        );
    }
}

crate::on_both_backends!(the_forecast_of_a_shared_team_matches_the_floor_run_to_its_end);

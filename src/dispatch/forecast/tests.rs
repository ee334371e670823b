//! The forecast's unit tests: it stays small over a year, a shared pool goes by priority and
//! share, and every contact is attempted until final.

use super::*;
use crate::campaigns::{RetryDelays, Windows};
use crate::duration::Span;

fn def(max_attempts: i64) -> CampaignDef {
    CampaignDef {
        name: "c".into(),
        offer_id: crate::ids::OfferId(1),
        script_id: crate::ids::ScriptId(1),
        priority: 50,
        share: 1,
        timezone: "Asia/Shanghai".parse().unwrap(),
        windows: Windows::always(),
        start_at: None,
        end_at: None,
        recurrence: None,
        max_attempts,
        retry: RetryDelays {
            no_answer: Span::from_secs(600),
            busy: Span::from_secs(600),
            voicemail: Span::from_secs(600),
        },
        lease: Span::from_secs(900),
        wrap_up: Span::from_secs(0),
        teams: vec![],
        owner_first: false,
        attribute_labels: Default::default(),
    }
}

#[test]
fn a_year_of_many_attempts_and_callbacks_stays_small_and_finishes() {
    let a = Assumptions {
        agents: 1,
        handle_time_s: 3600,
        shares: [
            (Disposition::NoAnswer, 0.5),
            (Disposition::Callback, 0.4),
            (Disposition::Accepted, 0.1),
        ]
        .into_iter()
        .collect(),
        min_gap_s: 0,
    };
    let hours = "00:00-24:00".parse().unwrap();
    let queue = vec![Cohort {
        due: 0,
        attempts: 0,
        n: 1_000_000.0,
    }];
    let days = simulate(&def(100), &hours, &a, queue, Instant::from_millis(0), 366);
    assert_eq!(days.len(), 366);
    assert!(
        days.iter().all(|d| d.attempts <= 24.0 + 1e-6),
        "one agent, an hour a call"
    );
}

fn lane(priority: i64, share: i64, contacts: f64) -> Lane {
    let mut def = def(1);
    (def.priority, def.share) = (priority, share);
    Lane {
        id: crate::ids::CampaignId(priority * 100 + share),
        def,
        a: Assumptions {
            agents: 0,
            handle_time_s: 60,
            shares: [(Disposition::Declined, 1.0)].into_iter().collect(),
            min_gap_s: 0,
        },
        cohorts: vec![Cohort {
            due: 0,
            attempts: 0,
            n: contacts,
        }],
        today: 0.0,
    }
}

#[test]
fn a_shared_pool_goes_by_share_within_a_priority_and_to_the_higher_priority_first() {
    let hours = "00:00-24:00".parse().unwrap();
    let from = Instant::from_millis(0);
    // 4 agents at a minute a call from 08:00 in Shanghai (the epoch): 3,840 calls that day.
    let days = simulate_shared(&[lane(50, 3, 1e6), lane(50, 1, 1e6)], 4, &hours, from, 1);
    let (a, b) = (days[0][0].attempts, days[1][0].attempts);
    assert!(
        (a - 2880.0).abs() < 2.0 && (b - 960.0).abs() < 2.0,
        "{a} {b}"
    );
    // The share-3 lane runs out at 1,000: the other gets every agent after it.
    let days = simulate_shared(&[lane(50, 3, 1000.0), lane(50, 1, 1e6)], 4, &hours, from, 1);
    let (a, b) = (days[0][0].attempts, days[1][0].attempts);
    assert!(
        (a - 1000.0).abs() < 1e-6 && (b - 2840.0).abs() < 2.0,
        "{a} {b}"
    );
    // A higher priority takes what it has first, whatever the shares.
    let days = simulate_shared(&[lane(40, 9, 1e6), lane(60, 1, 2000.0)], 4, &hours, from, 1);
    let (a, b) = (days[0][0].attempts, days[1][0].attempts);
    assert!(
        (b - 2000.0).abs() < 1e-6 && (a - 1840.0).abs() < 2.0,
        "{a} {b}"
    );
}

#[test]
fn every_contact_is_attempted_once_per_allowed_attempt_until_final() {
    let a = Assumptions {
        agents: 10,
        handle_time_s: 60,
        shares: [(Disposition::NoAnswer, 1.0)].into_iter().collect(),
        min_gap_s: 0,
    };
    let hours = "00:00-24:00".parse().unwrap();
    let queue = vec![Cohort {
        due: 0,
        attempts: 0,
        n: 100.0,
    }];
    let days = simulate(&def(3), &hours, &a, queue, Instant::from_millis(0), 2);
    let total: f64 = days.iter().map(|d| d.attempts).sum();
    assert!((total - 300.0).abs() < 1e-6, "{total}");
    assert_eq!(exhausted_on(&days), Some(days[0].date));
}

//! The forecast: a deterministic day-by-day simulation of a campaign's own rules (its windows
//! within the calling hours, retry delays no shorter than the phone's gap, max attempts,
//! callbacks a day later) with N agents each taking one attempt per handle time, and the
//! outcome shares observed (or assumed). Contacts are simulated as fractional cohorts (how
//! many are due when, after how many attempts), so the same inputs always give the same days.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};

use crate::{
    dispatch::Disposition,
    rules::CallingHours,
    time::{DAY_MS, Instant},
};

use crate::campaigns::{CampaignDef, windows::resolve};

/// How finely a day is simulated, in seconds; contacts due within the same step are one cohort.
const STEP_S: i64 = 300;

/// A cohort smaller than this is dropped: it is a vanishing tail (callbacks of callbacks), and
/// keeping it would let cohorts multiply without bound.
const NEGLIGIBLE: f64 = 1e-6;

/// The unfinished contacts, by (due step, attempts made): merged, so their number stays bounded
/// by the steps a retry can reach ahead times the attempts allowed.
type Queue = BTreeMap<(i64, i64), f64>;

fn bucket(due: i64) -> i64 {
    due.div_euclid(STEP_S * 1000) * STEP_S * 1000
}

/// What the simulation assumes.
#[derive(Debug, Clone)]
pub struct Assumptions {
    pub agents: u32,
    /// Seconds per attempt, wrap-up included.
    pub handle_time_s: i64,
    /// The share of all attempts that end in each disposition (sums to 1).
    pub shares: BTreeMap<Disposition, f64>,
    /// The phone's minimum gap, in seconds: no retry comes sooner.
    pub min_gap_s: i64,
}

impl Assumptions {
    /// The share of attempts that reach a person.
    pub fn contact_rate(&self) -> f64 {
        self.shares
            .iter()
            .filter(|(d, _)| d.reached())
            .map(|(_, s)| s)
            .sum()
    }

    /// The share of attempts that convert: the stats' `conversion_rate` (conversions over
    /// attempts), one definition everywhere.
    pub fn conversion_rate(&self) -> f64 {
        self.shares
            .get(&Disposition::Accepted)
            .copied()
            .unwrap_or(0.0)
    }

    /// The share of reached attempts that convert (not the stats' `conversion_rate`).
    pub fn conversion_per_reached(&self) -> f64 {
        let reached = self.contact_rate();
        if reached > 0.0 {
            self.conversion_rate() / reached
        } else {
            0.0
        }
    }
}

/// Contacts due at the same instant after the same number of attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cohort {
    pub due: i64,
    pub attempts: i64,
    pub n: f64,
}

/// One simulated day.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    pub attempts: f64,
    pub reached: f64,
    pub conversions: f64,
    /// Contacts not finished at the end of the day.
    pub remaining: f64,
}

/// Simulates `days` days from `from`'s date (the first from `from` itself) in the campaign's
/// zone, starting with `queue`. Nothing is called from the campaign's `end_at` on: the days
/// after it keep what was left then.
pub fn simulate(
    def: &CampaignDef,
    hours: &CallingHours,
    a: &Assumptions,
    cohorts: Vec<Cohort>,
    from: Instant,
    days: u32,
) -> Vec<Day> {
    let mut queue = Queue::new();
    for c in cohorts {
        *queue.entry((bucket(c.due), c.attempts)).or_default() += c.n;
    }
    let tz = def.timezone;
    let first = from.utc().with_timezone(&tz).date_naive();
    let per_step = a.agents as f64 * STEP_S as f64 / a.handle_time_s.max(1) as f64;
    let stop = def.end_at.map_or(i64::MAX, Instant::millis);
    let mut out = Vec::new();
    for offset in 0..days as i64 {
        let date = first + Duration::days(offset);
        let mut day = Day {
            date,
            attempts: 0.0,
            reached: 0.0,
            conversions: 0.0,
            remaining: 0.0,
        };
        for (start, end) in def.windows.open_on(date.weekday(), hours) {
            let at = |m: u16| {
                let local = date.and_hms_opt(0, 0, 0).unwrap() + Duration::minutes(m as i64);
                resolve(tz, local).map(|t| t.timestamp_millis())
            };
            let (Some(mut t), Some(end)) = (at(start), at(end)) else {
                continue;
            };
            t = t.max(from.millis());
            let end = end.min(stop);
            let mut budget = 0.0;
            while t < end {
                budget = (budget + per_step).min(per_step.max(1.0) * 2.0);
                budget -= step(def, a, &mut queue, t, budget, &mut day);
                t += STEP_S * 1000;
            }
        }
        day.remaining = queue.values().sum();
        out.push(day);
    }
    out
}

/// One step at `t`: attempts up to `budget` on the contacts due, first due first. Returns how
/// many attempts were made.
fn step(
    def: &CampaignDef,
    a: &Assumptions,
    queue: &mut Queue,
    t: i64,
    budget: f64,
    day: &mut Day,
) -> f64 {
    let mut used = 0.0;
    let mut next = Vec::new();
    while used < budget - 1e-9 {
        let Some(mut first) = queue.first_entry().filter(|e| e.key().0 <= t) else {
            break;
        };
        let (due, attempts) = *first.key();
        let take = first.get().min(budget - used);
        *first.get_mut() -= take;
        if *first.get() <= NEGLIGIBLE {
            first.remove();
        }
        used += take;
        attempt(
            def,
            a,
            Cohort {
                due,
                attempts,
                n: take,
            },
            t,
            day,
            &mut next,
        );
    }
    for c in next.into_iter().filter(|c| c.n > NEGLIGIBLE) {
        *queue.entry((bucket(c.due), c.attempts)).or_default() += c.n;
    }
    used
}

/// What `c.n` attempts at `t` lead to: the reached and converted counted, retries and
/// callbacks back in the queue.
fn attempt(
    def: &CampaignDef,
    a: &Assumptions,
    c: Cohort,
    t: i64,
    day: &mut Day,
    next: &mut Vec<Cohort>,
) {
    day.attempts += c.n;
    for (d, share) in &a.shares {
        let n = c.n * share;
        if n <= 0.0 {
            continue;
        }
        if d.reached() {
            day.reached += n;
        }
        if d.converts() {
            day.conversions += n;
        }
        let again = match d {
            Disposition::Callback => Some(DAY_MS),
            d => d
                .retry_delay(def)
                .filter(|_| c.attempts + 1 < def.max_attempts)
                .map(|delay| delay.as_secs().max(a.min_gap_s) * 1000),
        };
        if let Some(after) = again {
            next.push(Cohort {
                due: t + after,
                attempts: c.attempts + 1,
                n,
            });
        }
    }
}

/// The first day nothing remains, if any.
pub fn exhausted_on(days: &[Day]) -> Option<NaiveDate> {
    days.iter().find(|d| d.remaining < 0.5).map(|d| d.date)
}

#[cfg(test)]
mod tests {
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
}

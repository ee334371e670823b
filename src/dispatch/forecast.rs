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
use crate::dispatch::shares::{Fluid, split_fluid};
use crate::ids::CampaignId;

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

/// A campaign in a shared simulation: its rules, what it assumes (its `agents` unused: the
/// pool is shared), its unfinished contacts and its hand-outs so far on the first day.
#[derive(Debug, Clone)]
pub struct Lane {
    pub id: CampaignId,
    pub def: CampaignDef,
    pub a: Assumptions,
    pub cohorts: Vec<Cohort>,
    pub today: f64,
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
    let lane = Lane {
        id: CampaignId(0),
        def: def.clone(),
        a: a.clone(),
        cohorts,
        today: 0.0,
    };
    simulate_shared(&[lane], a.agents, hours, from, days).swap_remove(0)
}

/// Simulates campaigns that share one pool of `agents` (issue 27), each by its own rules, in
/// the days of the first lane's zone. At each step the pool's time goes to the campaigns open
/// then by the hand-out's rule (`dispatch::shares`): a higher priority takes what it has due
/// first, and within a priority the time is split so each campaign's hand-outs of the day
/// follow its share, a campaign with nothing due giving its turn to the others. The kept
/// counts start from each lane's `today` and restart each day. Returns the days of each lane.
pub fn simulate_shared(
    lanes: &[Lane],
    agents: u32,
    hours: &CallingHours,
    from: Instant,
    days: u32,
) -> Vec<Vec<Day>> {
    let mut queues: Vec<Queue> = lanes
        .iter()
        .map(|l| {
            let mut queue = Queue::new();
            for c in &l.cohorts {
                *queue.entry((bucket(c.due), c.attempts)).or_default() += c.n;
            }
            queue
        })
        .collect();
    let mut today: Vec<f64> = lanes.iter().map(|l| l.today).collect();
    let Some(tz) = lanes.first().map(|l| l.def.timezone) else {
        return vec![];
    };
    let first = from.utc().with_timezone(&tz).date_naive();
    let pool_step = agents as f64 * STEP_S as f64;
    let longest = lanes
        .iter()
        .map(|l| l.a.handle_time_s.max(1))
        .max()
        .unwrap_or(1) as f64;
    let cap = pool_step.max(longest) * 2.0;
    let mut out = vec![Vec::new(); lanes.len()];
    // Reused from step to step: the lanes open at a step and what the rule sees of them.
    let (mut at, mut slices) = (Vec::new(), Vec::new());
    for offset in 0..days as i64 {
        let date = first + Duration::days(offset);
        let mut day: Vec<Day> = lanes
            .iter()
            .map(|_| Day {
                date,
                attempts: 0.0,
                reached: 0.0,
                conversions: 0.0,
                remaining: 0.0,
            })
            .collect();
        if offset > 0 {
            today.iter_mut().for_each(|n| *n = 0.0);
        }
        let open: Vec<Vec<(i64, i64)>> = lanes
            .iter()
            .map(|l| open_on(l, hours, date, from))
            .collect();
        // The pool steps through the spans when any lane is open, a step at a time from each
        // span's start, whatever the number of windows; a lane is open at a step that falls
        // in one of its spans. The pool's time starts afresh after a pause.
        let mut cursor = vec![0; lanes.len()];
        for (start, end) in merged(open.iter().flatten().copied().collect()) {
            let (mut t, mut budget) = (start, 0.0);
            while t < end {
                budget = (budget + pool_step).min(cap);
                at.clear();
                for (i, spans) in open.iter().enumerate() {
                    while spans.get(cursor[i]).is_some_and(|&(_, e)| e <= t) {
                        cursor[i] += 1;
                    }
                    if spans.get(cursor[i]).is_some_and(|&(s, _)| s <= t) {
                        at.push(i);
                    }
                }
                slices.clear();
                slices.extend(at.iter().map(|&i| {
                    let cost = lanes[i].a.handle_time_s.max(1) as f64;
                    Fluid {
                        priority: lanes[i].def.priority,
                        share: lanes[i].def.share,
                        today: today[i],
                        // Alone, a lane takes what the budget buys; beside others, what it has
                        // due decides how its unused turns go to them.
                        due: if at.len() == 1 {
                            budget / cost
                        } else {
                            due_at(&queues[i], t, budget / cost)
                        },
                        cost,
                    }
                }));
                for (k, give) in split_fluid(&slices, budget).into_iter().enumerate() {
                    let i = at[k];
                    if give <= 0.0 {
                        continue;
                    }
                    let lane = &lanes[i];
                    let used = step(&lane.def, &lane.a, &mut queues[i], t, give, &mut day[i]);
                    today[i] += used;
                    budget -= used * slices[k].cost;
                }
                t += STEP_S * 1000;
            }
        }
        for (i, mut d) in day.into_iter().enumerate() {
            d.remaining = queues[i].values().sum();
            out[i].push(d);
        }
    }
    out
}

/// The spans a lane calls in on `date` (in its own zone), from `from` and before its `end_at`,
/// in epoch milliseconds (a campaign's windows are stored joined: they never overlap).
fn open_on(lane: &Lane, hours: &CallingHours, date: NaiveDate, from: Instant) -> Vec<(i64, i64)> {
    let def = &lane.def;
    let stop = def.end_at.map_or(i64::MAX, Instant::millis);
    def.windows
        .open_on(date.weekday(), hours)
        .into_iter()
        .filter_map(|(start, end)| {
            let at = |m: u16| {
                let local = date.and_hms_opt(0, 0, 0).unwrap() + Duration::minutes(m as i64);
                resolve(def.timezone, local).map(|t| t.timestamp_millis())
            };
            let (s, e) = (at(start)?.max(from.millis()), at(end)?.min(stop));
            (s < e).then_some((s, e))
        })
        .collect()
}

/// Spans in order with those that overlap or touch joined: the times any lane of the pool calls.
fn merged(mut spans: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    spans.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The contacts of a queue due at `t`, counted up to `enough` (beyond it the number changes
/// nothing, and a long backlog would cost a sum at every step).
fn due_at(queue: &Queue, t: i64, enough: f64) -> f64 {
    let mut n = 0.0;
    for (_, m) in queue.range(..=(t, i64::MAX)) {
        n += m;
        if n >= enough {
            break;
        }
    }
    n
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
mod tests;

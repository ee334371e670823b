//! Outcome stats and targets: periods, rates and pace. Pure rules; the store keeps the
//! roll-ups they are computed from.

use std::{collections::BTreeMap, fmt, str::FromStr};

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::dispatch::Disposition;

/// A target's period: a month (`2026-11`), a quarter (`2026-Q4`) or a year (`2026`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month(i32, u32),
    Quarter(i32, u32),
    Year(i32),
}

impl FromStr for Period {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not a period like 2026-11, 2026-Q4 or 2026");
        let year = |y: &str| {
            y.parse::<i32>()
                .ok()
                .filter(|y| (2000..=2200).contains(y))
                .ok_or_else(bad)
        };
        match s.split_once('-') {
            None if s.len() == 4 => Ok(Period::Year(year(s)?)),
            None => Err(bad()),
            Some((y, q)) if q.starts_with('Q') => {
                let q: u32 = q[1..].parse().map_err(|_| bad())?;
                if !(1..=4).contains(&q) {
                    return Err(bad());
                }
                Ok(Period::Quarter(year(y)?, q))
            }
            Some((y, m)) => {
                if m.len() != 2 {
                    return Err(bad());
                }
                let m: u32 = m.parse().map_err(|_| bad())?;
                if !(1..=12).contains(&m) {
                    return Err(bad());
                }
                Ok(Period::Month(year(y)?, m))
            }
        }
    }
}

crate::text_column!(Period);

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month(y, m) => write!(f, "{y}-{m:02}"),
            Period::Quarter(y, q) => write!(f, "{y}-Q{q}"),
            Period::Year(y) => write!(f, "{y}"),
        }
    }
}

fn first_of(tz: Tz, y: i32, m: u32) -> DateTime<Utc> {
    let (y, m) = if m > 12 { (y + 1, m - 12) } else { (y, m) };
    let date = NaiveDate::from_ymd_opt(y, m, 1).unwrap_or_default();
    crate::campaigns::windows::resolve(tz, date.and_hms_opt(0, 0, 0).unwrap_or_default())
        .unwrap_or_else(|| Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default()))
}

impl Period {
    /// `[start, end)` of the period in `tz`.
    pub fn range(self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        match self {
            Period::Month(y, m) => (first_of(tz, y, m), first_of(tz, y, m + 1)),
            Period::Quarter(y, q) => (first_of(tz, y, 3 * q - 2), first_of(tz, y, 3 * q + 1)),
            Period::Year(y) => (first_of(tz, y, 1), first_of(tz, y + 1, 1)),
        }
    }

    /// Month before quarter before year: the order a scope's current targets are listed in.
    pub fn rank(self) -> u8 {
        match self {
            Period::Month(..) => 0,
            Period::Quarter(..) => 1,
            Period::Year(_) => 2,
        }
    }

    /// The month, quarter and year containing `at` in `tz`.
    pub fn current(at: DateTime<Utc>, tz: Tz) -> [Period; 3] {
        let local = at.with_timezone(&tz);
        let (y, m) = (local.year(), local.month());
        [
            Period::Month(y, m),
            Period::Quarter(y, (m - 1) / 3 + 1),
            Period::Year(y),
        ]
    }
}

crate::text_enum! {
    /// What a target counts.
    pub enum Metric {
        /// `accepted` outcomes.
        Conversions = "conversions",
        /// Outcomes in which a person was spoken to.
        Reached = "reached",
        /// Every outcome.
        Attempts = "attempts",
        /// Conversions billing reported, attributed to a call of the scope (not counted from
        /// outcomes: read from the conversions).
        Activations = "activations",
    }
}

crate::text_enum! {
    /// Whose outcomes a target counts.
    pub enum TargetScope {
        /// One campaign's (`scope_id` is its id).
        Campaign = "campaign",
        /// One team's agents' (`scope_id` is the team's name).
        Team = "team",
        /// One agent's (`scope_id` is the agent's id).
        Agent = "agent",
    }
}

impl Metric {
    /// The metric out of outcome counts; `None` for one that outcomes do not count
    /// (`activations`).
    pub fn of(self, t: &Tally) -> Option<i64> {
        match self {
            Metric::Conversions => Some(t.conversions),
            Metric::Reached => Some(t.reached),
            Metric::Attempts => Some(t.attempts),
            Metric::Activations => None,
        }
    }
}

/// Outcome counts, by disposition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Tally {
    pub attempts: i64,
    pub reached: i64,
    pub conversions: i64,
    pub by_disposition: BTreeMap<String, i64>,
}

impl Tally {
    pub fn add(&mut self, disposition: Disposition, n: i64) {
        self.attempts += n;
        if disposition.reached() {
            self.reached += n;
        }
        if disposition.converts() {
            self.conversions += n;
        }
        *self
            .by_disposition
            .entry(disposition.as_str().to_owned())
            .or_default() += n;
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Tally) {
        self.attempts += other.attempts;
        self.reached += other.reached;
        self.conversions += other.conversions;
        for (d, n) in &other.by_disposition {
            *self.by_disposition.entry(d.clone()).or_default() += n;
        }
    }

    pub fn contact_rate(&self) -> f64 {
        ratio(self.reached, self.attempts)
    }

    pub fn conversion_rate(&self) -> f64 {
        ratio(self.conversions, self.attempts)
    }
}

fn ratio(a: i64, b: i64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Progress against a goal, with a linear pace through the period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub goal: i64,
    pub actual: i64,
    /// What is still missing (0 once reached).
    pub gap: i64,
    /// Where a linear pace through the period would be now.
    pub expected_by_now: f64,
    pub on_track: bool,
}

pub fn progress(
    goal: i64,
    actual: i64,
    period: (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Progress {
    let (start, end) = period;
    let total = (end - start).num_milliseconds().max(1) as f64;
    let elapsed = (now - start).num_milliseconds().clamp(0, total as i64) as f64;
    let expected = (goal as f64 * elapsed / total * 100.0).round() / 100.0;
    Progress {
        goal,
        actual,
        gap: (goal - actual).max(0),
        expected_by_now: expected,
        on_track: actual as f64 >= expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_span_their_local_range() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let (s, e) = "2026-11".parse::<Period>().unwrap().range(tz);
        assert_eq!(s.to_rfc3339(), "2026-10-31T16:00:00+00:00");
        assert_eq!(e.to_rfc3339(), "2026-11-30T16:00:00+00:00");
        let (s, e) = "2026-Q4".parse::<Period>().unwrap().range(tz);
        assert_eq!(
            (s.to_rfc3339().as_str(), e.to_rfc3339().as_str()),
            ("2026-09-30T16:00:00+00:00", "2026-12-31T16:00:00+00:00")
        );
        assert!("2026-13".parse::<Period>().is_err());
        assert!("2026-Q5".parse::<Period>().is_err());
        assert!("26".parse::<Period>().is_err());
        assert_eq!("2026-Q4".parse::<Period>().unwrap().to_string(), "2026-Q4");
    }

    #[test]
    fn pace_is_linear_through_the_period() {
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let range = "2026-11".parse::<Period>().unwrap().range(tz);
        let mid = range.0 + (range.1 - range.0) / 2;
        let p = progress(300, 100, range, mid);
        assert_eq!((p.gap, p.expected_by_now, p.on_track), (200, 150.0, false));
        assert!(progress(300, 160, range, mid).on_track);
        assert_eq!(progress(300, 400, range, range.1).gap, 0);
    }
}

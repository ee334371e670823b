//! Calling windows: when, in the contact's local time, a campaign may call. Together with the
//! global calling hours they decide whether a contact can be called now, and if not, when next.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::rules::{CallingHours, Minute};

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// A window on some days of the week, `start` inclusive and `end` exclusive, local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    days: u8,
    start: Minute,
    end: Minute,
}

/// The JSON form of a window, as the API writes it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// Day names: `mon` … `sun`.
    pub days: Vec<String>,
    /// `HH:MM`, local time.
    pub start: String,
    /// `HH:MM`, after `start`; `24:00` is the end of the day.
    pub end: String,
}

/// A campaign's calling windows; never empty. Stored as the JSON of the API form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows(Vec<Window>);

impl std::fmt::Display for Windows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let json = serde_json::to_string(&self.specs()).map_err(|_| std::fmt::Error)?;
        f.write_str(&json)
    }
}

impl std::str::FromStr for Windows {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let specs: Vec<WindowSpec> = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Self::parse(&specs).map_err(|(at, message)| format!("{at}: {message}"))
    }
}

crate::text_column!(Windows);

impl Window {
    fn on(&self, day: Weekday) -> bool {
        self.days & (1 << day.num_days_from_monday()) != 0
    }

    pub fn spec(&self) -> WindowSpec {
        WindowSpec {
            days: DAYS
                .iter()
                .filter(|(_, d)| self.on(*d))
                .map(|(n, _)| (*n).to_owned())
                .collect(),
            start: self.start.to_string(),
            end: self.end.to_string(),
        }
    }
}

/// The same hours as `windows`, normalised: each day's overlapping or adjacent windows joined,
/// then the days with the same joined window written as one, by start. So however many windows
/// a campaign is given, each instant is in at most one, and a day holds at most as many as it
/// has gaps (what the hand-out, the explanations and the forecast step through).
fn merged(windows: &[Window]) -> Vec<Window> {
    let mut by_span: std::collections::BTreeMap<(Minute, Minute), u8> = Default::default();
    for (bit, (_, day)) in DAYS.iter().enumerate() {
        let mut spans: Vec<(Minute, Minute)> = windows
            .iter()
            .filter(|w| w.on(*day))
            .map(|w| (w.start, w.end))
            .collect();
        spans.sort();
        let mut joined: Vec<(Minute, Minute)> = Vec::with_capacity(spans.len());
        for (start, end) in spans {
            match joined.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => joined.push((start, end)),
            }
        }
        for span in joined {
            *by_span.entry(span).or_default() |= 1 << bit;
        }
    }
    by_span
        .into_iter()
        .map(|((start, end), days)| Window { days, start, end })
        .collect()
}

impl Windows {
    /// The default: 09:00–21:00 every day.
    pub fn all_week_9_to_21() -> Self {
        Self(vec![Window {
            days: 0x7f,
            start: Minute::new(9 * 60).unwrap(),
            end: Minute::new(21 * 60).unwrap(),
        }])
    }

    /// Every hour of every day (used for callbacks, which only the global hours limit).
    pub fn always() -> Self {
        Self(vec![Window {
            days: 0x7f,
            start: Minute::new(0).unwrap(),
            end: Minute::new(1440).unwrap(),
        }])
    }

    /// Parses the API form; the error names the offending element (`[1].start`).
    pub fn parse(specs: &[WindowSpec]) -> Result<Self, (String, String)> {
        if specs.is_empty() {
            return Err((String::new(), "needs at least one window".into()));
        }
        if specs.len() > 50 {
            return Err((String::new(), "at most 50 windows".into()));
        }
        let mut out = vec![];
        for (i, spec) in specs.iter().enumerate() {
            let mut days = 0u8;
            if spec.days.is_empty() {
                return Err((format!("[{i}].days"), "needs at least one day".into()));
            }
            for name in &spec.days {
                let lower = name.trim().to_ascii_lowercase();
                let day = DAYS
                    .iter()
                    .find(|(n, _)| {
                        lower == *n || (lower.len() > 3 && day_full(n).starts_with(&lower))
                    })
                    .ok_or_else(|| {
                        (
                            format!("[{i}].days"),
                            format!("'{name}' is not a day (mon … sun)"),
                        )
                    })?;
                days |= 1 << day.1.num_days_from_monday();
            }
            let start: Minute = spec
                .start
                .parse()
                .map_err(|e| (format!("[{i}].start"), e))?;
            let end: Minute = spec.end.parse().map_err(|e| (format!("[{i}].end"), e))?;
            if start >= end {
                return Err((format!("[{i}].end"), "must be after start".into()));
            }
            out.push(Window { days, start, end });
        }
        Ok(Self(merged(&out)))
    }

    /// The windows that never meet the global hours: no call is ever made in them.
    pub fn outside(&self, hours: &CallingHours) -> Vec<WindowSpec> {
        self.0
            .iter()
            .filter(|w| w.end <= hours.start || w.start >= hours.end)
            .map(Window::spec)
            .collect()
    }

    pub fn specs(&self) -> Vec<WindowSpec> {
        self.0.iter().map(Window::spec).collect()
    }

    /// The local intervals (minutes after midnight) open on `day` within the global hours.
    pub fn open_on(&self, day: Weekday, hours: &CallingHours) -> Vec<(u16, u16)> {
        let mut spans: Vec<(u16, u16)> = self
            .0
            .iter()
            .filter(|w| w.on(day))
            .map(|w| {
                (
                    w.start.get().max(hours.start.get()),
                    w.end.get().min(hours.end.get()),
                )
            })
            .filter(|(s, e)| s < e)
            .collect();
        spans.sort();
        spans
    }

    /// Whether `at` is inside a window and the global hours, in `tz`.
    pub fn is_open(&self, at: DateTime<Utc>, tz: Tz, hours: &CallingHours) -> bool {
        let local = at.with_timezone(&tz);
        let minute = (local.hour() * 60 + local.minute()) as u16;
        self.open_on(local.weekday(), hours)
            .iter()
            .any(|(s, e)| *s <= minute && minute < *e)
    }

    /// The first instant at or after `at` when a call is allowed; `None` if the windows and
    /// the global hours never overlap.
    pub fn next_open(
        &self,
        at: DateTime<Utc>,
        tz: Tz,
        hours: &CallingHours,
    ) -> Option<DateTime<Utc>> {
        if self.is_open(at, tz, hours) {
            return Some(at);
        }
        let local = at.with_timezone(&tz).naive_local();
        for offset in 0..=8 {
            let date = local.date() + Duration::days(offset);
            for (start, _) in self.open_on(date.weekday(), hours) {
                let candidate = at_minute(date, start);
                if candidate <= local {
                    continue;
                }
                if let Some(instant) = resolve(tz, candidate)
                    && instant > at
                {
                    return Some(instant);
                }
            }
        }
        None
    }
}

fn day_full(short: &str) -> &'static str {
    match short {
        "mon" => "monday",
        "tue" => "tuesday",
        "wed" => "wednesday",
        "thu" => "thursday",
        "fri" => "friday",
        "sat" => "saturday",
        _ => "sunday",
    }
}

fn at_minute(date: NaiveDate, minute: u16) -> NaiveDateTime {
    date.and_hms_opt(0, 0, 0).unwrap() + Duration::minutes(minute as i64)
}

pub use crate::time::resolve;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_and_adjacent_windows_are_merged_day_by_day() {
        let w = Windows::parse(&[
            spec(&["mon", "tue"], "09:00", "12:00"),
            spec(&["mon"], "11:00", "13:00"),
            spec(&["mon"], "13:00", "14:00"),
            spec(&["tue"], "09:30", "10:00"),
            spec(&["wed"], "18:00", "20:00"),
            spec(&["wed"], "09:00", "12:00"),
        ])
        .unwrap();
        let specs: Vec<(Vec<String>, String, String)> = w
            .specs()
            .into_iter()
            .map(|s| (s.days, s.start, s.end))
            .collect();
        let owned = |d: &[&str], s: &str, e: &str| {
            (
                d.iter().map(|x| x.to_string()).collect(),
                s.to_owned(),
                e.to_owned(),
            )
        };
        assert_eq!(
            specs,
            vec![
                owned(&["tue", "wed"], "09:00", "12:00"),
                owned(&["mon"], "09:00", "14:00"),
                owned(&["wed"], "18:00", "20:00"),
            ]
        );
        let fifty: Vec<WindowSpec> = (0..50)
            .map(|i| spec(&["mon"], &format!("09:{i:02}"), "12:00"))
            .collect();
        assert_eq!(Windows::parse(&fifty).unwrap().specs().len(), 1);
    }
    use chrono::TimeZone;

    fn shanghai() -> Tz {
        "Asia/Shanghai".parse().unwrap()
    }

    fn spec(days: &[&str], start: &str, end: &str) -> WindowSpec {
        WindowSpec {
            days: days.iter().map(|d| d.to_string()).collect(),
            start: start.into(),
            end: end.into(),
        }
    }

    #[test]
    fn windows_open_and_close_in_local_time() {
        let w = Windows::parse(&[
            spec(&["mon", "tue", "wed", "thu", "fri"], "09:00", "12:00"),
            spec(&["wed"], "14:00", "20:00"),
        ])
        .unwrap();
        let hours: CallingHours = "08:00-21:00".parse().unwrap();
        // Wednesday 2026-11-25 10:00 Shanghai = 02:00 UTC.
        let wed10 = Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap();
        assert!(w.is_open(wed10, shanghai(), &hours));
        let wed13 = wed10 + Duration::hours(3);
        assert!(!w.is_open(wed13, shanghai(), &hours));
        assert_eq!(
            w.next_open(wed13, shanghai(), &hours),
            Some(wed10 + Duration::hours(4))
        );
        // Friday 12:30 → Monday 09:00.
        let fri1230 = Utc.with_ymd_and_hms(2026, 11, 27, 4, 30, 0).unwrap();
        assert_eq!(
            w.next_open(fri1230, shanghai(), &hours),
            Some(Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap())
        );
    }

    #[test]
    fn global_hours_narrow_the_windows() {
        let w = Windows::parse(&[spec(
            &["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "06:00",
            "23:00",
        )])
        .unwrap();
        let hours: CallingHours = "08:00-21:00".parse().unwrap();
        let at_7 = Utc.with_ymd_and_hms(2026, 11, 24, 23, 0, 0).unwrap(); // 07:00 Wed Shanghai
        assert!(!w.is_open(at_7, shanghai(), &hours));
        assert_eq!(
            w.next_open(at_7, shanghai(), &hours),
            Some(at_7 + Duration::hours(1))
        );
        let never: CallingHours = "22:00-23:00".parse().unwrap();
        let morning = Windows::parse(&[spec(&["mon"], "09:00", "10:00")]).unwrap();
        assert_eq!(morning.next_open(at_7, shanghai(), &never), None);
    }

    #[test]
    fn bad_windows_name_the_element() {
        let cases = [
            (spec(&["mon"], "25:00", "26:00"), "[0].start"),
            (spec(&["mon"], "10:00", "09:00"), "[0].end"),
            (spec(&["funday"], "09:00", "10:00"), "[0].days"),
            (spec(&[], "09:00", "10:00"), "[0].days"),
            (spec(&["mon"], "9am", "10:00"), "[0].start"),
        ];
        for (s, field) in cases {
            assert_eq!(Windows::parse(&[s]).unwrap_err().0, field);
        }
        assert!(Windows::parse(&[spec(&["Monday", "TUE"], "09:00", "24:00")]).is_ok());
    }
}

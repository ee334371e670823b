//! Campaign recurrence: a cron expression (6 or 7 fields, seconds first, day names preferred)
//! evaluated in the campaign's time zone on wall-clock time. A due time that a daylight-saving
//! change skips fires at the first instant after the gap; one the change repeats fires once.

use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::windows::resolve;

/// A checked cron schedule.
#[derive(Debug, Clone)]
pub struct Recurrence {
    text: String,
    schedule: cron::Schedule,
}

impl std::fmt::Display for Recurrence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Recurrence {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }
}

crate::text_column!(Recurrence);

impl Recurrence {
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let fields = trimmed.split_whitespace().count();
        if !(6..=7).contains(&fields) {
            return Err(format!(
                "'{trimmed}' has {fields} fields; use 6 or 7, seconds first, e.g. \"0 0 9 1 * *\" \
                 (09:00 on the 1st) or \"0 30 10 * * MON-FRI\""
            ));
        }
        let schedule = cron::Schedule::from_str(trimmed)
            .map_err(|e| format!("'{trimmed}' is not a cron expression: {e}"))?;
        // One second of the minute at most: a recurrence re-opens a whole campaign's finished
        // contacts, which is not something to do every few seconds.
        if cron::TimeUnitSpec::count(schedule.seconds()) > 1 {
            return Err(format!(
                "'{trimmed}' fires more than once a minute; name one second, e.g. \"0 * * * * *\""
            ));
        }
        if schedule
            .after(&Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap())
            .next()
            .is_none()
        {
            return Err(format!("'{trimmed}' never fires"));
        }
        Ok(Self {
            text: trimmed.to_owned(),
            schedule,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first due instant strictly after `after`, in `tz`'s wall-clock time.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        // Walk the schedule on naive local time (as if it were UTC), then place each wall time
        // in the zone: no due time is lost in a spring gap or doubled in an autumn overlap.
        let local_after = after.with_timezone(&tz).naive_local();
        let naive_base = Utc.from_utc_datetime(&local_after);
        for naive in self.schedule.after(&naive_base).take(16) {
            if let Some(instant) = resolve(tz, naive.naive_utc())
                && instant > after
            {
                return Some(instant);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_needs_six_or_seven_fields() {
        assert!(Recurrence::parse("0 0 9 1 * *").is_ok());
        assert!(Recurrence::parse("0 30 10 * * MON-FRI").is_ok());
        assert!(Recurrence::parse("0 9 * * *").is_err());
        assert!(Recurrence::parse("every day").is_err());
        assert!(Recurrence::parse("0 0 25 * * *").is_err());
    }

    #[test]
    fn monthly_care_calls_fire_at_nine_local() {
        let r = Recurrence::parse("0 0 9 1 * *").unwrap();
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap();
        assert_eq!(
            r.next_after(now, tz),
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap())
        );
    }

    #[test]
    fn daylight_saving_gaps_shift_and_overlaps_fire_once() {
        let tz: Tz = "America/New_York".parse().unwrap();
        // 2026-03-08: 02:00–03:00 does not exist in New York.
        let daily_230 = Recurrence::parse("0 30 2 * * *").unwrap();
        let before = Utc.with_ymd_and_hms(2026, 3, 8, 5, 0, 0).unwrap(); // 00:00 EST
        let due = daily_230.next_after(before, tz).unwrap();
        assert_eq!(due, Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap()); // 03:00 EDT
        // 2026-11-01: 01:00–02:00 happens twice; 01:30 fires once.
        let daily_130 = Recurrence::parse("0 30 1 * * *").unwrap();
        let before = Utc.with_ymd_and_hms(2026, 11, 1, 4, 0, 0).unwrap(); // 00:00 EDT
        let first = daily_130.next_after(before, tz).unwrap();
        assert_eq!(first, Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap());
        let next = daily_130.next_after(first, tz).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 11, 2, 6, 30, 0).unwrap());
    }
}

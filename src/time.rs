//! The one instant type, [`Instant`]: epoch milliseconds, as both backends store instants, and
//! the one RFC 3339 parser and formatter the API reads and writes times with.

use std::{
    fmt,
    ops::{Add, Sub},
};

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::duration::Span;

/// An instant, stored as epoch milliseconds (UTC) on both backends.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, sqlx::Type, serde::Serialize,
)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct Instant(i64);

/// Milliseconds in an hour (roll-ups are kept per epoch hour).
pub const HOUR_MS: i64 = 3_600_000;
/// Milliseconds in a day.
pub const DAY_MS: i64 = 24 * HOUR_MS;

impl Instant {
    /// The earliest instant the API can name.
    pub const MIN: Instant = Instant(i64::MIN);

    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn from_utc(at: DateTime<Utc>) -> Self {
        Self(at.timestamp_millis())
    }

    pub fn utc(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .unwrap_or_default()
    }

    /// `ms` milliseconds later (earlier when negative).
    pub fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// The epoch hour this instant falls in.
    pub fn hour(self) -> i64 {
        self.0.div_euclid(HOUR_MS)
    }

    /// The first epoch hour that starts at or after this instant.
    pub fn hour_ceil(self) -> i64 {
        self.0.saturating_add(HOUR_MS - 1).div_euclid(HOUR_MS)
    }

    /// RFC 3339 with the offset of `tz` (`2026-11-25T09:30:00+08:00`).
    pub fn rfc3339(self, tz: Tz) -> String {
        self.utc().with_timezone(&tz).to_rfc3339()
    }

    /// Reads an RFC 3339 time with offset; the error says what was expected.
    pub fn parse_rfc3339(text: &str) -> Result<Self, String> {
        DateTime::parse_from_rfc3339(text.trim())
            .map(|t| Self::from_utc(t.with_timezone(&Utc)))
            .map_err(|_| format!("'{text}' is not an RFC 3339 time like 2026-11-26T09:00:00+08:00"))
    }

    /// An instant written in RFC 3339, or a day `YYYY-MM-DD` read as its first instant in `tz`.
    pub fn parse_rfc3339_or_day(text: &str, tz: Tz) -> Result<Self, String> {
        if let Ok(at) = Self::parse_rfc3339(text) {
            return Ok(at);
        }
        let quoted = crate::text::excerpt(text, 40);
        let day = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| format!("'{quoted}' is neither RFC 3339 nor a date YYYY-MM-DD"))?;
        resolve(tz, day.and_hms_opt(0, 0, 0).unwrap_or_default())
            .map(Self::from_utc)
            .ok_or_else(|| format!("'{quoted}' has no midnight"))
    }

    /// Seconds from `self` until `later`, rounded up (0 when `later` is not after `self`).
    pub fn secs_until(self, later: Instant) -> i64 {
        (later.0.saturating_sub(self.0).max(0) + 999) / 1000
    }
}

/// An IANA time zone, stored by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(pub Tz);

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

impl std::str::FromStr for Zone {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        text.trim()
            .parse::<Tz>()
            .map(Zone)
            .map_err(|_| format!("'{}' is not an IANA time zone", text.trim()))
    }
}

crate::text_column!(Zone);

impl From<DateTime<Utc>> for Instant {
    fn from(at: DateTime<Utc>) -> Self {
        Self::from_utc(at)
    }
}

impl From<Instant> for DateTime<Utc> {
    fn from(at: Instant) -> Self {
        at.utc()
    }
}

impl Add<Span> for Instant {
    type Output = Instant;
    fn add(self, span: Span) -> Instant {
        self.plus_millis(span.as_millis())
    }
}

impl Sub<Span> for Instant {
    type Output = Instant;
    fn sub(self, span: Span) -> Instant {
        self.plus_millis(-span.as_millis())
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.utc().to_rfc3339())
    }
}

/// The instant of a local time; a time skipped by a daylight-saving change resolves to the
/// first instant after the gap, a repeated one to its first occurrence.
pub fn resolve(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    for shift in 0..=4 {
        match tz.from_local_datetime(&(local + chrono::Duration::minutes(30 * shift))) {
            LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, _) => return Some(a.with_timezone(&Utc)),
            LocalResult::None => continue,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_in_the_given_zone() {
        let at = Instant::parse_rfc3339(" 2026-11-25T10:00:00+08:00 ").unwrap();
        assert_eq!(at.millis(), 1_795_572_000_000);
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(at.rfc3339(tz), "2026-11-25T10:00:00+08:00");
        assert!(Instant::parse_rfc3339("2026-11-25 10:00").is_err());
    }

    #[test]
    fn hours_are_floored_and_ceiled() {
        let at = Instant::from_millis(3 * HOUR_MS + 1);
        assert_eq!((at.hour(), at.hour_ceil()), (3, 4));
        let exact = Instant::from_millis(3 * HOUR_MS);
        assert_eq!((exact.hour(), exact.hour_ceil()), (3, 3));
        assert_eq!(
            Instant::from_millis(0).secs_until(Instant::from_millis(1_001)),
            2
        );
    }
}

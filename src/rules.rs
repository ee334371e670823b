//! Contact-pressure rules that hold across every campaign: the global calling hours and the
//! per-phone frequency cap and minimum gap.

use std::{fmt, str::FromStr};

use crate::duration::Span;

/// A time of day in minutes after midnight, 0..=1440 (1440 is the end of the day, "24:00").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Minute(u16);

impl Minute {
    pub fn get(self) -> u16 {
        self.0
    }
    pub fn new(minute: u16) -> Option<Self> {
        (minute <= 1440).then_some(Self(minute))
    }
}

impl FromStr for Minute {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("'{text}' is not a time of day HH:MM (00:00 to 24:00)");
        let (h, m) = text.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if m > 59 || h > 24 || (h == 24 && m != 0) {
            return Err(bad());
        }
        Ok(Self(h * 60 + m))
    }
}

impl fmt::Display for Minute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// Local hours in which any call may be handed out: `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallingHours {
    pub start: Minute,
    pub end: Minute,
}

impl CallingHours {
    /// Whether a local time of day (minutes after midnight) is inside the hours.
    pub fn contains(&self, minute: u16) -> bool {
        self.start.0 <= minute && minute < self.end.0
    }
}

impl FromStr for CallingHours {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| format!("'{text}' is not a range of hours like 08:00-21:00"))?;
        let (start, end): (Minute, Minute) = (start.trim().parse()?, end.trim().parse()?);
        if start >= end {
            return Err(format!("'{text}': the start must be before the end"));
        }
        Ok(Self { start, end })
    }
}

impl fmt::Display for CallingHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

/// At most `max` attempts per phone in any rolling `period`, across all campaigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneCap {
    pub max: u32,
    pub period: Span,
}

impl FromStr for PhoneCap {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("'{text}' is not a cap like 3/24h");
        let (max, period) = text.split_once('/').ok_or_else(bad)?;
        let max: u32 = max.trim().parse().map_err(|_| bad())?;
        let period: Span = period.trim().parse()?;
        if max == 0 || period.is_zero() {
            return Err(format!(
                "'{text}': the cap and its period must be above zero"
            ));
        }
        Ok(Self { max, period })
    }
}

/// At most `max` events in any rolling `period`, written like the phone cap (`20/1h`): an
/// agent's releases without an outcome (`OUTCALL_RELEASE_LIMIT`), a token's phone look-ups
/// (`OUTCALL_LOOKUP_LIMIT`).
pub type RateLimit = PhoneCap;

impl fmt::Display for PhoneCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.max, self.period)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calling_hours_parse_including_the_whole_day() {
        let h: CallingHours = "08:00-21:00".parse().unwrap();
        assert!(h.contains(8 * 60) && !h.contains(21 * 60) && !h.contains(7 * 60 + 59));
        let all: CallingHours = "00:00-24:00".parse().unwrap();
        assert!(all.contains(0) && all.contains(1439));
        for bad in [
            "25:00-26:00",
            "21:00-08:00",
            "8:00-21:00",
            "08:00",
            "08:60-09:00",
        ] {
            assert!(bad.parse::<CallingHours>().is_err(), "{bad}");
        }
    }

    #[test]
    fn phone_caps_parse() {
        let cap: PhoneCap = "3/24h".parse().unwrap();
        assert_eq!((cap.max, cap.period.as_secs()), (3, 86_400));
        for bad in ["0/24h", "3/0s", "3", "x/1h"] {
            assert!(bad.parse::<PhoneCap>().is_err(), "{bad}");
        }
    }
}

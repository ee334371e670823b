//! Durations as the API writes them: a whole number and a unit, `"90s"`, `"15m"`, `"2h"`, `"1d"`.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// A non-negative span of time written as `<n><unit>` with unit `s`, `m`, `h` or `d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    seconds: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    S,
    M,
    H,
    D,
}

impl Unit {
    fn seconds(self) -> i64 {
        match self {
            Unit::S => 1,
            Unit::M => 60,
            Unit::H => 3_600,
            Unit::D => 86_400,
        }
    }
    fn suffix(self) -> char {
        match self {
            Unit::S => 's',
            Unit::M => 'm',
            Unit::H => 'h',
            Unit::D => 'd',
        }
    }
}

/// The longest span accepted anywhere: ten years.
const MAX_SECONDS: i64 = 10 * 365 * 86_400;

impl Span {
    pub fn from_secs(seconds: i64) -> Self {
        Self { seconds }
    }
    pub fn as_secs(self) -> i64 {
        self.seconds
    }
    pub fn as_millis(self) -> i64 {
        self.seconds * 1000
    }
    pub fn is_zero(self) -> bool {
        self.seconds == 0
    }
    pub fn std(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.seconds as u64)
    }
}

impl FromStr for Span {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("'{text}' is not a duration like \"90s\", \"15m\", \"2h\" or \"1d\"");
        let text_trim = text.trim();
        let (digits, unit) = text_trim.split_at(text_trim.len().saturating_sub(1));
        let unit = match unit {
            "s" => Unit::S,
            "m" => Unit::M,
            "h" => Unit::H,
            "d" => Unit::D,
            _ => return Err(bad()),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 12 {
            return Err(bad());
        }
        let n: i64 = digits.parse().map_err(|_| bad())?;
        let seconds = n.checked_mul(unit.seconds()).filter(|s| *s <= MAX_SECONDS);
        let seconds = seconds.ok_or_else(|| format!("'{text}' is longer than ten years"))?;
        Ok(Self { seconds })
    }
}

impl fmt::Display for Span {
    /// In the largest unit that divides it: 7200 seconds is `2h`, 90 seconds `90s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = [Unit::D, Unit::H, Unit::M]
            .into_iter()
            .find(|u| self.seconds > 0 && self.seconds % u.seconds() == 0)
            .unwrap_or(Unit::S);
        write!(f, "{}{}", self.seconds / unit.seconds(), unit.suffix())
    }
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Stored as whole seconds.
impl<DB: sqlx::Database> sqlx::Type<DB> for Span
where
    i64: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <i64 as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <i64 as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for Span
where
    i64: sqlx::Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <i64 as sqlx::Encode<'q, DB>>::encode(self.seconds, buf)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for Span
where
    i64: sqlx::Decode<'r, DB>,
{
    fn decode(
        value: <DB as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        let seconds = <i64 as sqlx::Decode<'r, DB>>::decode(value)?;
        if !(0..=MAX_SECONDS).contains(&seconds) {
            return Err(format!("stored duration {seconds}s is out of range").into());
        }
        Ok(Self { seconds })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_parse_and_print_in_their_own_unit() {
        for (text, secs) in [
            ("90s", 90),
            ("15m", 900),
            ("2h", 7200),
            ("1d", 86400),
            ("0s", 0),
        ] {
            let span: Span = text.parse().unwrap();
            assert_eq!(span.as_secs(), secs);
            assert_eq!(span.to_string(), text);
        }
    }

    #[test]
    fn malformed_spans_are_refused() {
        for text in [
            "",
            "s",
            "10",
            "1w",
            "-5m",
            "1.5h",
            "m5",
            "99999999999999d",
            "１h",
        ] {
            assert!(text.parse::<Span>().is_err(), "{text} should be refused");
        }
    }
}

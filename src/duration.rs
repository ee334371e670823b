//! Durations as the API writes them (`"90s"`, `"15m"`, `"2h"`, `"1d"`) and as people type them
//! (`"15 min"`, `"1.5h"`, `"15分钟"`, `"十五分钟"`, `"一个半小时"`).

use std::{fmt, str::FromStr};

use crate::codes::{Code, Reason};
use serde::{Deserialize, Serialize};

/// A non-negative span of time, written back as `<n><unit>` with unit `s`, `m`, `h` or `d`.
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
    type Err = Reason;
    /// A number and a unit, as people type them: `90s`, `15m`, `2h`, `1d`, `1w`, `15 min`,
    /// `1.5h`, `15分钟`, `２小时`, `十五分钟`, `一个半小时`, `3天`, `1周`. The number is ASCII or
    /// full-width digits (with an optional decimal part) or a Chinese numeral; the result must
    /// be a whole number of seconds.
    fn from_str(text: &str) -> Result<Self, Reason> {
        let bad = || {
            Code::DurationInvalid
                .because(format!(
                    "'{}' is not a duration: write a number and a unit, like \"90s\", \"15m\", \
                 \"2h\", \"1d\", \"15分钟\" or \"2小时\"",
                    crate::text::excerpt(text, 40)
                ))
                .with("value", crate::text::excerpt(text, 40))
                .with(
                    "examples",
                    vec!["90s", "15m", "2h", "1d", "15分钟", "2小时"],
                )
        };
        let seconds = parse_seconds(text.trim()).ok_or_else(bad)?;
        let seconds = seconds.filter(|s| *s <= MAX_SECONDS).ok_or_else(|| {
            Code::DurationOutOfRange
                .because(format!(
                    "'{}' is longer than ten years",
                    crate::text::excerpt(text, 40)
                ))
                .with("max", "10y")
        })?;
        Ok(Self { seconds })
    }
}

/// The seconds a text stands for: `None` when it is not a duration, `Some(None)` when it is one
/// too long to count.
fn parse_seconds(text: &str) -> Option<Option<i64>> {
    // Full-width digits and point, as a Chinese input method types them, read as ASCII.
    let text: String = text
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '．' => '.',
            c => c,
        })
        .collect();
    let split = text
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || chinese_digit(*c).is_some()))
        .map_or(text.len(), |(i, _)| i);
    let (number, rest) = (&text[..split], text[split..].trim());
    // 个 in 一个小时; 半 in 半小时 or 一个半小时.
    let rest = rest.strip_prefix('个').unwrap_or(rest);
    let (half, rest) = match rest.strip_prefix('半') {
        Some(r) => (true, r.strip_prefix('个').unwrap_or(r)),
        None => (false, rest),
    };
    let unit = unit_seconds(rest.trim())?;
    // The number as an exact fraction n / scale, halves added.
    let (n, scale) = match number {
        "" if half => (0, 1),
        "" => return None,
        _ if number.chars().all(|c| c.is_ascii_digit() || c == '.') => decimal(number)?,
        _ => (chinese_number(number)?, 1),
    };
    let halves = |x: i128| if half { x * 2 + scale } else { x * 2 };
    let total = halves(n) * unit as i128;
    let denominator = 2 * scale;
    if total % denominator != 0 {
        return None;
    }
    Some(i64::try_from(total / denominator).ok())
}

/// An ASCII number with at most three decimals, as `(n, 10^decimals)`.
fn decimal(text: &str) -> Option<(i128, i128)> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || whole.len() > 12 || fraction.len() > 3 || fraction.contains('.') {
        return None;
    }
    if text.ends_with('.') {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    Some((digits.parse().ok()?, 10i128.pow(fraction.len() as u32)))
}

fn chinese_digit(c: char) -> Option<i128> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        '十' => 10,
        '百' => 100,
        '千' => 1000,
        _ => return None,
    })
}

/// A Chinese numeral below ten thousand: 三, 十五, 二十, 一百二十, 两千零五.
fn chinese_number(text: &str) -> Option<i128> {
    let (mut total, mut digit) = (0i128, None::<i128>);
    let mut last_multiplier = i128::MAX;
    for c in text.chars() {
        match chinese_digit(c)? {
            m @ (10 | 100 | 1000) => {
                // Each multiplier at most once, largest first: 十百 is not a number.
                if m >= last_multiplier {
                    return None;
                }
                last_multiplier = m;
                // Only a leading 十 stands without its digit (十五); 百十 is "about a hundred".
                let d = match digit.take() {
                    Some(d) => d,
                    None if total == 0 && m == 10 => 1,
                    None => return None,
                };
                total += d * m;
            }
            0 => {}
            d => {
                if digit.is_some() {
                    return None;
                }
                digit = Some(d);
            }
        }
    }
    Some(total + digit.unwrap_or(0))
}

fn unit_seconds(unit: &str) -> Option<i64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" | "秒" | "秒钟" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" | "分" | "分钟" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" | "时" | "小时" | "钟头" => 3_600,
        "d" | "day" | "days" | "天" | "日" => 86_400,
        "w" | "week" | "weeks" | "周" | "星期" | "礼拜" => 7 * 86_400,
        _ => return None,
    })
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
            "-5m",
            "m5",
            "99999999999999d",
            "1.5s",
            "1..5h",
            "1.h",
            ".5h",
            "十十分",
            "百十分",
            "三三分",
            "半秒",
            "分钟",
            "十五",
            "15 fortnights",
        ] {
            assert!(text.parse::<Span>().is_err(), "{text} should be refused");
        }
    }

    #[test]
    fn spans_are_read_as_people_type_them_in_chinese_and_english() {
        for (text, secs) in [
            ("15 min", 900),
            ("2 Hours", 7200),
            ("1w", 7 * 86400),
            ("1.5h", 5400),
            ("15分", 900),
            ("15分钟", 900),
            ("１５分钟", 900),
            ("十五分钟", 900),
            ("三分", 180),
            ("2小时", 7200),
            ("两小时", 7200),
            ("一个小时", 3600),
            ("半小时", 1800),
            ("一个半小时", 5400),
            ("90秒", 90),
            ("3天", 3 * 86400),
            ("1周", 7 * 86400),
            ("二十分钟", 1200),
            ("一百二十秒", 120),
            ("两千零五秒", 2005),
            (" 4时 ", 14400),
        ] {
            let span: Span = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(span.as_secs(), secs, "{text}");
        }
    }

    #[test]
    fn a_refusal_gives_examples_and_quotes_a_bounded_excerpt() {
        let long = "分".repeat(10_000);
        let e = long.parse::<Span>().unwrap_err().message;
        assert!(e.contains("15分钟") && e.contains("\"15m\""), "{e}");
        assert!(e.chars().count() < 200, "{e}");
    }
}

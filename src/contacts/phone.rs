//! Phone numbers, stored and shown in E.164.

use std::fmt;

use serde::Serialize;

/// A valid phone number in E.164 form (`+8613800138000`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

/// The region national numbers are read in (`CN`).
#[derive(Debug, Clone, Copy)]
pub struct Region(phonenumber::country::Id);

impl Region {
    pub fn parse(code: &str) -> Result<Self, String> {
        code.trim()
            .to_ascii_uppercase()
            .parse::<phonenumber::country::Id>()
            .map(Region)
            .map_err(|_| format!("'{code}' is not a region code like CN"))
    }
}

impl Phone {
    /// Reads a number written internationally (`+86 138…`) or nationally in `region`
    /// (`13800138000`, `138-0013-8000`, `(010) 6552 9988`).
    pub fn parse(text: &str, region: Region) -> Result<Self, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("is empty".into());
        }
        if trimmed.len() > 40 || trimmed.chars().any(|c| c.is_control()) {
            return Err("is not a phone number".into());
        }
        let number = phonenumber::parse(Some(region.0), trimmed)
            .map_err(|_| "is not a phone number".to_owned())?;
        if !number.is_valid() {
            return Err("is not a valid phone number for its region".into());
        }
        // E.164 is `+`, the country code and the national significant number: what the crate's
        // own E.164 formatter writes, without the national layout it works out first and then
        // drops (that took a third of an import's time per row).
        Ok(Self(format!(
            "+{}{}",
            number.code().value(),
            number.national()
        )))
    }

    /// A value read back from storage, already normalised.
    pub fn from_stored(e164: String) -> Self {
        Self(e164)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with its middle hidden, for logs and messages.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Keeps the first three and last two characters: `+86*********00`.
pub fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 5 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..3].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 5));
    out.extend(&chars[chars.len() - 2..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_and_international_forms_normalise_to_e164() {
        let cn = Region::parse("CN").unwrap();
        for text in [
            "13800138000",
            "138-0013-8000",
            "+86 138 0013 8000",
            "+8613800138000",
            "8613800138000",
        ] {
            assert_eq!(
                Phone::parse(text, cn).unwrap().as_str(),
                "+8613800138000",
                "{text}"
            );
        }
        assert_eq!(
            Phone::parse("(010) 6552 9988", cn).unwrap().as_str(),
            "+861065529988"
        );
        for bad in [
            "",
            "12",
            "abc",
            "138001380001234567",
            "+86 000",
            "1380013800\0",
        ] {
            assert!(Phone::parse(bad, cn).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn e164_is_exactly_what_the_crates_own_formatter_writes() {
        let cn = Region::parse("CN").unwrap();
        let mut checked = 0;
        for text in [
            "13800138000",
            "(010) 6552 9988",
            "+39 333 123 4567",
            "+44 20 7946 0958",
            "+49 30 901820",
            "+1 650 253 0000",
            "+81 3-1234-5678",
            "+852 2123 4567",
            "+886 2 2345 6789",
            "+7 495 123-45-67",
        ] {
            let number = phonenumber::parse(Some(cn.0), text).unwrap();
            if !number.is_valid() {
                continue;
            }
            let expected = number.format().mode(phonenumber::Mode::E164).to_string();
            assert_eq!(Phone::parse(text, cn).unwrap().as_str(), expected, "{text}");
            checked += 1;
        }
        assert!(
            checked >= 8,
            "only {checked} of the samples are valid numbers"
        );
    }

    #[test]
    fn display_masks_the_number() {
        let p = Phone::parse("13800138000", Region::parse("CN").unwrap()).unwrap();
        assert_eq!(p.to_string(), "+86*********00");
        assert!(!format!("{p}").contains("13800138"));
    }
}

/// Generators shared by the property tests of phone parsing and contact-list reading.
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;

    /// Second and third digits of CN mobile ranges that are valid whatever the last eight.
    const PREFIXES: &[&str] = &[
        "30", "31", "32", "33", "34", "35", "36", "37", "38", "39", "50", "51", "52", "53", "55",
        "56", "57", "58", "59", "80", "81", "82", "83", "84", "85", "86", "87", "88", "89",
    ];

    /// The ways a person writes one CN mobile number.
    pub const STYLES: usize = 11;

    /// A valid CN mobile number as eleven national digits (`13800138000`).
    pub fn cn_mobile() -> impl Strategy<Value = String> {
        (prop::sample::select(PREFIXES), "[0-9]{8}").prop_map(|(p, rest)| format!("1{p}{rest}"))
    }

    /// `digits` (eleven national digits) written in style `style` (`0..STYLES`).
    pub fn written(digits: &str, style: usize) -> String {
        let (a, b, c) = (&digits[..3], &digits[3..7], &digits[7..]);
        match style % STYLES {
            0 => digits.to_owned(),
            1 => format!("{a}-{b}-{c}"),
            2 => format!("{a} {b} {c}"),
            3 => format!("+86 {a} {b} {c}"),
            4 => format!("+86{digits}"),
            5 => format!("86{digits}"),
            6 => format!("+86-{a}-{b}-{c}"),
            7 => format!("0086 {digits}"),
            8 => format!("  {digits}\t"),
            9 => format!("({a}) {b}-{c}"),
            _ => format!("+86 ({a}) {b} {c}"),
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::{Phone, Region, strategies::*};

    fn cn() -> Region {
        Region::parse("CN").unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any text at all: an answer, never a panic; an accepted number is E.164 and reads
        /// back as itself.
        #[test]
        fn parsing_any_text_never_panics_and_accepts_only_e164(text in "\\PC{0,50}|[-+() 0-9]{0,24}|\\PC*") {
            if let Ok(phone) = Phone::parse(&text, cn()) {
                let e164 = phone.as_str();
                prop_assert!(e164.starts_with('+') && e164.len() <= 16, "{e164}");
                prop_assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()), "{e164}");
                let again = Phone::parse(e164, cn()).unwrap();
                prop_assert_eq!(again.as_str(), e164);
            }
        }

        /// Every accepted way of writing a CN mobile number gives the same E.164 number.
        #[test]
        fn a_cn_mobile_in_any_accepted_format_normalises_to_one_e164(
            digits in cn_mobile(),
            style in 0..STYLES,
        ) {
            let text = written(&digits, style);
            let parsed = Phone::parse(&text, cn()).map(|p| p.as_str().to_owned());
            prop_assert_eq!(parsed, Ok(format!("+86{digits}")), "{:?}", text);
        }
    }
}

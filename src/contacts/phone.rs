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
    /// (`13800138000`, `138-0013-8000`, `(010) 6552 9988`). Only a number its region's
    /// numbering plan has is valid (see `numbering`): `99999999999` is the right length for a
    /// CN mobile and still no phone.
    pub fn parse(text: &str, region: Region) -> Result<Self, String> {
        let number = read(text, region)?;
        if !super::numbering::exists(&number) {
            return Err("is not a valid phone number for its region".into());
        }
        Ok(Self(e164(&number)))
    }

    /// The E.164 form of a number asked about, to find what is stored under it (a look-up, a
    /// DNC listing to remove, an audit filter). Not held to the numbering plan as [`parse`]
    /// is, only to the looser check of the crate that stored numbers once passed, so a number
    /// stored before the plan was enforced can still be found and taken off the list.
    ///
    /// [`parse`]: Phone::parse
    pub fn to_find(text: &str, region: Region) -> Result<String, String> {
        let number = read(text, region)?;
        if !number.is_valid() {
            return Err("is not a valid phone number for its region".into());
        }
        Ok(e164(&number))
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

/// The number in `text`, read in `region`, whatever the plan says of it.
fn read(text: &str, region: Region) -> Result<phonenumber::PhoneNumber, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("is empty".into());
    }
    if trimmed.len() > 40 || trimmed.chars().any(|c| c.is_control()) {
        return Err("is not a phone number".into());
    }
    phonenumber::parse(Some(region.0), trimmed).map_err(|_| "is not a phone number".to_owned())
}

/// E.164 is `+`, the country code and the national significant number: what the crate's own
/// E.164 formatter writes, without the national layout it works out first and then drops
/// (that took a third of an import's time per row).
fn e164(number: &phonenumber::PhoneNumber) -> String {
    format!("+{}{}", number.code().value(), number.national())
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

    /// Every CN mobile range in service and landlines with their area codes, written every
    /// way people do; numbers that cannot exist are refused. Checked against the crate's
    /// metadata, libphonenumber v9.0.33 (see `numbering`).
    #[test]
    fn real_cn_numbers_are_valid_and_impossible_ones_are_not() {
        let cn = Region::parse("CN").unwrap();
        let mut mobiles: Vec<String> = (130..=139).map(|p| format!("{p}12345678")).collect();
        for p in [
            145, 147, 150, 151, 152, 153, 155, 156, 157, 158, 159, 162, 165, 166, 167, 170, 171,
            172, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190,
            191, 192, 193, 195, 196, 197, 198, 199,
        ] {
            mobiles.push(format!("{p}12345678"));
        }
        mobiles.push("17400512345".into());
        for digits in &mobiles {
            let e164 = format!("+86{digits}");
            for text in [digits.clone(), e164.clone(), format!("0086 {digits}")] {
                let parsed = Phone::parse(&text, cn).map(|p| p.as_str().to_owned());
                assert_eq!(parsed, Ok(e164.clone()), "{text}");
            }
        }
        for (text, e164) in [
            ("010-65529988", "+861065529988"),
            ("(010) 6552 9988", "+861065529988"),
            ("1065529988", "+861065529988"),
            ("+86 10 6552 9988", "+861065529988"),
            ("021-6321 5566", "+862163215566"),
            ("2163215566", "+862163215566"),
            ("+86 21 6321 5566", "+862163215566"),
            ("0755-2345 6789", "+8675523456789"),
            ("75523456789", "+8675523456789"),
            ("+86 755 2345 6789", "+8675523456789"),
            ("020-8888 6666", "+862088886666"),
            ("0571-8702 1234", "+8657187021234"),
        ] {
            assert_eq!(Phone::parse(text, cn).unwrap().as_str(), e164, "{text}");
        }
        for bad in [
            "99999999999",
            "+8699999999999",
            "10012345678",
            "12012345678",
            "11012345678",
            "14912345678",
            "15412345678",
            "16012345678",
            "17912345678",
            "19412345678",
            "1380013800",
            "138001380001",
            "+86 138 0013 80001",
            "010-1234",
            "0755-1234567890",
            "00000000000",
        ] {
            assert!(Phone::parse(bad, cn).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn a_number_asked_about_is_found_as_stored_even_where_the_plan_refuses_it() {
        let cn = Region::parse("CN").unwrap();
        assert!(Phone::parse("99999999999", cn).is_err());
        assert_eq!(
            Phone::to_find("99999999999", cn).as_deref(),
            Ok("+8699999999999")
        );
        assert_eq!(
            Phone::to_find("138-0013-8000", cn).as_deref(),
            Ok("+8613800138000")
        );
        for bad in ["", "12", "abc", "1380013800\0"] {
            assert!(Phone::to_find(bad, cn).is_err(), "{bad:?}");
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
            if !crate::contacts::numbering::exists(&number) {
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

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
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
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
    fn display_masks_the_number() {
        let p = Phone::parse("13800138000", Region::parse("CN").unwrap()).unwrap();
        assert_eq!(p.to_string(), "+86*********00");
        assert!(!format!("{p}").contains("13800138"));
    }
}

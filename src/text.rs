//! Validated text: names, codes, titles and notes. Control characters (NUL included) never get
//! past these types, so they never reach the database. Exports write text through
//! [`spreadsheet_safe`].

use std::{borrow::Cow, fmt};

use crate::codes::{Code, Reason};
use serde::Serialize;

fn has_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
}

/// At most `max` characters of a client's text, for quoting it in a message: longer text is
/// cut at a character boundary and marked with `…`.
pub fn excerpt(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((at, _)) => Cow::Owned(format!("{}…", &text[..at])),
    }
}

/// Replaces every run of five or more digits (with the separators phone numbers are written
/// with) by `…`, so a message that quotes a value (an engine's, a panic's) cannot carry a phone number on.
pub fn scrub_digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let end = run.rfind(|c: char| c.is_ascii_digit()).map_or(0, |i| i + 1);
        if run[..end].chars().filter(char::is_ascii_digit).count() >= 5 {
            out.push('…');
            out.push_str(&run[end..]);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit()
            || (!run.is_empty() && matches!(c, ' ' | '-' | '(' | ')'))
            || (run.is_empty() && c == '+')
        {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Longer than `max` characters.
pub fn too_long(max: usize) -> Reason {
    Code::TooLong
        .because(format!("must be at most {max} characters"))
        .with("max", max)
}

/// Holds control characters.
pub fn control_characters() -> Reason {
    Code::ControlCharacters.because("must not contain control characters")
}

/// Refuses control characters other than line breaks and tabs (allowed in long text).
pub fn check_free_text(text: &str, max: usize) -> Result<(), Reason> {
    if text.chars().count() > max {
        return Err(too_long(max));
    }
    if has_control(text) {
        return Err(control_characters());
    }
    Ok(())
}

/// A name, code or title: 1–200 characters, not blank, no control characters at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub const MAX: usize = 200;

    pub fn parse(text: &str) -> Result<Self, Reason> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(Code::Required.because("must not be empty"));
        }
        if trimmed.chars().count() > Self::MAX {
            return Err(too_long(Self::MAX));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(control_characters());
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Free text up to 4,000 characters (notes, descriptions, reasons); line breaks allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Notes(String);

impl Notes {
    pub const MAX: usize = 4_000;

    pub fn parse(text: &str) -> Result<Self, Reason> {
        check_free_text(text, Self::MAX)?;
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// What a spreadsheet reads as the start of a formula: the ASCII signs and their full-width
/// forms (an input method types `＝` as readily as `=`, and some spreadsheets take it).
const FORMULA_START: [char; 8] = ['=', '+', '-', '@', '＝', '＋', '－', '＠'];

/// A cell of an export as a spreadsheet may safely open it: text that a spreadsheet would read
/// as a formula (starting with `=`, `+`, `-`, `@` or their full-width forms, after any leading
/// whitespace — spreadsheets skip it — or with a tab or a carriage return) gets a leading `'`,
/// which spreadsheets show as text and do not evaluate. E.164 phones start with `+`, so they
/// get it too. Everything else is unchanged.
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    let formula = cell.trim_start().starts_with(FORMULA_START);
    if formula || cell.starts_with(['\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_formula_behind_leading_whitespace_or_a_full_width_sign_is_quoted_too() {
        for formula in [
            " =1+1",
            "\t=1",
            "\n=cmd",
            "＝1+1",
            "  \u{3000}+1",
            "＋1",
            "－1",
            "＠A1",
        ] {
            assert_eq!(
                spreadsheet_safe(formula),
                format!("'{formula}"),
                "{formula:?}"
            );
        }
        for plain in [" 1+1", "  hello", "\u{3000}王芳"] {
            assert_eq!(spreadsheet_safe(plain), plain);
        }
    }

    #[test]
    fn cells_a_spreadsheet_would_evaluate_are_quoted() {
        for formula in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+8613800138000",
            "-2+3",
            "@SUM(A1)",
            "\tcmd",
            "\rcmd",
        ] {
            assert_eq!(spreadsheet_safe(formula), format!("'{formula}"));
        }
        for plain in [
            "王芳",
            "",
            "a=b",
            "2026-11-25T10:00:00+08:00",
            "42",
            "'quoted",
        ] {
            assert_eq!(spreadsheet_safe(plain), plain);
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  王芳 ").unwrap().as_str(), "王芳");
        assert!(Name::parse("").is_err());
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"名".repeat(200)).is_ok());
        assert!(Name::parse(&"名".repeat(201)).is_err());
        assert!(Name::parse("a\0b").is_err());
        assert!(Name::parse("a\nb").is_err());
    }

    #[test]
    fn notes_allow_line_breaks_but_not_nul() {
        assert!(Notes::parse("line one\nline two").is_ok());
        assert!(Notes::parse("").is_ok());
        assert!(Notes::parse("bad\0").is_err());
        assert!(Notes::parse(&"x".repeat(4001)).is_err());
    }
}

//! The check an .xlsx upload passes before calamine reads any of it: every XML part
//! decompressed once as a stream, counting real bytes (not the sizes the zip claims), and
//! scanned for the longest run the XML parser would buffer as one event.

use std::io::{Read, Seek};

use super::xlsx::unreadable;
use crate::{codes::Code, text::excerpt, validate::FieldError};

/// Decompressed bytes of all the XML parts of a workbook together (its sheets, mostly): about
/// a million rows of a dozen columns. Past it the upload is refused (413-like 422), so a zip
/// bomb costs at most this much reading, never memory.
pub const MAX_BOOK_XML_BYTES: u64 = 1 << 30;
/// Decompressed bytes of any one part other than a sheet (shared strings, styles, the
/// workbook): calamine holds these whole, so they bound its memory (the shared strings, at
/// most ~5 bytes of memory per byte of XML).
pub const MAX_PART_XML_BYTES: u64 = 32 << 20;
/// Bytes between two markup boundaries (one tag, or the text between two tags): the most the
/// XML parser buffers for one event.
pub const MAX_XML_RUN: usize = 256 * 1024;
/// Parts (files) a workbook may have.
const MAX_PARTS: usize = 10_000;

fn too_large(part: &str, limit: String) -> FieldError {
    let part = excerpt(part, 80).into_owned();
    FieldError::new(
        "body",
        Code::WorkbookTooLarge
            .because(format!(
                "the workbook's part '{part}' is past the bound: {limit}"
            ))
            .with("part", part)
            .with("limit", limit),
    )
}

/// Decompresses every XML part of the workbook once, as a stream, and refuses it if a part
/// or all of them pass their bounds, if its XML holds what office software never writes
/// (comments, CDATA, a DTD: each lets a parser buffer without end), or if its shared-strings
/// table announces more strings than its size can hold (calamine reserves room for them).
pub fn check_parts<R: Read + Seek>(input: &mut R) -> Result<(), FieldError> {
    let mut zip = zip::ZipArchive::new(&mut *input).map_err(unreadable)?;
    if zip.len() > MAX_PARTS {
        return Err(too_large("(the archive)", format!("{MAX_PARTS} parts")));
    }
    let mut budget = MAX_BOOK_XML_BYTES;
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).map_err(unreadable)?;
        let name = part.name().map_err(unreadable)?.into_owned();
        let lower = name.to_ascii_lowercase();
        if !(lower.ends_with(".xml") || lower.ends_with(".rels")) {
            continue;
        }
        let sheet = lower.contains("worksheets/");
        let limit = if sheet {
            budget
        } else {
            MAX_PART_XML_BYTES.min(budget)
        };
        let (size, head) = scan(&mut part, limit).map_err(|e| match e {
            ScanError::Size => too_large(&name, format!("{} MiB decompressed", limit >> 20)),
            ScanError::Run => too_large(
                &name,
                format!("{} KiB in one tag or text", MAX_XML_RUN >> 10),
            ),
            ScanError::Markup => unreadable(format!(
                "'{}' holds a comment, CDATA or a DTD",
                excerpt(&name, 80)
            )),
            ScanError::Io(e) => unreadable(e),
        })?;
        budget -= size;
        if lower.ends_with("sharedstrings.xml") && announced(&head, "uniqueCount") > size / 12 {
            return Err(unreadable(
                "its shared-strings table announces more strings than it holds",
            ));
        }
    }
    Ok(())
}

/// The number an attribute of the XML's start announces (0 if none).
fn announced(head: &[u8], attribute: &str) -> u64 {
    let text = String::from_utf8_lossy(head);
    let Some(at) = text.find(&format!("{attribute}=\"")) else {
        return 0;
    };
    let digits: String = text[at + attribute.len() + 2..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap_or(u64::MAX)
}

enum ScanError {
    Size,
    Run,
    Markup,
    Io(std::io::Error),
}

impl std::fmt::Debug for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(match self {
            ScanError::Size => "size",
            ScanError::Run => "run",
            ScanError::Markup => "markup",
            ScanError::Io(_) => "io",
        })
    }
}

/// Where the scan of a part is: in text, just after a `<`, in a tag (in a quoted value), in a
/// processing instruction (just after its `?`).
#[derive(Clone, Copy, PartialEq)]
enum At {
    Text,
    Opened,
    Tag(Option<u8>),
    Pi(bool),
}

/// Reads one part to its end: its decompressed size and first 4 KiB, or why it is refused.
/// `run` counts the bytes since the last markup boundary (`<` in text, `>` closing a tag or
/// `?>` a processing instruction): the most the XML parser would buffer as one event.
fn scan(part: &mut impl Read, limit: u64) -> Result<(u64, Vec<u8>), ScanError> {
    let (mut at, mut run, mut size) = (At::Text, 0usize, 0u64);
    let mut head = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match part.read(&mut buf) {
            Ok(0) => return Ok((size, head)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ScanError::Io(e)),
        };
        size += n as u64;
        if size > limit {
            return Err(ScanError::Size);
        }
        if head.len() < 4096 {
            head.extend_from_slice(&buf[..n.min(4096 - head.len())]);
        }
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            // The next byte that can change where the scan is, if any in this piece.
            let next = match at {
                At::Text => memchr::memchr(b'<', rest),
                At::Opened => Some(0),
                At::Tag(None) => memchr::memchr3(b'>', b'"', b'\'', rest),
                At::Tag(Some(q)) => memchr::memchr(q, rest),
                At::Pi(true) => Some(0),
                At::Pi(false) => memchr::memchr(b'?', rest),
            };
            let Some(i) = next else {
                run += rest.len();
                if run > MAX_XML_RUN {
                    return Err(ScanError::Run);
                }
                break;
            };
            run += i + 1;
            if run > MAX_XML_RUN {
                return Err(ScanError::Run);
            }
            let b = rest[i];
            rest = &rest[i + 1..];
            at = match (at, b) {
                (At::Text, _) => {
                    run = 0;
                    At::Opened
                }
                (At::Opened, b'!') => return Err(ScanError::Markup),
                (At::Opened, b'?') => At::Pi(false),
                (At::Opened | At::Tag(None), b'"' | b'\'') => At::Tag(Some(b)),
                (At::Opened | At::Tag(None), b'>') | (At::Pi(true), b'>') => {
                    run = 0;
                    At::Text
                }
                (At::Opened, _) => At::Tag(None),
                (At::Tag(Some(_)), _) => At::Tag(None),
                (At::Pi(_), c) => At::Pi(c == b'?'),
                (other, _) => other,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_that_would_make_a_parser_buffer_without_end_is_refused() {
        let ok = b"<?xml version=\"1.0\"?><a b=\"x>y\">text</a>".to_vec();
        assert!(scan(&mut ok.as_slice(), 1 << 20).is_ok());
        let comment = b"<a><!-- <<<< --></a>".to_vec();
        assert!(matches!(
            scan(&mut comment.as_slice(), 1 << 20),
            Err(ScanError::Markup)
        ));
        let mut long = b"<a>".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_XML_RUN + 1));
        assert!(matches!(
            scan(&mut long.as_slice(), 1 << 30),
            Err(ScanError::Run)
        ));
        let mut quoted = b"<a b=\"".to_vec();
        quoted.extend(std::iter::repeat_n(b'<', MAX_XML_RUN + 1));
        assert!(matches!(
            scan(&mut quoted.as_slice(), 1 << 30),
            Err(ScanError::Run)
        ));
        assert!(matches!(
            scan(&mut long.as_slice(), 1000),
            Err(ScanError::Size)
        ));
    }

    #[test]
    fn the_announced_count_of_shared_strings_is_read_from_the_start() {
        assert_eq!(
            announced(b"<sst count=\"9\" uniqueCount=\"7\">", "uniqueCount"),
            7
        );
        assert_eq!(announced(b"<sst>", "uniqueCount"), 0);
        assert_eq!(
            announced(
                b"<sst uniqueCount=\"99999999999999999999999\">",
                "uniqueCount"
            ),
            u64::MAX
        );
    }
}

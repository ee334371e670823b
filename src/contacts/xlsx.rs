//! Reading .xlsx uploads. A workbook is a zip of XML parts; before calamine reads it, every
//! part is decompressed once as a stream and held against the bounds below (a zip bomb, a
//! huge shared-strings table, a cell or tag of gigabytes, XML that needs a parser to buffer
//! without end), so calamine only ever sees a workbook whose memory is bounded. Then one
//! sheet's cells are streamed (calamine's cell reader, never the whole sheet) into rows that
//! are read as a CSV file's are: the first row with a value is the header, named by the same
//! synonyms or `mapping`, each row checked by [`Columns::read`]. Rows are numbered as the
//! spreadsheet numbers them.

use std::{
    collections::HashSet,
    io::{Read, Seek, SeekFrom},
};

use calamine::{DataRef, Reader, Xlsx, XlsxCellReader};

use super::{
    Region,
    bounds::{Cut, MAX_COLUMNS, MAX_FIELD_BYTES, MAX_ROW_BYTES},
    csv::{Batch, CsvOptions, PREVIEW_ROWS, Preview, mapping_json},
    import::{Columns, Invalid, RowContext},
};
use crate::{codes::Code, ids::AgentId, text::excerpt, validate::FieldError};

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

fn unreadable(message: impl std::fmt::Display) -> FieldError {
    FieldError::new(
        "body",
        Code::WorkbookUnreadable.because(format!(
            "the upload is not a readable .xlsx workbook: {message}"
        )),
    )
}

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

/// An opened workbook and the sheet its rows are read from.
pub struct Book<R: Read + Seek> {
    book: Xlsx<R>,
    /// The sheet read: the one asked for, or the first.
    pub sheet: String,
    /// Every sheet's name, in the workbook's order.
    pub sheets: Vec<String>,
}

/// Checks the workbook's parts ([`check_parts`]) and opens it at `sheet` (its first sheet
/// when `None`). An unknown sheet is a 422 naming `sheet`.
pub fn open<R: Read + Seek>(mut input: R, sheet: Option<&str>) -> Result<Book<R>, FieldError> {
    check_parts(&mut input)?;
    input.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    let book = Xlsx::new(input).map_err(unreadable)?;
    let sheets = book.sheet_names();
    let name = match sheet {
        None => sheets
            .first()
            .cloned()
            .ok_or_else(|| unreadable("it has no sheet"))?,
        Some(s) => sheets
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                let list = excerpt(&sheets.join(", "), 200).into_owned();
                FieldError::new(
                    "sheet",
                    Code::SheetUnknown
                        .because(format!(
                            "the workbook has no sheet '{}' (it has: {list})",
                            excerpt(s, 40)
                        ))
                        .with("sheets", list),
                )
            })?,
    };
    Ok(Book {
        book,
        sheet: name,
        sheets,
    })
}

/// A cell's value as the text a CSV file would hold: a whole number without a decimal point
/// (a phone typed as a number, 13800138000, stays 13800138000), a date as `YYYY-MM-DD` (with
/// the time when it has one), true/false, an error as Excel shows it (`#N/A`).
pub fn cell_text(value: &DataRef) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number(*f),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => match d.as_datetime() {
            Some(t) if d.is_datetime() && t.time() == chrono::NaiveTime::MIN => {
                t.format("%Y-%m-%d").to_string()
            }
            Some(t) if d.is_datetime() => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            _ => number(d.as_f64()),
        },
        DataRef::Error(e) => e.to_string(),
    }
}

fn number(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        (f as i64).to_string()
    } else {
        f.to_string()
    }
}

/// One sheet's rows, streamed from its cells.
struct Rows<'a, R: Read + Seek> {
    cells: XlsxCellReader<'a, R>,
    /// The first cell of the next row, read while finishing the last.
    pending: Option<(u32, u32, String)>,
    /// The sheet's cells have all been read.
    done: bool,
}

/// A row: its spreadsheet number (from 1) and its cells, or the bound it passed.
type Row = (u64, Result<Vec<String>, Cut>);

impl<R: Read + Seek> Rows<'_, R> {
    /// The next row with a cell. A `header` row stops at its first bound passed (it will be
    /// refused whole); any other is read to its end, so the next row starts where it should.
    fn next_row(&mut self, header: bool) -> Result<Option<Row>, String> {
        let mut row: Option<u32> = None;
        let mut fields: Vec<String> = vec![];
        let (mut bytes, mut cut) = (0usize, None);
        loop {
            let cell = match self.pending.take() {
                Some(c) => Some(c),
                None if self.done => None,
                None => match self.cells.next_cell() {
                    Ok(Some(c)) => {
                        let (r, col) = c.get_position();
                        Some((r, col, cell_text(c.get_value())))
                    }
                    Ok(None) => {
                        self.done = true;
                        None
                    }
                    Err(e) => return Err(format!("the sheet cannot be read: {e}")),
                },
            };
            let Some((r, col, text)) = cell else { break };
            match row {
                None => row = Some(r),
                Some(current) if current != r => {
                    self.pending = Some((r, col, text));
                    break;
                }
                Some(_) => {}
            }
            if cut.is_some() && header {
                break;
            }
            if text.is_empty() || cut.is_some() {
                continue;
            }
            let col = col as usize;
            bytes += text.len();
            if col >= MAX_COLUMNS {
                cut = Some(Cut::Columns);
            } else if text.len() > MAX_FIELD_BYTES {
                cut = Some(Cut::FieldBytes(col + 1));
            } else if bytes > MAX_ROW_BYTES {
                cut = Some(Cut::RowBytes);
            } else {
                if fields.len() <= col {
                    fields.resize(col + 1, String::new());
                }
                fields[col] = text;
            }
        }
        Ok(row.map(|r| (u64::from(r) + 1, cut.map_or(Ok(fields), Err))))
    }

    /// The header: the first row with a value.
    fn header(&mut self) -> Result<Vec<String>, (&'static str, String)> {
        loop {
            match self.next_row(true).map_err(|m| ("body", m))? {
                None => {
                    return Err((
                        "phone",
                        "the sheet is empty; it needs a header row with a phone column".into(),
                    ));
                }
                Some((_, Err(cut))) => return Err(("body", format!("the header row {cut}"))),
                Some((_, Ok(f))) if f.iter().all(|c| c.trim().is_empty()) => continue,
                Some((_, Ok(f))) => return Ok(f),
            }
        }
    }
}

impl<R: Read + Seek> Book<R> {
    fn rows(&mut self) -> Result<Rows<'_, R>, String> {
        let cells = self
            .book
            .worksheet_cells_reader(&self.sheet)
            .map_err(|e| format!("the sheet cannot be read: {e}"))?;
        Ok(Rows {
            cells,
            pending: None,
            done: false,
        })
    }

    /// The sheet's header and first rows as the import would read them; a header that cannot
    /// be read is the 422 the import would get.
    pub fn preview(&mut self, options: &CsvOptions) -> Result<Preview, FieldError> {
        let (sheet, sheets) = (self.sheet.clone(), self.sheets.clone());
        let mut rows = self.rows().map_err(unreadable)?;
        let bad = |(field, m): (&'static str, String)| {
            FieldError::new(
                field,
                Code::ColumnMissing.because(m).with("column", "phone"),
            )
        };
        let names = rows.header().map_err(bad)?;
        let columns = Columns::from_header(&names, options.mapping.as_ref()).map_err(bad)?;
        let mut seen = vec![];
        while seen.len() < PREVIEW_ROWS {
            match rows.next_row(false).map_err(unreadable)? {
                None => break,
                Some((_, Ok(f))) if f.iter().all(|c| c.trim().is_empty()) => {}
                Some((_, Ok(f))) => {
                    seen.push(f.iter().map(|c| excerpt(c, 100).into_owned()).collect())
                }
                Some((_, Err(_))) => seen.push(vec![]),
            }
        }
        Ok(Preview {
            columns: columns.resolved.iter().map(|(n, _)| n.clone()).collect(),
            mapping: mapping_json(&columns),
            rows: seen,
            charset: options.charset,
            missing_for_script: vec![],
            sheet: Some(sheet),
            sheets,
        })
    }
}

/// Reads the sheet `options.sheet` (else the first) of a workbook as [`super::csv::read_csv`]
/// reads a CSV file: batches to `emit`, the first `skip` counted rows passed over, a header or
/// workbook that cannot be read the one error message.
#[allow(clippy::too_many_arguments)]
pub fn read_xlsx<R: Read + Seek>(
    input: R,
    options: &CsvOptions,
    region: Region,
    agents: &HashSet<AgentId>,
    skip: u64,
    batch_rows: usize,
    mut emit: impl FnMut(Result<Batch, String>) -> bool,
) {
    let mut book = match open(input, options.sheet.as_deref()) {
        Ok(book) => book,
        Err(e) => {
            emit(Err(e.message));
            return;
        }
    };
    let mut rows = match book.rows() {
        Ok(rows) => rows,
        Err(e) => {
            emit(Err(e));
            return;
        }
    };
    let columns = match rows
        .header()
        .and_then(|names| Columns::from_header(&names, options.mapping.as_ref()))
    {
        Ok(c) => c,
        Err((_, m)) => {
            emit(Err(m));
            return;
        }
    };
    let exists = |id: AgentId| agents.contains(&id);
    let ctx = RowContext {
        region,
        agent_exists: &exists,
    };
    let (mut batch, mut counted) = (Batch::default(), 0u64);
    loop {
        let (row, fields) = match rows.next_row(false) {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                emit(Err(e));
                return;
            }
        };
        if let Ok(f) = &fields
            && f.iter().all(|c| c.trim().is_empty())
        {
            continue;
        }
        counted += 1;
        if counted <= skip {
            continue;
        }
        batch.read += 1;
        let checked = match fields {
            Err(cut) => Err(cut.row_error()),
            Ok(f) => columns.read(&f.iter().map(String::as_str).collect::<Vec<_>>(), &ctx),
        };
        match checked {
            Ok(contact) => batch.rows.push(contact),
            Err(e) => batch.invalid.push(Invalid::of(row, e)),
        }
        if batch.read as usize >= batch_rows && !emit(Ok(std::mem::take(&mut batch))) {
            return;
        }
    }
    if batch.read > 0 {
        emit(Ok(batch));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_stored_as_a_number_reads_as_its_digits() {
        assert_eq!(cell_text(&DataRef::Float(13800138000.0)), "13800138000");
        assert_eq!(cell_text(&DataRef::Float(128.5)), "128.5");
        assert_eq!(cell_text(&DataRef::Bool(true)), "true");
        assert_eq!(cell_text(&DataRef::Empty), "");
    }

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

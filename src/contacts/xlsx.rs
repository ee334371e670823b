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

use super::xlsx_check::check_parts;
use super::{
    Region,
    bounds::{Cut, MAX_COLUMNS, MAX_FIELD_BYTES, MAX_ROW_BYTES},
    csv::{Batch, CsvOptions, PREVIEW_ROWS, Preview, mapping_json},
    import::{Columns, Invalid, RowContext},
};
use crate::{codes::Code, ids::AgentId, text::excerpt, validate::FieldError};

pub(super) fn unreadable(message: impl std::fmt::Display) -> FieldError {
    FieldError::new(
        "body",
        Code::WorkbookUnreadable.because(format!(
            "the upload is not a readable .xlsx workbook: {message}"
        )),
    )
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
}

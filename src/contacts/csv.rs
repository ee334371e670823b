//! Reading whole contact lists: CSV records into batches of checked contacts and invalid rows,
//! within the bounds of [`super::bounds`]. Pure: no I/O beyond the reader it is given.

use crate::codes::Code;
use std::{collections::HashSet, io::Read};

use super::{
    NewContact, Region,
    bounds::{Cut, MAX_ROW_BYTES, Records},
    charset::{Charset, Decoded, with_delimiter},
    import::{Columns, HeaderError, Invalid, RowContext, RowError},
    mapping::Mapping,
};
use crate::ids::AgentId;

/// Rows per committed batch on PostgreSQL, and in the readers' own tests
/// (`Config::import_batch_rows`).
pub const BATCH: usize = 1_000;

/// How a CSV upload is read: the charset it is in and the mapping given with it; for an .xlsx
/// upload (whose rows are read as a CSV file's), the sheet they are in (`None`: not a
/// workbook, or its first sheet before the upload is opened).
#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub charset: Charset,
    pub mapping: Option<Mapping>,
    pub workbook: bool,
    pub sheet: Option<String>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            charset: Charset::Utf8,
            mapping: None,
            workbook: false,
            sheet: None,
        }
    }
}

/// The records of a CSV upload in `charset`, separated by what its header line uses.
pub fn open(input: impl Read, charset: Charset) -> std::io::Result<Records<impl Read>> {
    let (sep, text) = with_delimiter(Decoded::new(input, charset), MAX_ROW_BYTES)?;
    Ok(Records::with_delimiter(text, sep))
}

/// Rows a preview shows.
pub const PREVIEW_ROWS: usize = 20;
/// Characters a preview shows of one cell.
const PREVIEW_CELL: usize = 100;

/// The start of a CSV upload as the import would read it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Preview {
    /// The header's column names.
    pub columns: Vec<String>,
    /// Each column → what it is read as (`phone`, `attributes.plan`…), or null when skipped.
    pub mapping: serde_json::Value,
    /// The first rows' cells (each cut to 100 characters).
    pub rows: Vec<Vec<String>>,
    pub charset: Charset,
    /// Attributes the campaign's script reads that no column carries (filled in by the
    /// service when a campaign is named).
    pub missing_for_script: Vec<String>,
    /// The sheet an .xlsx upload is read from, and all its sheets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sheets: Vec<String>,
}

impl Preview {
    /// The attribute keys the columns carry.
    pub fn attributes(&self) -> impl Iterator<Item = &str> {
        self.mapping
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
            .filter_map(|v| v.as_str()?.strip_prefix("attributes."))
    }
}

/// Reads the header of an upload's start (`head`: the whole of a small upload, or the first
/// megabyte of a large one) and its first rows: the columns and what they are read as, or
/// why the header cannot be read (past a bound, no phone column, a mapping that does not
/// fit it).
pub fn preview(head: &[u8], options: &CsvOptions) -> Result<Preview, HeaderError> {
    let mut records = open(head, options.charset).map_err(|e| ("body", e.to_string()))?;
    let first = records.next_record();
    if let Ok(Some(Err(cut @ (Cut::Columns | Cut::RowBytes)))) = &first {
        return Err(("body", format!("the header row {cut}")));
    }
    let names = header_names(first).map_err(|m| ("phone", m))?;
    let columns = Columns::from_header(&names, options.mapping.as_ref())?;
    let mut rows = vec![];
    while rows.len() < PREVIEW_ROWS {
        match records.next_record() {
            Ok(Some(Ok(fields))) => rows.push(
                fields
                    .iter()
                    .map(|f| {
                        crate::text::excerpt(&String::from_utf8_lossy(f), PREVIEW_CELL).into_owned()
                    })
                    .collect(),
            ),
            Ok(Some(Err(_))) => rows.push(vec![]),
            _ => break,
        }
    }
    Ok(Preview {
        columns: columns.resolved.iter().map(|(n, _)| n.clone()).collect(),
        mapping: mapping_json(&columns),
        rows,
        charset: options.charset,
        missing_for_script: vec![],
        sheet: None,
        sheets: vec![],
    })
}

/// Each named column → what it is read as (`phone`, `attributes.plan`…), or null if skipped.
pub fn mapping_json(columns: &Columns) -> serde_json::Value {
    serde_json::Value::Object(
        columns
            .resolved
            .iter()
            .filter(|(name, _)| !name.is_empty())
            .map(|(name, t)| {
                let t = t
                    .as_ref()
                    .map_or(serde_json::Value::Null, |t| t.spelling().into());
                (name.clone(), t)
            })
            .collect(),
    )
}

/// A batch of read rows.
#[derive(Debug, Default)]
pub struct Batch {
    pub rows: Vec<NewContact>,
    pub invalid: Vec<Invalid>,
    /// Records read for this batch (good and bad).
    pub read: u64,
}

/// Reads a contact list written as CSV: hands each batch (or the one header error) to `emit`
/// and stops early when `emit` returns false. Every non-blank record after the first `skip`
/// lands in exactly one batch, as a contact or as an invalid row; rows whose fields are all
/// blank are passed over and not counted (so `skip` counts as the import's `processed` does).
/// Input that fails to read ends the reading with an error message.
pub fn read_csv(
    input: impl Read,
    options: &CsvOptions,
    region: Region,
    agents: &HashSet<AgentId>,
    skip: u64,
    batch_rows: usize,
    mut emit: impl FnMut(Result<Batch, String>) -> bool,
) {
    let mut records = match open(input, options.charset) {
        Ok(records) => records,
        Err(e) => {
            emit(Err(format!("the upload cannot be read: {e}")));
            return;
        }
    };
    let columns = match header_names(records.next_record())
        .and_then(|names| Columns::from_header(&names, options.mapping.as_ref()).map_err(|e| e.1))
    {
        Ok(c) => c,
        Err(e) => {
            emit(Err(e));
            return;
        }
    };
    let exists = |id: AgentId| agents.contains(&id);
    let ctx = RowContext {
        region,
        agent_exists: &exists,
    };
    let mut batch = Batch::default();
    let mut index: u64 = 0;
    // Records counted so far: blank ones are not, exactly as `processed` does not count them,
    // so resuming after `skip` counted records starts right after the last committed one.
    let mut counted: u64 = 0;
    loop {
        let record = match records.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            // The only error is the input failing to read: stop rather than count it as a row
            // (a failing reader would fail forever).
            Err(e) => {
                emit(Err(format!("the upload cannot be read: {e}")));
                return;
            }
        };
        index += 1;
        // Spreadsheet numbering: the header is row 1.
        let row = index + 1;
        let fields = record.map(|fields| {
            fields
                .into_iter()
                .map(std::str::from_utf8)
                .collect::<Result<Vec<&str>, _>>()
        });
        if let Ok(Ok(fields)) = &fields
            && fields.iter().all(|f| f.trim().is_empty())
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
            Ok(Err(_)) => Err(RowError::new(
                Code::NotUtf8,
                "is not UTF-8 text (send the upload's charset=, e.g. text/csv; charset=gbk)",
            )),
            Ok(Ok(fields)) => columns.read(&fields, &ctx),
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

/// The header row's column names; a list without one, or with a header past a bound, cannot
/// be read.
#[allow(clippy::type_complexity)]
fn header_names(
    first: std::io::Result<Option<Result<Vec<&[u8]>, Cut>>>,
) -> Result<Vec<String>, String> {
    let header = match first {
        Ok(None) => {
            return Err("the upload is empty; it needs a header row with a phone column".into());
        }
        Err(e) => return Err(format!("the header row cannot be read: {e}")),
        Ok(Some(Err(cut))) => return Err(format!("the header row {cut}")),
        Ok(Some(Ok(h))) => h,
    };
    Ok(header
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect())
}

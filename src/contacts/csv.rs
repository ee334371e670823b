//! Reading whole contact lists: CSV records into batches of checked contacts and invalid rows,
//! within the bounds of [`super::bounds`]. Pure: no I/O beyond the reader it is given.

use std::{collections::HashSet, io::Read};

use super::{
    NewContact, Region,
    bounds::{Cut, Records},
    import::{Columns, Invalid, RowContext},
};
use crate::ids::AgentId;

/// Rows per committed batch on PostgreSQL, and in the readers' own tests
/// (`Config::import_batch_rows`).
pub const BATCH: usize = 1_000;

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
    region: Region,
    agents: &HashSet<AgentId>,
    skip: u64,
    batch_rows: usize,
    mut emit: impl FnMut(Result<Batch, String>) -> bool,
) {
    let mut records = Records::new(input);
    let columns = match header(records.next_record()) {
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
            Err(cut) => Err(format!("row {cut}")),
            Ok(Err(_)) => Err("is not UTF-8 text".into()),
            Ok(Ok(fields)) => columns.read(&fields, &ctx),
        };
        match checked {
            Ok(contact) => batch.rows.push(contact),
            Err(reason) => batch.invalid.push(Invalid::new(row, &reason)),
        }
        if batch.read as usize >= batch_rows && !emit(Ok(std::mem::take(&mut batch))) {
            return;
        }
    }
    if batch.read > 0 {
        emit(Ok(batch));
    }
}

/// The columns the header row names; a list without one, or without `phone`, or with a header
/// past a bound, cannot be read.
#[allow(clippy::type_complexity)]
fn header(first: std::io::Result<Option<Result<Vec<&[u8]>, Cut>>>) -> Result<Columns, String> {
    let header = match first {
        Ok(None) => {
            return Err("the upload is empty; it needs a header row with a 'phone' column".into());
        }
        Err(e) => return Err(format!("the header row cannot be read: {e}")),
        Ok(Some(Err(cut))) => return Err(format!("the header row {cut}")),
        Ok(Some(Ok(h))) => h,
    };
    let names: Vec<String> = header
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    Columns::from_header(&names)
}

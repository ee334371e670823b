//! Reading whole contact lists: CSV records into batches of checked contacts and invalid rows,
//! and the contacts of a JSON upload likewise. Pure: no I/O beyond the reader it is given.

use std::{collections::HashSet, io::Read};

use super::{
    NewContact, Region,
    import::{Columns, Invalid, RawContact, RowContext},
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
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(input);
    let mut records = reader.byte_records();
    let columns = match header(records.next()) {
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
    for record in records {
        index += 1;
        // Spreadsheet numbering: the header is row 1.
        let row = index + 1;
        let record = match record {
            Ok(record) => record,
            // With flexible byte records the only error is the input failing to read: stop
            // rather than count it as a row (a failing reader would fail forever).
            Err(e) => {
                emit(Err(format!("the upload cannot be read: {e}")));
                return;
            }
        };
        let fields = record
            .iter()
            .map(std::str::from_utf8)
            .collect::<Result<Vec<&str>, _>>();
        if let Ok(fields) = &fields
            && fields.iter().all(|f| f.trim().is_empty())
        {
            continue;
        }
        counted += 1;
        if counted <= skip {
            continue;
        }
        batch.read += 1;
        match fields {
            Err(_) => batch.invalid.push(Invalid {
                row,
                reason: "is not UTF-8 text".into(),
            }),
            Ok(fields) => match columns.read(&fields, &ctx) {
                Ok(contact) => batch.rows.push(contact),
                Err(reason) => batch.invalid.push(Invalid { row, reason }),
            },
        }
        if batch.read as usize >= batch_rows && !emit(Ok(std::mem::take(&mut batch))) {
            return;
        }
    }
    if batch.read > 0 {
        emit(Ok(batch));
    }
}

/// The columns the header row names; a list without one, or without `phone`, cannot be read.
fn header(first: Option<csv::Result<csv::ByteRecord>>) -> Result<Columns, String> {
    let header = match first {
        None => {
            return Err("the upload is empty; it needs a header row with a 'phone' column".into());
        }
        Some(Err(e)) => return Err(format!("the header row cannot be read: {e}")),
        Some(Ok(h)) => h,
    };
    let names: Vec<String> = header
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    Columns::from_header(&names)
}

/// Checks the contacts of a JSON upload, in batches.
pub fn check_json(
    contacts: Vec<RawContact>,
    region: Region,
    agents: &HashSet<AgentId>,
    batch_rows: usize,
) -> Vec<Batch> {
    let exists = |id: AgentId| agents.contains(&id);
    let ctx = RowContext {
        region,
        agent_exists: &exists,
    };
    let mut batches = vec![];
    let mut batch = Batch::default();
    for (i, raw) in contacts.into_iter().enumerate() {
        batch.read += 1;
        match raw.check(&ctx) {
            Ok(c) => batch.rows.push(c),
            Err(reason) => batch.invalid.push(Invalid {
                row: i as u64 + 1,
                reason,
            }),
        }
        if batch.read as usize >= batch_rows {
            batches.push(std::mem::take(&mut batch));
        }
    }
    if batch.read > 0 {
        batches.push(batch);
    }
    batches
}

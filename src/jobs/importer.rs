//! The importer: reads contact lists in batches and commits them. Small uploads are read
//! inline in one transaction; large ones are stored in the database and read by an apalis
//! job, batch by batch, each batch committed with the import's progress so a crash leaves
//! exact counts and a restart resumes after the last committed row.

use std::{collections::HashSet, io::Read, sync::Arc};

use apalis::prelude::{BoxDynError, Data};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::Context;
use crate::{
    contacts::{
        NewContact, Region,
        import::{Columns, Invalid, RawContact, Report, RowContext},
    },
    store::{Store, StoreError},
};

/// Rows per committed batch.
pub const BATCH: usize = 1_000;

/// Read a stored upload into its campaign.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportJob {
    pub import_id: i64,
}

/// A batch of read rows.
#[derive(Debug, Default)]
pub struct Batch {
    pub rows: Vec<NewContact>,
    pub invalid: Vec<Invalid>,
    /// Records read for this batch (good and bad).
    pub read: u64,
}

/// Parses CSV from `input` on a blocking thread and sends batches of up to [`BATCH`] records
/// through a small bounded channel, so memory stays flat whatever the size. The first `skip`
/// records are read but not sent (resuming). A header without `phone` is the first and only
/// message, as an error.
pub fn parse_csv(
    input: impl Read + Send + 'static,
    region: Region,
    agents: Arc<HashSet<i64>>,
    skip: u64,
) -> mpsc::Receiver<Result<Batch, String>> {
    let (tx, rx) = mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(input);
        let mut records = reader.byte_records();
        let header = match records.next() {
            None => {
                let _ = tx.blocking_send(Err(
                    "the upload is empty; it needs a header row with a 'phone' column".into(),
                ));
                return;
            }
            Some(Err(e)) => {
                let _ = tx.blocking_send(Err(format!("the header row cannot be read: {e}")));
                return;
            }
            Some(Ok(h)) => h,
        };
        let names: Vec<String> = header
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        let columns = match Columns::from_header(&names) {
            Ok(c) => c,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        let exists = move |id: i64| agents.contains(&id);
        let ctx = RowContext {
            region,
            agent_exists: &exists,
        };
        let mut batch = Batch::default();
        let mut index: u64 = 0;
        for record in records {
            index += 1;
            if index <= skip {
                continue;
            }
            // Spreadsheet numbering: the header is row 1.
            let row = index + 1;
            batch.read += 1;
            match record {
                Err(e) => batch.invalid.push(Invalid {
                    row,
                    reason: format!("cannot be read: {e}"),
                }),
                Ok(record) => {
                    let fields: Result<Vec<&str>, _> =
                        record.iter().map(std::str::from_utf8).collect();
                    match fields {
                        Err(_) => batch.invalid.push(Invalid {
                            row,
                            reason: "is not UTF-8 text".into(),
                        }),
                        Ok(fields) if fields.iter().all(|f| f.trim().is_empty()) => batch.read -= 1,
                        Ok(fields) => match columns.read(&fields, &ctx) {
                            Ok(contact) => batch.rows.push(contact),
                            Err(reason) => batch.invalid.push(Invalid { row, reason }),
                        },
                    }
                }
            }
            if batch.read as usize >= BATCH
                && tx.blocking_send(Ok(std::mem::take(&mut batch))).is_err()
            {
                return;
            }
        }
        if batch.read > 0 {
            let _ = tx.blocking_send(Ok(batch));
        }
    });
    rx
}

/// Checks the contacts of a JSON upload, in batches.
pub fn check_json(contacts: Vec<RawContact>, region: Region, agents: &HashSet<i64>) -> Vec<Batch> {
    let exists = |id: i64| agents.contains(&id);
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
        if batch.read as usize >= BATCH {
            batches.push(std::mem::take(&mut batch));
        }
    }
    if batch.read > 0 {
        batches.push(batch);
    }
    batches
}

/// Commits every batch in one transaction: all rows or none.
pub async fn ingest_inline(
    store: &Store,
    campaign_id: i64,
    mut batches: mpsc::Receiver<Result<Batch, String>>,
    now: i64,
) -> Result<Result<Report, String>, StoreError> {
    let mut tx = store.begin().await?;
    let mut report = Report::default();
    while let Some(batch) = batches.recv().await {
        let batch = match batch {
            Ok(b) => b,
            Err(message) => return Ok(Err(message)),
        };
        let mut part = Store::contacts_add_batch(&mut tx, campaign_id, &batch.rows, now).await?;
        part.total = batch.read;
        part.invalid = batch.invalid;
        report.add(&part);
    }
    tx.commit().await?;
    Ok(Ok(report))
}

/// Reads a stored upload piece by piece from a blocking thread.
struct ChunkReader {
    store: Store,
    import_id: i64,
    seq: i64,
    buf: Vec<u8>,
    pos: usize,
    handle: tokio::runtime::Handle,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            let next = self
                .handle
                .block_on(self.store.import_chunk(self.import_id, self.seq))
                .map_err(std::io::Error::other)?;
            match next {
                None => return Ok(0),
                Some(data) => {
                    self.buf = data;
                    self.pos = 0;
                    self.seq += 1;
                }
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The job: claims the import, resumes after its committed rows, commits batch by batch.
pub async fn import(job: ImportJob, ctx: Data<Context>) -> Result<(), BoxDynError> {
    super::counted("importer", run(job, &ctx).await)
}

async fn run(job: ImportJob, ctx: &Context) -> Result<(), BoxDynError> {
    let worker =
        format!("importer-{}", std::process::id()) + &format!("-{:x}", rand::random::<u32>());
    let Some(row) = ctx
        .store
        .import_claim(
            job.import_id,
            &worker,
            ctx.clock.now_ms(),
            ctx.config.import_stale.as_millis(),
        )
        .await?
    else {
        return Ok(()); // done, failed, or another worker has it
    };
    let agents = Arc::new(ctx.store.agent_ids().await?);
    let reader = ChunkReader {
        store: ctx.store.clone(),
        import_id: row.id,
        seq: 0,
        buf: vec![],
        pos: 0,
        handle: tokio::runtime::Handle::current(),
    };
    let mut batches = parse_csv(reader, ctx.region, agents, row.processed as u64);
    while let Some(batch) = batches.recv().await {
        let batch = match batch {
            Ok(b) => b,
            Err(message) => {
                ctx.store
                    .import_finish(row.id, Some(&message), ctx.clock.now_ms())
                    .await?;
                return Ok(());
            }
        };
        let now = ctx.clock.now_ms();
        let mut tx = ctx.store.begin().await?;
        let mut part =
            Store::contacts_add_batch(&mut tx, row.campaign_id, &batch.rows, now).await?;
        part.invalid = batch.invalid;
        match Store::import_progress(&mut tx, row.id, Some(&worker), &part, batch.read, now).await {
            Err(StoreError::Conflict(_)) => return Ok(()), // taken over after we went silent
            other => other?,
        }
        tx.commit().await?;
        metrics::counter!("outcall_import_rows_total").increment(batch.read);
    }
    ctx.store
        .import_finish(row.id, None, ctx.clock.now_ms())
        .await?;
    tracing::info!(import = row.id, "import finished");
    Ok(())
}

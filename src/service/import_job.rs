//! The import job's work: a stored upload read batch by batch into its campaign, each batch
//! committed with the import's progress, so a crash leaves exact counts and a restart resumes
//! after the last committed row.
//!
//! The database going away for a while (a restart, a network blip, another program holding
//! SQLite's lock) pauses the import, which then carries on where it stopped: every step is
//! retried while the database is unavailable, for up to [`PATIENCE`]. Progress is a
//! compare-and-set on the rows read so far, so a batch whose commit was answered by a lost
//! connection is found committed rather than written twice. The upload itself being unreadable
//! (not a list, no `phone` column, a bound of [`crate::contacts::bounds`] passed), the database
//! refusing a batch for good (a permanent error: retrying would fail forever), or the import
//! having stopped its process three times in a row, so after two retries ([`MAX_DEATHS`]), fails the import, and only then
//! — or when it is done — is the stored upload deleted.
//!
//! An import job waits for a turn to read (`OUTCALL_IMPORTS_AT_ONCE`) after claiming its
//! import, keeping the claim alive meanwhile, so no other worker takes it for abandoned.

use std::{
    future::Future,
    io::{Read, Seek, SeekFrom},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::sync::mpsc;

use crate::{
    contacts::{
        charset::Charset,
        csv::{Batch, CsvOptions},
        import::ImportFormat,
        json::read_json,
    },
    ids::{CampaignId, ImportId, ListId},
    store::{Store, StoreError},
};

use super::{Error, Result, Service, imports::parse_csv, workbooks::parse_xlsx};

/// How long the job waits out an unavailable database before it gives up (and leaves the
/// import to be resumed by the scheduler's orphan sweep).
const PATIENCE: Duration = Duration::from_secs(600);
/// The longest pause between two tries.
const MAX_PAUSE: Duration = Duration::from_secs(5);
/// Times an import's process may die (or stop) while reading it, without a batch committed in
/// between: each death is found by a takeover from the silent worker (counted in the import's
/// `resumes`), and the takeover that finds this many fails the import instead of reading it
/// again, so an upload that kills the process cannot crash-loop the service.
pub const MAX_DEATHS: i64 = 3;

/// Runs `step` until it succeeds, fails for a reason other than the database being
/// unavailable, or [`PATIENCE`] runs out.
async fn persist<T, F, Fut>(what: &str, mut step: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(200);
    loop {
        match step().await {
            Err(StoreError::Unavailable(e)) if started.elapsed() < PATIENCE => {
                tracing::warn!(error = %e, "the database is unavailable; {what} waits");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
            other => return other,
        }
    }
}

impl Service {
    /// Claims the import for `worker` (unless it is done, failed, or another live worker has
    /// it), resumes after its committed rows, and commits batch by batch with the progress.
    #[tracing::instrument(skip_all)]
    pub async fn run_import(&self, id: ImportId, worker: &str) -> Result<()> {
        let stale = self.config.import_stale.as_millis();
        let claim = || self.store.import_claim(id, worker, self.now(), stale);
        let Some(row) = persist("claiming an import", claim).await? else {
            return Ok(());
        };
        if row.resumes >= MAX_DEATHS {
            let reason = format!(
                "the import stopped the process three times; it was not resumed again after row {} \
                 (the rows before are in)",
                row.processed
            );
            let fail = || self.store.import_finish(id, Some(&reason), self.now());
            persist("failing an import", fail).await?;
            tracing::error!(import = %id, "import failed: it stopped its process three times");
            return Ok(());
        }
        let _turn = self.wait_turn(id, worker).await?;
        let agents = Arc::new(persist("reading agents", || self.store.agent_ids()).await?);
        let list = persist("reading an import's list", || self.store.list_of_import(id)).await?;
        let away = Arc::new(AtomicBool::new(false));
        let reader = ChunkReader::new(self.store.clone(), id, row.bytes as u64, away.clone());
        let (skip, rows) = (row.processed as u64, self.config.import_batch_rows());
        let mut batches = match row.format {
            ImportFormat::Csv => {
                let options = CsvOptions {
                    charset: row.charset.unwrap_or(Charset::Utf8),
                    mapping: row.mapping.clone().map(|m| m.0),
                    workbook: row.sheet.is_some(),
                    sheet: row.sheet.clone(),
                };
                match options.workbook {
                    true => parse_xlsx(reader, options, self.region, agents, skip, rows),
                    false => parse_csv(reader, options, self.region, agents, skip, rows),
                }
            }
            ImportFormat::Json => parse_json(reader, self.region, agents, skip, rows),
        };
        let mut processed = row.processed;
        while let Some(batch) = batches.recv().await {
            let batch = match batch {
                Ok(b) => b,
                // The upload could not be read because the database stayed away: leave it.
                Err(_) if away.load(Ordering::SeqCst) => {
                    return Err(Error::Internal(anyhow::anyhow!("the database stayed away")));
                }
                Err(message) => {
                    let fail = || self.store.import_finish(id, Some(&message), self.now());
                    persist("failing an import", fail).await?;
                    return Ok(());
                }
            };
            let read = batch.read;
            let commit =
                || self.commit_batch((row.campaign_id, list), id, worker, processed, &batch);
            match persist("importing a batch", commit).await {
                Ok(true) => {}
                Ok(false) => return Ok(()), // taken over after this worker went silent
                Err(error @ StoreError::Other(_)) => {
                    let code = crate::store::error_code(&error).unwrap_or_default();
                    tracing::error!(import = %id, error = %error, "the database refused a batch");
                    let reason = format!(
                        "the database refused the rows after row {processed} for good \
                         (code {code}); the rows before are in"
                    );
                    let fail = || self.store.import_finish(id, Some(&reason), self.now());
                    persist("failing an import", fail).await?;
                    return Ok(());
                }
                Err(error) => return Err(error.into()),
            }
            processed += read as i64;
            metrics::counter!("outcall_import_rows_total").increment(read);
        }
        persist("finishing an import", || {
            self.store.import_finish(id, None, self.now())
        })
        .await?;
        tracing::info!(import = %id, "import finished");
        Ok(())
    }

    /// Waits for a turn to read an import, keeping `worker`'s claim on it alive meanwhile.
    async fn wait_turn(
        &self,
        id: ImportId,
        worker: &str,
    ) -> Result<tokio::sync::OwnedSemaphorePermit> {
        let every = (self.config.import_stale.std() / 3).max(Duration::from_millis(100));
        let turn = self.turn_to_import();
        tokio::pin!(turn);
        loop {
            tokio::select! {
                permit = &mut turn => return permit,
                () = tokio::time::sleep(every) => {
                    let beat = || self.store.import_beat(id, worker, self.now());
                    persist("keeping an import's claim", beat).await?;
                }
            }
        }
    }

    /// One batch of an import with the import's progress, `from` rows having been committed
    /// before it. True when the batch is in (now, or by an earlier try whose answer was lost);
    /// false if another worker has taken the import over.
    async fn commit_batch(
        &self,
        (campaign, list): (CampaignId, Option<ListId>),
        id: ImportId,
        worker: &str,
        from: i64,
        batch: &Batch,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut part = Store::contacts_add_batch(&mut tx, campaign, list, &batch.rows, now).await?;
        part.invalid = batch.invalid.clone();
        part.invalid_count = batch.invalid.len() as u64;
        let rows = (from, batch.read);
        match Store::import_progress(&mut tx, id, worker, &part, rows, now).await {
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                let through = from + batch.read as i64;
                return self.store.import_committed(id, worker, through).await;
            }
            other => other?,
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// Parses a JSON upload on a blocking thread into batches (see [`parse_csv`]).
fn parse_json(
    input: impl Read + Send + 'static,
    region: crate::contacts::Region,
    agents: Arc<std::collections::HashSet<crate::ids::AgentId>>,
    skip: u64,
    batch_rows: usize,
) -> mpsc::Receiver<Result<Batch, String>> {
    let (tx, rx) = mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        read_json(input, region, &agents, skip, batch_rows, |message| {
            tx.blocking_send(message).is_ok()
        });
    });
    rx
}

/// Reads a stored upload piece by piece from a blocking thread, waiting out an unavailable
/// database like [`persist`]; if it stays away, reading fails and `away` says why. It seeks
/// too (an .xlsx workbook is a zip, read from its end): an upload is stored in pieces of
/// exactly [`super::imports::CHUNK`] bytes but the last, so a position names its piece. One
/// piece is held at a time.
pub(super) struct ChunkReader {
    store: Store,
    import_id: ImportId,
    /// The piece held in `buf`: its number and where it starts.
    held: Option<(i64, u64)>,
    buf: Vec<u8>,
    /// The position read next, from the upload's start.
    at: u64,
    /// The upload's size (for seeking from its end).
    size: u64,
    handle: tokio::runtime::Handle,
    away: Arc<AtomicBool>,
}

impl ChunkReader {
    pub(super) fn new(store: Store, import_id: ImportId, size: u64, away: Arc<AtomicBool>) -> Self {
        Self {
            store,
            import_id,
            held: None,
            buf: vec![],
            at: 0,
            size,
            handle: tokio::runtime::Handle::current(),
            away,
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let end = |(_, start): (i64, u64), len: usize| start + len as u64;
        let (seq, start) = match self.held {
            Some(h) if (h.1..end(h, self.buf.len())).contains(&self.at) => h,
            // Reading on: the next piece, whatever the size of this one.
            Some(h) if end(h, self.buf.len()) == self.at => (h.0 + 1, self.at),
            None if self.at == 0 => (0, 0),
            // A seek: the piece that holds the position.
            _ => {
                let piece = super::imports::CHUNK as u64;
                ((self.at / piece) as i64, self.at / piece * piece)
            }
        };
        if self.held != Some((seq, start)) {
            let (store, id) = (&self.store, self.import_id);
            let next = self
                .handle
                .block_on(persist("reading an upload", || store.import_chunk(id, seq)));
            let next = next.map_err(|e| {
                if matches!(e, StoreError::Unavailable(_)) {
                    self.away.store(true, Ordering::SeqCst);
                }
                std::io::Error::other(e)
            })?;
            match next {
                None => return Ok(0),
                Some(data) => {
                    self.buf = data;
                    self.held = Some((seq, start));
                }
            }
        }
        let from = (self.at - start) as usize;
        if from >= self.buf.len() {
            return Ok(0);
        }
        let n = out.len().min(self.buf.len() - from);
        out[..n].copy_from_slice(&self.buf[from..from + n]);
        self.at += n as u64;
        Ok(n)
    }
}

impl Seek for ChunkReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let at = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.at.checked_add_signed(d),
        };
        self.at = at.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        Ok(self.at)
    }
}

//! Import records: progress, counts, invalid rows, and the stored upload of a queued import.
//! Counts and `processed` move in the same transaction as the rows they describe, so after a
//! crash they say exactly what was committed and a resumed import skips exactly that.

use crate::{
    contacts::{
        charset::Charset,
        import::{ImportFormat, ImportState, Invalid, MAX_INVALID_LISTED, Report},
        mapping::Mapping,
    },
    ids::{CampaignId, ImportId},
    on_pool, on_tx,
    stored::JsonText,
    time::Instant,
};

use super::{Result, Store, StoreError, Tx};

/// An import as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImportRow {
    pub id: ImportId,
    pub campaign_id: CampaignId,
    pub state: ImportState,
    pub format: ImportFormat,
    pub bytes: i64,
    pub processed: i64,
    pub accepted: i64,
    pub duplicates: i64,
    pub suppressed: i64,
    pub invalid_count: i64,
    /// Takeovers from a silent worker since the last committed batch (migration 0021).
    pub resumes: i64,
    pub error: Option<String>,
    /// The charset a CSV upload is read in, and the mapping given with it (migration 0025).
    pub charset: Option<Charset>,
    pub mapping: Option<JsonText<Mapping>>,
    /// The sheet of an .xlsx upload its rows are read from; `None`: not a workbook
    /// (migration 0032).
    pub sheet: Option<String>,
    pub created_at: Instant,
    pub finished_at: Option<Instant>,
}

/// The `worker` an import has while its upload is still being stored.
pub const UPLOADING: &str = "upload";

const COLUMNS: &str = "id, campaign_id, state, format, bytes, processed, accepted, duplicates, \
     suppressed, invalid_count, resumes, error, charset, mapping, sheet, created_at, finished_at";

const INSERT: &str = "INSERT INTO imports (campaign_id, state, format, worker, created_at, heartbeat_at, \
       charset, mapping) VALUES ($1, $2, $3, $4, $5, $5, $6, $7) RETURNING id";
const PUT_CHUNK: &str = "INSERT INTO import_chunks (import_id, seq, data) VALUES ($1, $2, $3)";
const UPLOADING_BYTES: &str = "UPDATE imports SET bytes = $2, heartbeat_at = $3 WHERE id = $1";
const UPLOADED: &str =
    "UPDATE imports SET bytes = $2, heartbeat_at = $3, worker = NULL WHERE id = $1";
const CHUNK: &str = "SELECT data FROM import_chunks WHERE import_id = $1 AND seq = $2";
/// Queued with its upload complete, or running under a worker silent since `$5` (a takeover,
/// counted in `resumes`).
const CLAIM: &str = "UPDATE imports SET state = $3, worker = $2, heartbeat_at = $4, \
       resumes = CASE WHEN state = $3 THEN resumes + 1 ELSE resumes END \
     WHERE id = $1 AND ((state = $6 AND worker IS NULL) OR (state = $3 AND heartbeat_at < $5))";
/// A worker waiting for its turn to read keeps its claim.
const BEAT: &str = "UPDATE imports SET heartbeat_at = $3 WHERE id = $1 AND worker = $2";
/// A compare-and-set on the rows read so far (`$9`): fails when another worker has taken the
/// import over (`$8` no longer matches) or when this batch was committed already (a retry
/// after a commit whose answer was lost). A committed batch clears `resumes`. Answers the
/// invalid rows counted before this batch.
const PROGRESS: &str = "UPDATE imports SET processed = processed + $2, accepted = accepted + $3, \
       duplicates = duplicates + $4, suppressed = suppressed + $5, invalid_count = invalid_count + $6, \
       heartbeat_at = $7, resumes = 0 \
     WHERE id = $1 AND worker = $8 AND processed = $9 \
     RETURNING invalid_count - $6";
const COMMITTED: &str =
    "SELECT COUNT(*) FROM imports WHERE id = $1 AND worker = $2 AND processed = $3";
const INVALID_ROW: &str = "INSERT INTO import_invalid (import_id, row_no, reason, code, params, value) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";
/// An inline import, recorded once done: its counts, charset and (in the same transaction) its
/// invalid rows, so its report and `invalid.csv` can be read again like a job's.
const RECORD: &str = "INSERT INTO imports (campaign_id, state, format, bytes, processed, accepted, \
       duplicates, suppressed, invalid_count, created_at, finished_at, charset, sheet) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12) RETURNING id";
/// A queued import's upload is an .xlsx workbook read from this sheet.
const SHEET: &str = "UPDATE imports SET sheet = $2 WHERE id = $1";
const FINISH: &str = "UPDATE imports SET state = $2, error = $3, finished_at = $4 WHERE id = $1";
const DROP_CHUNKS: &str = "DELETE FROM import_chunks WHERE import_id = $1";
const INVALID_ROWS: &str = "SELECT row_no, reason, code, params, value FROM import_invalid \
     WHERE import_id = $1 ORDER BY row_no LIMIT $2";
const ORPHANED: &str =
    "SELECT id, worker FROM imports WHERE state IN ($2, $3) AND heartbeat_at < $1";

impl Store {
    /// Creates a queued import whose upload is still arriving (see [`UPLOADING`]).
    pub async fn import_create(
        &self,
        campaign_id: CampaignId,
        format: ImportFormat,
        charset: Option<Charset>,
        mapping: Option<&Mapping>,
        now: Instant,
    ) -> Result<ImportId> {
        let mapping = mapping.map(|m| m.to_json().to_string());
        Ok(on_pool!(&self.pool, |p| sqlx::query_scalar(INSERT)
            .bind(campaign_id)
            .bind(ImportState::Queued)
            .bind(format)
            .bind(UPLOADING)
            .bind(now)
            .bind(charset)
            .bind(mapping.clone())
            .fetch_one(p)
            .await)?)
    }

    /// Marks a queued import's upload as an .xlsx workbook whose rows are in `sheet`.
    pub async fn import_sheet(&self, id: ImportId, sheet: &str) -> Result<()> {
        on_pool!(&self.pool, |p| sqlx::query(SHEET)
            .bind(id)
            .bind(sheet)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn import_get(&self, id: ImportId) -> Result<ImportRow> {
        let sql = format!("SELECT {COLUMNS} FROM imports WHERE id = $1");
        self.read_by_id(sqlx::AssertSqlSafe(sql), id).await
    }

    /// Stores the next piece of an upload.
    pub async fn import_put_chunk(&self, id: ImportId, seq: i64, data: &[u8]) -> Result<()> {
        on_pool!(&self.pool, |p| sqlx::query(PUT_CHUNK)
            .bind(id)
            .bind(seq)
            .bind(data)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Notes upload progress (keeps the upload from being taken for abandoned).
    pub async fn import_uploading(&self, id: ImportId, bytes: i64, now: Instant) -> Result<()> {
        self.import_upload_bytes(UPLOADING_BYTES, id, bytes, now)
            .await
    }

    /// The upload is complete: the import may now be claimed by a worker.
    pub async fn import_uploaded(&self, id: ImportId, bytes: i64, now: Instant) -> Result<()> {
        self.import_upload_bytes(UPLOADED, id, bytes, now).await
    }

    /// Runs `sql`, one of the two statements that note an upload's size so far.
    async fn import_upload_bytes(
        &self,
        sql: &'static str,
        id: ImportId,
        bytes: i64,
        now: Instant,
    ) -> Result<()> {
        on_pool!(&self.pool, |p| sqlx::query(sql)
            .bind(id)
            .bind(bytes)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// One stored piece of an upload, or `None` past the end.
    pub async fn import_chunk(&self, id: ImportId, seq: i64) -> Result<Option<Vec<u8>>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_scalar(CHUNK)
            .bind(id)
            .bind(seq)
            .fetch_optional(p)
            .await)?)
    }

    /// Takes an import for `worker` if it is queued, or running under a worker that went silent.
    /// `stale_ms` is how long a worker may stay silent before another may take its import over.
    pub async fn import_claim(
        &self,
        id: ImportId,
        worker: &str,
        now: Instant,
        stale_ms: i64,
    ) -> Result<Option<ImportRow>> {
        let n = on_pool!(&self.pool, |p| sqlx::query(CLAIM)
            .bind(id)
            .bind(worker)
            .bind(ImportState::Running)
            .bind(now)
            .bind(now.plus_millis(-stale_ms))
            .bind(ImportState::Queued)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            Ok(None)
        } else {
            self.import_get(id).await.map(Some)
        }
    }

    /// Records an import read at once (inline), done, with its report's counts and its first
    /// invalid rows, in `tx`.
    #[allow(clippy::too_many_arguments)]
    pub async fn import_record(
        tx: &mut Tx,
        campaign_id: CampaignId,
        format: ImportFormat,
        bytes: i64,
        report: &Report,
        now: Instant,
    ) -> Result<ImportId> {
        let id: ImportId = on_tx!(tx, |c| sqlx::query_scalar(RECORD)
            .bind(campaign_id)
            .bind(ImportState::Done)
            .bind(format)
            .bind(bytes)
            .bind(report.total as i64)
            .bind(report.accepted as i64)
            .bind(report.duplicates as i64)
            .bind(report.suppressed as i64)
            .bind(report.invalid_count as i64)
            .bind(now)
            .bind(report.charset)
            .bind(report.sheet.clone())
            .fetch_one(c)
            .await)?;
        for invalid in report.invalid.iter().take(MAX_INVALID_LISTED) {
            let params = invalid.params.to_string();
            on_tx!(tx, |c| {
                sqlx::query(INVALID_ROW)
                    .bind(id)
                    .bind(invalid.row as i64)
                    .bind(&invalid.reason)
                    .bind(&invalid.code)
                    .bind(&params)
                    .bind(&invalid.value)
                    .execute(c)
                    .await
                    .map(|_| ())
            })?;
        }
        Ok(id)
    }

    /// Keeps `worker`'s claim on an import alive while it waits for its turn to read.
    pub async fn import_beat(&self, id: ImportId, worker: &str, now: Instant) -> Result<()> {
        on_pool!(&self.pool, |p| sqlx::query(BEAT)
            .bind(id)
            .bind(worker)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Records a committed batch inside its transaction: counts, progress, a heartbeat, and its
    /// invalid rows while the import lists fewer than [`MAX_INVALID_LISTED`] (the count stays
    /// exact). Fails with `Conflict` if another worker has taken the import over.
    pub async fn import_progress(
        tx: &mut Tx,
        id: ImportId,
        worker: &str,
        batch: &Report,
        rows: (i64, u64),
        now: Instant,
    ) -> Result<()> {
        let (from, read) = rows;
        let before: Option<i64> = on_tx!(tx, |c| {
            sqlx::query_scalar(PROGRESS)
                .bind(id)
                .bind(read as i64)
                .bind(batch.accepted as i64)
                .bind(batch.duplicates as i64)
                .bind(batch.suppressed as i64)
                .bind(batch.invalid_count as i64)
                .bind(now)
                .bind(worker)
                .bind(from)
                .fetch_optional(c)
                .await
        })?;
        let Some(before) = before else {
            return Err(StoreError::Conflict(
                crate::codes::Code::ImportRunning
                    .because("another worker took this import over, or the batch is in"),
            ));
        };
        let room = MAX_INVALID_LISTED.saturating_sub(before.max(0) as usize);
        for invalid in batch.invalid.iter().take(room) {
            let params = invalid.params.to_string();
            on_tx!(tx, |c| {
                sqlx::query(INVALID_ROW)
                    .bind(id)
                    .bind(invalid.row as i64)
                    .bind(&invalid.reason)
                    .bind(&invalid.code)
                    .bind(&params)
                    .bind(&invalid.value)
                    .execute(c)
                    .await
                    .map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Whether `worker` still has the import and `processed` rows of it are committed.
    pub async fn import_committed(
        &self,
        id: ImportId,
        worker: &str,
        processed: i64,
    ) -> Result<bool> {
        let n: i64 = on_pool!(&self.pool, |p| sqlx::query_scalar(COMMITTED)
            .bind(id)
            .bind(worker)
            .bind(processed)
            .fetch_one(p)
            .await)?;
        Ok(n == 1)
    }

    /// Marks an import done or failed and drops its stored upload.
    pub async fn import_finish(
        &self,
        id: ImportId,
        error: Option<&str>,
        now: Instant,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let state = if error.is_some() {
            ImportState::Failed
        } else {
            ImportState::Done
        };
        on_tx!(&mut tx, |c| sqlx::query(FINISH)
            .bind(id)
            .bind(state)
            .bind(error)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        on_tx!(&mut tx, |c| sqlx::query(DROP_CHUNKS)
            .bind(id)
            .execute(c)
            .await
            .map(|_| ()))?;
        tx.commit().await?;
        Ok(())
    }

    /// The invalid rows of an import, in row order, at most `limit`.
    pub async fn import_invalid(&self, id: ImportId, limit: i64) -> Result<Vec<Invalid>> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(i64, String, String, String, Option<String>)> =
            on_pool!(&self.reads, |p| sqlx::query_as(INVALID_ROWS)
                .bind(id)
                .bind(limit)
                .fetch_all(p)
                .await)?;
        Ok(rows
            .into_iter()
            .map(|(row, reason, code, params, value)| Invalid {
                row: row as u64,
                value,
                code,
                params: serde_json::from_str(&params).unwrap_or_else(|_| serde_json::json!({})),
                reason,
            })
            .collect())
    }

    /// Imports that should be running but have no live worker (after a crash or restart), and
    /// uploads abandoned half-way (the client never got a 202 for those).
    pub async fn imports_orphaned(
        &self,
        now: Instant,
        stale_ms: i64,
    ) -> Result<(Vec<ImportId>, Vec<ImportId>)> {
        let rows: Vec<(ImportId, Option<String>)> =
            on_pool!(&self.reads, |p| sqlx::query_as(ORPHANED)
                .bind(now.plus_millis(-stale_ms))
                .bind(ImportState::Queued)
                .bind(ImportState::Running)
                .fetch_all(p)
                .await)?;
        let (abandoned, orphaned): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .partition(|(_, w)| w.as_deref() == Some(UPLOADING));
        Ok((
            orphaned.into_iter().map(|r| r.0).collect(),
            abandoned.into_iter().map(|r| r.0).collect(),
        ))
    }
}

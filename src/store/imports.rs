//! Import records: progress, counts, invalid rows, and the stored upload of a queued import.
//! Counts and `processed` move in the same transaction as the rows they describe, so after a
//! crash they say exactly what was committed and a resumed import skips exactly that.

use serde::Serialize;

use crate::{
    contacts::import::{Invalid, Report},
    on_pool, on_tx,
};

use super::{Result, Store, StoreError, Tx};

/// An import as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImportRow {
    pub id: i64,
    pub campaign_id: i64,
    pub state: String,
    pub format: String,
    pub bytes: i64,
    pub processed: i64,
    pub accepted: i64,
    pub duplicates: i64,
    pub suppressed: i64,
    pub invalid_count: i64,
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// The state of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportState {
    /// Upload stored; waiting for a worker.
    Queued,
    /// A worker is reading it; `processed` grows.
    Running,
    /// Every row was read; the report is final.
    Done,
    /// Stopped by an error; the counts say exactly what was committed.
    Failed,
}

macro_rules! select_import {
    ($tail:literal) => {
        concat!(
            "SELECT id, campaign_id, state, format, bytes, processed, accepted, duplicates, suppressed, \
             invalid_count, error, created_at, finished_at FROM imports ",
            $tail
        )
    };
}

/// The `worker` an import has while its upload is still being stored.
pub const UPLOADING: &str = "upload";

impl Store {
    /// Creates a queued import whose upload is still arriving (see [`UPLOADING`]).
    pub async fn import_create(&self, campaign_id: i64, format: &str, now: i64) -> Result<i64> {
        const SQL: &str = "INSERT INTO imports (campaign_id, state, format, worker, created_at, heartbeat_at) \
             VALUES ($1, 'queued', $2, $3, $4, $4) RETURNING id";
        Ok(on_pool!(&self.pool, |p| sqlx::query_scalar(SQL)
            .bind(campaign_id)
            .bind(format)
            .bind(UPLOADING)
            .bind(now)
            .fetch_one(p)
            .await)?)
    }

    pub async fn import_get(&self, id: i64) -> Result<ImportRow> {
        const SQL: &str = select_import!("WHERE id = $1");
        on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(id)
            .fetch_optional(p)
            .await)?
        .ok_or(StoreError::NotFound)
    }

    /// Stores the next piece of an upload.
    pub async fn import_put_chunk(&self, id: i64, seq: i64, data: &[u8]) -> Result<()> {
        const SQL: &str = "INSERT INTO import_chunks (import_id, seq, data) VALUES ($1, $2, $3)";
        on_pool!(&self.pool, |p| sqlx::query(SQL)
            .bind(id)
            .bind(seq)
            .bind(data)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Notes upload progress (keeps the upload from being taken for abandoned).
    pub async fn import_uploading(&self, id: i64, bytes: i64, now: i64) -> Result<()> {
        const SQL: &str = "UPDATE imports SET bytes = $2, heartbeat_at = $3 WHERE id = $1";
        on_pool!(&self.pool, |p| sqlx::query(SQL)
            .bind(id)
            .bind(bytes)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The upload is complete: the import may now be claimed by a worker.
    pub async fn import_uploaded(&self, id: i64, bytes: i64, now: i64) -> Result<()> {
        const SQL: &str =
            "UPDATE imports SET bytes = $2, heartbeat_at = $3, worker = NULL WHERE id = $1";
        on_pool!(&self.pool, |p| sqlx::query(SQL)
            .bind(id)
            .bind(bytes)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// One stored piece of an upload, or `None` past the end.
    pub async fn import_chunk(&self, id: i64, seq: i64) -> Result<Option<Vec<u8>>> {
        const SQL: &str = "SELECT data FROM import_chunks WHERE import_id = $1 AND seq = $2";
        Ok(on_pool!(&self.pool, |p| sqlx::query_scalar(SQL)
            .bind(id)
            .bind(seq)
            .fetch_optional(p)
            .await)?)
    }

    /// Takes an import for `worker` if it is queued, or running under a worker that went silent.
    /// `stale_ms` is how long a worker may stay silent before another may take its import over.
    pub async fn import_claim(
        &self,
        id: i64,
        worker: &str,
        now: i64,
        stale_ms: i64,
    ) -> Result<Option<ImportRow>> {
        const SQL: &str = "UPDATE imports SET state = 'running', worker = $2, heartbeat_at = $3 \
             WHERE id = $1 AND ((state = 'queued' AND worker IS NULL) OR (state = 'running' AND heartbeat_at < $4))";
        let n = on_pool!(&self.pool, |p| sqlx::query(SQL)
            .bind(id)
            .bind(worker)
            .bind(now)
            .bind(now - stale_ms)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        if n == 0 {
            Ok(None)
        } else {
            self.import_get(id).await.map(Some)
        }
    }

    /// Records a committed batch inside its transaction: counts, invalid rows, progress, and a
    /// heartbeat. Fails with `Conflict` if another worker has taken the import over.
    pub async fn import_progress(
        tx: &mut Tx,
        id: i64,
        worker: Option<&str>,
        batch: &Report,
        rows: u64,
        now: i64,
    ) -> Result<()> {
        let n = on_tx!(tx, |c| {
            sqlx::query(
            "UPDATE imports SET processed = processed + $2, accepted = accepted + $3, duplicates = duplicates + $4, \
               suppressed = suppressed + $5, invalid_count = invalid_count + $6, heartbeat_at = $7 \
             WHERE id = $1 AND ($8 IS NULL OR worker = $8)"
        )
        .bind(id)
        .bind(rows as i64)
        .bind(batch.accepted as i64)
        .bind(batch.duplicates as i64)
        .bind(batch.suppressed as i64)
        .bind(batch.invalid.len() as i64)
        .bind(now)
        .bind(worker)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if n == 0 {
            return Err(StoreError::Conflict(
                "another worker took this import over".into(),
            ));
        }
        for Invalid { row, reason } in &batch.invalid {
            on_tx!(tx, |c| {
                sqlx::query(
                "INSERT INTO import_invalid (import_id, row_no, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
            )
            .bind(id)
            .bind(*row as i64)
            .bind(reason)
            .execute(c)
            .await
            .map(|_| ())
            })?;
        }
        Ok(())
    }

    /// Marks an import done or failed and drops its stored upload.
    pub async fn import_finish(&self, id: i64, error: Option<&str>, now: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE imports SET state = $2, error = $3, finished_at = $4 WHERE id = $1"
        )
        .bind(id)
        .bind(if error.is_some() { "failed" } else { "done" })
        .bind(error)
        .bind(now)
        .execute(c)
        .await
        .map(|_| ()))?;
        on_tx!(&mut tx, |c| sqlx::query(
            "DELETE FROM import_chunks WHERE import_id = $1"
        )
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()))?;
        tx.commit().await?;
        Ok(())
    }

    /// The invalid rows of an import, in row order, at most `limit`.
    pub async fn import_invalid(&self, id: i64, limit: i64) -> Result<Vec<Invalid>> {
        const SQL: &str = "SELECT row_no, reason FROM import_invalid WHERE import_id = $1 ORDER BY row_no LIMIT $2";
        let rows: Vec<(i64, String)> = on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(id)
            .bind(limit)
            .fetch_all(p)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|(row, reason)| Invalid {
                row: row as u64,
                reason,
            })
            .collect())
    }

    /// Imports that should be running but have no live worker (after a crash or restart), and
    /// uploads abandoned half-way (the client never got a 202 for those).
    pub async fn imports_orphaned(&self, now: i64, stale_ms: i64) -> Result<(Vec<i64>, Vec<i64>)> {
        const SQL: &str = "SELECT id, worker FROM imports WHERE state IN ('queued', 'running') AND heartbeat_at < $1";
        let rows: Vec<(i64, Option<String>)> = on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(now - stale_ms)
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

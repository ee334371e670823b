//! Answers already given for an `Idempotency-Key`, so a retried request returns the first
//! answer and records nothing twice. Kept for a day, then pruned by the maintenance sweep.

use crate::{ids::TokenId, on_pool, on_tx, time::Instant};

use super::{Result, Store, Tx};

/// A stored answer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Remembered {
    pub request_hash: String,
    pub status: i64,
    pub body: String,
}

/// How long an answer is kept.
pub const KEEP_MS: i64 = 24 * 3_600_000;

const GET: &str = "SELECT request_hash, status, body FROM idempotency \
     WHERE token_id = $1 AND key = $2 AND expires_at > $3";
/// An expired record under the same key is replaced.
const PUT: &str = "INSERT INTO idempotency \
       (token_id, key, request_hash, status, body, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (token_id, key) DO UPDATE SET request_hash = excluded.request_hash, \
       status = excluded.status, body = excluded.body, created_at = excluded.created_at, \
       expires_at = excluded.expires_at";
const PRUNE: &str = "DELETE FROM idempotency WHERE expires_at <= $1";

impl Store {
    pub async fn idempotency_get(
        &self,
        token_id: TokenId,
        key: &str,
        now: Instant,
    ) -> Result<Option<Remembered>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(GET)
            .bind(token_id)
            .bind(key)
            .bind(now)
            .fetch_optional(p)
            .await)?)
    }

    /// Remembers an answer inside the transaction that made it, so both commit or neither.
    /// An expired record under the same key is replaced.
    pub async fn idempotency_put(
        tx: &mut Tx,
        token_id: TokenId,
        key: &str,
        answer: &Remembered,
        now: Instant,
    ) -> Result<()> {
        on_tx!(tx, |c| sqlx::query(PUT)
            .bind(token_id)
            .bind(key)
            .bind(&answer.request_hash)
            .bind(answer.status)
            .bind(&answer.body)
            .bind(now)
            .bind(now.plus_millis(KEEP_MS))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Deletes answers whose time is up; returns how many.
    pub async fn idempotency_prune(&self, now: Instant) -> Result<u64> {
        let done = on_pool!(&self.pool, |p| sqlx::query(PRUNE)
            .bind(now)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done)
    }
}

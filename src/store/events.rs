//! The event log dashboards stream: each event is written in the transaction that made it
//! happen, so an event exists exactly when its cause committed. Ids are the SSE event ids.

use serde::Serialize;

use crate::{on_pool, on_tx};

use super::{Result, Store, Tx};

/// One stored event.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub kind: String,
    pub at: i64,
    pub payload: String,
}

impl Store {
    /// Records an event inside the caller's transaction.
    pub async fn event_in(
        tx: &mut Tx,
        kind: &str,
        at: i64,
        payload: &serde_json::Value,
    ) -> Result<()> {
        // On PostgreSQL the same statement wakes every process's event pump when this
        // transaction commits (one round trip, not two).
        let sql = match tx {
            Tx::Postgres(_) => {
                "INSERT INTO events (kind, at, payload) VALUES ($1, $2, $3) RETURNING pg_notify($4, '')"
            }
            Tx::Sqlite(_) => {
                "INSERT INTO events (kind, at, payload) SELECT $1, $2, $3 WHERE $4 = $4"
            }
        };
        on_tx!(tx, |c| sqlx::query(sql)
            .bind(kind)
            .bind(at)
            .bind(payload.to_string())
            .bind(crate::events::CHANNEL)
            .execute(c)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The newest event id (0 when there is none).
    pub async fn events_last_id(&self) -> Result<i64> {
        const SQL: &str = "SELECT COALESCE(MAX(id), 0) FROM events";
        Ok(on_pool!(&self.pool, |p| sqlx::query_scalar(SQL)
            .fetch_one(p)
            .await)?)
    }

    /// Events after `after`, oldest first, at most `limit`.
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<EventRow>> {
        const SQL: &str =
            "SELECT id, kind, at, payload FROM events WHERE id > $1 ORDER BY id LIMIT $2";
        Ok(on_pool!(&self.pool, |p| sqlx::query_as(SQL)
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }

    /// Drops events older than `before` (the replay window is bounded).
    pub async fn events_prune(&self, before: i64) -> Result<u64> {
        const SQL: &str = "DELETE FROM events WHERE at < $1";
        Ok(on_pool!(&self.pool, |p| sqlx::query(SQL)
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?)
    }
}

//! The event log dashboards stream: each event is written in the transaction that made it
//! happen, so an event exists exactly when its cause committed. Ids are the SSE event ids.

use crate::{
    events::{EventKind, Held},
    ids::EventId,
    on_pool,
    time::Instant,
};

use super::{Result, Store, Tx};

/// The PostgreSQL channel events are announced on.
pub const CHANNEL: &str = "outcall_events";

/// One stored event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: EventId,
    pub kind: EventKind,
    pub at: Instant,
    pub payload: String,
}

const INSERT: &str = "INSERT INTO events (kind, at, payload) VALUES ($1, $2, $3)";
/// On PostgreSQL the same statement wakes every process's event pump when the transaction
/// commits (one round trip, not two).
const INSERT_NOTIFY: &str =
    "INSERT INTO events (kind, at, payload) VALUES ($1, $2, $3) RETURNING pg_notify($4, '')";
const LAST_ID: &str = "SELECT COALESCE(MAX(id), 0) FROM events";
const AFTER: &str = "SELECT id, kind, at, payload FROM events WHERE id > $1 ORDER BY id LIMIT $2";
/// The oldest and newest ids held; each subquery reads one end of the primary key.
const HELD: &str = "SELECT (SELECT MIN(id) FROM events), (SELECT COALESCE(MAX(id), 0) FROM events)";
/// The newest event is always kept: SQLite numbers a new row after the largest id present, so
/// an emptied table would hand out ids again from 1, below what clients and the pump have seen.
const PRUNE: &str = "DELETE FROM events WHERE at < $1 AND id < (SELECT MAX(id) FROM events)";

impl Store {
    /// Records an event inside the caller's transaction.
    pub async fn event_in(
        tx: &mut Tx,
        kind: EventKind,
        at: Instant,
        payload: &serde_json::Value,
    ) -> Result<()> {
        let payload = payload.to_string();
        match tx {
            Tx::Sqlite(t) => {
                sqlx::query(INSERT)
                    .bind(kind)
                    .bind(at)
                    .bind(payload)
                    .execute(&mut **t)
                    .await?;
            }
            Tx::Postgres(t) => {
                sqlx::query(INSERT_NOTIFY)
                    .bind(kind)
                    .bind(at)
                    .bind(payload)
                    .bind(CHANNEL)
                    .execute(&mut **t)
                    .await?;
            }
        }
        Ok(())
    }

    /// The newest event id (0 when there is none).
    pub async fn events_last_id(&self) -> Result<EventId> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_scalar(LAST_ID)
            .fetch_one(p)
            .await)?)
    }

    /// The oldest and newest ids the log holds, to tell whether a replay can be whole.
    pub async fn events_held(&self) -> Result<Held> {
        let (oldest, newest): (Option<EventId>, EventId) =
            on_pool!(&self.reads, |p| sqlx::query_as(HELD).fetch_one(p).await)?;
        Ok(Held { oldest, newest })
    }

    /// Events after `after`, oldest first, at most `limit`.
    pub async fn events_after(&self, after: EventId, limit: i64) -> Result<Vec<EventRow>> {
        Ok(on_pool!(&self.reads, |p| sqlx::query_as(AFTER)
            .bind(after)
            .bind(limit)
            .fetch_all(p)
            .await)?)
    }

    /// Drops events older than `before` (the replay window is bounded), all but the newest.
    pub async fn events_prune(&self, before: Instant) -> Result<u64> {
        Ok(on_pool!(&self.pool, |p| sqlx::query(PRUNE)
            .bind(before)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?)
    }
}

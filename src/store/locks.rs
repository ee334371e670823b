//! PostgreSQL advisory locks, every key in one place. SQLite needs none: its one writer
//! connection runs write transactions one at a time already.
//!
//! One-key locks (an `i64`) make a sweep or a start-up step run once at a time across
//! processes; two-key locks (`class`, `id`) are per agent or per person, in classes a space
//! apart from the one-key ones.

use super::{Result, Tx};

/// The lease reaper: two sweeps at once would expire the same leases twice.
pub const REAPER: i64 = 0x6f75_7463_0001;
/// The promotion of due retries and callbacks: likewise for `callback_opened` history.
pub const PROMOTER: i64 = 0x6f75_7463_0002;
/// The compaction of kept counts' deltas.
pub const COMPACTOR: i64 = 0x6f75_7463_0003;
/// The generated admin token: several processes starting at once make only one.
pub const BOOTSTRAP: i64 = 7_263_001;

/// "A hand-out or a late outcome of this person is in flight".
pub const PERSON: i32 = 0x6f75_7463;
/// "A hand-out for this agent is in flight".
pub const AGENT: i32 = 0x6f75_7464;

/// The second key of a two-key lock (ids beyond `i32::MAX` share keys: a shared key only makes
/// two wait for each other, never lets one through).
pub fn key(id: i64) -> i32 {
    (id % i64::from(i32::MAX)) as i32
}

/// Makes the transaction the only one holding the one-key lock `key` until it ends, waiting
/// for it. On PostgreSQL two sweeps at once (a hand-out and the scheduler, two processes, or a
/// backlog of ticks) would each pick the same rows in their own snapshot and act on them twice;
/// the lock, taken before any row, makes the second wait for the first and then see its work.
pub async fn exclusive(tx: &mut Tx, key: i64) -> Result<()> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// Like [`exclusive`] without waiting: false when another transaction holds the lock.
pub async fn try_exclusive(tx: &mut Tx, key: i64) -> Result<bool> {
    Ok(match tx {
        Tx::Postgres(t) => {
            sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
                .bind(key)
                .fetch_one(&mut **t)
                .await?
        }
        Tx::Sqlite(_) => true,
    })
}

/// Takes the two-key lock (`class`, `id`) until the transaction ends, waiting for it.
pub async fn hold(tx: &mut Tx, class: i32, id: i64) -> Result<()> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(class)
            .bind(key(id))
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

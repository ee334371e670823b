//! The storage seam: one [`Store`] over either SQLite or PostgreSQL. SQL is written once (`$1`
//! placeholders work on both); statements differ per backend only where semantics really do.
//! Instants are stored as epoch milliseconds on both backends.

use crate::codes::{Code, Reason};
use std::time::Duration;

use sqlx::{PgPool, SqlitePool};

pub mod agent_states;
pub mod agents;
pub mod answers;
pub mod audit;
pub mod call_scripts;
pub mod callbacks;
pub mod calls;
pub mod campaigns;
pub mod connect;
pub mod contacts;
pub mod conversion_batch;
pub mod conversions;
pub mod counts;
pub mod directory;
pub mod dnc;
pub mod eligibility;
pub mod events;
pub mod exports;
pub mod floor;
pub mod follow_ups;
pub mod forecast;
pub mod funnel;
pub mod idempotency;
pub mod imports;
pub mod lists;
pub mod locks;
pub mod maintenance;
pub mod offers;
pub mod outbox;
pub mod page;
pub mod pause_reasons;
pub mod queue;
mod read;
pub mod reads;
pub mod releases;
pub mod scripts;
pub mod segments;
pub mod shares;
pub mod skips;
pub mod stats;
pub mod targets;
pub mod tokens;
pub mod webhooks;

pub use connect::{StoreOptions, sqlite_options};
pub use page::Page;
pub use reads::Reads;

/// Runs `$body` with `$p` bound to the concrete pool, once per backend, so one SQL text and
/// one set of binds serve both.
#[macro_export]
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        }
    };
}

/// Like [`on_pool!`] for a [`Tx`]: `$c` is the transaction's connection.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::store::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// The connection pool of whichever backend is configured.
#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// An open write transaction. On SQLite it began with `BEGIN IMMEDIATE`, so a transaction
/// that reads and then writes never fails with SQLITE_BUSY midway.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// A `FROM` item that expands the JSON array bound as `$n` into rows, as table `j` with
    /// one column `value` (each element; read fields with `j.value ->> 'name'`). One statement
    /// then carries a whole batch in a single parameter. The array is parsed once into each
    /// backend's binary JSON, so reading several fields of an element does not parse it again.
    pub fn json_rows(&self, n: usize) -> String {
        match self {
            Tx::Sqlite(_) => format!("jsonb_each(${n}) AS j"),
            Tx::Postgres(_) => format!("jsonb_array_elements(${n}::jsonb) AS j(value)"),
        }
    }
}

/// What went wrong in storage, in the terms handlers care about.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// The request conflicts with the current state (a stable code and the English words).
    #[error("conflict ({}): {}", .0.code, .0.message)]
    Conflict(Reason),
    /// A value a client gave is already taken (a unique rule of the database): the field it
    /// came in and what is taken, the same words on both backends.
    #[error("{field}: {message}")]
    Taken {
        field: &'static str,
        message: &'static str,
    },
    /// A value a client gave is outside what a check of the database allows (a defect of the
    /// validation in front of it, answered as the field it concerns).
    #[error("{field}: {message}")]
    OutOfRange {
        field: &'static str,
        message: &'static str,
    },
    /// The database could not be reached or did not answer in time.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// Anything else: a defect or an unexpected database state.
    #[error(transparent)]
    Other(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(ref db) if db.is_unique_violation() => {
                match TAKEN.iter().find(|rule| rule.broken_by(&**db)) {
                    Some(rule) => StoreError::Taken {
                        field: rule.field,
                        message: rule.message,
                    },
                    // A rule no client value can break (one lease per call, …): a race the
                    // caller reports in its own words, never the database's.
                    None => StoreError::Conflict(
                        Code::ConcurrentChange
                            .because("conflicts with a change made at the same time"),
                    ),
                }
            }
            sqlx::Error::Database(ref db) if db.is_check_violation() => {
                match CHECKED.iter().find(|rule| rule.broken_by(&**db)) {
                    Some(rule) => StoreError::OutOfRange {
                        field: rule.field,
                        message: rule.message,
                    },
                    None => StoreError::Other(error),
                }
            }
            _ if is_unavailable(&error) => StoreError::Unavailable(error),
            other => StoreError::Other(other),
        }
    }
}

/// A unique or check rule a client's value can break, and the field the value came in.
struct Rule {
    /// What SQLite names in its message after `UNIQUE constraint failed: ` (the table and its
    /// columns, `offers.code`) or `CHECK constraint failed: ` (the check's expression).
    sqlite: &'static str,
    /// The constraint's name on PostgreSQL.
    constraint: &'static str,
    field: &'static str,
    message: &'static str,
}

impl Rule {
    fn broken_by(&self, db: &dyn sqlx::error::DatabaseError) -> bool {
        let message = db.message();
        db.constraint() == Some(self.constraint)
            || ["UNIQUE constraint failed: ", "CHECK constraint failed: "]
                .iter()
                .any(|prefix| message.strip_prefix(prefix) == Some(self.sqlite))
    }
}

/// The checks on values clients give (states and kinds are the code's own, never a client's).
const CHECKED: &[Rule] = &[
    Rule {
        sqlite: "priority BETWEEN 1 AND 100",
        constraint: "campaigns_priority_check",
        field: "priority",
        message: "must be from 1 to 100",
    },
    Rule {
        sqlite: "share BETWEEN 1 AND 100",
        constraint: "campaigns_share_check",
        field: "share",
        message: "must be from 1 to 100",
    },
    Rule {
        sqlite: "goal > 0",
        constraint: "targets_goal_check",
        field: "goal",
        message: "must be above zero",
    },
];

const TAKEN: &[Rule] = &[
    Rule {
        sqlite: "offers.code",
        constraint: "offers_code_key",
        field: "code",
        message: "an offer with this code exists",
    },
    Rule {
        sqlite: "pause_reasons.name",
        constraint: "pause_reasons_name_key",
        field: "name",
        message: "a pause reason with this name exists",
    },
    Rule {
        sqlite: "targets.scope, targets.scope_id, targets.period, targets.metric",
        constraint: "targets_scope_scope_id_period_metric_key",
        field: "period",
        message: "a target for this scope, period and metric exists; PATCH it",
    },
];

/// Whether an error means the database is out of reach for now (and a retry later may work),
/// rather than that the request or the code is wrong: no connection to be had in time, a
/// connection lost mid-query, or the server refusing or ending sessions. Everything else is
/// permanent: a data exception (PostgreSQL class 22: a NUL byte in text, 22021; 22P02, …), a
/// missing privilege (42501), a constraint — retrying those fails the same way forever.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(db) => {
            let sqlite = db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some();
            db.code()
                .is_some_and(|code| unavailable_code(&code, sqlite))
        }
        _ => false,
    }
}

/// Whether a database error code means unavailable. SQLite's codes are numbers: only
/// `SQLITE_BUSY` and `SQLITE_LOCKED` (and their extended codes), another connection (another
/// program on the file) having held the lock past the busy timeout. PostgreSQL's are SQLSTATEs,
/// read only as SQLSTATEs (22021 read as a number would look like an extended `SQLITE_BUSY`):
/// class 08 connection exceptions; 57P01–57P03 administrator or crash shutdown, not accepting
/// connections; 53300 too many connections.
fn unavailable_code(code: &str, sqlite: bool) -> bool {
    if sqlite {
        code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
    } else {
        code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
    }
}

/// The database's code for a storage error (a SQLSTATE, or SQLite's number), for a message
/// that must not carry the database's own words.
pub fn error_code(error: &StoreError) -> Option<String> {
    match error {
        StoreError::Unavailable(sqlx::Error::Database(db))
        | StoreError::Other(sqlx::Error::Database(db)) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How long `/readyz` waits for the database to answer.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The application's storage.
#[derive(Clone, Debug)]
pub struct Store {
    /// Transactions and writes (on SQLite, its one writer connection).
    pub pool: Pool,
    /// Reads that need no transaction. On SQLite, read-only connections beside the writer:
    /// WAL lets them read the last committed state while the writer works, so reads run on the
    /// other core instead of queueing behind writes. On PostgreSQL, a pool of its own, so long
    /// reads never take the connections writes need.
    pub reads: Pool,
    /// How many due entries one promotion sweep moves at most.
    promote_batch: i64,
    /// The zone whose local days agents' time is accounted in (`OUTCALL_TIMEZONE`).
    zone: chrono_tz::Tz,
}

impl Store {
    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite).
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    pub fn backend_name(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Whether the database answers a trivial query within [`PING_TIMEOUT`], so a readiness
    /// probe gets its answer quickly even while new connections wait out the acquire timeout.
    pub async fn ping(&self) -> bool {
        let ping = async {
            on_pool!(&self.pool, |p| sqlx::query("SELECT 1")
                .execute(p)
                .await
                .is_ok())
        };
        tokio::time::timeout(PING_TIMEOUT, ping)
            .await
            .unwrap_or(false)
    }

    pub async fn close(&self) {
        on_pool!(&self.reads, |p| p.close().await);
        on_pool!(&self.pool, |p| p.close().await)
    }
}

#[cfg(test)]
mod tests {
    use super::unavailable_code;

    #[test]
    fn permanent_postgresql_errors_are_not_taken_for_an_unavailable_database() {
        for code in [
            "22021", "22022", "22P02", "22001", "42501", "23505", "42P01",
        ] {
            assert!(!unavailable_code(code, false), "{code}");
        }
        for code in ["08006", "08001", "57P01", "57P03", "53300"] {
            assert!(unavailable_code(code, false), "{code}");
        }
    }

    #[test]
    fn only_busy_and_locked_are_unavailable_on_sqlite() {
        for code in ["5", "6", "261", "517", "262"] {
            assert!(unavailable_code(code, true), "{code}");
        }
        for code in ["1", "19", "2067", "11", "13"] {
            assert!(!unavailable_code(code, true), "{code}");
        }
    }
}

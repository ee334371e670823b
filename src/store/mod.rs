//! The storage seam: one [`Store`] over either SQLite or PostgreSQL. SQL is written once (`$1`
//! placeholders work on both); statements differ per backend only where semantics really do.
//! Instants are stored as epoch milliseconds on both backends.

use std::time::Duration;

use sqlx::{PgPool, SqlitePool};

pub mod agent_states;
pub mod agents;
pub mod audit;
pub mod callbacks;
pub mod calls;
pub mod campaigns;
pub mod connect;
pub mod contacts;
pub mod counts;
pub mod dnc;
pub mod eligibility;
pub mod events;
pub mod floor;
pub mod follow_ups;
pub mod forecast;
pub mod funnel;
pub mod idempotency;
pub mod imports;
pub mod locks;
pub mod maintenance;
pub mod offers;
pub mod page;
pub mod pause_reasons;
pub mod queue;
mod read;
pub mod reads;
pub mod releases;
pub mod scripts;
pub mod skips;
pub mod stats;
pub mod targets;
pub mod tokens;

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
    /// The request conflicts with the current state (the message says how).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A value a client gave is already taken (a unique rule of the database): the field it
    /// came in and what is taken, the same words on both backends.
    #[error("{field}: {message}")]
    Taken {
        field: &'static str,
        message: &'static str,
    },
    /// A conflict a client tells apart by a stable `code` (e.g. `last_admin`).
    #[error("conflict ({code}): {detail}")]
    Coded {
        code: &'static str,
        detail: &'static str,
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
                    None => {
                        StoreError::Conflict("conflicts with a change made at the same time".into())
                    }
                }
            }
            _ if is_unavailable(&error) => StoreError::Unavailable(error),
            other => StoreError::Other(other),
        }
    }
}

/// A unique rule a client's value can break, and the field the value came in.
struct UniqueRule {
    /// The table and its columns, as SQLite names them in its message (`offers.code`).
    columns: &'static str,
    /// The constraint's name on PostgreSQL.
    constraint: &'static str,
    field: &'static str,
    message: &'static str,
}

impl UniqueRule {
    fn broken_by(&self, db: &dyn sqlx::error::DatabaseError) -> bool {
        db.constraint() == Some(self.constraint)
            || db
                .message()
                .strip_prefix("UNIQUE constraint failed: ")
                .is_some_and(|cols| cols == self.columns)
    }
}

const TAKEN: &[UniqueRule] = &[
    UniqueRule {
        columns: "offers.code",
        constraint: "offers_code_key",
        field: "code",
        message: "an offer with this code exists",
    },
    UniqueRule {
        columns: "pause_reasons.name",
        constraint: "pause_reasons_name_key",
        field: "name",
        message: "a pause reason with this name exists",
    },
    UniqueRule {
        columns: "targets.scope, targets.scope_id, targets.period, targets.metric",
        constraint: "targets_scope_scope_id_period_metric_key",
        field: "period",
        message: "a target for this scope, period and metric exists; PATCH it",
    },
];

/// Whether an error means the database is out of reach for now (and a retry later may work),
/// rather than that the request or the code is wrong: no connection to be had in time, a
/// connection lost mid-query, or the server refusing or ending sessions (SQLSTATE class 08
/// connection exceptions; 57P01–57P03 administrator or crash shutdown, not accepting
/// connections; 53300 too many connections).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08")
                || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
                || sqlite_busy(&code)
        }),
        _ => false,
    }
}

/// SQLite's `SQLITE_BUSY` and `SQLITE_LOCKED` (and their extended codes): another connection
/// (another program on the file) held the lock past the busy timeout.
fn sqlite_busy(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
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

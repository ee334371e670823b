//! The storage seam: one [`Store`] over either SQLite or PostgreSQL. SQL is written once (`$1`
//! placeholders work on both); statements differ per backend only where semantics really do.
//! Instants are stored as epoch milliseconds on both backends.

use std::{str::FromStr, time::Duration};

use sqlx::{
    PgPool, SqlitePool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

pub mod agents;
pub mod calls;
pub mod campaigns;
pub mod contacts;
pub mod counts;
pub mod dnc;
pub mod events;
pub mod follow_ups;
pub mod idempotency;
pub mod imports;
pub mod locks;
pub mod maintenance;
pub mod offers;
pub mod page;
pub mod queue;
pub mod scripts;
pub mod stats;
pub mod targets;
pub mod tokens;

pub use page::Page;

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
    /// A uniqueness rule would be broken (the message says which).
    #[error("conflict: {0}")]
    Conflict(String),
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
                StoreError::Conflict(db.message().to_owned())
            }
            _ if is_unavailable(&error) => StoreError::Unavailable(error),
            other => StoreError::Other(other),
        }
    }
}

/// Whether an error means the database is out of reach for now (and a retry later may work),
/// rather than that the request or the code is wrong: no connection to be had in time, a
/// connection lost mid-query, or the server refusing or ending sessions (SQLSTATE class 08
/// connection exceptions; 57P01–57P03 administrator or crash shutdown, not accepting
/// connections; 53300 too many connections).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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
}

/// Read-only SQLite connections beside the writer (one per core here).
const SQLITE_READERS: u32 = 2;
/// PostgreSQL connections for transactions and writes (hand-outs, outcomes, imports, jobs).
const POSTGRES_WRITERS: u32 = 16;
/// PostgreSQL connections for reads that need no transaction (pages, stats, exports, the event
/// pump, metrics): a pool of their own, so long reads can never take the connections that
/// hand-outs and outcomes need.
const POSTGRES_READERS: u32 = 8;

/// How long a request waits for a PostgreSQL connection before it is answered 503: long enough
/// to ride out a burst of load, short enough that a client is not left hanging while the
/// database is away.
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `/readyz` waits for the database to answer.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Whether a database URL selects PostgreSQL.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl Store {
    /// Connects to the database the URL names and brings its schema up to date. Several
    /// processes may do this at once on one PostgreSQL: sqlx migrates under an advisory lock.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let (pool, reads) = if is_postgres(url) {
            let pool = PgPoolOptions::new()
                .max_connections(POSTGRES_WRITERS)
                .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
                .connect(url)
                .await?;
            POSTGRES_MIGRATOR.run(&pool).await?;
            let reads = PgPoolOptions::new()
                .max_connections(POSTGRES_READERS)
                .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
                .connect_lazy(url)?;
            (Pool::Postgres(pool), Pool::Postgres(reads))
        } else if url.starts_with("sqlite:") {
            // One connection: SQLite has one writer anyway, and waiting in the pool's queue wakes
            // at once, where SQLite's busy handler sleeps in growing steps under contention.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(sqlite_options(url)?)
                .await?;
            SQLITE_MIGRATOR.run(&pool).await?;
            // An in-memory database is private to its connection: it reads through the writer.
            let reads = if url.contains(":memory:") || url.contains("mode=memory") {
                pool.clone()
            } else {
                SqlitePoolOptions::new()
                    .max_connections(SQLITE_READERS)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(
                        sqlite_options(url)?
                            .create_if_missing(false)
                            .read_only(true),
                    )
                    .await?
            };
            (Pool::Sqlite(pool), Pool::Sqlite(reads))
        } else {
            anyhow::bail!("OUTCALL_DATABASE_URL must start with sqlite:// or postgres://");
        };
        Ok(Self { pool, reads })
    }

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

/// Connect options every SQLite connection shares: WAL, NORMAL sync, a busy timeout and
/// foreign keys, creating the file if missing.
pub fn sqlite_options(url: &str) -> anyhow::Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(true))
}

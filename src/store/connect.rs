//! Opening the database: the pools of either backend, their settings, and the migrations.

use std::{str::FromStr, time::Duration};

use sqlx::{
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use super::{Pool, Store};
use crate::config::is_postgres;

/// How the store is opened.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// SQLite: sync the log at every commit (`synchronous=FULL`), so a commit that was answered
    /// survives a power cut or an OS crash, not only a crash of the process.
    pub durable: bool,
    /// How many due entries one promotion sweep moves to the ready queue at most.
    pub promote_batch: i64,
    /// SQLite: how long a statement waits for a lock another program holds on the file.
    pub busy_timeout: Duration,
    /// The zone whose local days agents' time is accounted in.
    pub zone: chrono_tz::Tz,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            durable: true,
            promote_batch: 5_000,
            busy_timeout: Duration::from_secs(30),
            zone: chrono_tz::UTC,
        }
    }
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

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects to the database the URL names and brings its schema up to date. Several
    /// processes may do this at once on one PostgreSQL: sqlx migrates under an advisory lock.
    pub async fn connect(url: &str, options: &StoreOptions) -> anyhow::Result<Self> {
        let (pool, reads) = if is_postgres(url) {
            // No JIT: outcall's statements are short, and a batch statement whose estimate
            // passes JIT's thresholds (easily, on a table just imported into, without
            // statistics) spent 220 ms compiling for 1 ms of work, every batch of an import.
            let connect = url.parse::<PgConnectOptions>()?.options([("jit", "off")]);
            let pool = PgPoolOptions::new()
                .max_connections(POSTGRES_WRITERS)
                .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
                .connect_with(connect.clone())
                .await?;
            POSTGRES_MIGRATOR.run(&pool).await?;
            let reads = PgPoolOptions::new()
                .max_connections(POSTGRES_READERS)
                .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
                .connect_lazy_with(connect);
            (Pool::Postgres(pool), Pool::Postgres(reads))
        } else if url.starts_with("sqlite:") {
            // One connection: SQLite has one writer anyway, and waiting in the pool's queue wakes
            // at once, where SQLite's busy handler sleeps in growing steps under contention.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(
                    sqlite_options(url, options.durable)?.busy_timeout(options.busy_timeout),
                )
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
                        sqlite_options(url, options.durable)?
                            .busy_timeout(options.busy_timeout)
                            .create_if_missing(false)
                            .read_only(true),
                    )
                    .await?
            };
            (Pool::Sqlite(pool), Pool::Sqlite(reads))
        } else {
            anyhow::bail!("OUTCALL_DATABASE_URL must start with sqlite:// or postgres://");
        };
        Ok(Self {
            pool,
            reads,
            promote_batch: options.promote_batch,
            zone: options.zone,
        })
    }
}

/// Connect options every SQLite connection shares: WAL, a busy timeout and foreign keys,
/// creating the file if missing; `durable` syncs at every commit (FULL), else only at
/// checkpoints (NORMAL: a process crash loses nothing, a power cut may lose the last commits).
pub fn sqlite_options(url: &str, durable: bool) -> anyhow::Result<SqliteConnectOptions> {
    let synchronous = if durable {
        SqliteSynchronous::Full
    } else {
        SqliteSynchronous::Normal
    };
    Ok(SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        // Segments tell numbers from text with REGEXP (`store::segments`), as PostgreSQL does with `~`.
        .with_regexp()
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(true))
}

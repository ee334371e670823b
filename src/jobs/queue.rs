//! The durable job queues on whichever backend is configured: apalis-sqlite in a sibling
//! `.jobs.db` file (its migrations and PRAGMAs kept out of the application's database), or
//! apalis-postgres in schema `apalis` of the application database.

use apalis::prelude::{TaskBuilder, TaskSink, TaskSinkError};
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    config::Config,
    store::{Pool, Store, StoreError},
};

/// Where apalis keeps its jobs.
#[derive(Clone)]
pub enum JobsDb {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl JobsDb {
    /// Opens (and migrates) the job database that goes with the application's `store`.
    pub async fn open(config: &Config, store: &Store) -> anyhow::Result<Self> {
        Ok(match &store.pool {
            Pool::Sqlite(_) => {
                let url = jobs_sqlite_url(&config.database_url);
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(crate::store::sqlite_options(&url, config.sqlite_durable())?)
                    .await?;
                SqliteStorage::migrations().run(&pool).await?;
                JobsDb::Sqlite(pool)
            }
            Pool::Postgres(pool) => {
                PostgresStorage::setup(pool).await?;
                JobsDb::Postgres(pool.clone())
            }
        })
    }
}

/// One queue, named so that renaming the job's type never orphans queued jobs.
#[derive(Clone)]
pub enum Queue<T> {
    Sqlite(SqliteStorage<T>),
    Postgres(PostgresStorage<T>),
}

impl<T> Queue<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    pub fn open(db: &JobsDb, name: &str) -> Self {
        match db {
            JobsDb::Sqlite(pool) => Queue::Sqlite(
                SqliteStorage::new(pool).with_config(apalis_sqlite::Config::default().queue(name)),
            ),
            JobsDb::Postgres(pool) => Queue::Postgres(
                PostgresStorage::new(pool)
                    .with_config(apalis_postgres::Config::default().queue(name)),
            ),
        }
    }

    /// Enqueues `job`; with `key`, at most once per key.
    pub async fn push(
        &self,
        job: T,
        key: Option<String>,
        max_attempts: usize,
    ) -> Result<(), PushError> {
        let mut task = TaskBuilder::new(job).max_attempts(max_attempts);
        if let Some(key) = key {
            task = task.idempotency_key(key);
        }
        let task = task.build();
        match self {
            Queue::Sqlite(q) => q.clone().push_task(task).await.map_err(|e| match e {
                TaskSinkError::PushError(apalis_sqlite::Error::Database(e)) => e.into(),
                other => PushError::Other(other.to_string()),
            }),
            Queue::Postgres(q) => q.clone().push_task(task).await.map_err(|e| match e {
                TaskSinkError::PushError(apalis_postgres::Error::Database(e)) => e.into(),
                other => PushError::Other(other.to_string()),
            }),
        }
    }
}

/// Why a job could not be enqueued.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The queue's database refused or could not be reached; [`StoreError::Unavailable`]
    /// when it is out of reach, so the HTTP edge answers 503 rather than 500.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else (the job could not be encoded).
    #[error("{0}")]
    Other(String),
}

impl From<sqlx::Error> for PushError {
    fn from(error: sqlx::Error) -> Self {
        PushError::Store(error.into())
    }
}

/// The apalis SQLite file that sits beside the application's: `outcall.db` → `outcall.jobs.db`.
pub fn jobs_sqlite_url(url: &str) -> String {
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (url, None),
    };
    let base = path.strip_suffix(".db").unwrap_or(path);
    let mut out = format!("{base}.jobs.db");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

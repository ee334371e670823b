//! Reads every store module makes the same way: one row by its id, on the read connections.

use sqlx::{
    Encode, FromRow, Postgres, SqlSafeStr, Sqlite, Type, postgres::PgRow, sqlite::SqliteRow,
};

use crate::on_pool;

use super::{Result, Store, StoreError};

/// A row type both backends can decode.
pub trait BothRow:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> BothRow for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// A value both backends can bind.
pub trait BothBind:
    for<'q> Encode<'q, Sqlite>
    + Type<Sqlite>
    + for<'q> Encode<'q, Postgres>
    + Type<Postgres>
    + Send
    + Copy
    + 'static
{
}
impl<T> BothBind for T where
    T: for<'q> Encode<'q, Sqlite>
        + Type<Sqlite>
        + for<'q> Encode<'q, Postgres>
        + Type<Postgres>
        + Send
        + Copy
        + 'static
{
}

impl Store {
    /// The row `sql` finds for `$1 = id` on the read connections, or `NotFound`. `sql` is a
    /// `const` statement, or one put together from consts (`sqlx::AssertSqlSafe(format!(…))`).
    pub(super) async fn read_by_id<T: BothRow>(
        &self,
        sql: impl SqlSafeStr,
        id: impl BothBind,
    ) -> Result<T> {
        on_pool!(&self.reads, |p| sqlx::query_as(sql)
            .bind(id)
            .fetch_optional(p)
            .await)?
        .ok_or(StoreError::NotFound)
    }
}

//! Keyset pagination: `?limit=` and `?after=<cursor>`, where the cursor is the last id seen.

use serde::Serialize;

/// One page of a list, as the API returns it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Cursor for the next page, or null on the last one.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in id order: the extra row, if any,
    /// only tells that another page exists.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> i64) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = if more {
            rows.last().map(|r| id(r).to_string())
        } else {
            None
        };
        Self { items: rows, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

//! `?limit=` (default 50, at most 1000) and `?after=<cursor>`.

use crate::codes::{Code, Reason};
use serde::Deserialize;

use super::error::{Error, Result};

/// Raw list parameters as they arrive in the query string.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Items per page, 1..1000 (default 50).
    pub limit: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

/// Checked list parameters.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub after: i64,
    pub limit: i64,
}

impl ListParams {
    pub fn new(limit: Option<String>, after: Option<String>) -> Self {
        Self { limit, after }
    }

    pub fn window(&self) -> Result<Window> {
        let limit = match self.limit.as_deref() {
            None => 50,
            Some(text) => match text.parse::<i64>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => return Err(Error::bad("limit", limit_range())),
            },
        };
        let after = match self.after.as_deref() {
            None | Some("") => 0,
            Some(text) => match text.parse::<i64>() {
                Ok(n) if n >= 0 => n,
                _ => {
                    return Err(Error::bad(
                        "after",
                        Code::IdInvalid.because("is not a cursor this list gave out"),
                    ));
                }
            },
        };
        Ok(Window { after, limit })
    }
}

/// What a `limit` must be.
pub fn limit_range() -> Reason {
    Code::OutOfRange
        .because("must be a whole number from 1 to 1000")
        .with("min", 1)
        .with("max", 1000)
}

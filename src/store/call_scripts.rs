//! The script as a call's hand-out rendered it, kept with the call (migration 0022): a retried
//! `next` of the same call answers from it and never renders again.

use crate::{ids::CallId, on_pool};

use super::{Result, Store};

/// What a call's hand-out made of its script.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CallScript {
    /// The rendered text; `None` when it would not render.
    #[sqlx(rename = "script_text")]
    pub text: Option<String>,
    /// Why it would not render (the message the agent sees).
    #[sqlx(rename = "script_error")]
    pub error: Option<String>,
}

/// What a call shows while its script renders, kept if the render never finishes: a retried
/// `next` answers with it rather than rendering again a script that may have stopped the
/// service. The claim writes it with the call.
pub const UNFINISHED: &str =
    "not rendered: the render of this call's script did not finish (the service stopped during it)";

const GET: &str = "SELECT script_text, script_error FROM calls WHERE id = $1";
const SET: &str = "UPDATE calls SET script_text = $2, script_error = $3 WHERE id = $1";

impl Store {
    /// What the hand-out of `call` stored of its script, if it stored anything.
    pub async fn call_script(&self, call: CallId) -> Result<Option<CallScript>> {
        let row: Option<CallScript> = on_pool!(&self.reads, |p| sqlx::query_as(GET)
            .bind(call)
            .fetch_optional(p)
            .await)?;
        Ok(row.filter(|r| r.text.is_some() || r.error.is_some()))
    }

    /// Stores what the render made of the call's script.
    pub async fn call_script_set(&self, call: CallId, script: &CallScript) -> Result<()> {
        on_pool!(&self.pool, |p| sqlx::query(SET)
            .bind(call)
            .bind(script.text.as_deref())
            .bind(script.error.as_deref())
            .execute(p)
            .await
            .map(|_| ()))?;
        Ok(())
    }
}

//! Contacts (the people called), their place in each campaign, and the rules for reading
//! contact lists.

use std::{collections::BTreeMap, fmt, str::FromStr};

use serde::{Deserialize, Serialize};

pub mod import;
pub mod phone;

pub use phone::{Phone, Region};

/// Where a contact stands in one campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContactState {
    /// Due now: may be handed out (subject to windows, DNC and pressure rules at hand-out).
    Ready,
    /// Held by an agent under a lease; leaves by outcome, release or lease expiry.
    Leased,
    /// Waiting for `next_attempt_at` (a retry, a callback, or the next calling window).
    Scheduled,
    /// Finished with a final outcome. A campaign's recurrence may re-open it.
    Done,
    /// Reached `max_attempts` without a final outcome. A recurrence may re-open it.
    Exhausted,
    /// The phone is on the do-not-call list; never handed out while it is.
    Suppressed,
}

impl ContactState {
    pub const ALL: [ContactState; 6] = [
        ContactState::Ready,
        ContactState::Leased,
        ContactState::Scheduled,
        ContactState::Done,
        ContactState::Exhausted,
        ContactState::Suppressed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactState::Ready => "ready",
            ContactState::Leased => "leased",
            ContactState::Scheduled => "scheduled",
            ContactState::Done => "done",
            ContactState::Exhausted => "exhausted",
            ContactState::Suppressed => "suppressed",
        }
    }
}

impl fmt::Display for ContactState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ContactState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                "must be one of ready, leased, scheduled, done, exhausted, suppressed".to_owned()
            })
    }
}

/// Free-form contact attributes (`plan`, `monthly_spend`…), string values.
pub type Attributes = BTreeMap<String, String>;

/// One contact to import, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContact {
    pub phone: Phone,
    pub name: Option<String>,
    pub timezone: Option<chrono_tz::Tz>,
    pub priority: i64,
    pub owner_agent: Option<i64>,
    pub attributes: Attributes,
}

/// The contact priority when none is given.
pub const DEFAULT_PRIORITY: i64 = 50;

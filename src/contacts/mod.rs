//! Contacts (the people called), their place in each campaign, and the rules for reading
//! contact lists.

use std::collections::BTreeMap;

pub mod bounds;
pub mod charset;
mod columns;
pub mod csv;
#[cfg(test)]
mod csv_properties;
pub mod import;
pub mod json;
pub mod lists;
pub mod mapping;
mod numbering;
pub mod phone;
pub mod xlsx;
pub mod xlsx_check;

pub use phone::{Phone, Region};

use crate::ids::AgentId;

crate::text_enum! {
    /// Where a contact stands in one campaign.
    pub enum ContactState {
        /// Due now: may be handed out (subject to windows, DNC and pressure rules at hand-out).
        Ready = "ready",
        /// Held by an agent under a lease; leaves by outcome, release or lease expiry.
        Leased = "leased",
        /// Waiting for `next_attempt_at` (a retry, a callback, or the next calling window).
        Scheduled = "scheduled",
        /// Finished with a final outcome. A campaign's recurrence may re-open it.
        Done = "done",
        /// Reached `max_attempts` without a final outcome. A recurrence may re-open it.
        Exhausted = "exhausted",
        /// The phone is on the do-not-call list; never handed out while it is.
        Suppressed = "suppressed",
    }
}

/// Free-form contact attributes (`plan`, `monthly_spend`…), string values.
pub type Attributes = BTreeMap<String, String>;

/// One contact to import, checked: what its row says about the person. A field the row
/// leaves out or empty is `None`, and an attribute it leaves out or empty is absent: an
/// import then keeps what the person had (`Store::contacts_add_batch`). Only a row that
/// joins the campaign changes the person; one on the do-not-call list, a duplicate or an
/// invalid row changes nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct NewContact {
    pub phone: Phone,
    pub name: Option<String>,
    pub timezone: Option<chrono_tz::Tz>,
    /// The person's id in another system (a CRM's customer number).
    pub external_id: Option<String>,
    pub priority: i64,
    pub owner_agent: Option<AgentId>,
    pub attributes: Attributes,
}

/// The contact priority when none is given.
pub const DEFAULT_PRIORITY: i64 = 50;

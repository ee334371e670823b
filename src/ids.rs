//! Typed ids: one type per table, so a campaign id can never be passed where an agent id is
//! meant. Each is stored as the table's integer key on both backends and written as a number
//! in JSON.

use std::{fmt, str::FromStr};

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default,
            serde::Serialize, serde::Deserialize, sqlx::Type, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The number, as stored.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    )*};
}

ids! {
    /// A campaign.
    CampaignId;
    /// A person called (one per phone, shared by every campaign).
    ContactId;
    /// A contact's place in one campaign (a row of the call queue).
    EntryId;
    /// An agent.
    AgentId;
    /// One hand-out of an entry to an agent, under a lease.
    CallId;
    /// An API token.
    TokenId;
    /// An offer.
    OfferId;
    /// A script (all its versions).
    ScriptId;
    /// A contact-list import.
    ImportId;
    /// A target.
    TargetId;
    /// A follow-up opened by a complaint.
    FollowUpId;
    /// An event of the live stream (its SSE id).
    EventId;
    /// A reason agents may pause for.
    PauseReasonId;
    /// A conversion reported by billing or a CRM.
    ConversionId;
    /// A webhook subscription.
    WebhookId;
    /// One event for one webhook in the outbox (its `id` in the body sent).
    DeliveryId;
    /// A saved segment (a filter of the customer base).
    SegmentId;
    /// A list: the contacts one import added to a campaign.
    ListId;
}

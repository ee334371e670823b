//! Campaigns: what is promoted to whom, when and how often. Pure rules; no HTTP, no SQL.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod recurrence;
pub mod warnings;
pub mod windows;

pub use recurrence::Recurrence;
pub use windows::{WindowSpec, Windows};

use crate::{
    duration::Span,
    ids::{OfferId, ScriptId},
    time::Instant,
};

crate::text_enum! {
    /// Where a campaign is in its life.
    pub enum CampaignStatus {
        /// Created, being prepared; hands out nothing. Leaves by `start`.
        Draft = "draft",
        /// Started with a `start_at` in the future; becomes `active` on its own at `start_at`,
        /// or `completed` by `stop`.
        Scheduled = "scheduled",
        /// Hands out calls. Leaves by `pause`, `stop`, or reaching `end_at`.
        Active = "active",
        /// Hands out nothing until `resume`; `stop` or `end_at` complete it.
        Paused = "paused",
        /// Finished for good, by `stop` or `end_at`. Final.
        Completed = "completed",
    }
}

crate::text_enum! {
    /// A lifecycle command.
    pub enum Transition {
        /// `draft` → `active`, or `scheduled` when `start_at` is in the future.
        Start = "start",
        /// `active` → `paused`.
        Pause = "pause",
        /// `paused` → `active`.
        Resume = "resume",
        /// `scheduled`, `active` or `paused` → `completed`.
        Stop = "stop",
    }
}

impl Transition {
    /// The states this command may leave from.
    pub fn from(self) -> &'static [CampaignStatus] {
        use CampaignStatus::*;
        match self {
            Transition::Start => &[Draft],
            Transition::Pause => &[Active],
            Transition::Resume => &[Paused],
            Transition::Stop => &[Scheduled, Active, Paused],
        }
    }

    /// The state it leads to; `start` with a future `start_at` leads to `scheduled`.
    pub fn to(self, starts_later: bool) -> CampaignStatus {
        match self {
            Transition::Start if starts_later => CampaignStatus::Scheduled,
            Transition::Start | Transition::Resume => CampaignStatus::Active,
            Transition::Pause => CampaignStatus::Paused,
            Transition::Stop => CampaignStatus::Completed,
        }
    }
}

impl CampaignStatus {
    /// The lifecycle commands a campaign in this status accepts.
    pub fn actions(self) -> Vec<Transition> {
        Transition::ALL
            .iter()
            .copied()
            .filter(|t| t.from().contains(&self))
            .collect()
    }
}

/// Delays before a contact is tried again after each retryable outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RetryDelays {
    #[schema(value_type = String, example = "2h")]
    pub no_answer: Span,
    #[schema(value_type = String, example = "15m")]
    pub busy: Span,
    #[schema(value_type = String, example = "4h")]
    pub voicemail: Span,
}

impl Default for RetryDelays {
    fn default() -> Self {
        Self {
            no_answer: Span::from_secs(7200),
            busy: Span::from_secs(900),
            voicemail: Span::from_secs(14400),
        }
    }
}

/// Limits on campaign fields.
pub const PRIORITY: std::ops::RangeInclusive<i64> = 1..=100;
/// A campaign's share of its priority tier's hand-outs, against the others' (issue 27).
pub const SHARE: std::ops::RangeInclusive<i64> = 1..=100;
pub const MAX_ATTEMPTS: std::ops::RangeInclusive<i64> = 1..=100;
pub const MIN_LEASE_SECS: i64 = 10;
pub const MAX_LEASE_SECS: i64 = 24 * 3600;
/// The most attribute labels a campaign keeps.
pub const MAX_ATTRIBUTE_LABELS: usize = 100;
/// The longest wrap-up a campaign may give its agents.
pub const MAX_WRAP_UP_SECS: i64 = 3600;

/// A complete, checked campaign definition (what create and patch produce).
#[derive(Debug, Clone)]
pub struct CampaignDef {
    pub name: String,
    pub offer_id: OfferId,
    pub script_id: ScriptId,
    pub priority: i64,
    /// Its share of the hand-outs among active campaigns of the same priority (1..100).
    pub share: i64,
    pub timezone: chrono_tz::Tz,
    pub windows: Windows,
    pub start_at: Option<Instant>,
    pub end_at: Option<Instant>,
    pub recurrence: Option<Recurrence>,
    pub max_attempts: i64,
    pub retry: RetryDelays,
    pub lease: Span,
    /// How long its agents wrap up after an outcome before they are ready by themselves.
    pub wrap_up: Span,
    pub teams: Vec<String>,
    pub owner_first: bool,
    /// What the desk shows for each contact attribute key (issue 26); at most
    /// [`MAX_ATTRIBUTE_LABELS`].
    pub attribute_labels: BTreeMap<String, String>,
}

impl CampaignDef {
    /// The definition as the audit log records it.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name, "offer_id": self.offer_id, "script_id": self.script_id,
            "priority": self.priority, "share": self.share, "timezone": self.timezone.name(),
            "calling_windows": self.windows.specs(), "start_at": self.start_at.map(|t| t.millis()),
            "end_at": self.end_at.map(|t| t.millis()),
            "recurrence": self.recurrence.as_ref().map(|r| r.as_str()),
            "max_attempts": self.max_attempts, "retry": self.retry, "lease": self.lease,
            "wrap_up": self.wrap_up,
            "teams": self.teams, "owner_first": self.owner_first,
            "attribute_labels": self.attribute_labels,
        })
    }

    /// Whether some agent may work both this campaign and `other` (a campaign open to every
    /// agent shares them with every campaign).
    pub fn shares_agents_with(&self, other: &CampaignDef) -> bool {
        self.teams.is_empty()
            || other.teams.is_empty()
            || self.teams.iter().any(|t| other.teams.contains(t))
    }

    /// Whether an agent of `team` may work this campaign.
    pub fn admits(&self, team: Option<&str>) -> bool {
        self.teams.is_empty() || team.is_some_and(|t| self.teams.iter().any(|x| x == t))
    }
}

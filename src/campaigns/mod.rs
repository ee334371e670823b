//! Campaigns: what is promoted to whom, when and how often. Pure rules; no HTTP, no SQL.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

pub mod recurrence;
pub mod windows;

pub use recurrence::Recurrence;
pub use windows::{WindowSpec, Windows};

use crate::duration::Span;

/// Where a campaign is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    /// Created, being prepared; hands out nothing. Leaves by `start`.
    Draft,
    /// Started with a `start_at` in the future; becomes `active` on its own at `start_at`,
    /// or `completed` by `stop`.
    Scheduled,
    /// Hands out calls. Leaves by `pause`, `stop`, or reaching `end_at`.
    Active,
    /// Hands out nothing until `resume`; `stop` or `end_at` complete it.
    Paused,
    /// Finished for good, by `stop` or `end_at`. Final.
    Completed,
}

/// A lifecycle command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Start,
    Pause,
    Resume,
    Stop,
}

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 5] = [
        CampaignStatus::Draft,
        CampaignStatus::Scheduled,
        CampaignStatus::Active,
        CampaignStatus::Paused,
        CampaignStatus::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Scheduled => "scheduled",
            CampaignStatus::Active => "active",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Completed => "completed",
        }
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

    pub fn name(self) -> &'static str {
        match self {
            Transition::Start => "start",
            Transition::Pause => "pause",
            Transition::Resume => "resume",
            Transition::Stop => "stop",
        }
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CampaignStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown campaign status '{s}'"))
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
pub const MAX_ATTEMPTS: std::ops::RangeInclusive<i64> = 1..=100;
pub const MIN_LEASE_SECS: i64 = 10;
pub const MAX_LEASE_SECS: i64 = 24 * 3600;

/// A complete, checked campaign definition (what create and patch produce).
#[derive(Debug, Clone)]
pub struct CampaignDef {
    pub name: String,
    pub offer_id: i64,
    pub script_id: i64,
    pub priority: i64,
    pub timezone: chrono_tz::Tz,
    pub windows: Windows,
    pub start_at: Option<chrono::DateTime<chrono::Utc>>,
    pub end_at: Option<chrono::DateTime<chrono::Utc>>,
    pub recurrence: Option<Recurrence>,
    pub max_attempts: i64,
    pub retry: RetryDelays,
    pub lease: Span,
    pub teams: Vec<String>,
    pub owner_first: bool,
}

impl CampaignDef {
    /// Whether an agent of `team` may work this campaign.
    pub fn admits(&self, team: Option<&str>) -> bool {
        self.teams.is_empty() || team.is_some_and(|t| self.teams.iter().any(|x| x == t))
    }
}

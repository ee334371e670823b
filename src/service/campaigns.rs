//! Campaigns: creating and changing one (every field checked, the offer and script looked up)
//! and moving it through its lifecycle.

use crate::codes::{Code, Coded, Reason};
use serde::Deserialize;
use std::collections::BTreeMap;

use crate::{
    campaigns::{
        self, CampaignDef, CampaignStatus, Recurrence, RetryDelays, Transition, WindowSpec, Windows,
    },
    duration::Span,
    ids::{CampaignId, ScriptId},
    patch::Patch,
    people::Principal,
    store::{StoreError, campaigns::CampaignRow},
    text::Name,
    time::{Instant, Zone},
    validate::Validator,
};

use super::{Error, Result, Service};

/// Retry delays as sent; each may be omitted to keep its current value.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryInput {
    pub no_answer: Option<String>,
    pub busy: Option<String>,
    pub voicemail: Option<String>,
}

/// A campaign as sent on create (required: name, offer, script_id) or patch (any field).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub name: Patch<String>,
    /// The offer's code.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub offer: Patch<String>,
    /// The script; setting it (even to the same id) moves the campaign to the script's
    /// current version.
    #[schema(value_type = Option<i64>)]
    #[serde(default)]
    pub script_id: Patch<ScriptId>,
    /// 1..100, higher first (default 50).
    #[schema(value_type = Option<i64>)]
    #[serde(default)]
    pub priority: Patch<i64>,
    /// 1..100 (default 1): among active campaigns of the same priority, each gets this share
    /// of the day's hand-outs against the others' shares (3 and 1: about 75 % and 25 %).
    #[schema(value_type = Option<i64>)]
    #[serde(default)]
    pub share: Patch<i64>,
    /// IANA zone for contacts that name none (default OUTCALL_TIMEZONE).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub timezone: Patch<String>,
    /// Contact-local windows (default 09:00–21:00 daily).
    #[schema(value_type = Option<Vec<WindowSpec>>)]
    #[serde(default)]
    pub calling_windows: Patch<Vec<WindowSpec>>,
    /// RFC 3339; the campaign becomes active on its own then (null clears).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub start_at: Patch<String>,
    /// RFC 3339; the campaign completes on its own then (null clears).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub end_at: Patch<String>,
    /// Cron, 6 or 7 fields, seconds first, day names (`0 0 9 1 * *`, `0 30 10 * * MON-FRI`);
    /// at each due time the campaign's finished contacts are re-opened (null clears).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub recurrence: Patch<String>,
    /// Attempts per contact, 1..100 (default 3).
    #[schema(value_type = Option<i64>)]
    #[serde(default)]
    pub max_attempts: Patch<i64>,
    #[schema(value_type = Option<RetryInput>)]
    #[serde(default)]
    pub retry: Patch<RetryInput>,
    /// How long an agent holds a call without a heartbeat, 10s..1d (default 15m).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub lease: Patch<String>,
    /// How long an agent wraps up after an outcome before it is ready by itself, 0s..1h
    /// (default 30s).
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub wrap_up: Patch<String>,
    /// Teams that may work the campaign; empty means every agent.
    #[schema(value_type = Option<Vec<String>>)]
    #[serde(default)]
    pub teams: Patch<Vec<String>>,
    /// Contacts with an owner_agent go to that agent first (default true).
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    pub owner_first: Patch<bool>,
    /// What the agent desk shows for contact attribute keys, e.g. `{"monthly_spend": "月消费"}`
    /// (at most 100; a key without a label shows as itself; null or `{}` clears).
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    #[serde(default)]
    pub attribute_labels: Patch<BTreeMap<String, String>>,
}

/// The longest retry delay.
const MAX_RETRY_SECS: i64 = 30 * 86_400;

fn parse_span(text: &str, min: i64, max: i64) -> Result<Span, Reason> {
    let span: Span = text.parse()?;
    if span.as_secs() < min || span.as_secs() > max {
        let (min, max) = (Span::from_secs(min), Span::from_secs(max));
        return Err(Code::DurationOutOfRange
            .because(format!("must be from {min} to {max}"))
            .with("min", min.to_string())
            .with("max", max.to_string()));
    }
    Ok(span)
}

fn in_range(range: std::ops::RangeInclusive<i64>) -> impl Fn(i64) -> Result<i64, Reason> {
    move |n| {
        if range.contains(&n) {
            Ok(n)
        } else {
            Err(Code::OutOfRange
                .because(format!("must be from {} to {}", range.start(), range.end()))
                .with("min", *range.start())
                .with("max", *range.end()))
        }
    }
}

/// The next due time of a definition's recurrence after `now`.
fn next_recurrence(def: &CampaignDef, now: Instant) -> Option<Instant> {
    let recurrence = def.recurrence.as_ref()?;
    recurrence
        .next_after(now.utc(), def.timezone)
        .map(Instant::from_utc)
}

/// A field's patch applied to `target` when it checks out.
fn set<T>(v: &mut Validator, field: &str, checked: Result<Option<T>, Reason>, target: &mut T) {
    if let Some(Some(value)) = v.check(field, checked) {
        *target = value;
    }
}

impl Service {
    /// Applies `input` over `base`, checking every field; unknown offer codes and scripts are
    /// named like any other bad field. Returns the definition and whether the script was set.
    async fn resolve(
        &self,
        mut input: CampaignInput,
        base: CampaignDef,
    ) -> Result<(CampaignDef, bool)> {
        use std::mem::take;
        let mut v = Validator::new();
        let mut def = base;
        let name = take(&mut input.name).required(|n| Name::parse(&n).map(Name::into_string));
        set(&mut v, "name", name, &mut def.name);
        if let Some(Some(code)) = v.check("offer", take(&mut input.offer).required(Ok)) {
            match self.store.offer_by_code(code.trim()).await? {
                Some(offer) => def.offer_id = offer.id,
                None => v.push(
                    "offer",
                    Code::Unknown
                        .because(format!("no offer has code '{code}'"))
                        .with("value", code.trim()),
                ),
            }
        }
        let mut script_moved = false;
        if let Some(Some(id)) = v.check("script_id", take(&mut input.script_id).required(Ok)) {
            match self.store.script_get(id).await {
                Ok(_) => {
                    def.script_id = id;
                    script_moved = true;
                }
                Err(StoreError::NotFound) => v.push(
                    "script_id",
                    Code::Unknown
                        .because(format!("no script has id {id}"))
                        .with("value", id.to_string()),
                ),
                Err(e) => return Err(e.into()),
            }
        }
        apply_timing(&mut v, &mut def, &mut input);
        apply_dialing(&mut v, &mut def, input);
        if let (Some(start), Some(end)) = (def.start_at, def.end_at)
            && end <= start
        {
            v.push(
                "end_at",
                Code::RangeReversed
                    .because("must be after start_at")
                    .with("after", "start_at"),
            );
        }
        v.finish()?;
        Ok((def, script_moved))
    }

    /// Creates a campaign (status `draft`).
    #[tracing::instrument(skip_all)]
    pub async fn create_campaign(
        &self,
        input: CampaignInput,
        by: &Principal,
    ) -> Result<CampaignRow> {
        let mut v = Validator::new();
        for (field, missing) in [
            ("name", input.name.is_missing()),
            ("offer", input.offer.is_missing()),
            ("script_id", input.script_id.is_missing()),
        ] {
            if missing {
                v.push(field, Code::Required.because("is required"));
            }
        }
        v.finish()?;
        let base = CampaignDef {
            name: String::new(),
            offer_id: Default::default(),
            script_id: Default::default(),
            priority: 50,
            share: 1,
            timezone: self.config.timezone,
            windows: Windows::all_week_9_to_21(),
            start_at: None,
            end_at: None,
            recurrence: None,
            max_attempts: 3,
            retry: RetryDelays::default(),
            lease: Span::from_secs(900),
            wrap_up: Span::from_secs(30),
            teams: vec![],
            owner_first: true,
            attribute_labels: BTreeMap::new(),
        };
        let (def, _) = self.resolve(input, base).await?;
        let now = self.now();
        let id = self
            .store
            .campaign_create(&def, next_recurrence(&def, now), now, by)
            .await?;
        Ok(self.store.campaign_get(id).await?)
    }

    /// Changes any field; takes effect for the next hand-out. A completed campaign is final.
    #[tracing::instrument(skip_all)]
    pub async fn update_campaign(
        &self,
        id: CampaignId,
        input: CampaignInput,
        by: &Principal,
    ) -> Result<CampaignRow> {
        let row = self.store.campaign_get(id).await?;
        if row.status == CampaignStatus::Completed {
            return Err(Error::Conflict(
                Code::CampaignCompleted.because("a completed campaign cannot be changed"),
            ));
        }
        let recurrence_changed = !input.recurrence.is_missing() || !input.timezone.is_missing();
        let (def, script_moved) = self.resolve(input, row.def()).await?;
        let now = self.now();
        let next = if recurrence_changed {
            next_recurrence(&def, now)
        } else {
            row.next_recurrence_at
        };
        // A started campaign moves to the script's current version when the script is set.
        let version = if script_moved && row.script_version.is_some() {
            Some(self.store.script_get(def.script_id).await?.version)
        } else {
            None
        };
        self.store
            .campaign_update(id, &def, next, version, now, by)
            .await?;
        Ok(self.store.campaign_get(id).await?)
    }

    /// Moves a campaign through its lifecycle; a command its status does not allow is a
    /// conflict.
    #[tracing::instrument(skip_all)]
    pub async fn transition(
        &self,
        id: CampaignId,
        t: Transition,
        by: &Principal,
    ) -> Result<CampaignRow> {
        let row = self.store.campaign_get(id).await?;
        let now = self.now();
        let later = row.start_at.is_some_and(|s| s > now);
        let to = t.to(later);
        let pin = t == Transition::Start;
        if let Err(current) = self
            .store
            .campaign_transition(id, t.from(), to, pin, t.into(), now, by)
            .await?
        {
            return Err(Error::Conflict(
                Code::StatusTransition
                    .because(format!("cannot {t} a campaign that is {current}"))
                    .with("action", t.to_string())
                    .with("status", current.as_str()),
            ));
        }
        self.events.poke();
        tracing::info!(campaign = %id, status = %to, "campaign status changed");
        Ok(self.store.campaign_get(id).await?)
    }
}

/// The zone, the calling windows, the start and end and the recurrence.
fn apply_timing(v: &mut Validator, def: &mut CampaignDef, input: &mut CampaignInput) {
    use std::mem::take;
    let tz = take(&mut input.timezone)
        .required(|t| t.parse::<Zone>().map(|z| z.0).coded(Code::TimezoneUnknown));
    set(v, "timezone", tz, &mut def.timezone);
    match take(&mut input.calling_windows).required(Ok) {
        Ok(None) => {}
        Ok(Some(specs)) => match Windows::parse(&specs) {
            Ok(w) => def.windows = w,
            Err((at, message)) => v.push(
                &format!("calling_windows{at}"),
                Code::WindowsInvalid.because(message),
            ),
        },
        Err(message) => v.push("calling_windows", message),
    }
    let time = |t: String| Instant::parse_rfc3339(&t).coded(Code::TimeInvalid);
    let start = take(&mut input.start_at).nullable(time);
    set(v, "start_at", start, &mut def.start_at);
    let end = take(&mut input.end_at).nullable(time);
    set(v, "end_at", end, &mut def.end_at);
    let recurrence = take(&mut input.recurrence)
        .nullable(|r| Recurrence::parse(&r).coded(Code::RecurrenceInvalid));
    set(v, "recurrence", recurrence, &mut def.recurrence);
}

/// Priority, share, attempts, retry delays, the lease, teams and owner-first.
fn apply_dialing(v: &mut Validator, def: &mut CampaignDef, input: CampaignInput) {
    let priority = input.priority.required(in_range(campaigns::PRIORITY));
    set(v, "priority", priority, &mut def.priority);
    let share = input.share.required(in_range(campaigns::SHARE));
    set(v, "share", share, &mut def.share);
    let attempts = input
        .max_attempts
        .required(in_range(campaigns::MAX_ATTEMPTS));
    set(v, "max_attempts", attempts, &mut def.max_attempts);
    match input.retry.required(Ok) {
        Ok(None) => {}
        Ok(Some(retry)) => {
            for (field, text, target) in [
                ("retry.no_answer", retry.no_answer, &mut def.retry.no_answer),
                ("retry.busy", retry.busy, &mut def.retry.busy),
                ("retry.voicemail", retry.voicemail, &mut def.retry.voicemail),
            ] {
                let span = text.map(|t| parse_span(&t, 0, MAX_RETRY_SECS)).transpose();
                set(v, field, span, target);
            }
        }
        Err(message) => v.push("retry", message),
    }
    let (min, max) = (campaigns::MIN_LEASE_SECS, campaigns::MAX_LEASE_SECS);
    let lease = input.lease.required(|t| parse_span(&t, min, max));
    set(v, "lease", lease, &mut def.lease);
    let wrap_up = input
        .wrap_up
        .required(|t| parse_span(&t, 0, campaigns::MAX_WRAP_UP_SECS));
    set(v, "wrap_up", wrap_up, &mut def.wrap_up);
    let teams = input.teams.required(|teams| {
        if teams.len() > 100 {
            return Err(Code::TooMany.because("at most 100 teams").with("max", 100));
        }
        teams
            .iter()
            .map(|t| Name::parse(t).map(Name::into_string))
            .collect::<Result<Vec<_>, _>>()
    });
    set(v, "teams", teams, &mut def.teams);
    let owner_first = input.owner_first.required(Ok);
    set(v, "owner_first", owner_first, &mut def.owner_first);
    let labels = input
        .attribute_labels
        .nullable(attribute_labels)
        .map(|l| l.map(Option::unwrap_or_default));
    set(v, "attribute_labels", labels, &mut def.attribute_labels);
}

/// Attribute labels: at most [`campaigns::MAX_ATTRIBUTE_LABELS`], each key and label a name
/// (not blank, at most 200 characters, no control characters).
fn attribute_labels(labels: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Reason> {
    let max = campaigns::MAX_ATTRIBUTE_LABELS;
    if labels.len() > max {
        return Err(Code::TooMany
            .because(format!("at most {max} labels"))
            .with("max", max));
    }
    labels
        .into_iter()
        .map(|(key, label)| {
            Ok((
                Name::parse(&key)?.into_string(),
                Name::parse(&label)?.into_string(),
            ))
        })
        .collect()
}

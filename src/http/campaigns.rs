//! `/v1/campaigns`: create, read, change and run campaigns through their lifecycle.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    campaigns::{
        self, CampaignDef, CampaignStatus, Recurrence, RetryDelays, Transition, WindowSpec, Windows,
    },
    clock::from_ms,
    duration::Span,
    store::{Page, campaigns::CampaignRow},
    text::Name,
};

use super::{
    AppState,
    auth::{Leads, LeadsAndViewers, Require},
    error::{Error, Result, Validator},
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
    patch::Patch,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(campaigns_create, campaigns_list))
        .routes(routes!(campaigns_get, campaigns_update))
        .routes(routes!(campaigns_start))
        .routes(routes!(campaigns_pause))
        .routes(routes!(campaigns_resume))
        .routes(routes!(campaigns_stop))
}

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
    pub script_id: Patch<i64>,
    /// 1..100, higher first (default 50).
    #[schema(value_type = Option<i64>)]
    #[serde(default)]
    pub priority: Patch<i64>,
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
    /// Teams that may work the campaign; empty means every agent.
    #[schema(value_type = Option<Vec<String>>)]
    #[serde(default)]
    pub teams: Patch<Vec<String>>,
    /// Contacts with an owner_agent go to that agent first (default true).
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    pub owner_first: Patch<bool>,
}

/// A campaign as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    pub id: i64,
    pub name: String,
    /// The offer's code.
    pub offer: String,
    pub script_id: i64,
    /// The script version agents see; set when the campaign starts.
    pub script_version: Option<i64>,
    pub priority: i64,
    pub timezone: String,
    pub calling_windows: Vec<WindowSpec>,
    pub start_at: Option<String>,
    pub end_at: Option<String>,
    pub recurrence: Option<String>,
    /// When the recurrence next re-opens finished contacts.
    pub next_recurrence_at: Option<String>,
    pub max_attempts: i64,
    pub retry: RetryDelays,
    #[schema(value_type = String)]
    pub lease: Span,
    pub teams: Vec<String>,
    pub owner_first: bool,
    pub status: CampaignStatus,
    pub created_at: String,
    pub updated_at: String,
}

/// An instant in RFC 3339 with the given zone's offset.
pub fn rfc3339(ms: i64, tz: Tz) -> String {
    from_ms(ms).with_timezone(&tz).to_rfc3339()
}

impl From<CampaignRow> for CampaignView {
    fn from(row: CampaignRow) -> Self {
        let def = row.def();
        let tz = def.timezone;
        let status = row.status();
        CampaignView {
            id: row.id,
            name: def.name,
            offer: row.offer_code,
            script_id: row.script_id,
            script_version: row.script_version,
            priority: row.priority,
            timezone: tz.name().to_owned(),
            calling_windows: def.windows.specs(),
            start_at: row.start_at.map(|t| rfc3339(t, tz)),
            end_at: row.end_at.map(|t| rfc3339(t, tz)),
            recurrence: row.recurrence.clone(),
            next_recurrence_at: row.next_recurrence_at.map(|t| rfc3339(t, tz)),
            max_attempts: row.max_attempts,
            retry: def.retry,
            lease: def.lease,
            teams: def.teams,
            owner_first: def.owner_first,
            status,
            created_at: rfc3339(row.created_at, tz),
            updated_at: rfc3339(row.updated_at, tz),
        }
    }
}

fn parse_instant(text: String) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("'{text}' is not an RFC 3339 time like 2026-11-26T09:00:00+08:00"))
}

fn parse_span(text: &str, min: i64, max: i64) -> Result<Span, String> {
    let span: Span = text.parse()?;
    if span.as_secs() < min || span.as_secs() > max {
        return Err(format!(
            "must be from {} to {}",
            Span::from_secs(min),
            Span::from_secs(max)
        ));
    }
    Ok(span)
}

/// Applies `input` over `base`, checking every field; unknown offer codes and scripts are
/// named like any other bad field.
async fn resolve(
    state: &AppState,
    input: CampaignInput,
    base: CampaignDef,
) -> Result<(CampaignDef, bool)> {
    let mut v = Validator::new();
    let mut def = base;
    if let Some(Some(name)) = v.check("name", input.name.required(|n| Name::parse(&n))) {
        def.name = name.into_string();
    }
    if let Some(Some(code)) = v.check("offer", input.offer.required(Ok)) {
        match state.store.offer_by_code(code.trim()).await? {
            Some(offer) => def.offer_id = offer.id,
            None => v.push("offer", format!("no offer has code '{code}'")),
        }
    }
    let mut script_moved = false;
    if let Some(Some(id)) = v.check("script_id", input.script_id.required(Ok)) {
        match state.store.script_get(id).await {
            Ok(_) => {
                def.script_id = id;
                script_moved = true;
            }
            Err(crate::store::StoreError::NotFound) => {
                v.push("script_id", format!("no script has id {id}"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let priority = input.priority.required(|p| {
        if campaigns::PRIORITY.contains(&p) {
            Ok(p)
        } else {
            Err("must be from 1 to 100".into())
        }
    });
    if let Some(Some(p)) = v.check("priority", priority) {
        def.priority = p;
    }
    let tz = input.timezone.required(|t| {
        t.trim()
            .parse::<Tz>()
            .map_err(|_| format!("'{t}' is not an IANA time zone"))
    });
    if let Some(Some(tz)) = v.check("timezone", tz) {
        def.timezone = tz;
    }
    match input.calling_windows.required(Ok) {
        Ok(None) => {}
        Ok(Some(specs)) => match Windows::parse(&specs) {
            Ok(w) => def.windows = w,
            Err((at, message)) => v.push(&format!("calling_windows{at}"), message),
        },
        Err(message) => v.push("calling_windows", message),
    }
    if let Some(Some(start)) = v.check("start_at", input.start_at.nullable(parse_instant)) {
        def.start_at = start;
    }
    if let Some(Some(end)) = v.check("end_at", input.end_at.nullable(parse_instant)) {
        def.end_at = end;
    }
    if let Some(Some(r)) = v.check(
        "recurrence",
        input.recurrence.nullable(|r| Recurrence::parse(&r)),
    ) {
        def.recurrence = r;
    }
    let attempts = input.max_attempts.required(|n| {
        if campaigns::MAX_ATTEMPTS.contains(&n) {
            Ok(n)
        } else {
            Err("must be from 1 to 100".into())
        }
    });
    if let Some(Some(n)) = v.check("max_attempts", attempts) {
        def.max_attempts = n;
    }
    match input.retry.required(Ok) {
        Ok(None) => {}
        Ok(Some(retry)) => {
            let day = 30 * 86_400;
            if let Some(Some(s)) = v.check_opt("retry.no_answer", retry.no_answer, |t| {
                parse_span(&t, 0, day)
            }) {
                def.retry.no_answer = s;
            }
            if let Some(Some(s)) = v.check_opt("retry.busy", retry.busy, |t| parse_span(&t, 0, day))
            {
                def.retry.busy = s;
            }
            if let Some(Some(s)) = v.check_opt("retry.voicemail", retry.voicemail, |t| {
                parse_span(&t, 0, day)
            }) {
                def.retry.voicemail = s;
            }
        }
        Err(message) => v.push("retry", message),
    }
    let lease = input
        .lease
        .required(|t| parse_span(&t, campaigns::MIN_LEASE_SECS, campaigns::MAX_LEASE_SECS));
    if let Some(Some(l)) = v.check("lease", lease) {
        def.lease = l;
    }
    let teams = input.teams.required(|teams| {
        if teams.len() > 100 {
            return Err("at most 100 teams".to_owned());
        }
        teams
            .iter()
            .map(|t| Name::parse(t).map(Name::into_string))
            .collect::<Result<Vec<_>, _>>()
    });
    if let Some(Some(t)) = v.check("teams", teams) {
        def.teams = t;
    }
    if let Some(Some(b)) = v.check("owner_first", input.owner_first.required(Ok)) {
        def.owner_first = b;
    }
    if let (Some(start), Some(end)) = (def.start_at, def.end_at) {
        if end <= start {
            v.push("end_at", "must be after start_at");
        }
    }
    v.finish()?;
    Ok((def, script_moved))
}

fn next_recurrence(def: &CampaignDef, now: i64) -> Option<i64> {
    let recurrence = def.recurrence.as_ref()?;
    recurrence
        .next_after(from_ms(now), def.timezone)
        .map(|t| t.timestamp_millis())
}

/// Create a campaign (status `draft`).
#[utoipa::path(post, path = "/v1/campaigns", tag = "campaigns", request_body = CampaignInput,
    responses((status = 201, body = CampaignView), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_create(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppJson(input): AppJson<CampaignInput>,
) -> Result<(StatusCode, Json<CampaignView>)> {
    let mut v = Validator::new();
    for (field, missing) in [
        ("name", input.name.is_missing()),
        ("offer", input.offer.is_missing()),
        ("script_id", input.script_id.is_missing()),
    ] {
        if missing {
            v.push(field, "is required");
        }
    }
    v.finish()?;
    let base = CampaignDef {
        name: String::new(),
        offer_id: 0,
        script_id: 0,
        priority: 50,
        timezone: state.config.timezone,
        windows: Windows::all_week_9_to_21(),
        start_at: None,
        end_at: None,
        recurrence: None,
        max_attempts: 3,
        retry: RetryDelays::default(),
        lease: Span::from_secs(900),
        teams: vec![],
        owner_first: true,
    };
    let (def, _) = resolve(&state, input, base).await?;
    let now = state.clock.now_ms();
    let id = state
        .store
        .campaign_create(&def, next_recurrence(&def, now), now)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.campaign_get(id).await?.into()),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignListParams {
    pub limit: Option<String>,
    pub after: Option<String>,
    /// Only campaigns in this status.
    pub status: Option<String>,
}

/// List campaigns.
#[utoipa::path(get, path = "/v1/campaigns", tag = "campaigns", params(CampaignListParams),
    responses((status = 200, body = Page<CampaignView>)), security(("bearer" = [])))]
async fn campaigns_list(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<CampaignListParams>,
) -> Result<Json<Page<CampaignView>>> {
    let w = ListParams {
        limit: params.limit,
        after: params.after,
    }
    .window()?;
    let status = match params.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            s.parse::<CampaignStatus>()
                .map_err(|e| Error::bad("status", e))?,
        ),
    };
    let rows = state.store.campaign_list(status, w.after, w.limit).await?;
    Ok(Json(
        Page::from_rows(rows, w.limit, |c| c.id).map(CampaignView::from),
    ))
}

/// One campaign.
#[utoipa::path(get, path = "/v1/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_get(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<Json<CampaignView>> {
    Ok(Json(state.store.campaign_get(id).await?.into()))
}

/// Change any field; takes effect for the next hand-out.
#[utoipa::path(patch, path = "/v1/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)),
    request_body = CampaignInput,
    responses((status = 200, body = CampaignView), (status = 404, body = super::error::Problem),
        (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_update(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
    AppJson(input): AppJson<CampaignInput>,
) -> Result<Json<CampaignView>> {
    let row = state.store.campaign_get(id).await?;
    if row.status() == CampaignStatus::Completed {
        return Err(Error::Conflict(
            "a completed campaign cannot be changed".into(),
        ));
    }
    let recurrence_changed = !input.recurrence.is_missing() || !input.timezone.is_missing();
    let (def, script_moved) = resolve(&state, input, row.def()).await?;
    let now = state.clock.now_ms();
    let next = if recurrence_changed {
        next_recurrence(&def, now)
    } else {
        row.next_recurrence_at
    };
    // A started campaign moves to the script's current version when the script is set.
    let version = if script_moved && row.script_version.is_some() {
        Some(state.store.script_get(def.script_id).await?.version)
    } else {
        None
    };
    state
        .store
        .campaign_update(id, &def, next, version, now)
        .await?;
    Ok(Json(state.store.campaign_get(id).await?.into()))
}

async fn transition(state: &AppState, id: i64, t: Transition) -> Result<Json<CampaignView>> {
    let row = state.store.campaign_get(id).await?;
    let now = state.clock.now_ms();
    let later = row.start_at.is_some_and(|s| s > now);
    let to = t.to(later);
    if !state
        .store
        .campaign_transition(id, t.from(), to, t == Transition::Start, now)
        .await?
    {
        let current = state.store.campaign_get(id).await?.status();
        return Err(Error::Conflict(format!(
            "cannot {} a campaign that is {current}",
            t.name()
        )));
    }
    state.events.poke();
    tracing::info!(campaign = id, status = %to, "campaign status changed");
    Ok(Json(state.store.campaign_get(id).await?.into()))
}

/// `draft` → `active` (or `scheduled` when `start_at` is in the future).
#[utoipa::path(post, path = "/v1/campaigns/{id}/start", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 409, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_start(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<Json<CampaignView>> {
    transition(&state, id, Transition::Start).await
}

/// `active` → `paused`.
#[utoipa::path(post, path = "/v1/campaigns/{id}/pause", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 409, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_pause(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<Json<CampaignView>> {
    transition(&state, id, Transition::Pause).await
}

/// `paused` → `active`.
#[utoipa::path(post, path = "/v1/campaigns/{id}/resume", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 409, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_resume(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<Json<CampaignView>> {
    transition(&state, id, Transition::Resume).await
}

/// `scheduled`, `active` or `paused` → `completed`.
#[utoipa::path(post, path = "/v1/campaigns/{id}/stop", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 409, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_stop(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<Json<CampaignView>> {
    transition(&state, id, Transition::Stop).await
}

//! `/v1/campaigns`: create, read, change and run campaigns through their lifecycle.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    campaigns::{CampaignStatus, RetryDelays, Transition, WindowSpec, warnings::Warning},
    duration::Span,
    ids::{CampaignId, ScriptId},
    service::campaigns::CampaignInput,
    store::{Page, campaigns::CampaignRow},
};

use super::{
    AppState,
    auth::{Leads, LeadsAndViewers, Require},
    error::{Error, Result},
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
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

/// A campaign as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CampaignView {
    pub id: CampaignId,
    pub name: String,
    /// The offer's code.
    pub offer: String,
    pub script_id: ScriptId,
    /// The script version agents see; set when the campaign starts.
    pub script_version: Option<i64>,
    pub priority: i64,
    /// Its share of the hand-outs among active campaigns of the same priority.
    pub share: i64,
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
    #[schema(value_type = String)]
    pub wrap_up: Span,
    pub teams: Vec<String>,
    pub owner_first: bool,
    /// What the agent desk shows for contact attribute keys (a key without one shows as itself).
    pub attribute_labels: std::collections::BTreeMap<String, String>,
    pub status: CampaignStatus,
    /// The lifecycle commands the campaign accepts now (`start`, `pause`, `resume`, `stop`).
    pub actions: Vec<Transition>,
    pub created_at: String,
    pub updated_at: String,
    /// What the lead should know before it disappoints them: windows outside the calling
    /// hours, teams with no active agent, retry delays longer than the time left, script fields
    /// many contacts lack, a recurrence that comes round before a round ends.
    pub warnings: Vec<Warning>,
}

/// The campaigns' views with their warnings.
async fn views(state: &AppState, rows: Vec<CampaignRow>) -> Result<Vec<CampaignView>> {
    let warnings = state.campaign_warnings(&rows).await?;
    Ok(rows
        .into_iter()
        .zip(warnings)
        .map(|(row, warnings)| CampaignView {
            warnings,
            ..row.into()
        })
        .collect())
}

/// One campaign's view with its warnings.
async fn view(state: &AppState, row: CampaignRow) -> Result<Json<CampaignView>> {
    let mut all = views(state, vec![row]).await?;
    Ok(Json(all.remove(0)))
}

impl From<CampaignRow> for CampaignView {
    fn from(row: CampaignRow) -> Self {
        let tz = row.tz();
        let def = row.def();
        CampaignView {
            id: row.id,
            name: def.name,
            offer: row.offer_code,
            script_id: row.script_id,
            script_version: row.script_version,
            priority: row.priority,
            share: row.share,
            timezone: tz.name().to_owned(),
            calling_windows: def.windows.specs(),
            start_at: row.start_at.map(|t| t.rfc3339(tz)),
            end_at: row.end_at.map(|t| t.rfc3339(tz)),
            recurrence: row.recurrence.map(|r| r.to_string()),
            next_recurrence_at: row.next_recurrence_at.map(|t| t.rfc3339(tz)),
            max_attempts: row.max_attempts,
            retry: def.retry,
            lease: def.lease,
            wrap_up: def.wrap_up,
            teams: def.teams,
            owner_first: def.owner_first,
            attribute_labels: def.attribute_labels,
            status: row.status,
            actions: row.status.actions(),
            created_at: row.created_at.rfc3339(tz),
            updated_at: row.updated_at.rfc3339(tz),
            warnings: Vec::new(),
        }
    }
}

/// Create a campaign (status `draft`).
#[utoipa::path(post, path = "/v1/campaigns", tag = "campaigns", request_body = CampaignInput,
    responses((status = 201, body = CampaignView), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_create(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppJson(input): AppJson<CampaignInput>,
) -> Result<(StatusCode, Json<CampaignView>)> {
    let row = state.create_campaign(input, &auth.0).await?;
    Ok((StatusCode::CREATED, view(&state, row).await?))
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
    let w = ListParams::new(params.limit, params.after).window()?;
    let status = match params.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            s.parse::<CampaignStatus>()
                .map_err(|e| Error::bad("status", e))?,
        ),
    };
    let rows = state
        .reads
        .campaign_list(status, CampaignId(w.after), w.limit)
        .await?;
    let views = views(&state, rows).await?;
    Ok(Json(Page::from_rows(views, w.limit, |c| c.id.get())))
}

/// One campaign.
#[utoipa::path(get, path = "/v1/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_get(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CampaignId>,
) -> Result<Json<CampaignView>> {
    view(&state, state.reads.campaign_get(id).await?).await
}

/// Change any field; takes effect for the next hand-out.
#[utoipa::path(patch, path = "/v1/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)),
    request_body = CampaignInput,
    responses((status = 200, body = CampaignView), (status = 404, body = super::error::Problem),
        (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_update(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CampaignId>,
    AppJson(input): AppJson<CampaignInput>,
) -> Result<Json<CampaignView>> {
    view(&state, state.update_campaign(id, input, &auth.0).await?).await
}

async fn transition(
    auth: Require<Leads>,
    state: &AppState,
    id: CampaignId,
    t: Transition,
) -> Result<Json<CampaignView>> {
    view(state, state.transition(id, t, &auth.0).await?).await
}

/// `draft` → `active` (or `scheduled` when `start_at` is in the future).
#[utoipa::path(post, path = "/v1/campaigns/{id}/start", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 409, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_start(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CampaignId>,
) -> Result<Json<CampaignView>> {
    transition(auth, &state, id, Transition::Start).await
}

/// `active` → `paused`.
#[utoipa::path(post, path = "/v1/campaigns/{id}/pause", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 409, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_pause(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CampaignId>,
) -> Result<Json<CampaignView>> {
    transition(auth, &state, id, Transition::Pause).await
}

/// `paused` → `active`.
#[utoipa::path(post, path = "/v1/campaigns/{id}/resume", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 409, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_resume(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CampaignId>,
) -> Result<Json<CampaignView>> {
    transition(auth, &state, id, Transition::Resume).await
}

/// `scheduled`, `active` or `paused` → `completed`.
#[utoipa::path(post, path = "/v1/campaigns/{id}/stop", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignView), (status = 409, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn campaigns_stop(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CampaignId>,
) -> Result<Json<CampaignView>> {
    transition(auth, &state, id, Transition::Stop).await
}

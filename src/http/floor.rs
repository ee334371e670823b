//! The floor's routes: the live floor (`/v1/floor`), an agent's state (`/v1/agents/me/state`, and a supervisor's or lead's
//! `/v1/agents/{id}/state`) and the pause reasons leads keep (`/v1/pause-reasons`).

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    floor::{AgentState, Pending},
    ids::{AgentId, CallId, CampaignId, ContactId, PauseReasonId},
    service::{
        agent_states::{Asker, StateInput},
        floor::{FloorAgent, Today},
    },
    store::{Page, agent_states::StateRow, pause_reasons::PauseReason},
    text::Name,
};

use super::{
    AppState,
    auth::{Agents, AgentsAndSupervisors, Leads, Me, Require, Supervisors},
    error::{Error, Result},
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(agents_my_state_get, agents_my_state_set))
        .routes(routes!(agents_state_set))
        .routes(routes!(pause_reasons_list, pause_reasons_create))
        .routes(routes!(floor_get))
}

/// The call an agent holds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FloorCall {
    pub id: CallId,
    pub campaign: CampaignId,
    /// The contact's id (never its phone).
    pub contact: ContactId,
    pub leased_at: String,
    pub lease_expires_at: String,
}

/// One agent on the floor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FloorAgentView {
    pub agent: AgentId,
    pub name: String,
    pub team: Option<String>,
    pub state: AgentState,
    /// Why it is paused; on a call with a pause pending, why it will be.
    pub reason: Option<String>,
    pub since: String,
    /// On a call: `paused` or `offline` when a supervisor's (or inactivity's) pause or sign-out
    /// waits for the call to end; null otherwise.
    pub pending: Option<Pending>,
    /// A pending pause's reason.
    pub pending_reason: Option<String>,
    pub call: Option<FloorCall>,
    /// At its limit of calls handed back without an outcome (`OUTCALL_RELEASE_LIMIT`): it gets
    /// no new call (429) until the oldest of them is a period old.
    pub release_limited: bool,
    pub today: Today,
}

/// The floor: every active agent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FloorView {
    pub agents: Vec<FloorAgentView>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FloorParams {
    /// Only this team's agents.
    pub team: Option<String>,
}

fn floor_view(state: &AppState, a: FloorAgent) -> FloorAgentView {
    let tz = state.tz();
    let r = a.row;
    let call = match (
        r.call_id,
        r.campaign_id,
        r.contact_id,
        r.leased_at,
        r.lease_expires_at,
    ) {
        (Some(id), Some(campaign), Some(contact), Some(leased), Some(expires)) => Some(FloorCall {
            id,
            campaign,
            contact,
            leased_at: leased.rfc3339(tz),
            lease_expires_at: expires.rfc3339(tz),
        }),
        _ => None,
    };
    FloorAgentView {
        agent: r.agent_id,
        name: r.name,
        team: r.team,
        state: a.standing.state,
        reason: a.standing.reason.or(r.pending_reason.clone()),
        since: a.standing.since.rfc3339(tz),
        pending: r.pending,
        pending_reason: r.pending_reason,
        call,
        release_limited: a.release_limited,
        today: a.today,
    }
}

/// Every active agent: state (and pause reason) since when, the call it holds, and today's
/// numbers. Live through `GET /v1/events` (`event: agent`, `event: call`).
#[utoipa::path(get, path = "/v1/floor", tag = "floor", params(FloorParams),
    responses((status = 200, body = FloorView)), security(("bearer" = [])))]
async fn floor_get(
    _auth: Require<Supervisors>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<FloorParams>,
) -> Result<Json<FloorView>> {
    let team = p.team.filter(|t| !t.is_empty());
    let agents = state.floor(team.as_deref()).await?;
    Ok(Json(FloorView {
        agents: agents.into_iter().map(|a| floor_view(&state, a)).collect(),
    }))
}

/// Where an agent stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StateView {
    pub agent: AgentId,
    pub state: AgentState,
    /// Why it is paused (one of the pause reasons); on a call with a pause pending, why it will
    /// be; null otherwise.
    pub reason: Option<String>,
    /// Since when (RFC 3339).
    pub since: String,
    /// During a wrap-up: when it ends by itself.
    pub wrap_up_until: Option<String>,
    /// On a call: `paused` or `offline` when a supervisor's (or inactivity's) pause or sign-out
    /// waits for the call to end, which then moves the agent there (without a wrap-up); null
    /// otherwise.
    pub pending: Option<Pending>,
    /// A pending pause's reason.
    pub pending_reason: Option<String>,
}

fn view(state: &AppState, row: StateRow) -> StateView {
    let tz = state.tz();
    let now = state.now();
    let standing = row.standing().at(now);
    StateView {
        agent: row.agent_id,
        state: standing.state,
        reason: standing.reason.or(row.pending_reason.clone()),
        since: standing.since.rfc3339(tz),
        wrap_up_until: standing.wrap_up_until.map(|t| t.rfc3339(tz)),
        pending: row.pending,
        pending_reason: row.pending_reason,
    }
}

/// The calling agent's state, with a pause or sign-out pending for the end of its call. Cheap
/// (one read; the desk asks every 1.5 s to learn of a supervisor's change or release within
/// 2 s), and a sign of life of the agent's desk, which an idle sign-out (`OUTCALL_AGENT_IDLE`)
/// counts (written at most every 10 s).
#[utoipa::path(get, path = "/v1/agents/me/state", tag = "floor",
    responses((status = 200, body = StateView)), security(("bearer" = [])))]
async fn agents_my_state_get(
    auth: Require<Agents>,
    State(state): State<AppState>,
) -> Result<Json<StateView>> {
    let agent = auth.0.agent_id.ok_or(Error::Forbidden)?;
    let row = state.my_state(agent).await?;
    Ok(Json(view(&state, row)))
}

/// Set the calling agent's state: `ready` (the desk does on sign-in), `paused` with a reason,
/// or `offline`. The agent's own pause or sign-out releases a held call at once (the desk asks
/// first); an agent on a call that asks to be ready stays on its call.
#[utoipa::path(post, path = "/v1/agents/me/state", tag = "floor", request_body = StateInput,
    responses((status = 200, body = StateView), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn agents_my_state_set(
    me: Me,
    State(state): State<AppState>,
    AppJson(input): AppJson<StateInput>,
) -> Result<Json<StateView>> {
    let agent = me.1;
    let row = state.set_agent_state(agent, input, Asker::Agent).await?;
    Ok(Json(view(&state, row)))
}

/// Pause an agent (with a reason) or sign it out. Audited. An agent on a call keeps it: the
/// answer is 202 with `{"state": "on_call", "pending", "reason"}`, and the agent moves there
/// when the call ends (its outcome, a release or an expired lease).
#[utoipa::path(post, path = "/v1/agents/{id}/state", tag = "floor", params(("id" = i64, Path)),
    request_body = StateInput,
    responses((status = 200, body = StateView), (status = 202, body = StateView),
        (status = 404, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn agents_state_set(
    auth: Require<Supervisors>,
    State(state): State<AppState>,
    AppPath(id): AppPath<AgentId>,
    AppJson(input): AppJson<StateInput>,
) -> Result<(StatusCode, Json<StateView>)> {
    state.reads.agent_get(id).await?;
    let row = state
        .set_agent_state(id, input, Asker::Floor(&auth.0))
        .await?;
    let status = match row.pending {
        Some(_) => StatusCode::ACCEPTED,
        None => StatusCode::OK,
    };
    Ok((status, Json(view(&state, row))))
}

/// The reasons an agent may pause for, in id order.
#[utoipa::path(get, path = "/v1/pause-reasons", tag = "floor", params(ListParams),
    responses((status = 200, body = Page<PauseReason>)), security(("bearer" = [])))]
async fn pause_reasons_list(
    _auth: Require<AgentsAndSupervisors>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<ListParams>,
) -> Result<Json<Page<PauseReason>>> {
    let w = p.window()?;
    let rows = state
        .reads
        .pause_reasons(PauseReasonId(w.after), w.limit)
        .await?;
    Ok(Json(Page::from_rows(rows, w.limit, |r| r.id.get())))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPauseReason {
    /// 1–200 characters, unique.
    pub name: String,
}

/// Add a pause reason. Audited.
#[utoipa::path(post, path = "/v1/pause-reasons", tag = "floor", request_body = NewPauseReason,
    responses((status = 201, body = PauseReason), (status = 409, body = super::error::Problem),
        (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn pause_reasons_create(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppJson(body): AppJson<NewPauseReason>,
) -> Result<(StatusCode, Json<PauseReason>)> {
    let name = Name::parse(&body.name).map_err(|e| Error::field("name", e))?;
    let reason = state.pause_reason_create(&name, &auth.0).await?;
    Ok((StatusCode::CREATED, Json(reason)))
}

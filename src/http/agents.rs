//! `/v1/agents`: the people who take calls. Leads create them; each gets one token, shown once.

use crate::codes::Reason;
use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ids::{AgentId, TokenId},
    patch::Patch,
    service::people::Issued,
    store::{
        Page,
        agents::{Agent, AgentPatch},
    },
    text::Name,
};

use super::{
    AppState,
    auth::{Leads, Require},
    error::{Result, Validator},
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(agents_create, agents_list))
        .routes(routes!(agents_get, agents_update))
        .routes(routes!(agents_token))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    /// 1–200 characters.
    pub name: String,
    /// The team the agent works in; campaigns may be limited to teams.
    pub team: Option<String>,
}

/// An agent just created, with the only copy of its token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentCreated {
    pub id: AgentId,
    pub name: String,
    pub team: Option<String>,
    pub active: bool,
    /// The agent's bearer token. Shown only here.
    pub token: String,
}

fn parse_team(team: String) -> Result<Name, Reason> {
    Name::parse(&team)
}

/// Create an agent and its token.
#[utoipa::path(post, path = "/v1/agents", tag = "people", request_body = CreateAgent,
    responses((status = 201, body = AgentCreated), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn agents_create(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppJson(body): AppJson<CreateAgent>,
) -> Result<(StatusCode, Json<AgentCreated>)> {
    let mut v = Validator::new();
    let name = v.check("name", Name::parse(&body.name));
    let team = v.check_opt("team", body.team, parse_team);
    let (Some(name), Some(team)) = (name, team) else {
        return Err(v.fail().into());
    };
    let Issued {
        what: agent,
        secret,
    } = state.agent_create(&name, team.as_ref(), &auth.0).await?;
    let created = AgentCreated {
        id: agent.id,
        name: agent.name,
        team: agent.team,
        active: agent.active,
        token: secret.expose().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// List agents.
#[utoipa::path(get, path = "/v1/agents", tag = "people", params(ListParams),
    responses((status = 200, body = Page<Agent>)), security(("bearer" = [])))]
async fn agents_list(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<Json<Page<Agent>>> {
    let w = params.window()?;
    let rows = state.reads.agent_list(AgentId(w.after), w.limit).await?;
    Ok(Json(Page::from_rows(rows, w.limit, |a| a.id.get())))
}

/// One agent.
#[utoipa::path(get, path = "/v1/agents/{id}", tag = "people", params(("id" = i64, Path)),
    responses((status = 200, body = Agent), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn agents_get(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<AgentId>,
) -> Result<Json<Agent>> {
    Ok(Json(state.reads.agent_get(id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub name: Patch<String>,
    /// `null` removes the agent from its team.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub team: Patch<String>,
    /// `false` deactivates the agent: its tokens are revoked at once and the call it holds goes
    /// back to the queue. `true` brings the agent back without its old tokens: issue it a new
    /// one with `POST /v1/agents/{id}/token`.
    #[schema(value_type = Option<bool>)]
    #[serde(default)]
    pub active: Patch<bool>,
}

/// Rename, move or (de)activate an agent. Deactivating revokes the agent's tokens for good;
/// a reactivated agent needs a new token (`POST /v1/agents/{id}/token`).
#[utoipa::path(patch, path = "/v1/agents/{id}", tag = "people", params(("id" = i64, Path)),
    request_body = UpdateAgent,
    responses((status = 200, body = Agent), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn agents_update(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<AgentId>,
    AppJson(body): AppJson<UpdateAgent>,
) -> Result<Json<Agent>> {
    let mut v = Validator::new();
    let name = v.check(
        "name",
        body.name
            .required(|n| Name::parse(&n).map(Name::into_string)),
    );
    let team = v.check(
        "team",
        body.team.nullable(|t| parse_team(t).map(Name::into_string)),
    );
    let active = v.check("active", body.active.required(Ok));
    let (Some(name), Some(team), Some(active)) = (name, team, active) else {
        return Err(v.fail().into());
    };
    let patch = AgentPatch { name, team, active };
    Ok(Json(state.agent_update(id, patch, &auth.0).await?))
}

/// An agent's new token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentToken {
    /// The new token's id.
    pub id: TokenId,
    pub agent: AgentId,
    /// The agent's bearer token. Shown only here; the agent's earlier tokens stop working.
    pub token: String,
}

/// Issue the agent a new token; the tokens it had stop working at once (a lost phone, a token
/// that leaked, an agent coming back after leaving).
#[utoipa::path(post, path = "/v1/agents/{id}/token", tag = "people", params(("id" = i64, Path)),
    responses((status = 201, body = AgentToken), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn agents_token(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<AgentId>,
) -> Result<(StatusCode, Json<AgentToken>)> {
    let Issued {
        what: token,
        secret,
    } = state.agent_token_rotate(id, &auth.0).await?;
    let issued = AgentToken {
        id: token,
        agent: id,
        token: secret.expose().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(issued)))
}

//! `/v1/tokens`: admins issue and revoke tokens for leads, viewers and other admins.

use crate::codes::{Code, Coded};
use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ids::{AgentId, TokenId},
    people::Role,
    service::people::Issued,
    store::Page,
    text::Name,
    time::Instant,
};

use super::{
    AppState,
    auth::{Admins, Require},
    error::{Result, Validator},
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tokens_create, tokens_list))
        .routes(routes!(tokens_delete))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// `admin`, `lead`, `viewer`, `supervisor` or `integration`; agent tokens come with
    /// `POST /v1/agents`.
    pub role: String,
    /// Who or what holds the token, 1–200 characters.
    pub name: String,
    /// RFC 3339; the token stops working then (never, when absent).
    pub expires_at: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenCreated {
    pub id: TokenId,
    pub name: String,
    pub role: Role,
    pub expires_at: Option<String>,
    /// The bearer token. Shown only here; only its hash is stored.
    pub token: String,
}

/// A token as listed: never its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: TokenId,
    pub name: String,
    pub role: Role,
    /// The agent an agent's token belongs to.
    pub agent: Option<AgentId>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Whether it works now: not revoked, not expired.
    pub live: bool,
}

/// Issue a token.
#[utoipa::path(post, path = "/v1/tokens", tag = "people", request_body = CreateToken,
    responses((status = 201, body = TokenCreated), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn tokens_create(
    auth: Require<Admins>,
    State(state): State<AppState>,
    AppJson(body): AppJson<CreateToken>,
) -> Result<(StatusCode, Json<TokenCreated>)> {
    let mut v = Validator::new();
    let role = v.check(
        "role",
        match body.role.parse::<Role>() {
            Ok(Role::Agent) => Err(Code::OneOf
                .because("agent tokens are made with POST /v1/agents")
                .with("allowed", "admin, lead, viewer, supervisor, integration")),
            Ok(role) => Ok(role),
            Err(_) => Err(Code::OneOf
                .because("must be one of admin, lead, viewer, supervisor, integration")
                .with("allowed", "admin, lead, viewer, supervisor, integration")),
        },
    );
    let name = v.check("name", Name::parse(&body.name));
    let now = state.now();
    let expires_at = v.check_opt("expires_at", body.expires_at, |t| {
        Instant::parse_rfc3339(&t)
            .coded(Code::TimeInvalid)
            .and_then(|at| {
                (at > now)
                    .then_some(at)
                    .ok_or_else(|| Code::TimeInPast.because("must be in the future"))
            })
    });
    let (Some(role), Some(name), Some(expires_at)) = (role, name, expires_at) else {
        return Err(v.fail().into());
    };
    let Issued { what: id, secret } = state.token_create(&name, role, expires_at, &auth.0).await?;
    let created = TokenCreated {
        id,
        name: name.into_string(),
        role,
        expires_at: expires_at.map(|t| t.rfc3339(state.tz())),
        token: secret.expose().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// Every token, without its secret, oldest first.
#[utoipa::path(get, path = "/v1/tokens", tag = "people", params(ListParams),
    responses((status = 200, body = Page<TokenView>)), security(("bearer" = [])))]
async fn tokens_list(
    _auth: Require<Admins>,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<Json<Page<TokenView>>> {
    let w = params.window()?;
    let rows = state.reads.token_list(TokenId(w.after), w.limit).await?;
    let (now, tz) = (state.now(), state.tz());
    Ok(Json(Page::from_rows(rows, w.limit, |t| t.id.get()).map(
        |t| TokenView {
            live: t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now),
            id: t.id,
            name: t.name,
            role: t.role,
            agent: t.agent_id,
            created_at: t.created_at.rfc3339(tz),
            expires_at: t.expires_at.map(|e| e.rfc3339(tz)),
            revoked_at: t.revoked_at.map(|r| r.rfc3339(tz)),
        },
    )))
}

/// Revoke a token. Agents' tokens are not revoked here: issue the agent a new one
/// (`POST /v1/agents/{id}/token`) or deactivate the agent.
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "people", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn tokens_delete(
    auth: Require<Admins>,
    State(state): State<AppState>,
    AppPath(id): AppPath<TokenId>,
) -> Result<StatusCode> {
    state.token_revoke(id, &auth.0).await?;
    Ok(StatusCode::NO_CONTENT)
}

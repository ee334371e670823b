//! `/v1/tokens`: admins issue and revoke tokens for leads, viewers and other admins.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ids::TokenId,
    people::{Role, Secret},
    text::Name,
};

use super::{
    AppState,
    auth::{Admins, Require},
    error::{Error, Result, Validator},
    extract::{AppJson, AppPath},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tokens_create))
        .routes(routes!(tokens_delete))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// `admin`, `lead` or `viewer`; agent tokens come with `POST /v1/agents`.
    pub role: String,
    /// Who or what holds the token, 1–200 characters.
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenCreated {
    pub id: TokenId,
    pub name: String,
    pub role: Role,
    /// The bearer token. Shown only here; only its hash is stored.
    pub token: String,
}

/// Issue a token.
#[utoipa::path(post, path = "/v1/tokens", tag = "people", request_body = CreateToken,
    responses((status = 201, body = TokenCreated), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn tokens_create(
    _auth: Require<Admins>,
    State(state): State<AppState>,
    AppJson(body): AppJson<CreateToken>,
) -> Result<(StatusCode, Json<TokenCreated>)> {
    let mut v = Validator::new();
    let role = v.check(
        "role",
        match body.role.parse::<Role>() {
            Ok(Role::Agent) => Err("agent tokens are made with POST /v1/agents".to_owned()),
            Ok(role) => Ok(role),
            Err(_) => Err("must be one of admin, lead, viewer".to_owned()),
        },
    );
    let name = v.check("name", Name::parse(&body.name));
    let (Some(role), Some(name)) = (role, name) else {
        return Err(v.fail().into());
    };
    let secret = Secret::generate();
    let id = state
        .store
        .token_create(name.as_str(), role, &secret.hash(), None, state.now())
        .await?;
    let created = TokenCreated {
        id,
        name: name.into_string(),
        role,
        token: secret.expose().to_owned(),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revoke a token. Agents' tokens are not revoked here: deactivate the agent instead.
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "people", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn tokens_delete(
    _auth: Require<Admins>,
    State(state): State<AppState>,
    AppPath(id): AppPath<TokenId>,
) -> Result<StatusCode> {
    if state.store.token_revoke(id, state.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound)
    }
}

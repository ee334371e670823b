//! `/v1/scripts`: what agents read on the call. Bodies are templates over the contact; every
//! PUT makes a new version and old versions stay readable.

use axum::{Json, extract::State, http::StatusCode};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    catalog::Template,
    ids::ScriptId,
    store::{Page, scripts::Script},
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
        .routes(routes!(scripts_create, scripts_list))
        .routes(routes!(scripts_get, scripts_update))
        .routes(routes!(scripts_version))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateScript {
    pub name: String,
    /// A minijinja template: `{{ name }}`, `{{ phone }}`, `{{ attributes.plan }}`.
    pub body: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateScript {
    /// The new body; saved as the next version.
    pub body: String,
    /// Optionally a new name.
    pub name: Option<String>,
}

/// Create a script at version 1.
#[utoipa::path(post, path = "/v1/scripts", tag = "catalog", request_body = CreateScript,
    responses((status = 201, body = Script), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn scripts_create(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppJson(body): AppJson<CreateScript>,
) -> Result<(StatusCode, Json<Script>)> {
    let mut v = Validator::new();
    let name = v.check("name", Name::parse(&body.name));
    let template = v.check("body", Template::parse(&body.body));
    let (Some(name), Some(template)) = (name, template) else {
        return Err(v.fail().into());
    };
    let script = state
        .store
        .script_create(name.as_str(), template.as_str(), state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(script)))
}

/// Save a new version of a script.
#[utoipa::path(put, path = "/v1/scripts/{id}", tag = "catalog", params(("id" = i64, Path)),
    request_body = UpdateScript,
    responses((status = 200, body = Script), (status = 404, body = super::error::Problem),
        (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn scripts_update(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<ScriptId>,
    AppJson(body): AppJson<UpdateScript>,
) -> Result<Json<Script>> {
    let mut v = Validator::new();
    let name = v.check_opt("name", body.name, |n| Name::parse(&n));
    let template = v.check("body", Template::parse(&body.body));
    let (Some(name), Some(template)) = (name, template) else {
        return Err(v.fail().into());
    };
    let name = name.as_ref().map(Name::as_str);
    let script = state
        .store
        .script_update(id, name, template.as_str(), state.now())
        .await?;
    Ok(Json(script))
}

/// A script at its current version.
#[utoipa::path(get, path = "/v1/scripts/{id}", tag = "catalog", params(("id" = i64, Path)),
    responses((status = 200, body = Script), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn scripts_get(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<ScriptId>,
) -> Result<Json<Script>> {
    Ok(Json(state.store.script_get(id).await?))
}

/// A script at an earlier (or the current) version.
#[utoipa::path(get, path = "/v1/scripts/{id}/versions/{version}", tag = "catalog",
    params(("id" = i64, Path), ("version" = i64, Path)),
    responses((status = 200, body = Script), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn scripts_version(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath((id, version)): AppPath<(ScriptId, i64)>,
) -> Result<Json<Script>> {
    Ok(Json(state.store.script_version(id, version).await?))
}

/// List scripts at their current versions.
#[utoipa::path(get, path = "/v1/scripts", tag = "catalog", params(ListParams),
    responses((status = 200, body = Page<Script>)), security(("bearer" = [])))]
async fn scripts_list(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<Json<Page<Script>>> {
    let w = params.window()?;
    let rows = state.store.script_list(ScriptId(w.after), w.limit).await?;
    Ok(Json(Page::from_rows(rows, w.limit, |s| s.id.get())))
}

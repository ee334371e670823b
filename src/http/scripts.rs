//! `/v1/scripts`: what agents read on the call. Bodies are templates over the contact; every
//! PUT makes a new version and old versions stay readable. A body is refused (422 naming
//! `body`) when it does not parse or goes past the render limits for a sample contact; every
//! view shows the versions whose render failed at a hand-out anyway.

use std::collections::HashMap;

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ids::ScriptId,
    store::{
        Page,
        scripts::{RenderFailures, Script},
    },
};

use super::{
    AppState,
    auth::{Leads, Require},
    error::Result,
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(scripts_create, scripts_list))
        .routes(routes!(scripts_get, scripts_update))
        .routes(routes!(scripts_version))
        .routes(routes!(scripts_preview))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewScript {
    /// The body to read, as it would be saved.
    pub body: String,
    /// A person to read it for (a contact's id); the sample contact when absent.
    #[schema(value_type = Option<i64>)]
    pub contact: Option<crate::ids::ContactId>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewView {
    /// The body rendered for the person, as the agent would read it.
    pub text: String,
}

/// Read a body as an agent would for one person (or the sample contact), without saving it:
/// rendered in a worker under a hand-out's limits; 422 naming `body` or `contact`.
#[utoipa::path(post, path = "/v1/scripts/preview", tag = "catalog", request_body = PreviewScript,
    responses((status = 200, body = PreviewView), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn scripts_preview(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppJson(body): AppJson<PreviewScript>,
) -> Result<Json<PreviewView>> {
    let text = state
        .script_preview(&auth.0, &body.body, body.contact)
        .await?;
    Ok(Json(PreviewView { text }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateScript {
    pub name: String,
    /// A minijinja template: `{{ name }}`, `{{ phone }}`, `{{ attributes.plan }}`.
    pub body: String,
    /// The survey this version asks: `[{"key", "label", "type": "choice"|"multi"|"number"|
    /// "text", "options"?, "required"?}]`, at most 50.
    #[schema(value_type = Option<Vec<crate::catalog::survey::Question>>)]
    pub questions: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateScript {
    /// The new body; saved as the next version.
    pub body: String,
    /// Optionally a new name.
    pub name: Option<String>,
    /// The new version's questions; without them it asks what the previous version asked.
    #[schema(value_type = Option<Vec<crate::catalog::survey::Question>>)]
    pub questions: Option<serde_json::Value>,
}

/// A script at one version, with the versions whose render failed at a hand-out.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScriptView {
    #[serde(flatten)]
    pub script: Script,
    /// Every version of this script whose render failed at a hand-out (past the engine's
    /// limits or the time budget, or on a contact's data), newest version first; empty when
    /// none has.
    pub render_failures: Vec<RenderFailuresView>,
}

/// The failed renders of one version of a script.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RenderFailuresView {
    pub version: i64,
    /// Calls whose hand-out could not render this version (a retried hand-out counts once).
    pub count: i64,
    /// Why the last one failed; it never quotes the contact's data.
    pub last_error: Option<String>,
    /// When the last one failed.
    pub last_at: Option<String>,
}

/// The scripts (ids ascending) as views, with their failed renders read in one query.
async fn views(state: &AppState, scripts: Vec<Script>) -> Result<Vec<ScriptView>> {
    let (Some(first), Some(last)) = (scripts.first(), scripts.last()) else {
        return Ok(vec![]);
    };
    let mut failures: HashMap<ScriptId, Vec<RenderFailuresView>> = HashMap::new();
    let tz = state.tz();
    for f in state.reads.script_failures(first.id, last.id).await? {
        let RenderFailures {
            script_id,
            version,
            count,
            last_error,
            last_at,
        } = f;
        failures
            .entry(script_id)
            .or_default()
            .push(RenderFailuresView {
                version,
                count,
                last_error,
                last_at: last_at.map(|at| at.rfc3339(tz)),
            });
    }
    Ok(scripts
        .into_iter()
        .map(|script| ScriptView {
            render_failures: failures.remove(&script.id).unwrap_or_default(),
            script,
        })
        .collect())
}

async fn view(state: &AppState, script: Script) -> Result<ScriptView> {
    let mut views = views(state, vec![script]).await?;
    Ok(views.remove(0))
}

/// Create a script at version 1. The body must parse and render for a sample contact within
/// the limits (422 naming `body` otherwise).
#[utoipa::path(post, path = "/v1/scripts", tag = "catalog", request_body = CreateScript,
    responses((status = 201, body = ScriptView), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn scripts_create(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppJson(body): AppJson<CreateScript>,
) -> Result<(StatusCode, Json<ScriptView>)> {
    let script = state
        .script_create(&auth.0, &body.name, &body.body, body.questions)
        .await?;
    Ok((StatusCode::CREATED, Json(view(&state, script).await?)))
}

/// Save a new version of a script, on the same terms as creating one.
#[utoipa::path(put, path = "/v1/scripts/{id}", tag = "catalog", params(("id" = i64, Path)),
    request_body = UpdateScript,
    responses((status = 200, body = ScriptView), (status = 404, body = super::error::Problem),
        (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn scripts_update(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<ScriptId>,
    AppJson(body): AppJson<UpdateScript>,
) -> Result<Json<ScriptView>> {
    let script = state
        .script_update(
            &auth.0,
            id,
            body.name.as_deref(),
            &body.body,
            body.questions,
        )
        .await?;
    Ok(Json(view(&state, script).await?))
}

/// A script at its current version.
#[utoipa::path(get, path = "/v1/scripts/{id}", tag = "catalog", params(("id" = i64, Path)),
    responses((status = 200, body = ScriptView), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn scripts_get(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<ScriptId>,
) -> Result<Json<ScriptView>> {
    let script = state.reads.script_get(id).await?;
    Ok(Json(view(&state, script).await?))
}

/// A script at an earlier (or the current) version.
#[utoipa::path(get, path = "/v1/scripts/{id}/versions/{version}", tag = "catalog",
    params(("id" = i64, Path), ("version" = i64, Path)),
    responses((status = 200, body = ScriptView), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn scripts_version(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath((id, version)): AppPath<(ScriptId, i64)>,
) -> Result<Json<ScriptView>> {
    let script = state.reads.script_version(id, version).await?;
    Ok(Json(view(&state, script).await?))
}

/// List scripts at their current versions.
#[utoipa::path(get, path = "/v1/scripts", tag = "catalog", params(ListParams),
    responses((status = 200, body = Page<ScriptView>)), security(("bearer" = [])))]
async fn scripts_list(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<Json<Page<ScriptView>>> {
    let w = params.window()?;
    let rows = state.reads.script_list(ScriptId(w.after), w.limit).await?;
    let page = Page::from_rows(rows, w.limit, |s| s.id.get());
    let items = views(&state, page.items).await?;
    Ok(Json(Page {
        items,
        next: page.next,
    }))
}

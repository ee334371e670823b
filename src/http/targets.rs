//! `/v1/targets`: goals per campaign, team or agent and period, shown with their progress.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ids::TargetId,
    service::targets::{Evaluated, TargetInput},
    stats::{Metric, Progress, TargetScope},
    store::Page,
};

use super::{
    AppState,
    auth::{Leads, LeadsAndViewers, Require},
    error::Result,
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(targets_create, targets_list))
        .routes(routes!(targets_update, targets_delete))
}

/// A target with its progress now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TargetView {
    pub id: TargetId,
    pub scope: TargetScope,
    pub scope_id: String,
    pub period: String,
    pub metric: Metric,
    #[serde(flatten)]
    pub progress: Progress,
}

impl From<Evaluated> for TargetView {
    fn from(e: Evaluated) -> Self {
        TargetView {
            id: e.target.id,
            scope: e.target.scope,
            scope_id: e.target.scope_id,
            period: e.target.period.to_string(),
            metric: e.target.metric,
            progress: e.progress,
        }
    }
}

/// Set a target.
#[utoipa::path(post, path = "/v1/targets", tag = "stats", request_body = TargetInput,
    responses((status = 201, body = TargetView), (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn targets_create(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppJson(input): AppJson<TargetInput>,
) -> Result<(StatusCode, Json<TargetView>)> {
    let target = state.create_target(input, &auth.0).await?;
    Ok((StatusCode::CREATED, Json(target.into())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TargetParams {
    pub limit: Option<String>,
    pub after: Option<String>,
    pub scope: Option<String>,
    pub scope_id: Option<String>,
}

/// Targets with their progress now.
#[utoipa::path(get, path = "/v1/targets", tag = "stats", params(TargetParams),
    responses((status = 200, body = Page<TargetView>)), security(("bearer" = [])))]
async fn targets_list(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<TargetParams>,
) -> Result<Json<Page<TargetView>>> {
    let w = ListParams::new(p.limit, p.after).window()?;
    let rows = state
        .reads
        .target_list(
            p.scope.as_deref(),
            p.scope_id.as_deref(),
            TargetId(w.after),
            w.limit,
        )
        .await?;
    let page = Page::from_rows(rows, w.limit, |t| t.id.get());
    let mut items = vec![];
    for t in page.items {
        items.push(state.evaluate(t).await?.into());
    }
    Ok(Json(Page {
        items,
        next: page.next,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetUpdate {
    pub goal: i64,
}

/// Change a target's goal.
#[utoipa::path(patch, path = "/v1/targets/{id}", tag = "stats", params(("id" = i64, Path)), request_body = TargetUpdate,
    responses((status = 200, body = TargetView), (status = 404, body = super::error::Problem)), security(("bearer" = [])))]
async fn targets_update(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<TargetId>,
    AppJson(input): AppJson<TargetUpdate>,
) -> Result<Json<TargetView>> {
    Ok(Json(state.set_goal(id, input.goal, &auth.0).await?.into()))
}

/// Delete a target.
#[utoipa::path(delete, path = "/v1/targets/{id}", tag = "stats", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = super::error::Problem)), security(("bearer" = [])))]
async fn targets_delete(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<TargetId>,
) -> Result<StatusCode> {
    state.target_delete(id, &auth.0).await?;
    Ok(StatusCode::NO_CONTENT)
}

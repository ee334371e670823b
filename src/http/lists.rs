//! A campaign's lists: `GET /v1/campaigns/{id}/lists` (each import with its name, source and
//! report), `PATCH /v1/lists/{id} {"active"}` (switch off and on) and `DELETE /v1/lists/{id}`
//! (remove the contacts never attempted; answers how many).

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    contacts::{import::ImportState, lists::ListSource},
    ids::{CampaignId, ImportId, ListId},
    store::{Page, lists::ListRow},
};

use super::{
    AppState,
    auth::{Leads, Require, Supervisors},
    error::Result,
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(lists_of_campaign))
        .routes(routes!(lists_update, lists_delete))
}

/// What a list's import reported (counts so far while it runs).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListReport {
    pub import: ImportId,
    pub state: ImportState,
    pub total: i64,
    pub accepted: i64,
    pub duplicates: i64,
    pub suppressed: i64,
    pub invalid_count: i64,
}

/// A list: the contacts one import (an upload, or a segment added) brought to a campaign.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListView {
    pub id: ListId,
    pub campaign_id: CampaignId,
    pub name: String,
    pub source: ListSource,
    pub created_at: String,
    /// Its import's report; null until the import is recorded.
    pub report: Option<ListReport>,
    /// Whether its contacts are handed out (callbacks are, either way).
    pub active: bool,
}

fn view(row: ListRow, tz: chrono_tz::Tz) -> ListView {
    let report = match (row.import_id, row.state) {
        (Some(import), Some(state)) => Some(ListReport {
            import,
            state,
            total: row.total.unwrap_or(0),
            accepted: row.accepted.unwrap_or(0),
            duplicates: row.duplicates.unwrap_or(0),
            suppressed: row.suppressed.unwrap_or(0),
            invalid_count: row.invalid_count.unwrap_or(0),
        }),
        _ => None,
    };
    ListView {
        id: row.id,
        campaign_id: row.campaign_id,
        name: row.name,
        source: row.source,
        created_at: row.created_at.rfc3339(tz),
        report,
        active: row.active,
    }
}

/// A campaign's lists, oldest first (lead, supervisor).
#[utoipa::path(get, path = "/v1/campaigns/{id}/lists", tag = "contacts",
    params(("id" = i64, Path), ListParams),
    responses((status = 200, body = Page<ListView>), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn lists_of_campaign(
    _auth: Require<Supervisors>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CampaignId>,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<Json<Page<ListView>>> {
    let w = params.window()?;
    state.reads.campaign_get(id).await?;
    let rows = state
        .reads
        .list_page(id, ListId(w.after), w.limit + 1)
        .await?;
    let tz = state.tz();
    Ok(Json(
        Page::from_rows(rows, w.limit, |l| l.id.get()).map(|l| view(l, tz)),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateList {
    /// false: its contacts are no longer handed out (reason `list_inactive`); true: again.
    pub active: bool,
}

/// Switch a list off or on (lead; audited).
#[utoipa::path(patch, path = "/v1/lists/{id}", tag = "contacts",
    params(("id" = i64, Path)), request_body = UpdateList,
    responses((status = 200, body = ListView), (status = 404, body = super::error::Problem),
        (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn lists_update(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<ListId>,
    AppJson(body): AppJson<UpdateList>,
) -> Result<Json<ListView>> {
    let row = state.list_set_active(&auth.0, id, body.active).await?;
    Ok(Json(view(row, state.tz())))
}

/// How many contacts a removal took out.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Removed {
    pub removed: u64,
}

/// Remove the list's contacts that were never attempted (lead; audited): undoing a bad
/// import. Contacts attempted, on a call or being handed out stay.
#[utoipa::path(delete, path = "/v1/lists/{id}", tag = "contacts",
    params(("id" = i64, Path)),
    responses((status = 200, body = Removed), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn lists_delete(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<ListId>,
) -> Result<Json<Removed>> {
    let removed = state.list_remove_untouched(&auth.0, id).await?;
    Ok(Json(Removed { removed }))
}

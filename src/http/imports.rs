//! `GET /v1/imports/{id}`: the progress of a large import and, once finished, its report.

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    contacts::import::{ImportState, MAX_INVALID_LISTED, Report},
    ids::{CampaignId, ImportId},
};

use super::{
    AppState,
    auth::{Leads, Require},
    error::Result,
    extract::AppPath,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(imports_get))
}

/// An import's progress and, once finished, its report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportView {
    pub id: ImportId,
    pub campaign_id: CampaignId,
    pub state: ImportState,
    /// Rows read and committed so far.
    pub processed: i64,
    /// Size of the upload in bytes.
    pub bytes: i64,
    /// The report once the import is done (or failed: then it counts what was committed).
    pub report: Option<Report>,
    /// Why it failed.
    pub error: Option<String>,
    /// How many invalid rows there are; `report.invalid` lists the first 1,000.
    pub invalid_count: i64,
}

/// The largest number of invalid rows listed in a report (no more are stored).
const LIST_INVALID: i64 = MAX_INVALID_LISTED as i64;

/// An import's state, progress and report.
#[utoipa::path(get, path = "/v1/imports/{id}", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 200, body = ImportView), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn imports_get(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<ImportId>,
) -> Result<Json<ImportView>> {
    let row = state.reads.import_get(id).await?;
    let report = match row.state {
        ImportState::Done | ImportState::Failed => Some(Report {
            total: row.processed as u64,
            accepted: row.accepted as u64,
            duplicates: row.duplicates as u64,
            suppressed: row.suppressed as u64,
            invalid: state.reads.import_invalid(id, LIST_INVALID).await?,
            invalid_count: row.invalid_count as u64,
        }),
        ImportState::Queued | ImportState::Running => None,
    };
    Ok(Json(ImportView {
        id,
        campaign_id: row.campaign_id,
        state: row.state,
        processed: row.processed,
        bytes: row.bytes,
        report,
        error: row.error,
        invalid_count: row.invalid_count,
    }))
}

//! `GET /v1/imports/{id}`: the progress of a large import and, once finished, its report; and
//! `POST /v1/imports/preview`: how an upload would be read, without importing it.

use crate::codes::Code;
use axum::{
    Json,
    extract::{Request, State},
    response::Response,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    contacts::import::{ImportFormat, ImportState, MAX_INVALID_LISTED, Report},
    ids::{CampaignId, ImportId},
    text::spreadsheet_safe,
};

use super::{
    AppState,
    auth::{Leads, Require},
    csv_out::{CharsetParams, OutCharset, csv_download},
    error::{Error, Result},
    extract::{AppPath, AppQuery, idle_limited},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(imports_get))
        .routes(routes!(imports_preview))
        .routes(routes!(imports_invalid_csv))
}

/// An import's invalid rows as CSV (`row,value,code,reason`), to fix and upload again: the
/// rows the report lists (the first 1,000), each cell spreadsheet-safe (a value may start
/// with `=`). The body is bounded: 1,000 rows of at most 100 + 160 characters.
#[utoipa::path(get, path = "/v1/imports/{id}/invalid.csv", tag = "contacts", params(("id" = i64, Path), CharsetParams),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn imports_invalid_csv(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<ImportId>,
    AppQuery(p): AppQuery<CharsetParams>,
) -> Result<Response> {
    let charset = OutCharset::parse(p.charset.as_deref())?;
    state.reads.import_get(id).await?;
    let rows = state.reads.import_invalid(id, LIST_INVALID).await?;
    let mut w = csv::Writer::from_writer(vec![]);
    let _ = w.write_record(["row", "value", "code", "reason"]);
    for r in rows {
        let cells = [
            r.row.to_string(),
            r.value.unwrap_or_default(),
            r.code,
            r.reason,
        ];
        let _ = w.write_record(cells.iter().map(|c| spreadsheet_safe(c).into_owned()));
    }
    let body = w.into_inner().unwrap_or_default();
    let name = format!("import-{id}-invalid.csv");
    let page = futures::stream::once(async move { Ok(body) });
    Ok(csv_download(&name, charset, page))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewParams {
    /// The campaign the list is for: the preview names the attributes its script reads that
    /// the file does not carry.
    pub campaign: Option<String>,
    /// As for an upload (`POST /v1/campaigns/{id}/contacts`).
    pub mapping: Option<String>,
    /// As for an upload: an .xlsx workbook's sheet.
    pub sheet: Option<String>,
}

/// How a CSV or .xlsx upload would be read, without importing it: its columns, what each is
/// read as (`mapping`), its first 20 rows, its charset (a workbook: its `sheet` and `sheets`),
/// and the attributes the campaign's script reads
/// that no column carries. Same body and parameters as an upload; a header that cannot be read
/// is the same 422 the upload would get.
#[utoipa::path(post, path = "/v1/imports/preview", tag = "contacts", params(PreviewParams),
    request_body(content((String = "text/csv", example = "手机号码,客户姓名,套餐\n13800138000,王芳,全球通 88\n"),
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses((status = 200, body = Object), (status = 400, body = super::error::Problem),
        (status = 404, body = super::error::Problem), (status = 415, body = super::error::Problem),
        (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn imports_preview(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<PreviewParams>,
    req: Request,
) -> Result<Json<crate::contacts::csv::Preview>> {
    let campaign = match params.campaign.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(c.parse::<i64>().map(CampaignId).map_err(|_| {
            Error::bad("campaign", Code::IdInvalid.because("must be a campaign id"))
        })?),
    };
    if super::contacts::format_of(&req)? != ImportFormat::Csv {
        return Err(Error::UnsupportedMediaType(
            "a preview reads text/csv or .xlsx".into(),
        ));
    }
    let upload = super::contacts::UploadParams {
        mapping: params.mapping,
        list_name: None,
        sheet: params.sheet,
    };
    let options = super::contacts::upload_options(&req, upload)?;
    let idle = state.config.upload_idle.std();
    let stream = idle_limited(req.into_body(), idle);
    Ok(Json(
        state.preview_upload(campaign, &options, stream).await?,
    ))
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
            charset: row.charset,
            sheet: row.sheet,
            import: None,
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

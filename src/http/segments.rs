//! Segments of the customer base: `POST /v1/segments` and `GET /v1/segments`,
//! `POST /v1/segments/preview` (the exact count and a sample) and
//! `POST /v1/campaigns/{id}/contacts/from-segment` (an import, exactly as an upload).

use crate::codes::Code;
use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    contacts::import::{ImportState, Report},
    ids::{CampaignId, ContactId, SegmentId},
    service::segments::{Added, Source},
    store::{Page, segments::SegmentRow},
    validate::Invalid,
};

use super::{
    AppState,
    auth::{Leads, Require, Supervisors},
    contacts::ImportAccepted,
    error::Result,
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(segments_create, segments_list))
        .routes(routes!(segments_preview))
        .routes(routes!(segments_add_to_campaign))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSegment {
    /// 1–200 characters.
    pub name: String,
    /// The filter (see the contract: `all`, `any`, `not`, `attribute`, `called_within`,
    /// `last_disposition`, `converted`, `in_campaign`).
    #[schema(value_type = Object)]
    pub filter: serde_json::Value,
}

/// A saved segment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SegmentView {
    pub id: SegmentId,
    pub name: String,
    #[schema(value_type = Object)]
    pub filter: serde_json::Value,
    pub created_by: String,
    pub created_at: String,
}

fn view(row: SegmentRow, tz: chrono_tz::Tz) -> SegmentView {
    SegmentView {
        id: row.id,
        name: row.name,
        filter: serde_json::from_str(&row.filter).unwrap_or(serde_json::Value::Null),
        created_by: row.created_by,
        created_at: row.created_at.rfc3339(tz),
    }
}

/// Save a segment (lead; audited).
#[utoipa::path(post, path = "/v1/segments", tag = "segments", request_body = CreateSegment,
    responses((status = 201, body = SegmentView), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn segments_create(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppJson(body): AppJson<CreateSegment>,
) -> Result<(StatusCode, Json<SegmentView>)> {
    let row = state
        .segment_create(&auth.0, &body.name, &body.filter)
        .await?;
    Ok((StatusCode::CREATED, Json(view(row, state.tz()))))
}

/// The saved segments, oldest first.
#[utoipa::path(get, path = "/v1/segments", tag = "segments", params(ListParams),
    responses((status = 200, body = Page<SegmentView>)), security(("bearer" = [])))]
async fn segments_list(
    _auth: Require<Supervisors>,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<Json<Page<SegmentView>>> {
    let w = params.window()?;
    let rows = state
        .reads
        .segment_list(SegmentId(w.after), w.limit + 1)
        .await?;
    let tz = state.tz();
    Ok(Json(
        Page::from_rows(rows, w.limit, |s| s.id.get()).map(|s| view(s, tz)),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewSegment {
    #[schema(value_type = Object)]
    pub filter: serde_json::Value,
}

/// A person a preview shows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SampleContact {
    pub id: ContactId,
    pub phone: String,
    pub name: Option<String>,
    pub timezone: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// How many people the filter selects now (exact).
    pub count: i64,
    /// The first 20 of them, by id.
    pub sample: Vec<SampleContact>,
}

/// Preview a filter: the exact count and a sample (lead, supervisor).
#[utoipa::path(post, path = "/v1/segments/preview", tag = "segments", request_body = PreviewSegment,
    responses((status = 200, body = Preview), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn segments_preview(
    _auth: Require<Supervisors>,
    State(state): State<AppState>,
    AppJson(body): AppJson<PreviewSegment>,
) -> Result<Json<Preview>> {
    let (count, sample) = state.segment_preview(&body.filter).await?;
    let sample = sample
        .into_iter()
        .map(|c| SampleContact {
            id: c.id,
            phone: c.phone,
            name: c.name,
            timezone: c.timezone.map(|z| z.to_string()),
            attributes: serde_json::json!(c.attributes.0),
        })
        .collect();
    Ok(Json(Preview { count, sample }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FromSegment {
    /// A saved segment's id, or:
    pub segment: Option<SegmentId>,
    /// a filter (exactly one of the two).
    #[schema(value_type = Option<Object>)]
    pub filter: Option<serde_json::Value>,
    /// The name of the list the people join as.
    pub list_name: Option<String>,
}

/// Add the people a segment selects to a campaign (lead): 200 with the import report, or 202
/// with an import id for a large segment, exactly as an upload.
#[utoipa::path(post, path = "/v1/campaigns/{id}/contacts/from-segment", tag = "segments",
    params(("id" = i64, Path)), request_body = FromSegment,
    responses((status = 200, body = Report), (status = 202, body = ImportAccepted),
        (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem),
        (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn segments_add_to_campaign(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CampaignId>,
    AppJson(body): AppJson<FromSegment>,
) -> Result<Response> {
    let source = match (body.segment, body.filter) {
        (Some(segment), None) => Source::Segment(segment),
        (None, Some(filter)) => Source::Filter(filter),
        _ => {
            return Err(Invalid::field(
                "segment",
                Code::OneOfTwo
                    .because("give either a segment's id or a filter")
                    .with("other", "filter"),
            )
            .into());
        }
    };
    match state
        .segment_add(&auth.0, id, source, body.list_name.as_deref())
        .await?
    {
        Added::Done(report) => Ok(Json(report).into_response()),
        Added::Queued(import) => {
            let accepted = ImportAccepted {
                id: import,
                state: ImportState::Queued,
            };
            let location = [(header::LOCATION, format!("/v1/imports/{import}"))];
            Ok((StatusCode::ACCEPTED, location, Json(accepted)).into_response())
        }
    }
}

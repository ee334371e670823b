//! `/v1/dnc`: the do-not-call list. A listing takes effect for every campaign the moment it
//! commits; removing one lets suppressed contacts be called again.

use crate::codes::Code;
use axum::{
    Json,
    extract::{Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    contacts::Phone,
    service::dnc::DncReport,
    store::{Page, dnc::DncEntry},
};

use super::{
    AppState,
    auth::{Leads, Require},
    error::{Error, Result},
    extract::{AppPath, AppQuery, body_bytes, is_json, parse_json, read_idle_limited},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dnc_add, dnc_list))
        .routes(routes!(dnc_remove))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DncInput {
    pub phone: String,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DncView {
    pub phone: String,
    pub reason: Option<String>,
    pub added_by: String,
    pub added_at: String,
}

/// The 200 of `POST /v1/dnc`: the entry, when a JSON body names a phone already listed;
/// the report, for a CSV body. Only describes the answer in the OpenAPI document.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum DncAdded {
    AlreadyListed(DncView),
    Report(DncReport),
}

fn view(e: DncEntry, tz: chrono_tz::Tz) -> DncView {
    DncView {
        added_at: e.added_at.rfc3339(tz),
        phone: e.phone,
        reason: e.reason,
        added_by: e.added_by,
    }
}

/// Largest CSV of phones read in one request.
const MAX_DNC_CSV: usize = 64 * 1024 * 1024;

/// List a phone (JSON: 201, or 200 if already listed) or many (CSV with a `phone` column and an
/// optional `reason`: 200 with a report).
#[utoipa::path(post, path = "/v1/dnc", tag = "dnc",
    request_body(content((DncInput = "application/json"), (String = "text/csv", example = "phone,reason\n13800138000,asked\n"))),
    responses((status = 201, body = DncView), (status = 200, body = DncAdded),
        (status = 415, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn dnc_add(
    auth: Require<Leads>,
    State(state): State<AppState>,
    req: Request,
) -> Result<Response> {
    let by = &auth.0;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if is_json(ct.as_deref()) {
        let bytes = body_bytes(req, &state).await?;
        let input: DncInput = parse_json(&bytes)?;
        let (entry, added) = state
            .list_phone(&input.phone, input.reason.as_deref(), by)
            .await?;
        let status = if added {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        return Ok((status, Json(view(entry, state.tz()))).into_response());
    }
    let mime = ct
        .as_deref()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !matches!(mime.as_str(), "text/csv" | "application/csv" | "text/plain") {
        return Err(Error::UnsupportedMediaType(
            "send a phone as application/json or many as text/csv".into(),
        ));
    }
    let idle = state.config.upload_idle.std();
    let bytes = read_idle_limited(req.into_body(), idle, MAX_DNC_CSV).await?;
    let report = state.list_phones_csv(&bytes, by).await?;
    Ok((StatusCode::OK, Json(report)).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DncListParams {
    /// Look up one phone (any form; it is normalised).
    pub phone: Option<String>,
    pub limit: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
}

/// Look a phone up (`?phone=`), or page through the list.
#[utoipa::path(get, path = "/v1/dnc", tag = "dnc", params(DncListParams),
    responses((status = 200, body = Page<DncView>)), security(("bearer" = [])))]
async fn dnc_list(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<DncListParams>,
) -> Result<Json<Page<DncView>>> {
    let tz = state.tz();
    if let Some(phone) = params.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        let phone = Phone::to_find(phone, state.region)
            .map_err(|e| Error::bad("phone", Code::PhoneInvalid.because(e)))?;
        let items = state
            .reads
            .dnc_get(&phone)
            .await?
            .into_iter()
            .map(|e| view(e, tz))
            .collect();
        return Ok(Json(Page { items, next: None }));
    }
    let limit = match params.limit.as_deref() {
        None => 50,
        Some(t) => t
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| Error::bad("limit", crate::http::pagination::limit_range()))?,
    };
    let after = params.after.unwrap_or_default();
    let rows = state.reads.dnc_list(&after, limit).await?;
    let more = rows.len() as i64 > limit;
    let items: Vec<DncView> = rows
        .into_iter()
        .take(limit as usize)
        .map(|e| view(e, tz))
        .collect();
    let next = if more {
        items.last().map(|e| e.phone.clone())
    } else {
        None
    };
    Ok(Json(Page { items, next }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoveParams {
    /// Why the phone may be called again (required; kept with the listing's history).
    pub reason: Option<String>,
}

/// Remove a phone from the list (`?reason=` required); contacts it suppressed may be called
/// again. The listing stays in the list's history and the audit log.
#[utoipa::path(delete, path = "/v1/dnc/{phone}", tag = "dnc", params(("phone" = String, Path), RemoveParams),
    responses((status = 204), (status = 404, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn dnc_remove(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(phone): AppPath<String>,
    AppQuery(params): AppQuery<RemoveParams>,
) -> Result<StatusCode> {
    state
        .unlist_phone(&phone, params.reason.as_deref(), &auth.0)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

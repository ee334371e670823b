//! `/v1/dnc`: the do-not-call list. A listing takes effect for every campaign the moment it
//! commits; removing one lets suppressed contacts be called again.

use axum::{
    Json,
    extract::{Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    contacts::{Phone, Region, import::Invalid},
    store::{Page, Store, dnc::DncEntry},
    text::Notes,
};

use super::{
    AppState,
    auth::{Leads, Require},
    campaigns::rfc3339,
    error::{Error, Result},
    extract::{AppPath, AppQuery, body_bytes, is_json, parse_json},
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

/// What a CSV of phones did.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct DncReport {
    pub total: u64,
    pub added: u64,
    pub already_listed: u64,
    pub invalid: Vec<Invalid>,
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
        added_at: rfc3339(e.added_at, tz),
        phone: e.phone,
        reason: e.reason,
        added_by: e.added_by,
    }
}

fn region(state: &AppState) -> Result<Region> {
    Region::parse(&state.config.default_region).map_err(|e| Error::Internal(anyhow::anyhow!(e)))
}

/// Largest CSV of phones read in one request.
const MAX_DNC_CSV: usize = 64 * 1024 * 1024;
const DNC_BATCH: usize = 1_000;

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
    let who = auth.0.name.clone();
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let now = state.clock.now_ms();
    if is_json(ct.as_deref()) {
        let bytes = body_bytes(req, &state).await?;
        let input: DncInput = parse_json(&bytes)?;
        let phone =
            Phone::parse(&input.phone, region(&state)?).map_err(|e| Error::field("phone", e))?;
        let reason = match input.reason {
            Some(r) => Some(Notes::parse(&r).map_err(|e| Error::field("reason", e))?),
            None => None,
        };
        let added = state
            .store
            .dnc_add(
                phone.as_str(),
                reason.as_ref().map(Notes::as_str),
                &who,
                now,
            )
            .await?;
        tracing::info!(phone = %phone, added, "phone listed as do-not-call");
        let entry = state
            .store
            .dnc_get(phone.as_str())
            .await?
            .ok_or(Error::NotFound)?;
        let status = if added {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        return Ok((status, Json(view(entry, state.config.timezone))).into_response());
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
    let body = req.into_body();
    let bytes = axum::body::to_bytes(body, MAX_DNC_CSV)
        .await
        .map_err(|_| Error::PayloadTooLarge)?;
    let report = add_csv(&state.store, &bytes, region(&state)?, &who, now).await?;
    Ok((StatusCode::OK, Json(report)).into_response())
}

async fn add_csv(
    store: &Store,
    bytes: &[u8],
    region: Region,
    who: &str,
    now: i64,
) -> Result<DncReport> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header: Vec<String> = reader
        .byte_headers()
        .map_err(|e| Error::field("phone", format!("the header row cannot be read: {e}")))?
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim_start_matches('\u{feff}')
                .trim()
                .to_lowercase()
        })
        .collect();
    let phone_col = header
        .iter()
        .position(|h| h == "phone")
        .ok_or_else(|| Error::field("phone", "the header has no 'phone' column"))?;
    let reason_col = header.iter().position(|h| h == "reason");
    let mut report = DncReport::default();
    let mut batch: Vec<(Phone, Option<String>)> = vec![];
    for (i, record) in reader.byte_records().enumerate() {
        let row = i as u64 + 2;
        report.total += 1;
        let parsed = record.map_err(|e| e.to_string()).and_then(|r| {
            let field = |c: usize| {
                r.get(c)
                    .map(|f| String::from_utf8_lossy(f).trim().to_owned())
            };
            let phone = Phone::parse(&field(phone_col).unwrap_or_default(), region)
                .map_err(|e| format!("phone {e}"))?;
            let reason = reason_col.and_then(field).filter(|r| !r.is_empty());
            if let Some(r) = &reason {
                Notes::parse(r).map_err(|e| format!("reason {e}"))?;
            }
            Ok((phone, reason))
        });
        match parsed {
            Ok(entry) => batch.push(entry),
            Err(reason) => report.invalid.push(Invalid { row, reason }),
        }
        if batch.len() >= DNC_BATCH {
            commit_batch(store, &mut batch, who, now, &mut report).await?;
        }
    }
    commit_batch(store, &mut batch, who, now, &mut report).await?;
    Ok(report)
}

async fn commit_batch(
    store: &Store,
    batch: &mut Vec<(Phone, Option<String>)>,
    who: &str,
    now: i64,
    report: &mut DncReport,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    for (phone, reason) in batch.drain(..) {
        if Store::dnc_add_in(&mut tx, phone.as_str(), reason.as_deref(), who, now).await? {
            report.added += 1;
        } else {
            report.already_listed += 1;
        }
    }
    tx.commit().await?;
    Ok(())
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
    let tz = state.config.timezone;
    if let Some(phone) = params.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        let phone = Phone::parse(phone, region(&state)?).map_err(|e| Error::bad("phone", e))?;
        let items = state
            .store
            .dnc_get(phone.as_str())
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
            .ok_or_else(|| Error::bad("limit", "must be a whole number from 1 to 1000"))?,
    };
    let after = params.after.unwrap_or_default();
    let rows = state.store.dnc_list(&after, limit).await?;
    let more = rows.len() as i64 > limit;
    let mut items: Vec<DncView> = rows
        .into_iter()
        .take(limit as usize)
        .map(|e| view(e, tz))
        .collect();
    let next = if more {
        items.last().map(|e| e.phone.clone())
    } else {
        None
    };
    items.truncate(limit as usize);
    Ok(Json(Page { items, next }))
}

/// Remove a phone from the list; contacts it suppressed may be called again.
#[utoipa::path(delete, path = "/v1/dnc/{phone}", tag = "dnc", params(("phone" = String, Path)),
    responses((status = 204), (status = 404, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn dnc_remove(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(phone): AppPath<String>,
) -> Result<StatusCode> {
    let phone = Phone::parse(&phone, region(&state)?).map_err(|e| Error::field("phone", e))?;
    if state
        .store
        .dnc_remove(phone.as_str(), state.clock.now_ms())
        .await?
    {
        tracing::info!(phone = %phone, "phone removed from do-not-call list");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound)
    }
}

//! Contact lists: `POST /v1/campaigns/{id}/contacts` (CSV or JSON), the campaign's contacts,
//! one contact with its history, and the progress of large imports.

use std::sync::Arc;

use axum::{
    Json,
    body::Body,
    extract::{Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono_tz::Tz;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    campaigns::CampaignStatus,
    contacts::{
        ContactState, Region,
        import::{RawContact, Report},
    },
    jobs::importer,
    store::{Page, contacts::EntryRow, imports::ImportState},
};

use super::{
    AppState,
    auth::{Leads, Require},
    campaigns::rfc3339,
    error::{Error, Result},
    extract::{AppPath, AppQuery, is_json, parse_json},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(contacts_import, contacts_list))
        .routes(routes!(contacts_get))
        .routes(routes!(imports_get))
}

/// Largest JSON contact upload (JSON is read whole; use CSV for big lists).
const MAX_JSON_UPLOAD: usize = 64 * 1024 * 1024;
/// Pieces an upload is stored in for its import job.
const CHUNK: usize = 1024 * 1024;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactsUpload {
    pub contacts: Vec<RawContact>,
}

/// A queued import (202).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportAccepted {
    pub id: i64,
    pub state: ImportState,
}

/// An import's progress and, once finished, its report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportView {
    pub id: i64,
    pub campaign_id: i64,
    pub state: ImportState,
    /// Rows read and committed so far.
    pub processed: i64,
    /// Size of the upload in bytes.
    pub bytes: i64,
    /// The report once the import is done (or failed: then it counts what was committed).
    pub report: Option<Report>,
    /// Why it failed.
    pub error: Option<String>,
    /// How many invalid rows there are; `report.invalid` lists the first 10,000.
    pub invalid_count: i64,
}

enum Format {
    Csv,
    Json,
}

fn format_of(req: &Request) -> Result<Format> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if is_json(ct) {
        return Ok(Format::Json);
    }
    let mime = ct
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if matches!(mime.as_str(), "text/csv" | "application/csv" | "text/plain") {
        Ok(Format::Csv)
    } else {
        Err(Error::UnsupportedMediaType(
            "send contacts as text/csv or application/json".into(),
        ))
    }
}

/// Import contacts: 200 with the report, or 202 with an import id for large CSV uploads.
#[utoipa::path(post, path = "/v1/campaigns/{id}/contacts", tag = "contacts", params(("id" = i64, Path)),
    request_body(content(
        (ContactsUpload = "application/json"),
        (String = "text/csv", example = "phone,name,plan\n13800138000,王芳,全球通 88\n")
    )),
    responses((status = 200, body = Report), (status = 202, body = ImportAccepted),
        (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem),
        (status = 413, body = super::error::Problem), (status = 415, body = super::error::Problem),
        (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn contacts_import(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
    req: Request,
) -> Result<Response> {
    let campaign = state.store.campaign_get(id).await?;
    if campaign.status() == CampaignStatus::Completed {
        return Err(Error::Conflict("the campaign is completed".into()));
    }
    let format = format_of(&req)?;
    let region = Region::parse(&state.config.default_region).map_err(anyhow::Error::msg)?;
    let agents = Arc::new(state.store.agent_ids().await?);
    let now = state.clock.now_ms();
    match format {
        Format::Json => {
            let bytes = read_limited(
                req.into_body(),
                MAX_JSON_UPLOAD.min(state.config.max_upload_bytes),
            )
            .await?;
            let upload: ContactsUpload = parse_json(&bytes)?;
            let batches = importer::check_json(upload.contacts, region, &agents);
            let (tx, rx) = tokio::sync::mpsc::channel(batches.len().max(1));
            for batch in batches {
                let _ = tx.try_send(Ok(batch));
            }
            drop(tx);
            let report = importer::ingest_inline(&state.store, id, rx, now)
                .await?
                .map_err(|m| Error::field("contacts", m))?;
            Ok(Json(report).into_response())
        }
        Format::Csv => import_csv(&state, id, req.into_body(), region, agents, now).await,
    }
}

async fn read_limited(body: Body, limit: usize) -> Result<Vec<u8>> {
    let mut stream = body.into_data_stream();
    let mut out = vec![];
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::bad("body", format!("the upload broke off: {e}")))?;
        if out.len() + chunk.len() > limit {
            return Err(Error::PayloadTooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Reads a CSV upload as it streams in. Up to the inline threshold it is imported at once in
/// one transaction; past it, the upload is stored piece by piece and an import job reads it.
async fn import_csv(
    state: &AppState,
    campaign_id: i64,
    body: Body,
    region: Region,
    agents: Arc<std::collections::HashSet<i64>>,
    now: i64,
) -> Result<Response> {
    let inline_limit = state.config.import_inline_bytes;
    let max = state.config.max_upload_bytes;
    let mut stream = body.into_data_stream();
    let mut head: Vec<u8> = vec![];
    let mut overflow = false;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::bad("body", format!("the upload broke off: {e}")))?;
        head.extend_from_slice(&chunk);
        if head.len() > max {
            return Err(Error::PayloadTooLarge);
        }
        if head.len() > inline_limit {
            overflow = true;
            break;
        }
    }
    if !overflow {
        let rx = importer::parse_csv(std::io::Cursor::new(head), region, agents, 0);
        let report = importer::ingest_inline(&state.store, campaign_id, rx, now)
            .await?
            .map_err(|m| Error::field("phone", m))?;
        return Ok(Json(report).into_response());
    }

    let import_id = state.store.import_create(campaign_id, "csv", now).await?;
    let stored = store_upload(state, import_id, head, &mut stream, max).await;
    let total = match stored {
        Ok(total) => total,
        Err(error) => {
            let reason = match &error {
                Error::PayloadTooLarge => "the upload was larger than allowed".to_owned(),
                _ => "the upload did not finish".to_owned(),
            };
            state
                .store
                .import_finish(import_id, Some(&reason), state.clock.now_ms())
                .await?;
            return Err(error);
        }
    };
    state
        .store
        .import_uploaded(import_id, total as i64, state.clock.now_ms())
        .await?;
    state
        .jobs
        .push_import(import_id)
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!(e)))?;
    metrics::counter!("outcall_import_uploads_total", "path" => "job").increment(1);
    let accepted = ImportAccepted {
        id: import_id,
        state: ImportState::Queued,
    };
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/v1/imports/{import_id}"))],
        Json(accepted),
    )
        .into_response())
}

async fn store_upload<S>(
    state: &AppState,
    import_id: i64,
    mut pending: Vec<u8>,
    stream: &mut S,
    max: usize,
) -> Result<usize>
where
    S: futures::Stream<Item = Result<axum::body::Bytes, axum::Error>> + Unpin,
{
    let mut seq = 0i64;
    let mut total = pending.len();
    loop {
        while pending.len() >= CHUNK {
            let rest = pending.split_off(CHUNK);
            state
                .store
                .import_put_chunk(import_id, seq, &pending)
                .await?;
            seq += 1;
            pending = rest;
            state
                .store
                .import_uploading(import_id, total as i64, state.clock.now_ms())
                .await?;
        }
        match stream.next().await {
            Some(chunk) => {
                let chunk =
                    chunk.map_err(|e| Error::bad("body", format!("the upload broke off: {e}")))?;
                total += chunk.len();
                if total > max {
                    return Err(Error::PayloadTooLarge);
                }
                pending.extend_from_slice(&chunk);
            }
            None => break,
        }
    }
    if !pending.is_empty() {
        state
            .store
            .import_put_chunk(import_id, seq, &pending)
            .await?;
    }
    Ok(total)
}

/// The largest number of invalid rows listed in a report.
const LIST_INVALID: i64 = 10_000;

/// An import's state, progress and report.
#[utoipa::path(get, path = "/v1/imports/{id}", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 200, body = ImportView), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn imports_get(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<Json<ImportView>> {
    let row = state.store.import_get(id).await?;
    let import_state = match row.state.as_str() {
        "queued" => ImportState::Queued,
        "running" => ImportState::Running,
        "done" => ImportState::Done,
        _ => ImportState::Failed,
    };
    let report = if matches!(import_state, ImportState::Done | ImportState::Failed) {
        Some(Report {
            total: row.processed as u64,
            accepted: row.accepted as u64,
            duplicates: row.duplicates as u64,
            suppressed: row.suppressed as u64,
            invalid: state.store.import_invalid(id, LIST_INVALID).await?,
        })
    } else {
        None
    };
    Ok(Json(ImportView {
        id,
        campaign_id: row.campaign_id,
        state: import_state,
        processed: row.processed,
        bytes: row.bytes,
        report,
        error: row.error,
        invalid_count: row.invalid_count,
    }))
}

/// A contact in a campaign's list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub id: i64,
    pub phone: String,
    pub name: Option<String>,
    pub timezone: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    pub state: ContactState,
    pub priority: i64,
    pub owner_agent: Option<i64>,
    pub attempts: i64,
    /// When the contact is next due (RFC 3339, the contact's or campaign's zone).
    pub next_attempt_at: String,
    pub last_disposition: Option<String>,
}

/// The zone a contact's times are shown in: its own, else the campaign's.
pub fn contact_tz(own: Option<&str>, fallback: Tz) -> Tz {
    own.and_then(|t| t.parse().ok()).unwrap_or(fallback)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactListParams {
    pub limit: Option<String>,
    pub after: Option<String>,
    /// ready, leased, scheduled, done, exhausted or suppressed.
    pub state: Option<String>,
}

/// A campaign's contacts, optionally in one state.
#[utoipa::path(get, path = "/v1/campaigns/{id}/contacts", tag = "contacts",
    params(("id" = i64, Path), ContactListParams),
    responses((status = 200, body = Page<EntryView>), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn contacts_list(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
    AppQuery(params): AppQuery<ContactListParams>,
) -> Result<Json<Page<EntryView>>> {
    let w = ListParams {
        limit: params.limit,
        after: params.after,
    }
    .window()?;
    let filter = match params.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            s.parse::<ContactState>()
                .map_err(|e| Error::bad("state", e))?,
        ),
    };
    let campaign = state.store.campaign_get(id).await?;
    let rows = state
        .store
        .campaign_contacts(id, filter, w.after, w.limit)
        .await?;
    let tz = campaign.tz();
    Ok(Json(Page::from_rows(rows, w.limit, |r| r.entry_id).map(
        |r: EntryRow| EntryView {
            id: r.id,
            next_attempt_at: rfc3339(r.next_attempt_at, contact_tz(r.timezone.as_deref(), tz)),
            phone: r.phone,
            name: r.name,
            timezone: r.timezone,
            attributes: serde_json::from_str(&r.attributes).unwrap_or_default(),
            state: r.state.parse().unwrap_or(ContactState::Ready),
            priority: r.priority,
            owner_agent: r.owner_agent,
            attempts: r.attempts,
            last_disposition: r.last_disposition,
        },
    )))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MembershipView {
    pub id: i64,
    pub name: String,
    pub state: ContactState,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_disposition: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryView {
    pub at: String,
    /// The campaign's id.
    pub campaign: i64,
    pub campaign_name: String,
    /// The agent's name.
    pub agent: Option<String>,
    pub agent_id: Option<i64>,
    /// `outcome`, `released`, `lease_expired` (handed back to the queue) or `callback_opened`
    /// (an agent's callback opened to the whole campaign after its grace period).
    pub event: String,
    pub disposition: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContactView {
    pub id: i64,
    pub phone: String,
    pub name: Option<String>,
    pub timezone: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    pub campaigns: Vec<MembershipView>,
    pub history: Vec<HistoryView>,
}

/// A contact with its campaigns and its call history across them.
#[utoipa::path(get, path = "/v1/contacts/{id}", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 200, body = ContactView), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn contacts_get(
    _auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<Json<ContactView>> {
    let contact = state.store.contact_get(id).await?;
    let tz = contact_tz(contact.timezone.as_deref(), state.config.timezone);
    let campaigns = state.store.contact_memberships(id).await?;
    let history = state.store.contact_history(id).await?;
    Ok(Json(ContactView {
        id,
        phone: contact.phone,
        name: contact.name,
        timezone: contact.timezone,
        attributes: serde_json::from_str(&contact.attributes).unwrap_or_default(),
        campaigns: campaigns
            .into_iter()
            .map(|m| MembershipView {
                id: m.campaign_id,
                name: m.campaign_name,
                state: m.state.parse().unwrap_or(ContactState::Ready),
                attempts: m.attempts,
                next_attempt_at: rfc3339(m.next_attempt_at, tz),
                last_disposition: m.last_disposition,
            })
            .collect(),
        history: history.into_iter().map(|h| history_view(h, tz)).collect(),
    }))
}

pub fn history_view(h: crate::store::contacts::HistoryRow, tz: Tz) -> HistoryView {
    HistoryView {
        at: rfc3339(h.at, tz),
        campaign: h.campaign_id,
        campaign_name: h.campaign_name,
        agent: h.agent_name,
        agent_id: h.agent_id,
        event: h.kind,
        disposition: h.disposition,
        notes: h.notes,
    }
}

//! Contact lists: `POST /v1/campaigns/{id}/contacts` (CSV or JSON), the campaign's contacts,
//! and one contact with its history.

use crate::codes::Code;
use axum::{
    Json,
    extract::{Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    contacts::{
        ContactState,
        charset::Charset,
        import::{ImportFormat, ImportState, RawContact, Report},
        lists::{ListSource, NewList},
        mapping::Mapping,
    },
    dispatch::{Disposition, HistoryKind},
    ids::{AgentId, CampaignId, ContactId, EntryId, ImportId},
    service::imports::{Upload, UploadOptions},
    store::{Page, contacts::HistoryRow},
};

use super::{
    AppState,
    auth::{Leads, Require},
    error::{Error, Result},
    extract::{AppPath, AppQuery, idle_limited, is_json, parse_json},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(contacts_import, contacts_list))
        .routes(routes!(contacts_get, super::lookup::contacts_update))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactsUpload {
    pub contacts: Vec<RawContact>,
}

/// A queued import (202).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportAccepted {
    pub id: ImportId,
    pub state: ImportState,
}

/// How an upload is to be read, from its query string.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// A JSON object: file column → `phone`, `name`, `timezone`, `external_id`, `priority`,
    /// `attributes.<key>`, or null to skip the column (CSV uploads). Columns it leaves out are
    /// read by their header: 手机号码/手机/电话/号码/联系电话/phone/mobile, 姓名/客户姓名/客户名称/name,
    /// 时区/timezone, 外部编号/客户编号/external_id; any other becomes an attribute.
    pub mapping: Option<String>,
    /// The name of the list the upload makes (1–200 characters); by default `upload` and
    /// the upload's time.
    pub list_name: Option<String>,
    /// For an .xlsx upload: the sheet whose rows are read (its name); the first sheet when
    /// absent. 422 naming `sheet` if the workbook has none of that name.
    pub sheet: Option<String>,
}

/// The content type of an .xlsx workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Whether the request's body is an .xlsx workbook (by its content type).
fn is_xlsx(req: &Request) -> bool {
    mime_of(req) == XLSX
}

/// The request's content type without its parameters, lower case.
fn mime_of(req: &Request) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The options an upload's request gives: its `charset=` (415 if outcall does not read it)
/// and its `mapping` (400 if not a JSON object, 422 if it maps a column to what is not a
/// field).
pub fn upload_options(req: &Request, params: UploadParams) -> Result<UploadOptions> {
    let charset = match charset_param(req) {
        None => None,
        Some(label) => Some(Charset::from_label(&label).ok_or_else(|| {
            Error::UnsupportedMediaType(format!(
                "charset '{}' is not one outcall reads: send UTF-8, GB18030/GBK or UTF-16",
                crate::text::excerpt(&label, 40)
            ))
        })?),
    };
    let mapping = match params.mapping.as_deref() {
        None => None,
        Some(text) => {
            serde_json::from_str::<std::collections::BTreeMap<String, Option<String>>>(text)
                .map_err(|_| {
                    Error::bad(
                        "mapping",
                        Code::MappingInvalid
                            .because("must be a JSON object of file column → field name or null"),
                    )
                })?;
            Some(Mapping::parse(text).map_err(|m| {
                Error::Unprocessable(vec![crate::validate::FieldError::new(
                    "mapping",
                    Code::MappingInvalid.because(m),
                )])
            })?)
        }
    };
    let list = match params.list_name.as_deref() {
        None => None,
        Some(given) => Some(
            NewList::parse(Some(given), ListSource::Upload, String::new).map_err(|r| {
                Error::Unprocessable(vec![crate::validate::FieldError::new("list_name", r)])
            })?,
        ),
    };
    let workbook = is_xlsx(req);
    let sheet = match params.sheet {
        Some(_) if !workbook => {
            return Err(Error::bad(
                "sheet",
                Code::ParameterInvalid.because("applies to .xlsx uploads"),
            ));
        }
        Some(s) if s.trim().is_empty() => None,
        other => other,
    };
    Ok(UploadOptions {
        charset,
        mapping,
        list,
        workbook,
        sheet,
    })
}

/// The `charset=` parameter of the request's content type, if any.
pub fn charset_param(req: &Request) -> Option<String> {
    let ct = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().to_owned())
    })
}

pub fn format_of(req: &Request) -> Result<ImportFormat> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if is_json(ct) {
        return Ok(ImportFormat::Json);
    }
    let mime = mime_of(req);
    // A workbook's rows are read as a CSV file's are (`contacts::xlsx`).
    if matches!(
        mime.as_str(),
        "text/csv" | "application/csv" | "text/plain" | XLSX
    ) {
        Ok(ImportFormat::Csv)
    } else {
        Err(Error::UnsupportedMediaType(
            "send contacts as text/csv, .xlsx or application/json".into(),
        ))
    }
}

/// Import contacts: 200 with the report, or 202 with an import id for large uploads (CSV,
/// .xlsx or JSON), read by a background job. CSV comes in UTF-8, GB18030/GBK or UTF-16 (its
/// `charset=`, else told from its start), separated by commas, tabs or semicolons. An .xlsx
/// workbook (`application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`, at most
/// `OUTCALL_MAX_XLSX_BYTES`) is read from its first sheet or `sheet`, like a CSV file.
#[utoipa::path(post, path = "/v1/campaigns/{id}/contacts", tag = "contacts",
    params(("id" = i64, Path), UploadParams),
    request_body(content(
        (ContactsUpload = "application/json"),
        (String = "text/csv", example = "phone,name,plan\n13800138000,王芳,全球通 88\n"),
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )),
    responses((status = 200, body = Report), (status = 202, body = ImportAccepted),
        (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem),
        (status = 413, body = super::error::Problem), (status = 415, body = super::error::Problem),
        (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn contacts_import(
    auth: Require<Leads>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CampaignId>,
    AppQuery(params): AppQuery<UploadParams>,
    req: Request,
) -> Result<Response> {
    state.open_campaign(id).await?;
    let format = format_of(&req)?;
    let options = upload_options(&req, params)?;
    let idle = state.config.upload_idle.std();
    let stream = idle_limited(req.into_body(), idle);
    let list = options.list.clone();
    let (bytes, csv) = match state
        .receive_upload(&auth.0, id, format, &options, stream)
        .await?
    {
        Upload::Small(bytes, csv) => (bytes, csv),
        Upload::Queued(import) => {
            let accepted = ImportAccepted {
                id: import,
                state: ImportState::Queued,
            };
            let location = [(header::LOCATION, format!("/v1/imports/{import}"))];
            return Ok((StatusCode::ACCEPTED, location, Json(accepted)).into_response());
        }
    };
    let report = match format {
        ImportFormat::Csv => state.import_csv(&auth.0, id, bytes, csv, list).await?,
        ImportFormat::Json => {
            let upload: ContactsUpload = parse_json(&bytes)?;
            state
                .import_json(&auth.0, id, upload.contacts, bytes.len(), list)
                .await?
        }
    };
    Ok(Json(report).into_response())
}

/// A contact in a campaign's list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub id: ContactId,
    pub phone: String,
    pub name: Option<String>,
    pub timezone: Option<String>,
    /// The person's id in another system (a CRM's customer number).
    pub external_id: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    pub state: ContactState,
    pub priority: i64,
    pub owner_agent: Option<AgentId>,
    pub attempts: i64,
    /// When the contact is next due (RFC 3339, the contact's or campaign's zone).
    pub next_attempt_at: String,
    pub last_disposition: Option<Disposition>,
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
    AppPath(id): AppPath<CampaignId>,
    AppQuery(params): AppQuery<ContactListParams>,
) -> Result<Json<Page<EntryView>>> {
    let w = ListParams::new(params.limit, params.after).window()?;
    let filter = match params.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            s.parse::<ContactState>()
                .map_err(|e| Error::bad("state", e))?,
        ),
    };
    let campaign = state.reads.campaign_get(id).await?;
    let rows = state
        .reads
        .campaign_contacts(id, filter, EntryId(w.after), w.limit)
        .await?;
    let tz = campaign.tz();
    Ok(Json(
        Page::from_rows(rows, w.limit, |r| r.entry_id.get()).map(|r| {
            let own = r.timezone.map(|z| z.0);
            EntryView {
                id: r.id,
                next_attempt_at: r.next_attempt_at.rfc3339(own.unwrap_or(tz)),
                phone: r.phone,
                name: r.name,
                timezone: own.map(|z| z.name().to_owned()),
                external_id: r.external_id,
                attributes: serde_json::json!(r.attributes.0),
                state: r.state,
                priority: r.priority,
                owner_agent: r.owner_agent,
                attempts: r.attempts,
                last_disposition: r.last_disposition,
            }
        }),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MembershipView {
    pub id: CampaignId,
    pub name: String,
    pub state: ContactState,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_disposition: Option<Disposition>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryView {
    pub at: String,
    /// The campaign's id.
    pub campaign: CampaignId,
    pub campaign_name: String,
    /// The agent's name.
    pub agent: Option<String>,
    pub agent_id: Option<AgentId>,
    /// `outcome`, `released`, `lease_expired` (handed back to the queue) or `callback_opened`
    /// (an agent's callback opened to the whole campaign after its grace period).
    pub event: HistoryKind,
    pub disposition: Option<Disposition>,
    pub notes: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ContactView {
    pub id: ContactId,
    pub phone: String,
    pub name: Option<String>,
    pub timezone: Option<String>,
    /// The person's id in another system (a CRM's customer number).
    pub external_id: Option<String>,
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
    AppPath(id): AppPath<ContactId>,
) -> Result<Json<ContactView>> {
    let contact = state.reads.contact_get(id).await?;
    let tz = contact.tz_or(state.tz());
    let campaigns = state.reads.contact_memberships(id).await?;
    let history = state.reads.contact_history(id).await?;
    Ok(Json(ContactView {
        id,
        phone: contact.phone,
        name: contact.name,
        timezone: contact.timezone.map(|z| z.to_string()),
        external_id: contact.external_id,
        attributes: serde_json::json!(contact.attributes.0),
        campaigns: campaigns
            .into_iter()
            .map(|m| MembershipView {
                id: m.campaign_id,
                name: m.campaign_name,
                state: m.state,
                attempts: m.attempts,
                next_attempt_at: m.next_attempt_at.rfc3339(tz),
                last_disposition: m.last_disposition,
            })
            .collect(),
        history: history.into_iter().map(|h| history_view(h, tz)).collect(),
    }))
}

pub fn history_view(h: HistoryRow, tz: Tz) -> HistoryView {
    HistoryView {
        at: h.at.rfc3339(tz),
        campaign: h.campaign_id,
        campaign_name: h.campaign_name,
        agent: h.agent_name,
        agent_id: h.agent_id,
        event: h.kind,
        disposition: h.disposition,
        notes: h.notes,
    }
}

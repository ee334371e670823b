//! `POST /v1/conversions` (billing or a CRM reports an activation) and `GET /v1/stats/funnel`
//! (`attempts → reached → accepted → activated`, by agent and by script version).

use crate::codes::Code;
use std::collections::HashMap;

use axum::{
    Json,
    extract::{Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    contacts::charset::Charset,
    ids::{AgentId, CallId, CampaignId, ConversionId, OfferId},
    service::{
        conversion_import::ConversionReport,
        conversions::{Reported, Who},
    },
    store::conversions::{ConversionRow, FunnelFilter, Stage},
    time::Instant,
};

use super::{
    AppState,
    auth::{Integrators, LeadsAndViewers, Require},
    error::{Error, Result},
    extract::{AppQuery, body_bytes, idle_limited, is_json, parse_json},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(conversions_create))
        .routes(routes!(stats_funnel))
}

/// An activation as billing or a CRM knows it: the person by `phone` or `external_id`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportConversion {
    pub phone: Option<String>,
    pub external_id: Option<String>,
    /// The offer's code (`5G-PLUS`).
    pub offer: String,
    /// RFC 3339: when the service was activated.
    pub occurred_at: String,
    /// The reporter's own id for it (an order or activation number): the same reference again
    /// answers the first report.
    pub reference: String,
}

/// The call a conversion is attributed to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttributedTo {
    pub call: CallId,
    pub agent: Option<AgentId>,
    pub campaign: CampaignId,
    pub script_version: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversionView {
    pub id: ConversionId,
    pub reference: String,
    pub offer: OfferId,
    pub occurred_at: String,
    /// null: organic (no accepted call for the person and offer in the attribution window).
    pub attributed_to: Option<AttributedTo>,
}

fn view(state: &AppState, c: ConversionRow) -> ConversionView {
    let attributed_to = match (c.call_id, c.campaign_id, c.script_version) {
        (Some(call), Some(campaign), Some(script_version)) => Some(AttributedTo {
            call,
            agent: c.agent_id,
            campaign,
            script_version,
        }),
        _ => None,
    };
    ConversionView {
        id: c.id,
        reference: c.reference,
        offer: c.offer_id,
        occurred_at: c.occurred_at.rfc3339(state.tz()),
        attributed_to,
    }
}

/// Report a conversion (an activation billing saw): JSON, 201 the first time, 200 with the
/// first answer for a reference reported before; or a billing file (`text/csv`, columns
/// `phone|external_id, offer, occurred_at, reference`; `charset=` as for contacts), read as it
/// streams in and recorded in transactions of 1,000 rows, answered with its report.
#[utoipa::path(post, path = "/v1/conversions", tag = "stats",
    request_body(content((ReportConversion = "application/json"),
        (String = "text/csv", example = "phone,offer,occurred_at,reference\n13800138000,5G-PLUS,2026-11-27T12:00:00+08:00,BILL-1\n"))),
    responses((status = 201, body = ConversionView), (status = 200, body = ConversionView),
        (status = 200, body = ConversionReport, description = "a CSV file's report"),
        (status = 415, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn conversions_create(
    auth: Require<Integrators>,
    State(state): State<AppState>,
    req: Request,
) -> Result<Response> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if !is_json(ct.as_deref()) {
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
                "send a conversion as application/json or a billing file as text/csv".into(),
            ));
        }
        let charset = match super::contacts::charset_param(&req) {
            None => Charset::Utf8,
            Some(label) => Charset::from_label(&label).ok_or_else(|| {
                Error::UnsupportedMediaType(format!(
                    "charset '{}' is not one outcall reads: send UTF-8, GB18030/GBK or UTF-16",
                    crate::text::excerpt(&label, 40)
                ))
            })?,
        };
        let body = idle_limited(req.into_body(), state.config.upload_idle.std());
        let report = state.import_conversions(body, charset, &auth.0).await?;
        return Ok((StatusCode::OK, Json(report)).into_response());
    }
    // The route is an upload's (no overall deadline) for its CSV form: a report in JSON keeps
    // the deadline every other request has.
    let limit = state.config.request_timeout.std();
    let Ok(answer) = tokio::time::timeout(limit, report_one(&state, req)).await else {
        return Ok(StatusCode::REQUEST_TIMEOUT.into_response());
    };
    answer
}

/// One conversion reported as JSON.
async fn report_one(state: &AppState, req: Request) -> Result<Response> {
    let bytes = body_bytes(req, state).await?;
    let body: ReportConversion = parse_json(&bytes)?;
    let who = match (body.phone, body.external_id) {
        (Some(phone), None) => Who::Phone(phone),
        (None, Some(id)) => Who::ExternalId(id),
        _ => {
            return Err(Error::bad(
                "phone",
                Code::OneOfTwo.because("give exactly one of phone and external_id"),
            ));
        }
    };
    let occurred_at = Instant::parse_rfc3339(&body.occurred_at)
        .map_err(|e| Error::bad("occurred_at", Code::TimeInvalid.because(e)))?;
    let (row, created) = state
        .record_conversion(Reported {
            who,
            offer: body.offer,
            occurred_at,
            reference: body.reference,
        })
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(state, row))).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FunnelParams {
    pub campaign: Option<String>,
    /// An offer's code.
    pub offer: Option<String>,
    /// RFC 3339; from the beginning when absent.
    pub from: Option<String>,
    /// RFC 3339, exclusive; no end when absent.
    pub to: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgentStage {
    pub agent: AgentId,
    pub name: String,
    #[serde(flatten)]
    pub stage: Stage,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionStage {
    pub script_version: i64,
    #[serde(flatten)]
    pub stage: Stage,
}

/// The promotion funnel of a period: attempts, reached, accepted (agents' word) and activated
/// (billing's), overall and by agent and by script version; `organic` counts the conversions
/// of the offer attributed to no call (counted only without a campaign filter).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FunnelView {
    #[serde(flatten)]
    pub total: Stage,
    pub organic: i64,
    /// activated / accepted: how many promises became sales.
    pub activation_rate: Option<f64>,
    pub by_agent: Vec<AgentStage>,
    pub by_script_version: Vec<VersionStage>,
}

#[utoipa::path(get, path = "/v1/stats/funnel", tag = "stats", params(FunnelParams),
    responses((status = 200, body = FunnelView), (status = 400, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn stats_funnel(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    AppQuery(p): AppQuery<FunnelParams>,
) -> Result<Json<FunnelView>> {
    let campaign = match p.campaign.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(CampaignId(c.parse().map_err(|_| {
            Error::bad("campaign", Code::IdInvalid.because("must be a campaign id"))
        })?)),
    };
    let offer = match p.offer.as_deref().filter(|o| !o.is_empty()) {
        None => None,
        Some(code) => Some(
            state
                .reads
                .offer_by_code(code)
                .await?
                .ok_or_else(|| {
                    Error::bad("offer", Code::Unknown.because("no offer has this code"))
                })?
                .id,
        ),
    };
    let instant = |field: &str, text: Option<&str>, default: Instant| match text {
        None | Some("") => Ok(default),
        Some(t) => {
            Instant::parse_rfc3339(t).map_err(|e| Error::bad(field, Code::TimeInvalid.because(e)))
        }
    };
    let from = instant("from", p.from.as_deref(), Instant::MIN)?;
    // Billing may report activations dated after the service's clock (its own clock, a day
    // ahead in another zone): no end unless asked.
    let to = instant("to", p.to.as_deref(), Instant::from_millis(i64::MAX))?;
    let rows = state
        .reads
        .funnel_rows(FunnelFilter {
            campaign,
            offer,
            from,
            to,
        })
        .await?;
    let (total, organic) = rows.total();
    let mut names: HashMap<AgentId, String> = HashMap::new();
    let mut by_agent = vec![];
    for (agent, stage) in rows.by(|a, _| a) {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(agent) {
            let name = state.reads.agent_get(agent).await.map(|a| a.name);
            slot.insert(name.unwrap_or_default());
        }
        by_agent.push(AgentStage {
            agent,
            name: names[&agent].clone(),
            stage,
        });
    }
    let by_script_version = rows
        .by(|_, v| v)
        .into_iter()
        .map(|(script_version, stage)| VersionStage {
            script_version,
            stage,
        })
        .collect();
    let activation_rate =
        (total.accepted > 0).then(|| total.activated as f64 / total.accepted as f64);
    Ok(Json(FunnelView {
        total,
        organic,
        activation_rate,
        by_agent,
        by_script_version,
    }))
}

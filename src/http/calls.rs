//! `/v1/calls`: the agent's loop. Next call under a lease, heartbeats, release, and the
//! outcome, recorded once (Idempotency-Key) and never lost once answered.

use crate::codes::Code;
use axum::{
    Json,
    extract::{Request, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ids::{CallId, CampaignId, ContactId, ScriptId},
    people::Role,
    service::{
        calls::{ReleaseInput, Releaser},
        next_call::HandedOut,
        outcome::{Answer, OutcomeInput, OutcomeRequest},
    },
    store::idempotency::Remembered,
};

use super::{
    AppState,
    auth::{Agents, AgentsAndSupervisors, Require},
    contacts::{HistoryView, history_view},
    error::{Error, Result},
    extract::{AppPath, OptionalJson, body_bytes, is_json, parse_json},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(calls_next))
        .routes(routes!(calls_heartbeat))
        .routes(routes!(calls_release))
        .routes(routes!(calls_outcome))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LeaseView {
    pub id: CallId,
    /// When the call was handed out (the desk's talk timer counts from it).
    pub leased_at: String,
    pub lease_expires_at: String,
    /// Which attempt on this contact in this campaign (1 for the first).
    pub attempt: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallContact {
    pub id: ContactId,
    pub phone: String,
    pub name: Option<String>,
    pub timezone: String,
    #[schema(value_type = Object)]
    pub attributes: Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OfferRef {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CampaignRef {
    pub id: CampaignId,
    pub name: String,
    pub offer: OfferRef,
    /// What the desk shows for the contact's attribute keys (issue 26); a key without a label
    /// shows as itself.
    pub attribute_labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RenderedScript {
    pub id: ScriptId,
    pub version: i64,
    /// The script with the contact's fields filled in; the body as written when it would not
    /// render for this contact (`failed`).
    pub text: String,
    /// Whether the script would not render for this contact (it went past the engine's limits
    /// or its time budget, or failed on the contact's data). The call is handed out all the
    /// same, and the failure is recorded with the script's version for leads.
    pub failed: bool,
    /// Why it would not render, when `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The survey of this version (`[]` when none): the outcome's `answers` are checked
    /// against it.
    pub questions: Vec<crate::catalog::survey::Question>,
}

/// Everything an agent needs for the call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NextCall {
    pub call: LeaseView,
    pub contact: CallContact,
    pub campaign: CampaignRef,
    pub script: RenderedScript,
    pub history: Vec<HistoryView>,
}

impl From<HandedOut> for NextCall {
    fn from(h: HandedOut) -> Self {
        let tz = h.contact.tz_or(h.campaign.tz());
        NextCall {
            call: LeaseView {
                id: h.call.id,
                leased_at: h.call.leased_at.rfc3339(tz),
                lease_expires_at: h.call.lease_expires_at.rfc3339(tz),
                attempt: h.call.attempt,
            },
            contact: CallContact {
                id: h.contact.id,
                phone: h.contact.phone,
                name: h.contact.name,
                timezone: tz.name().to_owned(),
                attributes: json!(h.contact.attributes.0),
            },
            campaign: CampaignRef {
                id: h.campaign.id,
                attribute_labels: h.campaign.attribute_labels.0,
                name: h.campaign.name,
                offer: OfferRef {
                    code: h.campaign.offer_code,
                    name: h.campaign.offer_name,
                },
            },
            script: RenderedScript {
                id: h.script.id,
                version: h.script.version,
                text: h.text,
                failed: h.render_error.is_some(),
                error: h.render_error,
                questions: h.script.questions.0,
            },
            history: h.history.into_iter().map(|r| history_view(r, tz)).collect(),
        }
    }
}

/// The agent's next call (200), or 204 when nothing is due for them. Safe to retry: an agent
/// who holds a call gets the same call back.
#[utoipa::path(post, path = "/v1/calls/next", tag = "calls",
    responses((status = 200, body = NextCall),
        (status = 204, description = "Nothing is due for this agent; `Retry-After` says in how many seconds the next call is expected, when it is.",
            headers(("Retry-After" = i64, description = "Whole seconds until the earliest contact could be callable for this agent.")))),
    security(("bearer" = [])))]
async fn calls_next(auth: Require<Agents>, State(state): State<AppState>) -> Result<Response> {
    let agent = auth.0.agent_id.ok_or(Error::Forbidden)?;
    match state.next_call(agent).await? {
        None => {
            // When the next call is expected, for the desk (and any client) to wait that long.
            // Never fails the 204: without an outlook it only lacks the header.
            let outlook = state.agent_outlook(agent).await;
            if let Err(error) = &outlook {
                tracing::warn!(%error, agent = %agent, "no outlook for an empty next");
            }
            let expected = outlook.ok().and_then(|o| o.expected_at);
            let wait = expected.map(|at| {
                let ms = at.millis() - state.now().millis();
                ((ms + 999) / 1000).max(1).to_string()
            });
            let mut response = StatusCode::NO_CONTENT.into_response();
            if let Some(secs) = wait.and_then(|w| w.parse().ok()) {
                response.headers_mut().insert(header::RETRY_AFTER, secs);
            }
            Ok(response)
        }
        Some(handed) => {
            let (call, campaign) = (handed.call.id, handed.campaign.id);
            tracing::info!(call = %call, campaign = %campaign, agent = %agent, "call handed out");
            Ok(Json(NextCall::from(handed)).into_response())
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HeartbeatView {
    pub lease_expires_at: String,
}

/// Extend the lease by the campaign's lease length.
#[utoipa::path(post, path = "/v1/calls/{id}/heartbeat", tag = "calls", params(("id" = i64, Path)),
    responses((status = 200, body = HeartbeatView), (status = 404, body = super::error::Problem),
        (status = 409, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn calls_heartbeat(
    auth: Require<Agents>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CallId>,
) -> Result<Json<HeartbeatView>> {
    let agent = auth.0.agent_id.ok_or(Error::Forbidden)?;
    let (until, campaign) = state.heartbeat(id, agent).await?;
    Ok(Json(HeartbeatView {
        lease_expires_at: until.rfc3339(campaign.tz()),
    }))
}

/// Hand the contact back without counting an attempt. The agent releases their own call; a
/// supervisor or lead any call. With `skip`, the contact is not offered to the call's agent
/// again within the campaign's `no_answer` delay (others may still get it).
#[utoipa::path(post, path = "/v1/calls/{id}/release", tag = "calls", params(("id" = i64, Path)),
    request_body(content = Option<ReleaseInput>),
    responses((status = 200, body = Object), (status = 404, body = super::error::Problem),
        (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn calls_release(
    auth: Require<AgentsAndSupervisors>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CallId>,
    OptionalJson(input): OptionalJson<ReleaseInput>,
) -> Result<Json<Value>> {
    let by = match (auth.0.role, auth.0.agent_id) {
        (Role::Agent, Some(agent)) => Releaser::Agent { agent, by: &auth.0 },
        (Role::Agent, None) => return Err(Error::Forbidden),
        _ => Releaser::Floor(&auth.0),
    };
    let released = state.release(id, by, input).await?;
    let skip_until = released
        .skip_until
        .map(|(at, campaign)| at.rfc3339(campaign.tz()));
    tracing::info!(call = %id, agent = %released.call.agent_id, skipped = skip_until.is_some(),
        "call released");
    Ok(Json(
        json!({"call": {"id": id, "state": "released", "agent": released.call.agent_id,
        "skip_until": skip_until}}),
    ))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| {
            Error::bad(
                "Idempotency-Key",
                Code::HeaderInvalid.because("must be visible ASCII"),
            )
        })?
        .trim();
    if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::bad(
            "Idempotency-Key",
            Code::HeaderInvalid
                .because("must be 1 to 200 visible ASCII characters")
                .with("max", 200),
        ));
    }
    Ok(Some(key.to_owned()))
}

fn replay(answer: Remembered) -> Response {
    let status = StatusCode::from_u16(answer.status as u16).unwrap_or(StatusCode::OK);
    let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    (status, Json(body)).into_response()
}

/// The hash an idempotency record keeps of a request: the call and the body.
fn request_hash(id: CallId, body: &Value) -> String {
    Sha256::digest(format!("{id}|{body}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Record what happened. With an `Idempotency-Key`, the same key and body return the first
/// answer and record nothing twice; the same key with another body is a 422.
#[utoipa::path(post, path = "/v1/calls/{id}/outcome", tag = "calls", params(("id" = i64, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = OutcomeInput,
    responses((status = 200, body = Object), (status = 404, body = super::error::Problem),
        (status = 409, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn calls_outcome(
    auth: Require<Agents>,
    State(state): State<AppState>,
    AppPath(id): AppPath<CallId>,
    req: Request,
) -> Result<Response> {
    let principal = auth.0;
    let agent = principal.agent_id.ok_or(Error::Forbidden)?;
    let key = idempotency_key(req.headers())?;
    let ct = req.headers().get(header::CONTENT_TYPE);
    if !is_json(ct.and_then(|v| v.to_str().ok())) {
        return Err(Error::UnsupportedMediaType(
            "send the outcome as application/json".into(),
        ));
    }
    let bytes = body_bytes(req, &state).await?;
    let body: Value = parse_json(&bytes)?;
    let key = key.map(|k| (k, request_hash(id, &body)));
    if let Some(key) = &key
        && let Some(answer) = state.replayed(principal.token_id, key).await?
    {
        return Ok(replay(answer));
    }
    let input: OutcomeInput = parse_json(&bytes)?;
    let request = OutcomeRequest {
        token: principal.token_id,
        agent,
        agent_name: &principal.name,
        call: id,
        key,
        input,
    };
    Ok(match state.record_outcome(request).await? {
        Answer::Recorded(answer) => Json(answer).into_response(),
        Answer::Replayed(answer) => replay(answer),
    })
}

//! `/v1/calls`: the agent's loop. Next call under a lease, heartbeats, release, and the
//! outcome, recorded once (Idempotency-Key) and never lost once answered.

use axum::{
    Json,
    extract::{Request, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    catalog::Template,
    clock::from_ms,
    dispatch::{self, CallbackScope, Disposition},
    dispatcher::{self, Handout},
    store::{
        Store,
        dispatch::{CallRow, OutcomeWrite, Recorded},
        idempotency::Remembered,
    },
    text::Notes,
};

use super::{
    AppState,
    auth::{Agents, Require},
    campaigns::rfc3339,
    contacts::{HistoryView, contact_tz, history_view},
    error::{Error, Result, Validator},
    extract::{AppPath, body_bytes, is_json, parse_json},
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
    pub id: i64,
    pub lease_expires_at: String,
    /// Which attempt on this contact in this campaign (1 for the first).
    pub attempt: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallContact {
    pub id: i64,
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
    pub id: i64,
    pub name: String,
    pub offer: OfferRef,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RenderedScript {
    pub id: i64,
    pub version: i64,
    /// The script with the contact's fields filled in.
    pub text: String,
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

/// Builds the agent's view of a leased call.
async fn call_view(state: &AppState, handout: Handout) -> Result<NextCall> {
    let Handout {
        call,
        agent,
        campaign,
    } = handout;
    let contact = state.store.contact_get(call.contact_id).await?;
    let tz = contact_tz(contact.timezone.as_deref(), campaign.tz());
    let script = state
        .store
        .script_version(campaign.script_id, call.script_version)
        .await?;
    let attributes: Value = serde_json::from_str(&contact.attributes).unwrap_or_else(|_| json!({}));
    let vars = json!({
        "id": contact.id, "name": contact.name, "phone": contact.phone, "timezone": tz.name(),
        "attributes": attributes, "campaign": {"name": campaign.name, "offer": campaign.offer_name},
        "agent": {"name": agent.name},
    });
    let history = state
        .store
        .contact_history(contact.id)
        .await?
        .into_iter()
        .map(|h| history_view(h, tz))
        .collect();
    Ok(NextCall {
        call: LeaseView {
            id: call.id,
            lease_expires_at: rfc3339(call.lease_expires_at, tz),
            attempt: call.attempt,
        },
        contact: CallContact {
            id: contact.id,
            phone: contact.phone,
            name: contact.name,
            timezone: tz.name().to_owned(),
            attributes,
        },
        campaign: CampaignRef {
            id: campaign.id,
            name: campaign.name.clone(),
            offer: OfferRef {
                code: campaign.offer_code.clone(),
                name: campaign.offer_name.clone(),
            },
        },
        script: RenderedScript {
            id: script.id,
            version: script.version,
            text: Template::render(&script.body, &vars),
        },
        history,
    })
}

/// The agent's next call (200), or 204 when nothing is due for them. Safe to retry: an agent
/// who holds a call gets the same call back.
#[utoipa::path(post, path = "/v1/calls/next", tag = "calls",
    responses((status = 200, body = NextCall), (status = 204)), security(("bearer" = [])))]
async fn calls_next(auth: Require<Agents>, State(state): State<AppState>) -> Result<Response> {
    let agent = auth.0.agent_id.ok_or(Error::Forbidden)?;
    match dispatcher::next_call(&state, agent).await? {
        None => Ok(StatusCode::NO_CONTENT.into_response()),
        Some(handout) => {
            tracing::info!(
                call = handout.call.id,
                campaign = handout.call.campaign_id,
                agent,
                "call handed out"
            );
            Ok(Json(call_view(&state, handout).await?).into_response())
        }
    }
}

/// A call of this agent's, or 404.
async fn own_call(state: &AppState, id: i64, agent: i64) -> Result<CallRow> {
    let call = state.store.call_get(id).await?;
    if call.agent_id != agent {
        Err(Error::NotFound)
    } else {
        Ok(call)
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
    AppPath(id): AppPath<i64>,
) -> Result<Json<HeartbeatView>> {
    let agent = auth.0.agent_id.ok_or(Error::Forbidden)?;
    let call = own_call(&state, id, agent).await?;
    let campaign = state.store.campaign_get(call.campaign_id).await?;
    let now = state.clock.now_ms();
    let until = now + campaign.def().lease.as_millis();
    match state.store.heartbeat(id, agent, until, now).await? {
        Some(at) => Ok(Json(HeartbeatView {
            lease_expires_at: rfc3339(at, campaign.tz()),
        })),
        None => {
            state.store.reap_expired(now).await?;
            Err(Error::Conflict(
                "this call's lease has run out or ended".into(),
            ))
        }
    }
}

/// Hand the contact back without counting an attempt.
#[utoipa::path(post, path = "/v1/calls/{id}/release", tag = "calls", params(("id" = i64, Path)),
    responses((status = 200), (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn calls_release(
    auth: Require<Agents>,
    State(state): State<AppState>,
    AppPath(id): AppPath<i64>,
) -> Result<Json<Value>> {
    let agent = auth.0.agent_id.ok_or(Error::Forbidden)?;
    own_call(&state, id, agent).await?;
    let now = state.clock.now_ms();
    if state.store.release(id, agent, true, now).await? {
        Ok(Json(json!({"call": {"id": id, "state": "released"}})))
    } else {
        state.store.reap_expired(now).await?;
        Err(Error::Conflict(
            "this call's lease has run out or ended".into(),
        ))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    /// accepted, declined, callback, no_answer, busy, voicemail, wrong_number, do_not_call, complaint.
    pub disposition: String,
    /// Up to 4,000 characters.
    pub notes: Option<String>,
    /// With `callback`: when to call back (RFC 3339); its local time must fall in the global
    /// calling hours.
    pub callback_at: Option<String>,
    /// `agent` (default: back to this agent first) or `campaign` (anyone).
    pub callback_scope: Option<String>,
    /// Answers to the script's questions.
    #[schema(value_type = Option<Object>)]
    pub answers: Option<Value>,
}

/// The longest a callback may be set ahead.
const MAX_CALLBACK_DAYS: i64 = 180;
/// The largest `answers` object, as JSON.
const MAX_ANSWERS_BYTES: usize = 16 * 1024;

fn clean_json(value: &Value) -> bool {
    match value {
        Value::String(s) => crate::text::check_free_text(s, Notes::MAX).is_ok(),
        Value::Array(items) => items.iter().all(clean_json),
        Value::Object(map) => map
            .iter()
            .all(|(k, v)| crate::text::check_free_text(k, 200).is_ok() && clean_json(v)),
        _ => true,
    }
}

struct Checked {
    disposition: Disposition,
    notes: Option<Notes>,
    callback: Option<(DateTime<Utc>, CallbackScope)>,
    answers: Option<String>,
}

fn check_outcome(
    input: OutcomeInput,
    tz: Tz,
    state: &AppState,
    now: DateTime<Utc>,
) -> Result<Checked> {
    let mut v = Validator::new();
    let disposition = v.check("disposition", input.disposition.parse::<Disposition>());
    let notes = v.check_opt("notes", input.notes, |n| Notes::parse(&n));
    let scope = v.check_opt("callback_scope", input.callback_scope, |s| {
        match s.as_str() {
            "agent" => Ok(CallbackScope::Agent),
            "campaign" => Ok(CallbackScope::Campaign),
            _ => Err("must be agent or campaign".to_owned()),
        }
    });
    let answers = v.check_opt("answers", input.answers, |a| {
        if !a.is_object() {
            return Err("must be an object".to_owned());
        }
        if !clean_json(&a) {
            return Err("must not contain control characters".to_owned());
        }
        let text = a.to_string();
        if text.len() > MAX_ANSWERS_BYTES {
            Err(format!("must be at most {MAX_ANSWERS_BYTES} bytes"))
        } else {
            Ok(text)
        }
    });
    let mut callback = None;
    match (disposition, input.callback_at) {
        (Some(Disposition::Callback), None) => {
            v.push("callback_at", "is required with disposition callback")
        }
        (Some(Disposition::Callback), Some(at)) => match DateTime::parse_from_rfc3339(at.trim()) {
            Err(_) => v.push("callback_at", format!("'{at}' is not an RFC 3339 time")),
            Ok(at) => {
                let at = at.with_timezone(&Utc);
                let local = at.with_timezone(&tz);
                let minute =
                    (chrono::Timelike::hour(&local) * 60 + chrono::Timelike::minute(&local)) as u16;
                if at <= now {
                    v.push("callback_at", "must be in the future");
                } else if at > now + Duration::days(MAX_CALLBACK_DAYS) {
                    v.push(
                        "callback_at",
                        format!("must be within {MAX_CALLBACK_DAYS} days"),
                    );
                } else if !state.config.calling_hours.contains(minute) {
                    v.push(
                        "callback_at",
                        format!(
                            "{} in the contact's zone ({}) is outside the calling hours {}",
                            local.format("%H:%M"),
                            tz.name(),
                            state.config.calling_hours
                        ),
                    );
                } else {
                    callback = Some((at, scope.flatten().unwrap_or(CallbackScope::Agent)));
                }
            }
        },
        (Some(_), Some(_)) => v.push("callback_at", "only goes with disposition callback"),
        _ => {}
    }
    let (Some(disposition), Some(notes), Some(answers)) = (disposition, notes, answers) else {
        return Err(v.fail());
    };
    v.finish()?;
    Ok(Checked {
        disposition,
        notes,
        callback,
        answers,
    })
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| Error::bad("Idempotency-Key", "must be visible ASCII"))?
        .trim();
    if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::bad(
            "Idempotency-Key",
            "must be 1 to 200 visible ASCII characters",
        ));
    }
    Ok(Some(key.to_owned()))
}

fn replay(answer: Remembered) -> Response {
    let status = StatusCode::from_u16(answer.status as u16).unwrap_or(StatusCode::OK);
    let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    (status, Json(body)).into_response()
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
    AppPath(id): AppPath<i64>,
    req: Request,
) -> Result<Response> {
    let principal = auth.0;
    let agent = principal.agent_id.ok_or(Error::Forbidden)?;
    let key = idempotency_key(req.headers())?;
    let ct = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if !is_json(ct.as_deref()) {
        return Err(Error::UnsupportedMediaType(
            "send the outcome as application/json".into(),
        ));
    }
    let bytes = body_bytes(req, &state).await?;
    let body: Value = parse_json(&bytes)?;
    let request_hash = {
        let digest = Sha256::digest(format!("{id}|{body}").as_bytes());
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let now = state.clock.now_ms();
    if let Some(key) = &key {
        if let Some(answer) = state
            .store
            .idempotency_get(principal.token_id, key, now)
            .await?
        {
            if answer.request_hash != request_hash {
                return Err(Error::field(
                    "Idempotency-Key",
                    "was already used with a different request",
                ));
            }
            return Ok(replay(answer));
        }
    }
    let input: OutcomeInput = parse_json(&bytes)?;
    let call = own_call(&state, id, agent).await?;
    let campaign = state.store.campaign_get(call.campaign_id).await?;
    let contact = state.store.contact_get(call.contact_id).await?;
    let tz = contact_tz(contact.timezone.as_deref(), campaign.tz());
    let checked = check_outcome(input, tz, &state, from_ms(now))?;
    let def = campaign.def();
    let after = dispatch::after_outcome(
        checked.disposition,
        &def,
        tz,
        call.attempt,
        checked.callback,
        agent,
        state.config.callback_grace,
        &state.config.calling_hours,
        from_ms(now),
    );
    let d = checked.disposition.as_str();
    let write = OutcomeWrite {
        call_id: id,
        agent_id: agent,
        disposition: d,
        notes: checked.notes.as_ref().map(Notes::as_str),
        callback_at: checked.callback.map(|(at, _)| at.timestamp_millis()),
        answers: checked.answers,
        state: after.state.as_str(),
        next_attempt_at: after.next_attempt_at.timestamp_millis(),
        release_at: after.release_at.timestamp_millis(),
        reserved_for: after.reserved_for,
        is_callback: after.is_callback,
        now,
    };
    let mut tx = state.store.begin().await?;
    let Some(Recorded {
        call: done,
        entry_state,
        next_attempt_at: next_at,
    }) = Store::outcome_in(&mut tx, &write).await?
    else {
        drop(tx);
        if let Some(key) = &key {
            if let Some(answer) = state
                .store
                .idempotency_get(principal.token_id, key, now)
                .await?
            {
                if answer.request_hash == request_hash {
                    return Ok(replay(answer));
                }
            }
        }
        return Err(Error::Conflict(
            "this call already has an outcome, or its lease passed to someone else".into(),
        ));
    };
    if checked.disposition.lists_phone() {
        let phone = Store::contact_phone(&mut tx, done.contact_id).await?;
        Store::dnc_add_in(
            &mut tx,
            &phone,
            Some(d),
            &format!("agent {} ({d})", principal.name),
            now,
        )
        .await?;
    }
    if checked.disposition == Disposition::Complaint {
        Store::follow_up_in(
            &mut tx,
            &done,
            checked.notes.as_ref().map(Notes::as_str),
            now + 24 * 3_600_000,
            now,
        )
        .await?;
    }
    let event = json!({"campaign": campaign.id, "offer": campaign.offer_code, "agent": agent, "agent_name": principal.name,
        "disposition": d, "at": rfc3339(now, state.config.timezone)});
    Store::event_in(&mut tx, "outcome", now, &event).await?;
    let answer = json!({
        "call": {"id": done.id, "state": "completed", "disposition": d, "attempt": done.attempt,
                 "script_version": done.script_version, "finished_at": rfc3339(now, tz)},
        "contact": {"id": done.contact_id, "state": entry_state, "next_attempt_at": rfc3339(next_at, tz)},
    });
    if let Some(key) = &key {
        let remembered = Remembered {
            request_hash,
            status: 200,
            body: answer.to_string(),
        };
        Store::idempotency_put(&mut tx, principal.token_id, key, &remembered, now).await?;
    }
    tx.commit().await?;
    state.events.poke();
    metrics::counter!("outcall_outcomes_total", "disposition" => d).increment(1);
    tracing::info!(
        call = id,
        campaign = campaign.id,
        agent,
        disposition = d,
        "outcome recorded"
    );
    Ok(Json(answer).into_response())
}

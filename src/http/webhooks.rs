//! `/v1/webhooks`: subscriptions to events pushed to an operator's systems, their deliveries
//! (each with its attempts) and a manual retry. Admins and integration tokens; an integration
//! token reaches only the webhooks it created.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ids::{ContactId, DeliveryId, WebhookId},
    service::webhooks::{NewWebhook, owner_filter},
    store::{
        Page,
        webhooks::{AttemptRow, DeliveryRow, WebhookRow},
    },
    webhooks::{AttemptResult, DeliveryState, WebhookEvent},
};

use super::{
    AppState,
    auth::{Integrators, Require},
    error::Result,
    extract::{AppJson, AppPath, AppQuery},
    pagination::ListParams,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(webhooks_create, webhooks_list))
        .routes(routes!(webhooks_delete))
        .routes(routes!(webhooks_deliveries))
        .routes(routes!(webhooks_retry))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where events are POSTed: http or https, at most 2,000 characters, a public address
    /// unless `OUTCALL_WEBHOOK_ALLOW` allows it.
    pub url: String,
    /// Any of `outcome`, `conversion`, `dnc`, `consent`, `follow_up`, `campaign`.
    pub events: Vec<String>,
    /// The signing secret, 16–200 characters; generated when absent.
    pub secret: Option<String>,
    /// Whether event data carries the contact's phone (never otherwise).
    #[serde(default)]
    pub include_phone: bool,
}

/// A webhook as listed: never its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub include_phone: bool,
    pub created_by: String,
    pub created_at: String,
}

/// A created webhook, with the only copy of its secret an answer carries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// Signs every delivery (`Outcall-Signature`); shown only here.
    pub secret: String,
}

/// One attempt to deliver.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    pub at: String,
    pub result: AttemptResult,
    /// The receiver's HTTP status, when it answered.
    pub response_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// When the next attempt is due (none after a success, or once given up).
    pub next_attempt_at: Option<String>,
}

/// One event for one webhook.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// The event's `id` in the body sent.
    pub id: DeliveryId,
    #[serde(rename = "type")]
    pub kind: WebhookEvent,
    pub contact: Option<ContactId>,
    /// When the event happened.
    pub at: String,
    pub state: DeliveryState,
    pub attempts: Vec<AttemptView>,
    /// When it is due next, while pending.
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
}

fn webhook_view(state: &AppState, w: WebhookRow, events: Vec<WebhookEvent>) -> WebhookView {
    WebhookView {
        id: w.id,
        url: w.url,
        events,
        include_phone: w.include_phone,
        created_by: w.created_by,
        created_at: w.created_at.rfc3339(state.tz()),
    }
}

fn delivery_view(state: &AppState, d: DeliveryRow, attempts: &[AttemptRow]) -> DeliveryView {
    let tz = state.tz();
    DeliveryView {
        id: d.id,
        kind: d.kind,
        contact: d.contact_id,
        at: d.at.rfc3339(tz),
        state: d.state,
        attempts: attempts
            .iter()
            .filter(|a| a.delivery_id == d.id)
            .map(|a| AttemptView {
                at: a.at.rfc3339(tz),
                result: a.result,
                response_code: a.response_code,
                error: a.error.clone(),
                duration_ms: a.duration_ms,
                next_attempt_at: a.next_attempt_at.map(|t| t.rfc3339(tz)),
            })
            .collect(),
        next_attempt_at: (d.state == DeliveryState::Pending).then(|| d.next_at.rfc3339(tz)),
        delivered_at: d.delivered_at.map(|t| t.rfc3339(tz)),
    }
}

/// Subscribe a receiver to events.
#[utoipa::path(post, path = "/v1/webhooks", tag = "integration", request_body = CreateWebhook,
    responses((status = 201, body = WebhookCreated), (status = 422, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn webhooks_create(
    auth: Require<Integrators>,
    State(state): State<AppState>,
    AppJson(body): AppJson<CreateWebhook>,
) -> Result<(StatusCode, Json<WebhookCreated>)> {
    let new = NewWebhook {
        url: body.url,
        events: body.events,
        secret: body.secret,
        include_phone: body.include_phone,
    };
    let created = state.webhook_create(new, &auth.0).await?;
    let webhook = webhook_view(&state, created.webhook, created.events);
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreated {
            webhook,
            secret: created.secret,
        }),
    ))
}

/// The webhooks the caller reaches (an integration token its own), oldest first.
#[utoipa::path(get, path = "/v1/webhooks", tag = "integration", params(ListParams),
    responses((status = 200, body = Page<WebhookView>)), security(("bearer" = [])))]
async fn webhooks_list(
    auth: Require<Integrators>,
    State(state): State<AppState>,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<Json<Page<WebhookView>>> {
    let w = params.window()?;
    let rows = state
        .reads
        .webhooks_list(owner_filter(&auth.0), WebhookId(w.after), w.limit)
        .await?;
    let page = Page::from_rows(rows, w.limit, |r| r.id.get());
    let events = match (page.items.first(), page.items.last()) {
        (Some(first), Some(last)) => state.reads.webhook_events(first.id, last.id).await?,
        _ => Vec::new(),
    };
    Ok(Json(page.map(|r| {
        let wanted = events
            .iter()
            .filter(|(id, _)| *id == r.id)
            .map(|(_, e)| *e)
            .collect();
        webhook_view(&state, r, wanted)
    })))
}

/// Delete a webhook; its undelivered events are dropped.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "integration",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn webhooks_delete(
    auth: Require<Integrators>,
    State(state): State<AppState>,
    AppPath(id): AppPath<WebhookId>,
) -> Result<StatusCode> {
    state.webhook_delete(id, &auth.0).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A webhook's deliveries in id order, each with its attempts.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "integration",
    params(("id" = i64, Path), ListParams),
    responses((status = 200, body = Page<DeliveryView>), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn webhooks_deliveries(
    auth: Require<Integrators>,
    State(state): State<AppState>,
    AppPath(id): AppPath<WebhookId>,
    AppQuery(params): AppQuery<ListParams>,
) -> Result<Json<Page<DeliveryView>>> {
    let w = params.window()?;
    let webhook = state.webhook_of(id, &auth.0).await?;
    let rows = state
        .reads
        .webhook_deliveries(webhook.id, DeliveryId(w.after), w.limit)
        .await?;
    let page = Page::from_rows(rows, w.limit, |d| d.id.get());
    let attempts = match (page.items.first(), page.items.last()) {
        (Some(first), Some(last)) => {
            state
                .reads
                .webhook_attempts(webhook.id, first.id, last.id)
                .await?
        }
        _ => Vec::new(),
    };
    Ok(Json(page.map(|d| delivery_view(&state, d, &attempts))))
}

/// Send a delivery again as soon as possible (delivered, failed or pending alike).
#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{delivery}/retry", tag = "integration",
    params(("id" = i64, Path), ("delivery" = i64, Path)),
    responses((status = 202, body = DeliveryView), (status = 404, body = super::error::Problem)),
    security(("bearer" = [])))]
async fn webhooks_retry(
    auth: Require<Integrators>,
    State(state): State<AppState>,
    AppPath((id, delivery)): AppPath<(WebhookId, DeliveryId)>,
) -> Result<(StatusCode, Json<DeliveryView>)> {
    let row = state.webhook_retry(id, delivery, &auth.0).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery_view(&state, row, &[]))))
}

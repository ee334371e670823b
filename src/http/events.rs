//! `GET /v1/events`: Server-Sent Events for dashboards and the floor. `outcome` events
//! (campaign, offer, agent, disposition, time; never a phone number), `campaign` status events,
//! and the floor's `agent` and `call` events (not to viewer tokens), from every process, with
//! `id:` lines; reconnecting with `Last-Event-ID` replays what was missed from
//! the last day, or `event: reset` when that cannot be sent whole (`service/feed.rs`). Open
//! streams are capped per token (429) and per process (503), both with `Retry-After`.

use crate::codes::Code;
use std::{convert::Infallible, time::Duration};

use axum::{
    extract::State,
    http::HeaderMap,
    response::sse::{Event, KeepAlive, Sse},
};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{events::EventKind, ids::EventId, people::Role, service::feed::FeedItem};

use super::{
    AppState,
    auth::{LeadsAndViewers, Require},
    error::{Error, Result},
    extract::AppQuery,
};

/// A comment line this often keeps proxies from closing a quiet stream and shows within this
/// time that a client has gone, which frees its place.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events_stream))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Same as the `Last-Event-ID` header, for clients that cannot set headers.
    pub last_event_id: Option<String>,
}

/// An item of the feed as an SSE event. A reset carries the id to carry on from and a JSON
/// `data:` line (clients that act only on events with data see it too).
fn sse(item: FeedItem) -> Event {
    match item {
        FeedItem::Event(row) => Event::default()
            .id(row.id.to_string())
            .event(row.kind.as_str())
            .data(row.payload.clone()),
        FeedItem::Reset { last, reason } => Event::default()
            .id(last.to_string())
            .event("reset")
            .data(serde_json::json!({ "reason": reason }).to_string()),
    }
}

/// The live stream of events: with `Last-Event-ID`, what was missed first — or, when that
/// cannot all be sent (more than the replay limit, or already pruned), `event: reset` with the
/// newest id, after which the client should reload. A stream ends within seconds of its token
/// being revoked.
#[utoipa::path(get, path = "/v1/events", tag = "stats", params(EventParams,
        ("Last-Event-ID" = Option<String>, Header, description = "Replay events after this id")),
    responses((status = 200, content_type = "text/event-stream", body = String),
        (status = 429, description = "This token holds its cap of open streams (Retry-After)", body = super::error::Problem),
        (status = 503, description = "This server holds its cap of open streams (Retry-After)", body = super::error::Problem)),
    security(("bearer" = [])))]
async fn events_stream(
    auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    headers: HeaderMap,
    AppQuery(params): AppQuery<EventParams>,
) -> Result<Sse<impl Stream<Item = std::result::Result<Event, Infallible>>>> {
    let header = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let after = match header.or(params.last_event_id) {
        None => None,
        Some(t) if t.trim().is_empty() => None,
        Some(t) => Some(t.trim().parse::<EventId>().map_err(|_| {
            Error::bad(
                "Last-Event-ID",
                Code::IdInvalid.because("must be an event id"),
            )
        })?),
    };
    // A refused client should come back once a vanished client's place is noticed free.
    let slot = state
        .events
        .admit(auth.0.token_id)
        .map_err(|full| Error::StreamsFull {
            full,
            retry_after: KEEP_ALIVE.as_secs(),
        })?;
    // The floor's events (who holds which call, why an agent paused) are for supervisors and
    // leads, as `GET /v1/floor` is: a wallboard's viewer token gets the rest.
    let floor = auth.0.role != Role::Viewer;
    let feed = state
        .event_feed(slot, after)
        .await?
        .filter(move |item| std::future::ready(floor || !is_floor(item)));
    Ok(Sse::new(feed.map(|item| Ok(sse(item)))).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// Whether an item is one of the floor's events (`agent`, `call`).
fn is_floor(item: &FeedItem) -> bool {
    matches!(item, FeedItem::Event(row) if matches!(row.kind, EventKind::Agent | EventKind::Call))
}

//! `GET /v1/events`: Server-Sent Events for dashboards. `outcome` events (campaign, offer,
//! agent, disposition, time; never a phone number) and `campaign` status events, from every
//! process, with `id:` lines; reconnecting with `Last-Event-ID` replays what was missed from
//! the last day.

use std::{convert::Infallible, sync::Arc};

use axum::{
    extract::State,
    http::HeaderMap,
    response::sse::{Event, KeepAlive, Sse},
};
use futures::{Stream, stream};
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ids::EventId,
    store::{Store, events::EventRow},
};

use super::{
    AppState,
    auth::{LeadsAndViewers, Require},
    error::{Error, Result},
    extract::AppQuery,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events_stream))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Same as the `Last-Event-ID` header, for clients that cannot set headers.
    pub last_event_id: Option<String>,
}

fn sse(row: &EventRow) -> Event {
    Event::default()
        .id(row.id.to_string())
        .event(row.kind.as_str())
        .data(row.payload.clone())
}

struct Feed {
    store: Store,
    shutdown: tokio_util::sync::CancellationToken,
    rx: broadcast::Receiver<Arc<EventRow>>,
    backlog: std::collections::VecDeque<EventRow>,
    last: EventId,
}

/// The live stream of events.
#[utoipa::path(get, path = "/v1/events", tag = "stats", params(EventParams,
        ("Last-Event-ID" = Option<String>, Header, description = "Replay events after this id")),
    responses((status = 200, content_type = "text/event-stream", body = String)), security(("bearer" = [])))]
async fn events_stream(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
    headers: HeaderMap,
    AppQuery(params): AppQuery<EventParams>,
) -> Result<Sse<impl Stream<Item = std::result::Result<Event, Infallible>>>> {
    let header = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let last = match header.or(params.last_event_id) {
        None => None,
        Some(t) if t.trim().is_empty() => None,
        Some(t) => Some(
            t.trim()
                .parse::<EventId>()
                .map_err(|_| Error::bad("Last-Event-ID", "must be an event id"))?,
        ),
    };
    // Subscribe before reading the backlog, so nothing falls between the two.
    let rx = state.events.subscribe();
    let (backlog, last) = match last {
        Some(after) => {
            let rows = state.store.events_after(after, 10_000).await?;
            (rows.into(), after)
        }
        None => (Default::default(), state.store.events_last_id().await?),
    };
    let feed = Feed {
        store: state.store.clone(),
        shutdown: state.events.shutdown.clone(),
        rx,
        backlog,
        last,
    };
    let stream = stream::unfold(feed, |mut feed| async move {
        loop {
            if let Some(row) = feed.backlog.pop_front() {
                if row.id > feed.last {
                    feed.last = row.id;
                    return Some((Ok(sse(&row)), feed));
                }
                continue;
            }
            let received = tokio::select! {
                _ = feed.shutdown.cancelled() => return None,
                r = feed.rx.recv() => r,
            };
            match received {
                Ok(row) if row.id > feed.last => {
                    feed.last = row.id;
                    return Some((Ok(sse(&row)), feed));
                }
                Ok(_) => continue,
                // Fell behind: catch up from the table instead of slowing anyone down.
                Err(RecvError::Lagged(_)) => {
                    feed.backlog = feed
                        .store
                        .events_after(feed.last, 10_000)
                        .await
                        .unwrap_or_default()
                        .into();
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

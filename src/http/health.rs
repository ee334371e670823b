//! Liveness and readiness (no token needed) and Prometheus metrics (a viewer's token: they
//! name campaigns and cost a read of the database).

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use std::collections::BTreeSet;

use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    AppState,
    auth::{LeadsAndViewers, Require},
    error::Error,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics_text))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = super::error::Problem)))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, Error> {
    if state.reads.ping().await {
        Ok(Json(Health { status: "ready" }))
    } else {
        Err(Error::Unavailable)
    }
}

/// The queue-depth series reported at the last scrape: one that is not reported again (its
/// campaign finished, or the state emptied) goes to zero instead of keeping its last value.
static REPORTED: std::sync::Mutex<BTreeSet<(String, String)>> =
    std::sync::Mutex::new(BTreeSet::new());

/// Prometheus text exposition, for a token that may read stats (give Prometheus a viewer
/// token: `authorization: {credentials: …}` in its scrape config).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain", body = String)), security(("bearer" = [])))]
async fn metrics_text(
    _auth: Require<LeadsAndViewers>,
    State(state): State<AppState>,
) -> impl IntoResponse {
    // Queue depth is read at scrape time from the kept counts (on a read connection), so every
    // process reports the same truth and a scrape costs the same at any campaign size.
    if let Ok(depths) = state.reads.queue_depths().await {
        let now: BTreeSet<(String, String)> = depths
            .iter()
            .map(|(campaign, queue, _)| (campaign.to_string(), queue.to_string()))
            .collect();
        let mut reported = REPORTED.lock().unwrap_or_else(|e| e.into_inner());
        for (campaign, queue) in reported.difference(&now) {
            let labels = [("campaign", campaign.clone()), ("state", queue.clone())];
            metrics::gauge!("outcall_queue_depth", &labels).set(0.0);
        }
        for (campaign, queue, n) in depths {
            let labels = [
                ("campaign", campaign.to_string()),
                ("state", queue.to_string()),
            ];
            metrics::gauge!("outcall_queue_depth", &labels).set(n as f64);
        }
        *reported = now;
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::metrics_handle().render(),
    )
}

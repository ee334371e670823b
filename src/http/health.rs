//! Liveness, readiness and Prometheus metrics; no token needed.

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AppState, error::Error};

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
    if state.store.ping().await {
        Ok(Json(Health { status: "ready" }))
    } else {
        Err(Error::Unavailable)
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain", body = String)))]
async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    // Queue depth is read at scrape time, so every process reports the same truth.
    if let Ok(depths) = state.store.queue_depths().await {
        for (campaign, queue, n) in depths {
            let labels = [
                ("campaign", campaign.to_string()),
                ("state", queue.to_string()),
            ];
            metrics::gauge!("outcall_queue_depth", &labels).set(n as f64);
        }
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::metrics_handle().render(),
    )
}

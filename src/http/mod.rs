//! The HTTP edge: the router, shared state and the layers every request passes through.

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{HeaderName, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::service::Service;

pub mod agent_stats;
pub mod agents;
pub mod answers;
pub mod audit;
pub mod auth;
pub mod callbacks;
pub mod calls;
pub mod campaigns;
pub mod contacts;
pub mod conversions;
pub mod csv_out;
pub mod dnc;
pub mod eligibility;
pub mod error;
pub mod events;
pub mod export;
pub mod export_contacts;
pub mod extract;
pub mod floor;
pub mod follow_ups;
pub mod forecast;
pub mod health;
pub mod imports;
pub mod limiter;
pub mod lists;
pub mod lookup;
pub mod offers;
pub mod openapi;
pub mod pagination;
pub mod panics;
pub mod schedules;
pub mod scripts;
pub mod segments;
pub mod serve;
pub mod stats;
pub mod targets;
pub mod tokens;
pub mod web;
pub mod webhooks;

/// What every handler can reach: the operations (and through them the store, clock and
/// configuration) and the edge's own limiters (failed auth, phone look-ups).
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub failed_auth: Arc<limiter::FailedAuth>,
    /// Phone look-ups per token (`OUTCALL_LOOKUP_LIMIT`), in this process.
    pub lookups: Arc<limiter::PerToken>,
}

impl AppState {
    pub fn new(service: Service) -> Self {
        let limit = service.config.auth_failures_per_minute;
        let trusted = service.config.trusted_proxies.clone();
        let lookups = Arc::new(limiter::PerToken::new(service.config.lookup_limit));
        Self {
            service,
            failed_auth: Arc::new(limiter::FailedAuth::new(limit, trusted)),
            lookups,
        }
    }
}

/// Handlers reach the service's store, clock and configuration as `state.store`, … .
impl std::ops::Deref for AppState {
    type Target = Service;
    fn deref(&self) -> &Service {
        &self.service
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The API's routes with their OpenAPI description.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::router())
        .merge(tokens::router())
        .merge(agents::router())
        .merge(audit::router())
        .merge(offers::router())
        .merge(scripts::router())
        .merge(campaigns::router())
        .merge(schedules::router())
        .merge(contacts::router())
        .merge(segments::router())
        .merge(lists::router())
        .merge(imports::router())
        .merge(dnc::router())
        .merge(calls::router())
        .merge(follow_ups::router())
        .merge(callbacks::router())
        .merge(floor::router())
        .merge(eligibility::router())
        .merge(forecast::router())
        .merge(lookup::router())
        .merge(stats::router())
        .merge(agent_stats::router())
        .merge(answers::router())
        .merge(targets::router())
        .merge(events::router())
        .merge(export::router())
        .merge(export_contacts::router())
        .merge(conversions::router())
        .merge(webhooks::router())
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = api().split_for_parts();
    openapi::describe(&mut doc);
    doc
}

/// The complete router with every layer.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The complete router with `extra` routes behind the same layers: tests add routes that no
/// build of the binary serves (one that panics, to prove what a panic does to a request).
pub fn router_with(state: AppState, extra: Router<AppState>) -> Router {
    let (api, mut doc) = api().split_for_parts();
    openapi::describe(&mut doc);
    let max_body = state.config.max_body_bytes;
    let timeout = state.config.request_timeout.std();
    panics::install_hook();
    api.merge(extra)
        .with_state(state)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", doc))
        .merge(web::router())
        .fallback(|| async { error::Error::NotFound })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn(panics::catch))
        .layer(middleware::from_fn_with_state(timeout, deadline))
        .layer(middleware::from_fn(problems_and_metrics))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                // The route template, never the URI: paths and queries may carry phone numbers.
                let route = req
                    .extensions()
                    .get::<MatchedPath>()
                    .map(|m| m.as_str().to_owned())
                    .unwrap_or_else(|| "unmatched".to_owned());
                let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                tracing::info_span!("request", method = %req.method(), route = %route, request_id = %id)
            })
            .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        // Every request gets an id of ours: a client's own `x-request-id` would reach the log
        // verbatim, and clients have put phone numbers and tokens there.
        .layer(middleware::map_request(|mut req: Request| async move {
            req.headers_mut().remove(REQUEST_ID);
            req
        }))
}

/// Routes that take uploads: bounded by their size and by how long they may stall
/// (`OUTCALL_UPLOAD_IDLE`), not by a total time, so a large list on a slow link gets through.
/// (`POST /v1/conversions` bounds its JSON body by `OUTCALL_REQUEST_TIMEOUT` itself.)
const UPLOADS: &[(&str, &str)] = &[
    ("POST", "/v1/campaigns/{id}/contacts"),
    ("POST", "/v1/dnc"),
    ("POST", "/v1/conversions"),
];

/// Answers 408 when a request (other than an upload) takes longer than `limit` in all.
async fn deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let upload = route.is_some_and(|r| UPLOADS.contains(&(req.method().as_str(), r)));
    if upload {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

/// Counts and times each request by route and status, and turns any error response that is
/// not yet problem+json (axum's own 405, a 408 timeout) into one.
async fn problems_and_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    // Only known methods get their own series; anything else is `other`, so a client cannot
    // grow the label set.
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let started = std::time::Instant::now();
    let mut response = next.run(req).await;
    let status = response.status();
    if status.as_u16() >= 400 {
        let is_problem = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
        if !is_problem {
            let allow = response.headers().get(header::ALLOW).cloned();
            let detail = match status {
                StatusCode::METHOD_NOT_ALLOWED => "this path does not take that method".to_owned(),
                StatusCode::REQUEST_TIMEOUT => "the request took too long".to_owned(),
                StatusCode::PAYLOAD_TOO_LARGE => {
                    "the body is larger than this route accepts".to_owned()
                }
                other => other.canonical_reason().unwrap_or("error").to_owned(),
            };
            response = error::problem(status, detail, None);
            if let Some(allow) = allow {
                response.headers_mut().insert(header::ALLOW, allow);
            }
        }
    }
    let labels = [
        ("method", method),
        ("route", route),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!("outcall_http_requests_total", &labels).increment(1);
    metrics::histogram!("outcall_http_request_duration_seconds", &labels[..2])
        .record(started.elapsed().as_secs_f64());
    response
}

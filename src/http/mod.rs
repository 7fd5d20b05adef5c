//! The HTTP server's own routes: health, readiness and Prometheus metrics, and the middleware
//! every route shares. `app` merges each surface's routes; this module knows none of them.

mod health;
pub mod metrics;

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use tracing::Instrument;

pub use health::Health;

/// Health, readiness and metrics, merged with `surfaces` (each with its own state), behind
/// one observing middleware.
pub fn router(health: Health, surfaces: Router) -> Router {
    metrics::install();
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .with_state(health)
        .merge(surfaces)
        .layer(middleware::from_fn(observe))
}

/// One span and one set of metrics per request, labelled by route template, not raw path.
async fn observe(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().to_string();
    let span = tracing::info_span!("http", %method, %route, request_id = %uuid::Uuid::new_v4());
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16().to_string();
    span.in_scope(
        || tracing::debug!(%status, elapsed_ms = started.elapsed().as_millis(), "request"),
    );
    ::metrics::counter!("querybot_http_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    ::metrics::histogram!("querybot_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

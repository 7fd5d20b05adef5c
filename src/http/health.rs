//! `/healthz` (the process is up) and `/readyz` (the store and the default warehouse answer).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use tokio_util::task::TaskTracker;

use crate::store::Store;
use crate::warehouse::Warehouse;

/// How long a readiness probe waits on each dependency.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// What readiness depends on: the store and the default warehouse.
#[derive(Clone)]
pub struct Health {
    pub store: Store,
    pub warehouse: Arc<dyn Warehouse>,
    /// The process's work; closed once it drains for shutdown, when it is no longer ready.
    pub tasks: TaskTracker,
}

pub(super) async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

pub(super) async fn readyz(State(health): State<Health>) -> (StatusCode, Json<serde_json::Value>) {
    if health.tasks.is_closed() {
        let body = json!({ "status": "draining", "in_flight": health.tasks.len() });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
    }
    let store = outcome(tokio::time::timeout(CHECK_TIMEOUT, health.store.check()).await);
    let warehouse = health.warehouse.check();
    let warehouse = outcome(tokio::time::timeout(CHECK_TIMEOUT, warehouse).await);
    let ready = store.is_none() && warehouse.is_none();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "checks": {
            "store": store.unwrap_or_else(|| "ok".to_owned()),
            "warehouse": warehouse.unwrap_or_else(|| "ok".to_owned()),
        }
    });
    (status, Json(body))
}

/// `None` when the check passed, else what went wrong (no secrets: errors name, not dump, URLs).
fn outcome<E: std::error::Error>(
    result: Result<Result<(), E>, tokio::time::error::Elapsed>,
) -> Option<String> {
    match result {
        Ok(Ok(())) => None,
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "readiness check failed");
            Some(error.to_string())
        }
        Err(_) => Some(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
    }
}

//! The Slack surface: `/ask`, mentions and thread follow-ups in, drafts with Run / Edit /
//! Cancel and threaded answers (table, chart, CSV) out. It adapts Slack to the Bot and
//! knows nothing of SQL or LLMs.
//!
//! Payloads arrive over HTTP (`ingress`, signed) or Socket Mode (`socket`); both parse with
//! `payload`, dedupe in the store, acknowledge at once and hand the work to `handler`, which
//! renders replies with `blocks` and calls Slack through `api`. `oauth` installs workspaces.

mod api;
pub mod blocks;
mod crypto;
mod groups;
mod handler;
mod ingress;
mod oauth;
mod outbox;
pub mod payload;
mod socket;
mod verify;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use api::ApiError;
pub use crypto::CipherError;
pub use handler::{Slack, SlackError};
pub use socket::serve as socket_mode;

/// The Slack endpoints, to merge into the HTTP server.
pub fn router(slack: Slack) -> Router {
    let draining = middleware::from_fn_with_state(slack.clone(), refuse_while_draining);
    Router::new()
        .route("/slack/events", post(ingress::events))
        .route("/slack/commands", post(ingress::commands))
        .route("/slack/interactions", post(ingress::interactions))
        .route("/slack/install", get(oauth::install))
        .route("/slack/oauth/callback", get(oauth::callback))
        .route_layer(draining)
        .with_state(slack)
}

/// While the process drains, new deliveries get 503: Slack retries events (another replica,
/// or this one after its restart, takes them); a command or click shows Slack's error.
async fn refuse_while_draining(
    State(slack): State<Slack>,
    request: Request,
    next: Next,
) -> Response {
    if slack.draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "querybot is restarting").into_response();
    }
    next.run(request).await
}

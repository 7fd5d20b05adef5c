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
mod handler;
mod ingress;
mod oauth;
mod outbox;
pub mod payload;
mod socket;
mod verify;

use axum::Router;
use axum::routing::{get, post};

pub use api::ApiError;
pub use crypto::CipherError;
pub use handler::{Slack, SlackError};
pub use socket::serve as socket_mode;

/// The Slack endpoints, to merge into the HTTP server.
pub fn router(slack: Slack) -> Router {
    Router::new()
        .route("/slack/events", post(ingress::events))
        .route("/slack/commands", post(ingress::commands))
        .route("/slack/interactions", post(ingress::interactions))
        .route("/slack/install", get(oauth::install))
        .route("/slack/oauth/callback", get(oauth::callback))
        .with_state(slack)
}

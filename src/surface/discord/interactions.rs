//! `POST /discord/interactions`: Discord's HTTP delivery of `/ask` and clicks, for
//! deployments that take interactions over HTTP. Signed requests only (401 otherwise); PING
//! is answered; the first response is the HTTP answer and the rest follows in a task.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use twilight_model::application::interaction::{Interaction, InteractionType};

use twilight_model::http::interaction::{InteractionResponse, InteractionResponseType};

use super::Discord;
use super::verify::verify;

/// Just an interaction's type.
#[derive(serde::Deserialize)]
struct Kind {
    #[serde(rename = "type")]
    kind: InteractionType,
}

pub(super) async fn interactions(
    State(discord): State<Discord>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(public_key) = discord.config().public_key else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let timestamp = header("x-signature-timestamp");
    let signature = header("x-signature-ed25519");
    if !verify(&public_key, timestamp, &body, signature) {
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    // A PING is answered from its type alone: Discord's checks send it with few fields.
    if serde_json::from_slice::<Kind>(&body).is_ok_and(|kind| kind.kind == InteractionType::Ping) {
        return Json(InteractionResponse {
            kind: InteractionResponseType::Pong,
            data: None,
        })
        .into_response();
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(interaction) => interaction,
        Err(error) => {
            tracing::warn!(%error, "Discord interaction not understood");
            return (StatusCode::BAD_REQUEST, "interaction not understood").into_response();
        }
    };
    if discord.draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "querybot is restarting").into_response();
    }
    let id = format!("discord:interaction:{}", interaction.id);
    let payload = String::from_utf8_lossy(&body);
    let (sighting, receipt) = discord.accept(&id, &payload).await;
    match sighting {
        super::Sighting::First => {}
        // Another replica (or an earlier delivery) answers it.
        super::Sighting::Again => return StatusCode::NO_CONTENT.into_response(),
        super::Sighting::StoreDown => {
            return Json(super::respond::store_down()).into_response();
        }
    }
    let (response, follow_up) = discord.first_response(&interaction).await;
    let worker = discord.clone();
    discord.tasks().spawn(async move {
        if let Some(follow_up) = follow_up {
            worker.follow(interaction, follow_up, &receipt).await;
        }
        receipt.handled().await;
    });
    Json(response).into_response()
}

//! The Discord surface: @mentions, DMs, follow-ups in conversation threads and `/ask` in;
//! drafts with Run / Edit / Cancel and threaded answers (table, chart PNG, CSV) out. It adapts
//! Discord to the Bot and the shared conversation flow, and knows nothing of SQL or LLMs.
//!
//! Events arrive over the gateway (`gateway`) and, where configured, interactions over HTTP
//! (`interactions`, signed per `verify`); both keep them in the store's delivery inbox (which
//! deduplicates them) and hand the work to `handler`, which draws replies with `render` and
//! calls Discord through `rest`. A delivery whose process died first is handled again by
//! `Courier::replay`.

mod gateway;
mod handler;
mod interactions;
mod markdown;
mod outbox;
pub mod render;
mod respond;
mod rest;
pub mod verify;

use axum::Router;

use crate::surface::receipt::Receipt;
use axum::routing::post;

pub use gateway::{GatewayError, serve};
pub use handler::{
    ASK_COMMAND, Discord, DiscordError, FollowUp, Me, NEEDS_MENTION, QUESTION_OPTION,
};

/// The Discord endpoints, to merge into the HTTP server: only the interactions endpoint, and
/// only when `DISCORD_PUBLIC_KEY` is set.
pub fn router(discord: Discord) -> Router {
    if discord.config().public_key.is_none() {
        return Router::new();
    }
    Router::new()
        .route("/discord/interactions", post(interactions::interactions))
        .with_state(discord)
}

/// Whether a delivery was seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sighting {
    First,
    Again,
    /// The store did not answer. An interaction is then answered with that, privately:
    /// Discord takes one first response per interaction, so replicas cannot answer twice.
    StoreDown,
}

impl Discord {
    /// Records a delivery; `false` when it was seen before (a redelivery, or another
    /// replica's). When the store cannot tell, the event is skipped: answering twice is worse
    /// than a question the asker repeats.
    async fn first_sighting(&self, id: &str) -> bool {
        self.sighting(id).await == Sighting::First
    }

    /// Records a delivery with its payload (to handle it again should this process die
    /// first), and says whether it is the first, a repeat, or unknown because the store does
    /// not answer. The first comes with its receipt.
    async fn accept(&self, id: &str, payload: &str) -> (Sighting, Receipt) {
        let Ok(event) = id.parse::<crate::bot::EventId>() else {
            return (Sighting::Again, Receipt::none());
        };
        match self.state().accept(&event, payload).await {
            Ok(true) => (
                Sighting::First,
                Receipt::kept(self.state().clone(), event, None),
            ),
            Ok(false) => (Sighting::Again, Receipt::none()),
            Err(error) => {
                tracing::warn!(%error, id, "cannot record a Discord delivery");
                (Sighting::StoreDown, Receipt::none())
            }
        }
    }

    /// Records a delivery that is not kept for a second attempt; `false` when seen before.
    async fn sighting(&self, id: &str) -> Sighting {
        let Ok(event) = id.parse() else {
            return Sighting::Again;
        };
        match self.state().first_sighting(&event).await {
            Ok(true) => Sighting::First,
            Ok(false) => Sighting::Again,
            Err(error) => {
                tracing::warn!(%error, id, "cannot record a Discord delivery");
                Sighting::StoreDown
            }
        }
    }

    /// An interaction from the gateway while the store does not answer: said privately.
    async fn store_down_over_gateway(
        &self,
        interaction: twilight_model::application::interaction::Interaction,
    ) {
        let client = self.rest().interaction(interaction.application_id);
        let response = respond::store_down();
        let sent = rest::send("callback", || {
            client.create_response(interaction.id, &interaction.token, &response)
        })
        .await;
        if let Err(error) = sent {
            tracing::warn!(%error, "interaction callback failed");
        }
    }

    /// An interaction from the gateway: the first response goes back as a callback, then the
    /// rest follows.
    async fn interaction_over_gateway(
        &self,
        interaction: twilight_model::application::interaction::Interaction,
        receipt: Receipt,
    ) {
        let (response, follow_up) = self.first_response(&interaction).await;
        let client = self.rest().interaction(interaction.application_id);
        let sent = rest::send("callback", || {
            client.create_response(interaction.id, &interaction.token, &response)
        })
        .await;
        if let Err(error) = sent {
            tracing::warn!(%error, "interaction callback failed");
            receipt.handled().await;
            return;
        }
        if let Some(follow_up) = follow_up {
            self.follow(interaction, follow_up, &receipt).await;
        }
        receipt.handled().await;
    }
}

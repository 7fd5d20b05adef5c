//! The gateway connection: one shard (twilight-gateway heartbeats, resumes after a dropped
//! connection and reconnects on op 7), the events querybot wants, deduplicated in the store
//! so that several replicas answer once. Close codes Discord means as final (a bad token, a
//! privileged intent not enabled) end `serve` with the setting to fix.

use std::time::Duration;

use tokio::sync::watch;
use twilight_gateway::{
    CloseFrame, ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, StreamExt as _,
};

use super::Discord;
use super::rest;

/// Why the gateway stopped for good.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("{0}")]
    Fatal(String),
    #[error("cannot reach Discord's gateway")]
    Discovery(#[source] super::DiscordError),
}

/// Runs the gateway until `stopped` turns true (then closes it cleanly) or Discord closes it
/// for good.
pub async fn serve(
    discord: Discord,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), GatewayError> {
    let token = discord
        .config()
        .token
        .clone()
        .ok_or_else(|| GatewayError::Fatal("DISCORD_TOKEN is not set".to_owned()))?;
    // Discord unreachable at start-up is waited out (the rest of querybot serves meanwhile);
    // a token Discord refuses is not.
    let mut wait = Duration::from_secs(1);
    let gateway_url = loop {
        match connect_info(&discord).await {
            Ok(url) => break url,
            Err(GatewayError::Discovery(error)) => {
                tracing::warn!(error = %crate::bot::error_chain(&error), retry_in_s = wait.as_secs(), "Discord not reachable");
                tokio::select! {
                    _ = stopped.changed() => return Ok(()),
                    () = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(Duration::from_secs(60));
            }
            Err(fatal) => return Err(fatal),
        }
    };
    if let Err(error) = discord.register_commands().await {
        tracing::warn!(error = %crate::bot::error_chain(&error), "cannot register /ask; mentions still work");
    }
    let mut intents = Intents::GUILDS | Intents::GUILD_MESSAGES | Intents::DIRECT_MESSAGES;
    if discord.config().message_content {
        intents |= Intents::MESSAGE_CONTENT;
    }
    let mut config = ConfigBuilder::new(
        secrecy::ExposeSecret::expose_secret(&token).to_owned(),
        intents,
    );
    if let Some(url) = gateway_url {
        config = config.proxy_url(url);
    }
    let mut shard = Shard::with_config(ShardId::ONE, config.build());
    let wanted = EventTypeFlags::READY
        | EventTypeFlags::RESUMED
        | EventTypeFlags::MESSAGE_CREATE
        | EventTypeFlags::INTERACTION_CREATE;
    let mut closing = false;
    loop {
        let item = tokio::select! {
            changed = stopped.changed(), if !closing => {
                if changed.is_err() || *stopped.borrow() {
                    tracing::info!("closing the Discord gateway");
                    shard.close(CloseFrame::NORMAL);
                    closing = true;
                }
                continue;
            }
            item = shard.next_event(wanted) => item,
        };
        let event = match item {
            None => return Ok(()),
            Some(Ok(event)) => event,
            Some(Err(error)) => {
                tracing::warn!(%error, "Discord gateway message not understood");
                continue;
            }
        };
        match event {
            Event::Ready(ready) => {
                tracing::info!(user = %ready.user.id, guilds = ready.guilds.len(), "Discord gateway ready");
            }
            Event::Resumed => tracing::info!("Discord gateway resumed"),
            Event::GatewayClose(frame) => {
                let code = frame.as_ref().map(|frame| frame.code);
                if closing {
                    return Ok(());
                }
                if let Some(problem) = code.and_then(fatal) {
                    return Err(GatewayError::Fatal(problem));
                }
                tracing::warn!(?code, "Discord gateway closed; reconnecting");
            }
            // Most messages are not for querybot: they are deduplicated only once they are.
            Event::MessageCreate(message) => {
                let discord = discord.clone();
                discord
                    .tasks()
                    .clone()
                    .spawn(async move { discord.message(message.0, None).await });
            }
            Event::InteractionCreate(interaction) => {
                let id = format!("discord:interaction:{}", interaction.id);
                let payload = serde_json::to_string(&interaction.0).unwrap_or_default();
                let (sighting, receipt) = discord.accept(&id, &payload).await;
                if sighting != super::Sighting::Again {
                    let discord = discord.clone();
                    discord.tasks().clone().spawn(async move {
                        match sighting {
                            super::Sighting::StoreDown => {
                                discord.store_down_over_gateway(interaction.0).await;
                            }
                            _ => {
                                discord
                                    .interaction_over_gateway(interaction.0, receipt)
                                    .await
                            }
                        }
                    });
                }
            }
            _ => {}
        }
    }
}

/// Checks the token (asking who querybot is) and, when the REST base is not Discord's own,
/// discovers the gateway through it, so a proxy or a test server can name its own gateway.
async fn connect_info(discord: &Discord) -> Result<Option<String>, GatewayError> {
    discord.me().await.map_err(|error| match &error {
        super::DiscordError::Rest(rest) if rest::status(rest) == Some(401) => GatewayError::Fatal(
            "Discord refused DISCORD_TOKEN: copy the bot token again from the Developer \
             Portal's Bot page"
                .to_owned(),
        ),
        _ => GatewayError::Discovery(error),
    })?;
    if discord.config().api_url.is_none() {
        return Ok(None);
    }
    let info = rest::send("gateway", || discord.rest().gateway().authed())
        .await
        .map_err(|e| GatewayError::Discovery(e.into()))?
        .model()
        .await
        .map_err(|e| GatewayError::Discovery(e.into()))?;
    Ok(Some(info.url))
}

/// The operator's fix for a close code after which reconnecting cannot help.
fn fatal(code: u16) -> Option<String> {
    let problem = match code {
        4004 => {
            "Discord refused DISCORD_TOKEN (close code 4004): copy the bot token again from \
                 the Developer Portal's Bot page"
        }
        4010 | 4011 => {
            "Discord asks for sharding (close code 4010/4011): querybot runs one \
                        shard, enough for 2,500 servers"
        }
        4012 => "Discord no longer speaks this gateway version (close code 4012): update querybot",
        4013 => "Discord refused the gateway intents (close code 4013): update querybot",
        4014 => {
            "Discord refused the Message Content intent (close code 4014): enable it on the \
                 Developer Portal's Bot page, or set DISCORD_MESSAGE_CONTENT=off"
        }
        _ => return None,
    };
    Some(problem.to_owned())
}

#[cfg(test)]
mod tests {
    use super::fatal;

    #[test]
    fn only_final_close_codes_stop_the_bot() {
        for code in [4004, 4010, 4011, 4012, 4013, 4014] {
            assert!(fatal(code).is_some(), "{code}");
        }
        for code in [1000, 1001, 4000, 4001, 4002, 4003, 4005, 4007, 4008, 4009] {
            assert!(fatal(code).is_none(), "{code}");
        }
        assert!(fatal(4014).is_some_and(|p| p.contains("DISCORD_MESSAGE_CONTENT")));
    }
}

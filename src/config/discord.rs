//! Discord's settings: on when `DISCORD_TOKEN` is set; everything else optional.

use std::collections::HashMap;

use secrecy::SecretString;

use super::{ConfigError, positive};

/// Discord's default upload limit per file, for servers without boosts.
pub const DEFAULT_MAX_UPLOAD: u64 = 10 * 1024 * 1024;

/// The Discord surface; off unless `DISCORD_TOKEN` is set.
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    pub token: Option<SecretString>,
    /// The application's id; asked of Discord at start when not set.
    pub application_id: Option<u64>,
    /// The application's Ed25519 public key: turns on `POST /discord/interactions`.
    pub public_key: Option<[u8; 32]>,
    /// Registers `/ask` in this guild only (instantly), instead of globally.
    pub guild_id: Option<u64>,
    /// Whether the privileged Message Content intent is enabled for the bot.
    pub message_content: bool,
    /// The REST base (`http://host:port`), when not Discord's own: a rate-limiting proxy or a
    /// test server. Gateway discovery follows it.
    pub api_url: Option<String>,
    /// The largest file querybot uploads; a larger CSV is cut at a row boundary.
    pub max_upload: u64,
}

impl DiscordConfig {
    pub fn enabled(&self) -> bool {
        self.token.is_some()
    }
}

pub(super) fn discord_config(env: &HashMap<String, String>) -> Result<DiscordConfig, ConfigError> {
    let setting = |name: &str| {
        env.get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let snowflake =
        |name: &str| -> Result<Option<u64>, ConfigError> {
            setting(name)
                .map(|text| {
                    text.parse::<u64>().ok().filter(|id| *id > 0).ok_or_else(|| {
                    ConfigError::new(
                        name,
                        format!(
                            "expected a Discord id (a number, copied with Developer Mode on), \
                             got `{text}`"
                        ),
                    )
                })
                })
                .transpose()
        };
    let public_key = setting("DISCORD_PUBLIC_KEY")
        .map(|text| {
            hex::decode(&text)
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .ok_or_else(|| {
                    ConfigError::new(
                        "DISCORD_PUBLIC_KEY",
                        "expected the application's public key: 64 hex characters from the \
                         Developer Portal's General Information page",
                    )
                })
        })
        .transpose()?;
    let message_content = match setting("DISCORD_MESSAGE_CONTENT").as_deref() {
        None | Some("off" | "false" | "0") => false,
        Some("on" | "true" | "1") => true,
        Some(other) => {
            return Err(ConfigError::new(
                "DISCORD_MESSAGE_CONTENT",
                format!("expected on or off, got `{other}`"),
            ));
        }
    };
    let api_url = match setting("DISCORD_API_URL") {
        None => None,
        Some(text) => match url::Url::parse(&text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Some(text.trim_end_matches('/').to_owned())
            }
            _ => {
                return Err(ConfigError::new(
                    "DISCORD_API_URL",
                    format!("expected an http(s) URL such as http://127.0.0.1:8081, got `{text}`"),
                ));
            }
        },
    };
    let token = setting("DISCORD_TOKEN");
    if token
        .as_deref()
        .is_some_and(|t| t.contains(char::is_whitespace))
    {
        return Err(ConfigError::new(
            "DISCORD_TOKEN",
            "expected the bot token from the Developer Portal's Bot page, without `Bot ` or spaces",
        ));
    }
    Ok(DiscordConfig {
        token: token.map(SecretString::from),
        application_id: snowflake("DISCORD_APPLICATION_ID")?,
        public_key,
        guild_id: snowflake("DISCORD_GUILD_ID")?,
        message_content,
        api_url,
        max_upload: positive(env, "DISCORD_MAX_UPLOAD", None)?.unwrap_or(DEFAULT_MAX_UPLOAD),
    })
}

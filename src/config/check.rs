//! `querybot config check`: the effective configuration, each value with where it came from
//! (default, TOML file, `.env`, environment), secrets hidden.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;

use super::{Config, DEFAULT_CONNECTION, LogFormat, ViewsWithoutBarrier};

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Default,
    File,
    DotEnv,
    Environment,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Default => "default",
            Source::File => "TOML",
            Source::DotEnv => ".env",
            Source::Environment => "environment",
        })
    }
}

/// What was read besides the process environment: the `.env` keys and the TOML file.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    /// Variables set by `.env` (those already in the environment win and are not listed).
    pub dotenv: HashSet<String>,
    /// Variables set in the environment or `.env`, non-empty.
    pub environment: HashSet<String>,
    pub file: Option<(PathBuf, toml::Table)>,
}

impl Origins {
    fn source(&self, variables: &[&str], key: Option<&str>) -> Source {
        if let Some(variable) = variables.iter().find(|v| self.environment.contains(**v)) {
            return if self.dotenv.contains(*variable) {
                Source::DotEnv
            } else {
                Source::Environment
            };
        }
        let in_file = key
            .zip(self.file.as_ref())
            .is_some_and(|(key, (_, table))| {
                let mut parts = key.split('.');
                let first = parts.next().and_then(|part| table.get(part));
                parts
                    .try_fold(first, |value, part| Some(value?.get(part)))
                    .flatten()
                    .is_some()
            });
        if in_file {
            Source::File
        } else {
            Source::Default
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The environment variable, or the TOML key of a setting that has no variable.
    pub setting: String,
    pub value: String,
    pub source: Source,
}

const HIDDEN: &str = "(set, hidden)";

fn hidden<T>(value: Option<&T>) -> String {
    value.map_or_else(|| "(not set)".to_owned(), |_| HIDDEN.to_owned())
}

fn on_off(on: bool) -> String {
    if on { "on" } else { "off" }.to_owned()
}

/// Every setting with its effective value and source.
pub fn describe(config: &Config, origins: &Origins) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut add = |variables: &[&str], key: Option<&str>, value: String| {
        entries.push(Entry {
            setting: variables
                .first()
                .map(|v| (*v).to_owned())
                .or(key.map(str::to_owned))
                .unwrap_or_default(),
            value,
            source: origins.source(variables, key),
        });
    };
    let default = &config.connections[DEFAULT_CONNECTION];
    add(
        &["QUERYBOT_CONFIG"],
        None,
        match &origins.file {
            Some((path, _)) => path.display().to_string(),
            None => "(no file)".to_owned(),
        },
    );
    add(
        &["QUERYBOT_DATA_DIR"],
        Some("data_dir"),
        config.data_dir.display().to_string(),
    );
    add(
        &["DATABASE_URL"],
        Some("database_url"),
        config.store_url.to_string(),
    );
    add(
        &["WAREHOUSE_URL"],
        Some("warehouse_url"),
        default.url.to_string(),
    );
    add(
        &["QUERYBOT_LISTEN"],
        Some("listen"),
        config.listen.to_string(),
    );
    let limits = &config.limits;
    add(
        &["QUERYBOT_STATEMENT_TIMEOUT"],
        Some("statement_timeout"),
        format!("{} s", limits.statement_timeout.as_secs()),
    );
    add(
        &["QUERYBOT_PREVIEW_ROWS"],
        Some("preview_rows"),
        limits.preview_rows.to_string(),
    );
    add(
        &["QUERYBOT_MAX_ROWS"],
        Some("max_rows"),
        limits.max_rows.to_string(),
    );
    add(
        &["QUERYBOT_MAX_RESULT_BYTES"],
        Some("max_result_bytes"),
        limits.max_bytes.to_string(),
    );
    add(
        &["QUERYBOT_CONFIRM_ABOVE_BYTES"],
        Some("confirm_above_bytes"),
        limits.confirm_above_bytes.to_string(),
    );
    add(
        &["QUERYBOT_LOG", "RUST_LOG"],
        Some("log"),
        config
            .log
            .filter
            .clone()
            .unwrap_or_else(|| "info for serve, warn otherwise".to_owned()),
    );
    add(
        &["QUERYBOT_LOG_FORMAT"],
        Some("log_format"),
        match config.log.format {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
        .to_owned(),
    );
    let llm = &config.llm;
    add(
        &["LLM_PROVIDER"],
        Some("llm.provider"),
        llm.provider.as_str().to_owned(),
    );
    add(
        &["LLM_BASE_URL"],
        Some("llm.base_url"),
        llm.base_url.clone(),
    );
    let key_variables: Vec<&str> = std::iter::once("LLM_API_KEY")
        .chain(llm.provider.key_variable())
        .collect();
    add(&key_variables, None, hidden(llm.api_key.as_ref()));
    add(&["LLM_MODEL"], Some("llm.model"), llm.model.clone());
    add(
        &["LLM_TIMEOUT"],
        Some("llm.timeout"),
        format!("{} s", llm.timeout.as_secs()),
    );
    add(
        &["LLM_MAX_RETRIES"],
        Some("llm.max_retries"),
        llm.max_retries.to_string(),
    );
    let pipeline = &config.pipeline;
    add(
        &["LLM_REPAIR_ROUNDS"],
        Some("llm.repair_rounds"),
        pipeline.repair_rounds.to_string(),
    );
    add(
        &["QUERYBOT_EXAMPLES"],
        Some("examples"),
        default
            .examples
            .as_ref()
            .map_or_else(|| "(none)".to_owned(), |p| p.display().to_string()),
    );
    add(
        &["QUERYBOT_SUMMARIES"],
        Some("summaries"),
        on_off(pipeline.summaries),
    );
    add(
        &["QUERYBOT_VIEWS_WITHOUT_BARRIER"],
        Some("views_without_barrier"),
        match pipeline.views_without_barrier {
            ViewsWithoutBarrier::Allow => "allow",
            ViewsWithoutBarrier::Skip => "skip",
        }
        .to_owned(),
    );
    add(
        &["QUERYBOT_OUTPUT_DIR"],
        Some("output_dir"),
        pipeline.output_dir.display().to_string(),
    );
    add(
        &["QUERYBOT_SHUTDOWN_GRACE"],
        Some("shutdown_grace"),
        format!("{} s", config.shutdown_grace.as_secs()),
    );
    add(
        &["QUERYBOT_MAX_QUESTIONS_IN_FLIGHT"],
        Some("max_questions_in_flight"),
        config.max_questions_in_flight.to_string(),
    );
    add(
        &["QUERYBOT_ANYONE_MAY_RUN"],
        Some("anyone_may_run"),
        on_off(config.anyone_may_run),
    );
    add(
        &["VISUAL", "EDITOR"],
        None,
        config
            .editor
            .clone()
            .unwrap_or_else(|| "(none: one line is read)".to_owned()),
    );
    let slack = &config.slack;
    add(&["SLACK_API_URL"], None, slack.api_url.clone());
    add(&["SLACK_BOT_TOKEN"], None, hidden(slack.bot_token.as_ref()));
    add(
        &["SLACK_SIGNING_SECRET"],
        None,
        hidden(slack.signing_secret.as_ref()),
    );
    add(&["SLACK_APP_TOKEN"], None, hidden(slack.app_token.as_ref()));
    let oauth = slack.oauth.as_ref();
    add(
        &["SLACK_CLIENT_ID"],
        None,
        oauth.map_or_else(|| "(not set)".to_owned(), |o| o.client_id.clone()),
    );
    add(
        &["SLACK_CLIENT_SECRET"],
        None,
        hidden(oauth.map(|o| &o.client_secret)),
    );
    add(
        &["SLACK_TOKEN_KEY"],
        None,
        hidden(oauth.map(|o| &o.token_key)),
    );
    add(
        &["QUERYBOT_PUBLIC_URL"],
        Some("public_url"),
        oauth.map_or_else(|| "(not set)".to_owned(), |o| o.public_url.clone()),
    );
    let discord = &config.discord;
    add(&["DISCORD_TOKEN"], None, hidden(discord.token.as_ref()));
    let id =
        |id: Option<u64>, missing: &str| id.map_or_else(|| missing.to_owned(), |id| id.to_string());
    add(
        &["DISCORD_APPLICATION_ID"],
        None,
        id(discord.application_id, "(asked of Discord)"),
    );
    add(
        &["DISCORD_PUBLIC_KEY"],
        None,
        discord.public_key.map_or_else(
            || "(not set: no HTTP interactions endpoint)".to_owned(),
            hex::encode,
        ),
    );
    add(
        &["DISCORD_GUILD_ID"],
        None,
        id(discord.guild_id, "(none: /ask is registered globally)"),
    );
    add(
        &["DISCORD_MESSAGE_CONTENT"],
        None,
        on_off(discord.message_content),
    );
    add(
        &["DISCORD_API_URL"],
        None,
        discord
            .api_url
            .clone()
            .unwrap_or_else(|| "https://discord.com".to_owned()),
    );
    add(
        &["DISCORD_MAX_UPLOAD"],
        None,
        format!("{} bytes", discord.max_upload),
    );
    let access = &config.access;
    add(
        &["QUERYBOT_DEFAULT_ROLE"],
        Some("access.default_role"),
        access.default_role.to_string(),
    );
    for (list, role) in [
        ("access.admins", super::Role::Admin),
        ("access.analysts", super::Role::Analyst),
        ("access.viewers", super::Role::Viewer),
    ] {
        let named: Vec<&str> = access
            .roles
            .iter()
            .filter(|(_, r)| **r == role)
            .map(|(identity, _)| identity.as_str())
            .collect();
        add(&[], Some(list), format!("[{}]", named.join(", ")));
    }
    let usage = &config.usage_limits;
    let per_hour = |n: u32| match n {
        0 => "no limit".to_owned(),
        n => format!("{n} per hour"),
    };
    add(
        &["QUERYBOT_LIMIT_QUESTIONS"],
        Some("limits.questions_per_hour"),
        per_hour(usage.questions_per_hour),
    );
    add(
        &["QUERYBOT_LIMIT_RUNS"],
        Some("limits.runs_per_hour"),
        per_hour(usage.runs_per_hour),
    );
    add(
        &["QUERYBOT_LIMIT_WORKSPACE_QUESTIONS"],
        Some("limits.workspace_questions_per_hour"),
        per_hour(usage.workspace_questions_per_hour),
    );
    add(
        &["QUERYBOT_LIMIT_TOKENS"],
        Some("limits.tokens_per_day"),
        match usage.tokens_per_day {
            0 => "no limit".to_owned(),
            n => format!("{n} per day per connection"),
        },
    );
    add(
        &["QUERYBOT_LIMIT_ADMINS"],
        Some("limits.limit_admins"),
        on_off(usage.limit_admins),
    );
    for (name, connection) in config
        .connections
        .iter()
        .filter(|(n, _)| *n != DEFAULT_CONNECTION)
    {
        let key = format!("connections.{name}.url");
        add(&[], Some(&key), connection.url.to_string());
    }
    for (name, connection) in &config.connections {
        if let Some(allow) = &connection.access.allow {
            let key = format!("connections.{name}.allow");
            let named: Vec<&str> = allow.iter().map(|i| i.as_str()).collect();
            add(&[], Some(&key), format!("[{}]", named.join(", ")));
        }
        for (identity, role) in &connection.access.db_roles {
            let key = format!("connections.{name}.db_roles.{identity}");
            add(&[], Some(&key), role.clone());
        }
    }
    for (platform, bindings) in [
        ("slack", &config.channels.slack),
        ("discord", &config.channels.discord),
    ] {
        for (channel, connection) in bindings {
            // A flat `[channels]` entry is a Slack binding; its source is that key.
            let nested = format!("channels.{platform}.{channel}");
            let flat = format!("channels.{channel}");
            let key = match origins.source(&[], Some(&nested)) {
                Source::Default => flat,
                _ => nested,
            };
            add(&[], Some(&key), connection.clone());
        }
    }
    entries
}

/// The report as aligned text: `setting  value  (source)`.
pub fn render(entries: &[Entry]) -> String {
    let width = entries.iter().map(|e| e.setting.len()).max().unwrap_or(0);
    entries
        .iter()
        .map(|entry| {
            format!(
                "{:width$}  {}  ({})\n",
                entry.setting, entry.value, entry.source
            )
        })
        .collect()
}

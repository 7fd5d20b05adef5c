//! Every setting querybot reads, validated once at start-up into typed values.
//!
//! Sources, strongest first: the process environment (which `main` fills from `.env`), the
//! optional TOML file (`QUERYBOT_CONFIG`, else `./querybot.toml` when present), defaults.
//! Nothing else in the program reads the environment. URLs may carry passwords, so they are
//! held as [`SecretUrl`], whose `Debug` and `Display` never show the password.

mod access;
mod check;
mod discord;
mod snowflake;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use access::{AccessConfig, ConnectionAccess, Identity, Role, UsageLimits};
pub use check::{Entry, Origins, Source, describe, render};
pub use discord::{DEFAULT_MAX_UPLOAD, DiscordConfig};
pub use snowflake::{SnowflakeAuth, SnowflakeConfig};

/// The name of the connection `WAREHOUSE_URL` defines.
pub const DEFAULT_CONNECTION: &str = "default";

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// The bot's own store (`DATABASE_URL`).
    pub store_url: SecretUrl,
    pub listen: SocketAddr,
    pub limits: QueryLimits,
    /// Named warehouse connections; always holds [`DEFAULT_CONNECTION`].
    pub connections: BTreeMap<String, ConnectionConfig>,
    pub llm: LlmConfig,
    pub pipeline: PipelineConfig,
    /// The editor `querybot chat` opens to edit SQL (`VISUAL`, else `EDITOR`).
    pub editor: Option<String>,
    /// Which connection each chat channel's questions go to, per platform.
    pub channels: Channels,
    /// Whether anyone who sees a draft may run, edit or cancel it, not only its author.
    pub anyone_may_run: bool,
    pub slack: SlackConfig,
    pub discord: DiscordConfig,
    pub log: LogConfig,
    /// How long `serve` lets acknowledged work finish after SIGTERM or Ctrl-C.
    pub shutdown_grace: Duration,
    /// How many questions one process drafts at once; more are told to ask again shortly.
    pub max_questions_in_flight: usize,
    /// Who may do what (`[access]`).
    pub access: AccessConfig,
    /// How much one person, workspace and connection may use (`[limits]`).
    pub usage_limits: UsageLimits,
}

/// The Slack surface; off unless a signing secret (HTTP) or an app token (Socket Mode) is set.
#[derive(Debug, Clone)]
pub struct SlackConfig {
    /// The Web API base, `https://slack.com/api` unless a proxy or a test says otherwise.
    pub api_url: String,
    /// A single workspace's bot token (`xoxb-`); OAuth installs add per-team tokens.
    pub bot_token: Option<SecretString>,
    pub signing_secret: Option<SecretString>,
    /// Socket Mode's app-level token (`xapp-`).
    pub app_token: Option<SecretString>,
    pub oauth: Option<SlackOAuth>,
}

/// What multi-workspace installs need.
#[derive(Debug, Clone)]
pub struct SlackOAuth {
    pub client_id: String,
    pub client_secret: SecretString,
    /// 32 bytes that encrypt stored bot tokens.
    pub token_key: SecretString,
    /// Where Slack sends installers back: `{public_url}/slack/oauth/callback`.
    pub public_url: String,
    /// The workspaces that may install: anyone who installs can query the warehouse.
    pub allowed_teams: AllowedTeams,
}

/// Which Slack workspaces may install querybot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedTeams {
    /// Any workspace (`SLACK_ALLOWED_TEAMS=*`), for a bot that serves no private data.
    Any,
    /// Only these team ids.
    Only(std::collections::BTreeSet<String>),
}

impl AllowedTeams {
    pub fn allows(&self, team: &str) -> bool {
        match self {
            AllowedTeams::Any => true,
            AllowedTeams::Only(teams) => teams.contains(team),
        }
    }
}

impl SlackConfig {
    pub fn enabled(&self) -> bool {
        self.signing_secret.is_some() || self.app_token.is_some()
    }
}

/// Which LLM writes the SQL, and how to reach it.
#[derive(Debug, Clone)]
pub struct LlmConfig {
    pub provider: LlmProvider,
    /// The API base, e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`.
    pub base_url: String,
    pub api_key: Option<SecretString>,
    pub model: String,
    /// How long one call may take.
    pub timeout: Duration,
    /// Retries after a rate limit, a server error or a timeout, before giving up.
    pub max_retries: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlmProvider {
    /// Any server speaking OpenAI's chat completions API (OpenAI, vLLM, llama.cpp, LM Studio).
    OpenAi,
    /// A local Ollama, through its OpenAI-compatible API; needs no key.
    Ollama,
    Gemini,
    Anthropic,
}

impl LlmProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            LlmProvider::OpenAi => "openai",
            LlmProvider::Ollama => "ollama",
            LlmProvider::Gemini => "gemini",
            LlmProvider::Anthropic => "anthropic",
        }
    }

    fn default_base_url(self) -> &'static str {
        match self {
            LlmProvider::OpenAi => "https://api.openai.com/v1",
            LlmProvider::Ollama => "http://localhost:11434/v1",
            LlmProvider::Gemini => "https://generativelanguage.googleapis.com/v1beta",
            LlmProvider::Anthropic => "https://api.anthropic.com/v1",
        }
    }

    fn default_model(self) -> &'static str {
        match self {
            LlmProvider::OpenAi => "gpt-4.1-mini",
            LlmProvider::Ollama => "qwen2.5-coder:7b",
            LlmProvider::Gemini => "gemini-2.5-flash",
            LlmProvider::Anthropic => "claude-sonnet-4-5",
        }
    }

    /// The provider's own key variable, read when `LLM_API_KEY` is not set.
    fn key_variable(self) -> Option<&'static str> {
        match self {
            LlmProvider::OpenAi => Some("OPENAI_API_KEY"),
            LlmProvider::Ollama => None,
            LlmProvider::Gemini => Some("GEMINI_API_KEY"),
            LlmProvider::Anthropic => Some("ANTHROPIC_API_KEY"),
        }
    }
}

/// How questions become drafts and answers.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Rounds in which the LLM may repair SQL that the guard or a dry run rejected.
    pub repair_rounds: u32,
    /// Whether the LLM may see result rows to write a one-paragraph summary (off by default).
    pub summaries: bool,
    /// Where `ask` and `chat` write charts and CSV files.
    pub output_dir: PathBuf,
    /// Whether PostgreSQL views without `security_barrier`/`security_invoker` may be queried.
    pub views_without_barrier: ViewsWithoutBarrier,
}

/// What to do with views that may reveal the rows they filter out (see `catalog::Caveat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewsWithoutBarrier {
    /// Keep them (the warehouse's own grants are what the operator chose); `catalog
    /// refresh` lists them.
    #[default]
    Allow,
    /// Leave them out of the catalog the LLM sees and the guard allows.
    Skip,
}

/// Bounds on every query the bot runs against a warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    pub statement_timeout: Duration,
    /// Rows shown in chat.
    pub preview_rows: u64,
    /// Rows fetched at most (the CSV's length).
    pub max_rows: u64,
    /// Bytes of result data fetched at most, whatever the row count.
    pub max_bytes: u64,
    /// A draft whose plan scans more than this many bytes shows a warning before Run.
    pub confirm_above_bytes: u64,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            statement_timeout: Duration::from_secs(30),
            preview_rows: 20,
            max_rows: 100_000,
            max_bytes: 64 * 1024 * 1024,
            confirm_above_bytes: 10 * 1024 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    pub name: String,
    pub url: SecretUrl,
    pub kind: WarehouseKind,
    /// A YAML file of verified question and SQL pairs for this connection.
    pub examples: Option<PathBuf>,
    /// What a Snowflake connection needs beyond its URL.
    pub snowflake: Option<SnowflakeConfig>,
    /// Who may use the connection, and as which database role.
    pub access: ConnectionAccess,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarehouseKind {
    Postgres,
    Sqlite,
    Snowflake,
}

impl WarehouseKind {
    /// The SQL this kind of warehouse speaks.
    pub fn dialect(self) -> crate::dialect::Dialect {
        match self {
            WarehouseKind::Postgres => crate::dialect::Dialect::Postgres,
            WarehouseKind::Sqlite => crate::dialect::Dialect::Sqlite,
            WarehouseKind::Snowflake => crate::dialect::Dialect::Snowflake,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `querybot=debug,sqlx=warn`, when one is set;
    /// otherwise each command picks its own (`info` for `serve`, `warn` in a terminal).
    pub filter: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A setting that could not be used; names the setting so the operator can fix it.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {problem}")]
pub struct ConfigError {
    pub setting: String,
    pub problem: String,
}

impl ConfigError {
    fn new(setting: &str, problem: impl Into<String>) -> Self {
        ConfigError {
            setting: setting.to_owned(),
            problem: problem.into(),
        }
    }
}

/// A connection URL that may contain a password.
#[derive(Clone)]
pub struct SecretUrl(SecretString);

impl SecretUrl {
    pub fn new(url: impl Into<String>) -> Self {
        SecretUrl(SecretString::from(url.into()))
    }

    /// The full URL, password included: only for handing to a driver.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn scheme(&self) -> &str {
        self.expose()
            .split_once(':')
            .map_or("", |(scheme, _)| scheme)
    }
}

impl fmt::Display for SecretUrl {
    /// Shows the URL with any password replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(self.expose()) {
            Ok(mut url) if url.password().is_some() => {
                // Setting a password only fails for URLs that cannot have one.
                let _ = url.set_password(Some("***"));
                f.write_str(url.as_str())
            }
            Ok(url) => f.write_str(url.as_str()),
            Err(_) => f.write_str("<unparsable url>"),
        }
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({self})")
    }
}

/// Channel bindings per platform: `[channels.slack]` and `[channels.discord]` in the TOML map
/// a channel id to a connection name; a flat `[channels]` entry is a Slack channel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Channels {
    pub slack: BTreeMap<String, String>,
    pub discord: BTreeMap<String, String>,
}

/// One entry under `[channels]`: a flat Slack binding, or a platform's table of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ChannelEntry {
    Connection(String),
    Platform(BTreeMap<String, String>),
}

/// The optional TOML file: the same settings as the environment, in lower case without the
/// `QUERYBOT_` prefix, plus named connections.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    warehouse_url: Option<String>,
    listen: Option<String>,
    statement_timeout: Option<u64>,
    preview_rows: Option<u64>,
    max_rows: Option<u64>,
    max_result_bytes: Option<u64>,
    confirm_above_bytes: Option<u64>,
    log_format: Option<String>,
    log: Option<String>,
    examples: Option<PathBuf>,
    summaries: Option<String>,
    views_without_barrier: Option<String>,
    output_dir: Option<PathBuf>,
    #[serde(default)]
    llm: FileLlm,
    #[serde(default)]
    connections: BTreeMap<String, FileConnection>,
    #[serde(default)]
    channels: BTreeMap<String, ChannelEntry>,
    anyone_may_run: Option<bool>,
    public_url: Option<String>,
    shutdown_grace: Option<u64>,
    max_questions_in_flight: Option<u64>,
    #[serde(default)]
    access: access::FileAccess,
    #[serde(default)]
    limits: access::FileLimits,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLlm {
    provider: Option<String>,
    base_url: Option<String>,
    model: Option<String>,
    timeout: Option<u64>,
    max_retries: Option<u64>,
    repair_rounds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConnection {
    url: String,
    examples: Option<PathBuf>,
    allow: Option<Vec<String>>,
    #[serde(default)]
    db_roles: BTreeMap<String, String>,
}

impl Config {
    /// Reads `.env` into the process environment (without overriding what is set), then
    /// builds the configuration from the environment and the optional TOML file.
    pub fn load() -> Result<Config, ConfigError> {
        Config::load_with_origins().map(|(config, _)| config)
    }

    /// Like [`Config::load`], and also says where each setting came from.
    pub fn load_with_origins() -> Result<(Config, Origins), ConfigError> {
        let before: HashSet<String> = std::env::vars_os()
            .filter_map(|(key, _)| key.into_string().ok())
            .collect();
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(ConfigError::new(".env", e.to_string())),
        }
        let env: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        let config = Config::from_env(&env)?;
        let origins = Origins {
            dotenv: env
                .keys()
                .filter(|k| !before.contains(*k))
                .cloned()
                .collect(),
            environment: env
                .iter()
                .filter(|(_, value)| !value.trim().is_empty())
                .map(|(key, _)| key.clone())
                .collect(),
            file: config_file_path(&env).and_then(|path| {
                let table = std::fs::read_to_string(&path).ok()?.parse().ok()?;
                Some((path, table))
            }),
        };
        Ok((config, origins))
    }

    /// Builds the configuration from explicit environment values and the TOML file they name.
    pub fn from_env(env: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let file = match config_file_path(env) {
            Some(path) => read_file_config(&path)?,
            None => FileConfig::default(),
        };
        Config::from_sources(env, file)
    }

    fn from_sources(
        env: &HashMap<String, String>,
        file: FileConfig,
    ) -> Result<Config, ConfigError> {
        let setting = |name: &str| env.get(name).filter(|v| !v.trim().is_empty()).cloned();

        let data_dir = setting("QUERYBOT_DATA_DIR")
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));

        let store_url = setting("DATABASE_URL")
            .or(file.database_url)
            .unwrap_or_else(|| {
                format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.join("querybot.sqlite").display()
                )
            });
        let store_url = SecretUrl::new(store_url);
        if !matches!(store_url.scheme(), "sqlite" | "postgres" | "postgresql") {
            return Err(ConfigError::new(
                "DATABASE_URL",
                format!("expected sqlite://PATH or postgres://..., got `{store_url}`"),
            ));
        }

        let listen = setting("QUERYBOT_LISTEN")
            .or(file.listen)
            .unwrap_or_else(|| "0.0.0.0:8080".to_owned());
        let listen = listen.parse().map_err(|_| {
            ConfigError::new(
                "QUERYBOT_LISTEN",
                format!("expected HOST:PORT such as 0.0.0.0:8080, got `{listen}`"),
            )
        })?;

        let defaults = QueryLimits::default();
        let statement_timeout =
            positive(env, "QUERYBOT_STATEMENT_TIMEOUT", file.statement_timeout)?
                .map_or(defaults.statement_timeout, Duration::from_secs);
        let shutdown_grace = positive(env, "QUERYBOT_SHUTDOWN_GRACE", file.shutdown_grace)?
            .map_or(Duration::from_secs(25), Duration::from_secs);
        let max_questions_in_flight = positive(
            env,
            "QUERYBOT_MAX_QUESTIONS_IN_FLIGHT",
            file.max_questions_in_flight,
        )?
        .map_or(DEFAULT_QUESTIONS_IN_FLIGHT, |n| {
            usize::try_from(n).unwrap_or(usize::MAX)
        });
        let preview_rows = positive(env, "QUERYBOT_PREVIEW_ROWS", file.preview_rows)?
            .unwrap_or(defaults.preview_rows);
        let max_rows =
            positive(env, "QUERYBOT_MAX_ROWS", file.max_rows)?.unwrap_or(defaults.max_rows);
        let max_bytes = positive(env, "QUERYBOT_MAX_RESULT_BYTES", file.max_result_bytes)?
            .unwrap_or(defaults.max_bytes);
        let confirm_above_bytes = positive(
            env,
            "QUERYBOT_CONFIRM_ABOVE_BYTES",
            file.confirm_above_bytes,
        )?
        .unwrap_or(defaults.confirm_above_bytes);
        if preview_rows > max_rows {
            return Err(ConfigError::new(
                "QUERYBOT_PREVIEW_ROWS",
                format!("{preview_rows} is more than QUERYBOT_MAX_ROWS ({max_rows})"),
            ));
        }

        let mut connections = BTreeMap::new();
        for (name, connection) in file.connections {
            let setting_name = format!("connections.{name}.url");
            let mut config = connection_config(&setting_name, name.clone(), connection.url, env)?;
            config.examples = connection.examples;
            config.access =
                access::connection_access(&name, connection.allow, connection.db_roles)?;
            if !config.access.db_roles.is_empty() && config.kind == WarehouseKind::Sqlite {
                return Err(ConfigError::new(
                    &format!("connections.{name}.db_roles"),
                    "SQLite has no database roles; db_roles work on PostgreSQL and Snowflake"
                        .to_owned(),
                ));
            }
            connections.insert(name, config);
        }
        // `WAREHOUSE_URL` replaces `[connections.default]`'s URL, not who may use it.
        let default_access = connections
            .get(DEFAULT_CONNECTION)
            .map(|c| c.access.clone())
            .unwrap_or_default();
        let default_url = setting("WAREHOUSE_URL").or(file.warehouse_url);
        let default = match default_url {
            Some(url) => Some(connection_config(
                "WAREHOUSE_URL",
                DEFAULT_CONNECTION.to_owned(),
                url,
                env,
            )?),
            None if connections.contains_key(DEFAULT_CONNECTION) => None,
            None => {
                let url = format!("sqlite://{}", demo_warehouse_path(&data_dir).display());
                Some(connection_config(
                    "WAREHOUSE_URL",
                    DEFAULT_CONNECTION.to_owned(),
                    url,
                    env,
                )?)
            }
        };
        if let Some(mut default) = default {
            default.access = default_access;
            connections.insert(DEFAULT_CONNECTION.to_owned(), default);
        }
        let default_examples = setting("QUERYBOT_EXAMPLES")
            .map(PathBuf::from)
            .or(file.examples);
        if let (Some(examples), Some(default)) =
            (default_examples, connections.get_mut(DEFAULT_CONNECTION))
        {
            default.examples = Some(examples);
        }

        let file_repair_rounds = file.llm.repair_rounds;
        let llm = llm_config(env, file.llm)?;
        let repair_rounds = match setting("LLM_REPAIR_ROUNDS") {
            Some(text) => text.trim().parse::<u32>().map_err(|_| {
                ConfigError::new(
                    "LLM_REPAIR_ROUNDS",
                    format!("expected a whole number, got `{text}`"),
                )
            })?,
            None => file_u32(file_repair_rounds, "llm.repair_rounds")?.unwrap_or(2),
        };
        let summaries = match setting("QUERYBOT_SUMMARIES").or(file.summaries).as_deref() {
            None | Some("off" | "false" | "0") => false,
            Some("on" | "true" | "1") => true,
            Some(other) => {
                return Err(ConfigError::new(
                    "QUERYBOT_SUMMARIES",
                    format!("expected on or off, got `{other}`"),
                ));
            }
        };
        let views_without_barrier = match setting("QUERYBOT_VIEWS_WITHOUT_BARRIER")
            .or(file.views_without_barrier)
            .as_deref()
        {
            None | Some("allow") => ViewsWithoutBarrier::Allow,
            Some("skip") => ViewsWithoutBarrier::Skip,
            Some(other) => {
                return Err(ConfigError::new(
                    "QUERYBOT_VIEWS_WITHOUT_BARRIER",
                    format!("expected allow or skip, got `{other}`"),
                ));
            }
        };
        let mut channels = Channels::default();
        for (key, entry) in file.channels {
            match entry {
                ChannelEntry::Connection(connection) => {
                    if channels.slack.insert(key.clone(), connection).is_some() {
                        return Err(ConfigError::new(
                            &format!("channels.{key}"),
                            "the channel is bound twice (also in [channels.slack])".to_owned(),
                        ));
                    }
                }
                ChannelEntry::Platform(bindings) => {
                    let platform = match key.as_str() {
                        "slack" => &mut channels.slack,
                        "discord" => &mut channels.discord,
                        other => {
                            return Err(ConfigError::new(
                                &format!("channels.{other}"),
                                "expected [channels.slack] or [channels.discord]".to_owned(),
                            ));
                        }
                    };
                    for (channel, connection) in bindings {
                        if platform.insert(channel.clone(), connection).is_some() {
                            return Err(ConfigError::new(
                                &format!("channels.{key}.{channel}"),
                                "the channel is bound twice (also in the flat [channels])"
                                    .to_owned(),
                            ));
                        }
                    }
                }
            }
        }
        for (platform, bindings) in [("slack", &channels.slack), ("discord", &channels.discord)] {
            for (channel, connection) in bindings {
                if !connections.contains_key(connection) {
                    return Err(ConfigError::new(
                        &format!("channels.{platform}.{channel}"),
                        format!("no connection named `{connection}`"),
                    ));
                }
            }
        }
        let anyone_may_run = match setting("QUERYBOT_ANYONE_MAY_RUN").as_deref() {
            None => file.anyone_may_run.unwrap_or(false),
            Some("on" | "true" | "1") => true,
            Some("off" | "false" | "0") => false,
            Some(other) => {
                return Err(ConfigError::new(
                    "QUERYBOT_ANYONE_MAY_RUN",
                    format!("expected on or off, got `{other}`"),
                ));
            }
        };
        let slack = slack_config(env, setting("QUERYBOT_PUBLIC_URL").or(file.public_url))?;
        let discord = discord::discord_config(env)?;
        let output_dir = setting("QUERYBOT_OUTPUT_DIR")
            .map(PathBuf::from)
            .or(file.output_dir)
            .unwrap_or_else(|| data_dir.join("answers"));

        let format = match setting("QUERYBOT_LOG_FORMAT")
            .or(file.log_format)
            .as_deref()
        {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "QUERYBOT_LOG_FORMAT",
                    format!("expected text or json, got `{other}`"),
                ));
            }
        };
        let filter = setting("QUERYBOT_LOG")
            .or_else(|| setting("RUST_LOG"))
            .or(file.log);

        Ok(Config {
            data_dir,
            store_url,
            listen,
            limits: QueryLimits {
                statement_timeout,
                preview_rows,
                max_rows,
                max_bytes,
                confirm_above_bytes,
            },
            connections,
            llm,
            pipeline: PipelineConfig {
                repair_rounds,
                summaries,
                output_dir,
                views_without_barrier,
            },
            editor: setting("VISUAL").or_else(|| setting("EDITOR")),
            channels,
            anyone_may_run,
            slack,
            discord,
            log: LogConfig { format, filter },
            shutdown_grace,
            max_questions_in_flight,
            access: access::access_config(env, file.access)?,
            usage_limits: access::usage_limits(env, file.limits)?,
        })
    }

    /// The connection `WAREHOUSE_URL` names (always present).
    pub fn default_connection(&self) -> &ConnectionConfig {
        &self.connections[DEFAULT_CONNECTION]
    }

    /// Whether the default connection is the generated demo warehouse.
    pub fn uses_demo_warehouse(&self) -> bool {
        let demo = format!("sqlite://{}", demo_warehouse_path(&self.data_dir).display());
        self.default_connection().url.expose() == demo
    }
}

/// Where `querybot demo-data` writes the demo warehouse by default.
pub fn demo_warehouse_path(data_dir: &Path) -> PathBuf {
    data_dir.join("demo.sqlite")
}

/// The TOML file to read: `QUERYBOT_CONFIG`, else `./querybot.toml` when it exists.
fn config_file_path(env: &HashMap<String, String>) -> Option<PathBuf> {
    match env.get("QUERYBOT_CONFIG") {
        Some(path) => Some(PathBuf::from(path)),
        None => Some(PathBuf::from("querybot.toml")).filter(|path| path.exists()),
    }
}

fn read_file_config(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new(
            "QUERYBOT_CONFIG",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        let place = match line {
            Some(line) => format!("{} line {line}", path.display()),
            None => path.display().to_string(),
        };
        let problem = match unknown_key(e.message()) {
            Some((key, Some(closest))) => {
                format!("unknown key `{key}`; did you mean `{closest}`?")
            }
            Some((key, None)) => format!("unknown key `{key}`"),
            None => e.message().trim().to_owned(),
        };
        ConfigError::new("QUERYBOT_CONFIG", format!("{place}: {problem}"))
    })
}

/// From serde's "unknown field `x`, expected one of `a`, `b`": the key, and the known key
/// closest to it when one is close enough to be a typo.
fn unknown_key(message: &str) -> Option<(String, Option<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (key, expected) = rest.split_once('`')?;
    let closest = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|known| (strsim::damerau_levenshtein(key, known), known))
        .filter(|(distance, known)| *distance <= 2.max(known.len() / 3))
        .min()
        .map(|(_, known)| known.to_owned());
    Some((key.to_owned(), closest))
}

/// Questions one process drafts at once by default: each waiting on the LLM holds about
/// 20 KB, so 500 stay within 10 MB, and an LLM rarely serves more at once anyway.
pub const DEFAULT_QUESTIONS_IN_FLIGHT: usize = 500;

fn positive(
    env: &HashMap<String, String>,
    name: &str,
    from_file: Option<u64>,
) -> Result<Option<u64>, ConfigError> {
    let value = match env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            ConfigError::new(
                name,
                format!("expected a positive whole number, got `{text}`"),
            )
        })?),
        None => from_file,
    };
    match value {
        Some(0) => Err(ConfigError::new(name, "must be greater than zero")),
        other => Ok(other),
    }
}

fn file_u32(value: Option<u64>, setting: &str) -> Result<Option<u32>, ConfigError> {
    value
        .map(|v| {
            u32::try_from(v).map_err(|_| ConfigError::new(setting, format!("{v} is too large")))
        })
        .transpose()
}

fn llm_config(env: &HashMap<String, String>, file: FileLlm) -> Result<LlmConfig, ConfigError> {
    let setting = |name: &str| env.get(name).filter(|v| !v.trim().is_empty()).cloned();
    let explicit = setting("LLM_PROVIDER").or(file.provider);
    let provider = match explicit.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("ollama") => LlmProvider::Ollama,
        Some("openai") => LlmProvider::OpenAi,
        Some("gemini") => LlmProvider::Gemini,
        Some("anthropic") => LlmProvider::Anthropic,
        Some(other) => {
            return Err(ConfigError::new(
                "LLM_PROVIDER",
                format!("expected openai, ollama, gemini or anthropic, got `{other}`"),
            ));
        }
    };
    let base_url = setting("LLM_BASE_URL")
        .or(file.base_url)
        .unwrap_or_else(|| provider.default_base_url().to_owned());
    match url::Url::parse(&base_url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {}
        _ => {
            return Err(ConfigError::new(
                "LLM_BASE_URL",
                format!("expected an http(s) URL, got `{base_url}`"),
            ));
        }
    }
    let api_key = setting("LLM_API_KEY")
        .or_else(|| provider.key_variable().and_then(setting))
        .map(SecretString::from);
    if let (None, Some(_), Some(variable)) = (&api_key, &explicit, provider.key_variable()) {
        return Err(ConfigError::new(
            "LLM_API_KEY",
            format!(
                "{} needs an API key: set LLM_API_KEY or {variable}",
                provider.as_str()
            ),
        ));
    }
    let model = setting("LLM_MODEL")
        .or(file.model)
        .unwrap_or_else(|| provider.default_model().to_owned());
    let timeout = positive(env, "LLM_TIMEOUT", file.timeout)?.unwrap_or(60);
    let max_retries = match setting("LLM_MAX_RETRIES") {
        Some(text) => text.trim().parse::<u32>().map_err(|_| {
            ConfigError::new(
                "LLM_MAX_RETRIES",
                format!("expected a whole number, got `{text}`"),
            )
        })?,
        None => file_u32(file.max_retries, "llm.max_retries")?.unwrap_or(3),
    };
    Ok(LlmConfig {
        provider,
        base_url: base_url.trim_end_matches('/').to_owned(),
        api_key,
        model,
        timeout: Duration::from_secs(timeout),
        max_retries,
    })
}

fn slack_config(
    env: &HashMap<String, String>,
    public_url: Option<String>,
) -> Result<SlackConfig, ConfigError> {
    let setting = |name: &str| env.get(name).filter(|v| !v.trim().is_empty()).cloned();
    let secret = |name: &str| setting(name).map(SecretString::from);
    let api_url = setting("SLACK_API_URL").unwrap_or_else(|| "https://slack.com/api".to_owned());
    match url::Url::parse(&api_url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {}
        _ => {
            return Err(ConfigError::new(
                "SLACK_API_URL",
                format!("expected an http(s) URL, got `{api_url}`"),
            ));
        }
    }
    // slack-morphism joins `{base}/{method}`: a trailing slash would double.
    let api_url = api_url.trim_end_matches('/').to_owned();
    let app_token = secret("SLACK_APP_TOKEN");
    if app_token
        .as_ref()
        .is_some_and(|t| !t.expose_secret().starts_with("xapp-"))
    {
        return Err(ConfigError::new(
            "SLACK_APP_TOKEN",
            "Socket Mode needs the app-level token, which starts with xapp-",
        ));
    }
    let oauth = match setting("SLACK_CLIENT_ID") {
        None => None,
        Some(client_id) => {
            let client_secret = secret("SLACK_CLIENT_SECRET").ok_or_else(|| {
                ConfigError::new(
                    "SLACK_CLIENT_SECRET",
                    "OAuth installs need the app's client secret",
                )
            })?;
            let token_key = secret("SLACK_TOKEN_KEY").ok_or_else(|| {
                ConfigError::new(
                    "SLACK_TOKEN_KEY",
                    "OAuth installs need a key to encrypt stored tokens: 32 random bytes in \
                     base64 (openssl rand -base64 32)",
                )
            })?;
            let key_bytes = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                token_key.expose_secret().trim(),
            );
            if key_bytes.map(|bytes| bytes.len()) != Ok(32) {
                return Err(ConfigError::new(
                    "SLACK_TOKEN_KEY",
                    "expected 32 bytes in base64 (openssl rand -base64 32)",
                ));
            }
            let public_url = public_url.ok_or_else(|| {
                ConfigError::new(
                    "QUERYBOT_PUBLIC_URL",
                    "OAuth installs need the bot's public https URL for Slack's redirect",
                )
            })?;
            let allowed_teams = match setting("SLACK_ALLOWED_TEAMS").as_deref().map(str::trim) {
                Some("*") => AllowedTeams::Any,
                Some(list) => AllowedTeams::Only(
                    list.split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ),
                None => {
                    return Err(ConfigError::new(
                        "SLACK_ALLOWED_TEAMS",
                        "OAuth installs need the workspace ids allowed to install (T0123,T0456), \
                         or * for any workspace: whoever installs can query the warehouse",
                    ));
                }
            };
            Some(SlackOAuth {
                client_id,
                client_secret,
                token_key,
                public_url: public_url.trim_end_matches('/').to_owned(),
                allowed_teams,
            })
        }
    };
    let config = SlackConfig {
        api_url,
        bot_token: secret("SLACK_BOT_TOKEN"),
        signing_secret: secret("SLACK_SIGNING_SECRET"),
        app_token,
        oauth,
    };
    if config.enabled() && config.bot_token.is_none() && config.oauth.is_none() {
        return Err(ConfigError::new(
            "SLACK_BOT_TOKEN",
            "Slack is on but has no token: set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID, \
             SLACK_CLIENT_SECRET and SLACK_TOKEN_KEY (installs through OAuth)",
        ));
    }
    Ok(config)
}

/// A connection from its URL alone, as `WAREHOUSE_URL` would define it, with `env` holding the
/// settings beside the URL (Snowflake's credentials and API URL): for tools and tests.
pub fn connection_from_url(
    name: &str,
    url: &str,
    env: &HashMap<String, String>,
) -> Result<ConnectionConfig, ConfigError> {
    connection_config("WAREHOUSE_URL", name.to_owned(), url.to_owned(), env)
}

fn connection_config(
    setting: &str,
    name: String,
    url: String,
    env: &HashMap<String, String>,
) -> Result<ConnectionConfig, ConfigError> {
    let url = SecretUrl::new(url);
    let kind = match url.scheme() {
        "postgres" | "postgresql" => WarehouseKind::Postgres,
        "sqlite" => WarehouseKind::Sqlite,
        "snowflake" => WarehouseKind::Snowflake,
        _ => {
            return Err(ConfigError::new(
                setting,
                format!(
                    "expected postgres://..., sqlite://PATH or snowflake://USER@ACCOUNT/DATABASE, got `{url}`"
                ),
            ));
        }
    };
    let snowflake = match kind {
        WarehouseKind::Snowflake => Some(snowflake::snowflake_config(setting, url.expose(), env)?),
        _ => None,
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ConfigError::new(
            setting,
            format!("connection name `{name}` may use only letters, digits, `_` and `-`"),
        ));
    }
    Ok(ConnectionConfig {
        name,
        url,
        kind,
        examples: None,
        snowflake,
        access: ConnectionAccess::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn load(pairs: &[(&str, &str)], toml_text: &str) -> Result<Config, ConfigError> {
        let file: FileConfig = toml::from_str(toml_text).expect("test TOML parses");
        Config::from_sources(&env(pairs), file)
    }

    /// Every setting with a value it refuses: the error names that setting.
    #[rustfmt::skip]
    #[test]
    fn every_bad_value_is_named() {
        const OAUTH: &[(&str, &str)] = &[
            ("SLACK_SIGNING_SECRET", "s"),
            ("SLACK_CLIENT_ID", "123.456"),
            ("SLACK_CLIENT_SECRET", "secret"),
            ("SLACK_TOKEN_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            ("QUERYBOT_PUBLIC_URL", "https://bot.example.com"),
            ("SLACK_ALLOWED_TEAMS", "T1"),
        ];
        let with_oauth = |name: &str, value: Option<&str>| -> Vec<(String, String)> {
            OAUTH
                .iter()
                .filter(|(key, _)| *key != name)
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .chain(value.map(|v| (name.to_owned(), v.to_owned())))
                .collect()
        };
        let cases: Vec<(Vec<(String, String)>, &str)> = vec![
            (vec![("LLM_MAX_RETRIES".into(), "lots".into())], "LLM_MAX_RETRIES"),
            (vec![("QUERYBOT_ANYONE_MAY_RUN".into(), "maybe".into())], "QUERYBOT_ANYONE_MAY_RUN"),
            (vec![("QUERYBOT_MAX_RESULT_BYTES".into(), "big".into())], "QUERYBOT_MAX_RESULT_BYTES"),
            (vec![("QUERYBOT_CONFIRM_ABOVE_BYTES".into(), "10GB".into())], "QUERYBOT_CONFIRM_ABOVE_BYTES"),
            (vec![("QUERYBOT_PREVIEW_ROWS".into(), "-1".into())], "QUERYBOT_PREVIEW_ROWS"),
            (vec![("QUERYBOT_SHUTDOWN_GRACE".into(), "soon".into())], "QUERYBOT_SHUTDOWN_GRACE"),
            (vec![("QUERYBOT_MAX_QUESTIONS_IN_FLIGHT".into(), "0".into())], "QUERYBOT_MAX_QUESTIONS_IN_FLIGHT"),
            (vec![("SLACK_SIGNING_SECRET".into(), "s".into()), ("SLACK_API_URL".into(), "ftp://slack".into())], "SLACK_API_URL"),
            (vec![("SLACK_APP_TOKEN".into(), "xoxb-not-an-app-token".into())], "SLACK_APP_TOKEN"),
            (vec![("DISCORD_TOKEN".into(), "Bot abc".into())], "DISCORD_TOKEN"),
            (vec![("DISCORD_APPLICATION_ID".into(), "my-app".into())], "DISCORD_APPLICATION_ID"),
            (vec![("DISCORD_GUILD_ID".into(), "0".into())], "DISCORD_GUILD_ID"),
            (vec![("DISCORD_PUBLIC_KEY".into(), "abcd".into())], "DISCORD_PUBLIC_KEY"),
            (vec![("DISCORD_MESSAGE_CONTENT".into(), "yes".into())], "DISCORD_MESSAGE_CONTENT"),
            (vec![("DISCORD_API_URL".into(), "discord.local".into())], "DISCORD_API_URL"),
            (vec![("DISCORD_MAX_UPLOAD".into(), "10MB".into())], "DISCORD_MAX_UPLOAD"),
            (with_oauth("SLACK_CLIENT_SECRET", None), "SLACK_CLIENT_SECRET"),
            (with_oauth("SLACK_TOKEN_KEY", None), "SLACK_TOKEN_KEY"),
            (with_oauth("SLACK_TOKEN_KEY", Some("c2hvcnQ=")), "SLACK_TOKEN_KEY"),
            (with_oauth("QUERYBOT_PUBLIC_URL", None), "QUERYBOT_PUBLIC_URL"),
            (with_oauth("SLACK_ALLOWED_TEAMS", None), "SLACK_ALLOWED_TEAMS"),
            (vec![("QUERYBOT_DEFAULT_ROLE".into(), "owner".into())], "QUERYBOT_DEFAULT_ROLE"),
            (vec![("QUERYBOT_LIMIT_QUESTIONS".into(), "lots".into())], "QUERYBOT_LIMIT_QUESTIONS"),
            (vec![("QUERYBOT_LIMIT_RUNS".into(), "-3".into())], "QUERYBOT_LIMIT_RUNS"),
            (vec![("QUERYBOT_LIMIT_TOKENS".into(), "1M".into())], "QUERYBOT_LIMIT_TOKENS"),
            (vec![("QUERYBOT_LIMIT_ADMINS".into(), "sometimes".into())], "QUERYBOT_LIMIT_ADMINS"),
        ];
        for (pairs, expected) in cases {
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            assert_eq!(rejected_setting(&refs, ""), expected, "{pairs:?}");
        }
    }

    #[test]
    fn access_rules_name_the_setting_they_break() {
        let cases = [
            ("[access]\nadmins = [\"U0123\"]", "access.admins"),
            ("[access]\nviewers = [\"teams:U1\"]", "access.viewers"),
            ("[access]\ndefault_role = \"owner\"", "access.default_role"),
            (
                "[connections.f]\nurl = \"postgres://h/f\"\nallow = [\"slack:T1:U1\"]",
                "connections.f.allow",
            ),
            (
                "[connections.f]\nurl = \"postgres://h/f\"\n[connections.f.db_roles]\n\"slack:U1\" = \"a b\"",
                "connections.f.db_roles",
            ),
            (
                "[connections.f]\nurl = \"sqlite://f.db\"\n[connections.f.db_roles]\n\"slack:U1\" = \"reader\"",
                "connections.f.db_roles",
            ),
            (
                "[connections.f]\nurl = \"postgres://h/f\"\n[connections.f.db_roles]\n\"slack:channel:C1\" = \"reader\"",
                "connections.f.db_roles",
            ),
        ];
        for (toml_text, expected) in cases {
            let setting = rejected_setting(&[], toml_text);
            assert!(setting.starts_with(expected), "{toml_text}: {setting}");
        }
        let config = load(
            &[],
            "[access]\nadmins = [\"slack:U1\"]\n[limits]\nquestions_per_hour = 5\n\
             [connections.default]\nurl = \"postgres://h/d\"\nallow = [\"slack:group:S1\"]",
        )
        .expect("valid");
        assert_eq!(config.usage_limits.questions_per_hour, 5);
        assert_eq!(config.access.roles.len(), 1);
        assert!(config.default_connection().access.allow.is_some());
    }

    fn rejected_setting(pairs: &[(&str, &str)], toml_text: &str) -> String {
        load(pairs, toml_text)
            .expect_err("configuration should be rejected")
            .setting
    }

    #[test]
    fn defaults_need_no_settings() {
        let config = load(&[], "").expect("defaults load");
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(
            config.store_url.expose(),
            "sqlite://./data/querybot.sqlite?mode=rwc"
        );
        assert_eq!(config.listen, "0.0.0.0:8080".parse().expect("address"));
        assert_eq!(config.limits, QueryLimits::default());
        assert_eq!(config.default_connection().kind, WarehouseKind::Sqlite);
        assert!(config.uses_demo_warehouse());
        assert_eq!(config.log.format, LogFormat::Text);
    }

    #[test]
    fn environment_overrides_file() {
        let config = load(
            &[
                ("QUERYBOT_MAX_ROWS", "500"),
                ("WAREHOUSE_URL", "postgres://u:p@db/warehouse"),
            ],
            "max_rows = 10\npreview_rows = 5\nwarehouse_url = \"sqlite://x.db\"",
        )
        .expect("loads");
        assert_eq!(config.limits.max_rows, 500);
        assert_eq!(config.limits.preview_rows, 5);
        assert_eq!(config.default_connection().kind, WarehouseKind::Postgres);
        assert!(!config.uses_demo_warehouse());
    }

    #[test]
    fn named_connections_come_from_the_file() {
        let config = load(
            &[],
            "[connections.finance]\nurl = \"postgres://db/finance\"\n[connections.product]\nurl = \"sqlite://p.db\"",
        )
        .expect("loads");
        let names: Vec<&str> = config.connections.keys().map(String::as_str).collect();
        assert_eq!(names, ["default", "finance", "product"]);
        assert_eq!(config.connections["finance"].kind, WarehouseKind::Postgres);
    }

    #[test]
    fn bad_values_name_their_setting() {
        assert_eq!(
            rejected_setting(&[("QUERYBOT_MAX_ROWS", "lots")], ""),
            "QUERYBOT_MAX_ROWS"
        );
        assert_eq!(
            rejected_setting(&[("QUERYBOT_STATEMENT_TIMEOUT", "0")], ""),
            "QUERYBOT_STATEMENT_TIMEOUT"
        );
        assert_eq!(
            rejected_setting(&[("QUERYBOT_LISTEN", "8080")], ""),
            "QUERYBOT_LISTEN"
        );
        assert_eq!(
            rejected_setting(&[("DATABASE_URL", "mysql://x")], ""),
            "DATABASE_URL"
        );
        assert_eq!(
            rejected_setting(&[("WAREHOUSE_URL", "oracle://x")], ""),
            "WAREHOUSE_URL"
        );
        assert_eq!(
            rejected_setting(&[("QUERYBOT_LOG_FORMAT", "xml")], ""),
            "QUERYBOT_LOG_FORMAT"
        );
        assert_eq!(
            rejected_setting(
                &[("QUERYBOT_PREVIEW_ROWS", "50"), ("QUERYBOT_MAX_ROWS", "10")],
                ""
            ),
            "QUERYBOT_PREVIEW_ROWS"
        );
        assert_eq!(
            rejected_setting(&[], "[connections.\"bad name\"]\nurl = \"sqlite://x\""),
            "connections.bad name.url"
        );
    }

    #[test]
    fn the_llm_defaults_to_a_local_ollama_without_a_key() {
        let config = load(&[], "").expect("defaults load");
        assert_eq!(config.llm.provider, LlmProvider::Ollama);
        assert_eq!(config.llm.base_url, "http://localhost:11434/v1");
        assert!(config.llm.api_key.is_none());
        assert_eq!(config.pipeline.repair_rounds, 2);
        assert!(!config.pipeline.summaries);
    }

    #[test]
    fn a_hosted_llm_needs_its_key() {
        assert_eq!(
            rejected_setting(&[("LLM_PROVIDER", "anthropic")], ""),
            "LLM_API_KEY"
        );
        let config = load(
            &[("LLM_PROVIDER", "gemini"), ("GEMINI_API_KEY", "g-key")],
            "",
        )
        .expect("the provider's own key variable works");
        assert_eq!(config.llm.provider, LlmProvider::Gemini);
        assert!(config.llm.api_key.is_some());
        assert!(!format!("{config:?}").contains("g-key"));
        let config = load(
            &[
                ("LLM_BASE_URL", "http://127.0.0.1:9/v1/"),
                ("LLM_MODEL", "m"),
            ],
            "[llm]\nprovider = \"openai\"\ntimeout = 5",
        );
        assert_eq!(
            config.expect_err("openai without key").setting,
            "LLM_API_KEY"
        );
    }

    #[test]
    fn llm_settings_are_validated() {
        assert_eq!(
            rejected_setting(&[("LLM_PROVIDER", "skynet")], ""),
            "LLM_PROVIDER"
        );
        assert_eq!(
            rejected_setting(&[("LLM_BASE_URL", "localhost:11434")], ""),
            "LLM_BASE_URL"
        );
        assert_eq!(rejected_setting(&[("LLM_TIMEOUT", "0")], ""), "LLM_TIMEOUT");
        assert_eq!(
            rejected_setting(&[("LLM_REPAIR_ROUNDS", "-1")], ""),
            "LLM_REPAIR_ROUNDS"
        );
        assert_eq!(
            rejected_setting(&[("QUERYBOT_SUMMARIES", "maybe")], ""),
            "QUERYBOT_SUMMARIES"
        );
        assert_eq!(
            rejected_setting(&[("QUERYBOT_VIEWS_WITHOUT_BARRIER", "hide")], ""),
            "QUERYBOT_VIEWS_WITHOUT_BARRIER"
        );
        let config = load(
            &[
                ("LLM_PROVIDER", "openai"),
                ("LLM_API_KEY", "k"),
                ("LLM_BASE_URL", "http://127.0.0.1:9/v1/"),
            ],
            "",
        )
        .expect("loads");
        assert_eq!(config.llm.base_url, "http://127.0.0.1:9/v1");
    }

    #[test]
    fn examples_files_belong_to_connections() {
        let config = load(
            &[("QUERYBOT_EXAMPLES", "shop.yaml")],
            "[connections.finance]\nurl = \"sqlite://f.db\"\nexamples = \"finance.yaml\"",
        )
        .expect("loads");
        assert_eq!(
            config.default_connection().examples,
            Some(PathBuf::from("shop.yaml"))
        );
        assert_eq!(
            config.connections["finance"].examples,
            Some(PathBuf::from("finance.yaml"))
        );
    }

    #[test]
    fn slack_is_off_until_configured_and_then_needs_a_token() {
        let config = load(&[], "").expect("loads");
        assert!(!config.slack.enabled());
        assert_eq!(config.slack.api_url, "https://slack.com/api");
        assert_eq!(
            rejected_setting(&[("SLACK_SIGNING_SECRET", "s")], ""),
            "SLACK_BOT_TOKEN"
        );
        assert_eq!(
            rejected_setting(
                &[
                    ("SLACK_APP_TOKEN", "xoxb-wrong"),
                    ("SLACK_BOT_TOKEN", "xoxb-1")
                ],
                ""
            ),
            "SLACK_APP_TOKEN"
        );
        let config = load(
            &[
                ("SLACK_SIGNING_SECRET", "s"),
                ("SLACK_BOT_TOKEN", "xoxb-1"),
                ("SLACK_API_URL", "http://127.0.0.1:9/api"),
            ],
            "",
        )
        .expect("loads");
        assert!(config.slack.enabled());
        assert_eq!(config.slack.api_url, "http://127.0.0.1:9/api");
        assert!(!format!("{config:?}").contains("xoxb-1"));
    }

    #[test]
    fn oauth_installs_need_secret_key_and_public_url() {
        let base = [
            ("SLACK_SIGNING_SECRET", "s"),
            ("SLACK_CLIENT_ID", "123.456"),
        ];
        assert_eq!(rejected_setting(&base, ""), "SLACK_CLIENT_SECRET");
        let with_secret = [base[0], base[1], ("SLACK_CLIENT_SECRET", "c")];
        assert_eq!(rejected_setting(&with_secret, ""), "SLACK_TOKEN_KEY");
        let short_key = [
            with_secret[0],
            with_secret[1],
            with_secret[2],
            ("SLACK_TOKEN_KEY", "a2V5"),
        ];
        assert_eq!(rejected_setting(&short_key, ""), "SLACK_TOKEN_KEY");
        let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let with_key = [
            with_secret[0],
            with_secret[1],
            with_secret[2],
            ("SLACK_TOKEN_KEY", key),
        ];
        assert_eq!(rejected_setting(&with_key, ""), "QUERYBOT_PUBLIC_URL");
        let public = "public_url = \"https://bot.example.com/\"";
        assert_eq!(rejected_setting(&with_key, public), "SLACK_ALLOWED_TEAMS");
        let allowed = [
            with_key[0],
            with_key[1],
            with_key[2],
            with_key[3],
            ("SLACK_ALLOWED_TEAMS", "T1, T2"),
        ];
        let config = load(&allowed, public).expect("loads");
        let oauth = config.slack.oauth.expect("oauth on");
        assert_eq!(oauth.public_url, "https://bot.example.com");
        assert!(oauth.allowed_teams.allows("T2") && !oauth.allowed_teams.allows("T3"));
        let any = [
            with_key[0],
            with_key[1],
            with_key[2],
            with_key[3],
            ("SLACK_ALLOWED_TEAMS", "*"),
        ];
        let config = load(&any, public).expect("loads");
        assert_eq!(
            config.slack.oauth.expect("oauth on").allowed_teams,
            AllowedTeams::Any
        );
    }

    #[test]
    fn channels_bind_to_known_connections() {
        let config = load(
            &[],
            "[connections.finance]\nurl = \"sqlite://f.db\"\n[channels]\nC0FINANCE = \"finance\"",
        )
        .expect("loads");
        assert_eq!(config.channels.slack["C0FINANCE"], "finance");
        let config = load(
            &[],
            "[connections.finance]\nurl = \"sqlite://f.db\"\n[channels.slack]\nC0S = \"finance\"\n[channels.discord]\n\"1234567890\" = \"finance\"",
        )
        .expect("loads");
        assert_eq!(config.channels.slack["C0S"], "finance");
        assert_eq!(config.channels.discord["1234567890"], "finance");
        assert_eq!(
            rejected_setting(&[], "[channels.discord]\n\"42\" = \"nope\""),
            "channels.discord.42"
        );
        assert_eq!(
            rejected_setting(&[], "[channels.teams]\nC1 = \"default\""),
            "channels.teams"
        );
        assert_eq!(
            rejected_setting(
                &[],
                "[channels]\nC1 = \"default\"\n[channels.slack]\nC1 = \"default\""
            ),
            "channels.slack.C1"
        );
        assert_eq!(
            rejected_setting(
                &[],
                "[channels]\nzz = \"default\"\n[channels.slack]\nzz = \"default\""
            ),
            "channels.zz"
        );
        assert_eq!(
            rejected_setting(&[], "[channels]\nC1 = \"nope\""),
            "channels.slack.C1"
        );
        assert!(!config.anyone_may_run);
        let config = load(&[("QUERYBOT_ANYONE_MAY_RUN", "on")], "").expect("loads");
        assert!(config.anyone_may_run);
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        assert!(toml::from_str::<FileConfig>("max_rowz = 1").is_err());
    }

    #[test]
    fn passwords_never_show() {
        let url = SecretUrl::new("postgres://bot:hunter2@db.internal:5432/warehouse");
        assert_eq!(
            url.to_string(),
            "postgres://bot:***@db.internal:5432/warehouse"
        );
        assert!(!format!("{url:?}").contains("hunter2"));
        let config = load(&[("DATABASE_URL", "postgres://bot:hunter2@db/x")], "").expect("loads");
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}

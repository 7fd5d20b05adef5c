//! The command line: one subcommand per job, each a thin call into the library.

mod guard;
mod teams;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::app::App;
use crate::bot::error_chain;
use crate::catalog::Caveat;
use crate::config::{Config, Origins, ViewsWithoutBarrier, demo_warehouse_path};
use crate::demo;
use crate::eval;
use crate::pipeline;
use crate::store::{ConversationId, Store};
use crate::surface::console::{AskOptions, Console, Outcome};
use crate::telemetry::Audience;
use crate::warehouse::Warehouse;

#[derive(Debug, Parser)]
#[command(
    name = "querybot",
    version,
    about = "Ask your data warehouse questions from chat"
)]
pub struct Cli {
    /// Log more: -v for info, -vv for debug (terminal commands log warnings only by default).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// Who reads this command's log: `serve` has an operator, the rest a person.
    pub fn audience(&self) -> Audience {
        match self.command {
            Command::Serve => Audience::Server,
            _ => Audience::Person {
                verbosity: self.verbose,
            },
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (health, readiness, metrics and chat endpoints).
    Serve,
    /// Create or upgrade the store's tables, then exit.
    Migrate,
    /// Check the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Read or show warehouse catalogs.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Check SQL statements read as JSON Lines from stdin; write one JSON verdict per line.
    Guard(guard::GuardArgs),
    /// Write the demo SQLite warehouse (a shop with two years of orders).
    DemoData {
        /// Where to write it (default: the data dir's demo.sqlite).
        #[arg(long)]
        path: Option<PathBuf>,
        #[arg(long, default_value_t = demo::DEFAULT_SEED)]
        seed: u64,
    },
    /// Check the configuration, the store, the LLM and every warehouse connection.
    Doctor,
    /// Ask a running server on this machine whether it is up (`/healthz`); for container
    /// health checks, where no curl is installed.
    Health,
    /// Ask one question: print the SQL, or with --yes run it and print the answer.
    Ask {
        question: String,
        /// Run the SQL without asking.
        #[arg(long)]
        yes: bool,
        /// Print one JSON object instead of text (for scripts).
        #[arg(long)]
        json: bool,
        /// Where to write chart.png and result.csv (default: a folder per draft).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Continue an earlier conversation (its id is in the JSON output).
        #[arg(long)]
        conversation: Option<ConversationId>,
        #[arg(long, default_value = crate::config::DEFAULT_CONNECTION)]
        connection: String,
    },
    /// Talk to querybot in the terminal: questions, follow-ups, confirmations.
    Chat {
        #[arg(long, default_value = crate::config::DEFAULT_CONNECTION)]
        connection: String,
    },
    /// Measure execution accuracy on question and gold-SQL pairs (defog CSV or BIRD JSON).
    Eval {
        /// A defog CSV or BIRD JSON file of questions and gold SQL.
        #[arg(long, required_unless_present = "verified")]
        questions: Option<PathBuf>,
        /// The connection's verified queries as the golden set instead (each question is
        /// drafted without its own verified pair among the examples).
        #[arg(long, conflicts_with = "questions")]
        verified: bool,
        #[arg(long, default_value = crate::config::DEFAULT_CONNECTION)]
        connection: String,
        /// Only the items for this database (the corpus's db_name / db_id).
        #[arg(long)]
        database: Option<String>,
        /// At most this many items.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// The latest questions, newest first, with their state and row counts.
    History {
        /// Only this person's (as stored: `slack:TEAM:USER`, `discord:USER`, `console`).
        #[arg(long)]
        user: Option<String>,
        /// Only questions since this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        #[arg(long, default_value_t = 10)]
        limit: i64,
    },
    /// LLM tokens spent per day, person and connection.
    Usage {
        /// From this day (YYYY-MM-DD, UTC; default: the last 30 days).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
    },
    /// The audit record: questions, runs and refusals.
    Audit {
        #[command(subcommand)]
        command: teams::AuditCommand,
    },
    /// Verified queries: list, export as YAML, import, remove.
    Examples {
        #[command(subcommand)]
        command: teams::ExamplesCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print every setting's effective value and where it came from (secrets hidden); exit
    /// non-zero with one line naming the setting when something is wrong.
    Check,
}

#[derive(Debug, Subcommand)]
enum CatalogCommand {
    /// Re-read the catalog of one connection (default: all) and cache it in the store.
    Refresh {
        #[arg(long)]
        connection: Option<String>,
    },
    /// Print the cached catalog of a connection as JSON.
    Show {
        #[arg(long, default_value = crate::config::DEFAULT_CONNECTION)]
        connection: String,
    },
}

/// Runs one command; the exit code says whether it succeeded.
pub async fn run(cli: Cli, config: Config, origins: Origins) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            // Loading already rejected anything invalid; what is left is to show the result.
            let entries = crate::config::describe(&config, &origins);
            say(crate::config::render(&entries).trim_end())?;
            say("configuration is valid")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let store = Store::connect(&config.store_url).await?;
            store.migrate().await.context("cannot migrate the store")?;
            say(&format!("store at {} is up to date", config.store_url))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Catalog { command } => catalog(config, command).await,
        Command::Guard(args) => guard::run(&config, args).await,
        Command::DemoData { path, seed } => {
            let path = path.unwrap_or_else(|| demo_warehouse_path(&config.data_dir));
            let summary = demo::generate(&path, seed).await?;
            say(&format!(
                "wrote the demo warehouse to {}",
                summary.path.display()
            ))?;
            for (table, rows) in &summary.tables {
                say(&format!("  {table}: {rows} rows"))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor => doctor(config).await,
        Command::Health => health(&config).await,
        Command::Ask {
            question,
            yes,
            json,
            out,
            conversation,
            connection,
        } => {
            let app = App::build(config).await?;
            connection_named(&app, &connection)?;
            let console = Console::new(app.bot.clone(), connection, app.config.editor.clone());
            let options = AskOptions {
                yes,
                json,
                out,
                conversation,
            };
            Ok(exit_code(console.ask(&question, &options).await?))
        }
        Command::Chat { connection } => {
            let app = App::build(config).await?;
            connection_named(&app, &connection)?;
            let console = Console::new(app.bot.clone(), connection, app.config.editor.clone());
            Ok(exit_code(console.chat().await?))
        }
        Command::History { user, since, limit } => {
            let store = open_store(&config).await?;
            say(teams::history(&store, user, since, limit).await?.trim_end())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Usage { since } => {
            let store = open_store(&config).await?;
            say(teams::usage(&store, since).await?.trim_end())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: teams::AuditCommand::Export { since, format },
        } => {
            let store = open_store(&config).await?;
            let mut out = std::io::stdout().lock();
            teams::audit_export(&store, since, format, &mut out).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Examples { command } => {
            let store = open_store(&config).await?;
            say(teams::examples(&store, &config, command).await?.trim_end())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            questions,
            verified,
            connection,
            database,
            limit,
        } => {
            let app = App::build(config).await?;
            connection_named(&app, &connection)?;
            if verified {
                let items: Vec<eval::Item> = app
                    .store
                    .verified_queries(Some(&connection))
                    .await?
                    .into_iter()
                    .map(|query| eval::Item {
                        id: query.id,
                        question: query.question,
                        gold_sql: query.sql,
                        database: None,
                    })
                    .take(limit.unwrap_or(usize::MAX))
                    .collect();
                if items.is_empty() {
                    bail!(
                        "`{connection}` has no verified queries yet; 👍 good answers in chat or \
                         `querybot examples import` a file"
                    );
                }
                let pipeline = app.bot.pipeline().holding_out();
                let report = eval::run(&pipeline, &connection, &items).await?;
                say(eval::render(&report).trim_end())?;
                return Ok(ExitCode::SUCCESS);
            }
            let Some(questions) = questions else {
                bail!("name a questions file with --questions, or use --verified");
            };
            let mut items = eval::load(&questions)?;
            if let Some(database) = &database {
                items.retain(|item| item.database.as_deref() == Some(database.as_str()));
            }
            items.truncate(limit.unwrap_or(usize::MAX));
            let report = eval::run(app.bot.pipeline(), &connection, &items).await?;
            say(eval::render(&report).trim_end())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn exit_code(outcome: Outcome) -> ExitCode {
    match outcome {
        Outcome::Done => ExitCode::SUCCESS,
        Outcome::Failed => ExitCode::FAILURE,
    }
}

async fn health(config: &Config) -> anyhow::Result<ExitCode> {
    let url = format!("http://127.0.0.1:{}/healthz", config.listen.port());
    let response = reqwest::Client::new()
        .get(&url)
        .timeout(std::time::Duration::from_secs(3))
        .send()
        .await
        .with_context(|| format!("no querybot answers at {url}"))?;
    if response.status().is_success() {
        say("ok")?;
        Ok(ExitCode::SUCCESS)
    } else {
        bail!("{url} answered {}", response.status())
    }
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let address = config.listen;
    let app = App::build(config).await?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} (set QUERYBOT_LISTEN)"))?;
    app.serve(listener, shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn catalog(config: Config, command: CatalogCommand) -> anyhow::Result<ExitCode> {
    let app = App::build(config).await?;
    match command {
        CatalogCommand::Refresh { connection } => {
            let targets: Vec<_> = match connection {
                Some(name) => vec![connection_named(&app, &name)?.clone()],
                None => app.warehouses.iter().cloned().collect(),
            };
            for warehouse in targets {
                let catalog = pipeline::catalog::refresh(&app.store, warehouse.as_ref(), None)
                    .await
                    .with_context(|| {
                        format!("cannot read the catalog of `{}`", warehouse.name())
                    })?;
                let columns: usize = catalog.tables.iter().map(|t| t.columns.len()).sum();
                say(&format!(
                    "{}: {} tables and views, {columns} columns",
                    warehouse.name(),
                    catalog.tables.len()
                ))?;
                for table in &catalog.tables {
                    if let Some(caveat) = table.caveat {
                        let name = table.display_name(catalog.dialect);
                        say(&caveat_note(
                            &name,
                            caveat,
                            app.config.pipeline.views_without_barrier,
                        ))?;
                    }
                }
            }
        }
        CatalogCommand::Show { connection } => {
            connection_named(&app, &connection)?;
            let Some((catalog, refreshed_at)) = app.store.catalog(&connection).await? else {
                bail!("no cached catalog for `{connection}`; run `querybot catalog refresh` first");
            };
            tracing::info!(%refreshed_at, "cached catalog");
            say(&serde_json::to_string_pretty(&catalog)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn doctor(config: Config) -> anyhow::Result<ExitCode> {
    say(&format!("store: {}", config.store_url))?;
    let app = App::build(config).await?;
    let mut healthy = true;
    match app.store.check().await {
        Ok(()) => say("  ok")?,
        Err(error) => {
            healthy = false;
            say(&format!("  FAILED: {error}"))?;
        }
    }
    let llm = app.bot.pipeline().llm();
    say(&format!(
        "llm: {} {} at {}",
        llm.name(),
        llm.model(),
        app.config.llm.base_url
    ))?;
    match llm.check().await {
        Ok(()) => say("  ok")?,
        Err(error) => {
            healthy = false;
            say(&format!("  FAILED: {error}"))?;
        }
    }
    #[cfg(feature = "slack")]
    if let Some(slack) = &app.slack {
        say(&format!("slack: {}", app.config.slack.api_url))?;
        match slack.check().await {
            Ok(identity) => say(&format!("  ok ({identity})"))?,
            Err(error) => {
                healthy = false;
                say(&format!("  FAILED: {}", error_chain(&error)))?;
            }
        }
    }
    #[cfg(feature = "discord")]
    if let Some(discord) = &app.discord {
        say(&format!(
            "discord: {}",
            app.config
                .discord
                .api_url
                .as_deref()
                .unwrap_or("https://discord.com")
        ))?;
        match discord.check().await {
            Ok(identity) => say(&format!("  ok ({identity})"))?,
            Err(error) => {
                healthy = false;
                say(&format!("  FAILED: {}", error_chain(&error)))?;
            }
        }
    }
    for warehouse in app.warehouses.iter() {
        let url = &app.config.connections[warehouse.name()].url;
        say(&format!(
            "warehouse `{}` ({}): {url}",
            warehouse.name(),
            warehouse.dialect()
        ))?;
        match warehouse.describe().await {
            Ok(about) if about.is_empty() => say("  ok")?,
            Ok(about) => say(&format!("  ok ({about})"))?,
            Err(error) => {
                healthy = false;
                say(&format!("  FAILED: {}", error_chain(&error)))?;
            }
        }
    }
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn connection_named<'a>(
    app: &'a App,
    name: &str,
) -> anyhow::Result<&'a std::sync::Arc<dyn Warehouse>> {
    app.warehouses.get(name).with_context(|| {
        let known: Vec<&str> = app.config.connections.keys().map(String::as_str).collect();
        format!("no connection named `{name}` (known: {})", known.join(", "))
    })
}

/// Writes one line of command output to stdout.
fn say(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").context("cannot write to stdout")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// What an operator should know about one relation after a refresh.
fn caveat_note(name: &str, caveat: Caveat, views: ViewsWithoutBarrier) -> String {
    match (caveat, views) {
        (Caveat::ViewWithoutBarrier, ViewsWithoutBarrier::Allow) => format!(
            "  note: view {name} has neither security_barrier nor security_invoker, so a query \
             can learn about rows it filters out; make it a security_barrier view, or set \
             QUERYBOT_VIEWS_WITHOUT_BARRIER=skip to leave such views out"
        ),
        (Caveat::ViewWithoutBarrier, ViewsWithoutBarrier::Skip) => format!(
            "  note: view {name} has neither security_barrier nor security_invoker; it is left \
             out (QUERYBOT_VIEWS_WITHOUT_BARRIER=skip)"
        ),
        (Caveat::HiddenChildren, _) => format!(
            "  note: table {name} has inheritance children this role may not read; queries \
             must read it as FROM ONLY {name}"
        ),
    }
}

/// The store, migrated, for commands that read or keep team records.
async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&config.store_url).await?;
    store
        .migrate()
        .await
        .context("cannot prepare the store's tables")?;
    Ok(store)
}

//! `querybot guard`: lints SQL read as JSON Lines from stdin, one JSON verdict per line out.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use crate::config::{Config, ConnectionConfig, SecretUrl, ViewsWithoutBarrier, WarehouseKind};
use crate::dialect::Dialect;
use crate::guard::{self, Policy, TableAllowList, Verdict};
use crate::warehouse;

#[derive(Debug, Args)]
pub(super) struct GuardArgs {
    /// A configured connection name or a warehouse URL: its live catalog gives the dialect
    /// and the tables that may be read.
    #[arg(long, conflicts_with_all = ["dialect", "tables"])]
    connection: Option<String>,
    /// The dialect to parse with, when no connection is given.
    #[arg(long, requires = "tables")]
    dialect: Option<String>,
    /// Tables that may be read, comma-separated (`orders,sales.customers`).
    #[arg(long, requires = "dialect", value_delimiter = ',')]
    tables: Option<Vec<String>>,
}

#[derive(Serialize)]
struct Line<'a> {
    allowed: bool,
    reason: Option<String>,
    sql: Option<&'a str>,
}

pub(super) async fn run(config: &Config, args: GuardArgs) -> anyhow::Result<ExitCode> {
    let policy = policy(config, args).await?;
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    for (number, line) in stdin.lines().enumerate() {
        let line = line.context("cannot read stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        let verdict = serde_json::from_str::<String>(&line).map(|sql| guard::check(&sql, &policy));
        let output = match &verdict {
            Ok(Verdict::Allowed(sql)) => Line {
                allowed: true,
                reason: None,
                sql: Some(sql.as_str()),
            },
            Ok(Verdict::Rejected(rejection)) => Line {
                allowed: false,
                reason: Some(rejection.reason()),
                sql: None,
            },
            Err(_) => Line {
                allowed: false,
                reason: Some(format!(
                    "Line {} is not a JSON string; put each statement in double quotes.",
                    number + 1
                )),
                sql: None,
            },
        };
        serde_json::to_writer(&mut stdout, &output).context("cannot write to stdout")?;
        writeln!(stdout).context("cannot write to stdout")?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn policy(config: &Config, args: GuardArgs) -> anyhow::Result<Policy> {
    if let (Some(dialect), Some(tables)) = (args.dialect, args.tables) {
        let dialect = Dialect::from_str(&dialect)?;
        let tables = tables.iter().filter(|t| !t.trim().is_empty()).map(|table| {
            match table.trim().rsplit_once('.') {
                Some((schema, name)) => (schema.to_owned(), name.to_owned()),
                None => (dialect.default_schema().to_owned(), table.trim().to_owned()),
            }
        });
        return Ok(Policy {
            dialect,
            tables: TableAllowList::new(dialect, tables),
        });
    }
    let connection = match args.connection {
        None => config.default_connection().clone(),
        Some(name) => match config.connections.get(&name) {
            Some(connection) => connection.clone(),
            None if name.contains("://") => ad_hoc_connection(name)?,
            None => bail!("no connection named `{name}`; give a configured name or a URL"),
        },
    };
    let warehouse = warehouse::connect(&connection)?;
    let catalog = warehouse
        .introspect()
        .await
        .with_context(|| format!("cannot read the catalog of `{}`", connection.name))?;
    let catalog = match config.pipeline.views_without_barrier {
        ViewsWithoutBarrier::Allow => catalog,
        ViewsWithoutBarrier::Skip => catalog.without_views_lacking_barrier(),
    };
    Ok(Policy {
        dialect: catalog.dialect,
        tables: TableAllowList::from_catalog(&catalog),
    })
}

fn ad_hoc_connection(url: String) -> anyhow::Result<ConnectionConfig> {
    let url = SecretUrl::new(url);
    let kind = match url.scheme() {
        "postgres" | "postgresql" => WarehouseKind::Postgres,
        "sqlite" => WarehouseKind::Sqlite,
        "snowflake" => bail!("name a configured Snowflake connection with --connection instead"),
        _ => bail!("`{url}` is not a postgres:// or sqlite:// URL"),
    };
    Ok(ConnectionConfig {
        name: "command-line".to_owned(),
        url,
        kind,
        examples: None,
        snowflake: None,
        access: Default::default(),
    })
}

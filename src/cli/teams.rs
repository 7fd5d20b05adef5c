//! The team commands: `history`, `usage`, `audit export` and `examples` (the verified
//! queries a team keeps, to list, export as the YAML the `examples` setting reads, import
//! and remove).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Subcommand, ValueEnum};
use serde::Serialize;

use crate::guard;
use crate::pipeline::examples;
use crate::store::{Store, UserId};

#[derive(Debug, Subcommand)]
pub(super) enum AuditCommand {
    /// Write who asked what, which SQL ran on which connection as which database role (rows,
    /// time, outcome), and every refusal, since a day.
    Export {
        /// The first day (YYYY-MM-DD, UTC).
        #[arg(long)]
        since: NaiveDate,
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub(super) enum ExamplesCommand {
    /// List the verified queries (id, connection, who verified them, when, the question).
    List {
        #[arg(long)]
        connection: Option<String>,
    },
    /// Print a connection's verified queries as the YAML the `examples` setting reads.
    Export {
        #[arg(long, default_value = crate::config::DEFAULT_CONNECTION)]
        connection: String,
    },
    /// Add the pairs of a YAML examples file as verified queries (ones already there are
    /// skipped).
    Import {
        file: PathBuf,
        #[arg(long, default_value = crate::config::DEFAULT_CONNECTION)]
        connection: String,
    },
    /// Remove a verified query by its id (from `examples list`).
    Remove { id: String },
}

/// A day as the start of that day, UTC.
pub(super) fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .map_or(DateTime::<Utc>::MIN_UTC, |t| t.and_utc())
}

/// `querybot history`: questions newest first, with their state and rows.
pub(super) async fn history(
    store: &Store,
    user: Option<String>,
    since: Option<NaiveDate>,
    limit: i64,
) -> anyhow::Result<String> {
    let since = since.map_or(DateTime::<Utc>::MIN_UTC, day_start);
    let user = user.map(UserId::new);
    let entries = store.history(user.as_ref(), since, limit).await?;
    let mut out = String::new();
    for entry in entries {
        let rows = entry
            .row_count
            .map_or_else(String::new, |n| format!(" · {n} rows"));
        out.push_str(&format!(
            "{}  {}  {}  [{}{}]  {}\n",
            entry.at.format("%Y-%m-%d %H:%M"),
            entry.author,
            entry.connection,
            entry.state.as_str(),
            rows,
            entry.question
        ));
    }
    if out.is_empty() {
        out.push_str("No questions yet.\n");
    }
    Ok(out)
}

/// `querybot usage`: LLM tokens per day, person and connection.
pub(super) async fn usage(store: &Store, since: Option<NaiveDate>) -> anyhow::Result<String> {
    let since = since.map_or_else(|| Utc::now() - chrono::Duration::days(30), day_start);
    let uses = store.token_use(since).await?;
    let mut out = String::from("day         tokens  connection  person\n");
    for used in uses {
        out.push_str(&format!(
            "{}  {:>8}  {}  {}\n",
            used.day, used.tokens, used.connection, used.person
        ));
    }
    Ok(out)
}

/// One line of the audit export.
#[derive(Debug, Serialize)]
struct Record {
    at: String,
    /// `asked`, `ran`, `refused` (or an admin action).
    kind: String,
    person: String,
    connection: Option<String>,
    question: Option<String>,
    sql: Option<String>,
    db_role: Option<String>,
    rows: Option<i64>,
    duration_ms: Option<i64>,
    /// `drafted`, `ok`, `failed`, `stopped`, `refused`, ...
    outcome: String,
    detail: Option<String>,
}

/// `querybot audit export`: every question, run and refusal since a day, oldest first.
pub(super) async fn audit_export(
    store: &Store,
    since: NaiveDate,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let since = day_start(since);
    let mut records: Vec<(DateTime<Utc>, Record)> = Vec::new();
    for asked in store.history(None, since, i64::MAX).await? {
        records.push((
            asked.at,
            Record {
                at: stamp(asked.at),
                kind: "asked".to_owned(),
                person: asked.author.to_string(),
                connection: Some(asked.connection),
                question: Some(asked.question),
                sql: Some(asked.sql),
                db_role: None,
                rows: None,
                duration_ms: None,
                outcome: asked.state.as_str().to_owned(),
                detail: None,
            },
        ));
    }
    for run in store.runs_since(since).await? {
        let outcome = match (&run.record.stopped_by, &run.record.error) {
            (Some(_), _) => "stopped",
            (None, Some(_)) => "failed",
            (None, None) => "ok",
        };
        records.push((
            run.created_at,
            Record {
                at: stamp(run.created_at),
                kind: "ran".to_owned(),
                person: run.record.requested_by.to_string(),
                connection: Some(run.record.connection),
                question: None,
                sql: Some(run.record.sql),
                db_role: run.record.db_role,
                rows: run.record.row_count,
                duration_ms: Some(run.record.duration_ms),
                outcome: outcome.to_owned(),
                detail: match run.record.stopped_by {
                    Some(by) => Some(format!("stopped by {by}")),
                    None => run.record.error,
                },
            },
        ));
    }
    for audited in store.audit_since(since).await? {
        let entry = audited.entry;
        records.push((
            audited.at,
            Record {
                at: stamp(audited.at),
                kind: entry.action,
                person: entry.person.to_string(),
                connection: entry.connection,
                question: None,
                sql: None,
                db_role: None,
                rows: None,
                duration_ms: None,
                outcome: entry.outcome,
                detail: entry.detail,
            },
        ));
    }
    records.sort_by_key(|(at, _)| *at);
    match format {
        Format::Jsonl => {
            for (_, record) in &records {
                serde_json::to_writer(&mut *out, record)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(out);
            for (_, record) in &records {
                writer.serialize(record)?;
            }
            writer.flush()?;
        }
    }
    Ok(())
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `querybot examples ...`.
pub(super) async fn examples(
    store: &Store,
    config: &crate::config::Config,
    command: ExamplesCommand,
) -> anyhow::Result<String> {
    match command {
        ExamplesCommand::List { connection } => {
            let verified = store.verified_queries(connection.as_deref()).await?;
            let mut out = String::new();
            for query in &verified {
                out.push_str(&format!(
                    "{}  {}  {}  {}  {}\n",
                    query.id,
                    query.connection,
                    query.verified_by,
                    query.at.format("%Y-%m-%d"),
                    query.question
                ));
            }
            if verified.is_empty() {
                out.push_str("No verified queries yet.\n");
            }
            Ok(out)
        }
        ExamplesCommand::Export { connection } => {
            known(config, &connection)?;
            let pairs: Vec<examples::Example> = store
                .verified_queries(Some(&connection))
                .await?
                .into_iter()
                .map(|q| examples::Example {
                    question: q.question,
                    sql: q.sql,
                })
                .collect();
            examples::to_yaml(&pairs).context("cannot write the examples as YAML")
        }
        ExamplesCommand::Import { file, connection } => {
            let dialect = known(config, &connection)?;
            let pairs = examples::load(&file)?;
            let existing = store.verified_queries(Some(&connection)).await?;
            let canonical = |sql: &str| guard::canonical(sql, dialect);
            let mut seen: Vec<Option<String>> =
                existing.iter().map(|q| canonical(&q.sql)).collect();
            let (mut added, mut skipped) = (0, 0);
            for pair in pairs {
                let key = canonical(&pair.sql);
                if key.is_none() {
                    bail!(
                        "`{}` in {} is not one SQL statement",
                        pair.question,
                        file.display()
                    );
                }
                if seen.contains(&key) {
                    skipped += 1;
                    continue;
                }
                store
                    .promote_example(
                        &connection,
                        &pair.question,
                        &pair.sql,
                        &UserId::new("import"),
                    )
                    .await?;
                seen.push(key);
                added += 1;
            }
            Ok(format!(
                "Imported {added} verified queries into `{connection}`; {skipped} were there already.\n"
            ))
        }
        ExamplesCommand::Remove { id } => {
            if store.remove_verified_query(&id).await? {
                Ok(format!("Removed verified query {id}.\n"))
            } else {
                bail!("no verified query {id}; `querybot examples list` shows their ids")
            }
        }
    }
}

/// The dialect of a configured connection, or the sentence naming the ones there are.
fn known(
    config: &crate::config::Config,
    connection: &str,
) -> anyhow::Result<crate::dialect::Dialect> {
    let Some(found) = config.connections.get(connection) else {
        let names: Vec<&str> = config.connections.keys().map(String::as_str).collect();
        bail!(
            "no connection named `{connection}` (configured: {})",
            names.join(", ")
        );
    };
    Ok(found.kind.dialect())
}

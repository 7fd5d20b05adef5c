//! Snowflake warehouses through querybot's own client for Snowflake's driver protocol
//! (`session`): results read in order (the inline part, then chunks fetched a few at a time),
//! decoded from Arrow (`arrow`) and pushed row by row into the sink until a cap stops them.
//!
//! Snowflake has no read-only transactions: what keeps a query read-only is the guard, a role
//! that can only read (README gives its grants), the statement timeout and the caps.

mod arrow;
mod jwt;
mod protocol;
mod session;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use base64::Engine as _;
use futures_util::StreamExt;

use self::protocol::QueryData;
use self::session::{Session, SessionError};
use super::{
    CappedSink, Caps, Column, Execution, INTROSPECTION_TIMEOUT, MAX_SAMPLE_VALUES, Plan, RowSink,
    StopSignal, Value, ValueKind, Warehouse, WarehouseError, quote_identifier,
};
use crate::catalog::{self, Catalog, ForeignKey, Table, TableKind};
use crate::config::{ConnectionConfig, SnowflakeConfig};
use crate::dialect::Dialect;
use crate::guard::{self, GuardedSql};

/// Result chunks downloaded at once.
const CHUNK_CONCURRENCY: usize = 4;
/// Tables read for sample values have at most this many rows (a scan of each text column).
const SAMPLE_TABLE_MAX_ROWS: i64 = 200_000;
/// Columns read for sample values in one catalog refresh, at most.
const SAMPLE_COLUMNS: usize = 200;

#[derive(Clone)]
pub struct Snowflake {
    name: String,
    session: Arc<Session>,
    /// Sessions of the database roles people's queries run as (Snowflake takes the role at
    /// login), made on first use and shared by every clone.
    roles: Arc<std::sync::Mutex<BTreeMap<String, Arc<Session>>>>,
    /// Whether the server has `EXPLAIN USING JSON` (Snowflake does; an emulator may not),
    /// learnt the first time a plan is refused.
    explains: Arc<tokio::sync::OnceCell<bool>>,
}

impl Snowflake {
    pub fn connect(connection: &ConnectionConfig) -> Result<Snowflake, WarehouseError> {
        let unusable = |problem: String| WarehouseError::Unusable {
            connection: connection.name.clone(),
            problem,
        };
        let config = connection
            .snowflake
            .clone()
            .ok_or_else(|| unusable("the Snowflake settings are missing".to_owned()))?;
        Ok(Snowflake {
            name: connection.name.clone(),
            session: Arc::new(Session::new(config).map_err(unusable)?),
            roles: Arc::default(),
            explains: Arc::default(),
        })
    }

    /// This connection acting as database role `role`, through that role's own session.
    fn as_role(&self, role: &str) -> Result<Snowflake, WarehouseError> {
        let mut roles = self
            .roles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let session = match roles.get(role) {
            Some(session) => session.clone(),
            None => {
                let config = SnowflakeConfig {
                    role: Some(role.to_owned()),
                    ..self.session.config().clone()
                };
                let session =
                    Arc::new(
                        Session::new(config).map_err(|message| WarehouseError::Role {
                            role: role.to_owned(),
                            message,
                        })?,
                    );
                roles.insert(role.to_owned(), session.clone());
                session
            }
        };
        Ok(Snowflake {
            session,
            ..self.clone()
        })
    }

    /// Caps without a role, for the role's own session.
    fn own_caps(caps: &Caps) -> Caps {
        Caps {
            role: None,
            ..caps.clone()
        }
    }

    fn error(&self, error: SessionError) -> WarehouseError {
        match error {
            SessionError::Unreachable(source) => WarehouseError::Unreachable {
                connection: self.name.clone(),
                source,
            },
            SessionError::Login(problem) => WarehouseError::Unusable {
                connection: self.name.clone(),
                problem: format!(
                    "Snowflake refused the login of {} to account {}: {problem}",
                    self.session.config().user,
                    self.session.config().account
                ),
            },
            SessionError::Statement {
                internal: true,
                message,
                code,
                ..
            } => WarehouseError::Protocol {
                connection: self.name.clone(),
                problem: format!("Snowflake failed ({code}): {message}"),
            },
            SessionError::Statement {
                code,
                sql_state,
                message,
                query_id,
                ..
            } => {
                tracing::info!(connection = %self.name, %code, ?sql_state, ?query_id, "Snowflake refused a statement");
                // Snowflake's messages start with the code and state; the rest is the reason.
                let reason = message
                    .split_once("): ")
                    .map_or(message.as_str(), |(_, reason)| reason)
                    .to_owned();
                WarehouseError::rejected(sql_state.as_deref(), &reason)
            }
            SessionError::Timeout(limit) => WarehouseError::Timeout { limit },
            SessionError::Stopped => WarehouseError::Stopped,
            SessionError::Protocol(problem) => WarehouseError::Protocol {
                connection: self.name.clone(),
                problem,
            },
        }
    }

    /// Runs a statement of querybot's own (introspection) and collects its rows.
    async fn rows(&self, sql: &str) -> Result<(Vec<Column>, Vec<Vec<Value>>), WarehouseError> {
        let mut collected = super::Collected::default();
        let caps = Caps {
            timeout: INTROSPECTION_TIMEOUT,
            max_rows: 1_000_000,
            max_bytes: 256 * 1024 * 1024,
            draft: None,
            stop: StopSignal::NEVER,
            role: None,
        };
        self.run(sql, &caps, &mut collected).await?;
        Ok((collected.columns, collected.rows))
    }

    async fn run(
        &self,
        sql: &str,
        caps: &Caps,
        sink: &mut dyn RowSink,
    ) -> Result<Execution, WarehouseError> {
        let started = Instant::now();
        // Admins find querybot's statements, and the draft each ran for, in the query history.
        let tag = match caps.draft {
            Some(draft) => format!("querybot draft {draft}"),
            None => "querybot".to_owned(),
        };
        let data = self
            .session
            .query(sql, caps.timeout, &tag, &caps.stop)
            .await
            .map_err(|e| self.error(e))?;
        let columns = arrow::columns(&data.rowtype);
        sink.columns(&columns)?;
        let mut capped = CappedSink::new(sink, caps);
        let open = self.push_inline(&data, &columns, &mut capped)?;
        if open && !data.chunks.is_empty() {
            let remaining = caps.timeout.saturating_sub(started.elapsed());
            let chunks = self.push_chunks(&data, &columns, &mut capped);
            tokio::select! {
                finished = tokio::time::timeout(remaining, chunks) => match finished {
                    Ok(result) => result?,
                    Err(_) => {
                        return Err(WarehouseError::Timeout {
                            limit: caps.timeout,
                        });
                    }
                },
                // The statement is over; only its downloads are left to drop.
                () = caps.stop.raised() => return Err(WarehouseError::Stopped),
            }
        }
        Ok(capped.finish(columns, started.elapsed()))
    }

    /// The part of the result that came with the answer; `false` once a cap stopped it.
    fn push_inline(
        &self,
        data: &QueryData,
        columns: &[Column],
        capped: &mut CappedSink<'_>,
    ) -> Result<bool, WarehouseError> {
        if let Some(rows) = &data.rowset {
            return push_json(rows, columns, capped);
        }
        let Some(encoded) = data.rowset_base64.as_deref().filter(|e| !e.is_empty()) else {
            return Ok(true);
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| self.protocol(format!("the inline result is not base64: {e}")))?;
        self.push_arrow(&bytes, data, capped)
    }

    /// The chunks, in order, a few downloading at once; the rest are not fetched once a cap
    /// is reached.
    async fn push_chunks(
        &self,
        data: &QueryData,
        columns: &[Column],
        capped: &mut CappedSink<'_>,
    ) -> Result<(), WarehouseError> {
        let json = data.query_result_format.as_deref() == Some("json");
        let urls: Vec<String> = data.chunks.iter().map(|chunk| chunk.url.clone()).collect();
        let session = &self.session;
        let mut downloads = futures_util::stream::iter(urls)
            .map(|url| async move { session.chunk(&url, data).await })
            .buffered(CHUNK_CONCURRENCY);
        while let Some(bytes) = downloads.next().await {
            let bytes = bytes.map_err(|e| self.error(e))?;
            let open = if json {
                // A JSON chunk is rows separated by commas, without the enclosing brackets.
                let mut text = Vec::with_capacity(bytes.len() + 2);
                text.push(b'[');
                text.extend_from_slice(&bytes);
                text.push(b']');
                let rows: Vec<Vec<serde_json::Value>> = serde_json::from_slice(&text)
                    .map_err(|e| self.protocol(format!("a JSON chunk could not be read: {e}")))?;
                push_json(&rows, columns, capped)?
            } else {
                self.push_arrow(&bytes, data, capped)?
            };
            if !open {
                break;
            }
        }
        Ok(())
    }

    fn push_arrow(
        &self,
        bytes: &[u8],
        data: &QueryData,
        capped: &mut CappedSink<'_>,
    ) -> Result<bool, WarehouseError> {
        for batch in arrow::batches(bytes).map_err(|e| self.protocol(e))? {
            for row in 0..batch.num_rows() {
                if !capped.admits(arrow::raw_size(&batch, row)) {
                    return Ok(false);
                }
                if !capped.push(arrow::row(&batch, row, &data.rowtype))? {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    fn protocol(&self, problem: String) -> WarehouseError {
        WarehouseError::Protocol {
            connection: self.name.clone(),
            problem,
        }
    }

    async fn read_catalog(&self) -> Result<Catalog, WarehouseError> {
        let (_, tables) = self
            .rows(
                "SELECT table_schema, table_name, table_type, row_count, comment \
                 FROM information_schema.tables WHERE table_schema <> 'INFORMATION_SCHEMA' \
                 ORDER BY table_schema, table_name",
            )
            .await?;
        let (_, columns) = self
            .rows(
                "SELECT table_schema, table_name, column_name, data_type, is_nullable, comment \
                 FROM information_schema.columns WHERE table_schema <> 'INFORMATION_SCHEMA' \
                 ORDER BY table_schema, table_name, ordinal_position",
            )
            .await?;
        let mut by_name: BTreeMap<(String, String), Table> = BTreeMap::new();
        for row in &tables {
            let (Some(schema), Some(name)) = (text_of(&row[0]), text_of(&row[1])) else {
                continue;
            };
            let kind = match text_of(&row[2]).as_deref() {
                Some("VIEW") => TableKind::View,
                Some("MATERIALIZED VIEW") => TableKind::MaterializedView,
                _ => TableKind::Table,
            };
            let row_estimate = int_of(&row[3]);
            by_name.insert(
                (schema.clone(), name.clone()),
                Table {
                    schema,
                    name,
                    kind,
                    comment: text_of(&row[4]).filter(|c| !c.is_empty()),
                    row_estimate,
                    columns: Vec::new(),
                    primary_key: Vec::new(),
                    foreign_keys: Vec::new(),
                    caveat: None,
                },
            );
        }
        for row in &columns {
            let (Some(schema), Some(table), Some(name)) =
                (text_of(&row[0]), text_of(&row[1]), text_of(&row[2]))
            else {
                continue;
            };
            if let Some(table) = by_name.get_mut(&(schema, table)) {
                table.columns.push(catalog::Column {
                    name,
                    data_type: text_of(&row[3]).unwrap_or_default(),
                    nullable: text_of(&row[4]).as_deref() != Some("NO"),
                    comment: text_of(&row[5]).filter(|c| !c.is_empty()),
                    samples: Vec::new(),
                });
            }
        }
        self.read_samples(&mut by_name).await;
        let schemas: std::collections::BTreeSet<String> =
            by_name.keys().map(|(schema, _)| schema.clone()).collect();
        for schema in &schemas {
            self.read_keys(schema, &mut by_name).await;
        }
        Ok(Catalog {
            dialect: Dialect::Snowflake,
            tables: by_name.into_values().collect(),
        })
    }

    /// Sample values of text columns with at most a few distinct values, from small tables
    /// only (each is a query the warehouse runs), and at most [`SAMPLE_COLUMNS`] columns.
    async fn read_samples(&self, tables: &mut BTreeMap<(String, String), Table>) {
        let mut budget = SAMPLE_COLUMNS;
        for table in tables.values_mut() {
            if table.kind != TableKind::Table
                || table
                    .row_estimate
                    .is_none_or(|rows| rows > SAMPLE_TABLE_MAX_ROWS)
            {
                continue;
            }
            let name = format!(
                "{}.{}",
                quote_identifier(&table.schema),
                quote_identifier(&table.name)
            );
            for column in &mut table.columns {
                if budget == 0 {
                    return;
                }
                let data_type = column.data_type.to_uppercase();
                let text = ["TEXT", "VARCHAR", "STRING", "CHAR"]
                    .iter()
                    .any(|kind| data_type.starts_with(kind));
                if !text {
                    continue;
                }
                budget -= 1;
                let quoted = quote_identifier(&column.name);
                let sql = format!(
                    "SELECT DISTINCT {quoted} FROM {name} WHERE {quoted} IS NOT NULL \
                     ORDER BY 1 LIMIT {}",
                    MAX_SAMPLE_VALUES + 1
                );
                match self.rows(&sql).await {
                    Ok((_, rows)) if rows.len() <= MAX_SAMPLE_VALUES => {
                        column.samples = rows.iter().filter_map(|row| text_of(&row[0])).collect();
                    }
                    Ok(_) => {}
                    Err(error) => tracing::debug!(%error, column = %column.name, "no samples read"),
                }
            }
        }
    }

    /// Primary and foreign keys, where Snowflake records them (they are not enforced, but say
    /// how tables join). A warehouse that cannot list them still has a catalog.
    async fn read_keys(&self, schema: &str, tables: &mut BTreeMap<(String, String), Table>) {
        let database = self.session.config().database.clone();
        let scope = match &database {
            Some(database) => format!(
                "{}.{}",
                quote_identifier(database),
                quote_identifier(schema)
            ),
            None => quote_identifier(schema),
        };
        match self
            .rows(&format!("SHOW PRIMARY KEYS IN SCHEMA {scope}"))
            .await
        {
            Ok((columns, rows)) => {
                let at = |name: &str| position(&columns, name);
                if let (Some(table), Some(column), Some(sequence)) =
                    (at("table_name"), at("column_name"), at("key_sequence"))
                {
                    let mut keys: Vec<(String, i64, String)> = rows
                        .iter()
                        .filter_map(|row| {
                            Some((
                                text_of(&row[table])?,
                                int_of(&row[sequence]).unwrap_or(0),
                                text_of(&row[column])?,
                            ))
                        })
                        .collect();
                    keys.sort();
                    for (table, _, column) in keys {
                        if let Some(table) = tables.get_mut(&(schema.to_owned(), table)) {
                            table.primary_key.push(column);
                        }
                    }
                }
            }
            Err(error) => tracing::debug!(%error, schema, "no primary keys read"),
        }
        match self
            .rows(&format!("SHOW IMPORTED KEYS IN SCHEMA {scope}"))
            .await
        {
            Ok((columns, rows)) => {
                let at = |name: &str| position(&columns, name);
                let positions = [
                    "fk_table_name",
                    "fk_column_name",
                    "pk_schema_name",
                    "pk_table_name",
                    "pk_column_name",
                    "fk_name",
                ]
                .map(at);
                if let [
                    Some(fk_table),
                    Some(fk_column),
                    Some(pk_schema),
                    Some(pk_table),
                    Some(pk_column),
                    Some(name),
                ] = positions
                {
                    let mut grouped: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
                    for row in &rows {
                        let (
                            Some(table),
                            Some(column),
                            Some(ref_schema),
                            Some(ref_table),
                            Some(ref_column),
                            Some(key),
                        ) = (
                            text_of(&row[fk_table]),
                            text_of(&row[fk_column]),
                            text_of(&row[pk_schema]),
                            text_of(&row[pk_table]),
                            text_of(&row[pk_column]),
                            text_of(&row[name]),
                        )
                        else {
                            continue;
                        };
                        let key = grouped.entry((table, key)).or_insert_with(|| ForeignKey {
                            columns: Vec::new(),
                            references_schema: ref_schema,
                            references_table: ref_table,
                            references_columns: Vec::new(),
                        });
                        key.columns.push(column);
                        key.references_columns.push(ref_column);
                    }
                    for ((table, _), key) in grouped {
                        if let Some(table) = tables.get_mut(&(schema.to_owned(), table)) {
                            table.foreign_keys.push(key);
                        }
                    }
                }
            }
            Err(error) => tracing::debug!(%error, schema, "no foreign keys read"),
        }
    }
}

/// Where a `SHOW` command's column is (their names are lower case, but need not stay so).
fn position(columns: &[Column], name: &str) -> Option<usize> {
    columns
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case(name))
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::Text(text) => Some(text.clone()),
        _ => None,
    }
}

fn int_of(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        Value::Text(text) => text.parse().ok(),
        _ => None,
    }
}

/// Rows of a JSON rowset into the sink; `false` once a cap stopped them.
fn push_json(
    rows: &[Vec<serde_json::Value>],
    columns: &[Column],
    capped: &mut CappedSink<'_>,
) -> Result<bool, WarehouseError> {
    for row in rows {
        if !capped.push(json_row(row, columns))? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A row of a JSON rowset: Snowflake sends every value as text (or null).
fn json_row(row: &[serde_json::Value], columns: &[Column]) -> Vec<Value> {
    row.iter()
        .zip(columns)
        .map(|(value, column)| match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::String(text) => match column.kind {
                ValueKind::Int => text
                    .parse()
                    .map_or_else(|_| Value::Text(text.clone()), Value::Int),
                ValueKind::Float => text
                    .parse()
                    .map_or_else(|_| Value::Text(text.clone()), Value::Float),
                ValueKind::Decimal => text
                    .parse()
                    .map_or_else(|_| Value::Text(text.clone()), Value::Decimal),
                ValueKind::Bool => match text.as_str() {
                    "1" | "true" | "TRUE" => Value::Bool(true),
                    "0" | "false" | "FALSE" => Value::Bool(false),
                    _ => Value::Text(text.clone()),
                },
                _ => Value::Text(text.clone()),
            },
            other => Value::Text(other.to_string()),
        })
        .collect()
}

#[async_trait]
impl Warehouse for Snowflake {
    fn name(&self) -> &str {
        &self.name
    }

    fn dialect(&self) -> Dialect {
        Dialect::Snowflake
    }

    async fn check(&self) -> Result<(), WarehouseError> {
        self.rows("SELECT 1").await.map(|_| ())
    }

    async fn describe(&self) -> Result<String, WarehouseError> {
        let config = self.session.config();
        // What Snowflake says the session uses; what was asked for where it cannot say.
        let current = |sql: &'static str, asked: Option<String>| async move {
            match self.rows(sql).await {
                Ok((_, rows)) => rows.first().and_then(|row| text_of(&row[0])).or(asked),
                Err(_) => asked,
            }
        };
        let role = current("SELECT CURRENT_ROLE()", config.role.clone()).await;
        let warehouse = current("SELECT CURRENT_WAREHOUSE()", config.warehouse.clone()).await;
        // The same tables the catalog lists, counted without reading the catalog.
        let (_, counted) = self
            .rows(
                "SELECT count(*) FROM information_schema.tables \
                 WHERE table_schema <> 'INFORMATION_SCHEMA'",
            )
            .await?;
        let tables = counted.first().and_then(|row| int_of(&row[0])).unwrap_or(0);
        Ok(format!(
            "user {}, role {}, warehouse {}, {tables} tables readable",
            config.user,
            role.as_deref().unwrap_or("(default)"),
            warehouse
                .as_deref()
                .unwrap_or("(none: set ?warehouse= in the URL)"),
        ))
    }

    async fn close(&self) {
        self.session.close().await;
        let sessions: Vec<Arc<Session>> = self
            .roles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for session in sessions {
            session.close().await;
        }
    }

    async fn introspect(&self) -> Result<Catalog, WarehouseError> {
        self.read_catalog().await
    }

    async fn introspect_as(&self, role: Option<&str>) -> Result<Catalog, WarehouseError> {
        match role {
            None => self.read_catalog().await,
            Some(role) => self.as_role(role)?.read_catalog().await,
        }
    }

    async fn unusable_roles(
        &self,
        roles: &[String],
    ) -> Result<Vec<(String, String)>, WarehouseError> {
        let mut unusable = Vec::new();
        for role in roles {
            // Snowflake refuses a login with a role the user was not granted.
            match self.as_role(role)?.session.check().await {
                Ok(()) => {}
                Err(SessionError::Login(why)) => unusable.push((role.clone(), why)),
                Err(error) => return Err(self.error(error)),
            }
        }
        Ok(unusable)
    }

    async fn execute(
        &self,
        sql: &GuardedSql,
        caps: &Caps,
        sink: &mut dyn RowSink,
    ) -> Result<Execution, WarehouseError> {
        if let Some(role) = &caps.role {
            let own = Self::own_caps(caps);
            return self.as_role(role)?.execute(sql, &own, sink).await;
        }
        // One row past the cap tells a full result from a cut one.
        let limited = guard::with_limit(sql, caps.max_rows.saturating_add(1));
        self.run(limited.as_str(), caps, sink).await
    }

    async fn explain(&self, sql: &GuardedSql, caps: &Caps) -> Result<Plan, WarehouseError> {
        if let Some(role) = &caps.role {
            let own = Self::own_caps(caps);
            return self.as_role(role)?.explain(sql, &own).await;
        }
        // Compiling the plan resolves every table and column without running the query, and
        // its global statistics say how much it will read after pruning.
        let explain = format!("EXPLAIN USING JSON {}", sql.as_str());
        let mut plan = super::Collected::default();
        let caps = Caps {
            max_rows: 10,
            max_bytes: 4 * 1024 * 1024,
            draft: None,
            ..caps.clone()
        };
        match self.run(&explain, &caps, &mut plan).await {
            Ok(_) => Ok(plan_of(&plan)),
            // A server that cannot explain (an emulator, say) has no plan to give; the run
            // still checks the query.
            Err(WarehouseError::Protocol { problem, .. }) => {
                tracing::debug!(connection = %self.name, %problem, "no plan from Snowflake");
                Ok(Plan::default())
            }
            Err(refused @ WarehouseError::Rejected { .. }) if !self.explains(&caps).await => {
                tracing::debug!(connection = %self.name, error = %refused, "no EXPLAIN here; compiling instead");
                self.compile(sql, &caps).await.map(|()| Plan::default())
            }
            Err(error) => Err(error),
        }
    }
}

impl Snowflake {
    /// Whether this server explains at all: a refused plan of `SELECT 1` means it has no
    /// `EXPLAIN`, not that the query was wrong. Only a clear answer is remembered.
    async fn explains(&self, caps: &Caps) -> bool {
        let probe = async {
            let mut plan = super::Collected::default();
            match self
                .run("EXPLAIN USING JSON SELECT 1", caps, &mut plan)
                .await
            {
                Ok(_) => Ok(true),
                Err(WarehouseError::Rejected { .. }) => Ok(false),
                Err(error) => Err(error),
            }
        };
        match self.explains.get_or_try_init(|| probe).await {
            Ok(explains) => *explains,
            // Unsure: the refusal of the real query stands.
            Err(_) => true,
        }
    }

    /// Checks a query the way a plan would, on a server without `EXPLAIN`: compiled under
    /// `LIMIT 0`, so that no row is read.
    async fn compile(&self, sql: &GuardedSql, caps: &Caps) -> Result<(), WarehouseError> {
        let none = guard::with_limit(sql, 0);
        self.run(none.as_str(), caps, &mut super::Collected::default())
            .await
            .map(|_| ())
    }
}

/// The scan an `EXPLAIN USING JSON` plan announces (`GlobalStats`).
fn plan_of(rows: &super::Collected) -> Plan {
    let plan = match rows.rows.first().and_then(|row| row.first()) {
        Some(Value::Text(text) | Value::Json(serde_json::Value::String(text))) => {
            serde_json::from_str(text).ok()
        }
        Some(Value::Json(json)) => Some(json.clone()),
        _ => None,
    };
    plan.map_or_else(Plan::default, |plan| scan_of(&plan))
}

fn scan_of(plan: &serde_json::Value) -> Plan {
    let stats = &plan["GlobalStats"];
    let number = |name: &str| stats[name].as_u64();
    Plan {
        estimated_rows: None,
        scanned_bytes: number("bytesAssigned"),
        partitions: number("partitionsAssigned").zip(number("partitionsTotal")),
    }
}

//! PostgreSQL warehouses: read-only execution and catalog introspection over sqlx.
//!
//! Each execution borrows a pooled connection for one transaction: `BEGIN READ ONLY`, `SET
//! LOCAL` timeouts, the guarded statement alone over the extended protocol (which refuses a
//! second statement), and always `ROLLBACK`. `SET LOCAL` dies with the transaction, so no
//! session state outlives it. When a cap stops a fetch early the connection is closed rather
//! than drained, which also makes the server abandon the query.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use futures_util::TryStreamExt;
use sqlx::postgres::types::{PgInterval, PgMoney};
use sqlx::postgres::{PgColumn, PgConnectOptions, PgPoolOptions, PgRow, PgTypeKind};
use sqlx::{
    Column as _, ConnectOptions as _, Connection, Executor, PgPool, Row, SqlSafeStr, Statement,
    Transaction, TypeInfo, ValueRef,
};

use super::{
    CappedSink, Caps, Column, Execution, INTROSPECTION_TIMEOUT, MAX_SAMPLE_VALUES, Plan, RowSink,
    StopSignal, Value, ValueKind, Warehouse, WarehouseError, bad_url, quote_identifier,
};
use crate::catalog::{self, Catalog, Caveat, ForeignKey, Table, TableKind};
use crate::config::ConnectionConfig;
use crate::dialect::Dialect;
use crate::guard::{self, GuardedSql};

/// Slack over the server-side timeout before the client gives up on its own.
const CLIENT_GRACE: Duration = Duration::from_secs(5);
/// The largest plan `explain` parses for its row estimate.
const MAX_PLAN_BYTES: usize = 1024 * 1024;
/// Decimals that print longer than this are shown as a note: turning a `numeric` of 131,072
/// digits into text costs seconds of CPU per value, and no answer needs one.
const MAX_DECIMAL_CHARS: usize = 1_000;
/// Arrays with more elements than this are shown as a note instead of being decoded, which
/// takes tens of bytes of memory per element.
const MAX_ARRAY_ELEMENTS: u64 = 100_000;
/// JSON values larger than this are kept as their text instead of being parsed.
const MAX_PARSED_JSON_BYTES: usize = 1024 * 1024;
/// Tables small enough to read distinct values from when planner statistics are missing.
const SAMPLE_SCAN_MAX_ROWS: i64 = 200_000;

pub struct Postgres {
    name: String,
    options: PgConnectOptions,
    pool: PgPool,
}

impl Postgres {
    pub fn connect(connection: &ConnectionConfig) -> Result<Postgres, WarehouseError> {
        let options = PgConnectOptions::from_str(connection.url.expose())
            .map_err(|e| bad_url(connection, e))?
            .application_name("querybot")
            // A long query is the warehouse's ordinary work, not a warning.
            .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1));
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options.clone());
        Ok(Postgres {
            name: connection.name.clone(),
            options,
            pool,
        })
    }

    /// Opens a read-only transaction whose statements stop after `timeout`. Dropping it
    /// without commit rolls it back before the connection is used again.
    async fn begin_read_only<'c>(
        &self,
        conn: &'c mut sqlx::PgConnection,
        timeout: Duration,
        role: Option<&str>,
    ) -> Result<Transaction<'c, sqlx::Postgres>, WarehouseError> {
        let ms = timeout.as_millis().max(1);
        let mut tx = conn
            .begin_with("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
            .map_err(|e| self.error(e, timeout))?;
        // SET takes no bind parameters; the values are integers formatted here. The guard
        // resolves unqualified tables to `public` and functions to built-ins, so the search
        // path says the same: built-ins first, temporary objects last.
        for setting in [
            format!("SET LOCAL statement_timeout = {ms}"),
            format!("SET LOCAL lock_timeout = {}", ms.min(5_000)),
            format!(
                "SET LOCAL idle_in_transaction_session_timeout = {}",
                ms + 5_000
            ),
            "SET LOCAL search_path = pg_catalog, public, pg_temp".to_owned(),
            "SET LOCAL standard_conforming_strings = on".to_owned(),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(setting))
                .execute(&mut *tx)
                .await
                .map_err(|e| self.error(e, timeout))?;
        }
        // The person's own database role: from here on the database's grants and row-level
        // security are theirs. `SET LOCAL` ends with the transaction.
        if let Some(role) = role {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SET LOCAL ROLE {}",
                quote_identifier(role)
            )))
            .execute(&mut *tx)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(db) => WarehouseError::Role {
                    role: role.to_owned(),
                    message: db.message().to_owned(),
                },
                other => self.error(other, timeout),
            })?;
        }
        Ok(tx)
    }

    async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>, WarehouseError> {
        self.pool
            .acquire()
            .await
            .map_err(|source| WarehouseError::Connect {
                connection: self.name.clone(),
                source,
            })
    }

    /// Maps a driver error to what happened: a timeout, a refused query, or a broken link.
    fn error(&self, error: sqlx::Error, timeout: Duration) -> WarehouseError {
        match &error {
            sqlx::Error::Database(db) => match db.code().as_deref() {
                // query_canceled (statement_timeout), lock_not_available (lock_timeout)
                Some("57014" | "55P03") => WarehouseError::Timeout { limit: timeout },
                code => WarehouseError::rejected(code, db.message()),
            },
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Configuration(_) => WarehouseError::Connect {
                connection: self.name.clone(),
                source: error,
            },
            _ => WarehouseError::Driver(error),
        }
    }

    async fn run(
        &self,
        sql: &GuardedSql,
        caps: &Caps,
        sink: &mut dyn RowSink,
    ) -> Result<Execution, WarehouseError> {
        let started = Instant::now();
        // One row past the cap tells a full result from a cut one, and lets the server stop.
        let limited = guard::with_limit(sql, caps.max_rows.saturating_add(1));
        let mut conn = self.acquire().await?;
        let mut tx = self
            .begin_read_only(&mut conn, caps.timeout, caps.role.as_deref())
            .await?;
        // Stop cancels the statement in the server, from a connection of its own: closing this
        // one would leave a statement that sends nothing (a long sort, `pg_sleep`) running.
        let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.error(e, caps.timeout))?;
        let _canceller = self.cancel_on_stop(backend, &caps.stop);
        let error = |e| self.run_error(e, caps);
        let statement = (&mut *tx)
            .prepare(sqlx::AssertSqlSafe(limited.as_str().to_owned()).into_sql_str())
            .await
            .map_err(error);
        let statement = match statement {
            Ok(statement) => statement,
            Err(error) => {
                drop(tx);
                if caps.stop.is_raised() {
                    let _ = conn.detach().close_hard().await;
                }
                return Err(error);
            }
        };
        let columns: Vec<Column> = statement.columns().iter().map(column_of).collect();
        let decoders: Vec<Decoder> = statement
            .columns()
            .iter()
            .map(|column| Decoder::of(column.type_info()))
            .collect();
        if let Err(error) = sink.columns(&columns) {
            drop(tx);
            forget_statements(&mut conn).await;
            return Err(error.into());
        }
        let mut capped = CappedSink::new(sink, caps);
        // Decoding is work on this side that the server's timeout does not see.
        let deadline = started + caps.timeout + CLIENT_GRACE;
        // Why the fetch ended: `Ok(true)` when a cap or the sink stopped it before the end.
        let stopped: Result<bool, WarehouseError> = async {
            let mut rows = statement.query().fetch(&mut *tx);
            while let Some(row) = rows.try_next().await.map_err(error)? {
                capped.check_stop()?;
                if Instant::now() >= deadline {
                    return Err(WarehouseError::Timeout {
                        limit: caps.timeout,
                    });
                }
                if !capped.admits(raw_row_size(&row, &decoders)) {
                    return Ok(true);
                }
                match capped.push(decode_row(&row, &decoders)) {
                    Ok(true) => {}
                    Ok(false) => return Ok(true),
                    Err(error) => return Err(WarehouseError::Sink(error)),
                }
            }
            Ok(false)
        }
        .await;
        match stopped {
            // A cancel request may still be on its way to this backend.
            _ if caps.stop.is_raised() => {
                drop(tx);
                let _ = conn.detach().close_hard().await;
            }
            Ok(false) => {
                tx.rollback()
                    .await
                    .map_err(|e| self.error(e, caps.timeout))?;
                forget_statements(&mut conn).await;
            }
            // Rows are still coming: draining them could take until the timeout, and a
            // connection mid-result must not go back to the pool. Closing ends both.
            Ok(true) | Err(WarehouseError::Sink(_)) => {
                drop(tx);
                let _ = conn.detach().close_hard().await;
            }
            // A timeout may strike mid-result too: that connection must not be reused.
            Err(WarehouseError::Timeout { .. }) => {
                drop(tx);
                let _ = conn.detach().close_hard().await;
            }
            Err(_) => {
                drop(tx);
                forget_statements(&mut conn).await;
            }
        }
        stopped?;
        Ok(capped.finish(columns, started.elapsed()))
    }

    /// A driver error during a run: a cancelled statement is a Stop when Stop was pressed.
    fn run_error(&self, error: sqlx::Error, caps: &Caps) -> WarehouseError {
        match self.error(error, caps.timeout) {
            WarehouseError::Timeout { .. } if caps.stop.is_raised() => WarehouseError::Stopped,
            other => other,
        }
    }

    /// Cancels what `backend` runs once `stop` is raised, until the returned handle drops.
    fn cancel_on_stop(
        &self,
        backend: i32,
        stop: &StopSignal,
    ) -> tokio_util::task::AbortOnDropHandle<()> {
        let stop = stop.clone();
        let options = self.options.clone();
        let name = self.name.clone();
        tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
            stop.raised().await;
            // A connection of its own: the pool may be full of long statements.
            let cancelled = async {
                let mut conn = sqlx::PgConnection::connect_with(&options).await?;
                let cancelled: bool = sqlx::query_scalar("SELECT pg_cancel_backend($1)")
                    .bind(backend)
                    .fetch_one(&mut conn)
                    .await?;
                let _ = conn.close().await;
                Ok::<_, sqlx::Error>(cancelled)
            };
            match cancelled.await {
                Ok(true) => {
                    tracing::info!(connection = %name, backend, "statement cancelled on Stop")
                }
                Ok(false) => {
                    tracing::warn!(connection = %name, backend, "no statement to cancel on Stop")
                }
                Err(error) => {
                    tracing::warn!(connection = %name, %error, "cannot cancel a statement on Stop")
                }
            }
        }))
    }

    /// Runs an introspection query inside a read-only transaction, returning all rows.
    async fn catalog_rows(
        &self,
        conn: &mut sqlx::PgConnection,
        sql: &'static str,
    ) -> Result<Vec<PgRow>, WarehouseError> {
        sqlx::query(sql)
            .fetch_all(conn)
            .await
            .map_err(|e| self.error(e, INTROSPECTION_TIMEOUT))
    }

    async fn read_catalog(&self, conn: &mut sqlx::PgConnection) -> Result<Catalog, WarehouseError> {
        let corrupt = |e: sqlx::Error| self.error(e, INTROSPECTION_TIMEOUT);
        let mut tables = Vec::new();
        let mut index = HashMap::new();
        for row in self.catalog_rows(conn, TABLES_SQL).await? {
            let schema: String = row.try_get("schema").map_err(corrupt)?;
            let name: String = row.try_get("name").map_err(corrupt)?;
            let kind = match row.try_get::<String, _>("kind").map_err(corrupt)?.as_str() {
                "v" => TableKind::View,
                "m" => TableKind::MaterializedView,
                _ => TableKind::Table,
            };
            index.insert((schema.clone(), name.clone()), tables.len());
            tables.push(Table {
                schema,
                name,
                kind,
                comment: row.try_get("comment").map_err(corrupt)?,
                row_estimate: row.try_get("row_estimate").map_err(corrupt)?,
                columns: Vec::new(),
                primary_key: Vec::new(),
                foreign_keys: Vec::new(),
                caveat: match row.try_get::<String, _>("caveat").ok().as_deref() {
                    Some("view_without_barrier") => Some(Caveat::ViewWithoutBarrier),
                    Some("hidden_children") => Some(Caveat::HiddenChildren),
                    _ => None,
                },
            });
        }
        for table in tables
            .iter_mut()
            .filter(|t| t.row_estimate.is_none() && t.kind == TableKind::Table)
        {
            table.row_estimate = Some(self.bounded_count(conn, table).await?);
        }
        let mut text_columns = Vec::new();
        for row in self.catalog_rows(conn, COLUMNS_SQL).await? {
            let key: (String, String) = (
                row.try_get("schema").map_err(corrupt)?,
                row.try_get("name").map_err(corrupt)?,
            );
            let Some(&at) = index.get(&key) else { continue };
            let column = catalog::Column {
                name: row.try_get("column_name").map_err(corrupt)?,
                data_type: row.try_get("data_type").map_err(corrupt)?,
                nullable: row.try_get("nullable").map_err(corrupt)?,
                comment: row.try_get("comment").map_err(corrupt)?,
                samples: Vec::new(),
            };
            if row.try_get::<bool, _>("is_text").map_err(corrupt)? {
                text_columns.push((at, tables[at].columns.len()));
            }
            tables[at].columns.push(column);
        }
        for row in self.catalog_rows(conn, KEYS_SQL).await? {
            let key: (String, String) = (
                row.try_get("schema").map_err(corrupt)?,
                row.try_get("name").map_err(corrupt)?,
            );
            let Some(&at) = index.get(&key) else { continue };
            let columns: Vec<String> = row.try_get("columns").map_err(corrupt)?;
            match row.try_get::<String, _>("kind").map_err(corrupt)?.as_str() {
                "p" => tables[at].primary_key = columns,
                _ => tables[at].foreign_keys.push(ForeignKey {
                    columns,
                    references_schema: row.try_get("ref_schema").map_err(corrupt)?,
                    references_table: row.try_get("ref_table").map_err(corrupt)?,
                    references_columns: row.try_get("ref_columns").map_err(corrupt)?,
                }),
            }
        }
        // Sample values: from planner statistics where ANALYZE has run, else (small tables
        // only) from the data itself.
        let mut stats = HashMap::new();
        for row in self.catalog_rows(conn, STATS_SQL).await? {
            let key: (String, String, String) = (
                row.try_get("schema").map_err(corrupt)?,
                row.try_get("name").map_err(corrupt)?,
                row.try_get("column_name").map_err(corrupt)?,
            );
            let values: Option<Vec<String>> = row.try_get("vals").map_err(corrupt)?;
            stats.insert(key, values.unwrap_or_default());
        }
        for (at, column_at) in text_columns {
            let table = &tables[at];
            let column = &table.columns[column_at];
            let key = (
                table.schema.clone(),
                table.name.clone(),
                column.name.clone(),
            );
            let samples = match stats.get(&key) {
                Some(values) => values.clone(),
                None if table.kind == TableKind::View => Vec::new(),
                None if table.row_estimate.is_none_or(|n| n > SAMPLE_SCAN_MAX_ROWS) => Vec::new(),
                None => self.distinct_values(conn, table, &column.name).await?,
            };
            if samples.len() <= MAX_SAMPLE_VALUES {
                tables[at].columns[column_at].samples = samples;
            }
        }
        Ok(Catalog {
            dialect: Dialect::Postgres,
            tables,
        })
    }

    /// Counts a table that has no planner statistics yet, reading at most a bounded number
    /// of rows (a larger table reports that bound).
    async fn bounded_count(
        &self,
        conn: &mut sqlx::PgConnection,
        table: &Table,
    ) -> Result<i64, WarehouseError> {
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM {}.{} LIMIT {}) AS bounded",
            quote_identifier(&table.schema),
            quote_identifier(&table.name),
            SAMPLE_SCAN_MAX_ROWS + 1,
        );
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(conn)
            .await
            .map_err(|e| self.error(e, INTROSPECTION_TIMEOUT))
    }

    async fn distinct_values(
        &self,
        conn: &mut sqlx::PgConnection,
        table: &Table,
        column: &str,
    ) -> Result<Vec<String>, WarehouseError> {
        let sql = format!(
            "SELECT DISTINCT {column}::text AS v FROM {schema}.{table} WHERE {column} IS NOT NULL \
             ORDER BY 1 LIMIT {limit}",
            column = quote_identifier(column),
            schema = quote_identifier(&table.schema),
            table = quote_identifier(&table.name),
            limit = MAX_SAMPLE_VALUES + 1,
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(conn)
            .await
            .map_err(|e| self.error(e, INTROSPECTION_TIMEOUT))?;
        rows.iter()
            .map(|row| {
                row.try_get("v")
                    .map_err(|e| self.error(e, INTROSPECTION_TIMEOUT))
            })
            .collect()
    }
}

#[async_trait]
impl Warehouse for Postgres {
    fn name(&self) -> &str {
        &self.name
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn check(&self) -> Result<(), WarehouseError> {
        // A fresh connection, not the pool: the pool retries a refused connection until its
        // acquire timeout, while a check should fail fast and say why.
        let connect_error = |source| WarehouseError::Connect {
            connection: self.name.clone(),
            source,
        };
        let mut conn = sqlx::PgConnection::connect_with(&self.options)
            .await
            .map_err(connect_error)?;
        conn.ping().await.map_err(connect_error)?;
        let _ = conn.close().await;
        Ok(())
    }

    async fn introspect(&self) -> Result<Catalog, WarehouseError> {
        self.introspect_as(None).await
    }

    async fn unusable_roles(
        &self,
        roles: &[String],
    ) -> Result<Vec<(String, String)>, WarehouseError> {
        let mut conn = self.acquire().await?;
        let mut unusable = Vec::new();
        for role in roles {
            let member: Option<bool> = sqlx::query_scalar(
                "SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles WHERE rolname = $1",
            )
            .bind(role)
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| self.error(e, INTROSPECTION_TIMEOUT))?;
            match member {
                None => unusable.push((role.clone(), "it does not exist".to_owned())),
                Some(false) => unusable.push((
                    role.clone(),
                    "querybot's login is not a member of it (GRANT it to the login)".to_owned(),
                )),
                Some(true) => {}
            }
        }
        Ok(unusable)
    }

    async fn introspect_as(&self, role: Option<&str>) -> Result<Catalog, WarehouseError> {
        let work = async {
            let mut conn = self.acquire().await?;
            let mut tx = self
                .begin_read_only(&mut conn, INTROSPECTION_TIMEOUT, role)
                .await?;
            let catalog = self.read_catalog(&mut tx).await?;
            tx.rollback()
                .await
                .map_err(|e| self.error(e, INTROSPECTION_TIMEOUT))?;
            forget_statements(&mut conn).await;
            Ok(catalog)
        };
        with_backstop(INTROSPECTION_TIMEOUT, work).await
    }

    async fn execute(
        &self,
        sql: &GuardedSql,
        caps: &Caps,
        sink: &mut dyn RowSink,
    ) -> Result<Execution, WarehouseError> {
        with_backstop(caps.timeout, self.run(sql, caps, sink)).await
    }

    async fn explain(&self, sql: &GuardedSql, caps: &Caps) -> Result<Plan, WarehouseError> {
        let work = async {
            let mut conn = self.acquire().await?;
            let mut tx = self
                .begin_read_only(&mut conn, caps.timeout, caps.role.as_deref())
                .await?;
            let explain = format!("EXPLAIN (FORMAT JSON) {}", sql.as_str());
            let fetched = sqlx::query(sqlx::AssertSqlSafe(explain))
                .fetch_one(&mut *tx)
                .await;
            let rolled_back = tx.rollback().await;
            // Whatever the outcome, the statement prepared for the plan does not stay.
            forget_statements(&mut conn).await;
            let row = fetched.map_err(|e| self.error(e, caps.timeout))?;
            rolled_back.map_err(|e| self.error(e, caps.timeout))?;
            // A plan quotes the query's folded constants; a huge one is not parsed.
            let raw_len = row
                .try_get_raw(0)
                .ok()
                .and_then(|raw| raw.as_bytes().ok().map(<[u8]>::len))
                .unwrap_or(usize::MAX);
            if raw_len > MAX_PLAN_BYTES {
                tracing::info!(bytes = raw_len, "plan too large to read; no estimate");
                return Ok(Plan::default());
            }
            let plan: serde_json::Value =
                row.try_get(0).map_err(|e| self.error(e, caps.timeout))?;
            let estimated_rows = plan
                .pointer("/0/Plan/Plan Rows")
                .and_then(serde_json::Value::as_f64)
                .map(|rows| rows.round() as i64);
            Ok(Plan {
                estimated_rows,
                ..Plan::default()
            })
        };
        with_backstop(caps.timeout, work).await
    }
}

/// Closes the statements this connection prepared (sqlx prepares every query as a named
/// statement and keeps it for reuse), so that nothing of one question's SQL stays on a pooled
/// connection. A connection that cannot close them is closed by the pool's next health check.
async fn forget_statements(conn: &mut sqlx::PgConnection) {
    if let Err(error) = conn.clear_cached_statements().await {
        tracing::debug!(%error, "cannot close prepared statements");
    }
}

/// Gives up on the client side a little after the server should have; covers a server that
/// stopped answering altogether.
async fn with_backstop<T>(
    limit: Duration,
    work: impl Future<Output = Result<T, WarehouseError>>,
) -> Result<T, WarehouseError> {
    tokio::time::timeout(limit + CLIENT_GRACE, work)
        .await
        .unwrap_or(Err(WarehouseError::Timeout { limit }))
}

fn column_of(column: &PgColumn) -> Column {
    let info = column.type_info();
    Column {
        name: column.name().to_owned(),
        type_name: info.name().to_lowercase(),
        kind: kind_of(info.name(), info.kind()),
    }
}

fn kind_of(type_name: &str, type_kind: &PgTypeKind) -> ValueKind {
    match type_name {
        "BOOL" => ValueKind::Bool,
        "INT2" | "INT4" | "INT8" => ValueKind::Int,
        "FLOAT4" | "FLOAT8" => ValueKind::Float,
        "NUMERIC" | "MONEY" => ValueKind::Decimal,
        "DATE" => ValueKind::Date,
        "TIME" => ValueKind::Time,
        "TIMESTAMP" => ValueKind::Timestamp,
        "TIMESTAMPTZ" => ValueKind::TimestampTz,
        "JSON" | "JSONB" => ValueKind::Json,
        "BYTEA" => ValueKind::Bytes,
        name if name.ends_with("[]") => ValueKind::Json,
        _ if matches!(type_kind, PgTypeKind::Array(_)) => ValueKind::Json,
        _ => ValueKind::Text,
    }
}

/// Decodes a value whose PostgreSQL type the caller matched already.
fn scalar<'r, T: sqlx::Decode<'r, sqlx::Postgres>>(
    raw: &sqlx::postgres::PgValueRef<'r>,
) -> Result<T, sqlx::Error> {
    T::decode(raw.clone()).map_err(sqlx::Error::Decode)
}

/// How a column's values are decoded, decided once per result from the column's type: the
/// common scalar types straight from their bytes; everything else by [`decode`], which looks
/// at each value's type (and guards sizes) itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decoder {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Text,
    General,
}

impl Decoder {
    fn of(info: &sqlx::postgres::PgTypeInfo) -> Decoder {
        match info.name() {
            "BOOL" => Decoder::Bool,
            "INT2" => Decoder::Int2,
            "INT4" => Decoder::Int4,
            "INT8" => Decoder::Int8,
            "FLOAT4" => Decoder::Float4,
            "FLOAT8" => Decoder::Float8,
            "DATE" => Decoder::Date,
            "TIME" => Decoder::Time,
            "TIMESTAMP" => Decoder::Timestamp,
            "TIMESTAMPTZ" => Decoder::TimestampTz,
            "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => Decoder::Text,
            _ => Decoder::General,
        }
    }
}

fn decode_row(row: &PgRow, decoders: &[Decoder]) -> Vec<Value> {
    (0..row.len())
        .map(|i| {
            let decoder = decoders.get(i).copied().unwrap_or(Decoder::General);
            decode_as(row, i, decoder)
        })
        .collect()
}

/// A value of a column whose decoder is known; a value it cannot read goes to [`decode`],
/// which has the fallbacks.
fn decode_as(row: &PgRow, i: usize, decoder: Decoder) -> Value {
    if decoder == Decoder::General {
        return decode(row, i);
    }
    let Ok(raw) = row.try_get_raw(i) else {
        return Value::Null;
    };
    if raw.is_null() {
        return Value::Null;
    }
    scalar_value(&raw, decoder).unwrap_or_else(|_| decode(row, i))
}

/// A value of one of the common scalar types, straight from its bytes: its type is known,
/// so the column lookup and type check of `try_get` would be spent again.
fn scalar_value(
    raw: &sqlx::postgres::PgValueRef<'_>,
    decoder: Decoder,
) -> Result<Value, sqlx::Error> {
    match decoder {
        Decoder::Bool => scalar::<bool>(raw).map(Value::Bool),
        Decoder::Int2 => scalar::<i16>(raw).map(|v| Value::Int(v.into())),
        Decoder::Int4 => scalar::<i32>(raw).map(|v| Value::Int(v.into())),
        Decoder::Int8 => scalar::<i64>(raw).map(Value::Int),
        Decoder::Float4 => scalar::<f32>(raw).map(|v| Value::Float(v.into())),
        Decoder::Float8 => scalar::<f64>(raw).map(Value::Float),
        Decoder::Date => scalar::<NaiveDate>(raw).map(Value::Date),
        Decoder::Time => scalar::<NaiveTime>(raw).map(Value::Time),
        Decoder::Timestamp => scalar::<NaiveDateTime>(raw).map(Value::Timestamp),
        Decoder::TimestampTz => scalar::<DateTime<Utc>>(raw).map(Value::TimestampTz),
        Decoder::Text => scalar::<String>(raw).map(Value::Text),
        Decoder::General => Err(sqlx::Error::Decode(
            "not a common scalar type".to_owned().into(),
        )),
    }
}

/// What a row will cost before it is decoded: its raw bytes, or more where a small raw
/// value prints or decodes large (a `numeric`'s digits, an array's elements), which only
/// columns of the general decoder hold.
fn raw_row_size(row: &PgRow, decoders: &[Decoder]) -> u64 {
    (0..row.len())
        .map(|i| {
            let Ok(raw) = row.try_get_raw(i) else {
                return 0;
            };
            let Ok(bytes) = raw.as_bytes() else { return 0 };
            let raw_len = bytes.len() as u64;
            if decoders.get(i).is_some_and(|d| *d != Decoder::General) {
                return raw_len;
            }
            let info = raw.type_info();
            if info.name() == "NUMERIC" {
                numeric_width(bytes).map_or(raw_len, |width| width.min(MAX_DECIMAL_CHARS) as u64)
            } else if info.name() == "NUMERIC[]" {
                let (total, _) = numeric_array_widths(bytes);
                raw_len.max(total)
            } else if matches!(info.kind(), PgTypeKind::Array(_)) {
                raw_len.max(array_elements(bytes).min(MAX_ARRAY_ELEMENTS) * 2)
            } else {
                raw_len
            }
        })
        .sum()
}

/// How long a binary `numeric` prints, read from its header (ndigits, weight, sign, dscale;
/// digits are base 10,000, `weight` counts them before the point).
fn numeric_width(bytes: &[u8]) -> Option<usize> {
    let header = bytes.get(..8)?;
    let weight = i64::from(i16::from_be_bytes([header[2], header[3]]));
    let dscale = i64::from(u16::from_be_bytes([header[6], header[7]]));
    let integer_digits = (weight + 1).max(1) * 4;
    Some(super::value::plain_decimal_width(
        u64::try_from(integer_digits + dscale).unwrap_or(u64::MAX),
        dscale,
    ))
}

/// The printed widths of a binary `numeric[]`'s elements: their sum (each counted at most
/// [`MAX_DECIMAL_CHARS`]) and the widest. Elements follow the header as (length, bytes).
fn numeric_array_widths(bytes: &[u8]) -> (u64, usize) {
    let read = |at: usize| be_i32(bytes, at);
    let ndim = read(0).and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    let mut at = 12 + ndim * 8;
    let (mut total, mut widest) = (0_u64, 0_usize);
    while let Some(length) = read(at) {
        at += 4;
        let Ok(length) = usize::try_from(length) else {
            continue; // NULL
        };
        let width = bytes
            .get(at..at + length)
            .and_then(numeric_width)
            .unwrap_or(length);
        total = total.saturating_add(width.min(MAX_DECIMAL_CHARS) as u64 + 1);
        widest = widest.max(width);
        at += length;
    }
    (total, widest)
}

/// The big-endian `int4` at `at` in a binary value, if the value is long enough.
fn be_i32(bytes: &[u8], at: usize) -> Option<i32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// How many elements a binary array holds, read from its header (ndim, flags, element type,
/// then a size and lower bound per dimension).
fn array_elements(bytes: &[u8]) -> u64 {
    let read = |at: usize| be_i32(bytes, at);
    let Some(ndim) = read(0) else { return 0 };
    (0..usize::try_from(ndim).unwrap_or(0))
        .map(|dim| read(12 + dim * 8).map_or(0, |n| u64::try_from(n).unwrap_or(0)))
        .fold(1u64, u64::saturating_mul)
        * u64::from(ndim > 0)
}

/// Decodes one cell. A value of a type querybot cannot read becomes a short marker instead of
/// failing the whole result.
fn decode(row: &PgRow, i: usize) -> Value {
    let Ok(raw) = row.try_get_raw(i) else {
        return Value::Null;
    };
    if raw.is_null() {
        return Value::Null;
    }
    let info = raw.type_info().into_owned();
    let bytes = raw.as_bytes().unwrap_or_default();
    if info.name() == "NUMERIC"
        && let Some(width) = numeric_width(bytes).filter(|w| *w > MAX_DECIMAL_CHARS)
    {
        return Value::Text(format!("(a number about {width} characters long)"));
    }
    if info.name() == "NUMERIC[]" {
        let (_, widest) = numeric_array_widths(bytes);
        if widest > MAX_DECIMAL_CHARS {
            return Value::Text(format!(
                "(an array of {} numbers, some about {widest} characters long)",
                array_elements(bytes)
            ));
        }
    }
    if matches!(info.kind(), PgTypeKind::Array(_)) {
        let n = array_elements(bytes);
        if n > MAX_ARRAY_ELEMENTS {
            return Value::Text(format!("(an array of {n} elements)"));
        }
    }
    if matches!(info.name(), "JSON" | "JSONB") && bytes.len() > MAX_PARSED_JSON_BYTES {
        // JSONB's binary form is a version byte, then the text.
        let text = bytes
            .strip_prefix(&[1])
            .filter(|_| info.name() == "JSONB")
            .unwrap_or(bytes);
        return Value::Text(String::from_utf8_lossy(text).into_owned());
    }
    let decoded = match info.name() {
        _ if Decoder::of(&info) != Decoder::General => scalar_value(&raw, Decoder::of(&info)),
        // `NaN` is a numeric that no decimal type holds.
        "NUMERIC" => match row.try_get::<BigDecimal, _>(i) {
            // Keep the scale PostgreSQL displays (`22.50`, not `22.5000`).
            Ok(decimal) => Ok(Value::Decimal(
                match numeric_display_scale(raw.as_bytes().ok()) {
                    Some(scale) => decimal.with_scale(scale),
                    None => decimal,
                },
            )),
            // `NaN` is a numeric that no decimal type holds.
            Err(_) => Ok(Value::Float(f64::NAN)),
        },
        "MONEY" => row
            .try_get::<PgMoney, _>(i)
            .map(|m| Value::Decimal(m.to_bigdecimal(2))),
        "INTERVAL" => row
            .try_get::<PgInterval, _>(i)
            .map(|v| Value::Text(interval_text(&v))),
        "JSON" | "JSONB" => row.try_get::<serde_json::Value, _>(i).map(Value::Json),
        "UUID" => row
            .try_get::<uuid::Uuid, _>(i)
            .map(|v| Value::Text(v.to_string())),
        "BYTEA" => row.try_get::<Vec<u8>, _>(i).map(Value::Bytes),
        "CHAR" | "UNKNOWN" => row.try_get(i).map(Value::Text),
        "BOOL[]" => json_array::<bool>(row, i),
        "INT2[]" => json_array::<i16>(row, i),
        "INT4[]" => json_array::<i32>(row, i),
        "INT8[]" => json_array::<i64>(row, i),
        "FLOAT4[]" => json_array::<f32>(row, i),
        "FLOAT8[]" => json_array::<f64>(row, i),
        "TEXT[]" | "VARCHAR[]" | "BPCHAR[]" | "NAME[]" => json_array::<String>(row, i),
        "NUMERIC[]" => row.try_get::<Vec<Option<BigDecimal>>, _>(i).map(|items| {
            Value::Json(
                items
                    .into_iter()
                    .map(|d| d.map(|d| d.to_plain_string()))
                    .collect(),
            )
        }),
        "DATE[]" => json_array::<NaiveDate>(row, i),
        "TIMESTAMP[]" => json_array::<NaiveDateTime>(row, i),
        "TIMESTAMPTZ[]" => json_array::<DateTime<Utc>>(row, i),
        "UUID[]" => json_array::<uuid::Uuid>(row, i),
        "JSON[]" | "JSONB[]" => json_array::<serde_json::Value>(row, i),
        // Enum labels and text-like extension types (citext) arrive as UTF-8 text.
        _ if matches!(info.kind(), PgTypeKind::Enum(_))
            || info.name().eq_ignore_ascii_case("citext") =>
        {
            row.try_get_unchecked::<String, _>(i).map(Value::Text)
        }
        other => Ok(Value::Text(format!("({} value)", other.to_lowercase()))),
    };
    decoded.unwrap_or_else(|error| {
        tracing::debug!(%error, column = i, "cannot decode value");
        Value::Text("(unreadable value)".to_owned())
    })
}

fn json_array<T>(row: &PgRow, i: usize) -> Result<Value, sqlx::Error>
where
    T: serde::Serialize + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    Vec<Option<T>>: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    let items: Vec<Option<T>> = row.try_get(i)?;
    serde_json::to_value(items)
        .map(Value::Json)
        .map_err(|e| sqlx::Error::Decode(e.into()))
}

/// The display scale in the header of a binary `numeric` (ndigits, weight, sign, dscale).
fn numeric_display_scale(bytes: Option<&[u8]>) -> Option<i64> {
    let header = bytes?.get(6..8)?;
    Some(i64::from(u16::from_be_bytes([header[0], header[1]])))
}

/// PostgreSQL's own interval style: `1 year 2 mons 3 days 04:05:06`.
fn interval_text(interval: &PgInterval) -> String {
    let mut parts = Vec::new();
    let (years, months) = (interval.months / 12, interval.months % 12);
    for (n, unit) in [(years, "year"), (months, "mon"), (interval.days, "day")] {
        if n != 0 {
            parts.push(format!("{n} {unit}{}", if n.abs() == 1 { "" } else { "s" }));
        }
    }
    if interval.microseconds != 0 || parts.is_empty() {
        let micros = interval.microseconds.abs();
        let sign = if interval.microseconds < 0 { "-" } else { "" };
        let secs = micros / 1_000_000;
        let mut clock = format!(
            "{sign}{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        if micros % 1_000_000 != 0 {
            clock.push_str(&format!(".{:06}", micros % 1_000_000));
        }
        parts.push(clock);
    }
    parts.join(" ")
}

/// Tables, views and materialized views the role can read, outside system schemas.
const TABLES_SQL: &str = "
SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind,
       obj_description(c.oid, 'pg_class') AS comment,
       CASE WHEN c.relkind IN ('r', 'p', 'm') AND c.reltuples >= 0 THEN c.reltuples::bigint END AS row_estimate,
       CASE
         WHEN c.relkind = 'v' AND NOT EXISTS (
           SELECT 1 FROM unnest(c.reloptions) AS o
           WHERE o ~* '^security_(barrier|invoker)=(true|on|yes|1)$')
         THEN 'view_without_barrier'
         WHEN c.relkind IN ('r', 'f') AND EXISTS (
           WITH RECURSIVE d(oid) AS (
             SELECT inhrelid FROM pg_inherits WHERE inhparent = c.oid
             UNION SELECT i.inhrelid FROM pg_inherits i JOIN d ON i.inhparent = d.oid)
           SELECT 1 FROM d WHERE NOT has_table_privilege(d.oid, 'SELECT'))
         THEN 'hidden_children'
       END AS caveat
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND has_schema_privilege(n.oid, 'USAGE') AND has_any_column_privilege(c.oid, 'SELECT')
ORDER BY 1, 2";

/// Readable columns of those tables, with whether they hold text (strings or enums).
const COLUMNS_SQL: &str = "
SELECT n.nspname::text AS schema, c.relname::text AS name, a.attname::text AS column_name,
       format_type(a.atttypid, a.atttypmod) AS data_type, NOT a.attnotnull AS nullable,
       col_description(c.oid, a.attnum) AS comment,
       (t.typcategory = 'S' OR t.typtype = 'e') AS is_text
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND has_schema_privilege(n.oid, 'USAGE') AND has_column_privilege(c.oid, a.attnum, 'SELECT')
ORDER BY 1, 2, a.attnum";

/// Primary and foreign keys, columns in key order.
const KEYS_SQL: &str = "
SELECT n.nspname::text AS schema, c.relname::text AS name, con.contype::text AS kind,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS columns,
       rn.nspname::text AS ref_schema, rc.relname::text AS ref_table,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS ref_columns
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype IN ('p', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND has_any_column_privilege(c.oid, 'SELECT')
ORDER BY 1, 2, con.conname";

/// Most common values of low-cardinality columns, from planner statistics (the `pg_stats`
/// view shows only tables the role may read).
const STATS_SQL: &str = "
SELECT schemaname::text AS schema, tablename::text AS name, attname::text AS column_name,
       CASE WHEN n_distinct BETWEEN 1 AND 10 THEN most_common_vals::text::text[] END AS vals
FROM pg_stats
WHERE schemaname NOT IN ('pg_catalog', 'information_schema')";

#[cfg(test)]
mod tests {
    use super::*;

    fn check(months: i32, days: i32, microseconds: i64, expected: &str) {
        let interval = PgInterval {
            months,
            days,
            microseconds,
        };
        assert_eq!(interval_text(&interval), expected);
    }

    /// Runs many queries through the warehouse, then looks at every pooled connection.
    #[tokio::test]
    async fn no_prepared_statement_stays_on_a_pooled_connection() {
        let server = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("querybot_unit_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .expect("PostgreSQL");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("database created");
        let url = format!("{}/{name}", server.rsplit_once('/').expect("a database").0);
        let connection = ConnectionConfig {
            name: "unit".into(),
            url: crate::config::SecretUrl::new(url),
            kind: crate::config::WarehouseKind::Postgres,
            examples: None,
            snowflake: None,
            access: Default::default(),
        };
        let warehouse = Postgres::connect(&connection).expect("connects");
        let policy = guard::Policy {
            dialect: Dialect::Postgres,
            tables: guard::TableAllowList::new(Dialect::Postgres, [("public", "t")]),
        };
        let caps = Caps {
            timeout: Duration::from_secs(10),
            max_rows: 100,
            max_bytes: 1 << 20,
            draft: None,
            stop: crate::warehouse::StopSignal::NEVER,
            role: None,
        };
        let mut counts = Vec::new();
        let result: Result<(), WarehouseError> = async {
            warehouse.introspect().await?;
            for n in 0..30 {
                let sql = format!("SELECT {n} AS n, count(*) FROM generate_series(1, {n})");
                let guard::Verdict::Allowed(sql) = guard::check(&sql, &policy) else {
                    panic!("{sql} refused");
                };
                warehouse.explain(&sql, &caps).await?;
                // A plan that fails (division by zero while folding constants) too.
                let failing = format!("SELECT {n} / 0 AS boom");
                let guard::Verdict::Allowed(failing) = guard::check(&failing, &policy) else {
                    panic!("{failing} refused");
                };
                assert!(warehouse.explain(&failing, &caps).await.is_err());
                warehouse
                    .execute(&sql, &caps, &mut super::super::Collected::default())
                    .await?;
            }
            let mut held = Vec::new();
            for _ in 0..warehouse.pool.num_idle() {
                held.push(warehouse.acquire().await?);
            }
            for conn in &mut held {
                let row = sqlx::raw_sql("SELECT count(*) FROM pg_prepared_statements")
                    .fetch_one(&mut **conn)
                    .await
                    .map_err(WarehouseError::Driver)?;
                counts.push(row.try_get::<i64, _>(0).map_err(WarehouseError::Driver)?);
            }
            Ok(())
        }
        .await;
        warehouse.pool.close().await;
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
        result.expect("queries run");
        assert!(!counts.is_empty());
        assert!(
            counts.iter().all(|&n| n == 0),
            "prepared statements left: {counts:?}"
        );
    }

    #[test]
    fn intervals_read_like_postgres() {
        check(0, 0, 0, "00:00:00");
        check(14, 3, 0, "1 year 2 mons 3 days");
        check(0, 1, 3_600_000_000, "1 day 01:00:00");
        check(0, 0, -90_500_000, "-00:01:30.500000");
    }
}

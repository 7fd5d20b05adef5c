//! SQLite warehouses: a read-only file, a time limit per statement, and introspection.
//!
//! The file is opened read-only with `query_only` on, so even a statement that slipped past
//! the guard cannot write. SQLite has no statement timeout of its own: a progress handler
//! interrupts the statement once its deadline passes.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use futures_util::TryStreamExt;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteColumn, SqliteConnectOptions, SqlitePoolOptions, SqliteRow};
use sqlx::{
    Column as _, ConnectOptions as _, Executor, Row, SqlSafeStr, SqlitePool, Statement, TypeInfo,
    ValueRef,
};

use super::{
    CappedSink, Caps, Column, Execution, INTROSPECTION_TIMEOUT, MAX_SAMPLE_VALUES, Plan, RowSink,
    StopSignal, Value, ValueKind, Warehouse, WarehouseError, bad_url, quote_identifier,
};
use crate::catalog::{self, Catalog, ForeignKey, Table, TableKind};
use crate::config::ConnectionConfig;
use crate::dialect::Dialect;
use crate::guard::{self, GuardedSql};

/// How many virtual-machine steps pass between deadline checks (a few microseconds' work).
const PROGRESS_STEPS: i32 = 10_000;

/// The longest string or blob a warehouse connection may build or read. SQLite runs inside
/// querybot's process, so `printf('%.*c', 400000000, 'x')` would allocate there; and one
/// call of `instr` or `replace` is one virtual-machine step, which the deadline cannot
/// interrupt, and takes time quadratic in its operands' length. At 512 KiB the slowest such
/// step measured about 1.3 s (at 1 MiB, 6 s; at the default 1 GB, hours).
const MAX_VALUE_BYTES: i32 = 512 * 1024;

/// Sets `SQLITE_LIMIT_LENGTH` on a warehouse connection (sqlx has no wrapper for it).
#[allow(unsafe_code)]
fn limit_value_length(handle: &mut sqlx::sqlite::LockedSqliteHandle<'_>) {
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is the open connection `handle` holds locked, so no other call uses it
    // meanwhile; `sqlite3_limit` only stores the new bound and returns the old one.
    unsafe {
        libsqlite3_sys::sqlite3_limit(db, libsqlite3_sys::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES);
    }
}

pub struct Sqlite {
    name: String,
    pool: SqlitePool,
}

impl Sqlite {
    pub fn connect(connection: &ConnectionConfig) -> Result<Sqlite, WarehouseError> {
        let options = SqliteConnectOptions::from_str(connection.url.expose())
            .map_err(|e| bad_url(connection, e))?
            .read_only(true)
            .create_if_missing(false)
            .pragma("query_only", "ON")
            // A long query is the warehouse's ordinary work, not a warning.
            .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1));
        let path = options.get_filename();
        if !path.to_string_lossy().starts_with("file:") && !path.exists() {
            return Err(WarehouseError::Unusable {
                connection: connection.name.clone(),
                problem: format!(
                    "the SQLite file {} does not exist (a warehouse file is opened read-only and never created)",
                    path.display()
                ),
            });
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    limit_value_length(&mut conn.lock_handle().await?);
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        Ok(Sqlite {
            name: connection.name.clone(),
            pool,
        })
    }

    async fn acquire(&self) -> Result<PoolConnection<sqlx::Sqlite>, WarehouseError> {
        self.pool
            .acquire()
            .await
            .map_err(|source| WarehouseError::Connect {
                connection: self.name.clone(),
                source,
            })
    }

    fn error(&self, error: sqlx::Error, deadline: &Deadline) -> WarehouseError {
        if deadline.stop.is_raised() && matches!(&error, sqlx::Error::Database(_)) {
            return WarehouseError::Stopped;
        }
        if deadline.passed() {
            return WarehouseError::Timeout {
                limit: deadline.limit,
            };
        }
        match &error {
            // SQLITE_TOOBIG: a value past the length limit set on every connection.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("18") => {
                WarehouseError::rejected(
                    None,
                    &format!(
                        "a value would be larger than the {} KiB querybot reads from SQLite",
                        MAX_VALUE_BYTES / 1024
                    ),
                )
            }
            // SQLite's messages name no stored value; its codes are not SQLSTATEs.
            sqlx::Error::Database(db) => WarehouseError::rejected(None, db.message()),
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
                WarehouseError::Connect {
                    connection: self.name.clone(),
                    source: error,
                }
            }
            _ => WarehouseError::Driver(error),
        }
    }

    /// Runs `work` on one connection with a deadline enforced inside SQLite, which also
    /// interrupts the statement when `stop` is raised.
    async fn with_deadline<T>(
        &self,
        limit: Duration,
        stop: &StopSignal,
        work: impl AsyncFnOnce(&mut sqlx::SqliteConnection, &Deadline) -> Result<T, WarehouseError>,
    ) -> Result<T, WarehouseError> {
        let mut conn = self.acquire().await?;
        let deadline = Deadline::new(limit, stop.clone());
        let passed = deadline.flag.clone();
        let at = deadline.at;
        let stop = stop.clone();
        conn.lock_handle()
            .await
            .map_err(|e| self.error(e, &deadline))?
            .set_progress_handler(PROGRESS_STEPS, move || {
                if stop.is_raised() {
                    return false;
                }
                if Instant::now() < at {
                    return true;
                }
                passed.store(true, Ordering::Relaxed);
                false
            });
        let result = work(&mut conn, &deadline).await;
        if let Ok(mut handle) = conn.lock_handle().await {
            handle.remove_progress_handler();
        }
        result
    }

    async fn read_catalog(
        &self,
        conn: &mut sqlx::SqliteConnection,
        deadline: &Deadline,
    ) -> Result<Catalog, WarehouseError> {
        let fail = |e| self.error(e, deadline);
        let objects = sqlx::query(
            "SELECT name, type, sql FROM sqlite_schema \
             WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(fail)?;
        let mut tables = Vec::new();
        for object in objects {
            let name: String = object.try_get("name").map_err(fail)?;
            let kind = match object.try_get::<String, _>("type").map_err(fail)?.as_str() {
                "view" => TableKind::View,
                _ => TableKind::Table,
            };
            let ddl: Option<String> = object.try_get("sql").map_err(fail)?;
            let comments = ddl.as_deref().map(ddl_comments).unwrap_or_default();
            let mut table = Table {
                schema: Dialect::Sqlite.default_schema().to_owned(),
                name: name.clone(),
                kind,
                comment: comments.table,
                row_estimate: None,
                columns: Vec::new(),
                primary_key: Vec::new(),
                foreign_keys: Vec::new(),
                caveat: None,
            };
            let mut key_parts = Vec::new();
            let columns = sqlx::query(
                "SELECT name, type, \"notnull\" AS not_null, pk FROM pragma_table_info($1) ORDER BY cid",
            )
            .bind(&name)
            .fetch_all(&mut *conn)
            .await
            .map_err(fail)?;
            for column in columns {
                let column_name: String = column.try_get("name").map_err(fail)?;
                let pk: i64 = column.try_get("pk").map_err(fail)?;
                if pk > 0 {
                    key_parts.push((pk, column_name.clone()));
                }
                table.columns.push(catalog::Column {
                    comment: comments.columns.get(&column_name.to_lowercase()).cloned(),
                    name: column_name,
                    data_type: column.try_get("type").map_err(fail)?,
                    nullable: column.try_get::<i64, _>("not_null").map_err(fail)? == 0 && pk == 0,
                    samples: Vec::new(),
                });
            }
            key_parts.sort();
            table.primary_key = key_parts.into_iter().map(|(_, name)| name).collect();
            table.foreign_keys = self.foreign_keys(conn, &name, deadline).await?;
            if kind == TableKind::Table {
                let count = format!("SELECT count(*) FROM {}", quote_identifier(&name));
                let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count))
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(fail)?;
                table.row_estimate = Some(rows);
            }
            for at in 0..table.columns.len() {
                if is_text_type(&table.columns[at].data_type) {
                    let samples = self
                        .distinct_values(conn, &name, &table.columns[at].name, deadline)
                        .await?;
                    if samples.len() <= MAX_SAMPLE_VALUES {
                        table.columns[at].samples = samples;
                    }
                }
            }
            tables.push(table);
        }
        resolve_implicit_references(&mut tables);
        Ok(Catalog {
            dialect: Dialect::Sqlite,
            tables,
        })
    }

    async fn foreign_keys(
        &self,
        conn: &mut sqlx::SqliteConnection,
        table: &str,
        deadline: &Deadline,
    ) -> Result<Vec<ForeignKey>, WarehouseError> {
        let fail = |e| self.error(e, deadline);
        let rows = sqlx::query(
            "SELECT id, \"table\" AS ref_table, \"from\" AS from_column, \"to\" AS to_column \
             FROM pragma_foreign_key_list($1) ORDER BY id, seq",
        )
        .bind(table)
        .fetch_all(&mut *conn)
        .await
        .map_err(fail)?;
        let mut keys: Vec<(i64, ForeignKey)> = Vec::new();
        for row in rows {
            let id: i64 = row.try_get("id").map_err(fail)?;
            let from: String = row.try_get("from_column").map_err(fail)?;
            let to: Option<String> = row.try_get("to_column").map_err(fail)?;
            if keys.last().is_none_or(|(last, _)| *last != id) {
                let key = ForeignKey {
                    columns: Vec::new(),
                    references_schema: Dialect::Sqlite.default_schema().to_owned(),
                    references_table: row.try_get("ref_table").map_err(fail)?,
                    references_columns: Vec::new(),
                };
                keys.push((id, key));
            }
            if let Some((_, key)) = keys.last_mut() {
                key.columns.push(from);
                key.references_columns.extend(to);
            }
        }
        Ok(keys.into_iter().map(|(_, key)| key).collect())
    }

    async fn distinct_values(
        &self,
        conn: &mut sqlx::SqliteConnection,
        table: &str,
        column: &str,
        deadline: &Deadline,
    ) -> Result<Vec<String>, WarehouseError> {
        let sql = format!(
            "SELECT DISTINCT CAST({column} AS TEXT) FROM {table} WHERE {column} IS NOT NULL \
             ORDER BY 1 LIMIT {limit}",
            column = quote_identifier(column),
            table = quote_identifier(table),
            limit = MAX_SAMPLE_VALUES + 1,
        );
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(conn)
            .await
            .map_err(|e| self.error(e, deadline))
    }
}

#[async_trait]
impl Warehouse for Sqlite {
    fn name(&self) -> &str {
        &self.name
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn check(&self) -> Result<(), WarehouseError> {
        let mut conn = self.acquire().await?;
        sqlx::query("SELECT count(*) FROM sqlite_schema")
            .execute(&mut *conn)
            .await
            .map_err(|source| WarehouseError::Connect {
                connection: self.name.clone(),
                source,
            })?;
        Ok(())
    }

    async fn introspect(&self) -> Result<Catalog, WarehouseError> {
        self.with_deadline(
            INTROSPECTION_TIMEOUT,
            &StopSignal::NEVER,
            async |conn, deadline| self.read_catalog(conn, deadline).await,
        )
        .await
    }

    async fn execute(
        &self,
        sql: &GuardedSql,
        caps: &Caps,
        sink: &mut dyn RowSink,
    ) -> Result<Execution, WarehouseError> {
        let started = Instant::now();
        // One row past the cap tells a full result from a cut one.
        let limited = guard::with_limit(sql, caps.max_rows.saturating_add(1));
        self.with_deadline(caps.timeout, &caps.stop, async |conn, deadline| {
            let statement = (&mut *conn)
                .prepare(sqlx::AssertSqlSafe(limited.as_str().to_owned()).into_sql_str())
                .await
                .map_err(|e| self.error(e, deadline))?;
            let declared: Vec<String> = statement
                .columns()
                .iter()
                .map(|c| c.type_info().name().to_uppercase())
                .collect();
            let columns: Vec<Column> = statement.columns().iter().map(column_of).collect();
            sink.columns(&columns)?;
            let mut capped = CappedSink::new(sink, caps);
            let mut rows = statement.query().fetch(&mut *conn);
            while let Some(row) = rows.try_next().await.map_err(|e| self.error(e, deadline))? {
                capped.check_stop()?;
                if !capped.push(decode_row(&row, &declared))? {
                    break;
                }
            }
            Ok(capped.finish(columns, started.elapsed()))
        })
        .await
    }

    async fn explain(&self, sql: &GuardedSql, caps: &Caps) -> Result<Plan, WarehouseError> {
        self.with_deadline(caps.timeout, &caps.stop, async |conn, deadline| {
            // Preparing the plan resolves every table and column; SQLite gives no row estimate.
            let explain = format!("EXPLAIN QUERY PLAN {}", sql.as_str());
            sqlx::query(sqlx::AssertSqlSafe(explain))
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| self.error(e, deadline))?;
            Ok(Plan::default())
        })
        .await
    }
}

/// When a statement must stop, whether SQLite was interrupted for passing it, and the Stop
/// that interrupts it sooner.
struct Deadline {
    at: Instant,
    limit: Duration,
    flag: Arc<AtomicBool>,
    stop: StopSignal,
}

impl Deadline {
    fn new(limit: Duration, stop: StopSignal) -> Self {
        Deadline {
            at: Instant::now() + limit,
            limit,
            flag: Arc::new(AtomicBool::new(false)),
            stop,
        }
    }

    fn passed(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}

fn column_of(column: &SqliteColumn) -> Column {
    let declared = column.type_info().name().to_uppercase();
    let kind = match declared.as_str() {
        "BOOLEAN" => ValueKind::Bool,
        "INTEGER" => ValueKind::Int,
        "REAL" | "NUMERIC" => ValueKind::Float,
        "TEXT" => ValueKind::Text,
        "DATE" => ValueKind::Date,
        "TIME" => ValueKind::Time,
        "DATETIME" => ValueKind::Timestamp,
        "BLOB" => ValueKind::Bytes,
        _ => ValueKind::Unknown,
    };
    Column {
        name: column.name().to_owned(),
        type_name: declared.to_lowercase(),
        kind,
    }
}

fn decode_row(row: &SqliteRow, declared: &[String]) -> Vec<Value> {
    (0..row.len())
        .map(|i| decode(row, i, declared.get(i).map_or("", String::as_str)))
        .collect()
}

/// Decodes one cell by what SQLite actually stored, read in the light of the declared type
/// (SQLite keeps dates as text and booleans as integers).
fn decode(row: &SqliteRow, i: usize, declared: &str) -> Value {
    let Ok(raw) = row.try_get_raw(i) else {
        return Value::Null;
    };
    if raw.is_null() {
        return Value::Null;
    }
    let storage = raw.type_info().name().to_uppercase();
    let decoded = match storage.as_str() {
        "INTEGER" | "BOOLEAN" if declared == "BOOLEAN" => row
            .try_get_unchecked::<i64, _>(i)
            .map(|v| Value::Bool(v != 0)),
        "INTEGER" | "BOOLEAN" => row.try_get_unchecked(i).map(Value::Int),
        "REAL" | "NUMERIC" => row.try_get_unchecked(i).map(Value::Float),
        "BLOB" => row.try_get_unchecked(i).map(Value::Bytes),
        _ => row
            .try_get_unchecked::<String, _>(i)
            .map(|text| typed_text(text, declared)),
    };
    decoded.unwrap_or_else(|error| {
        tracing::debug!(%error, column = i, "cannot decode value");
        Value::Text("(unreadable value)".to_owned())
    })
}

/// Text stored in a column declared as a date, time or number becomes that type when it parses.
fn typed_text(text: String, declared: &str) -> Value {
    let parsed = match declared {
        "DATE" => NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .ok()
            .map(Value::Date),
        "TIME" => NaiveTime::parse_from_str(&text, "%H:%M:%S%.f")
            .ok()
            .map(Value::Time),
        "DATETIME" => parse_timestamp(&text),
        "NUMERIC" => BigDecimal::from_str(&text).ok().map(Value::Decimal),
        _ => None,
    };
    parsed.unwrap_or(Value::Text(text))
}

fn parse_timestamp(text: &str) -> Option<Value> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(Value::TimestampTz(time.with_timezone(&Utc)));
    }
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .map(Value::Timestamp)
}

fn is_text_type(declared: &str) -> bool {
    let upper = declared.to_uppercase();
    ["CHAR", "CLOB", "TEXT"].iter().any(|t| upper.contains(t))
}

/// `REFERENCES t` without columns means t's primary key.
fn resolve_implicit_references(tables: &mut [Table]) {
    let keys: HashMap<String, Vec<String>> = tables
        .iter()
        .map(|t| (t.name.to_lowercase(), t.primary_key.clone()))
        .collect();
    for key in tables.iter_mut().flat_map(|t| t.foreign_keys.iter_mut()) {
        if key.references_columns.is_empty() {
            key.references_columns = keys
                .get(&key.references_table.to_lowercase())
                .cloned()
                .unwrap_or_default();
        }
    }
}

#[derive(Debug, Default, PartialEq)]
struct DdlComments {
    table: Option<String>,
    /// Lower-cased column name to its comment.
    columns: HashMap<String, String>,
}

/// Reads `-- comments` from a CREATE TABLE text: a comment on its own line before the first
/// column describes the table; one after a column definition describes that column.
fn ddl_comments(ddl: &str) -> DdlComments {
    let mut comments = DdlComments::default();
    let mut seen_column = false;
    for line in ddl.lines().skip(1) {
        let Some((code, comment)) = line.split_once("--") else {
            seen_column |= !line.trim().is_empty();
            continue;
        };
        let comment = comment.trim().to_owned();
        let code = code.trim();
        if code.is_empty() {
            if !seen_column && !comment.is_empty() {
                comments.table = Some(comment);
            }
            continue;
        }
        seen_column = true;
        let name = leading_identifier(code);
        let keyword = ["PRIMARY", "FOREIGN", "UNIQUE", "CHECK", "CONSTRAINT"]
            .iter()
            .any(|k| name.eq_ignore_ascii_case(k));
        if !keyword && !name.is_empty() && !comment.is_empty() {
            comments.columns.insert(name.to_lowercase(), comment);
        }
    }
    comments
}

/// The identifier a column definition starts with, quoted (`"a b"`, `` `a` ``, `[a]`) or bare.
fn leading_identifier(code: &str) -> &str {
    let closing = match code.chars().next() {
        Some('"') => '"',
        Some('`') => '`',
        Some('[') => ']',
        _ => {
            return code
                .split(|c: char| c.is_whitespace() || c == ',')
                .next()
                .unwrap_or_default();
        }
    };
    let quoted = &code[1..];
    quoted.find(closing).map_or(quoted, |end| &quoted[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_in_create_table_describe_table_and_columns() {
        let ddl = "CREATE TABLE orders (\n    -- One row per order placed.\n    id INTEGER PRIMARY KEY, -- order number\n    \"placed at\" TIMESTAMP NOT NULL, -- when the order was placed\n    status TEXT,\n    FOREIGN KEY (id) REFERENCES x -- not a column\n)";
        let comments = ddl_comments(ddl);
        assert_eq!(comments.table.as_deref(), Some("One row per order placed."));
        assert_eq!(
            comments.columns.get("id").map(String::as_str),
            Some("order number")
        );
        assert_eq!(
            comments.columns.get("placed at").map(String::as_str),
            Some("when the order was placed")
        );
        assert_eq!(comments.columns.len(), 2);
    }

    #[test]
    fn text_in_typed_columns_becomes_typed() {
        assert_eq!(
            typed_text("2024-03-01".into(), "DATE"),
            Value::Date(NaiveDate::from_ymd_opt(2024, 3, 1).expect("date"))
        );
        assert!(matches!(
            typed_text("2024-03-01 10:00:00".into(), "DATETIME"),
            Value::Timestamp(_)
        ));
        assert!(matches!(
            typed_text("2024-03-01T10:00:00Z".into(), "DATETIME"),
            Value::TimestampTz(_)
        ));
        assert!(matches!(
            typed_text("12.50".into(), "NUMERIC"),
            Value::Decimal(_)
        ));
        assert_eq!(
            typed_text("soon".into(), "DATE"),
            Value::Text("soon".into())
        );
        assert_eq!(
            typed_text("2024-03-01".into(), "TEXT"),
            Value::Text("2024-03-01".into())
        );
    }
}

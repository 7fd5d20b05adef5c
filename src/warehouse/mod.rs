//! Warehouses behind one trait: read-only execution of guarded SQL, and catalog introspection.
//!
//! Every execution is bounded three ways: a statement timeout enforced by the database (with
//! a client-side backstop), a row cap and a byte cap. Rows are pushed one at a time into a
//! [`RowSink`], so a result is never held whole in memory unless the sink chooses to.

mod postgres;
#[cfg(feature = "snowflake")]
mod snowflake;
mod sqlite;
mod value;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use postgres::Postgres;
#[cfg(feature = "snowflake")]
pub use snowflake::Snowflake;
pub use sqlite::Sqlite;
pub use value::{Column, Value, ValueKind};

use crate::catalog::Catalog;
use crate::config::{ConnectionConfig, DEFAULT_CONNECTION, QueryLimits, WarehouseKind};
use crate::dialect::Dialect;
use crate::guard::GuardedSql;

/// A connected warehouse.
#[async_trait]
pub trait Warehouse: Send + Sync {
    /// The connection's name in the configuration.
    fn name(&self) -> &str;

    fn dialect(&self) -> Dialect;

    /// Whether the warehouse answers, for `doctor` and readiness checks.
    async fn check(&self) -> Result<(), WarehouseError>;

    /// For `doctor`: checks the warehouse and says who querybot is there, where the warehouse
    /// has more to say than that it answers.
    async fn describe(&self) -> Result<String, WarehouseError> {
        self.check().await.map(|()| String::new())
    }

    /// The database roles among `roles` that querybot's login cannot act as (missing, or not
    /// granted to it), each with why; empty where the warehouse has no roles per person.
    async fn unusable_roles(
        &self,
        roles: &[String],
    ) -> Result<Vec<(String, String)>, WarehouseError> {
        let _ = roles;
        Ok(Vec::new())
    }

    /// Ends what the connection holds open in the warehouse (sessions), at shutdown.
    async fn close(&self) {}

    /// Reads what the connection's role may see: tables, views, columns, keys, comments,
    /// row estimates, and sample values of low-cardinality text columns.
    async fn introspect(&self) -> Result<Catalog, WarehouseError>;

    /// Reads what database role `role` may see (`None`: the connection's own role). Only
    /// warehouses with roles per person (PostgreSQL) take one.
    async fn introspect_as(&self, role: Option<&str>) -> Result<Catalog, WarehouseError> {
        match role {
            None => self.introspect().await,
            Some(role) => Err(WarehouseError::Role {
                role: role.to_owned(),
                message: "this warehouse does not run queries as other roles".to_owned(),
            }),
        }
    }

    /// Runs `sql` read-only within `caps`, pushing its columns and rows into `sink`.
    async fn execute(
        &self,
        sql: &GuardedSql,
        caps: &Caps,
        sink: &mut dyn RowSink,
    ) -> Result<Execution, WarehouseError>;

    /// Plans `sql` without running it: catches unknown columns and type errors, and returns
    /// the planner's row estimate where the warehouse gives one.
    async fn explain(&self, sql: &GuardedSql, caps: &Caps) -> Result<Plan, WarehouseError>;
}

/// Limits on one execution, and the signal that stops it early.
#[derive(Debug, Clone)]
pub struct Caps {
    pub timeout: Duration,
    pub max_rows: u64,
    pub max_bytes: u64,
    /// The draft being run, for the warehouse's own query history (Snowflake's query tag).
    pub draft: Option<uuid::Uuid>,
    /// Raised when a person presses Stop: the warehouse cancels the statement on its side
    /// (not only stops waiting for it) and answers [`WarehouseError::Stopped`].
    pub stop: StopSignal,
    /// The database role the statement runs as, so that the database's own grants and
    /// row-level security decide what it sees; `None` runs as the connection's role.
    pub role: Option<String>,
}

/// A request to stop one execution. The default is never raised.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Option<tokio_util::sync::CancellationToken>);

impl StopSignal {
    /// A signal nobody raises (catalog reads, plans, evaluations).
    pub const NEVER: StopSignal = StopSignal(None);

    /// A signal raised when `token` is cancelled.
    pub fn new(token: tokio_util::sync::CancellationToken) -> Self {
        StopSignal(Some(token))
    }

    pub fn is_raised(&self) -> bool {
        self.0.as_ref().is_some_and(|token| token.is_cancelled())
    }

    /// Completes once the signal is raised; never, for [`StopSignal::NEVER`].
    pub async fn raised(&self) {
        match &self.0 {
            Some(token) => token.cancelled().await,
            None => std::future::pending().await,
        }
    }
}

impl From<&QueryLimits> for Caps {
    fn from(limits: &QueryLimits) -> Self {
        Caps {
            timeout: limits.statement_timeout,
            max_rows: limits.max_rows,
            max_bytes: limits.max_bytes,
            draft: None,
            stop: StopSignal::NEVER,
            role: None,
        }
    }
}

/// What happened in one execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub columns: Vec<Column>,
    /// Rows handed to the sink.
    pub row_count: u64,
    /// Set when a cap stopped the fetch before the result ended.
    pub truncated: Option<Truncation>,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    /// The result had more than this many rows.
    Rows(u64),
    /// The result was larger than this many bytes.
    Bytes(u64),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub estimated_rows: Option<i64>,
    /// Bytes the plan reads, where the warehouse tells (Snowflake).
    pub scanned_bytes: Option<u64>,
    /// Partitions the plan reads, of how many there are (Snowflake's pruning).
    pub partitions: Option<(u64, u64)>,
}

/// Receives a result as it streams.
pub trait RowSink: Send {
    /// Called once, before any row.
    fn columns(&mut self, columns: &[Column]) -> Result<(), SinkError>;
    fn row(&mut self, row: Vec<Value>) -> Result<(), SinkError>;
}

/// A sink could not take a row (for example, the CSV file could not be written).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// A sink that keeps the whole result, for small results and tests.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Collected {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

impl RowSink for Collected {
    fn columns(&mut self, columns: &[Column]) -> Result<(), SinkError> {
        self.columns = columns.to_vec();
        Ok(())
    }

    fn row(&mut self, row: Vec<Value>) -> Result<(), SinkError> {
        self.rows.push(row);
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error("cannot reach warehouse `{connection}`")]
    Connect {
        connection: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("warehouse `{connection}` is not usable: {problem}")]
    Unusable { connection: String, problem: String },
    /// A warehouse spoken to over HTTP (Snowflake) could not be reached.
    #[error("cannot reach warehouse `{connection}`")]
    Unreachable {
        connection: String,
        #[source]
        source: reqwest::Error,
    },
    /// The warehouse answered something querybot could not read.
    #[error("warehouse `{connection}` answered unreadably: {problem}")]
    Protocol { connection: String, problem: String },
    #[error("the query ran longer than {} s and was stopped", .limit.as_secs())]
    Timeout { limit: Duration },
    /// The database refused to act as a person's database role (it does not exist, or
    /// querybot's login may not take it).
    #[error("cannot act as database role `{role}`: {message}")]
    Role { role: String, message: String },
    /// Someone pressed Stop, and the statement was cancelled in the warehouse.
    #[error("the query was stopped on request")]
    Stopped,
    /// The database refused the query (unknown column, type error, permission ...).
    /// `data_error` marks a data exception (SQLSTATE class 22: a failed cast, a division by
    /// zero), whose text may quote a value the role may not see, such as a row an allowed
    /// view filters out: such text goes to the log and the LLM, never to chat.
    #[error("the warehouse rejected the query: {message}")]
    Rejected { message: String, data_error: bool },
    #[error("warehouse query failed")]
    Driver(#[source] sqlx::Error),
    #[error("the result could not be written: {0}")]
    Sink(#[from] SinkError),
}

impl WarehouseError {
    /// A database's refusal from its error code and text.
    pub(crate) fn rejected(sqlstate: Option<&str>, message: &str) -> Self {
        WarehouseError::Rejected {
            message: message.to_owned(),
            data_error: sqlstate.is_some_and(|code| code.starts_with("22")),
        }
    }
}

/// What chat may show of a database's refusal: its text, unless it is a data exception.
pub fn shown_rejection(message: &str, data_error: bool) -> &str {
    if data_error {
        "a value in the data could not be converted or computed"
    } else {
        message
    }
}

/// The configured warehouse connections by name; always holds the default one.
#[derive(Clone)]
pub struct Connections(BTreeMap<String, Arc<dyn Warehouse>>);

impl Connections {
    /// Wraps connected warehouses; the configuration guarantees the default is among them.
    pub fn new(warehouses: BTreeMap<String, Arc<dyn Warehouse>>) -> Self {
        Connections(warehouses)
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Warehouse>> {
        self.0.get(name)
    }

    /// The connection `WAREHOUSE_URL` names.
    pub fn default_connection(&self) -> &Arc<dyn Warehouse> {
        &self.0[DEFAULT_CONNECTION]
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Warehouse>> {
        self.0.values()
    }
}

/// Connects to the warehouse a connection names. Pools connect lazily, so a warehouse that is
/// down does not stop the bot from starting; `check` reports it.
pub fn connect(connection: &ConnectionConfig) -> Result<Arc<dyn Warehouse>, WarehouseError> {
    Ok(match connection.kind {
        WarehouseKind::Postgres => Arc::new(Postgres::connect(connection)?),
        WarehouseKind::Sqlite => Arc::new(Sqlite::connect(connection)?),
        #[cfg(feature = "snowflake")]
        WarehouseKind::Snowflake => Arc::new(Snowflake::connect(connection)?),
        #[cfg(not(feature = "snowflake"))]
        WarehouseKind::Snowflake => {
            return Err(WarehouseError::Unusable {
                connection: connection.name.clone(),
                problem: "this querybot was built without Snowflake support; build it with \
                          the `snowflake` feature (it is on by default)"
                    .to_owned(),
            });
        }
    })
}

/// Enforces the row and byte caps while rows stream into a sink.
struct CappedSink<'a> {
    sink: &'a mut dyn RowSink,
    max_rows: u64,
    max_bytes: u64,
    stop: StopSignal,
    rows: u64,
    bytes: u64,
    truncated: Option<Truncation>,
}

impl<'a> CappedSink<'a> {
    fn new(sink: &'a mut dyn RowSink, caps: &Caps) -> Self {
        CappedSink {
            sink,
            max_rows: caps.max_rows,
            max_bytes: caps.max_bytes,
            stop: caps.stop.clone(),
            rows: 0,
            bytes: 0,
            truncated: None,
        }
    }

    /// Whether a row of `bytes` still fits under both caps; `false` records the cut and stops
    /// the fetch. Warehouses also ask it with a row's raw size before decoding, so one huge
    /// value is refused before it is turned into a `Value`.
    fn admits(&mut self, bytes: u64) -> bool {
        // The row past the row cap only tells that there are more rows: it is that cut,
        // however large the row.
        if self.rows >= self.max_rows {
            self.truncated = Some(Truncation::Rows(self.max_rows));
            return false;
        }
        if self.bytes.saturating_add(bytes) > self.max_bytes {
            self.truncated = Some(Truncation::Bytes(self.max_bytes));
            return false;
        }
        true
    }

    /// Fails with [`WarehouseError::Stopped`] once Stop is pressed: the rows a statement
    /// already sent are not read on after that.
    fn check_stop(&self) -> Result<(), WarehouseError> {
        if self.stop.is_raised() {
            Err(WarehouseError::Stopped)
        } else {
            Ok(())
        }
    }

    /// Passes a row on; `false` when a cap is reached and fetching should stop.
    fn push(&mut self, row: Vec<Value>) -> Result<bool, SinkError> {
        // A field separator per value, and the line end.
        let size: usize = row.iter().map(|value| value.printed_size() + 1).sum();
        if !self.admits(size as u64) {
            return Ok(false);
        }
        self.bytes = self.bytes.saturating_add(size as u64);
        self.rows += 1;
        self.sink.row(row)?;
        Ok(true)
    }

    fn finish(self, columns: Vec<Column>, elapsed: Duration) -> Execution {
        Execution {
            columns,
            row_count: self.rows,
            truncated: self.truncated,
            elapsed,
        }
    }
}

/// How long introspection may take; catalogs of large warehouses are slow to read.
const INTROSPECTION_TIMEOUT: Duration = Duration::from_secs(120);
/// Text columns with at most this many distinct values get sample values.
const MAX_SAMPLE_VALUES: usize = 10;

/// A connection URL the driver cannot read.
fn bad_url(connection: &ConnectionConfig, error: impl std::fmt::Display) -> WarehouseError {
    WarehouseError::Unusable {
        connection: connection.name.clone(),
        problem: format!("bad connection URL ({error})"),
    }
}

/// Doubles quotes so a name from the catalog can be used as an identifier.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

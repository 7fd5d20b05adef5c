//! The SQL dialects querybot speaks: one per kind of warehouse.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The SQL dialect of a warehouse; decides how SQL is parsed, quoted and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Postgres,
    Sqlite,
    Snowflake,
}

impl Dialect {
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
            Dialect::Snowflake => "snowflake",
        }
    }

    /// sqlparser's rules for this dialect: quoting, escapes and keywords differ, and a text
    /// that is one statement in Snowflake can be two in PostgreSQL.
    pub fn parser(self) -> &'static dyn sqlparser::dialect::Dialect {
        match self {
            Dialect::Postgres => &sqlparser::dialect::PostgreSqlDialect {},
            Dialect::Sqlite => &sqlparser::dialect::SQLiteDialect {},
            Dialect::Snowflake => &sqlparser::dialect::SnowflakeDialect {},
        }
    }

    /// The schema an unqualified table name resolves to.
    pub fn default_schema(self) -> &'static str {
        match self {
            Dialect::Postgres => "public",
            Dialect::Sqlite => "main",
            Dialect::Snowflake => "PUBLIC",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown SQL dialect `{0}` (expected postgres, sqlite or snowflake)")]
pub struct UnknownDialect(String);

impl FromStr for Dialect {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Ok(Dialect::Postgres),
            "sqlite" | "sqlite3" => Ok(Dialect::Sqlite),
            "snowflake" => Ok(Dialect::Snowflake),
            _ => Err(UnknownDialect(s.to_owned())),
        }
    }
}

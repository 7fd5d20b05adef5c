//! Why the guard refused a SQL text: a kind for code and logs, a sentence for the user.

use std::fmt;

use crate::dialect::Dialect;

/// What kind of rule a rejected SQL text broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionKind {
    /// The text is not valid SQL in the warehouse's dialect.
    Parse,
    /// The text holds no statement (blank, or only comments).
    Empty,
    /// The text is too long, or nested too deeply, to check without risking the stack.
    TooComplex,
    /// The text holds more than one statement.
    MultipleStatements,
    /// A statement other than a query (SET, CREATE, COPY, ...).
    NotAQuery,
    /// INSERT, UPDATE, DELETE, MERGE or TRUNCATE, at the top or inside a CTE.
    WritesData,
    /// `SELECT .. INTO`, which creates a table.
    SelectInto,
    /// `FOR UPDATE` / `FOR SHARE` and friends.
    LockingClause,
    /// A system catalog (`pg_catalog`, `information_schema`, `sqlite_master`, ...).
    SystemTable,
    /// A table that is not on the allow-list.
    UnknownTable,
    /// A listed table read without `ONLY`, whose inheritance children the role may not read.
    InheritedRows,
    /// A function that is not on the dialect's allow-list.
    FunctionNotAllowed,
    /// A function asked to build a value far larger than any answer needs.
    OversizedValue,
    /// Valid SQL the guard does not judge (custom operators, computed names, ...).
    UnsupportedSyntax,
    /// The printed query does not parse back to the same tree: a possible printer bug.
    RoundTripMismatch,
    /// The policy's dialect and its table allow-list's dialect differ.
    PolicyMismatch,
}

impl RejectionKind {
    /// A stable snake_case name for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionKind::Parse => "parse",
            RejectionKind::Empty => "empty",
            RejectionKind::TooComplex => "too_complex",
            RejectionKind::MultipleStatements => "multiple_statements",
            RejectionKind::NotAQuery => "not_a_query",
            RejectionKind::WritesData => "writes_data",
            RejectionKind::SelectInto => "select_into",
            RejectionKind::LockingClause => "locking_clause",
            RejectionKind::SystemTable => "system_table",
            RejectionKind::UnknownTable => "unknown_table",
            RejectionKind::InheritedRows => "inherited_rows",
            RejectionKind::FunctionNotAllowed => "function_not_allowed",
            RejectionKind::OversizedValue => "oversized_value",
            RejectionKind::UnsupportedSyntax => "unsupported_syntax",
            RejectionKind::RoundTripMismatch => "round_trip_mismatch",
            RejectionKind::PolicyMismatch => "policy_mismatch",
        }
    }
}

impl fmt::Display for RejectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal: the rule broken and the offending piece (a table, function or keyword).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: RejectionKind,
    dialect: Dialect,
    detail: String,
}

impl Rejection {
    pub(super) fn new(kind: RejectionKind, dialect: Dialect, detail: impl Into<String>) -> Self {
        Rejection {
            kind,
            dialect,
            detail: detail.into(),
        }
    }

    /// The offending piece: a table or function name, a statement keyword, a parser message.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// One sentence a non-technical user understands; technical detail stays in the log.
    pub fn reason(&self) -> String {
        let detail = &self.detail;
        match self.kind {
            RejectionKind::Parse => format!(
                "This is not valid {} SQL, so querybot did not run it.",
                dialect_name(self.dialect)
            ),
            RejectionKind::Empty => "There was no SQL query to run.".to_owned(),
            RejectionKind::TooComplex => {
                "This query is too long or too deeply nested for querybot to check; try a simpler one."
                    .to_owned()
            }
            RejectionKind::MultipleStatements => format!(
                "This text holds {detail} SQL statements; querybot runs exactly one query at a time."
            ),
            RejectionKind::NotAQuery => {
                let article = match detail.chars().next().map(|c| c.to_ascii_uppercase()) {
                    Some('A' | 'E' | 'I' | 'O' | 'U') => "an",
                    _ => "a",
                };
                format!(
                    "This is {article} {detail} command, not a query; querybot only runs queries \
                     that read data."
                )
            }
            RejectionKind::WritesData => {
                format!("This query would change data ({detail}); querybot only reads.")
            }
            RejectionKind::SelectInto => {
                "This query would save its results as a new table (SELECT INTO); querybot only reads."
                    .to_owned()
            }
            RejectionKind::LockingClause => format!(
                "This query asks to lock rows ({detail}); querybot only reads, without locking anything."
            ),
            RejectionKind::SystemTable => format!(
                "This query reads the database's internal table {detail}, which querybot never does."
            ),
            RejectionKind::UnknownTable => format!(
                "This query uses the table {detail}, which querybot is not allowed to read."
            ),
            RejectionKind::InheritedRows => format!(
                "Reading the table {detail} would also return rows of tables querybot may not \
                 read; write FROM ONLY {detail} to read just its own rows."
            ),
            RejectionKind::FunctionNotAllowed => format!(
                "This query calls the function {detail}, which querybot does not allow."
            ),
            RejectionKind::OversizedValue => format!(
                "This query would build a very large value ({detail}); querybot does not run it."
            ),
            RejectionKind::UnsupportedSyntax => {
                format!("This query uses {detail}, which querybot does not support.")
            }
            RejectionKind::RoundTripMismatch => {
                "querybot could not check this query reliably, so it did not run it.".to_owned()
            }
            RejectionKind::PolicyMismatch => {
                "querybot's settings for this warehouse are inconsistent, so it did not run the query; please tell an administrator."
                    .to_owned()
            }
        }
    }
}

/// For logs: `function_not_allowed: pg_sleep`.
impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "PostgreSQL",
        Dialect::Sqlite => "SQLite",
        Dialect::Snowflake => "Snowflake",
    }
}

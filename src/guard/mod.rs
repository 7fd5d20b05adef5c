//! The read-only SQL guard: decides whether a SQL text may run, and caps its rows.
//!
//! Everything is an allow-list and fails closed: the text must parse in the warehouse's own
//! dialect as exactly one query; the whole tree is walked (`walk`) for data changes, locks,
//! tables outside the catalog (`tables`) and functions outside the builtins (`functions`).
//! What runs is not the user's text but the statement as sqlparser prints it back, and only if
//! that print parses to the same tree, so the database executes what the guard inspected.
//! Only this module can build a [`GuardedSql`]; the warehouse runs nothing else.

mod amplify;
mod functions;
mod limit;
mod names;
mod rejection;
mod tables;
mod tokens;
mod types;
mod walk;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;

use std::fmt;

use sqlparser::ast::{Query, Statement};
use sqlparser::parser::{Parser, ParserError};

use crate::catalog::Catalog;
use crate::dialect::Dialect;

pub use limit::with_limit;
pub use rejection::{Rejection, RejectionKind};
pub use tables::TableAllowList;

/// What a warehouse connection may run: its dialect and the tables it may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub dialect: Dialect,
    pub tables: TableAllowList,
}

impl Policy {
    /// The policy for a catalog: its dialect, every table it lists.
    pub fn from_catalog(catalog: &Catalog) -> Self {
        Policy {
            dialect: catalog.dialect,
            tables: TableAllowList::from_catalog(catalog),
        }
    }
}

/// The guard's decision on one SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed(GuardedSql),
    Rejected(Rejection),
}

/// A query the guard allowed, in the normalized form the warehouse must run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardedSql {
    sql: String,
    dialect: Dialect,
    /// The tree `sql` prints from, kept so `with_limit` edits it without parsing again.
    query: Box<Query>,
}

impl GuardedSql {
    pub fn as_str(&self) -> &str {
        &self.sql
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Prints `query`, the only way a `GuardedSql` comes to be.
    fn from_query(query: Box<Query>, dialect: Dialect) -> Self {
        GuardedSql {
            sql: query.to_string(),
            dialect,
            query,
        }
    }
}

impl fmt::Display for GuardedSql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql)
    }
}

/// The longest text the guard parses; generated analytics SQL is far shorter.
const MAX_SQL_BYTES: usize = 64 * 1024;

/// Decides whether `sql` may run under `policy`.
pub fn check(sql: &str, policy: &Policy) -> Verdict {
    match guard(sql, policy) {
        Ok(guarded) => Verdict::Allowed(guarded),
        Err(rejection) => Verdict::Rejected(rejection),
    }
}

fn guard(sql: &str, policy: &Policy) -> Result<GuardedSql, Rejection> {
    let dialect = policy.dialect;
    let reject = |kind, detail: String| Rejection::new(kind, dialect, detail);
    if policy.tables.dialect() != dialect {
        let detail = format!(
            "policy is {dialect}, table list is {}",
            policy.tables.dialect()
        );
        return Err(reject(RejectionKind::PolicyMismatch, detail));
    }
    if sql.len() > MAX_SQL_BYTES {
        return Err(reject(
            RejectionKind::TooComplex,
            format!("{} bytes", sql.len()),
        ));
    }
    let tokens = tokens::tokenize(sql, dialect)
        .map_err(|error| reject(RejectionKind::Parse, error.to_string()))?;
    if let Some(literal) = tokens::misread_literal(&tokens, sql) {
        return Err(reject(
            RejectionKind::UnsupportedSyntax,
            format!("the literal {literal}, which databases read differently (write it plainly)"),
        ));
    }
    let n_operators = tokens::count_operators(&tokens);
    if n_operators > tokens::MAX_OPERATORS {
        return Err(reject(
            RejectionKind::TooComplex,
            format!("{n_operators} operators"),
        ));
    }
    let mut statements =
        parse(sql, dialect).map_err(|error| reject(RejectionKind::Parse, error.to_string()))?;
    let statement = match statements.len() {
        0 => return Err(reject(RejectionKind::Empty, String::new())),
        1 => statements.remove(0),
        n => return Err(reject(RejectionKind::MultipleStatements, n.to_string())),
    };
    let Statement::Query(query) = statement else {
        return Err(walk::statement_rejection(&statement, dialect));
    };
    walk::inspect(&query, policy)?;
    let guarded = GuardedSql::from_query(query, dialect);
    // The printed text is what runs; if it does not tokenize, refuse it.
    let printed_tokens = tokens::tokenize(&guarded.sql, dialect)
        .map_err(|error| reject(RejectionKind::RoundTripMismatch, error.to_string()))?;
    if tokens::orders_with_an_operator(&printed_tokens) {
        // `ORDER BY x USING <op>` runs the operator's function, whoever defined it; it can
        // sit in a query, a window or an aggregate, so it is found in the tokens. The
        // built-in `<`, `>`, `<=`, `>=` are allowed, as they are in comparisons.
        return Err(reject(
            RejectionKind::UnsupportedSyntax,
            "ORDER BY ... USING an operator".to_owned(),
        ));
    }
    // Defence in depth against printer bugs: what runs must parse back to what was checked.
    let reparsed = parse(&guarded.sql, dialect).ok();
    match reparsed.as_deref() {
        Some([Statement::Query(query)]) if *query == guarded.query => Ok(guarded),
        _ => Err(reject(
            RejectionKind::RoundTripMismatch,
            "printed query parses differently".to_owned(),
        )),
    }
}

/// `sql` printed as the guard prints what runs, in lower case outside quotes, so that two
/// texts of one query (keyword and function case, spacing, line breaks) compare equal;
/// `None` unless it is one statement.
pub fn canonical(sql: &str, dialect: Dialect) -> Option<String> {
    match parse(sql, dialect).ok()?.as_slice() {
        [statement] => Some(lower_outside_quotes(&statement.to_string())),
        _ => None,
    }
}

/// Lower-cases what is not inside '…' or "…" (a doubled quote stays inside).
fn lower_outside_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None => {
                out.extend(c.to_lowercase());
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Parses with the target's own dialect: quoting and escapes differ, and a text that is one
/// statement in Snowflake can be two in PostgreSQL.
fn parse(sql: &str, dialect: Dialect) -> Result<Vec<Statement>, ParserError> {
    Parser::parse_sql(dialect.parser(), sql)
}

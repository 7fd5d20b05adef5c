//! How each dialect turns an identifier into the name the database looks up.
//!
//! Every name check in the guard goes through here, so quoting and case folding are decided
//! once: PostgreSQL folds unquoted names to lower case, Snowflake to upper case, SQLite
//! ignores ASCII case even in quoted names; quoted names are otherwise taken as written.
//! PostgreSQL's reserved words are never names unless quoted: where sqlparser reads one as a
//! name (it once read `FROM ONLY x` as the table `only` aliased `x`), PostgreSQL reads
//! syntax, so such a name is refused rather than checked as something it is not.

use sqlparser::ast::{Ident, ObjectName};

use crate::dialect::Dialect;

/// The name the database resolves `ident` to.
pub(super) fn resolve(ident: &Ident, dialect: Dialect) -> String {
    match (dialect, ident.quote_style) {
        (Dialect::Sqlite, _) | (Dialect::Postgres, None) => ident.value.to_ascii_lowercase(),
        (Dialect::Snowflake, None) => ident.value.to_ascii_uppercase(),
        (Dialect::Postgres | Dialect::Snowflake, Some(_)) => ident.value.clone(),
    }
}

/// Whether `ident` names the object the warehouse spells `actual`.
///
/// Unquoted identifiers compare ignoring ASCII case, so a catalog may spell names either way
/// (introspection gives `orders` on PostgreSQL and `ORDERS` on Snowflake); quoted ones must
/// match exactly, except on SQLite, which never distinguishes case.
pub(super) fn matches(ident: &Ident, actual: &str, dialect: Dialect) -> bool {
    if ident.quote_style.is_none() || dialect == Dialect::Sqlite {
        ident.value.eq_ignore_ascii_case(actual)
    } else {
        ident.value == actual
    }
}

/// The parts of a dotted name, or `None` when a part is computed at run time (Snowflake's
/// `IDENTIFIER('..')`), which no allow-list can judge.
pub(super) fn parts(name: &ObjectName) -> Option<Vec<&Ident>> {
    name.0.iter().map(|part| part.as_ident()).collect()
}

/// A dotted name as the user wrote it, without quotes, for messages.
pub(super) fn display(parts: &[&Ident]) -> String {
    let values: Vec<&str> = parts.iter().map(|ident| ident.value.as_str()).collect();
    values.join(".")
}

/// PostgreSQL's reserved key words, including those that may be function or type names
/// (PostgreSQL documentation, appendix C). Unquoted, none of them can name a table, alias or
/// column there.
const POSTGRES_RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// Whether `ident` is a reserved word the dialect would read as syntax, not as a name.
pub(super) fn is_reserved_word(ident: &Ident, dialect: Dialect) -> bool {
    dialect == Dialect::Postgres
        && ident.quote_style.is_none()
        && POSTGRES_RESERVED.contains(&ident.value.to_ascii_lowercase().as_str())
}

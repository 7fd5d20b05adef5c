//! How each dialect turns an identifier into the name the database looks up.
//!
//! Every name check in the guard goes through here, so quoting and case folding are decided
//! once: PostgreSQL folds unquoted names to lower case, Snowflake to upper case, SQLite
//! ignores ASCII case even in quoted names; quoted names are otherwise taken as written.

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

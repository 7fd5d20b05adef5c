//! Which tables a query may read: the catalog's allow-list, minus system catalogs, always.
//!
//! An unqualified name resolves only to the dialect's default schema, never to a unique match
//! elsewhere: the database resolves it through its own search path, and a guess here could
//! approve `orders` while the database reads a different, unlisted `orders`. The executor
//! pins the search path accordingly. Names with three or more parts (`db.schema.table`) are
//! refused: the catalog does not record databases.

use sqlparser::ast::Ident;

use super::names;
use super::rejection::{Rejection, RejectionKind};
use crate::catalog::{Catalog, Caveat};
use crate::dialect::Dialect;

/// Schemas that hold system catalogs in one of the dialects (compared ignoring case).
/// `pg_*` schemas (`pg_toast`, `pg_temp_3`) are caught by prefix.
const SYSTEM_SCHEMAS: &[&str] = &[
    "information_schema",
    "account_usage",
    "organization_usage",
    "reader_account_usage",
    "data_sharing_usage",
    "snowflake",
];

/// Table-name prefixes reserved for system catalogs (`pg_shadow`, `sqlite_master`).
const SYSTEM_PREFIXES: &[&str] = &["pg_", "sqlite_"];

/// The tables and views a query may name, as `(schema, name)` spelled by the warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableAllowList {
    dialect: Dialect,
    tables: Vec<(String, String)>,
    /// Listed tables that may be read only with `ONLY`: without it, their inheritance
    /// children's rows come along, and the role may not read those children.
    only: Vec<(String, String)>,
    /// The types of listed columns (lower case, without modifiers or `[]`): casts may name
    /// them, so a query can compare with an enum's labels.
    column_types: Vec<String>,
}

impl TableAllowList {
    /// Tables as `(schema, name)`, spelled as the warehouse spells them.
    pub fn new<S, N>(dialect: Dialect, tables: impl IntoIterator<Item = (S, N)>) -> Self
    where
        S: Into<String>,
        N: Into<String>,
    {
        let tables = tables
            .into_iter()
            .map(|(schema, name)| (schema.into(), name.into()))
            .collect();
        TableAllowList {
            dialect,
            tables,
            only: Vec::new(),
            column_types: Vec::new(),
        }
    }

    /// Every table and view the catalog lists; tables that hide inheritance children only
    /// with `ONLY`.
    pub fn from_catalog(catalog: &Catalog) -> Self {
        let mut list = TableAllowList::new(
            catalog.dialect,
            catalog
                .tables
                .iter()
                .map(|table| (table.schema.as_str(), table.name.as_str())),
        );
        list.only = catalog
            .tables
            .iter()
            .filter(|table| table.caveat == Some(Caveat::HiddenChildren))
            .map(|table| (table.schema.clone(), table.name.clone()))
            .collect();
        let mut types: Vec<String> = catalog
            .tables
            .iter()
            .flat_map(|table| &table.columns)
            .map(|column| base_type(&column.data_type))
            .collect();
        types.sort();
        types.dedup();
        list.column_types = types;
        list
    }

    /// Whether some listed column has this type (`mood`, `public.mood`).
    pub(super) fn has_column_type(&self, name: &str) -> bool {
        self.column_types.iter().any(|listed| {
            listed == name
                || listed
                    .rsplit_once('.')
                    .is_some_and(|(_, bare)| bare == name)
        })
    }

    /// The dialect whose name rules (default schema, case folding) the list follows.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Accepts a (non-CTE) table reference only if it is listed and not a system catalog,
    /// and, for a table whose children the role may not read, only if it says `ONLY`.
    pub(super) fn check(&self, parts: &[&Ident], only: bool) -> Result<(), Rejection> {
        let reject = |kind| Err(Rejection::new(kind, self.dialect, names::display(parts)));
        if let Some((name, qualifiers)) = parts.split_last()
            && (has_system_prefix(&name.value)
                || qualifiers.iter().any(|part| is_system_schema(&part.value)))
        {
            return reject(RejectionKind::SystemTable);
        }
        let (schema, name) = match parts {
            [name] => (None, *name),
            [schema, name] => (Some(*schema), *name),
            _ => return reject(RejectionKind::UnknownTable),
        };
        let is = |(listed_schema, listed_name): &(String, String)| {
            names::matches(name, listed_name, self.dialect)
                && match schema {
                    Some(schema) => names::matches(schema, listed_schema, self.dialect),
                    None => listed_schema.eq_ignore_ascii_case(self.dialect.default_schema()),
                }
        };
        if !self.tables.iter().any(is) {
            reject(RejectionKind::UnknownTable)
        } else if !only && self.only.iter().any(is) {
            reject(RejectionKind::InheritedRows)
        } else {
            Ok(())
        }
    }
}

// System names are refused in every dialect and whatever the quoting: a user table that
// happens to be called `pg_something` is a price worth paying for a rule with no exceptions.

fn is_system_schema(name: &str) -> bool {
    SYSTEM_SCHEMAS
        .iter()
        .any(|schema| schema.eq_ignore_ascii_case(name))
        || has_system_prefix(name)
}

fn has_system_prefix(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SYSTEM_PREFIXES
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// A column type without modifiers, array brackets or quotes: `numeric(10,2)[]` -> `numeric`.
fn base_type(data_type: &str) -> String {
    let bare = data_type.split('(').next().unwrap_or(data_type);
    bare.trim_end_matches("[]")
        .trim()
        .replace('"', "")
        .to_ascii_lowercase()
}

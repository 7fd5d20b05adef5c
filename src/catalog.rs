//! What a warehouse holds: schemas, tables, views and columns, as read by introspection.
//!
//! These are plain data: warehouses produce them, the store caches them as JSON, the guard
//! builds its table allow-list from them and the pipeline turns them into prompt context.

use serde::{Deserialize, Serialize};

use crate::dialect::Dialect;

/// Everything the connection's role may read, at the time it was introspected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub dialect: Dialect,
    pub tables: Vec<Table>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    Table,
    View,
    MaterializedView,
}

/// A table or view. `schema` is the schema as the warehouse names it (`public`, `main`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub schema: String,
    pub name: String,
    pub kind: TableKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Approximate number of rows (planner statistics, or a count on small databases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_estimate: Option<i64>,
    pub columns: Vec<Column>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// What reading this relation may reveal beyond its own rows, when anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caveat: Option<Caveat>,
}

/// Ways a readable relation can show more than the role was meant to see (PostgreSQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Caveat {
    /// A view with neither `security_barrier` nor `security_invoker`: the database may run a
    /// query's own conditions on rows the view filters out, and an error or a timing can
    /// tell what those rows hold.
    ViewWithoutBarrier,
    /// A table with inheritance children the role may not read: without `ONLY`, reading the
    /// table returns the children's rows too (privileges are checked on the parent only).
    HiddenChildren,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The type as the warehouse spells it (`integer`, `numeric(10,2)`, `TEXT`).
    pub data_type: String,
    pub nullable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// A few distinct values of a low-cardinality text column, for schema linking.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub references_schema: String,
    pub references_table: String,
    pub references_columns: Vec<String>,
}

impl Catalog {
    /// The catalog without views that may reveal the rows they filter out.
    pub fn without_views_lacking_barrier(mut self) -> Self {
        self.tables
            .retain(|table| table.caveat != Some(Caveat::ViewWithoutBarrier));
        self
    }

    /// Finds a table by schema and name, comparing names case-insensitively.
    pub fn table(&self, schema: &str, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.schema.eq_ignore_ascii_case(schema) && t.name.eq_ignore_ascii_case(name))
    }
}

impl Table {
    /// `schema.name`, or just `name` when the table lives in the dialect's default schema.
    pub fn display_name(&self, dialect: Dialect) -> String {
        if self.schema.eq_ignore_ascii_case(dialect.default_schema()) {
            self.name.clone()
        } else {
            format!("{}.{}", self.schema, self.name)
        }
    }
}

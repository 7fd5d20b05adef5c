//! The schema text the prompt shows: one CREATE TABLE-like block per table.
//!
//! A block is assembled from per-column lines whose lengths are known in advance, so
//! selection can price a table (or a trimmed version of it) without rendering it, and the
//! price is exactly what rendering then produces. Lengths count characters, not bytes.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::catalog::{Catalog, Column, Table, TableKind};
use crate::dialect::Dialect;

/// Longest column or table comment shown, in characters; longer ones end in `…`.
const MAX_COMMENT: usize = 160;
/// Most sample values shown per column, and the longest shown, in characters.
const MAX_SAMPLES: usize = 6;
const MAX_SAMPLE: usize = 40;
const FOOTER: &str = ");\n";
/// Blocks are separated by one empty line.
pub(super) const SEPARATOR: &str = "\n";

/// Words that must be quoted to be used as names in all three dialects.
#[rustfmt::skip]
pub(super) const RESERVED: &[&str] = &[
    "all", "and", "any", "as", "asc", "between", "by", "case", "check", "column", "create",
    "cross", "default", "delete", "desc", "distinct", "drop", "else", "end", "except", "from",
    "full", "group", "having", "in", "inner", "insert", "intersect", "into", "is", "join", "left",
    "like", "limit", "not", "null", "offset", "on", "or", "order", "outer", "primary",
    "references", "right", "select", "set", "table", "then", "to", "union", "unique", "update",
    "user", "using", "values", "when", "where", "with",
];

/// One line of a block, split where a separating comma goes: `  name type` `, -- comment`.
#[derive(Debug)]
struct Line {
    definition: String,
    comment: String,
    /// Characters in `definition` and `comment` together.
    len: usize,
}

impl Line {
    fn new(definition: String, comment: String) -> Self {
        let len = definition.chars().count() + comment.chars().count();
        Line {
            definition,
            comment,
            len,
        }
    }
}

/// A table's block, ready to be written with any subset of its columns.
#[derive(Debug)]
pub(super) struct TableText {
    header: String,
    header_len: usize,
    columns: Vec<Line>,
    /// Composite keys, which no single column line can carry.
    constraints: Vec<Line>,
}

impl TableText {
    pub(super) fn new(catalog: &Catalog, table: &Table) -> Self {
        let header = header(table, catalog.dialect);
        TableText {
            header_len: header.chars().count(),
            header,
            columns: table
                .columns
                .iter()
                .map(|column| column_line(table, column, catalog.dialect))
                .collect(),
            constraints: composite_keys(table, catalog.dialect),
        }
    }

    pub(super) fn n_columns(&self) -> usize {
        self.columns.len()
    }

    /// Characters [`TableText::write`] produces for these columns.
    pub(super) fn len(&self, shown: &[usize]) -> usize {
        let lines = shown
            .iter()
            .map(|&c| &self.columns[c])
            .chain(&self.constraints);
        let mut n_items: usize = 0;
        let mut len = self.header_len + FOOTER.len();
        for line in lines {
            n_items += 1;
            len += line.len + 1;
        }
        // Every item but the last takes a comma.
        len += n_items.saturating_sub(1);
        len + omitted_note(self.columns.len() - shown.len()).len()
    }

    /// Writes the block with the columns `shown` (indexes, in the order given).
    pub(super) fn write(&self, shown: &[usize], out: &mut String) {
        out.push_str(&self.header);
        let lines: Vec<&Line> = shown
            .iter()
            .map(|&c| &self.columns[c])
            .chain(&self.constraints)
            .collect();
        for (i, line) in lines.iter().enumerate() {
            out.push_str(&line.definition);
            if i + 1 < lines.len() {
                out.push(',');
            }
            out.push_str(&line.comment);
            out.push('\n');
        }
        out.push_str(&omitted_note(self.columns.len() - shown.len()));
        out.push_str(FOOTER);
    }
}

/// The comment line (table comment, approximate rows) and the `CREATE TABLE` line.
fn header(table: &Table, dialect: Dialect) -> String {
    let mut header = String::new();
    let rows = table.row_estimate.filter(|&n| n >= 0).map(approximate_rows);
    match (&table.comment, rows) {
        (Some(comment), Some(rows)) => {
            let _ = writeln!(header, "-- {} ({rows} rows)", clean(comment));
        }
        (Some(comment), None) => {
            let _ = writeln!(header, "-- {}", clean(comment));
        }
        (None, Some(rows)) => {
            let _ = writeln!(header, "-- {rows} rows");
        }
        (None, None) => {}
    }
    let kind = match table.kind {
        TableKind::Table => "TABLE",
        TableKind::View => "VIEW",
        TableKind::MaterializedView => "MATERIALIZED VIEW",
    };
    let name = qualified(&table.schema, &table.name, dialect);
    let _ = writeln!(header, "CREATE {kind} {name} (");
    header
}

/// `  name type [PRIMARY KEY] [REFERENCES t(c)]`, then ` -- comment; e.g. 'a', 'b'`.
fn column_line(table: &Table, column: &Column, dialect: Dialect) -> Line {
    let mut definition = format!("  {}", quote(&column.name, dialect));
    if !column.data_type.is_empty() {
        definition.push(' ');
        definition.push_str(&column.data_type);
    }
    if let [key] = table.primary_key.as_slice()
        && key.eq_ignore_ascii_case(&column.name)
    {
        definition.push_str(" PRIMARY KEY");
    }
    let single_key = table.foreign_keys.iter().find(
        |key| matches!(key.columns.as_slice(), [only] if only.eq_ignore_ascii_case(&column.name)),
    );
    if let Some(key) = single_key {
        let _ = write!(
            definition,
            " REFERENCES {}({})",
            qualified(&key.references_schema, &key.references_table, dialect),
            names(&key.references_columns, dialect)
        );
    }
    let mut comment = String::new();
    if let Some(text) = &column.comment {
        comment = format!(" -- {}", clean(text));
    }
    if !column.samples.is_empty() {
        comment.push_str(if comment.is_empty() { " -- " } else { "; " });
        comment.push_str("e.g. ");
        comment.push_str(&samples(&column.samples));
    }
    Line::new(definition, comment)
}

/// Keys over several columns, which no single column line can carry.
fn composite_keys(table: &Table, dialect: Dialect) -> Vec<Line> {
    let mut lines = Vec::new();
    if table.primary_key.len() > 1 {
        let definition = format!("  PRIMARY KEY ({})", names(&table.primary_key, dialect));
        lines.push(Line::new(definition, String::new()));
    }
    for key in table
        .foreign_keys
        .iter()
        .filter(|key| key.columns.len() > 1)
    {
        let definition = format!(
            "  FOREIGN KEY ({}) REFERENCES {}({})",
            names(&key.columns, dialect),
            qualified(&key.references_schema, &key.references_table, dialect),
            names(&key.references_columns, dialect)
        );
        lines.push(Line::new(definition, String::new()));
    }
    lines
}

/// Tells the model that a trimmed table has more columns than it sees.
fn omitted_note(n_omitted: usize) -> String {
    match n_omitted {
        0 => String::new(),
        1 => "  -- 1 more column not shown\n".to_owned(),
        n => format!("  -- {n} more columns not shown\n"),
    }
}

/// `schema.name`, or just `name` in the dialect's default schema, quoted where needed.
fn qualified(schema: &str, name: &str, dialect: Dialect) -> String {
    if schema.is_empty() || schema.eq_ignore_ascii_case(dialect.default_schema()) {
        quote(name, dialect).into_owned()
    } else {
        format!("{}.{}", quote(schema, dialect), quote(name, dialect))
    }
}

fn names(names: &[String], dialect: Dialect) -> String {
    let quoted: Vec<Cow<'_, str>> = names.iter().map(|name| quote(name, dialect)).collect();
    quoted.join(", ")
}

/// A name as the model must write it: quoted when the dialect would otherwise fold its case
/// (PostgreSQL to lower, Snowflake to upper) or it is not a plain word.
fn quote(name: &str, dialect: Dialect) -> Cow<'_, str> {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let folds = match dialect {
        Dialect::Postgres => name.chars().any(|c| c.is_ascii_uppercase()),
        Dialect::Snowflake => name.chars().any(|c| c.is_ascii_lowercase()),
        Dialect::Sqlite => false,
    };
    let reserved = RESERVED
        .binary_search(&name.to_ascii_lowercase().as_str())
        .is_ok();
    if plain && !folds && !reserved {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(format!("\"{}\"", name.replace('"', "\"\"")))
    }
}

/// A comment on one line, without runs of spaces, cut to [`MAX_COMMENT`] characters.
fn clean(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    truncate(&words.join(" "), MAX_COMMENT)
}

fn samples(values: &[String]) -> String {
    let quoted: Vec<String> = values
        .iter()
        .take(MAX_SAMPLES)
        .map(|value| {
            let value = truncate(
                &value.split_whitespace().collect::<Vec<_>>().join(" "),
                MAX_SAMPLE,
            );
            format!("'{}'", value.replace('\'', "''"))
        })
        .collect();
    quoted.join(", ")
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars.saturating_sub(1)) {
        Some((cut, _)) if text.chars().count() > max_chars => format!("{}…", &text[..cut]),
        _ => text.to_owned(),
    }
}

/// `850`, `~1.5k`, `~32k`, `~4.2M`: planner estimates are rough, so two digits are plenty.
pub(super) fn approximate_rows(n: i64) -> String {
    if n < 1_000 {
        return n.to_string();
    }
    let factor = 10i64.pow(n.ilog10() - 1);
    let rounded = n.saturating_add(factor / 2) / factor * factor;
    let (scale, unit) = match rounded {
        1_000..1_000_000 => (1_000, "k"),
        1_000_000..1_000_000_000 => (1_000_000, "M"),
        _ => (1_000_000_000, "B"),
    };
    match rounded % scale {
        0 => format!("~{}{unit}", rounded / scale),
        rest => format!("~{}.{}{unit}", rounded / scale, rest * 10 / scale),
    }
}

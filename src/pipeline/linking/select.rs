//! Fills the budget: tables in order of priority, wide ones trimmed to their relevant
//! columns first, then trimmed tables grown back with whatever budget is left.
//!
//! Breadth before depth: a missing table cannot be guessed by the model, a missing column of
//! a table it sees it can at least ask about (the block says how many were left out).

use super::graph::Graph;
use super::render::{SEPARATOR, TableText};
use super::score::Scores;
use super::{Budget, SelectedTable, Selection};
use crate::catalog::{Catalog, Column};

/// A table whose full block takes more than this share of the budget is trimmed at first.
const WIDE_SHARE: usize = 16;
/// A trimmed table keeps its keys, its best-matching columns (at most this many) ...
const MAX_MATCHED_COLUMNS: usize = 12;
/// ... its first few columns, which usually say what a row is (id, name, date) ...
const LEADING_COLUMNS: usize = 3;
/// ... a couple of name-like columns, which is what answers usually show ...
const LABEL_COLUMNS: usize = 2;
/// ... and, when the question mentions a time, a few date columns.
const TIME_COLUMNS: usize = 3;
/// Candidates in a row that may fail to fit before the rest are not even priced: pricing
/// means rendering, and a large catalog has thousands of weak candidates.
const MAX_MISSES_IN_A_ROW: usize = 50;
/// No table block is shorter than `CREATE TABLE t (\n  c\n);\n`.
const MIN_BLOCK: usize = 24;

/// What decides which columns a trimmed table keeps.
pub(super) struct Relevance<'a> {
    pub(super) scores: &'a Scores,
    pub(super) graph: &'a Graph,
    pub(super) mentions_time: bool,
}

/// A table taken, with the columns it shows and whether more could be added.
struct Taken {
    table: usize,
    text: TableText,
    shown: Vec<usize>,
}

/// Takes tables from `ranked` (best first) while they fit in `budget`.
pub(super) fn fill(
    catalog: &Catalog,
    relevance: &Relevance<'_>,
    ranked: &[usize],
    budget: Budget,
) -> Selection {
    let mut taken: Vec<Taken> = Vec::new();
    let mut used = 0;
    let mut misses_in_a_row = 0;
    for &table in ranked {
        if misses_in_a_row >= MAX_MISSES_IN_A_ROW || used + MIN_BLOCK > budget.max_chars {
            break;
        }
        let text = TableText::new(catalog, &catalog.tables[table]);
        let separator = if taken.is_empty() { 0 } else { SEPARATOR.len() };
        let left = budget.max_chars.saturating_sub(used + separator);
        let all: Vec<usize> = (0..text.n_columns()).collect();
        let full_len = text.len(&all);
        let shown = if full_len <= left && full_len <= budget.max_chars / WIDE_SHARE {
            all
        } else {
            trimmed(catalog, table, relevance)
        };
        let len = text.len(&shown);
        if len <= left {
            used += separator + len;
            taken.push(Taken { table, text, shown });
            misses_in_a_row = 0;
        } else {
            misses_in_a_row += 1;
        }
    }
    for entry in &mut taken {
        used = grow(entry, relevance.scores, used, budget);
    }
    Selection {
        tables: taken
            .into_iter()
            .map(|entry| SelectedTable {
                table: entry.table,
                columns: entry.shown,
            })
            .collect(),
    }
}

/// The columns a trimmed table keeps, in table order: keys and join columns, best matches,
/// leading, name-like and (when asked about a time) date columns.
fn trimmed(catalog: &Catalog, t: usize, relevance: &Relevance<'_>) -> Vec<usize> {
    let table = &catalog.tables[t];
    let is_key = |column: &Column| {
        table
            .primary_key
            .iter()
            .chain(table.foreign_keys.iter().flat_map(|key| &key.columns))
            .any(|key| key.eq_ignore_ascii_case(&column.name))
    };
    let mut keep: Vec<bool> = table
        .columns
        .iter()
        .enumerate()
        .map(|(c, column)| {
            c < LEADING_COLUMNS || is_key(column) || relevance.graph.is_join_column(t, c)
        })
        .collect();
    let mut mark_first = |limit: usize, wanted: &dyn Fn(&Column) -> bool| {
        let columns = table
            .columns
            .iter()
            .enumerate()
            .filter(|(_, column)| wanted(column));
        for (c, _) in columns.take(limit) {
            keep[c] = true;
        }
    };
    mark_first(LABEL_COLUMNS, &is_label);
    if relevance.mentions_time {
        mark_first(TIME_COLUMNS, &is_time);
    }
    let mut matched: Vec<(usize, f32)> = relevance.scores.columns_of(t).collect();
    matched.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    for (c, _) in matched.into_iter().take(MAX_MATCHED_COLUMNS) {
        keep[c] = true;
    }
    (0..keep.len()).filter(|&c| keep[c]).collect()
}

fn is_label(column: &Column) -> bool {
    let name = column.name.to_lowercase();
    name.contains("name") || name.contains("title")
}

fn is_time(column: &Column) -> bool {
    let name = column.name.to_lowercase();
    let data_type = column.data_type.to_lowercase();
    data_type.contains("date")
        || data_type.contains("time")
        || name.contains("date")
        || name.contains("year")
}

/// Adds a trimmed table's remaining columns, best matches first, while the budget allows;
/// returns the characters used afterwards.
fn grow(entry: &mut Taken, scores: &Scores, mut used: usize, budget: Budget) -> usize {
    if entry.shown.len() == entry.text.n_columns() {
        return used;
    }
    let mut column_scores = vec![0.0f32; entry.text.n_columns()];
    for (c, score) in scores.columns_of(entry.table) {
        column_scores[c] = score;
    }
    let mut missing: Vec<usize> = (0..entry.text.n_columns())
        .filter(|c| !entry.shown.contains(c))
        .collect();
    missing.sort_by(|&a, &b| {
        column_scores[b]
            .total_cmp(&column_scores[a])
            .then(a.cmp(&b))
    });
    let mut current = entry.text.len(&entry.shown);
    for c in missing {
        let position = entry.shown.partition_point(|&shown| shown < c);
        entry.shown.insert(position, c);
        let len = entry.text.len(&entry.shown);
        if used - current + len <= budget.max_chars {
            used = used - current + len;
            current = len;
        } else {
            entry.shown.remove(position);
        }
    }
    used
}

//! Scores every table and column against the words of a question.
//!
//! A word counts once per table, at the weight of the best place it was found, times its
//! rarity (idf): "refunded" found only in one status column's samples says more than "name",
//! which every other table has. A table whose whole name appears in the question gets a
//! bonus on top, so `orders` beats `order_items` for "how many orders".

use super::index::{Field, NO_COLUMN, WordIndex};
use super::tokens;

/// How much a word found in each place counts, before rarity.
fn weight(field: Field) -> f32 {
    match field {
        Field::TableName => 3.0,
        Field::ColumnName => 1.5,
        Field::Sample => 1.5,
        Field::TableComment => 1.0,
        Field::ColumnComment => 0.6,
        Field::SchemaName => 0.5,
    }
}

/// Extra weight, per word, for a table or column whose whole name is in the question.
const WHOLE_TABLE_NAME: f32 = 2.0;
const WHOLE_COLUMN_NAME: f32 = 0.5;
/// Words of earlier questions in the conversation count this much: a follow-up usually
/// stays on the same subject, but the new question decides.
const EARLIER_QUESTION: f32 = 0.3;

/// The words to look for, as `(word id, weight)`, sorted by id; unknown words are dropped.
#[derive(Debug, Default)]
pub(super) struct Query {
    words: Vec<(u32, f32)>,
    /// Whether the question names a year, date or period, so date columns matter.
    pub(super) mentions_time: bool,
}

impl Query {
    pub(super) fn new(index: &WordIndex, question: &str, earlier_questions: &[&str]) -> Self {
        let mut words: Vec<(u32, f32)> = Vec::new();
        let mut push = |text: &str, weight: f32| {
            for word in tokens::words_and_compounds(text) {
                if let Some(id) = index.id(&word) {
                    words.push((id, weight));
                }
            }
        };
        push(question, 1.0);
        for earlier in earlier_questions {
            push(earlier, EARLIER_QUESTION);
        }
        // Highest weight first within an id, so dedup keeps it.
        words.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        words.dedup_by_key(|(id, _)| *id);
        Query {
            words,
            mentions_time: tokens::mentions_time(question),
        }
    }

    fn contains(&self, id: u32) -> bool {
        self.words.binary_search_by_key(&id, |&(id, _)| id).is_ok()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// How well each table and column matches a query.
#[derive(Debug)]
pub(super) struct Scores {
    pub(super) tables: Vec<f32>,
    /// `(table, column, score)` for columns that matched at all, sorted by table and column.
    columns: Vec<(u32, u32, f32)>,
}

impl Scores {
    /// The columns of `table` that matched, with their scores, in column order.
    pub(super) fn columns_of(&self, table: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let start = self
            .columns
            .partition_point(|&(t, _, _)| (t as usize) < table);
        self.columns[start..]
            .iter()
            .take_while(move |&&(t, _, _)| t as usize == table)
            .map(|&(_, c, score)| (c as usize, score))
    }
}

pub(super) fn score(index: &WordIndex, query: &Query, n_tables: usize) -> Scores {
    let mut tables = vec![0.0f32; n_tables];
    let mut name_hit = vec![false; n_tables];
    let mut columns: Vec<(u32, u32, f32)> = Vec::new();
    for &(id, query_weight) in &query.words {
        let value = query_weight * index.idf(id);
        // Postings are sorted by table, then column (the table's own postings last).
        for in_table in index.postings(id).chunk_by(|a, b| a.table == b.table) {
            let table = in_table[0].table;
            let mut best = 0.0f32;
            for in_column in in_table.chunk_by(|a, b| a.column == b.column) {
                let best_here = in_column
                    .iter()
                    .map(|p| weight(p.field))
                    .fold(0.0, f32::max);
                if in_column[0].column != NO_COLUMN {
                    columns.push((table, in_column[0].column, value * best_here));
                }
                best = best.max(best_here);
            }
            tables[table as usize] += value * best;
            name_hit[table as usize] |= in_table.iter().any(|p| p.field == Field::TableName);
        }
    }
    for (table, hit) in name_hit.iter().enumerate() {
        if *hit {
            tables[table] +=
                WHOLE_TABLE_NAME * whole_name_value(index.table_name(table), index, query);
        }
    }
    columns.sort_unstable_by_key(|&(table, column, _)| (table, column));
    // Merge the per-word entries of a column into one score.
    let mut merged: Vec<(u32, u32, f32)> = Vec::with_capacity(columns.len());
    for (table, column, value) in columns {
        match merged.last_mut() {
            Some(last) if last.0 == table && last.1 == column => last.2 += value,
            _ => merged.push((table, column, value)),
        }
    }
    for entry in &mut merged {
        let name = index.column_name(entry.0 as usize, entry.1 as usize);
        let bonus = WHOLE_COLUMN_NAME * whole_name_value(name, index, query);
        entry.2 += bonus;
        // A one-word name (`date`, `name`) says little about the table.
        if name.len() > 1 {
            tables[entry.0 as usize] += bonus;
        }
    }
    Scores {
        tables,
        columns: merged,
    }
}

/// The summed rarity of a name's words when all of them are in the query, else 0.
fn whole_name_value(name: &[u32], index: &WordIndex, query: &Query) -> f32 {
    if name.is_empty() || !name.iter().all(|&id| query.contains(id)) {
        return 0.0;
    }
    name.iter().map(|&id| index.idf(id)).sum()
}

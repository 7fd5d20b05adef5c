//! The inverted index from words to the tables and columns whose names, comments or sample
//! values contain them, built once per catalog.
//!
//! Building it is the expensive part of linking a large catalog, so texts are split into
//! words once per distinct text: warehouses repeat `id`, `created_at`, `status` thousands
//! of times.

use std::ops::Range;

use super::tokens;
use crate::catalog::Catalog;
use rustc_hash::FxHashMap as FastMap;

/// Where in a table a word was found; the weights in `score` say how much each place counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Field {
    TableName,
    ColumnName,
    Sample,
    TableComment,
    ColumnComment,
    SchemaName,
}

/// Marks a posting that belongs to the table itself rather than one of its columns.
pub(super) const NO_COLUMN: u32 = u32::MAX;

/// One occurrence of a word: table, column (or [`NO_COLUMN`]) and field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Posting {
    pub(super) table: u32,
    pub(super) column: u32,
    pub(super) field: Field,
}

#[derive(Debug)]
pub(super) struct WordIndex {
    ids: FastMap<String, u32>,
    /// Per word id, its postings sorted by table, then column, then field.
    postings: Vec<Vec<Posting>>,
    /// Per word id, `ln(1 + tables / tables containing the word)`.
    idf: Vec<f32>,
    /// Word ids of every distinct text, referred to by the ranges below.
    arena: Vec<u32>,
    /// Per table, its name's distinct words, for whole-name matches.
    table_names: Vec<Range<u32>>,
    /// Per table and column, the column name's distinct words.
    column_names: Vec<Vec<Range<u32>>>,
}

/// The words of one distinct text, as ranges into [`WordIndex::arena`].
#[derive(Clone)]
struct Split {
    /// Words and, for names, compounds: what gets indexed.
    indexed: Range<u32>,
    /// Names only: the plain words, distinct and sorted.
    plain: Range<u32>,
}

struct Builder<'c> {
    index: WordIndex,
    names: FastMap<&'c str, Split>,
    texts: FastMap<&'c str, Split>,
}

impl<'c> Builder<'c> {
    fn intern(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.index.ids.get(word) {
            return id;
        }
        let id = to_u32(self.index.postings.len());
        self.index.ids.insert(word.to_owned(), id);
        self.index.postings.push(Vec::new());
        id
    }

    /// A name's words with compounds, and its plain words.
    fn name(&mut self, name: &'c str) -> Split {
        if let Some(split) = self.names.get(name) {
            return split.clone();
        }
        let mut words: Vec<(String, bool)> = Vec::new();
        tokens::for_each_word_and_compound(name, |word, compound| {
            words.push((word.to_owned(), compound));
        });
        let start = to_u32(self.index.arena.len());
        for (word, _) in &words {
            let id = self.intern(word);
            self.index.arena.push(id);
        }
        let middle = to_u32(self.index.arena.len());
        let mut plain: Vec<u32> = words
            .iter()
            .zip(&self.index.arena[start as usize..])
            .filter(|((_, compound), _)| !compound)
            .map(|(_, &id)| id)
            .collect();
        plain.sort_unstable();
        plain.dedup();
        self.index.arena.extend(plain);
        let split = Split {
            indexed: start..middle,
            plain: middle..to_u32(self.index.arena.len()),
        };
        self.names.insert(name, split.clone());
        split
    }

    /// A comment's or sample's words.
    fn text(&mut self, text: &'c str) -> Range<u32> {
        if let Some(split) = self.texts.get(text) {
            return split.indexed.clone();
        }
        let mut words: Vec<String> = Vec::new();
        tokens::for_each_word(text, |word| words.push(word.to_owned()));
        let start = to_u32(self.index.arena.len());
        for word in &words {
            let id = self.intern(word);
            self.index.arena.push(id);
        }
        let range = start..to_u32(self.index.arena.len());
        let split = Split {
            indexed: range.clone(),
            plain: range.end..range.end,
        };
        self.texts.insert(text, split);
        range
    }
}

impl WordIndex {
    pub(super) fn new(catalog: &Catalog) -> Self {
        let mut builder = Builder {
            index: WordIndex {
                ids: FastMap::default(),
                postings: Vec::new(),
                idf: Vec::new(),
                arena: Vec::new(),
                table_names: Vec::with_capacity(catalog.tables.len()),
                column_names: Vec::with_capacity(catalog.tables.len()),
            },
            names: FastMap::default(),
            texts: FastMap::default(),
        };
        let mut df: Vec<u32> = Vec::new();
        let mut entries: Vec<(u32, Posting)> = Vec::new();
        let mut last_seen: Vec<u32> = Vec::new();
        for (t, table) in catalog.tables.iter().enumerate() {
            let table_id = to_u32(t);
            entries.clear();
            let mut add = |arena: &[u32], range: Range<u32>, column: u32, field: Field| {
                let posting = Posting {
                    table: table_id,
                    column,
                    field,
                };
                entries.extend(
                    arena[range.start as usize..range.end as usize]
                        .iter()
                        .map(|&id| (id, posting)),
                );
            };
            let schema = builder.text(&table.schema);
            add(&builder.index.arena, schema, NO_COLUMN, Field::SchemaName);
            let name = builder.name(&table.name);
            add(
                &builder.index.arena,
                name.indexed,
                NO_COLUMN,
                Field::TableName,
            );
            builder.index.table_names.push(name.plain);
            if let Some(comment) = &table.comment {
                let words = builder.text(comment);
                add(&builder.index.arena, words, NO_COLUMN, Field::TableComment);
            }
            let mut column_names = Vec::with_capacity(table.columns.len());
            for (c, column) in table.columns.iter().enumerate() {
                let column_id = to_u32(c).min(NO_COLUMN - 1);
                let name = builder.name(&column.name);
                add(
                    &builder.index.arena,
                    name.indexed,
                    column_id,
                    Field::ColumnName,
                );
                column_names.push(name.plain);
                if let Some(comment) = &column.comment {
                    let words = builder.text(comment);
                    add(&builder.index.arena, words, column_id, Field::ColumnComment);
                }
                for sample in &column.samples {
                    let words = builder.text(sample);
                    add(&builder.index.arena, words, column_id, Field::Sample);
                }
            }
            builder.index.column_names.push(column_names);

            entries.sort_unstable();
            entries.dedup();
            let n_words = builder.index.postings.len();
            df.resize(n_words, 0);
            last_seen.resize(n_words, u32::MAX);
            for &(id, posting) in &entries {
                builder.index.postings[id as usize].push(posting);
                if last_seen[id as usize] != table_id {
                    last_seen[id as usize] = table_id;
                    df[id as usize] += 1;
                }
            }
        }
        let mut index = builder.index;
        let n_tables = catalog.tables.len().max(1) as f32;
        index.idf = df
            .iter()
            .map(|&count| (1.0 + n_tables / count.max(1) as f32).ln())
            .collect();
        index
    }

    pub(super) fn id(&self, word: &str) -> Option<u32> {
        self.ids.get(word).copied()
    }

    pub(super) fn postings(&self, id: u32) -> &[Posting] {
        &self.postings[id as usize]
    }

    pub(super) fn idf(&self, id: u32) -> f32 {
        self.idf[id as usize]
    }

    /// The distinct words of a table's name, sorted.
    pub(super) fn table_name(&self, table: usize) -> &[u32] {
        self.name_slice(&self.table_names[table])
    }

    /// The distinct words of a column's name, sorted.
    pub(super) fn column_name(&self, table: usize, column: usize) -> &[u32] {
        self.name_slice(&self.column_names[table][column])
    }

    fn name_slice(&self, range: &Range<u32>) -> &[u32] {
        &self.arena[range.start as usize..range.end as usize]
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

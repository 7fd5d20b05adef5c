//! Schema linking: picks the tables and columns a question needs so the catalog fits the prompt.
//!
//! When the whole catalog renders within the budget, everything is shown. Otherwise every
//! table is scored against the question's words (names, comments, sample values; rare words
//! and whole names count more), foreign-key partners of the best matches are lifted so join
//! paths stay complete, tables named by the conversation's earlier SQL are kept first, and
//! tables are taken best first until the budget is full, wide ones trimmed to their relevant
//! columns and keys. Everything is deterministic: ties go to catalog order.
//!
//! Layout: `tokens` (words), `index` (words to tables), `score`, `graph` (foreign keys),
//! `context` (earlier turns), `select` (budget), `render` (text).

mod context;
mod graph;
mod index;
mod render;
mod score;
mod select;
mod tokens;

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::catalog::Catalog;

/// How much schema text the prompt can hold, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub max_chars: usize,
}

/// The tables (and their columns) to show, in rendering order: catalog order when the
/// whole catalog fits, otherwise tables kept from earlier SQL first, then best match first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    pub tables: Vec<SelectedTable>,
}

/// A table to show: an index into `catalog.tables` and indexes into its columns, ascending.
/// [`link`] always lists the columns; [`render`] reads an empty list as "all columns".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedTable {
    pub table: usize,
    pub columns: Vec<usize>,
}

/// What linking precomputes for one catalog: word index, foreign-key graph, table names,
/// with the catalog itself. Build it once per catalog version (the pipeline keeps one per
/// connection and role until the catalog changes); [`link`] builds one each call.
#[derive(Debug)]
pub struct LinkIndex {
    catalog: Arc<Catalog>,
    words: index::WordIndex,
    graph: graph::Graph,
    names: context::TableNames,
}

impl LinkIndex {
    pub fn new(catalog: impl Into<Arc<Catalog>>) -> Self {
        let catalog = catalog.into();
        LinkIndex {
            words: index::WordIndex::new(&catalog),
            graph: graph::Graph::new(&catalog),
            names: context::TableNames::new(&catalog),
            catalog,
        }
    }

    /// The catalog this index was built from.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The tables and columns to show for `question`, given the conversation's earlier
    /// questions and SQL (`context`, oldest first), rendering within `budget`.
    pub fn link(&self, question: &str, context: &[&str], budget: Budget) -> Selection {
        if let Some(everything) = self.everything_within(budget) {
            return everything;
        }
        let earlier = context::read(&self.catalog, &self.names, context);
        let query = score::Query::new(&self.words, question, &earlier.questions);
        let mut scores = score::score(&self.words, &query, self.catalog.tables.len());
        self.graph.lift(&mut scores.tables);
        let ranked = self.rank(&scores.tables, &earlier.tables, query.is_empty());
        let relevance = select::Relevance {
            scores: &scores,
            graph: &self.graph,
            mentions_time: query.mentions_time,
        };
        select::fill(&self.catalog, &relevance, &ranked, budget)
    }

    /// Every table with all its columns, if that renders within the budget.
    fn everything_within(&self, budget: Budget) -> Option<Selection> {
        let mut used = 0;
        let mut tables = Vec::with_capacity(self.catalog.tables.len());
        for (t, table) in self.catalog.tables.iter().enumerate() {
            let text = render::TableText::new(&self.catalog, table);
            let columns: Vec<usize> = (0..text.n_columns()).collect();
            let separator = if t == 0 { 0 } else { render::SEPARATOR.len() };
            used += separator + text.len(&columns);
            if used > budget.max_chars {
                return None;
            }
            tables.push(SelectedTable { table: t, columns });
        }
        Some(Selection { tables })
    }

    /// Tables in the order they should be taken: those earlier SQL named, then those that
    /// matched, best first. When nothing matched at all, the best-connected tables, which are
    /// the likeliest subjects of a question that names none.
    fn rank(&self, scores: &[f32], kept: &[usize], nothing_matched: bool) -> Vec<usize> {
        let mut ranked: Vec<usize> = kept.to_vec();
        let mut rest: Vec<usize> = (0..scores.len())
            .filter(|t| !kept.contains(t) && (nothing_matched || scores[*t] > 0.0))
            .collect();
        if nothing_matched {
            let degree = |t: usize| self.graph.neighbours(t).count();
            rest.sort_by(|&a, &b| degree(b).cmp(&degree(a)).then(a.cmp(&b)));
        } else {
            rest.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        }
        ranked.extend(rest);
        ranked
    }
}

/// Links one question against a catalog; see [`LinkIndex::link`].
pub fn link(catalog: &Catalog, question: &str, context: &[&str], budget: Budget) -> Selection {
    LinkIndex::new(catalog.clone()).link(question, context, budget)
}

/// The schema text for the prompt: one block per selected table, in selection order.
pub fn render(catalog: &Catalog, selection: &Selection) -> String {
    let mut out = String::new();
    for selected in &selection.tables {
        let Some(table) = catalog.tables.get(selected.table) else {
            continue;
        };
        let text = render::TableText::new(catalog, table);
        let all: Vec<usize>;
        let columns = if selected.columns.is_empty() {
            all = (0..text.n_columns()).collect();
            &all
        } else {
            &selected.columns
        };
        let columns: Vec<usize> = columns
            .iter()
            .copied()
            .filter(|&c| c < text.n_columns())
            .collect();
        if !out.is_empty() {
            out.push_str(render::SEPARATOR);
        }
        text.write(&columns, &mut out);
    }
    out
}

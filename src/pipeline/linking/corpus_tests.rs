//! Linking recall on the shared corpora: does the selection hold every table the gold SQL reads?
//!
//! Each corpus is one merged catalog (every database of the corpus in its own schema, or
//! all in one schema with prefixed names), far larger than the budget, so linking has to
//! choose. `cargo test -- --nocapture` prints recall per corpus and setting, and how often
//! the selected tables also show every column the gold SQL names. With `LINKING_MISSES=1`
//! in the environment it also prints each miss.

use std::time::Instant;

use super::corpus::{self, Corpus, Question, SchemaNames};
use super::{Budget, LinkIndex, Selection, render};
use crate::catalog::Catalog;
use crate::dialect::Dialect;

const BUDGET: Budget = Budget { max_chars: 6_000 };
const REQUIRED_RECALL: f64 = 0.95;

/// Recall of one corpus in one setting.
#[derive(Default)]
struct Report {
    n_questions: usize,
    /// Questions whose gold tables were all selected ...
    hits: usize,
    /// ... and of those, the ones whose gold columns were all shown too.
    column_hits: usize,
    n_tables_selected: usize,
}

impl Report {
    fn recall(&self) -> f64 {
        self.hits as f64 / self.n_questions.max(1) as f64
    }
}

fn measure(label: &str, corpus: &Corpus) -> Report {
    let catalog = &corpus.catalog;
    let index = LinkIndex::new(catalog.clone());
    let everything = index.link(
        "",
        &[],
        Budget {
            max_chars: usize::MAX,
        },
    );
    let print_misses = std::env::var_os("LINKING_MISSES").is_some();
    let started = Instant::now();
    let mut report = Report::default();
    for question in &corpus.questions {
        let selection = index.link(&question.text, &[], BUDGET);
        let len = render(catalog, &selection).chars().count();
        assert!(
            len <= BUDGET.max_chars,
            "{label}: {len} chars for {:?}",
            question.text
        );
        report.n_questions += 1;
        report.n_tables_selected += selection.tables.len();
        let missing_tables = missing_tables(catalog, question, &selection);
        let missing_columns = missing_columns(catalog, question, &selection);
        if missing_tables.is_empty() {
            report.hits += 1;
            report.column_hits += usize::from(missing_columns.is_empty());
        }
        if print_misses && !(missing_tables.is_empty() && missing_columns.is_empty()) {
            let chosen: Vec<String> = selection
                .tables
                .iter()
                .take(8)
                .map(|selected| catalog.tables[selected.table].display_name(catalog.dialect))
                .collect();
            println!(
                "    {:?}\n      missing tables {missing_tables:?}, columns {missing_columns:?}\n      \
                 chose {chosen:?}",
                question.text
            );
        }
    }
    let n = report.n_questions.max(1) as f64;
    println!(
        "{label}: recall {:.1}% ({}/{}) | catalog {} tables, {} chars; budget {} chars; \
         {:.1} tables chosen on average; {:.2} ms per question | gold columns all shown for \
         {:.1}% of the hits",
        100.0 * report.recall(),
        report.hits,
        report.n_questions,
        catalog.tables.len(),
        render(catalog, &everything).chars().count(),
        BUDGET.max_chars,
        report.n_tables_selected as f64 / n,
        started.elapsed().as_secs_f64() * 1000.0 / n,
        100.0 * report.column_hits as f64 / report.hits.max(1) as f64,
    );
    report
}

fn missing_tables(catalog: &Catalog, question: &Question, selection: &Selection) -> Vec<String> {
    question
        .gold
        .iter()
        .filter(|&&t| !selection.tables.iter().any(|s| s.table == t))
        .map(|&t| catalog.tables[t].display_name(catalog.dialect))
        .collect()
}

/// Gold columns of selected tables that the selection leaves out.
fn missing_columns(catalog: &Catalog, question: &Question, selection: &Selection) -> Vec<String> {
    let mut missing = Vec::new();
    for &(t, c) in &question.gold_columns {
        let Some(selected) = selection.tables.iter().find(|s| s.table == t) else {
            continue;
        };
        if !selected.columns.contains(&c) {
            let table = &catalog.tables[t];
            missing.push(format!(
                "{}.{} ({} of {} shown)",
                table.name,
                table.columns[c].name,
                selected.columns.len(),
                table.columns.len()
            ));
        }
    }
    missing
}

fn check(label: &str, corpus: &Corpus) {
    let report = measure(label, corpus);
    assert!(
        report.recall() >= REQUIRED_RECALL,
        "{label}: recall {:.1}% is below {:.0}%",
        100.0 * report.recall(),
        100.0 * REQUIRED_RECALL
    );
}

#[test]
fn spider_dev_tables_are_found_among_all_spider_databases() {
    check("spider dev", &corpus::spider(SchemaNames::Database));
    check(
        "spider dev, anonymous schemas",
        &corpus::spider(SchemaNames::Anonymous),
    );
    check("spider dev, one schema", &corpus::spider(SchemaNames::Flat));
}

#[test]
fn bird_sqlite_tables_are_found_among_all_bird_databases() {
    let bird =
        |naming, described, evidence| corpus::bird(Dialect::Sqlite, naming, described, evidence);
    check(
        "bird sqlite, described, evidence",
        &bird(SchemaNames::Database, true, true),
    );
    check(
        "bird sqlite, names only, evidence",
        &bird(SchemaNames::Database, false, true),
    );
    check(
        "bird sqlite, described, evidence, anonymous schemas",
        &bird(SchemaNames::Anonymous, true, true),
    );
    check(
        "bird sqlite, described, evidence, one schema",
        &bird(SchemaNames::Flat, true, true),
    );
    // Without the evidence (BIRD's hints) some questions name nothing the schema says.
    measure(
        "bird sqlite, described, no evidence (not asserted)",
        &bird(SchemaNames::Database, true, false),
    );
}

#[test]
fn bird_postgres_tables_are_found_among_all_bird_databases() {
    check(
        "bird postgres, described, evidence",
        &corpus::bird(Dialect::Postgres, SchemaNames::Database, true, true),
    );
}

#[test]
fn defog_tables_are_found_among_all_defog_databases() {
    check(
        "defog, instructions",
        &corpus::defog(SchemaNames::Database, true),
    );
    check(
        "defog, instructions, anonymous schemas",
        &corpus::defog(SchemaNames::Anonymous, true),
    );
    check(
        "defog, instructions, one schema",
        &corpus::defog(SchemaNames::Flat, true),
    );
    measure(
        "defog, no instructions (not asserted)",
        &corpus::defog(SchemaNames::Database, false),
    );
}

//! Execution-accuracy evaluation: question and gold-SQL pairs are drafted by the pipeline,
//! both queries run on the warehouse, and result sets are compared order-insensitively.
//!
//! Reads the formats of the shared corpora: defog sql-eval CSV (`question`, `query`,
//! `db_name`) and BIRD JSON (`question`, `evidence`, `SQL`, `db_id`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use crate::guard::{self, Policy, Verdict};
use crate::pipeline::{Ask, Pipeline};
use crate::store::{ConversationKey, Platform, UserId};
use crate::warehouse::{Caps, Collected, Value, Warehouse};

/// One question with the SQL known to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub question: String,
    pub gold_sql: String,
    /// The database the corpus meant, when it names one.
    pub database: Option<String>,
}

/// How one item went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grade {
    Correct,
    WrongResult,
    /// The pipeline produced no draft.
    NoDraft(String),
    /// The generated SQL failed when run.
    GeneratedFailed(String),
    /// The gold SQL itself could not run here; the item does not count.
    GoldFailed(String),
}

#[derive(Debug, Clone)]
pub struct Report {
    pub items: Vec<(Item, Grade)>,
}

impl Report {
    /// Items that count: those whose gold SQL ran.
    pub fn scored(&self) -> usize {
        self.items
            .iter()
            .filter(|(_, v)| !matches!(v, Grade::GoldFailed(_)))
            .count()
    }

    pub fn correct(&self) -> usize {
        self.items
            .iter()
            .filter(|(_, v)| *v == Grade::Correct)
            .count()
    }

    pub fn accuracy(&self) -> f64 {
        match self.scored() {
            0 => 0.0,
            n => self.correct() as f64 / n as f64,
        }
    }
}

/// Reads a question file: `.csv` in defog's format, `.json` in BIRD's.
pub fn load(path: &Path) -> anyhow::Result<Vec<Item>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read questions file {}", path.display()))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        load_bird(&text)
    } else {
        load_defog(&text)
    }
    .with_context(|| {
        format!(
            "{} is not a defog CSV or BIRD JSON question file",
            path.display()
        )
    })
}

#[derive(Deserialize)]
struct DefogRow {
    question: String,
    query: String,
    db_name: Option<String>,
    #[serde(default)]
    instructions: Option<String>,
}

fn load_defog(text: &str) -> anyhow::Result<Vec<Item>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .deserialize::<DefogRow>()
        .enumerate()
        .map(|(i, row)| {
            let row = row?;
            Ok(Item {
                id: format!("{}", i + 1),
                question: with_hint(
                    row.question,
                    row.instructions.as_deref().unwrap_or_default(),
                ),
                // defog lists alternative gold queries separated by `;`; the first is canonical.
                gold_sql: first_statement(&row.query),
                database: row.db_name,
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct BirdRow {
    question_id: Option<u64>,
    question: String,
    #[serde(default)]
    evidence: String,
    #[serde(rename = "SQL")]
    sql: String,
    db_id: Option<String>,
}

fn load_bird(text: &str) -> anyhow::Result<Vec<Item>> {
    let rows: Vec<BirdRow> = serde_json::from_str(text)?;
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| Item {
            id: row
                .question_id
                .map_or_else(|| format!("{}", i + 1), |id| id.to_string()),
            // BIRD's evidence is the hint a user would give alongside the question.
            question: with_hint(row.question, &row.evidence),
            gold_sql: row.sql,
            database: row.db_id,
        })
        .collect())
}

/// A corpus's hint (BIRD evidence, defog instructions) goes with the question, as a user
/// would add it.
fn with_hint(question: String, hint: &str) -> String {
    match hint.trim() {
        "" => question,
        hint => format!("{question} ({hint})"),
    }
}

/// The text up to the first `;` outside quotes.
fn first_statement(sql: &str) -> String {
    let mut quote = None;
    for (i, c) in sql.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ';') => return sql[..i].trim().to_owned(),
            _ => {}
        }
    }
    sql.trim().to_owned()
}

/// Drafts every item with the pipeline and compares generated with gold results.
pub async fn run(pipeline: &Pipeline, connection: &str, items: &[Item]) -> anyhow::Result<Report> {
    let warehouse = pipeline
        .warehouses()
        .get(connection)
        .with_context(|| format!("no connection named `{connection}`"))?
        .clone();
    let known = pipeline
        .usable_catalog(
            warehouse.as_ref(),
            None,
            pipeline.settings().catalog_max_age,
        )
        .await?;
    let policy = &known.policy;
    let caps = Caps::from(&pipeline.settings().limits);
    let mut report = Report { items: Vec::new() };
    for item in items {
        let verdict = judge(
            pipeline,
            warehouse.as_ref(),
            policy,
            &caps,
            connection,
            item,
        )
        .await;
        report.items.push((item.clone(), verdict));
    }
    Ok(report)
}

async fn judge(
    pipeline: &Pipeline,
    warehouse: &dyn Warehouse,
    policy: &Policy,
    caps: &Caps,
    connection: &str,
    item: &Item,
) -> Grade {
    let gold = match execute(warehouse, policy, caps, &item.gold_sql).await {
        Ok(rows) => rows,
        Err(problem) => return Grade::GoldFailed(problem),
    };
    let ask = Ask {
        conversation: ConversationKey {
            platform: Platform::Console,
            workspace: "eval".to_owned(),
            channel: connection.to_owned(),
            thread: uuid::Uuid::new_v4().to_string(),
        },
        author: UserId::new("eval"),
        connection: connection.to_owned(),
        question: item.question.clone(),
        db_role: None,
    };
    let draft = match pipeline.draft(&ask).await {
        Ok(draft) => draft,
        Err(error) => return Grade::NoDraft(crate::bot::error_chain(&error)),
    };
    match execute(warehouse, policy, caps, &draft.sql).await {
        Ok(generated) if same_rows(&generated, &gold) => Grade::Correct,
        Ok(_) => Grade::WrongResult,
        Err(problem) => Grade::GeneratedFailed(problem),
    }
}

async fn execute(
    warehouse: &dyn Warehouse,
    policy: &Policy,
    caps: &Caps,
    sql: &str,
) -> Result<Collected, String> {
    let guarded = match guard::check(sql, policy) {
        Verdict::Allowed(sql) => sql,
        Verdict::Rejected(rejection) => return Err(rejection.reason()),
    };
    let mut rows = Collected::default();
    warehouse
        .execute(&guarded, caps, &mut rows)
        .await
        .map_err(|e| crate::bot::error_chain(&e))?;
    Ok(rows)
}

/// Equal as multisets of rows, comparing numbers by value (3 = 3.0 = 3.00).
pub fn same_rows(a: &Collected, b: &Collected) -> bool {
    fn bag(rows: &Collected) -> BTreeMap<Vec<String>, usize> {
        let mut bag = BTreeMap::new();
        for row in &rows.rows {
            *bag.entry(row.iter().map(normalize).collect()).or_insert(0) += 1;
        }
        bag
    }
    let width = |rows: &Collected| rows.rows.first().map_or(rows.columns.len(), Vec::len);
    width(a) == width(b) && bag(a) == bag(b)
}

fn normalize(value: &Value) -> String {
    match value.as_f64() {
        Some(number) => {
            let rounded = format!("{number:.6}");
            rounded
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        }
        None => value.to_string(),
    }
}

/// The per-question report and the accuracy line.
pub fn render(report: &Report) -> String {
    let mut text = String::new();
    for (item, verdict) in &report.items {
        let (mark, note) = match verdict {
            Grade::Correct => ("ok  ", String::new()),
            Grade::WrongResult => ("FAIL", " — different result".to_owned()),
            Grade::NoDraft(why) => ("FAIL", format!(" — no draft: {why}")),
            Grade::GeneratedFailed(why) => ("FAIL", format!(" — generated SQL failed: {why}")),
            Grade::GoldFailed(why) => ("skip", format!(" — gold SQL failed here: {why}")),
        };
        text.push_str(&format!("{mark} {} {}{note}\n", item.id, item.question));
    }
    text.push_str(&format!(
        "execution accuracy: {}/{} ({:.1}%)\n",
        report.correct(),
        report.scored(),
        report.accuracy() * 100.0
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::{Column, ValueKind};

    fn rows(values: &[&[Value]]) -> Collected {
        Collected {
            columns: vec![
                Column {
                    name: "x".into(),
                    type_name: "int".into(),
                    kind: ValueKind::Int
                };
                values.first().map_or(0, |r| r.len())
            ],
            rows: values.iter().map(|r| r.to_vec()).collect(),
        }
    }

    #[test]
    fn results_compare_as_multisets_of_values() {
        let a = rows(&[
            &[Value::Int(1), Value::Text("a".into())],
            &[Value::Int(2), Value::Text("b".into())],
        ]);
        let reordered = rows(&[
            &[Value::Int(2), Value::Text("b".into())],
            &[Value::Int(1), Value::Text("a".into())],
        ]);
        let floats = rows(&[
            &[Value::Float(1.0), Value::Text("a".into())],
            &[Value::Float(2.0), Value::Text("b".into())],
        ]);
        let duplicated = rows(&[
            &[Value::Int(1), Value::Text("a".into())],
            &[Value::Int(1), Value::Text("a".into())],
        ]);
        assert!(same_rows(&a, &reordered));
        assert!(same_rows(&a, &floats));
        assert!(!same_rows(&a, &duplicated));
        assert!(!same_rows(&a, &rows(&[&[Value::Int(1)], &[Value::Int(2)]])));
    }

    #[test]
    fn the_shared_corpora_load() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata");
        let defog = load(&Path::new(root).join("defog/sql-eval-data/questions_gen_sqlite.csv"))
            .expect("defog CSV loads");
        assert!(defog.len() > 100);
        assert!(
            defog
                .iter()
                .all(|i| !i.question.is_empty() && !i.gold_sql.contains(';'))
        );
        let bird =
            load(&Path::new(root).join("bird_minidev/mini_dev_sqlite.json")).expect("BIRD loads");
        assert_eq!(bird.len(), 500);
        assert!(bird.iter().all(|i| i.database.is_some()));
    }

    #[test]
    fn alternative_gold_queries_keep_the_first() {
        assert_eq!(
            first_statement("SELECT 'a;b' FROM t; SELECT 2"),
            "SELECT 'a;b' FROM t"
        );
        assert_eq!(first_statement("SELECT 1"), "SELECT 1");
    }
}

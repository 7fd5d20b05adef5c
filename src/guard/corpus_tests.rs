//! The guard against shared corpora: attack and benign texts, gold queries of public benchmarks.
//!
//! The corpora live in `shared/testdata` beside the repository (its PROVENANCE.md says where
//! each comes from), and the project adds its own in `corpus/` (same first four columns):
//! every attack found against querybot itself, and every good query it once refused. Gold queries must all be allowed against their own schema, except those
//! listed with a reason in `gold_exceptions.tsv`; a listed query that is now allowed fails
//! the test too, so the list stays true. `cargo test -- --nocapture` prints the pass rates.

use std::collections::{BTreeSet, HashMap};
use std::fs;

use serde_json::Value;

use super::tests::fixture_policy;
use super::*;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata");
const EXCEPTIONS: &str = include_str!("gold_exceptions.tsv");
const ALL_DIALECTS: [Dialect; 3] = [Dialect::Postgres, Dialect::Sqlite, Dialect::Snowflake];

fn read(path: &str) -> String {
    fs::read_to_string(format!("{TESTDATA}/{path}"))
        .unwrap_or_else(|error| panic!("cannot read {TESTDATA}/{path}: {error}"))
}

fn read_json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// A row of attacks.tsv or benign.tsv, its `sql` column decoded.
struct GuardRow {
    id: String,
    dialects: Vec<Dialect>,
    category: String,
    sql: String,
}

/// The shared corpus `file` followed by the project's own rows of the same kind.
fn guard_rows(file: &str) -> Vec<GuardRow> {
    let own = match file {
        "attacks.tsv" => include_str!("corpus/attacks.tsv"),
        _ => include_str!("corpus/benign.tsv"),
    };
    let mut rows = parse_rows(&read(&format!("guard/{file}")));
    rows.extend(parse_rows(own));
    rows
}

fn parse_rows(text: &str) -> Vec<GuardRow> {
    text.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            let dialects = match columns[1] {
                "any" => ALL_DIALECTS.to_vec(),
                name => vec![name.parse().expect("a dialect name")],
            };
            GuardRow {
                id: columns[0].to_owned(),
                dialects,
                category: columns[2].to_owned(),
                sql: decode(columns[3]),
            }
        })
        .collect()
}

/// Undoes the README's escaping: `\\`, `\n`, `\t`, `\r`, `\uXXXX`.
fn decode(escaped: &str) -> String {
    let mut decoded = String::new();
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            decoded.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => decoded.push('\n'),
            Some('t') => decoded.push('\t'),
            Some('r') => decoded.push('\r'),
            Some('\\') => decoded.push('\\'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16).expect("four hex digits after \\u");
                decoded.push(char::from_u32(code).expect("a unicode scalar value"));
            }
            other => panic!("unknown escape \\{other:?} in {escaped}"),
        }
    }
    decoded
}

fn verdict_line(sql: &str, verdict: &Verdict) -> String {
    match verdict {
        Verdict::Allowed(guarded) => format!("allowed as `{guarded}`"),
        Verdict::Rejected(rejection) => format!("{rejection} ({}) for `{sql}`", rejection.reason()),
    }
}

#[test]
fn every_attack_is_rejected() {
    let mut failures = Vec::new();
    let (mut n_checked, mut n_resource, mut n_resource_allowed) = (0, 0, 0);
    for row in guard_rows("attacks.tsv") {
        for &dialect in &row.dialects {
            let verdict = check(&row.sql, &fixture_policy(dialect));
            // Resource exhaustion is valid SQL; the executor's timeout and caps stop it.
            if row.category == "resource" {
                n_resource += 1;
                n_resource_allowed += usize::from(matches!(verdict, Verdict::Allowed(_)));
                continue;
            }
            n_checked += 1;
            if matches!(verdict, Verdict::Allowed(_)) {
                failures.push(format!(
                    "{} ({dialect}): {}",
                    row.id,
                    verdict_line(&row.sql, &verdict)
                ));
            }
        }
    }
    println!(
        "attacks: {n_checked} (row, dialect) pairs checked, {} allowed; \
         resource rows (left to the executor): {n_resource_allowed}/{n_resource} allowed",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "attacks allowed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_benign_query_is_allowed() {
    let mut failures = Vec::new();
    let mut n_checked = 0;
    for row in guard_rows("benign.tsv") {
        for &dialect in &row.dialects {
            n_checked += 1;
            let verdict = check(&row.sql, &fixture_policy(dialect));
            if let Verdict::Rejected(_) = verdict {
                failures.push(format!(
                    "{} ({dialect}): {}",
                    row.id,
                    verdict_line(&row.sql, &verdict)
                ));
            }
        }
    }
    println!(
        "benign: {n_checked} (row, dialect) pairs checked, {} rejected",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "benign queries rejected:\n{}",
        failures.join("\n")
    );
}

/// One gold query: where it comes from and the database it was written for.
struct Gold {
    id: String,
    db: String,
    sql: String,
}

/// Checks a corpus against per-database policies and the exception list, printing the rate.
fn check_corpus(
    corpus: &str,
    dialect: Dialect,
    golds: &[Gold],
    policies: &HashMap<String, Policy>,
) {
    let exceptions: HashMap<&str, &str> = EXCEPTIONS
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let mut columns = line.splitn(3, '\t');
            let listed_corpus = columns.next()?;
            let id = columns.next()?;
            (listed_corpus == corpus).then_some((id, columns.next().unwrap_or("")))
        })
        .collect();
    let mut failures = Vec::new();
    let mut seen = BTreeSet::new();
    let mut n_allowed = 0;
    for gold in golds {
        seen.insert(gold.id.as_str());
        let policy = policies
            .get(&gold.db)
            .unwrap_or_else(|| panic!("{corpus} {}: no schema for {}", gold.id, gold.db));
        let verdict = check(&gold.sql, policy);
        let listed = exceptions.contains_key(gold.id.as_str());
        match (&verdict, listed) {
            (Verdict::Allowed(_), false) => n_allowed += 1,
            (Verdict::Rejected(_), true) => {}
            (Verdict::Allowed(_), true) => {
                n_allowed += 1;
                failures.push(format!(
                    "{corpus}\t{}\tlisted as an exception but now allowed",
                    gold.id
                ));
            }
            (Verdict::Rejected(_), false) => failures.push(format!(
                "{corpus}\t{}\t{} [{}]",
                gold.id,
                verdict_line(&gold.sql, &verdict),
                gold.db
            )),
        }
    }
    for id in exceptions.keys().filter(|id| !seen.contains(*id)) {
        failures.push(format!(
            "{corpus}\t{id}\tlisted as an exception but not in the corpus"
        ));
    }
    let rate = 100.0 * f64::from(n_allowed) / golds.len().max(1) as f64;
    println!(
        "{corpus} ({dialect}): {n_allowed}/{} allowed ({rate:.1}%), {} listed exceptions",
        golds.len(),
        exceptions.len()
    );
    assert!(
        failures.is_empty(),
        "{} gold failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn policy(dialect: Dialect, tables: impl IntoIterator<Item = (String, String)>) -> Policy {
    Policy {
        dialect,
        tables: TableAllowList::new(dialect, tables),
    }
}

fn str_field<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string field {key} in {value}"))
}

/// Policies from a Spider-style tables.json: `db_id` and `table_names_original`.
fn spider_policies(path: &str, dialect: Dialect) -> HashMap<String, Policy> {
    let schema = dialect.default_schema();
    read_json(path)
        .as_array()
        .expect("an array of databases")
        .iter()
        .map(|db| {
            let tables = db["table_names_original"]
                .as_array()
                .expect("table_names_original")
                .iter()
                .map(|name| {
                    (
                        schema.to_owned(),
                        name.as_str().unwrap_or_default().to_owned(),
                    )
                });
            (str_field(db, "db_id").to_owned(), policy(dialect, tables))
        })
        .collect()
}

fn bird(corpus: &str, file: &str, dialect: Dialect) {
    let policies = spider_policies("bird_minidev/dev_tables.json", dialect);
    let golds: Vec<Gold> = read_json(&format!("bird_minidev/{file}"))
        .as_array()
        .expect("an array of questions")
        .iter()
        .map(|question| Gold {
            id: question["question_id"].to_string(),
            db: str_field(question, "db_id").to_owned(),
            sql: str_field(question, "SQL").to_owned(),
        })
        .collect();
    check_corpus(corpus, dialect, &golds, &policies);
}

#[test]
fn bird_postgres_gold_queries_are_allowed() {
    bird(
        "bird-postgres",
        "mini_dev_postgresql.json",
        Dialect::Postgres,
    );
}

#[test]
fn bird_sqlite_gold_queries_are_allowed() {
    bird("bird-sqlite", "mini_dev_sqlite.json", Dialect::Sqlite);
}

#[test]
fn spider_gold_queries_are_allowed() {
    let policies = spider_policies("spider/tables.json", Dialect::Sqlite);
    let golds: Vec<Gold> = read_json("spider/dev.json")
        .as_array()
        .expect("an array of questions")
        .iter()
        .enumerate()
        .map(|(index, question)| Gold {
            id: index.to_string(),
            db: str_field(question, "db_id").to_owned(),
            sql: str_field(question, "query").to_owned(),
        })
        .collect();
    check_corpus("spider", Dialect::Sqlite, &golds, &policies);
}

/// Policies from defog-data: `table_metadata` keys are `table` or `schema.table`. SQLite has
/// no schemas, and sql-eval's SQLite databases hold `consumer_div.users` as `main.users`.
fn defog_policies(dialect: Dialect) -> HashMap<String, Policy> {
    let mut policies = HashMap::new();
    for entry in fs::read_dir(format!("{TESTDATA}/defog/defog-data")).expect("defog-data") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|extension| extension != "json") {
            continue;
        }
        let db = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .expect("a file name");
        let metadata = read_json(&format!("defog/defog-data/{db}.json"));
        let tables = metadata["table_metadata"]
            .as_object()
            .expect("table_metadata")
            .keys()
            .map(|key| match key.split_once('.') {
                Some((schema, name)) if dialect != Dialect::Sqlite => {
                    (schema.to_owned(), name.to_owned())
                }
                Some((_, name)) => (dialect.default_schema().to_owned(), name.to_owned()),
                None => (dialect.default_schema().to_owned(), key.clone()),
            });
        policies.insert(db.to_owned(), policy(dialect, tables));
    }
    policies
}

/// sql-eval's `query` column holds alternatives separated by `;`, and `{a, b}` column groups
/// (any subset is accepted; `{}` repeats the group). One alternative per text, all columns.
fn defog_alternatives(query: &str) -> Vec<String> {
    let mut alternatives = Vec::new();
    let mut current = String::new();
    let mut group = String::new();
    let mut quote = None;
    let mut chars = query.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(open), c) if c == open => {
                quote = None;
                current.push(c);
            }
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                current.push(c);
            }
            (None, ';') => alternatives.push(std::mem::take(&mut current)),
            (None, '{') => {
                let inner: String = chars.by_ref().take_while(|&c| c != '}').collect();
                if !inner.trim().is_empty() {
                    group = inner;
                }
                current.push_str(&group);
            }
            (None, c) => current.push(c),
        }
    }
    alternatives.push(current);
    alternatives.retain(|sql| !sql.trim().is_empty());
    alternatives
}

/// A minimal RFC 4180 reader: quoted fields may hold commas, quotes and newlines.
fn csv_records(text: &str) -> Vec<HashMap<String, String>> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    let header = rows.remove(0);
    rows.into_iter()
        .map(|row| header.iter().cloned().zip(row).collect())
        .collect()
}

fn defog(corpus: &str, files: &[&str], dialect: Dialect) {
    let policies = defog_policies(dialect);
    let mut golds = Vec::new();
    for file in files {
        let records = csv_records(&read(&format!("defog/sql-eval-data/{file}.csv")));
        for (row, record) in records.iter().enumerate() {
            let alternatives = defog_alternatives(&record["query"]);
            let n_alternatives = alternatives.len();
            for (index, sql) in alternatives.into_iter().enumerate() {
                let id = match n_alternatives {
                    1 => format!("{file}:{}", row + 1),
                    _ => format!("{file}:{}#{}", row + 1, index + 1),
                };
                golds.push(Gold {
                    id,
                    db: record["db_name"].clone(),
                    sql,
                });
            }
        }
    }
    check_corpus(corpus, dialect, &golds, &policies);
}

#[test]
fn defog_postgres_gold_queries_are_allowed() {
    let files = [
        "instruct_basic_postgres",
        "instruct_advanced_postgres",
        "questions_gen_postgres",
        "idk",
    ];
    defog("defog-postgres", &files, Dialect::Postgres);
}

#[test]
fn defog_sqlite_gold_queries_are_allowed() {
    let files = [
        "instruct_basic_sqlite",
        "instruct_advanced_sqlite",
        "questions_gen_sqlite",
    ];
    defog("defog-sqlite", &files, Dialect::Sqlite);
}

#[test]
fn defog_snowflake_gold_queries_are_allowed() {
    defog(
        "defog-snowflake",
        &["questions_gen_snowflake"],
        Dialect::Snowflake,
    );
}

#[test]
fn csv_and_alternatives_are_read_like_sql_eval() {
    let records = csv_records("a,b\n\"x, \"\"y\"\"\nz\",2\n");
    assert_eq!(records[0]["a"], "x, \"y\"\nz");
    assert_eq!(
        defog_alternatives("SELECT {a.x, a.y} FROM a GROUP BY {};SELECT ';' FROM b;"),
        [
            "SELECT a.x, a.y FROM a GROUP BY a.x, a.y",
            "SELECT ';' FROM b"
        ]
    );
    assert_eq!(decode(r"a\\n\n\u200b"), "a\\n\n\u{200b}");
}

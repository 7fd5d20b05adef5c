//! Micro benchmarks of querybot's CPU-bound steps, through the crate's public API.
//!
//! `cargo bench --bench micro` runs them all; `cargo bench --bench micro -- linking` runs one
//! group. BENCHMARKS.md says what each measures, the goal it serves and the figures measured.
//! Inputs (corpora, catalogs, rows) are read or generated before timing starts, never inside
//! the timed loop. The shared corpora and the Chinook database are read from
//! `../shared/testdata`, beside the repository, as the unit tests read them.

use querybot::present::csv::CsvFile;
use querybot::warehouse::{Column, Value};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};

fn main() {
    divan::main();
}

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{TESTDATA}/{path}"))
        .unwrap_or_else(|error| panic!("cannot read {TESTDATA}/{path}: {error}"))
}

fn read_json(path: &str) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// A file or folder an iteration wrote, removed when divan drops the iteration's output, after
/// the sample is timed. Every iteration writes new files, as every run does: rewriting one
/// file over and over would time the file system's handling of truncation instead.
struct Written(PathBuf);

impl Written {
    /// A new path in `dir` for the `n`th iteration.
    fn path(dir: &Path, name: &str, n: &mut u64) -> PathBuf {
        *n += 1;
        dir.join(format!("{name}-{n}"))
    }

    /// `rows` under `columns` written by `CsvFile` to a new file in `dir`, as a run writes them.
    fn csv(dir: &Path, n: &mut u64, columns: &[Column], rows: &[Vec<Value>]) -> Written {
        let path = Written::path(dir, "result.csv", n);
        let mut file = CsvFile::create(&path).expect("the CSV file is created");
        file.write_header(columns).expect("the header");
        for row in rows {
            file.write_row(row).expect("a row");
        }
        Written(file.finish().expect("the CSV file is flushed"))
    }
}

impl Drop for Written {
    fn drop(&mut self) {
        // Leftovers are removed with the temporary directory anyway.
        let _ = if self.0.is_dir() {
            std::fs::remove_dir_all(&self.0)
        } else {
            std::fs::remove_file(&self.0)
        };
    }
}

mod guard {
    //! Statements per second through `guard::check`, the check every drafted and every run
    //! query passes, on the shared gold corpora (Spider dev, BIRD mini-dev, defog sql-eval:
    //! real analysts' queries, each against its own database's tables) and on the attack and
    //! benign corpora (the shared ones and the project's own, against the fixture tables).
    //! One iteration checks a whole corpus; the counter is its statements. Goal: throughput,
    //! no hard target; the guard runs once per draft attempt and once per run.

    use std::collections::HashMap;

    use querybot::dialect::Dialect;
    use querybot::guard::{self, Policy, TableAllowList};

    use super::{Bencher, ItemsCount, TESTDATA, read, read_json};

    const CORPORA: &[&str] = &[
        "spider",
        "bird-postgres",
        "bird-sqlite",
        "defog-postgres",
        "defog-sqlite",
        "defog-snowflake",
        "attacks+benign",
    ];

    #[divan::bench(args = CORPORA)]
    fn check(bencher: Bencher, corpus: &str) {
        let corpus = Corpus::load(corpus);
        bencher
            .counter(ItemsCount::new(corpus.statements.len()))
            .bench_local(|| {
                for (sql, policy) in &corpus.statements {
                    divan::black_box(guard::check(sql, &corpus.policies[*policy]));
                }
            });
    }

    /// Statements, each with the index of the policy it is checked against.
    struct Corpus {
        policies: Vec<Policy>,
        statements: Vec<(String, usize)>,
    }

    /// Policies by database name, as the unit tests build them.
    #[derive(Default)]
    struct Policies {
        by_name: HashMap<String, usize>,
        policies: Vec<Policy>,
    }

    impl Policies {
        fn add(&mut self, db: &str, dialect: Dialect, tables: Vec<(String, String)>) {
            self.by_name.insert(db.to_owned(), self.policies.len());
            self.policies.push(Policy {
                dialect,
                tables: TableAllowList::new(dialect, tables),
            });
        }

        fn of(&self, db: &str) -> usize {
            *self
                .by_name
                .get(db)
                .unwrap_or_else(|| panic!("no schema for database {db}"))
        }
    }

    impl Corpus {
        fn load(name: &str) -> Corpus {
            match name {
                "spider" => spider_like(
                    "spider/tables.json",
                    "spider/dev.json",
                    "query",
                    Dialect::Sqlite,
                ),
                "bird-postgres" => spider_like(
                    "bird_minidev/dev_tables.json",
                    "bird_minidev/mini_dev_postgresql.json",
                    "SQL",
                    Dialect::Postgres,
                ),
                "bird-sqlite" => spider_like(
                    "bird_minidev/dev_tables.json",
                    "bird_minidev/mini_dev_sqlite.json",
                    "SQL",
                    Dialect::Sqlite,
                ),
                "defog-postgres" => defog(
                    &[
                        "instruct_basic_postgres",
                        "instruct_advanced_postgres",
                        "questions_gen_postgres",
                        "idk",
                    ],
                    Dialect::Postgres,
                ),
                "defog-sqlite" => defog(
                    &[
                        "instruct_basic_sqlite",
                        "instruct_advanced_sqlite",
                        "questions_gen_sqlite",
                    ],
                    Dialect::Sqlite,
                ),
                "defog-snowflake" => defog(&["questions_gen_snowflake"], Dialect::Snowflake),
                "attacks+benign" => attacks_and_benign(),
                other => panic!("unknown corpus {other}"),
            }
        }
    }

    fn str_field<'a>(value: &'a serde_json::Value, key: &str) -> &'a str {
        value[key]
            .as_str()
            .unwrap_or_else(|| panic!("no string field {key} in {value}"))
    }

    /// Policies from a Spider-style tables.json: `db_id` and `table_names_original`.
    fn spider_policies(path: &str, dialect: Dialect) -> Policies {
        let mut policies = Policies::default();
        let schema = dialect.default_schema();
        for db in read_json(path).as_array().expect("an array of databases") {
            let tables = db["table_names_original"]
                .as_array()
                .expect("table_names_original")
                .iter()
                .map(|name| {
                    let name = name.as_str().expect("a table name");
                    (schema.to_owned(), name.to_owned())
                })
                .collect();
            policies.add(str_field(db, "db_id"), dialect, tables);
        }
        policies
    }

    /// Spider-style questions (`db_id` and the SQL under `sql_field`) against the policies of
    /// their databases' tables.
    fn spider_like(tables: &str, questions: &str, sql_field: &str, dialect: Dialect) -> Corpus {
        let policies = spider_policies(tables, dialect);
        let statements = read_json(questions)
            .as_array()
            .expect("an array of questions")
            .iter()
            .map(|q| {
                let policy = policies.of(str_field(q, "db_id"));
                (str_field(q, sql_field).to_owned(), policy)
            })
            .collect();
        Corpus {
            policies: policies.policies,
            statements,
        }
    }

    /// Policies from defog-data: `table_metadata` keys are `table` or `schema.table`; SQLite
    /// has no schemas, so `schema.table` is `main.table` there.
    fn defog_policies(dialect: Dialect) -> Policies {
        let mut policies = Policies::default();
        let dir = format!("{TESTDATA}/defog/defog-data");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|error| panic!("cannot list {dir}: {error}"))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|extension| extension == "json")
            })
            .collect();
        paths.sort();
        for path in paths {
            let db = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .expect("a file name");
            let metadata = read_json(&format!("defog/defog-data/{db}.json"));
            let default_schema = dialect.default_schema().to_owned();
            let tables = metadata["table_metadata"]
                .as_object()
                .expect("table_metadata")
                .keys()
                .map(|key| match key.split_once('.') {
                    Some((schema, name)) if dialect != Dialect::Sqlite => {
                        (schema.to_owned(), name.to_owned())
                    }
                    Some((_, name)) => (default_schema.clone(), name.to_owned()),
                    None => (default_schema.clone(), key.clone()),
                })
                .collect();
            policies.add(db, dialect, tables);
        }
        policies
    }

    /// sql-eval's `query` column: alternatives separated by `;`, and `{a, b}` column groups
    /// (`{}` repeats the group). One text per alternative, with all the group's columns.
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

    fn defog(files: &[&str], dialect: Dialect) -> Corpus {
        let policies = defog_policies(dialect);
        let mut statements = Vec::new();
        for file in files {
            let path = format!("{TESTDATA}/defog/sql-eval-data/{file}.csv");
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .from_path(&path)
                .unwrap_or_else(|error| panic!("cannot read {path}: {error}"));
            let headers = reader.headers().expect("a header row").clone();
            let column = |name: &str| {
                headers
                    .iter()
                    .position(|header| header == name)
                    .unwrap_or_else(|| panic!("{path}: no column {name}"))
            };
            let (query, db_name) = (column("query"), column("db_name"));
            for record in reader.records() {
                let record = record.unwrap_or_else(|error| panic!("{path}: {error}"));
                let policy = policies.of(&record[db_name]);
                for sql in defog_alternatives(&record[query]) {
                    statements.push((sql, policy));
                }
            }
        }
        Corpus {
            policies: policies.policies,
            statements,
        }
    }

    /// The tables of `guard/fixture.sql` the attack and benign rows are checked against.
    const FIXTURE_TABLES: &[&str] = &["customers", "orders", "events", "daily_revenue", "v_orders"];
    const ALL_DIALECTS: [Dialect; 3] = [Dialect::Postgres, Dialect::Sqlite, Dialect::Snowflake];

    /// Every (row, dialect) pair of the shared and the project's own attack and benign rows.
    fn attacks_and_benign() -> Corpus {
        let policies = ALL_DIALECTS
            .iter()
            .map(|&dialect| {
                let schema = dialect.default_schema();
                Policy {
                    dialect,
                    tables: TableAllowList::new(
                        dialect,
                        FIXTURE_TABLES.iter().map(|name| (schema, *name)),
                    ),
                }
            })
            .collect();
        let texts = [
            read("guard/attacks.tsv"),
            read("guard/benign.tsv"),
            include_str!("../src/guard/corpus/attacks.tsv").to_owned(),
            include_str!("../src/guard/corpus/benign.tsv").to_owned(),
        ];
        let mut statements = Vec::new();
        for text in &texts {
            for line in text.lines().skip(1).filter(|line| !line.trim().is_empty()) {
                let columns: Vec<&str> = line.split('\t').collect();
                let sql = decode(columns[3]);
                let dialects = match columns[1] {
                    "any" => ALL_DIALECTS.to_vec(),
                    name => vec![name.parse().expect("a dialect name")],
                };
                for dialect in dialects {
                    let policy = ALL_DIALECTS
                        .iter()
                        .position(|&d| d == dialect)
                        .expect("a known dialect");
                    statements.push((sql.clone(), policy));
                }
            }
        }
        Corpus {
            policies,
            statements,
        }
    }

    /// Undoes the corpus README's escaping: `\\`, `\n`, `\t`, `\r`, `\uXXXX`.
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
}

mod linking {
    //! Schema linking, the step that picks the tables a question needs, on a synthetic
    //! warehouse of 2,001 tables (40 schemas of 50 tables with foreign keys, 8 to 42 columns
    //! each, plus one planted answer; the generator of the linking unit tests) and on the
    //! Chinook sample database as introspected from its SQLite file.
    //! - `index`: building the `LinkIndex` (words, foreign-key graph, names): what the first
    //!   question on a catalog costs. Goal: ≤ 500 ms on 2,000 tables.
    //! - `question`: `LinkIndex::link` + `render` of one question with the index built. Goal:
    //!   ≤ 20 ms per question on 2,000 tables.
    //! - `question_without_index`: `linking::link` (which builds an index per call) + `render`:
    //!   what every question cost before the pipeline kept the index per catalog version.
    //! - `cached_catalog`: decoding the catalog JSON the store caches, once per catalog version.
    //! - `draft_own_time`: all of `Pipeline::draft`'s own CPU work for a question on a catalog
    //!   already known (its policy and index kept), besides the store, the LLM and the
    //!   warehouse's EXPLAIN: link and render, pick examples, assemble the prompt, extract the
    //!   SQL from a canned reply and guard it. Goal: ≤ 6 ms on Chinook, ≤ 20 ms on 2,000 tables.
    //! - `first_question_own_time`: the same for the first question after a catalog (re)read:
    //!   decoding it, building its policy and index, then the above. Goal: ≤ 500 ms on 2,000
    //!   tables.
    //!
    //! The budget is the pipeline's schema budget, 12,000 characters.

    use chrono::NaiveDate;
    use querybot::catalog::{Catalog, Column, ForeignKey, Table, TableKind};
    use querybot::config::{ConnectionConfig, SecretUrl, WarehouseKind};
    use querybot::dialect::Dialect;
    use querybot::guard::{self, Policy, Verdict};
    use querybot::llm;
    use querybot::pipeline::examples::{self, Example};
    use querybot::pipeline::linking::{self, Budget, LinkIndex};
    use querybot::pipeline::prompt;
    use querybot::warehouse::{Sqlite, Warehouse};

    use super::{Bencher, LazyLock, TESTDATA};

    /// `SCHEMA_BUDGET` in `pipeline/draft.rs`.
    const BUDGET: Budget = Budget { max_chars: 12_000 };
    const CATALOGS: &[&str] = &["synthetic_2000", "chinook"];

    static SYNTHETIC: LazyLock<Catalog> = LazyLock::new(|| synthetic(40, 50));
    static CHINOOK: LazyLock<Catalog> = LazyLock::new(chinook);

    /// A catalog, a question on it, and the SQL a model would answer with.
    struct Case {
        catalog: &'static Catalog,
        question: &'static str,
        reply: &'static str,
    }

    fn case(name: &str) -> Case {
        match name {
            "synthetic_2000" => Case {
                catalog: &SYNTHETIC,
                question: "How many chargeback disputes were opened as fraudulent last quarter?",
                reply: "```sql\nSELECT COUNT(*) AS disputes\nFROM refund_07.chargeback_disputes\n\
                        WHERE reason = 'fraudulent'\n  AND opened_at >= DATE '2026-07-01'\n  \
                        AND opened_at < DATE '2026-10-01'\n```\nFraudulent chargeback \
                        disputes opened last quarter.",
            },
            "chinook" => Case {
                catalog: &CHINOOK,
                question: "Which 10 artists have the most tracks in the Rock genre?",
                reply: "```sql\nSELECT ar.Name AS artist, COUNT(*) AS tracks\nFROM Artist ar\n\
                        JOIN Album al ON al.ArtistId = ar.ArtistId\n\
                        JOIN Track t ON t.AlbumId = al.AlbumId\n\
                        JOIN Genre g ON g.GenreId = t.GenreId\nWHERE g.Name = 'Rock'\n\
                        GROUP BY ar.Name\nORDER BY tracks DESC\nLIMIT 10\n```\nThe ten \
                        artists with the most rock tracks.",
            },
            other => panic!("unknown catalog {other}"),
        }
    }

    #[divan::bench(args = CATALOGS)]
    fn index(bencher: Bencher, catalog: &str) {
        let catalog = case(catalog).catalog;
        bencher
            .with_inputs(|| catalog.clone())
            .bench_local_values(LinkIndex::new);
    }

    #[divan::bench(args = CATALOGS)]
    fn question(bencher: Bencher, catalog: &str) {
        let case = case(catalog);
        let index = LinkIndex::new(case.catalog.clone());
        bencher.bench_local(|| {
            let selection = index.link(case.question, &[], BUDGET);
            linking::render(case.catalog, &selection)
        });
    }

    #[divan::bench(args = CATALOGS)]
    fn question_without_index(bencher: Bencher, catalog: &str) {
        let case = case(catalog);
        bencher.bench_local(|| {
            let selection = linking::link(case.catalog, case.question, &[], BUDGET);
            linking::render(case.catalog, &selection)
        });
    }

    #[divan::bench(args = CATALOGS)]
    fn cached_catalog(bencher: Bencher, catalog: &str) {
        let json = serde_json::to_string(case(catalog).catalog).expect("a catalog as JSON");
        bencher.bench_local(|| {
            serde_json::from_str::<Catalog>(&json).expect("the cached catalog decodes")
        });
    }

    #[divan::bench(args = CATALOGS)]
    fn draft_own_time(bencher: Bencher, catalog: &str) {
        let case = case(catalog);
        let examples = verified_examples();
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).expect("a date");
        let policy = Policy::from_catalog(case.catalog);
        let index = LinkIndex::new(case.catalog.clone());
        accepted(&case, &policy);
        bencher.bench_local(|| draft_work(&case, &index, &policy, &examples, today));
    }

    #[divan::bench(args = CATALOGS)]
    fn first_question_own_time(bencher: Bencher, catalog: &str) {
        let case = case(catalog);
        let json = serde_json::to_string(case.catalog).expect("a catalog as JSON");
        let examples = verified_examples();
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).expect("a date");
        accepted(&case, &Policy::from_catalog(case.catalog));
        bencher.bench_local(|| {
            let catalog: Catalog = serde_json::from_str(&json).expect("the cached catalog decodes");
            let policy = Policy::from_catalog(&catalog);
            let index = LinkIndex::new(catalog);
            draft_work(&case, &index, &policy, &examples, today)
        });
    }

    /// The bench measures the path of an accepted answer.
    fn accepted(case: &Case, policy: &Policy) {
        let sql = llm::extract_sql(case.reply)
            .expect("the reply holds SQL")
            .sql;
        let verdict = guard::check(&sql, policy);
        assert!(matches!(verdict, Verdict::Allowed(_)), "{verdict:?}");
    }

    /// A question's own work once the catalog's policy and index are at hand.
    fn draft_work(
        case: &Case,
        index: &LinkIndex,
        policy: &Policy,
        examples: &[Example],
        today: NaiveDate,
    ) -> (llm::Completion, Verdict) {
        let catalog = index.catalog();
        let selection = index.link(case.question, &[], BUDGET);
        let schema = linking::render(catalog, &selection);
        let chosen = examples::most_similar(examples, case.question, 3);
        let completion = prompt::drafting(&prompt::Inputs {
            dialect: catalog.dialect,
            today,
            schema: &schema,
            examples: &chosen,
            history: &[],
            question: case.question,
        });
        let extracted = llm::extract_sql(case.reply).expect("the reply holds SQL");
        let verdict = guard::check(&extracted.sql, policy);
        (completion, verdict)
    }

    /// A team's handful of verified pairs, for example selection.
    fn verified_examples() -> Vec<Example> {
        [
            (
                "How many customers do we have?",
                "SELECT COUNT(*) FROM Customer",
            ),
            (
                "Top 5 countries by invoice total",
                "SELECT BillingCountry, SUM(Total) AS total FROM Invoice \
                 GROUP BY BillingCountry ORDER BY total DESC LIMIT 5",
            ),
            (
                "Which genres have the most tracks?",
                "SELECT g.Name, COUNT(*) AS tracks FROM Track t JOIN Genre g \
                 ON g.GenreId = t.GenreId GROUP BY g.Name ORDER BY tracks DESC",
            ),
            (
                "Monthly revenue in 2013",
                "SELECT strftime('%Y-%m', InvoiceDate) AS month, SUM(Total) FROM Invoice \
                 WHERE InvoiceDate >= '2013-01-01' AND InvoiceDate < '2014-01-01' \
                 GROUP BY month ORDER BY month",
            ),
            (
                "Albums by AC/DC",
                "SELECT al.Title FROM Album al JOIN Artist ar ON ar.ArtistId = al.ArtistId \
                 WHERE ar.Name = 'AC/DC'",
            ),
        ]
        .into_iter()
        .map(|(question, sql)| Example {
            question: question.to_owned(),
            sql: sql.to_owned(),
        })
        .collect()
    }

    /// The Chinook catalog as querybot introspects it from the SQLite sample database.
    fn chinook() -> Catalog {
        let path = format!("{TESTDATA}/sample_dbs/Chinook_Sqlite.sqlite");
        let connection = ConnectionConfig {
            name: "chinook".to_owned(),
            url: SecretUrl::new(format!("sqlite://{path}")),
            kind: WarehouseKind::Sqlite,
            examples: None,
            snowflake: None,
            access: Default::default(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(async {
            let warehouse = Sqlite::connect(&connection).expect("the Chinook file opens");
            let catalog = warehouse.introspect().await.expect("Chinook introspects");
            warehouse.close().await;
            catalog
        })
    }

    fn column(name: &str, data_type: &str) -> Column {
        Column {
            name: name.to_owned(),
            data_type: data_type.to_owned(),
            nullable: true,
            comment: None,
            samples: Vec::new(),
        }
    }

    fn table(schema: &str, name: &str, columns: Vec<Column>, key: &str) -> Table {
        Table {
            schema: schema.to_owned(),
            name: name.to_owned(),
            kind: TableKind::Table,
            comment: None,
            row_estimate: None,
            columns,
            primary_key: vec![key.to_owned()],
            foreign_keys: Vec::new(),
            caveat: None,
        }
    }

    /// A warehouse of `n_schemas` x `per_schema` tables with made-up but plausible names, 8
    /// to 42 columns each and foreign keys inside each schema, and one planted answer: the
    /// same catalog as `synthetic` in the linking unit tests.
    fn synthetic(n_schemas: usize, per_schema: usize) -> Catalog {
        #[rustfmt::skip]
        const NOUNS: &[&str] = &[
            "account", "invoice", "payment", "shipment", "product", "supplier", "employee",
            "ticket", "session", "device", "contract", "subscription", "campaign", "lead",
            "opportunity", "warehouse", "vehicle", "route", "claim", "policy", "patient", "visit",
            "course", "lesson", "asset", "license", "vendor", "budget", "forecast", "survey",
            "review", "coupon", "refund", "dispute", "transfer", "loan", "branch", "store",
            "region", "team",
        ];
        #[rustfmt::skip]
        const SUFFIXES: &[&str] = &[
            "", "_history", "_daily", "_snapshot", "_events", "_lines", "_status", "_audit",
        ];
        #[rustfmt::skip]
        const MEASURES: &[&str] = &[
            "amount", "count", "score", "duration", "weight", "rate", "level", "total",
        ];
        let mut tables: Vec<Table> = Vec::new();
        for s in 0..n_schemas {
            let schema = format!("{}_{s:02}", NOUNS[s % NOUNS.len()]);
            for i in 0..per_schema {
                let noun = NOUNS[(s * 7 + i * 3) % NOUNS.len()];
                let other = NOUNS[(s + i * 5 + 1) % NOUNS.len()];
                let suffix = SUFFIXES[i % SUFFIXES.len()];
                let name = format!("{noun}_{other}{suffix}_{i:02}");
                let mut columns = vec![
                    column(&format!("{noun}_id"), "integer"),
                    column(&format!("{other}_id"), "integer"),
                ];
                for c in 0..(5 + (s * 13 + i * 7) % 35) {
                    let measure = MEASURES[c % MEASURES.len()];
                    let name = format!("{}_{measure}_{c}", NOUNS[(i + c) % NOUNS.len()]);
                    columns.push(column(&name, "numeric"));
                }
                let mut status = column("status", "text");
                status.samples = ["open", "closed", "pending"].map(str::to_owned).to_vec();
                columns.push(status);
                let mut table = table(&schema, &name, columns, &format!("{noun}_id"));
                if let Some(previous) = tables.last().filter(|_| i > 0) {
                    table.foreign_keys.push(ForeignKey {
                        columns: vec![format!("{other}_id")],
                        references_schema: schema.clone(),
                        references_table: previous.name.clone(),
                        references_columns: previous.primary_key.clone(),
                    });
                }
                tables.push(table);
            }
        }
        let mut reason = column("reason", "text");
        reason.samples = ["fraudulent", "duplicate", "not_received"]
            .map(str::to_owned)
            .to_vec();
        let columns = vec![
            column("dispute_id", "integer"),
            column("merchant_id", "integer"),
            reason,
            column("opened_at", "date"),
        ];
        tables.push(table(
            "refund_07",
            "chargeback_disputes",
            columns,
            "dispute_id",
        ));
        Catalog {
            dialect: Dialect::Snowflake,
            tables,
        }
    }
}

mod presenter {
    //! A finished run's presentation from 1,000 rows (a timestamp, a text and two numeric
    //! columns: daily revenue and orders by region, which gets a line chart), as
    //! `Pipeline::run` makes it: a new output folder, rows streamed into a
    //! `present::Presenter` (CSV written into the folder as they arrive, 20 preview rows
    //! kept), `finish` (chart chosen and drawn as a PNG), the PNG written beside the CSV, and
    //! the preview as a text table.
    //! Goal: ≤ 20 ms for 1,000 rows (`run_to_presentation`). The other cases time the parts
    //! alone, to tell which one dominates: the chart (`chart_png`), the CSV file (`csv_file`),
    //! the preview table text (`preview_text`).

    use std::str::FromStr;

    use bigdecimal::BigDecimal;
    use chrono::{Duration, NaiveDate};
    use querybot::present::chart;
    use querybot::present::{PresentOptions, Presenter, Preview, Totals, table};
    use querybot::warehouse::{Column, RowSink, Value, ValueKind};

    use super::{Bencher, Path, Written};

    const ROWS: usize = 1_000;
    const PREVIEW_ROWS: usize = 20;
    const TITLE: &str = "Daily revenue and orders by region since 2024";

    fn column(name: &str, type_name: &str, kind: ValueKind) -> Column {
        Column {
            name: name.to_owned(),
            type_name: type_name.to_owned(),
            kind,
        }
    }

    fn result() -> (Vec<Column>, Vec<Vec<Value>>) {
        let columns = vec![
            column("day", "timestamp", ValueKind::Timestamp),
            column("region", "text", ValueKind::Text),
            column("revenue", "numeric", ValueKind::Decimal),
            column("orders", "int8", ValueKind::Int),
        ];
        const REGIONS: [&str; 4] = ["EMEA", "APAC", "Americas", "Nordics"];
        let start = NaiveDate::from_ymd_opt(2024, 1, 1)
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .expect("a timestamp");
        let rows = (0..ROWS)
            .map(|i| {
                let cents = 150_000 + (i * 7_919 % 90_000) as i64 + i as i64 * 40;
                let revenue = BigDecimal::from_str(&format!("{}.{:02}", cents / 100, cents % 100))
                    .expect("a decimal");
                vec![
                    Value::Timestamp(start + Duration::days(i as i64)),
                    Value::Text(REGIONS[i % REGIONS.len()].to_owned()),
                    Value::Decimal(revenue),
                    Value::Int(20 + (i * 31 % 57) as i64),
                ]
            })
            .collect();
        (columns, rows)
    }

    #[divan::bench]
    fn run_to_presentation(bencher: Bencher) {
        let (columns, rows) = result();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let presentation = present(&columns, rows.clone(), dir.path());
        let chart = presentation.chart.expect("the result gets a chart");
        assert_eq!(chart.kind, querybot::present::ChartKind::Line);
        let mut n = 0;
        bencher
            .with_inputs(|| rows.clone())
            .bench_local_values(|rows| {
                // A folder per run, as `Pipeline::run` makes one per draft.
                let out = Written(Written::path(dir.path(), "run", &mut n));
                std::fs::create_dir_all(&out.0).expect("the output folder is created");
                let presentation = present(&columns, rows, &out.0);
                if let Some(chart) = &presentation.chart {
                    std::fs::write(out.0.join("chart.png"), &chart.png)
                        .expect("the chart is written");
                }
                (out, table::render_text(&presentation.preview, 120))
            });
    }

    fn present(
        columns: &[Column],
        rows: Vec<Vec<Value>>,
        dir: &Path,
    ) -> querybot::present::Presentation {
        let mut presenter = Presenter::new(PresentOptions {
            preview_rows: PREVIEW_ROWS,
            csv_path: dir.join("result.csv"),
            title: TITLE.to_owned(),
        })
        .expect("the CSV file is created");
        presenter.columns(columns).expect("columns");
        for row in rows {
            presenter.row(row).expect("a row");
        }
        let totals = Totals {
            row_count: ROWS as u64,
            truncated: false,
        };
        presenter.finish(totals).expect("the presentation finishes")
    }

    #[divan::bench]
    fn chart_png(bencher: Bencher) {
        let (columns, rows) = result();
        bencher.bench_local(|| {
            let spec = chart::choose(&columns, &rows).expect("a chart");
            chart::render_png(&spec, &columns, &rows, TITLE).expect("the chart draws")
        });
    }

    #[divan::bench]
    fn csv_file(bencher: Bencher) {
        let (columns, rows) = result();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut n = 0;
        bencher.bench_local(|| Written::csv(dir.path(), &mut n, &columns, &rows));
    }

    #[divan::bench]
    fn preview_text(bencher: Bencher) {
        let (columns, mut rows) = result();
        rows.truncate(PREVIEW_ROWS);
        let preview = Preview {
            columns,
            rows,
            total_rows: ROWS as u64,
            truncated: false,
        };
        bencher.bench_local(|| table::render_text(&preview, 120));
    }
}

#[divan::bench_group(sample_count = 30)]
mod csv_encoding {
    //! Rows per second through the CSV writer alone (`present::csv::CsvFile`, the file every
    //! answer attaches): 100,000 rows of 10 columns of `warehouse::Value` covering every
    //! common kind (integer, float, exact decimal, text with quotes, commas and newlines,
    //! timestamp, timestamp with time zone, date, bool, and NULLs in three columns), written
    //! to a file in a temporary directory. Goal: throughput (rows/s, and bytes/s written), no
    //! hard target; it bounds how fast a large result can stream out of the warehouse.

    use std::str::FromStr;

    use bigdecimal::BigDecimal;
    use chrono::{Duration, NaiveDate, TimeZone, Utc};
    use querybot::warehouse::{Column, Value, ValueKind};

    use super::{Bencher, BytesCount, ItemsCount, Written};

    const ROWS: usize = 100_000;

    fn columns() -> Vec<Column> {
        [
            ("id", "int8", ValueKind::Int),
            ("ratio", "float8", ValueKind::Float),
            ("amount", "numeric", ValueKind::Decimal),
            ("note", "text", ValueKind::Text),
            ("created_at", "timestamp", ValueKind::Timestamp),
            ("updated_at", "timestamptz", ValueKind::TimestampTz),
            ("due_on", "date", ValueKind::Date),
            ("active", "bool", ValueKind::Bool),
            ("parent_id", "int8", ValueKind::Int),
            ("city", "text", ValueKind::Text),
        ]
        .into_iter()
        .map(|(name, type_name, kind)| Column {
            name: name.to_owned(),
            type_name: type_name.to_owned(),
            kind,
        })
        .collect()
    }

    fn rows() -> Vec<Vec<Value>> {
        const NOTES: [&str; 5] = [
            "plain text",
            "says \"hello\", then leaves",
            "two lines\nof text, with a comma",
            "",
            "ünïcødé 🦀 数据",
        ];
        const CITIES: [&str; 4] = ["Lisbon", "Zürich", "São Paulo", "New York, NY"];
        let start = NaiveDate::from_ymd_opt(2024, 1, 1)
            .and_then(|day| day.and_hms_milli_opt(8, 30, 0, 125))
            .expect("a timestamp");
        (0..ROWS)
            .map(|i| {
                let n = i as i64;
                let stamp = start + Duration::seconds(n * 37);
                let amount =
                    BigDecimal::from_str(&format!("{}.{:04}", n * 13 % 100_000, n % 10_000))
                        .expect("a decimal");
                let null_every =
                    |k: usize, value: Value| if i % k == 0 { Value::Null } else { value };
                vec![
                    Value::Int(n),
                    Value::Float(n as f64 / 7.0),
                    null_every(11, Value::Decimal(amount)),
                    null_every(13, Value::Text(NOTES[i % NOTES.len()].to_owned())),
                    Value::Timestamp(stamp),
                    Value::TimestampTz(Utc.from_utc_datetime(&stamp)),
                    Value::Date(stamp.date()),
                    Value::Bool(i % 3 == 0),
                    null_every(4, Value::Int(n / 4)),
                    Value::Text(CITIES[i % CITIES.len()].to_owned()),
                ]
            })
            .collect()
    }

    #[divan::bench]
    fn write_100k_rows(bencher: Bencher) {
        let (columns, rows) = (columns(), rows());
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut n = 0;
        let mut write = || Written::csv(dir.path(), &mut n, &columns, &rows);
        let bytes = std::fs::metadata(&write().0).expect("the CSV file").len();
        bencher
            .counter(ItemsCount::new(ROWS))
            .counter(BytesCount::new(bytes))
            .bench_local(write);
    }
}

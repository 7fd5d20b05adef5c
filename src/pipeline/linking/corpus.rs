//! Test-only loading of the shared text-to-SQL corpora as merged catalogs with gold tables.
//!
//! Each corpus becomes one catalog holding all of its databases (each in its own schema, or
//! all in one with prefixed table names), so every question is linked against its own
//! tables plus every other database's as distractors. Gold tables are the relations of the gold SQL minus CTE names, resolved
//! in the question's own schema. Files live in `shared/testdata` (see its PROVENANCE.md).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::ops::ControlFlow;

use serde_json::Value;
use sqlparser::ast::{
    ColumnOption, Expr, ObjectName, Query, SetExpr, Statement, TableConstraint, Visit, Visitor,
    visit_expressions, visit_relations,
};
use sqlparser::dialect::{GenericDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use crate::catalog::{Catalog, Column, ForeignKey, Table, TableKind};
use crate::dialect::Dialect;

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata");

/// How each database's schema is named in the merged catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SchemaNames {
    /// The database's own name (`concert_singer`), as a real warehouse schema would be.
    Database,
    /// `db001`, `db002`, ...: no hint from the name at all.
    Anonymous,
    /// One schema (the dialect's default) for everything, tables prefixed `db001_`, ...:
    /// no grouping by schema either.
    Flat,
}

/// Where a database's tables go in the merged catalog: a schema and a table-name prefix.
#[derive(Debug, Clone)]
struct Placement {
    schema: String,
    prefix: String,
}

/// A merged catalog and questions against it.
pub(super) struct Corpus {
    pub(super) catalog: Catalog,
    pub(super) questions: Vec<Question>,
}

pub(super) struct Question {
    /// What linking is given: the question, plus the corpus's hints when asked for.
    pub(super) text: String,
    /// Indexes into the catalog of the tables the gold SQL reads.
    pub(super) gold: Vec<usize>,
    /// `(table, column)` indexes of gold-table columns the gold SQL names.
    pub(super) gold_columns: Vec<(usize, usize)>,
}

fn read(path: &str) -> String {
    fs::read_to_string(format!("{TESTDATA}/{path}"))
        .unwrap_or_else(|error| panic!("cannot read {TESTDATA}/{path}: {error}"))
}

fn read_json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn placement(naming: SchemaNames, dialect: Dialect, db: &str, position: usize) -> Placement {
    let (schema, prefix) = match naming {
        SchemaNames::Database => (db.to_owned(), String::new()),
        SchemaNames::Anonymous => (format!("db{:03}", position + 1), String::new()),
        SchemaNames::Flat => (
            dialect.default_schema().to_owned(),
            format!("db{:03}_", position + 1),
        ),
    };
    Placement { schema, prefix }
}

/// Spider dev questions against all 166 Spider databases (train and dev) in one catalog.
pub(super) fn spider(naming: SchemaNames) -> Corpus {
    let (catalog, placements) = catalog_from_tables_json(
        &read_json("spider/tables.json"),
        naming,
        Dialect::Sqlite,
        &HashMap::new(),
    );
    let mut builder = Builder::new(catalog, placements);
    for item in as_array(&read_json("spider/dev.json")) {
        let db = as_str(&item["db_id"]);
        builder.add(
            db,
            as_str(&item["question"]),
            as_str(&item["query"]),
            Dialect::Sqlite,
        );
    }
    builder.finish()
}

/// BIRD mini-dev questions (SQLite or PostgreSQL gold SQL) against all 11 BIRD databases.
/// With `described`, tables and columns carry the Arcwise descriptions and row counts, as
/// a warehouse with documented tables would; with `evidence`, the question is followed by
/// BIRD's evidence, as a user's hint would be.
pub(super) fn bird(
    dialect: Dialect,
    naming: SchemaNames,
    described: bool,
    evidence: bool,
) -> Corpus {
    let tables_json = read_json("bird_minidev/dev_tables.json");
    let mut descriptions = HashMap::new();
    if described {
        for db in as_array(&tables_json) {
            let db_id = as_str(&db["db_id"]);
            let ddl = read(&format!("bird_minidev/arcwise_schemas/{db_id}.sql"));
            descriptions.insert(db_id.to_owned(), arcwise_descriptions(&ddl));
        }
    }
    let (catalog, placements) =
        catalog_from_tables_json(&tables_json, naming, dialect, &descriptions);
    let mut builder = Builder::new(catalog, placements);
    let file = match dialect {
        Dialect::Postgres => "bird_minidev/mini_dev_postgresql.json",
        _ => "bird_minidev/mini_dev_sqlite.json",
    };
    for item in as_array(&read_json(file)) {
        let mut text = as_str(&item["question"]).to_owned();
        if evidence {
            text.push(' ');
            text.push_str(as_str(&item["evidence"]));
        }
        builder.add(as_str(&item["db_id"]), &text, as_str(&item["SQL"]), dialect);
    }
    builder.finish()
}

/// Defog's sql-eval questions (PostgreSQL versions) against all 11 defog databases. Columns
/// carry defog's descriptions; keys, row counts and sample values come from the DDL and
/// data in `defog-data/*.sql`, as introspection would find them. With `instructions`, the
/// question is followed by the question's instructions, as a user's hint would be.
pub(super) fn defog(naming: SchemaNames, instructions: bool) -> Corpus {
    let dbs = [
        "academic",
        "advising",
        "atis",
        "broker",
        "car_dealership",
        "derm_treatment",
        "ewallet",
        "geography",
        "restaurants",
        "scholar",
        "yelp",
    ];
    let mut tables = Vec::new();
    let mut placements = HashMap::new();
    for (position, db) in dbs.iter().enumerate() {
        let placement = placement(naming, Dialect::Postgres, db, position);
        tables.extend(defog_tables(db, &placement));
        placements.insert((*db).to_owned(), placement);
    }
    let catalog = Catalog {
        dialect: Dialect::Postgres,
        tables,
    };
    let mut builder = Builder::new(catalog, placements);
    let files = [
        "questions_gen_postgres.csv",
        "instruct_basic_postgres.csv",
        "instruct_advanced_postgres.csv",
    ];
    for file in files {
        let mut reader = csv::Reader::from_path(format!("{TESTDATA}/defog/sql-eval-data/{file}"))
            .unwrap_or_else(|error| panic!("{file}: {error}"));
        let headers = reader.headers().expect("a header row").clone();
        let field = |record: &csv::StringRecord, name: &str| -> String {
            headers
                .iter()
                .position(|header| header == name)
                .and_then(|i| record.get(i))
                .unwrap_or("")
                .to_owned()
        };
        for record in reader.records() {
            let record = record.expect("a CSV record");
            let mut text = field(&record, "question");
            let hint = field(&record, "instructions");
            if instructions && !hint.is_empty() {
                text.push(' ');
                text.push_str(&hint);
            }
            let sql = defog_first_alternative(&field(&record, "query"));
            builder.add(&field(&record, "db_name"), &text, &sql, Dialect::Postgres);
        }
    }
    builder.finish()
}

/// Collects questions, resolving gold tables in each question's own schema.
struct Builder {
    catalog: Catalog,
    /// Database name to its place in the merged catalog.
    placements: HashMap<String, Placement>,
    questions: Vec<Question>,
}

impl Builder {
    fn new(catalog: Catalog, placements: HashMap<String, Placement>) -> Self {
        Builder {
            catalog,
            placements,
            questions: Vec::new(),
        }
    }

    fn add(&mut self, db: &str, text: &str, sql: &str, dialect: Dialect) {
        let Placement { schema, prefix } = &self.placements[db];
        let mut gold = Vec::new();
        let (table_names, identifiers) = gold_names(sql, dialect);
        for name in table_names {
            let found = self.catalog.tables.iter().position(|table| {
                table.schema == *schema
                    && table.name.eq_ignore_ascii_case(&format!("{prefix}{name}"))
            });
            let table = found.unwrap_or_else(|| panic!("{db}: no table `{name}` for {sql}"));
            if !gold.contains(&table) {
                gold.push(table);
            }
        }
        // A question any selection would pass must not count towards recall.
        assert!(!gold.is_empty(), "{db}: gold SQL reads no table: {sql}");
        let mut gold_columns = Vec::new();
        for &table in &gold {
            for (c, column) in self.catalog.tables[table].columns.iter().enumerate() {
                if identifiers
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case(&column.name))
                {
                    gold_columns.push((table, c));
                }
            }
        }
        self.questions.push(Question {
            text: text.to_owned(),
            gold,
            gold_columns,
        });
    }

    fn finish(self) -> Corpus {
        Corpus {
            catalog: self.catalog,
            questions: self.questions,
        }
    }
}

/// The (unqualified) names of the tables `sql` reads, CTE names excluded, and the names
/// its expressions use (the last part of dotted names), which include its columns.
fn gold_names(sql: &str, dialect: Dialect) -> (Vec<String>, Vec<String>) {
    let statements = match dialect {
        Dialect::Postgres => Parser::parse_sql(&PostgreSqlDialect {}, sql),
        _ => Parser::parse_sql(&SQLiteDialect {}, sql),
    }
    .or_else(|_| Parser::parse_sql(&GenericDialect {}, sql))
    .unwrap_or_else(|error| panic!("cannot parse gold SQL: {error}\n{sql}"));
    let mut ctes = CteNames(Vec::new());
    let _ = statements.visit(&mut ctes);
    let mut names: Vec<String> = Vec::new();
    let _ = visit_relations(&statements, |relation: &ObjectName| {
        let last = relation.0.last().and_then(|part| part.as_ident());
        if let Some(ident) = last {
            let name = ident.value.clone();
            let is_cte =
                relation.0.len() == 1 && ctes.0.iter().any(|cte| cte.eq_ignore_ascii_case(&name));
            if !is_cte && !names.iter().any(|seen| seen.eq_ignore_ascii_case(&name)) {
                names.push(name);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let mut identifiers = Vec::new();
    let _ = visit_expressions(&statements, |expr: &Expr| {
        match expr {
            Expr::Identifier(ident) => identifiers.push(ident.value.clone()),
            Expr::CompoundIdentifier(parts) => {
                identifiers.extend(parts.last().map(|ident| ident.value.clone()));
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    (names, identifiers)
}

struct CteNames(Vec<String>);

impl Visitor for CteNames {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            self.0.extend(
                with.cte_tables
                    .iter()
                    .map(|cte| cte.alias.name.value.clone()),
            );
        }
        ControlFlow::Continue(())
    }
}

/// Descriptions of one BIRD database from Arcwise's annotated DDL: per lower-cased table
/// name, the table comment, row count and per lower-cased column name the column comment.
#[derive(Default)]
struct TableDescription {
    comment: Option<String>,
    rows: Option<i64>,
    columns: HashMap<String, String>,
}

fn arcwise_descriptions(ddl: &str) -> HashMap<String, TableDescription> {
    let mut tables = HashMap::new();
    let mut pending: Vec<String> = Vec::new();
    let mut current: Option<(String, TableDescription)> = None;
    for line in ddl.lines().map(str::trim) {
        if let Some(comment) = line.strip_prefix("--") {
            pending.push(comment.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
            let name = unquote(rest.trim_end_matches('(').trim()).to_lowercase();
            let mut description = TableDescription::default();
            let mut comment = Vec::new();
            for text in pending.drain(..) {
                let rows = text.split_once(" rows").and_then(|(n, _)| n.parse().ok());
                match rows {
                    Some(rows) => description.rows = Some(rows),
                    None => comment.push(text),
                }
            }
            description.comment = (!comment.is_empty()).then(|| comment.join(" "));
            current = Some((name, description));
        } else if line.starts_with(')') {
            if let Some((name, description)) = current.take() {
                tables.insert(name, description);
            }
            pending.clear();
        } else if let Some((_, description)) = &mut current
            && !line.is_empty()
        {
            let name = column_name_of(line).to_lowercase();
            let comment: Vec<String> = pending
                .drain(..)
                .filter(|text| !text.starts_with("Stats:") && !text.starts_with("Foreign keys:"))
                .collect();
            if !comment.is_empty() {
                description.columns.insert(name, comment.join(" "));
            }
        }
    }
    tables
}

/// The column name at the start of a DDL column line: quoted, or up to the first space.
fn column_name_of(line: &str) -> &str {
    match line.strip_prefix('"') {
        Some(rest) => rest.split('"').next().unwrap_or(rest),
        None => line.split_whitespace().next().unwrap_or(line),
    }
}

fn unquote(name: &str) -> &str {
    name.trim_matches(|c| c == '"' || c == '`')
}

/// A catalog from a Spider-format `tables.json` (Spider, BIRD): one schema per database.
fn catalog_from_tables_json(
    json: &Value,
    naming: SchemaNames,
    dialect: Dialect,
    descriptions: &HashMap<String, HashMap<String, TableDescription>>,
) -> (Catalog, HashMap<String, Placement>) {
    let mut tables = Vec::new();
    let mut placements = HashMap::new();
    for (position, db) in as_array(json).iter().enumerate() {
        let db_id = as_str(&db["db_id"]);
        let Placement { schema, prefix } = placement(naming, dialect, db_id, position);
        let table_names: Vec<&str> = as_array(&db["table_names_original"])
            .iter()
            .map(as_str)
            .collect();
        // Column index in the database to (table index, name); index 0 is `*`.
        let columns: Vec<(i64, &str)> = as_array(&db["column_names_original"])
            .iter()
            .map(|pair| (pair[0].as_i64().unwrap_or(-1), as_str(&pair[1])))
            .collect();
        let types: Vec<&str> = as_array(&db["column_types"]).iter().map(as_str).collect();
        let first = tables.len();
        let described = descriptions.get(db_id);
        for name in &table_names {
            let description = described.and_then(|tables| tables.get(&name.to_lowercase()));
            tables.push(Table {
                schema: schema.clone(),
                name: format!("{prefix}{name}"),
                kind: TableKind::Table,
                comment: description.and_then(|d| d.comment.clone()),
                row_estimate: description.and_then(|d| d.rows),
                columns: Vec::new(),
                primary_key: Vec::new(),
                foreign_keys: Vec::new(),
                caveat: None,
            });
        }
        for (i, &(table, name)) in columns.iter().enumerate() {
            let Ok(table) = usize::try_from(table) else {
                continue;
            };
            let target = &mut tables[first + table];
            let comment = described
                .and_then(|tables| tables.get(&table_names[table].to_lowercase()))
                .and_then(|d| d.columns.get(&name.to_lowercase()).cloned());
            target.columns.push(Column {
                name: name.to_owned(),
                data_type: types.get(i).copied().unwrap_or("").to_owned(),
                nullable: true,
                comment,
                samples: Vec::new(),
            });
        }
        for key in as_array(&db["primary_keys"]) {
            let indexes: Vec<usize> = match key {
                Value::Array(parts) => parts.iter().filter_map(as_index).collect(),
                single => as_index(single).into_iter().collect(),
            };
            if let Some(&first_column) = indexes.first() {
                let table = first + columns[first_column].0 as usize;
                tables[table].primary_key =
                    indexes.iter().map(|&c| columns[c].1.to_owned()).collect();
            }
        }
        for pair in as_array(&db["foreign_keys"]) {
            let (Some(from), Some(to)) = (as_index(&pair[0]), as_index(&pair[1])) else {
                continue;
            };
            let table = first + columns[from].0 as usize;
            let referenced = table_names[columns[to].0 as usize];
            tables[table].foreign_keys.push(ForeignKey {
                columns: vec![columns[from].1.to_owned()],
                references_schema: schema.clone(),
                references_table: format!("{prefix}{referenced}"),
                references_columns: vec![columns[to].1.to_owned()],
            });
        }
        placements.insert(db_id.to_owned(), Placement { schema, prefix });
    }
    (Catalog { dialect, tables }, placements)
}

/// One defog database's tables: columns and descriptions from its JSON, keys, row counts
/// and samples (text columns with at most 10 distinct values) from its SQL dump.
fn defog_tables(db: &str, placement: &Placement) -> Vec<Table> {
    let schema = placement.schema.as_str();
    let json = read_json(&format!("defog/defog-data/{db}.json"));
    let dump = read(&format!("defog/defog-data/{db}.sql"));
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, &dump)
        .unwrap_or_else(|error| panic!("{db}.sql: {error}"));
    // Sorted by name so the catalog order does not depend on JSON map order.
    let metadata: BTreeMap<String, Value> = json["table_metadata"]
        .as_object()
        .map(|map| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut tables: Vec<Table> = metadata
        .iter()
        .map(|(name, columns)| Table {
            schema: schema.to_owned(),
            // ewallet's metadata qualifies names with the schema the dump creates.
            name: name.rsplit('.').next().unwrap_or(name).to_owned(),
            kind: TableKind::Table,
            comment: None,
            row_estimate: None,
            columns: as_array(columns)
                .iter()
                .map(|column| Column {
                    name: as_str(&column["column_name"]).to_owned(),
                    data_type: as_str(&column["data_type"]).to_owned(),
                    nullable: true,
                    comment: Some(as_str(&column["column_description"]).to_owned())
                        .filter(|text| !text.is_empty()),
                    samples: Vec::new(),
                })
                .collect(),
            primary_key: Vec::new(),
            foreign_keys: Vec::new(),
            caveat: None,
        })
        .collect();
    let find = |tables: &[Table], name: &ObjectName| -> Option<usize> {
        let last = name.0.last()?.as_ident()?.value.clone();
        tables
            .iter()
            .position(|table| table.name.eq_ignore_ascii_case(&last))
    };
    // Per table and column, the distinct text values seen, in order of appearance.
    let mut values: HashMap<(usize, usize), Vec<String>> = HashMap::new();
    for statement in &statements {
        match statement {
            Statement::CreateTable(create) => {
                let Some(t) = find(&tables, &create.name) else {
                    continue;
                };
                for column in &create.columns {
                    for option in &column.options {
                        match &option.option {
                            ColumnOption::PrimaryKey(_) => {
                                tables[t].primary_key = vec![column.name.value.clone()];
                            }
                            ColumnOption::ForeignKey(key) => {
                                let referenced =
                                    key.foreign_table.0.last().and_then(|p| p.as_ident());
                                if let Some(referenced) = referenced {
                                    tables[t].foreign_keys.push(ForeignKey {
                                        columns: vec![column.name.value.clone()],
                                        references_schema: schema.to_owned(),
                                        references_table: referenced.value.clone(),
                                        references_columns: key
                                            .referred_columns
                                            .iter()
                                            .map(|c| c.value.clone())
                                            .collect(),
                                    });
                                }
                            }
                            _ => {}
                        }
                    }
                }
                for constraint in &create.constraints {
                    if let TableConstraint::PrimaryKey(key) = constraint {
                        tables[t].primary_key = key
                            .columns
                            .iter()
                            .map(|c| c.column.expr.to_string())
                            .collect();
                    }
                }
            }
            Statement::Insert(insert) => {
                let sqlparser::ast::TableObject::TableName(name) = &insert.table else {
                    continue;
                };
                let Some(t) = find(&tables, name) else {
                    continue;
                };
                let Some(source) = &insert.source else {
                    continue;
                };
                let SetExpr::Values(rows) = source.body.as_ref() else {
                    continue;
                };
                let positions: Vec<Option<usize>> = insert
                    .columns
                    .iter()
                    .map(|column| {
                        let name = column.0.last().and_then(|p| p.as_ident())?.value.clone();
                        tables[t]
                            .columns
                            .iter()
                            .position(|c| c.name.eq_ignore_ascii_case(&name))
                    })
                    .collect();
                let n_rows = i64::try_from(rows.rows.len()).unwrap_or(i64::MAX);
                *tables[t].row_estimate.get_or_insert(0) += n_rows;
                for row in &rows.rows {
                    for (value, position) in row.iter().zip(&positions) {
                        let (Expr::Value(value), Some(c)) = (value, position) else {
                            continue;
                        };
                        if let sqlparser::ast::Value::SingleQuotedString(text) = &value.value {
                            let seen = values.entry((t, *c)).or_default();
                            if !seen.contains(text) && seen.len() <= 10 {
                                seen.push(text.clone());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for ((t, c), distinct) in values {
        let column = &mut tables[t].columns[c];
        let is_text = ["text", "char"]
            .iter()
            .any(|kind| column.data_type.contains(kind));
        if is_text && distinct.len() <= 10 {
            column.samples = distinct;
        }
    }
    for table in &mut tables {
        table.name = format!("{}{}", placement.prefix, table.name);
        for key in &mut table.foreign_keys {
            key.references_table = format!("{}{}", placement.prefix, key.references_table);
        }
    }
    tables
}

/// Defog's gold queries list accepted alternatives separated by `;` and may leave the
/// choice of output columns open as `{a, b}`: take the first alternative, all columns.
fn defog_first_alternative(query: &str) -> String {
    let first = query.split(';').next().unwrap_or(query);
    first.replace("{}", "1").replace(['{', '}'], "")
}

fn as_array(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn as_str(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

fn as_index(value: &Value) -> Option<usize> {
    value.as_u64().and_then(|n| usize::try_from(n).ok())
}

//! How tables connect: declared foreign keys, joins the column names make plain, and shared
//! schemas; and the lift these give to the partners of strong matches, so a question about
//! "orders by region" also gets `customers`, which joins the two though it was never named.

use std::collections::HashMap;

use crate::catalog::{Catalog, Table};
use rustc_hash::FxHashMap as FastMap;

/// A table linked to one strong match gets this share of that match's score ...
const NEIGHBOUR: f32 = 0.5;
/// ... and a table linked to two or more (a bridge on the join path) this share of the
/// second strongest, on top of its own score.
const BRIDGE: f32 = 0.8;
/// Strong matches score at least this share of the best table's score ...
const STRONG_SHARE: f32 = 0.4;
/// ... and are among this many of the best.
const MAX_STRONG: usize = 12;
/// Every table of a schema gets this share of the best score in the schema: schemas group
/// related tables, and a question's tables tend to share one ...
const SCHEMA_AFFINITY: f32 = 0.15;
/// ... damped for schemas larger than this, where sharing a schema says little.
const SMALL_SCHEMA: usize = 12;
/// An inferred join needs a key name that at most this many tables of the schema have.
const MAX_TABLES_PER_KEY: usize = 2;

#[derive(Debug)]
pub(super) struct Graph {
    /// Per table, the tables it joins to (either direction), sorted.
    neighbours: Vec<Vec<u32>>,
    /// Per table, the columns its joins use (either side), sorted.
    join_columns: Vec<Vec<u32>>,
    /// Per table, its schema's number; per schema number, how many tables it holds.
    schemas: Vec<u32>,
    schema_sizes: Vec<usize>,
}

impl Graph {
    pub(super) fn new(catalog: &Catalog) -> Self {
        let n_tables = catalog.tables.len();
        let mut graph = Graph {
            neighbours: vec![Vec::new(); n_tables],
            join_columns: vec![Vec::new(); n_tables],
            schemas: Vec::with_capacity(n_tables),
            schema_sizes: Vec::new(),
        };
        let mut schema_numbers: HashMap<String, u32> = HashMap::new();
        for table in &catalog.tables {
            let next = index(schema_numbers.len());
            let number = *schema_numbers
                .entry(table.schema.to_lowercase())
                .or_insert(next);
            graph.schemas.push(number);
        }
        graph.schema_sizes = vec![0; schema_numbers.len()];
        for &schema in &graph.schemas {
            graph.schema_sizes[schema as usize] += 1;
        }
        let mut by_name: FastMap<(u32, String), usize> = FastMap::default();
        for (t, table) in catalog.tables.iter().enumerate() {
            by_name
                .entry((graph.schemas[t], table.name.to_lowercase()))
                .or_insert(t);
        }
        for (t, table) in catalog.tables.iter().enumerate() {
            for foreign_key in &table.foreign_keys {
                let Some(&schema) =
                    schema_numbers.get(&foreign_key.references_schema.to_lowercase())
                else {
                    continue;
                };
                let key = (schema, foreign_key.references_table.to_lowercase());
                if let Some(&other) = by_name.get(&key) {
                    graph.join(
                        catalog,
                        (t, &foreign_key.columns),
                        (other, &foreign_key.references_columns),
                    );
                }
            }
        }
        for (from, to) in inferred_joins(catalog, &graph.schemas) {
            let from_columns = [catalog.tables[from.0].columns[from.1].name.clone()];
            graph.join(
                catalog,
                (from.0, &from_columns),
                (to, &catalog.tables[to].primary_key),
            );
        }
        for list in graph.neighbours.iter_mut().chain(&mut graph.join_columns) {
            list.sort_unstable();
            list.dedup();
        }
        graph
    }

    /// Records that `from`'s columns join `to`'s columns.
    fn join(&mut self, catalog: &Catalog, from: (usize, &[String]), to: (usize, &[String])) {
        for (t, columns) in [from, to] {
            let table = &catalog.tables[t];
            self.join_columns[t]
                .extend(columns.iter().filter_map(|name| column_index(table, name)));
        }
        if from.0 != to.0 {
            self.neighbours[from.0].push(index(to.0));
            self.neighbours[to.0].push(index(from.0));
        }
    }

    pub(super) fn neighbours(&self, table: usize) -> impl Iterator<Item = usize> + '_ {
        self.neighbours[table].iter().map(|&t| t as usize)
    }

    /// Whether a join of `table` uses its column `column`.
    pub(super) fn is_join_column(&self, table: usize, column: usize) -> bool {
        self.join_columns[table]
            .binary_search(&index(column))
            .is_ok()
    }

    /// Adds to `scores` the lift join partners and schema mates get from the best matches.
    pub(super) fn lift(&self, scores: &mut [f32]) {
        let strong = strong_matches(scores);
        // The best and second-best strong score each table is linked to.
        let mut linked: Vec<(f32, f32)> = vec![(0.0, 0.0); scores.len()];
        for &table in &strong {
            let score = scores[table];
            for other in self.neighbours(table) {
                let (first, second) = &mut linked[other];
                if score > *first {
                    *second = *first;
                    *first = score;
                } else if score > *second {
                    *second = score;
                }
            }
        }
        for (score, (first, second)) in scores.iter_mut().zip(linked) {
            *score += (NEIGHBOUR * first).max(BRIDGE * second);
        }
        if self.schema_sizes.len() > 1 {
            let mut best = vec![0.0f32; self.schema_sizes.len()];
            for (t, &score) in scores.iter().enumerate() {
                let schema = self.schemas[t] as usize;
                best[schema] = best[schema].max(score);
            }
            for (t, score) in scores.iter_mut().enumerate() {
                let schema = self.schemas[t] as usize;
                let damping = (SMALL_SCHEMA as f32 / self.schema_sizes[schema] as f32).min(1.0);
                *score += SCHEMA_AFFINITY * damping * best[schema];
            }
        }
    }
}

/// Joins the catalog does not declare but the names make plain, within one schema, as
/// `((table, column), referenced table)`: a column named like another table's single-column
/// primary key (`GasStationID` -> `gasstations`), or `<table>_id` for a table whose key is
/// `id` (`customer_id` -> `customers`). Analytics warehouses often declare no foreign keys.
fn inferred_joins(catalog: &Catalog, schemas: &[u32]) -> Vec<((usize, usize), usize)> {
    // Normalised key name -> (schema, table) of the tables whose primary key it is.
    let mut keys: FastMap<String, Vec<(u32, usize)>> = FastMap::default();
    for (t, table) in catalog.tables.iter().enumerate() {
        let [key] = table.primary_key.as_slice() else {
            continue;
        };
        let mut key = normalise(key);
        if key == "id" {
            key = format!("{}id", singular(&normalise(&table.name)));
        }
        keys.entry(key).or_default().push((schemas[t], t));
    }
    // Most columns are not keys; their length and last letter say so without hashing.
    let mut key_lengths = [false; 64];
    let mut key_ends = [false; 256];
    for key in keys.keys() {
        key_lengths[key.len().min(63)] = true;
        key_ends[usize::from(key.bytes().last().unwrap_or(0))] = true;
    }
    let mut joins = Vec::new();
    let mut name = String::new();
    for (t, table) in catalog.tables.iter().enumerate() {
        for (c, column) in table.columns.iter().enumerate() {
            let last = column.name.bytes().last().unwrap_or(0).to_ascii_lowercase();
            let length = column.name.bytes().filter(|&b| b != b'_').count();
            if column.name.is_ascii()
                && (!key_ends[usize::from(last)] || !key_lengths[length.min(63)])
            {
                continue;
            }
            name.clear();
            name.extend(
                column
                    .name
                    .chars()
                    .filter(|&c| c != '_')
                    .flat_map(char::to_lowercase),
            );
            let Some(tables) = keys.get(name.as_str()) else {
                continue;
            };
            let same_schema = || tables.iter().filter(|&&(schema, _)| schema == schemas[t]);
            if same_schema().count() <= MAX_TABLES_PER_KEY {
                joins.extend(
                    same_schema()
                        .filter(|&&(_, other)| other != t)
                        .map(|&(_, other)| ((t, c), other)),
                );
            }
        }
    }
    joins
}

fn column_index(table: &Table, name: &str) -> Option<u32> {
    let position = table
        .columns
        .iter()
        .position(|column| column.name.eq_ignore_ascii_case(name))?;
    Some(index(position))
}

/// Lower case without underscores, so `GasStationID`, `gas_station_id` and `gasstationid` meet.
fn normalise(name: &str) -> String {
    name.chars()
        .filter(|&c| c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn singular(name: &str) -> &str {
    name.strip_suffix("es")
        .filter(|stem| stem.ends_with("ss") || stem.ends_with('x') || stem.ends_with("ch"))
        .or_else(|| name.strip_suffix('s').filter(|stem| !stem.ends_with('s')))
        .unwrap_or(name)
}

fn index(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Tables scoring close to the best one, best first.
fn strong_matches(scores: &[f32]) -> Vec<usize> {
    let best = scores.iter().copied().fold(0.0f32, f32::max);
    if best <= 0.0 {
        return Vec::new();
    }
    let mut strong: Vec<usize> = (0..scores.len())
        .filter(|&t| scores[t] >= STRONG_SHARE * best)
        .collect();
    strong.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    strong.truncate(MAX_STRONG);
    strong
}

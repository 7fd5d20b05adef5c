//! Reads the earlier turns of a conversation: the tables their SQL named, which a follow-up
//! ("now only 2024") silently refers to, and the earlier questions' words.

use std::collections::HashMap;
use std::ops::ControlFlow;

use sqlparser::ast::{ObjectName, Statement, visit_relations};
use sqlparser::parser::Parser;

use crate::catalog::Catalog;
use crate::dialect::Dialect;

/// What the earlier turns contribute to linking the new question.
#[derive(Debug, Default)]
pub(super) struct Earlier<'q> {
    /// Tables named by earlier SQL, most recent turn first, without repeats.
    pub(super) tables: Vec<usize>,
    /// Earlier turns that are not SQL, taken as earlier questions.
    pub(super) questions: Vec<&'q str>,
}

/// Looks up tables by name the way SQL written against the catalog names them.
#[derive(Debug)]
pub(super) struct TableNames {
    dialect: Dialect,
    /// Lower-cased table name to the tables with that name, in catalog order.
    by_name: HashMap<String, Vec<u32>>,
}

impl TableNames {
    pub(super) fn new(catalog: &Catalog) -> Self {
        let mut by_name: HashMap<String, Vec<u32>> = HashMap::new();
        for (t, table) in catalog.tables.iter().enumerate() {
            by_name
                .entry(table.name.to_lowercase())
                .or_default()
                .push(u32::try_from(t).unwrap_or(u32::MAX));
        }
        TableNames {
            dialect: catalog.dialect,
            by_name,
        }
    }

    /// The tables a dotted name can mean: the one in the named schema; for an unqualified
    /// name the one in the default schema, else every table of that name (the SQL may have
    /// relied on a search path, and keeping a few extra tables is cheap).
    fn resolve(&self, catalog: &Catalog, parts: &[&str]) -> Vec<usize> {
        let Some((name, qualifiers)) = parts.split_last() else {
            return Vec::new();
        };
        let Some(candidates) = self.by_name.get(&name.to_lowercase()) else {
            return Vec::new();
        };
        let in_schema = |schema: &str| -> Vec<usize> {
            candidates
                .iter()
                .map(|&t| t as usize)
                .filter(|&t| catalog.tables[t].schema.eq_ignore_ascii_case(schema))
                .collect()
        };
        if let Some(schema) = qualifiers.last() {
            return in_schema(schema);
        }
        let default = in_schema(self.dialect.default_schema());
        if default.is_empty() {
            candidates.iter().map(|&t| t as usize).collect()
        } else {
            default
        }
    }
}

pub(super) fn read<'q>(catalog: &Catalog, names: &TableNames, context: &[&'q str]) -> Earlier<'q> {
    let mut earlier = Earlier::default();
    for &turn in context.iter().rev() {
        match referenced_names(turn, catalog.dialect) {
            Some(referenced) => {
                for parts in referenced {
                    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
                    for table in names.resolve(catalog, &parts) {
                        if !earlier.tables.contains(&table) {
                            earlier.tables.push(table);
                        }
                    }
                }
            }
            None => earlier.questions.push(turn),
        }
    }
    earlier.questions.reverse();
    earlier
}

/// The dotted table names `text` reads from, in order, or `None` when it is not SQL.
fn referenced_names(text: &str, dialect: Dialect) -> Option<Vec<Vec<String>>> {
    let sql = strip_code_fence(text);
    let parsed = Parser::parse_sql(dialect.parser(), sql);
    // A question may happen to parse ("show tables"); only a query counts as earlier SQL.
    match parsed {
        Ok(statements) if statements.iter().any(|s| matches!(s, Statement::Query(_))) => {
            let mut names = Vec::new();
            let _ = visit_relations(&statements, |relation: &ObjectName| {
                let parts: Option<Vec<String>> = relation
                    .0
                    .iter()
                    .map(|part| part.as_ident().map(|ident| ident.value.clone()))
                    .collect();
                names.extend(parts);
                ControlFlow::<()>::Continue(())
            });
            Some(names)
        }
        _ if looks_like_sql(sql) => Some(names_after_from_or_join(sql)),
        _ => None,
    }
}

/// Chat history may keep SQL inside a Markdown code block.
fn strip_code_fence(text: &str) -> &str {
    let text = text.trim();
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let body = rest.split_once('\n').map_or("", |(_, body)| body);
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

fn looks_like_sql(text: &str) -> bool {
    let first = text.split_whitespace().next().unwrap_or("");
    first.eq_ignore_ascii_case("select") || first.eq_ignore_ascii_case("with")
}

/// A lenient reading of SQL the parser refused (a dialect quirk, a half-finished draft):
/// the name after each FROM or JOIN.
fn names_after_from_or_join(sql: &str) -> Vec<Vec<String>> {
    let is_name_char = |c: char| c.is_alphanumeric() || "_.\"`[]$".contains(c);
    let tokens: Vec<&str> = sql
        .split(|c: char| !is_name_char(c))
        .filter(|token| !token.is_empty())
        .collect();
    tokens
        .windows(2)
        .filter(|pair| pair[0].eq_ignore_ascii_case("from") || pair[0].eq_ignore_ascii_case("join"))
        .map(|pair| {
            pair[1]
                .split('.')
                .map(|part| part.trim_matches(|c| "\"`[]".contains(c)).to_owned())
                .collect()
        })
        .collect()
}

//! Which names a PostgreSQL query may look up besides tables and functions: cast targets,
//! collations and text-search configurations, each from an allow-list.
//!
//! Naming a type, a collation or a configuration makes the database look the name up, and
//! its answer is an oracle about what the catalog does not list: `NULL::secret_table`
//! succeeds only if that table exists, `ROW(1, 2, 3)::accounts` fails with the number of
//! its columns, `'somerole=r/postgres'::aclitem` tells whether a role exists. Casts may
//! name the built-in scalar types, their arrays, and the types of listed columns (enums
//! among them); collations the built-in ones; text search the built-in configurations.

use sqlparser::ast::{
    ArrayElemTypeDef, DataType, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments,
    ObjectName, Value,
};

use super::names;
use super::tables::TableAllowList;
use crate::dialect::Dialect;

/// PostgreSQL's built-in scalar types as `format_type` and users spell them, for the names
/// sqlparser does not know itself (it parses `integer`, `text`, `timestamp` ... as its own).
#[rustfmt::skip]
const BUILTIN_TYPES: &[&str] = &[
    "bigint", "bit", "bool", "boolean", "bpchar", "bytea", "char", "character", "cidr", "date",
    "decimal", "float4", "float8", "inet", "int", "int2", "int4", "int8", "integer", "interval",
    "json", "jsonb", "macaddr", "macaddr8", "money", "name", "numeric", "oid", "real",
    "smallint", "text", "time", "timestamp", "timestamptz", "timetz", "tsquery", "tsvector",
    "uuid", "varbit", "varchar", "xml", "point", "line", "lseg", "box", "path", "polygon",
    "circle", "int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange",
];

/// Collations every PostgreSQL has.
const BUILTIN_COLLATIONS: &[&str] = &["c", "posix", "default", "ucs_basic"];

/// Text search configurations every PostgreSQL has.
#[rustfmt::skip]
const BUILTIN_CONFIGS: &[&str] = &[
    "simple", "arabic", "armenian", "basque", "catalan", "danish", "dutch", "english",
    "finnish", "french", "german", "greek", "hindi", "hungarian", "indonesian", "irish",
    "italian", "lithuanian", "nepali", "norwegian", "portuguese", "romanian", "russian",
    "serbian", "spanish", "swedish", "tamil", "turkish", "yiddish",
];

/// Functions whose first of several arguments names a text search configuration.
const CONFIG_FUNCTIONS: &[&str] = &[
    "ts_headline",
    "to_tsvector",
    "to_tsquery",
    "plainto_tsquery",
    "phraseto_tsquery",
    "websearch_to_tsquery",
];

/// Whether a cast to `data_type` names only types the policy knows.
pub(super) fn cast_allowed(data_type: &DataType, tables: &TableAllowList) -> bool {
    match data_type {
        DataType::Custom(name, _) => {
            let Some(parts) = names::parts(name) else {
                return false;
            };
            let resolved: Vec<String> = parts
                .iter()
                .map(|part| names::resolve(part, Dialect::Postgres))
                .collect();
            match resolved.as_slice() {
                [name] => is_builtin(name) || tables.has_column_type(name),
                [schema, name] if schema == "pg_catalog" => is_builtin(name),
                _ => tables.has_column_type(&resolved.join(".")),
            }
        }
        DataType::Array(
            ArrayElemTypeDef::AngleBracket(inner)
            | ArrayElemTypeDef::SquareBracket(inner, _)
            | ArrayElemTypeDef::Parenthesis(inner)
            | ArrayElemTypeDef::Qualified(inner, _),
        ) => cast_allowed(inner, tables),
        // sqlparser knows types of many databases; PostgreSQL would look a name it does not
        // know (`datetime`, `string`) up as a user type. `reg*` are refused before this.
        other => is_builtin_spelling(&other.to_string().to_ascii_lowercase()),
    }
}

/// Whether a type sqlparser printed is one PostgreSQL knows: a built-in name, or one of
/// the SQL standard's several-word spellings (`double precision`, `timestamp with time zone`).
fn is_builtin_spelling(printed: &str) -> bool {
    const SPELLINGS: &[&str] = &[
        "double precision",
        "character varying",
        "char varying",
        "bit varying",
        "timestamp",
        "time",
        "interval",
        "character",
        "float",
        "dec",
    ];
    let base = printed
        .split('(')
        .next()
        .unwrap_or(printed)
        .trim_end_matches("[]")
        .trim();
    is_builtin(base)
        || SPELLINGS
            .iter()
            .any(|spelling| base == *spelling || base.starts_with(&format!("{spelling} ")))
}

fn is_builtin(name: &str) -> bool {
    // PostgreSQL names an array type with a leading underscore: `_int4`.
    BUILTIN_TYPES.contains(&name.strip_prefix('_').unwrap_or(name))
}

/// Whether `COLLATE name` names a built-in collation.
pub(super) fn collation_allowed(name: &ObjectName) -> bool {
    match names::parts(name).as_deref() {
        Some([ident]) => BUILTIN_COLLATIONS.contains(&ident.value.to_ascii_lowercase().as_str()),
        _ => false,
    }
}

/// The configuration a text search call names, when it is not a built-in one.
pub(super) fn unknown_text_search_config(function: &Function) -> Option<String> {
    let name = names::parts(&function.name)?
        .last()?
        .value
        .to_ascii_lowercase();
    if !CONFIG_FUNCTIONS.contains(&name.as_str()) {
        return None;
    }
    let FunctionArguments::List(list) = &function.args else {
        return None;
    };
    // `ts_headline(document, query)` names no configuration; with three or more arguments
    // the first may be one.
    let least = if name == "ts_headline" { 3 } else { 2 };
    if list.args.len() < least {
        return None;
    }
    let config = match list.args.first() {
        Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(value)))) => {
            match &value.value {
                Value::SingleQuotedString(text) => text.to_ascii_lowercase(),
                other => return Some(other.to_string()),
            }
        }
        Some(other) => return Some(other.to_string()),
        None => return None,
    };
    let unqualified = config.strip_prefix("pg_catalog.").unwrap_or(&config);
    (!BUILTIN_CONFIGS.contains(&unqualified)).then_some(config)
}

//! Which functions a query may call, per dialect: side-effect-free builtins used in analytics.
//!
//! This is an allow-list: a function not named here is refused, so a new or unusual function
//! (or one spelled with escapes or quotes) fails closed. Names are the resolved names (see
//! `names::resolve`), in lower case; Snowflake's builtins resolve to upper case, so a quoted
//! lower-case Snowflake name never matches. Table functions (`generate_series`, `FLATTEN`)
//! are listed with the scalar ones: the same rules apply wherever a function appears.
//!
//! Deliberately absent: anything that sleeps, locks, reads files or the network, changes
//! settings or sequences, or reveals the session, server or other users (`current_user`,
//! `version()`, `current_setting`). `NEVER` backs the lists up at run time.

use crate::dialect::Dialect;

/// Name prefixes refused even if a careless edit adds them to a list below.
const NEVER: &[&str] = &[
    "pg_",
    "system$",
    "lo_",
    "dblink",
    "txid_",
    "sqlite_",
    "load_extension",
    "readfile",
    "writefile",
    "set_config",
    "current_setting",
    "nextval",
    "setval",
    "currval",
    "query_to_xml",
    "result_scan",
    "version",
    "fts3_tokenizer",
];

/// Whether `name` (as resolved for `dialect`) is an allowed builtin.
pub(super) fn is_allowed(dialect: Dialect, name: &str) -> bool {
    let key = match dialect {
        // Snowflake stores builtins in upper case: a quoted lower-case name is something else.
        Dialect::Snowflake if name.bytes().any(|b| b.is_ascii_lowercase()) => return false,
        Dialect::Snowflake => name.to_ascii_lowercase(),
        Dialect::Postgres | Dialect::Sqlite => name.to_owned(),
    };
    !NEVER.iter().any(|prefix| key.starts_with(prefix)) && list(dialect).contains(&key.as_str())
}

/// Whether a bare, unquoted identifier is really a call: PostgreSQL reads these keywords as
/// session functions even without parentheses, and sqlparser leaves some as column names.
pub(super) fn is_hidden_call(dialect: Dialect, unquoted: &str) -> bool {
    const POSTGRES_SESSION_KEYWORDS: &[&str] = &[
        "current_catalog",
        "current_role",
        "current_schema",
        "current_user",
        "session_user",
        "system_user",
        "user",
    ];
    // Snowflake accepts these without parentheses too.
    const SNOWFLAKE_SESSION_KEYWORDS: &[&str] = &[
        "current_account",
        "current_account_name",
        "current_available_roles",
        "current_client",
        "current_database",
        "current_ip_address",
        "current_organization_name",
        "current_region",
        "current_role",
        "current_role_type",
        "current_schema",
        "current_schemas",
        "current_secondary_roles",
        "current_session",
        "current_statement",
        "current_transaction",
        "current_user",
        "current_version",
        "current_warehouse",
    ];
    let keywords = match dialect {
        Dialect::Postgres => POSTGRES_SESSION_KEYWORDS,
        Dialect::Snowflake => SNOWFLAKE_SESSION_KEYWORDS,
        Dialect::Sqlite => return false,
    };
    keywords
        .iter()
        .any(|keyword| keyword.eq_ignore_ascii_case(unquoted))
}

/// Snowflake's table functions that `TABLE(...)` may call: they read only their arguments.
pub(super) const SNOWFLAKE_TABLE_FUNCTIONS: &[&str] = &[
    "flatten",
    "split_to_table",
    "strtok_split_to_table",
    "generator",
];

fn list(dialect: Dialect) -> &'static [&'static str] {
    match dialect {
        Dialect::Postgres => POSTGRES,
        Dialect::Sqlite => SQLITE,
        Dialect::Snowflake => SNOWFLAKE,
    }
}

#[rustfmt::skip]
const POSTGRES: &[&str] = &[
    // Aggregates.
    "count", "sum", "avg", "min", "max", "array_agg", "string_agg", "bool_and", "bool_or",
    "every", "bit_and", "bit_or", "bit_xor", "json_agg", "jsonb_agg", "json_object_agg",
    "jsonb_object_agg", "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop",
    "var_samp", "corr", "covar_pop", "covar_samp", "regr_avgx", "regr_avgy", "regr_count",
    "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy",
    "percentile_cont", "percentile_disc", "mode", "grouping", "any_value",
    // Window functions.
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
    "first_value", "last_value", "nth_value",
    // Conditional.
    "coalesce", "nullif", "greatest", "least", "num_nulls", "num_nonnulls",
    // Math.
    "abs", "cbrt", "ceil", "ceiling", "degrees", "div", "exp", "factorial", "floor", "gcd",
    "lcm", "ln", "log", "log10", "mod", "pi", "power", "pow", "radians", "round", "scale",
    "sign", "sqrt", "trunc", "width_bucket", "random", "min_scale", "trim_scale", "acos",
    "asin", "atan", "atan2", "cos", "cot", "sin", "tan", "acosd", "asind", "atand", "atan2d",
    "cosd", "cotd", "sind", "tand", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
    // Strings.
    "ascii", "bit_length", "btrim", "char_length", "character_length", "chr", "concat",
    "concat_ws", "format", "initcap", "left", "length", "lower", "lpad", "ltrim", "md5",
    "normalize", "octet_length", "overlay", "position", "quote_ident", "quote_literal",
    "quote_nullable", "regexp_count", "regexp_instr", "regexp_like", "regexp_match",
    "regexp_matches", "regexp_replace", "regexp_split_to_array", "regexp_split_to_table",
    "regexp_substr", "repeat", "replace", "reverse", "right", "rpad", "rtrim", "split_part",
    "starts_with", "string_to_array", "string_to_table", "strpos", "substr", "substring",
    "to_hex", "translate", "upper", "encode", "decode", "sha224", "sha256", "sha384",
    "sha512", "trim", "unistr", "to_ascii",
    // Full-text search.
    "to_tsvector", "to_tsquery", "plainto_tsquery", "phraseto_tsquery",
    "websearch_to_tsquery", "ts_rank", "ts_rank_cd", "ts_headline",
    // Dates and times.
    "age", "clock_timestamp", "current_date", "current_time", "current_timestamp",
    "localtime", "localtimestamp", "now", "statement_timestamp", "transaction_timestamp",
    "timeofday", "date_bin", "date_part", "date_trunc", "extract", "isfinite",
    "justify_days", "justify_hours", "justify_interval", "make_date", "make_interval",
    "make_time", "make_timestamp", "make_timestamptz", "to_char", "to_date", "to_number",
    "to_timestamp", "date_add", "date_subtract", "timezone",
    // Function-style casts (`date(ts)`, `float8(x)`).
    "date", "text", "int2", "int4", "int8", "float4", "float8", "numeric", "bool",
    "timestamp", "timestamptz", "interval", "time",
    // JSON.
    "to_json", "to_jsonb", "array_to_json", "row_to_json", "json_build_array",
    "jsonb_build_array", "json_build_object", "jsonb_build_object", "json_object",
    "jsonb_object", "json_array_length", "jsonb_array_length", "json_each", "jsonb_each",
    "json_each_text", "jsonb_each_text", "json_extract_path", "jsonb_extract_path",
    "json_extract_path_text", "jsonb_extract_path_text", "json_object_keys",
    "jsonb_object_keys", "json_array_elements", "jsonb_array_elements",
    "json_array_elements_text", "jsonb_array_elements_text", "json_typeof", "jsonb_typeof",
    "json_strip_nulls", "jsonb_strip_nulls", "jsonb_set", "jsonb_insert", "jsonb_pretty",
    "jsonb_path_exists", "jsonb_path_match", "jsonb_path_query", "jsonb_path_query_array",
    "jsonb_path_query_first", "json_to_record", "jsonb_to_record", "json_to_recordset",
    "jsonb_to_recordset",
    // Arrays and rows.
    "array", "row", "array_append", "array_cat", "array_dims", "array_fill", "array_length",
    "array_lower", "array_upper", "array_ndims", "array_position", "array_positions",
    "array_prepend", "array_remove", "array_replace", "array_to_string", "cardinality",
    "trim_array", "unnest", "generate_series", "generate_subscripts",
];

#[rustfmt::skip]
const SQLITE: &[&str] = &[
    // Aggregates.
    "count", "sum", "total", "avg", "min", "max", "group_concat", "string_agg",
    "json_group_array", "json_group_object", "median", "percentile", "percentile_cont",
    "percentile_disc",
    // Window functions.
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
    "first_value", "last_value", "nth_value",
    // Conditional and types.
    "coalesce", "ifnull", "iif", "if", "nullif", "typeof", "likelihood", "likely",
    "unlikely",
    // Math.
    "abs", "round", "sign", "random", "acos", "acosh", "asin", "asinh", "atan", "atan2",
    "atanh", "ceil", "ceiling", "cos", "cosh", "degrees", "exp", "floor", "ln", "log",
    "log10", "log2", "mod", "pi", "pow", "power", "radians", "sin", "sinh", "sqrt", "tan",
    "tanh", "trunc",
    // Strings.
    "char", "concat", "concat_ws", "format", "printf", "glob", "like", "hex", "unhex",
    "instr", "length", "octet_length", "lower", "upper", "ltrim", "rtrim", "trim", "quote",
    "replace", "soundex", "substr", "substring", "unicode",
    // Dates and times.
    "date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff",
    "current_date", "current_time", "current_timestamp",
    // JSON.
    "json", "jsonb", "json_array", "jsonb_array", "json_array_length", "json_error_position",
    "json_extract", "jsonb_extract", "json_insert", "json_object", "jsonb_object",
    "json_patch", "json_remove", "json_replace", "json_set", "json_type", "json_valid",
    "json_quote", "json_pretty", "json_each", "json_tree",
    // Table-valued.
    "generate_series",
];

#[rustfmt::skip]
const SNOWFLAKE: &[&str] = &[
    // Aggregates.
    "count", "count_if", "sum", "avg", "min", "max", "any_value", "approx_count_distinct",
    "approx_percentile", "approx_top_k", "array_agg", "arrayagg", "array_union_agg",
    "array_unique_agg", "bitand_agg", "bitor_agg", "bitxor_agg", "booland_agg",
    "boolor_agg", "boolxor_agg", "corr", "covar_pop", "covar_samp", "grouping",
    "grouping_id", "hash_agg", "kurtosis", "listagg", "max_by", "median", "min_by", "mode",
    "object_agg", "percentile_cont", "percentile_disc", "regr_avgx", "regr_avgy",
    "regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy",
    "regr_syy", "skew", "stddev", "stddev_pop", "stddev_samp", "var_pop", "var_samp",
    "variance", "variance_pop", "variance_samp",
    // Window functions.
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
    "first_value", "last_value", "nth_value", "ratio_to_report", "conditional_change_event",
    "conditional_true_event",
    // Conditional.
    "coalesce", "nullif", "nvl", "nvl2", "iff", "ifnull", "zeroifnull", "nullifzero",
    "decode", "equal_null", "greatest", "least", "booland", "boolor", "boolxor", "boolnot",
    "regr_valx", "regr_valy",
    // Math.
    "abs", "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cbrt", "ceil",
    "ceiling", "cos", "cosh", "cot", "degrees", "div0", "div0null", "exp", "factorial",
    "floor", "ln", "log", "mod", "pi", "pow", "power", "radians", "round", "sign", "sin",
    "sinh", "sqrt", "square", "tan", "tanh", "trunc", "truncate", "width_bucket",
    "haversine", "random", "uniform", "normal", "seq1", "seq2", "seq4", "seq8",
    // Strings.
    "ascii", "base64_encode", "base64_decode_string", "bit_length", "char", "chr",
    "charindex", "collate", "concat", "concat_ws", "contains", "editdistance", "endswith",
    "startswith", "hex_encode", "hex_decode_string", "ilike", "like", "initcap", "insert",
    "jarowinkler_similarity", "left", "len", "length", "lower", "lpad", "ltrim", "md5",
    "md5_hex", "octet_length", "position", "regexp_count", "regexp_instr", "regexp_like",
    "regexp_replace", "regexp_substr", "regexp_substr_all", "repeat", "replace", "reverse",
    "right", "rlike", "rpad", "rtrim", "rtrimmed_length", "sha1", "sha1_hex", "sha2",
    "sha2_hex", "soundex", "space", "split", "split_part", "strtok", "strtok_to_array",
    "substr", "substring", "translate", "trim", "unicode", "upper", "hash",
    // Dates and times.
    "add_months", "convert_timezone", "current_date", "current_time", "current_timestamp",
    "localtime", "localtimestamp", "sysdate", "getdate", "date_from_parts",
    "datefromparts", "date_part", "datediff", "dateadd", "date_trunc", "day", "dayname",
    "dayofmonth", "dayofweek", "dayofweekiso", "dayofyear", "extract", "hour", "minute",
    "second", "last_day", "month", "monthname", "months_between", "next_day",
    "previous_day", "quarter", "time_from_parts", "timefromparts", "time_slice", "timeadd",
    "timediff", "timestamp_from_parts", "timestampfromparts", "timestamp_ntz_from_parts",
    "timestamp_ltz_from_parts", "timestamp_tz_from_parts", "timestampadd", "timestampdiff",
    "week", "weekiso", "weekofyear", "year", "yearofweek", "yearofweekiso",
    // Conversions.
    "to_char", "to_varchar", "to_number", "to_numeric", "to_decimal", "to_double",
    "to_boolean", "to_date", "date", "to_time", "time", "to_timestamp", "to_timestamp_ntz",
    "to_timestamp_ltz", "to_timestamp_tz", "to_variant", "to_object", "to_array", "to_json",
    "try_to_number", "try_to_numeric", "try_to_decimal", "try_to_double", "try_to_boolean",
    "try_to_date", "try_to_time", "try_to_timestamp", "try_to_timestamp_ntz",
    "try_to_timestamp_ltz", "try_to_timestamp_tz", "try_cast",
    // Semi-structured data.
    "array_construct", "array_construct_compact", "array_append", "array_cat",
    "array_compact", "array_contains", "array_distinct", "array_except", "array_flatten",
    "array_generate_range", "array_insert", "array_intersection", "array_max", "array_min",
    "array_position", "array_prepend", "array_remove", "array_size", "array_slice",
    "array_sort", "array_to_string", "arrays_overlap", "get", "get_path",
    "get_ignore_case", "is_array", "is_object", "is_null_value", "is_boolean",
    "is_integer", "is_decimal", "is_double", "is_real", "is_varchar", "is_date",
    "is_time", "is_timestamp_ntz", "is_timestamp_ltz", "is_timestamp_tz",
    "object_construct", "object_construct_keep_null", "object_delete", "object_insert",
    "object_keys", "object_pick", "parse_json", "try_parse_json", "check_json",
    "json_extract_path_text", "strip_null_value", "typeof", "as_varchar", "as_char",
    "as_integer", "as_double", "as_real", "as_number", "as_decimal", "as_boolean",
    "as_date", "as_object", "as_array",
    // Table functions.
    "flatten", "generator", "split_to_table", "strtok_split_to_table",
];

#[cfg(test)]
mod tests {
    use super::*;

    const DIALECTS: [Dialect; 3] = [Dialect::Postgres, Dialect::Sqlite, Dialect::Snowflake];

    #[test]
    fn lists_hold_no_forbidden_name() {
        for dialect in DIALECTS {
            for name in list(dialect) {
                let forbidden = NEVER.iter().any(|prefix| name.starts_with(prefix));
                assert!(!forbidden, "{dialect} lists forbidden function {name}");
                assert_eq!(
                    name.to_ascii_lowercase(),
                    *name,
                    "{dialect}: {name} not lower case"
                );
            }
        }
    }

    #[test]
    fn lists_hold_no_duplicates() {
        for dialect in DIALECTS {
            let mut names = list(dialect).to_vec();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "{dialect} lists a function twice");
        }
    }
}

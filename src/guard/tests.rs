//! Unit cases for the guard: one `check` helper, one line per case.

use super::RejectionKind::*;
use super::*;

use Dialect::{Postgres, Snowflake, Sqlite};

/// The tables of shared/testdata/guard/fixture.sql the bot may read (not `hr_salaries`).
pub(super) const FIXTURE_TABLES: &[&str] =
    &["customers", "orders", "events", "daily_revenue", "v_orders"];

pub(super) fn fixture_policy(dialect: Dialect) -> Policy {
    let schema = dialect.default_schema();
    Policy {
        dialect,
        tables: TableAllowList::new(dialect, FIXTURE_TABLES.iter().map(|name| (schema, *name))),
    }
}

/// Checks `sql` against the fixture policy: `Ok(())` if it must be allowed, else the kind.
#[track_caller]
fn check(dialect: Dialect, sql: &str, expected: Result<(), RejectionKind>) {
    let actual = match super::check(sql, &fixture_policy(dialect)) {
        Verdict::Allowed(_) => Ok(()),
        Verdict::Rejected(rejection) => Err(rejection),
    };
    match (&actual, expected) {
        (Ok(()), Ok(())) => {}
        (Err(rejection), Err(kind)) if rejection.kind == kind => {}
        _ => panic!("{dialect}: {sql}\n  expected {expected:?}\n  got {actual:?}"),
    }
}

/// Checks the normalized text of an allowed query.
#[track_caller]
fn check_printed(dialect: Dialect, sql: &str, expected: &str) {
    match super::check(sql, &fixture_policy(dialect)) {
        Verdict::Allowed(guarded) => assert_eq!(guarded.as_str(), expected, "{dialect}: {sql}"),
        Verdict::Rejected(rejection) => panic!("{dialect}: {sql}\n  rejected: {rejection}"),
    }
}

/// Checks `with_limit(sql, max_rows)`, and that its output is itself a guarded query.
#[track_caller]
fn check_limit(dialect: Dialect, sql: &str, max_rows: u64, expected: &str) {
    let Verdict::Allowed(guarded) = super::check(sql, &fixture_policy(dialect)) else {
        panic!("{dialect}: {sql} rejected");
    };
    let limited = with_limit(&guarded, max_rows);
    assert_eq!(limited.as_str(), expected, "{dialect}: {sql}");
    match super::check(limited.as_str(), &fixture_policy(dialect)) {
        Verdict::Allowed(again) => assert_eq!(again, limited, "{dialect}: not a fixed point"),
        Verdict::Rejected(rejection) => panic!("{dialect}: {expected} rejected: {rejection}"),
    }
}

// Case tables stay one case per line; rustfmt would fold each long call over several.

#[rustfmt::skip]
#[test]
fn statements_other_than_one_query_are_rejected() {
    check(Postgres, "", Err(Empty));
    check(Postgres, "  -- nothing here\n /* at all */ ", Err(Empty));
    check(Postgres, "SELECT 1;", Ok(()));
    check(Postgres, "SELECT 1; SELECT 2", Err(MultipleStatements));
    check(Postgres, "SELEC 1", Err(Parse));
    check(Postgres, "DELETE FROM orders", Err(WritesData));
    check(Sqlite, "REPLACE INTO orders(id) VALUES (1)", Err(WritesData));
    check(Postgres, "TRUNCATE orders", Err(WritesData));
    check(Postgres, "SET statement_timeout = 0", Err(NotAQuery));
    check(Postgres, "EXPLAIN SELECT 1", Err(NotAQuery));
    check(Snowflake, "SHOW USERS", Err(NotAQuery));
    check(Sqlite, "PRAGMA query_only = 0", Err(NotAQuery));
    check(Sqlite, "ATTACH DATABASE '/tmp/evil.db' AS evil", Err(NotAQuery));
}

#[rustfmt::skip]
#[test]
fn texts_too_large_or_deep_to_check_safely_are_rejected() {
    let chain = |n: usize| format!("SELECT 1{}", " + 1".repeat(n));
    let unions = |n: usize| format!("SELECT 1{}", " UNION SELECT 1".repeat(n));
    check(Postgres, &chain(200), Ok(()));
    check(Postgres, &chain(300), Err(TooComplex));
    check(Postgres, &chain(16_000), Err(TooComplex));
    check(Postgres, &chain(20_000), Err(TooComplex));
    check(Sqlite, &unions(200), Ok(()));
    check(Sqlite, &unions(300), Err(TooComplex));
    check(Postgres, &format!("SELECT {}1{}", "(".repeat(100), ")".repeat(100)), Err(Parse));
    // Both bounds at once stay within a test thread's stack through compare, clone and drop.
    check(Postgres, &format!("{}{}", chain(250), " UNION SELECT 1".repeat(250)), Ok(()));
    let nested = (0..20).fold(chain(100), |inner, _| format!("SELECT * FROM ({inner}) AS s"));
    check(Postgres, &nested, Ok(()));
}

#[rustfmt::skip]
#[test]
fn data_changes_anywhere_in_the_tree_are_rejected() {
    check(Postgres, "WITH d AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM d", Err(WritesData));
    check(Postgres, "WITH u AS (UPDATE orders SET amount = 0 RETURNING id) SELECT 1", Err(WritesData));
    check(Postgres, "WITH i AS (INSERT INTO orders(id) VALUES (1) RETURNING id) SELECT * FROM i", Err(WritesData));
    check(Postgres, "SELECT * FROM (WITH d AS (DELETE FROM orders RETURNING id) SELECT id FROM d) s", Err(WritesData));
    check(Postgres, "WITH x AS (SELECT 1 AS id) DELETE FROM orders WHERE id IN (SELECT id FROM x)", Err(WritesData));
    check(Postgres, "SELECT * INTO loot FROM customers", Err(SelectInto));
    check(Postgres, "SELECT * FROM orders FOR UPDATE", Err(LockingClause));
    check(Postgres, "SELECT id FROM orders FOR UPDATE OF orders NOWAIT", Err(LockingClause));
    check(Postgres, "SELECT id FROM orders FOR KEY SHARE", Err(Parse));
    check(Postgres, "SELECT * FROM (SELECT * FROM orders FOR SHARE) s", Err(LockingClause));
}

#[rustfmt::skip]
#[test]
fn only_listed_tables_may_be_read() {
    check(Postgres, "SELECT * FROM hr_salaries", Err(UnknownTable));
    check(Postgres, "SELECT * FROM orders WHERE id IN (SELECT 1 FROM hr_salaries)", Err(UnknownTable));
    check(Postgres, "SELECT (SELECT max(salary) FROM hr_salaries)", Err(UnknownTable));
    check(Postgres, "SELECT * FROM orders JOIN LATERAL (SELECT * FROM hr_salaries) h ON true", Err(UnknownTable));
    check(Postgres, "SELECT * FROM public.orders", Ok(()));
    check(Postgres, "SELECT * FROM other.orders", Err(UnknownTable));
    check(Postgres, "SELECT * FROM warehouse.public.orders", Err(UnknownTable));
    // sqlparser does not parse `TABLE name` for these dialects; the walk refuses it anyway.
    check(Postgres, "TABLE orders", Err(Parse));
    check(Sqlite, "SELECT * FROM main.orders", Ok(()));
    check(Sqlite, "SELECT * FROM temp.orders", Err(UnknownTable));
    check(Sqlite, "SELECT * FROM pragma_table_info('orders')", Err(FunctionNotAllowed));
    check(Snowflake, "SELECT * FROM public.orders", Ok(()));
    check(Snowflake, "SELECT * FROM IDENTIFIER('hr_salaries')", Err(UnsupportedSyntax));
    check(Snowflake, "SELECT * FROM TABLE('hr_salaries')", Err(UnsupportedSyntax));
    check(Snowflake, "SELECT * FROM orders AT(OFFSET => -60)", Err(UnsupportedSyntax));
    check(Snowflake, "SELECT t.id FROM @secure_stage/payroll.csv AS t", Err(UnknownTable));
    check(Snowflake, "SELECT $1 FROM @secure_stage/payroll.csv", Err(UnsupportedSyntax));
}

#[rustfmt::skip]
#[test]
fn unquoted_table_names_ignore_case_quoted_ones_do_not() {
    check(Postgres, "SELECT * FROM ORDERS", Ok(()));
    check(Postgres, "SELECT * FROM Public.Orders", Ok(()));
    check(Postgres, "SELECT * FROM \"orders\"", Ok(()));
    check(Postgres, "SELECT * FROM \"ORDERS\"", Err(UnknownTable));
    check(Snowflake, "SELECT * FROM Orders", Ok(()));
    check(Snowflake, "SELECT * FROM \"ORDERS\"", Err(UnknownTable));
    check(Sqlite, "SELECT * FROM \"ORDERS\"", Ok(()));
    check(Sqlite, "SELECT * FROM [Orders]", Ok(()));
}

#[rustfmt::skip]
#[test]
fn system_catalogs_are_never_read() {
    check(Postgres, "SELECT * FROM pg_shadow", Err(SystemTable));
    check(Postgres, "SELECT * FROM pg_catalog.pg_class", Err(SystemTable));
    check(Postgres, "SELECT * FROM PG_CATALOG.orders", Err(SystemTable));
    check(Postgres, "SELECT * FROM information_schema.tables", Err(SystemTable));
    check(Sqlite, "SELECT * FROM sqlite_master", Err(SystemTable));
    check(Sqlite, "SELECT * FROM main.sqlite_schema", Err(SystemTable));
    check(Snowflake, "SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY", Err(SystemTable));
    check(Snowflake, "SELECT * FROM INFORMATION_SCHEMA.TABLES", Err(SystemTable));
}

#[test]
fn casts_that_look_up_catalog_names_are_rejected() {
    check(
        Postgres,
        "SELECT 'hr_salaries'::regclass",
        Err(UnsupportedSyntax),
    );
    check(
        Postgres,
        "SELECT CAST('pg_sleep' AS regproc)",
        Err(UnsupportedSyntax),
    );
    check(
        Postgres,
        "SELECT 'int4'::pg_catalog.regtype",
        Err(UnsupportedSyntax),
    );
    check(
        Postgres,
        "SELECT regclass 'hr_salaries'",
        Err(UnsupportedSyntax),
    );
    check(
        Postgres,
        "SELECT '{pg_authid}'::regclass[]",
        Err(UnsupportedSyntax),
    );
    check(
        Postgres,
        "SELECT ARRAY['orders']::_regclass",
        Err(UnsupportedSyntax),
    );
    check(
        Postgres,
        "SELECT id::text, amount::numeric(12, 2) FROM orders",
        Ok(()),
    );
}

#[test]
fn attribute_notation_cannot_call_functions() {
    // PostgreSQL runs `(x).f` as `f(x)`.
    check(Postgres, "SELECT ('.').pg_ls_dir", Err(UnsupportedSyntax));
    check(
        Postgres,
        "SELECT (42).pg_advisory_lock",
        Err(UnsupportedSyntax),
    );
    check(
        Postgres,
        "SELECT ('server_version').current_setting",
        Err(UnsupportedSyntax),
    );
    check(
        Postgres,
        "SELECT o.id, (o.id).pg_terminate_backend FROM orders o",
        Err(UnsupportedSyntax),
    );
    check(Postgres, "SELECT o.id, o.amount FROM orders o", Ok(()));
    check(Postgres, "SELECT tags[1] FROM orders", Ok(()));
}

#[rustfmt::skip]
#[test]
fn ordering_uses_only_the_builtin_comparison_operators() {
    check(Postgres, "SELECT * FROM orders ORDER BY id USING <", Ok(()));
    check(Postgres, "SELECT * FROM orders ORDER BY id USING >, amount USING <=", Ok(()));
    check(Postgres, "SELECT row_number() OVER (ORDER BY id USING >) FROM orders", Ok(()));
    check(Postgres, "SELECT * FROM orders ORDER BY id USING OPERATOR(public.<)", Err(UnsupportedSyntax));
    check(Postgres, "SELECT * FROM orders ORDER BY id USING ~<~", Err(UnsupportedSyntax));
    check(Postgres, "SELECT * FROM orders ORDER BY id USING @@", Err(UnsupportedSyntax));
    check(Postgres, "SELECT * FROM orders JOIN customers USING (id)", Ok(()));
    check(Postgres, "SELECT 'USING <' AS note FROM orders", Ok(()));
}

#[test]
fn system_catalogs_stay_closed_even_when_listed() {
    let tables = [("pg_catalog", "pg_class"), ("public", "pg_stuff")];
    let policy = Policy {
        dialect: Postgres,
        tables: TableAllowList::new(Postgres, tables),
    };
    for sql in [
        "SELECT * FROM pg_catalog.pg_class",
        "SELECT * FROM pg_stuff",
    ] {
        let verdict = super::check(sql, &policy);
        assert!(
            matches!(&verdict, Verdict::Rejected(rejection) if rejection.kind == SystemTable),
            "{sql}: {verdict:?}"
        );
    }
}

#[rustfmt::skip]
#[test]
fn cte_names_are_tables_only_in_their_scope() {
    check(Postgres, "WITH t AS (SELECT * FROM orders) SELECT * FROM t", Ok(()));
    check(Postgres, "WITH a AS (SELECT 1 AS x), b AS (SELECT * FROM a) SELECT * FROM b", Ok(()));
    check(Postgres, "WITH T AS (SELECT 1 AS x) SELECT * FROM t", Ok(()));
    check(Postgres, "WITH t AS (SELECT 1 AS x) SELECT * FROM (SELECT * FROM t) s WHERE x IN (SELECT x FROM t)", Ok(()));
    check(Postgres, "WITH a AS (SELECT 1) SELECT * FROM (WITH b AS (SELECT * FROM a) SELECT * FROM b) s", Ok(()));
    check(Postgres, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT * FROM n", Ok(()));
    // A CTE's own body, or an earlier sibling, sees the real table of that name.
    check(Postgres, "WITH hr_salaries AS (SELECT * FROM hr_salaries) SELECT * FROM hr_salaries", Err(UnknownTable));
    check(Postgres, "WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", Err(UnknownTable));
    // A CTE is invisible outside the query that defines it.
    check(Postgres, "SELECT * FROM (WITH h AS (SELECT 1) SELECT * FROM h) s, h", Err(UnknownTable));
    check(Postgres, "SELECT * FROM (WITH hr_salaries AS (SELECT 1) SELECT 1) s, hr_salaries", Err(UnknownTable));
    check(Postgres, "SELECT (WITH hr_salaries AS (SELECT 1) SELECT 1), (SELECT 1 FROM hr_salaries)", Err(UnknownTable));
    // Case folding follows the dialect: PostgreSQL's "T" is not t, Snowflake's is.
    check(Postgres, "WITH \"T\" AS (SELECT 1) SELECT * FROM t", Err(UnknownTable));
    check(Snowflake, "WITH \"T\" AS (SELECT 1) SELECT * FROM t", Ok(()));
    check(Postgres, "WITH t AS (SELECT 1) SELECT * FROM public.t", Err(UnknownTable));
}

#[rustfmt::skip]
#[test]
fn only_allow_listed_functions_may_be_called() {
    check(Postgres, "SELECT pg_sleep(4)", Err(FunctionNotAllowed));
    check(Postgres, "SELECT \"pg_sleep\"(4)", Err(FunctionNotAllowed));
    check(Postgres, "SELECT PG_CATALOG.PG_SLEEP(4)", Err(FunctionNotAllowed));
    check(Postgres, "SELECT pg_catalog.count(*) FROM orders", Ok(()));
    check(Postgres, "SELECT pg_catalog.date_trunc('month', created_at) FROM orders", Ok(()));
    check(Postgres, "SELECT \"pg_catalog\".lower(status) FROM orders", Ok(()));
    check(Postgres, "SELECT pg_catalog.pg_sleep(1)", Err(FunctionNotAllowed));
    check(Postgres, "SELECT public.date_trunc('month', created_at) FROM orders", Err(FunctionNotAllowed));
    check(Postgres, "SELECT \"PG_CATALOG\".count(*) FROM orders", Err(FunctionNotAllowed));
    check(Postgres, "SELECT set_config('statement_timeout', '0', false)", Err(FunctionNotAllowed));
    check(Postgres, "SELECT current_setting('app.api_key')", Err(FunctionNotAllowed));
    check(Postgres, "SELECT CURRENT_USER", Err(FunctionNotAllowed));
    check(Postgres, "SELECT current_role, current_schema", Err(FunctionNotAllowed));
    check(Postgres, "SELECT o.user, \"user\" FROM orders o", Ok(()));
    check(Sqlite, "SELECT user FROM orders", Ok(()));
    check(Postgres, "SELECT * FROM dblink('host=x', 'SELECT 1') AS t(c int)", Err(FunctionNotAllowed));
    check(Postgres, "SELECT 1 FROM orders WHERE a OPERATOR(public.+) b", Err(UnsupportedSyntax));
    check(Postgres, "SELECT id FROM orders ORDER BY pg_sleep(0.01)", Err(FunctionNotAllowed));
    check(Postgres, "SELECT COUNT(*), Sum(amount) FROM orders", Ok(()));
    check(Postgres, "SELECT \"COUNT\"(*) FROM orders", Err(FunctionNotAllowed));
    check(Postgres, "SELECT * FROM generate_series(1, 3) AS g", Ok(()));
    check(Sqlite, "SELECT load_extension('evil')", Err(FunctionNotAllowed));
    check(Sqlite, "SELECT \"COUNT\"(*) FROM orders", Ok(()));
    check(Snowflake, "SELECT SYSTEM$WAIT(3600)", Err(FunctionNotAllowed));
    check(Snowflake, "SELECT * FROM TABLE(RESULT_SCAN(LAST_QUERY_ID()))", Err(FunctionNotAllowed));
    check(Snowflake, "SELECT * FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY())", Err(FunctionNotAllowed));
    check(Snowflake, "SELECT \"COUNT\"(*) FROM orders", Ok(()));
    check(Snowflake, "SELECT \"count\"(*) FROM orders", Err(FunctionNotAllowed));
}

#[rustfmt::skip]
#[test]
fn unicode_escaped_identifiers_are_judged_by_what_runs() {
    // sqlparser reads U&"..." as `U & "..."`, and what runs is that printed form: the
    // escaped name is never decoded into pg_sleep, and never matches the allow-list.
    check(Postgres, r#"SELECT U&"\0070g_sleep"(4)"#, Err(FunctionNotAllowed));
    check(Postgres, r#"SELECT U&"\0063ount"(*) FROM orders"#, Err(FunctionNotAllowed));
    check(Postgres, r#"SELECT * FROM U&"\0068r_salaries""#, Err(Parse));
    check(Postgres, "SELECT 1\u{ff1b} DROP TABLE orders", Err(Parse));
}

#[rustfmt::skip]
#[test]
fn allowed_sql_is_the_normalized_print() {
    check_printed(Postgres, "select count(*) /* c */ from orders -- x\n;", "SELECT count(*) FROM orders");
    check_printed(Postgres, "SELECT $$; DELETE$$ AS s", "SELECT $$; DELETE$$ AS s");
    check_printed(Snowflake, r"SELECT '\'; DELETE FROM orders; --'", "SELECT '''; DELETE FROM orders; --'");
}

#[rustfmt::skip]
#[test]
fn a_print_that_parses_differently_is_rejected() {
    // sqlparser 0.63 printed `- -1` as `--1`, a comment; 0.64 keeps the space. Either way
    // the statement that runs is the one that was checked.
    check(Postgres, "SELECT - -1", Ok(()));
    check(Postgres, "SELECT amount FROM orders WHERE id = - -1", Ok(()));
    check(Postgres, "SELECT -(-1)", Ok(()));
    // Snowflake's backslash escapes are printed unescaped: `'c\\d'` would come back as `'cd'`.
    check(Snowflake, r"SELECT 'c\\d'", Err(RoundTripMismatch));
    check(Snowflake, r"SELECT 'it\'s'", Ok(()));
}

#[test]
fn policy_and_table_list_must_share_a_dialect() {
    let policy = Policy {
        dialect: Postgres,
        tables: fixture_policy(Sqlite).tables,
    };
    let Verdict::Rejected(rejection) = super::check("SELECT 1", &policy) else {
        panic!("mismatched policy allowed a query");
    };
    assert_eq!(rejection.kind, PolicyMismatch);
}

#[test]
fn reasons_are_sentences_and_kinds_are_log_words() {
    let policy = fixture_policy(Postgres);
    let Verdict::Rejected(rejection) = super::check("DELETE FROM orders", &policy) else {
        panic!("DELETE allowed");
    };
    assert_eq!(
        rejection.reason(),
        "This query would change data (DELETE); querybot only reads."
    );
    assert_eq!(rejection.to_string(), "writes_data: DELETE");
}

#[rustfmt::skip]
#[test]
fn with_limit_adds_or_tightens_but_never_loosens() {
    check_limit(Postgres, "SELECT id FROM orders", 100, "SELECT id FROM orders LIMIT 100");
    check_limit(Postgres, "SELECT id FROM orders LIMIT 5000", 100, "SELECT id FROM orders LIMIT 100");
    check_limit(Postgres, "SELECT id FROM orders LIMIT 5", 100, "SELECT id FROM orders LIMIT 5");
    check_limit(Postgres, "SELECT id FROM orders LIMIT ALL", 100, "SELECT id FROM orders LIMIT 100");
    check_limit(Postgres, "SELECT id FROM orders LIMIT NULL", 100, "SELECT id FROM orders LIMIT 100");
    check_limit(Postgres, "SELECT id FROM orders ORDER BY amount DESC OFFSET 20", 100, "SELECT id FROM orders ORDER BY amount DESC LIMIT 100 OFFSET 20");
    check_limit(Postgres, "SELECT id FROM orders ORDER BY id LIMIT 500 OFFSET 20", 100, "SELECT id FROM orders ORDER BY id LIMIT 100 OFFSET 20");
    check_limit(Postgres, "SELECT a FROM orders UNION SELECT b FROM events ORDER BY 1", 10, "SELECT a FROM orders UNION SELECT b FROM events ORDER BY 1 LIMIT 10");
    check_limit(Postgres, "(SELECT a FROM orders LIMIT 50) UNION ALL (SELECT b FROM events LIMIT 50)", 10, "(SELECT a FROM orders LIMIT 50) UNION ALL (SELECT b FROM events LIMIT 50) LIMIT 10");
    check_limit(Postgres, "WITH t AS (SELECT id FROM orders LIMIT 1000) SELECT * FROM t", 10, "WITH t AS (SELECT id FROM orders LIMIT 1000) SELECT * FROM t LIMIT 10");
    check_limit(Postgres, "SELECT id FROM orders ORDER BY id OFFSET 10 ROWS FETCH FIRST 500 ROWS ONLY", 100, "SELECT id FROM orders ORDER BY id OFFSET 10 ROWS FETCH FIRST 100 ROWS ONLY");
    check_limit(Postgres, "SELECT id FROM orders FETCH FIRST 5 ROWS ONLY", 100, "SELECT id FROM orders FETCH FIRST 5 ROWS ONLY");
    check_limit(Postgres, "SELECT id FROM orders FETCH FIRST ROW ONLY", 0, "SELECT id FROM orders FETCH FIRST 0 ROWS ONLY");
    // Caps that cannot be compared with a number are kept, under an outer LIMIT.
    check_limit(Postgres, "SELECT id FROM orders ORDER BY id FETCH FIRST 5 ROWS WITH TIES", 100, "SELECT * FROM (SELECT id FROM orders ORDER BY id FETCH FIRST 5 ROWS WITH TIES) AS limited LIMIT 100");
    check_limit(Postgres, "SELECT id FROM orders LIMIT (SELECT count(*) FROM events)", 100, "SELECT * FROM (SELECT id FROM orders LIMIT (SELECT count(*) FROM events)) AS limited LIMIT 100");
    check_limit(Sqlite, "SELECT id FROM orders LIMIT -1", 100, "SELECT * FROM (SELECT id FROM orders LIMIT -1) AS limited LIMIT 100");
    check_limit(Sqlite, "SELECT id FROM orders LIMIT 20, 500", 100, "SELECT id FROM orders LIMIT 20, 100");
    check_limit(Snowflake, "SELECT TOP 500 id FROM orders ORDER BY id", 100, "SELECT TOP 100 id FROM orders ORDER BY id");
    check_limit(Snowflake, "SELECT TOP 5 id FROM orders", 100, "SELECT TOP 5 id FROM orders");
    check_limit(Snowflake, "SELECT id FROM orders QUALIFY ROW_NUMBER() OVER (ORDER BY id) = 1", 100, "SELECT id FROM orders QUALIFY ROW_NUMBER() OVER (ORDER BY id) = 1 LIMIT 100");
    check_limit(Snowflake, "SELECT id FROM orders LIMIT 5000 OFFSET 10", 100, "SELECT id FROM orders LIMIT 100 OFFSET 10");
}

#[rustfmt::skip]
#[test]
fn only_means_what_postgres_means() {
    check(Postgres, "SELECT * FROM ONLY orders", Ok(()));
    check(Postgres, "SELECT o.id FROM ONLY orders AS o JOIN ONLY customers c ON c.id = o.customer_id", Ok(()));
    check(Postgres, "SELECT setconfig FROM ONLY pg_db_role_setting", Err(SystemTable));
    check(Postgres, "SELECT * FROM ONLY hr_salaries", Err(UnknownTable));
    check(Postgres, "SELECT * FROM ONLY (hr_salaries)", Err(UnknownTable));
    check_printed(Postgres, "select * from only orders", "SELECT * FROM ONLY orders");
}

#[test]
fn a_table_named_only_does_not_open_the_system_catalogs() {
    // The attack that found the bug: a listed relation called `only`.
    let policy = Policy {
        dialect: Postgres,
        tables: TableAllowList::new(Postgres, [("public", "only"), ("public", "orders")]),
    };
    for sql in [
        "SELECT setconfig FROM ONLY pg_db_role_setting",
        "SELECT relname FROM ONLY pg_class",
        "SELECT prosrc FROM ONLY pg_proc",
        "SELECT rolpassword FROM ONLY pg_authid",
    ] {
        let Verdict::Rejected(rejection) = super::check(sql, &policy) else {
            panic!("allowed: {sql}");
        };
        assert_eq!(rejection.kind, SystemTable, "{sql}");
    }
    assert!(matches!(
        super::check("SELECT * FROM \"only\"", &policy),
        Verdict::Allowed(_)
    ));
}

#[rustfmt::skip]
#[test]
fn reserved_words_are_never_names_in_postgres() {
    // sqlparser reads these as names; PostgreSQL reads them as syntax.
    check(Postgres, "SELECT * FROM orders ONLY", Err(UnsupportedSyntax));
    check(Postgres, "SELECT * FROM lateral", Err(Parse));
    check(Postgres, "SELECT * FROM tablesample x", Err(UnsupportedSyntax));
    check(Postgres, "SELECT * FROM orders natural", Err(Parse));
    check(Postgres, "SELECT * FROM orders AS natural", Err(UnsupportedSyntax));
    check(Postgres, "SELECT * FROM orders AS o(full)", Err(UnsupportedSyntax));
    check(Postgres, "SELECT verbose FROM orders", Err(UnsupportedSyntax));
    check(Postgres, "SELECT similar.id FROM orders", Err(UnsupportedSyntax));
    check(Postgres, "SELECT * FROM (SELECT 1) AS join", Err(UnsupportedSyntax));
    // Quoted, a reserved word is an ordinary name; unreserved key words are names anyway.
    check(Postgres, "SELECT \"only\", \"user\" FROM orders AS \"lateral\"", Ok(()));
    check(Postgres, "SELECT status, name, year, date FROM orders", Ok(()));
    check(Postgres, "SELECT current_date, current_timestamp, localtime FROM orders", Ok(()));
    check(Postgres, "SELECT left(status, 2), right(status, 1) FROM orders", Ok(()));
    check(Postgres, "SELECT a AS from_date, 1 AS \"order\" FROM orders", Ok(()));
    check(Postgres, "SELECT o.user, o.only FROM public.orders o", Ok(()));
    // SQLite takes most key words as names.
    check(Sqlite, "SELECT * FROM orders AS natural", Ok(()));
}

/// Texts whose trees would be as deep as they are long, each within the size limit.
fn deep_texts() -> Vec<String> {
    let chain = |head: &str, link: &str, tail: &str| {
        let n = (MAX_SQL_BYTES - head.len() - tail.len()) / link.len();
        format!("{head}{}{tail}", link.repeat(n))
    };
    vec![
        chain("SELECT ", "1+", "1"),
        chain("SELECT ", "1 + ", "1"),
        chain("SELECT 1 FROM orders WHERE ", "a AND ", "b"),
        chain("SELECT 1 FROM orders WHERE ", "NOT ", "a"),
        chain("SELECT 1", "::int", ""),
        chain("SELECT ", "'x'||", "'x'"),
        chain("SELECT tags", "[1]", " FROM orders"),
        chain("SELECT 1 FROM orders WHERE a ", "IS NULL ", ""),
        chain("SELECT 1", " UNION SELECT 1", ""),
        chain("SELECT ", "- ", "1"),
        chain("SELECT ", "(", "1"),
        chain("SELECT ", "CASE WHEN a THEN ", "1"),
        // Just under the operator bound: parsed, refused by the walk, dropped safely.
        format!("SELECT {}1", "1+".repeat(tokens::MAX_OPERATORS)),
        format!(
            "SELECT 1{}",
            " UNION SELECT 1".repeat(tokens::MAX_OPERATORS)
        ),
    ]
}

#[test]
fn deep_texts_are_refused_on_a_two_megabyte_stack() {
    // A tokio worker's stack: where the guard runs inside `serve`.
    let worker = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            for dialect in [Postgres, Sqlite, Snowflake] {
                for sql in deep_texts() {
                    let verdict = super::check(&sql, &fixture_policy(dialect));
                    assert!(
                        matches!(verdict, Verdict::Rejected(_)),
                        "{dialect}: allowed {}…",
                        &sql[..60.min(sql.len())]
                    );
                }
            }
        })
        .expect("thread starts");
    worker.join().expect("the guard did not overflow its stack");
}

#[rustfmt::skip]
#[test]
fn long_but_flat_queries_are_allowed() {
    let in_list = (0..5_000).map(|n| n.to_string()).collect::<Vec<_>>().join(", ");
    check(Postgres, &format!("SELECT id FROM orders WHERE id IN ({in_list})"), Ok(()));
    let ors = (0..200).map(|n| format!("id = {n}")).collect::<Vec<_>>().join(" OR ");
    check(Postgres, &format!("SELECT id FROM orders WHERE {ors}"), Ok(()));
}

#[rustfmt::skip]
#[test]
fn amplifying_functions_take_small_literal_sizes() {
    check(Postgres, "SELECT array_fill(NULL::int, ARRAY[130000000])", Err(OversizedValue));
    check(Postgres, "SELECT array_fill(0, '{100000, 100000}'::int[])", Err(OversizedValue));
    check(Postgres, "SELECT repeat('x', 300000000)", Err(OversizedValue));
    check(Postgres, "SELECT id FROM orders WHERE status = repeat('x', 200000000)", Err(OversizedValue));
    check(Postgres, "SELECT lpad('', 1e9::int, 'x')", Err(OversizedValue));
    check(Postgres, "SELECT rpad(status, 50000) FROM orders", Err(OversizedValue));
    check(Postgres, "SELECT repeat(repeat('x', 10000), 10000)", Err(OversizedValue));
    check(Postgres, "SELECT replace(repeat('x', 1000), 'x', repeat('y', 1000))", Err(OversizedValue));
    check(Postgres, "SELECT format('%400000000s', 'x')", Err(OversizedValue));
    check(Sqlite, "SELECT printf('%.*c', 400000000, 'x')", Err(OversizedValue));
    check(Sqlite, "SELECT printf('%.400000000c', 'x')", Err(OversizedValue));
    check(Sqlite, "SELECT zeroblob(400000000)", Err(FunctionNotAllowed));
    check(Snowflake, "SELECT REPEAT('x', 300000000)", Err(OversizedValue));
    // What analytics needs stays allowed.
    check(Postgres, "SELECT lpad(id::text, 8, '0'), repeat('#', 20) FROM orders", Ok(()));
    check(Postgres, "SELECT status, repeat('█', (count(*) / 10)::int) FROM orders GROUP BY status", Ok(()));
    check(Postgres, "SELECT replace(status, '_', ' ') FROM orders", Ok(()));
    check(Postgres, "SELECT format('%s: %s', status, 1234567890) FROM orders", Ok(()));
    check(Sqlite, "SELECT printf('%.2f', amount) FROM orders", Ok(()));
    // Ordinary clean-ups nest these functions; data-dependent sizes are left to the caps.
    check(Postgres, "SELECT replace(replace(status, '$', ''), ',', '') FROM orders", Ok(()));
    check(Postgres, "SELECT lpad(replace(status, '-', ''), 10, '0') FROM orders", Ok(()));
    check(Postgres, "SELECT format('%s-%s', id, lpad(id::text, 2, '0')) FROM orders", Ok(()));
    check(Postgres, "SELECT repeat('#', (amount / 100000)::int) FROM orders", Ok(()));
    check(Postgres, "SELECT format('%s of 100000', id) FROM orders", Ok(()));
    // Constant sizes are folded, as the database folds them.
    check(Postgres, "SELECT repeat('x', 10000 * 10000)", Err(OversizedValue));
    check(Postgres, "SELECT array_fill(0, ARRAY[1000, 1000])", Err(OversizedValue));
    check(Postgres, "SELECT replace(status, 'a', repeat('b', 100)) FROM orders", Err(OversizedValue));
}

#[rustfmt::skip]
#[test]
fn casts_name_only_builtin_types_and_listed_column_types() {
    // Oracles about what is not listed: existence, columns, roles.
    check(Postgres, "SELECT to_json(ROW(1, 2, 3, 4, 5)::hr_salaries)", Err(UnsupportedSyntax));
    check(Postgres, "SELECT NULL::secret_table", Err(UnsupportedSyntax));
    check(Postgres, "SELECT 'somerole=r/postgres'::aclitem", Err(UnsupportedSyntax));
    check(Postgres, "SELECT aclitem 'somerole=r/postgres'", Err(UnsupportedSyntax));
    check(Postgres, "SELECT CAST(NULL AS hidden_schema.t)", Err(UnsupportedSyntax));
    check(Postgres, "SELECT NULL::secret_table[]", Err(UnsupportedSyntax));
    check(Postgres, "SELECT status COLLATE \"x\" FROM orders", Err(UnsupportedSyntax));
    check(Postgres, "SELECT to_tsvector('secret_cfg', status) FROM orders", Err(UnsupportedSyntax));
    // What analytics casts to.
    check(Postgres, "SELECT amount::numeric(12, 2), id::text, created_at::date, '2024-01-01'::timestamptz FROM orders", Ok(()));
    check(Postgres, "SELECT id::int4, amount::float8, tags::text[], '{1}'::_int4, x::pg_catalog.int8 FROM orders", Ok(()));
    check(Postgres, "SELECT CAST(amount AS double precision), DATE '2024-01-01', INTERVAL '1 day' FROM orders", Ok(()));
    check(Postgres, "SELECT status COLLATE \"C\" FROM orders ORDER BY 1", Ok(()));
    check(Postgres, "SELECT to_tsvector('english', status), to_tsvector(status) FROM orders", Ok(()));
    check(Postgres, "SELECT ROW(1, 2)::datetime", Err(UnsupportedSyntax));
    check(Postgres, "SELECT CAST(id AS STRING) FROM orders", Err(UnsupportedSyntax));
    check(Postgres, "SELECT ts_headline('secretcfg', status, 'a'::tsquery) FROM orders", Err(UnsupportedSyntax));
    check(Postgres, "SELECT ts_headline(status, 'a'::tsquery), ts_headline('english', status, 'a'::tsquery) FROM orders", Ok(()));
    check(Postgres, "SELECT created_at::timestamp with time zone, amount::double precision, status::character varying(20), amount::float FROM orders", Ok(()));
    // SQLite's casts look nothing up.
    check(Sqlite, "SELECT CAST(amount AS secret_table) FROM orders", Ok(()));
}

#[test]
fn casts_may_name_the_types_of_listed_columns() {
    use crate::catalog::{Catalog, Column, Table, TableKind};
    let column = |name: &str, data_type: &str| Column {
        name: name.into(),
        data_type: data_type.into(),
        nullable: true,
        comment: None,
        samples: Vec::new(),
    };
    let catalog = Catalog {
        dialect: Postgres,
        tables: vec![Table {
            schema: "public".into(),
            name: "orders".into(),
            kind: TableKind::Table,
            comment: None,
            row_estimate: None,
            columns: vec![
                column("status", "order_status"),
                column("tags", "sales.tag[]"),
            ],
            primary_key: Vec::new(),
            foreign_keys: Vec::new(),
            caveat: None,
        }],
    };
    let policy = Policy::from_catalog(&catalog);
    for (sql, allowed) in [
        (
            "SELECT id FROM orders WHERE status = 'paid'::order_status",
            true,
        ),
        ("SELECT 'a'::sales.tag, 'b'::tag", true),
        ("SELECT 'paid'::other_enum", false),
    ] {
        let verdict = super::check(sql, &policy);
        assert_eq!(
            matches!(verdict, Verdict::Allowed(_)),
            allowed,
            "{sql}: {verdict:?}"
        );
    }
}

#[rustfmt::skip]
#[test]
fn snowflake_session_values_and_table_functions_are_refused_like_postgres_ones() {
    for name in ["CURRENT_USER", "CURRENT_ROLE", "CURRENT_ACCOUNT", "CURRENT_WAREHOUSE", "current_database"] {
        check(Snowflake, &format!("SELECT {name}"), Err(FunctionNotAllowed));
    }
    check(Snowflake, "SELECT $secret", Err(UnsupportedSyntax));
    check(Postgres, "SELECT $1", Err(UnsupportedSyntax));
    check(Sqlite, "SELECT * FROM orders WHERE id = :id", Err(UnsupportedSyntax));
    check(Snowflake, "SELECT * FROM TABLE(upper('x'))", Err(UnsupportedSyntax));
    check(Snowflake, "SELECT * FROM TABLE(my_udf())", Err(FunctionNotAllowed));
    check(Postgres, "SELECT * FROM TABLE(upper('x'))", Err(UnsupportedSyntax));
    check(Snowflake, "SELECT f.value FROM orders, TABLE(FLATTEN(input => orders.tags)) AS f", Ok(()));
    check(Snowflake, "SELECT CURRENT_DATE, CURRENT_TIMESTAMP", Ok(()));
    check(Snowflake, "SELECT \"CURRENT_USER\" FROM orders", Ok(()));
}

#[rustfmt::skip]
#[test]
fn literals_whose_printed_form_means_something_else_are_refused() {
    // PostgreSQL 15 reads `0x1F` as `0 AS x1F`; SQLite and Snowflake print it as a blob.
    check(Postgres, "SELECT 0x1F", Err(UnsupportedSyntax));
    check(Sqlite, "SELECT 0X1f AS n", Err(UnsupportedSyntax));
    check(Postgres, "SELECT 123abc", Err(UnsupportedSyntax));
    check(Snowflake, "SELECT 1e3x FROM orders", Err(UnsupportedSyntax));
    check(Sqlite, "SELECT X'1F' AS b, 123 AS abc, 1e3 AS n, '0x1F' AS s", Ok(()));
    check(Sqlite, "SELECT 0x1F AS n -- x'1f'", Err(UnsupportedSyntax));
    check(Sqlite, "SELECT 1 AS a,\n  0x1F AS n", Err(UnsupportedSyntax));
    check(Sqlite, "SELECT 1 AS a,\n  X'1F' AS b -- 0x1f", Ok(()));
    check(Postgres, "SELECT 123 AS abc, 0 AS x", Ok(()));
    // REGEXP and MATCH call functions by name in SQLite; none is registered.
    check(Sqlite, "SELECT 1 FROM orders WHERE status REGEXP 'a'", Err(FunctionNotAllowed));
    check(Sqlite, "SELECT 1 FROM orders WHERE status MATCH 'a'", Err(FunctionNotAllowed));
    check(Snowflake, "SELECT 1 FROM orders WHERE status REGEXP 'a'", Ok(()));
}

#[rustfmt::skip]
#[test]
fn column_definition_lists_and_returning_clauses_name_types_like_casts() {
    check(Postgres, r#"SELECT * FROM jsonb_to_recordset('[{"a":16384}]') AS x(a regclass)"#, Err(UnsupportedSyntax));
    check(Postgres, r#"SELECT * FROM jsonb_to_record('{"a":{}}') AS x(a secret_table)"#, Err(UnsupportedSyntax));
    check(Postgres, r#"SELECT * FROM jsonb_to_recordset('[{"a":1,"b":"x"}]') AS x(a int, b text)"#, Ok(()));
}

#[test]
fn canonical_text_ignores_case_and_spacing_but_not_quoted_text() {
    let canonical = |sql| super::canonical(sql, Dialect::Postgres);
    assert_eq!(
        canonical("select COUNT(*) as n\n  from Orders"),
        canonical("SELECT count(*) AS n FROM orders")
    );
    assert_ne!(
        canonical("SELECT * FROM orders WHERE region = 'EU'"),
        canonical("SELECT * FROM orders WHERE region = 'eu'")
    );
    assert_ne!(
        canonical(r#"SELECT "Total" FROM t"#),
        canonical("SELECT total FROM t")
    );
    assert_eq!(canonical("SELECT 1; SELECT 2"), None);
}

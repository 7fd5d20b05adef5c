//! Warehouses against real databases, what is particular to each: every type PostgreSQL and
//! SQLite return, introspection, isolation, resource attacks. What every warehouse shares is
//! in `warehouse_contract`.

use std::sync::Arc;
use std::time::Duration;

use bigdecimal::BigDecimal;
use chrono::{NaiveDate, Utc};
use querybot::catalog::{Catalog, Caveat, ForeignKey, TableKind};
use querybot::config::WarehouseKind;
use querybot::dialect::Dialect;
use querybot::guard::{self, Policy, TableAllowList, Verdict};
use querybot::warehouse::{
    self, Caps, Collected, RowSink, SinkError, Truncation, Value, ValueKind, Warehouse,
    WarehouseError,
};
use sqlx::{Connection, PgConnection};

use crate::support::db::{PgDatabase, SqliteFile, VIEWS_WITH_AND_WITHOUT_BARRIER};
use crate::support::testdata;
use crate::support::warehouse::{CAPS, connection, guarded, run};

/// The guard corpus's PostgreSQL fixture, loaded into a fresh database.
async fn fixture_postgres() -> (PgDatabase, Arc<dyn Warehouse>) {
    let db = PgDatabase::create().await;
    let fixture = std::fs::read_to_string(testdata("guard/fixture.sql")).expect("fixture");
    db.run_script(&fixture).await;
    db.run_script("COMMENT ON TABLE orders IS 'One row per order.'; COMMENT ON COLUMN orders.amount IS 'Order total in EUR.'")
        .await;
    let warehouse =
        warehouse::connect(&connection(WarehouseKind::Postgres, &db.url)).expect("connects");
    (db, warehouse)
}

/// A copy of the Chinook sample database (the warehouse opens it read-only anyway).
async fn chinook() -> (SqliteFile, Arc<dyn Warehouse>) {
    let file = SqliteFile::new("chinook.sqlite");
    std::fs::copy(testdata("sample_dbs/Chinook_Sqlite.sqlite"), &file.path).expect("copy");
    let warehouse =
        warehouse::connect(&connection(WarehouseKind::Sqlite, &file.url())).expect("connects");
    (file, warehouse)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

#[tokio::test]
async fn postgres_values_come_out_typed() {
    let (db, warehouse) = fixture_postgres().await;
    let (result, rows) = run(
        warehouse.as_ref(),
        "SELECT id, customer_id::smallint AS small, amount, amount::float8 AS approx, status, \
         created_at, created_at::date AS day, created_at::timestamp AS local, delete_flag, tags, \
         NULL::text AS nothing, '{\"tier\": \"gold\"}'::jsonb AS attrs \
         FROM orders WHERE id = 3",
        &CAPS,
    )
    .await;
    let execution = result.expect("runs");
    assert_eq!(execution.row_count, 1);
    assert_eq!(execution.truncated, None);
    let kinds: Vec<ValueKind> = execution.columns.iter().map(|c| c.kind).collect();
    use ValueKind::*;
    assert_eq!(
        kinds,
        [
            Int,
            Int,
            Decimal,
            Float,
            Text,
            TimestampTz,
            Date,
            Timestamp,
            Bool,
            Json,
            Text,
            Json
        ]
    );
    // The fixture's timestamps are read in the server's time zone; ask it what they are.
    let mut admin = PgConnection::connect(&db.url)
        .await
        .expect("admin connects");
    let (created, local): (chrono::DateTime<Utc>, chrono::NaiveDateTime) =
        sqlx::query_as("SELECT created_at, created_at::timestamp FROM orders WHERE id = 3")
            .fetch_one(&mut admin)
            .await
            .expect("fixture row");
    assert_eq!(
        rows.rows[0],
        [
            Value::Int(3),
            Value::Int(4),
            Value::Decimal("22.50".parse::<BigDecimal>().expect("decimal")),
            Value::Float(22.5),
            Value::Text("paid".into()),
            Value::TimestampTz(created),
            Value::Date(local.date()),
            Value::Timestamp(local),
            Value::Bool(false),
            Value::Json(serde_json::json!(["a", "b"])),
            Value::Null,
            Value::Json(serde_json::json!({"tier": "gold"})),
        ]
    );
}

#[tokio::test]
async fn a_slow_query_is_stopped_at_the_timeout() {
    let (db, warehouse) = fixture_postgres().await;
    assert_stopped_at_the_timeout(
        warehouse.as_ref(),
        "SELECT count(*) FROM orders a, orders b, orders c, orders d",
        "SELECT count(*) FROM orders",
    )
    .await;
    assert_no_open_transactions(&db).await;
}

/// A sink that gives up after a few rows, as a CSV writer on a full disk would.
struct FailingSink {
    rows: usize,
}

impl RowSink for FailingSink {
    fn columns(&mut self, _: &[querybot::warehouse::Column]) -> Result<(), SinkError> {
        Ok(())
    }

    fn row(&mut self, _: Vec<Value>) -> Result<(), SinkError> {
        self.rows += 1;
        if self.rows == 10 {
            return Err(SinkError("no space left on device".into()));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_sink_is_reported_and_the_pool_stays_usable() {
    let (db, warehouse) = fixture_postgres().await;
    let sql = guarded(warehouse.as_ref(), "SELECT * FROM events").await;
    let mut sink = FailingSink { rows: 0 };
    let result = warehouse.execute(&sql, &CAPS, &mut sink).await;
    assert!(
        matches!(result, Err(WarehouseError::Sink(_))),
        "got {result:?}"
    );
    for _ in 0..10 {
        let (result, _) = run(warehouse.as_ref(), "SELECT count(*) FROM events", &CAPS).await;
        assert_eq!(result.expect("the pool still works").row_count, 1);
    }
    assert_no_open_transactions(&db).await;
}

/// `slow` ends in a timeout soon after the one-second limit, and the warehouse then still
/// answers `quick`.
async fn assert_stopped_at_the_timeout(warehouse: &dyn Warehouse, slow: &str, quick: &str) {
    let caps = Caps {
        timeout: Duration::from_secs(1),
        ..CAPS
    };
    let started = std::time::Instant::now();
    let (result, _) = run(warehouse, slow, &caps).await;
    assert!(
        matches!(result, Err(WarehouseError::Timeout { .. })),
        "got {result:?}"
    );
    // Well before the client-side backstop: the database itself stopped the statement.
    assert!(started.elapsed() < Duration::from_secs(5));
    let (result, _) = run(warehouse, quick, &CAPS).await;
    assert_eq!(result.expect("the warehouse still answers").row_count, 1);
}

/// Every `resource` attack the guard lets through must be stopped by the executor.
#[tokio::test]
async fn resource_attacks_are_stopped_by_timeout_or_caps_on_postgres() {
    let (db, warehouse) = fixture_postgres().await;
    let catalog = warehouse.introspect().await.expect("introspects");
    let policy = Policy::from_catalog(&catalog);
    let caps = Caps {
        timeout: Duration::from_secs(2),
        max_rows: 10_000,
        max_bytes: 1024 * 1024,
        draft: None,
        stop: querybot::warehouse::StopSignal::NEVER,
        role: None,
    };
    let corpus = std::fs::read_to_string(testdata("guard/attacks.tsv")).expect("corpus");
    let mut executed = 0;
    for line in corpus.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let (id, dialect, category, sql) = (fields[0], fields[1], fields[2], fields[3]);
        if category != "resource" || !matches!(dialect, "postgres" | "any") {
            continue;
        }
        let Verdict::Allowed(sql) = guard::check(sql, &policy) else {
            continue;
        };
        executed += 1;
        let mut sink = Collected::default();
        let started = std::time::Instant::now();
        let result = warehouse.execute(&sql, &caps, &mut sink).await;
        let stopped = match &result {
            Err(WarehouseError::Timeout { .. }) => true,
            Ok(execution) => execution.truncated.is_some(),
            Err(_) => false,
        };
        assert!(
            stopped,
            "{id} was not stopped by the timeout or caps: {result:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{id} took {:?}",
            started.elapsed()
        );
    }
    assert!(
        executed > 0,
        "at least one resource attack passes the guard and is stopped"
    );
    assert_no_open_transactions(&db).await;
}

#[tokio::test]
async fn explain_estimates_rows_and_catches_unknown_columns() {
    let (_db, warehouse) = fixture_postgres().await;
    let sql = guarded(warehouse.as_ref(), "SELECT * FROM orders").await;
    let plan = warehouse.explain(&sql, &CAPS).await.expect("plans");
    assert!(plan.estimated_rows.is_some_and(|rows| rows > 0));

    let sql = guarded(warehouse.as_ref(), "SELECT total FROM orders").await;
    match warehouse.explain(&sql, &CAPS).await {
        Err(WarehouseError::Rejected {
            message,
            data_error: false,
        }) => {
            assert!(
                message.contains("total") && message.contains("does not exist"),
                "{message}"
            )
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn postgres_catalog_shows_only_what_the_role_may_read() {
    let (db, _) = fixture_postgres().await;
    let reader_url = db
        .role(
            "reader",
            "GRANT SELECT ON customers, orders, v_orders, daily_revenue TO {role}; \
             GRANT SELECT (id, kind) ON events TO {role};",
        )
        .await;
    let warehouse =
        warehouse::connect(&connection(WarehouseKind::Postgres, &reader_url)).expect("connects");
    let catalog = warehouse.introspect().await.expect("introspects");

    let names: Vec<(&str, TableKind)> = catalog
        .tables
        .iter()
        .map(|t| (t.name.as_str(), t.kind))
        .collect();
    assert_eq!(
        names,
        [
            ("customers", TableKind::Table),
            ("daily_revenue", TableKind::MaterializedView),
            ("events", TableKind::Table),
            ("orders", TableKind::Table),
            ("v_orders", TableKind::View),
        ],
        "hr_salaries is not granted and must not appear"
    );
    let events = catalog.table("public", "events").expect("events");
    let event_columns: Vec<&str> = events.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(event_columns, ["id", "kind"], "only granted columns");

    let orders = catalog.table("public", "orders").expect("orders");
    assert_eq!(orders.comment.as_deref(), Some("One row per order."));
    assert_eq!(orders.primary_key, ["id"]);
    assert_eq!(
        orders.foreign_keys,
        [ForeignKey {
            columns: vec!["customer_id".into()],
            references_schema: "public".into(),
            references_table: "customers".into(),
            references_columns: vec!["id".into()],
        }]
    );
    let amount = orders
        .columns
        .iter()
        .find(|c| c.name == "amount")
        .expect("amount");
    assert_eq!(amount.data_type, "numeric(10,2)");
    assert_eq!(amount.comment.as_deref(), Some("Order total in EUR."));
    let status = orders
        .columns
        .iter()
        .find(|c| c.name == "status")
        .expect("status");
    assert_eq!(status.samples, ["paid", "pending", "refunded"]);
    let id = orders.columns.iter().find(|c| c.name == "id").expect("id");
    assert!(!id.nullable);
    let region = catalog
        .table("public", "customers")
        .expect("customers")
        .columns
        .iter()
        .find(|c| c.name == "region");
    assert_eq!(region.expect("region").samples, ["amer", "apac", "emea"]);
    let email = catalog
        .table("public", "customers")
        .expect("customers")
        .columns
        .iter()
        .find(|c| c.name == "email");
    assert!(
        email.expect("email").samples.is_empty(),
        "high-cardinality columns get no samples"
    );
}

/// Roles are cluster-wide, so a test's role is dropped by hand (best effort: its name is
/// unique, so a leftover harms nothing).
async fn assert_no_open_transactions(db: &PgDatabase) {
    let mut admin = PgConnection::connect(&db.url)
        .await
        .expect("admin connects");
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'",
    )
    .bind(&db.name)
    .fetch_one(&mut admin)
    .await
    .expect("activity");
    assert_eq!(open, 0, "no pooled connection is left inside a transaction");
}

#[tokio::test]
async fn sqlite_catalog_reads_tables_keys_and_samples() {
    let (_file, warehouse) = chinook().await;
    let catalog: Catalog = warehouse.introspect().await.expect("introspects");
    assert_eq!(catalog.dialect, Dialect::Sqlite);
    assert_eq!(catalog.tables.len(), 11);
    let album = catalog
        .table("main", "album")
        .expect("Album, found case-insensitively");
    assert_eq!(album.primary_key, ["AlbumId"]);
    assert_eq!(album.row_estimate, Some(347));
    assert_eq!(
        album.foreign_keys,
        [ForeignKey {
            columns: vec!["ArtistId".into()],
            references_schema: "main".into(),
            references_table: "Artist".into(),
            references_columns: vec!["ArtistId".into()],
        }]
    );
    let media = catalog.table("main", "MediaType").expect("MediaType");
    let name = media
        .columns
        .iter()
        .find(|c| c.name == "Name")
        .expect("Name");
    assert_eq!(name.samples.len(), 5);
    assert!(name.samples.contains(&"MPEG audio file".to_owned()));
}

#[tokio::test]
async fn sqlite_values_come_out_typed() {
    let (_file, warehouse) = chinook().await;
    let (result, rows) = run(
        warehouse.as_ref(),
        "SELECT InvoiceId, InvoiceDate, Total, BillingState FROM Invoice ORDER BY InvoiceId LIMIT 2",
        &CAPS,
    )
    .await;
    let execution = result.expect("runs");
    assert_eq!(execution.row_count, 2);
    assert_eq!(
        rows.rows[0],
        [
            Value::Int(1),
            Value::Timestamp(date(2021, 1, 1).and_hms_opt(0, 0, 0).expect("time")),
            Value::Float(1.98),
            Value::Null,
        ]
    );
}

#[test]
fn a_missing_sqlite_file_is_reported_and_not_created() {
    let file = SqliteFile::new("missing.sqlite");
    let Err(error) = warehouse::connect(&connection(WarehouseKind::Sqlite, &file.url())) else {
        panic!("a missing warehouse file was accepted");
    };
    assert!(
        matches!(error, WarehouseError::Unusable { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&file.path.display().to_string()) && message.contains("does not exist"),
        "{message}"
    );
    assert!(!file.path.exists());
}

#[tokio::test]
async fn an_unreachable_postgres_is_a_connect_error() {
    let warehouse = warehouse::connect(&connection(
        WarehouseKind::Postgres,
        "postgres://postgres:secret@127.0.0.1:1/none",
    ))
    .expect("lazy");
    let error = warehouse
        .check()
        .await
        .expect_err("nothing listens on port 1");
    assert!(matches!(error, WarehouseError::Connect { .. }), "{error:?}");
    assert!(!error.to_string().contains("secret"));
}

#[tokio::test]
async fn guard_policy_follows_the_catalog() {
    let (_file, warehouse) = chinook().await;
    let catalog = warehouse.introspect().await.expect("introspects");
    let policy = Policy {
        dialect: Dialect::Sqlite,
        tables: TableAllowList::from_catalog(&catalog),
    };
    assert!(matches!(
        guard::check("SELECT * FROM Album", &policy),
        Verdict::Allowed(_)
    ));
    assert!(matches!(
        guard::check("SELECT * FROM sqlite_master", &policy),
        Verdict::Rejected(_)
    ));
}

#[tokio::test]
async fn postgres_catalog_flags_leaky_views_and_hidden_inheritance_children() {
    let db = PgDatabase::create().await;
    db.run_script(VIEWS_WITH_AND_WITHOUT_BARRIER).await;
    db.run_script(
        "CREATE VIEW v_invoker WITH (security_invoker = on) AS SELECT id, owner FROM accounts; \
         CREATE TABLE events (id int, kind text); \
         CREATE TABLE secret_events (note text) INHERITS (events); \
         CREATE TABLE logs (id int); \
         CREATE TABLE public_logs () INHERITS (logs); \
         INSERT INTO events VALUES (1, 'open'); \
         INSERT INTO secret_events VALUES (2, 'audit', 'salary review');",
    )
    .await;
    let reader = db
        .role(
            "reader",
            "GRANT SELECT ON v_plain, v_barrier, v_invoker, events, logs, public_logs TO {role};",
        )
        .await;
    let warehouse =
        warehouse::connect(&connection(WarehouseKind::Postgres, &reader)).expect("connects");
    let catalog = warehouse.introspect().await.expect("introspects");
    let caveat = |name: &str| catalog.table("public", name).expect(name).caveat;
    assert_eq!(caveat("v_plain"), Some(Caveat::ViewWithoutBarrier));
    assert_eq!(caveat("v_barrier"), None);
    assert_eq!(caveat("v_invoker"), None);
    assert_eq!(caveat("events"), Some(Caveat::HiddenChildren));
    assert_eq!(caveat("logs"), None, "its child is readable");
    assert!(catalog.table("public", "secret_events").is_none());

    // Without ONLY the parent returns the child's row too (privileges are checked on the
    // parent only), so the guard asks for ONLY.
    let mut as_reader = PgConnection::connect(&reader)
        .await
        .expect("reader connects");
    let through_parent: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&mut as_reader)
        .await
        .expect("counts");
    assert_eq!(through_parent, 2);
    let policy = Policy::from_catalog(&catalog);
    let Verdict::Rejected(rejection) = guard::check("SELECT * FROM events", &policy) else {
        panic!("events read without ONLY");
    };
    assert!(
        rejection.reason().contains("FROM ONLY events"),
        "{}",
        rejection.reason()
    );
    let (result, rows) = run(
        warehouse.as_ref(),
        "SELECT id, kind FROM ONLY events",
        &CAPS,
    )
    .await;
    result.expect("runs");
    assert_eq!(rows.rows, [vec![Value::Int(1), Value::Text("open".into())]]);
}

#[tokio::test]
async fn postgres_byte_cap_counts_what_is_printed_and_checks_before_decoding() {
    let (_db, warehouse) = fixture_postgres().await;
    let caps = Caps {
        max_rows: 1_000_000,
        max_bytes: 1024 * 1024,
        ..CAPS
    };
    // Eight bytes on the wire, about 900 characters in the CSV: the cap counts the latter.
    let (result, rows) = run(
        warehouse.as_ref(),
        "SELECT 1e-899 AS tiny FROM generate_series(1, 100000)",
        &caps,
    )
    .await;
    let execution = result.expect("runs");
    assert_eq!(execution.truncated, Some(Truncation::Bytes(1024 * 1024)));
    assert!(execution.row_count < 1_200, "{} rows", execution.row_count);
    assert_eq!(rows.rows[0][0].to_string().len(), 901);

    // Sixteen thousand digits a value: shown as a note, never turned into text.
    let (result, rows) = run(
        warehouse.as_ref(),
        "SELECT 1e-16383 AS tinier, 9e131071 AS huge FROM generate_series(1, 1000)",
        &caps,
    )
    .await;
    result.expect("runs");
    assert_eq!(
        rows.rows[0],
        [
            Value::Text("(a number about 16389 characters long)".into()),
            Value::Text("(a number about 131073 characters long)".into()),
        ]
    );

    // The same inside an array: each element's width is read from its header.
    let (result, rows) = run(
        warehouse.as_ref(),
        "SELECT array_agg(9e131071) AS huge, array_agg(1.5) AS fine FROM generate_series(1, 100)",
        &caps,
    )
    .await;
    result.expect("runs");
    assert_eq!(
        rows.rows[0][0],
        Value::Text("(an array of 100 numbers, some about 131073 characters long)".into())
    );
    assert_eq!(rows.rows[0][1].to_string().matches("1.5").count(), 100);

    // Two million NULLs are eight megabytes on the wire: refused before decoding.
    let (result, rows) = run(
        warehouse.as_ref(),
        "SELECT array_fill(NULL::int, ARRAY[(SELECT 2000000)]) AS a",
        &caps,
    )
    .await;
    let execution = result.expect("runs");
    assert_eq!(execution.truncated, Some(Truncation::Bytes(1024 * 1024)));
    assert!(rows.rows.is_empty());

    // Under the byte cap but past the element bound: a note, not a decoded array.
    let (result, rows) = run(
        warehouse.as_ref(),
        "SELECT array_fill(0, ARRAY[(SELECT 200000)]) AS a",
        &CAPS,
    )
    .await;
    result.expect("runs");
    assert_eq!(
        rows.rows[0][0],
        Value::Text("(an array of 200000 elements)".into())
    );
}

#[tokio::test]
async fn postgres_explain_skips_a_plan_too_large_to_read() {
    let (_db, warehouse) = fixture_postgres().await;
    // A size the guard leaves to the caps (it depends on a function) but the planner folds
    // into a ten-megabyte constant quoted in the plan.
    let sql = guarded(
        warehouse.as_ref(),
        "SELECT id FROM orders WHERE status = repeat('x', length('abcdefghij') * 1000000)",
    )
    .await;
    let plan = warehouse.explain(&sql, &CAPS).await.expect("plans");
    assert_eq!(plan.estimated_rows, None);
}

#[tokio::test]
async fn sqlite_values_are_bounded_inside_the_process() {
    let (_file, warehouse) = chinook().await;
    // printf gives NULL for a result past the limit; other functions fail the statement.
    let (result, rows) = run(
        warehouse.as_ref(),
        "SELECT printf('%.*c', (SELECT 1000000), 'x') AS big",
        &CAPS,
    )
    .await;
    result.expect("runs");
    assert_eq!(rows.rows[0][0], Value::Null);
    for sql in [
        "SELECT printf('%.*c', (SELECT 500000), 'x') || printf('%.*c', (SELECT 500000), 'x') AS joined",
        "SELECT instr(printf('%.*c', (SELECT 500000), 'x') || printf('%.*c', (SELECT 500000), 'x'), 'y') AS slow",
    ] {
        let (result, _) = run(warehouse.as_ref(), sql, &CAPS).await;
        match result {
            Err(WarehouseError::Rejected { message, .. }) => assert!(
                message.contains("larger than the 512 KiB querybot reads from SQLite"),
                "{message}"
            ),
            other => panic!("{sql}: expected a refusal, got {other:?}"),
        }
    }
    let (result, rows) = run(
        warehouse.as_ref(),
        "SELECT length(printf('%.*c', (SELECT 500000), 'x')) AS fits",
        &CAPS,
    )
    .await;
    result.expect("runs");
    assert_eq!(rows.rows[0][0], Value::Int(500_000));
}

/// Stop on PostgreSQL cancels the statement in the server: no backend is left running it,
/// which closing the client's connection alone would not achieve for a statement that sends
/// nothing until it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_postgres_query_leaves_nothing_running() {
    let (db, warehouse) = fixture_postgres().await;
    let token = tokio_util::sync::CancellationToken::new();
    let caps = Caps {
        timeout: Duration::from_secs(60),
        stop: querybot::warehouse::StopSignal::new(token.clone()),
        ..CAPS
    };
    let forever = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) \
                   SELECT count(*) AS never_ends FROM r";
    let mut watcher = PgConnection::connect(&db.url).await.expect("watcher");
    let running = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                   AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%never_ends%'";
    // Stop once the statement is seen running in the server.
    let url = db.url.clone();
    let stop = tokio::spawn(async move {
        let mut watcher = PgConnection::connect(&url).await.expect("watcher");
        let mut seen = 0;
        for _ in 0..100 {
            seen = sqlx::query_scalar::<_, i64>(running)
                .fetch_one(&mut watcher)
                .await
                .expect("activity");
            if seen > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        token.cancel();
        seen
    });
    let (result, _) = run(warehouse.as_ref(), forever, &caps).await;
    assert_eq!(
        stop.await.expect("stopper"),
        1,
        "the statement ran before Stop"
    );
    assert!(
        matches!(result, Err(WarehouseError::Stopped)),
        "got {result:?}"
    );
    let left: i64 = sqlx::query_scalar(running)
        .fetch_one(&mut watcher)
        .await
        .expect("activity");
    assert_eq!(left, 0, "no backend still runs the stopped statement");
}

//! One behaviour every warehouse must have, written once and run on each (PostgreSQL, SQLite,
//! and Snowflake through fakesnow): typed values and NULLs, text with quotes, commas, newlines
//! and other scripts, the row and byte caps, the timeout, `explain`, empty results, and results
//! that stream through a sink which keeps nothing. Names compare without case: Snowflake
//! keeps unquoted names in upper case.

use std::sync::Arc;
use std::time::Duration;

use querybot::config::WarehouseKind;
use querybot::warehouse::{
    self, Caps, Column, RowSink, SinkError, StopSignal, Truncation, Value, Warehouse,
    WarehouseError,
};
use sqlx::Connection;

use crate::support::db::{PgDatabase, SqliteFile};
use crate::support::fakesnow::{self, FakeSnowDatabase};
use crate::support::warehouse::{CAPS, connection, guarded, run, snowflake_connection};

/// Text that breaks naive CSV and chat rendering.
const AWKWARD: &str = "O'Brien, \"the\" boss\nsecond line — 東京 🚀";

/// The same small table in every warehouse; `note` is NULL in the second row.
fn fixture_sql(awkward: &str) -> String {
    let quoted = awkward.replace('\'', "''");
    format!(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, \
         in_stock BOOLEAN, note TEXT); \
         INSERT INTO items VALUES (1, '{quoted}', 9.5, TRUE, 'first'); \
         INSERT INTO items VALUES (2, 'plain', NULL, FALSE, NULL);"
    )
}

/// Keeps a test's database alive as long as its warehouse; dropping it removes the database.
enum Backing {
    Postgres(#[allow(dead_code)] PgDatabase),
    Sqlite(#[allow(dead_code)] SqliteFile),
    Snowflake(#[allow(dead_code)] FakeSnowDatabase),
}

async fn postgres() -> (Backing, Arc<dyn Warehouse>) {
    let db = PgDatabase::create().await;
    db.run_script(&fixture_sql(AWKWARD)).await;
    let warehouse =
        warehouse::connect(&connection(WarehouseKind::Postgres, &db.url)).expect("connects");
    (Backing::Postgres(db), warehouse)
}

async fn sqlite() -> (Backing, Arc<dyn Warehouse>) {
    let file = SqliteFile::new("contract.sqlite");
    let mut writer = sqlx::SqliteConnection::connect(&format!("{}?mode=rwc", file.url()))
        .await
        .expect("sqlite file");
    sqlx::raw_sql(sqlx::AssertSqlSafe(fixture_sql(AWKWARD)))
        .execute(&mut writer)
        .await
        .expect("fixture");
    writer.close().await.expect("closed");
    let warehouse =
        warehouse::connect(&connection(WarehouseKind::Sqlite, &file.url())).expect("connects");
    (Backing::Sqlite(file), warehouse)
}

/// A database of its own in fakesnow, when fakesnow runs.
async fn snowflake() -> Option<(Backing, Arc<dyn Warehouse>)> {
    let api_url = fakesnow::url()?;
    let db = FakeSnowDatabase::create(&api_url).await;
    db.run_script(&fixture_sql(AWKWARD)).await;
    let warehouse =
        warehouse::connect(&snowflake_connection(&db.warehouse_url(), &api_url)).expect("connects");
    Some((Backing::Snowflake(db), warehouse))
}

/// Declares each story once and runs it on every warehouse. Stories after `;` are not told on
/// Snowflake's emulator, which cannot show them (no statement timeout, no abort); the local
/// Snowflake stub in `snowflake.rs` tells them instead.
macro_rules! on_every_warehouse {
    ($($story:ident),* $(,)? ; $($emulator_cannot:ident),* $(,)?) => {
        on_every_warehouse!(@each postgres, on_postgres: $($story,)* $($emulator_cannot,)*);
        on_every_warehouse!(@each sqlite, on_sqlite: $($story,)* $($emulator_cannot,)*);
        mod on_snowflake {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() {
                if let Some((_backing, warehouse)) = super::snowflake().await {
                    super::$story(warehouse.as_ref()).await;
                }
            })*
        }
    };
    (@each $backend:ident, $module:ident: $($story:ident,)*) => {
        mod $module {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() {
                let (_backing, warehouse) = super::$backend().await;
                super::$story(warehouse.as_ref()).await;
            })*
        }
    };
}

on_every_warehouse!(
    values_and_nulls_come_back_typed,
    awkward_text_comes_back_exactly,
    an_empty_result_keeps_its_column_names,
    the_row_cap_cuts_and_says_so,
    the_byte_cap_cuts_and_says_so,
    a_large_result_streams_through_a_sink_that_keeps_nothing,
    the_catalog_lists_the_table_and_its_columns,
    explain_catches_an_unknown_column_without_running;
    a_slow_query_stops_at_the_timeout,
    stop_cancels_a_running_query_within_two_seconds,
);

/// A query that never ends by itself.
const FOREVER: &str = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) \
                       SELECT count(*) FROM r";

/// `1`-`n` from a recursive CTE, which every warehouse runs.
fn numbers(n: u64) -> String {
    format!(
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {n}) \
         SELECT n FROM r"
    )
}

async fn values_and_nulls_come_back_typed(warehouse: &dyn Warehouse) {
    let (result, rows) = run(
        warehouse,
        "SELECT id, price, note FROM items ORDER BY id",
        &CAPS,
    )
    .await;
    result.expect("runs");
    assert_eq!(rows.rows[0][0], Value::Int(1));
    assert_eq!(rows.rows[0][1].as_f64(), Some(9.5));
    assert_eq!(rows.rows[0][2], Value::Text("first".into()));
    assert_eq!(rows.rows[1][1], Value::Null);
    assert_eq!(rows.rows[1][2], Value::Null);
}

async fn awkward_text_comes_back_exactly(warehouse: &dyn Warehouse) {
    let (result, rows) = run(warehouse, "SELECT name FROM items WHERE id = 1", &CAPS).await;
    result.expect("runs");
    assert_eq!(rows.rows, [vec![Value::Text(AWKWARD.into())]]);
}

async fn an_empty_result_keeps_its_column_names(warehouse: &dyn Warehouse) {
    let (result, rows) = run(
        warehouse,
        "SELECT id, name AS label FROM items WHERE id < 0",
        &CAPS,
    )
    .await;
    let execution = result.expect("runs");
    assert_eq!(execution.row_count, 0);
    assert!(rows.rows.is_empty());
    let names: Vec<String> = execution
        .columns
        .iter()
        .map(|c| c.name.to_lowercase())
        .collect();
    assert_eq!(names, ["id", "label"]);
}

async fn the_row_cap_cuts_and_says_so(warehouse: &dyn Warehouse) {
    let caps = Caps {
        max_rows: 100,
        ..CAPS
    };
    let (result, rows) = run(warehouse, &numbers(1_000), &caps).await;
    let execution = result.expect("runs");
    assert_eq!(execution.row_count, 100);
    assert_eq!(execution.truncated, Some(Truncation::Rows(100)));
    assert_eq!(rows.rows.last(), Some(&vec![Value::Int(100)]));
    let (result, _) = run(warehouse, &numbers(100), &caps).await;
    assert_eq!(
        result.expect("runs").truncated,
        None,
        "exactly the cap is not a cut"
    );
}

async fn the_byte_cap_cuts_and_says_so(warehouse: &dyn Warehouse) {
    let caps = Caps {
        max_bytes: 4_000,
        ..CAPS
    };
    let (result, rows) = run(warehouse, &numbers(10_000), &caps).await;
    let execution = result.expect("runs");
    assert_eq!(execution.truncated, Some(Truncation::Bytes(4_000)));
    assert!(execution.row_count > 0 && execution.row_count < 1_000);
    assert_eq!(rows.rows.len() as u64, execution.row_count);
    // The connection that was cut off early is not reused in a broken state.
    let (result, _) = run(warehouse, "SELECT count(*) FROM items", &CAPS).await;
    assert_eq!(result.expect("the warehouse still answers").row_count, 1);
}

async fn a_slow_query_stops_at_the_timeout(warehouse: &dyn Warehouse) {
    let caps = Caps {
        timeout: Duration::from_secs(1),
        ..CAPS
    };
    let (result, _) = run(warehouse, FOREVER, &caps).await;
    assert!(
        matches!(result, Err(WarehouseError::Timeout { .. })),
        "got {result:?}"
    );
    let (result, _) = run(warehouse, "SELECT count(*) FROM items", &CAPS).await;
    assert_eq!(result.expect("the warehouse still answers").row_count, 1);
}

async fn stop_cancels_a_running_query_within_two_seconds(warehouse: &dyn Warehouse) {
    let token = tokio_util::sync::CancellationToken::new();
    let caps = Caps {
        timeout: Duration::from_secs(60),
        stop: StopSignal::new(token.clone()),
        ..CAPS
    };
    let pressed = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        token.cancel();
        std::time::Instant::now()
    });
    let (result, _) = run(warehouse, FOREVER, &caps).await;
    let stopped_after = pressed.await.expect("pressed").elapsed();
    assert!(
        matches!(result, Err(WarehouseError::Stopped)),
        "got {result:?}"
    );
    assert!(
        stopped_after < Duration::from_secs(2),
        "stopped {stopped_after:?} after Stop"
    );
    let (result, _) = run(warehouse, "SELECT count(*) FROM items", &CAPS).await;
    assert_eq!(result.expect("the warehouse still answers").row_count, 1);
}

async fn explain_catches_an_unknown_column_without_running(warehouse: &dyn Warehouse) {
    let sql = guarded(warehouse, "SELECT id FROM items").await;
    warehouse.explain(&sql, &CAPS).await.expect("plans");
    let sql = guarded(warehouse, "SELECT no_such_column FROM items").await;
    match warehouse.explain(&sql, &CAPS).await {
        Err(WarehouseError::Rejected { message, .. }) => {
            assert!(
                message.to_lowercase().contains("no_such_column"),
                "{message}"
            )
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Counts rows and keeps none of them.
#[derive(Default)]
struct Counter {
    columns: Vec<Column>,
    rows: u64,
    last: Option<Value>,
}

impl RowSink for Counter {
    fn columns(&mut self, columns: &[Column]) -> Result<(), SinkError> {
        self.columns = columns.to_vec();
        Ok(())
    }

    fn row(&mut self, mut row: Vec<Value>) -> Result<(), SinkError> {
        self.rows += 1;
        self.last = row.pop();
        Ok(())
    }
}

async fn a_large_result_streams_through_a_sink_that_keeps_nothing(warehouse: &dyn Warehouse) {
    let caps = Caps {
        max_rows: 1_000_000,
        max_bytes: 1 << 30,
        ..CAPS
    };
    let sql = guarded(warehouse, &numbers(1_000_000)).await;
    let mut counter = Counter::default();
    let execution = warehouse
        .execute(&sql, &caps, &mut counter)
        .await
        .expect("runs");
    assert_eq!(execution.row_count, 1_000_000);
    assert_eq!(execution.truncated, None);
    assert_eq!(counter.rows, 1_000_000);
    assert_eq!(counter.last, Some(Value::Int(1_000_000)));
    assert_eq!(counter.columns.len(), 1);
}

async fn the_catalog_lists_the_table_and_its_columns(warehouse: &dyn Warehouse) {
    let catalog = warehouse.introspect().await.expect("introspects");
    let items = catalog
        .tables
        .iter()
        .find(|table| table.name.eq_ignore_ascii_case("items"))
        .expect("items is listed");
    let columns: Vec<String> = items
        .columns
        .iter()
        .map(|c| c.name.to_lowercase())
        .collect();
    assert_eq!(columns, ["id", "name", "price", "in_stock", "note"]);
    let key: Vec<String> = items.primary_key.iter().map(|c| c.to_lowercase()).collect();
    assert_eq!(key, ["id"]);
}

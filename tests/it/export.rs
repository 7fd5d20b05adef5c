//! The CSV a result becomes, byte for byte: a PostgreSQL table with a column of every type
//! querybot reads (NULLs, unicode, quotes, commas, newlines, extreme and fractional values,
//! each precision of time) through the warehouse and the presenter, compared with the golden
//! file `data/export_golden.csv`. Export speed is tuned at the byte level, so any change to
//! what a value looks like in a CSV shows here first. `QUERYBOT_BLESS=1` rewrites the file.

use querybot::config::WarehouseKind;
use querybot::present::{PresentOptions, Presenter, Totals};
use querybot::warehouse::{self, RowSink};

use crate::support::db::PgDatabase;
use crate::support::warehouse::{CAPS, connection, guarded};

const EVERY_TYPE: &str = r#"
CREATE TABLE every_type (
    id integer PRIMARY KEY, small smallint, big bigint, exact numeric, money2 numeric(12, 2),
    real4 real, double8 double precision, flag boolean, label text, code varchar(20),
    day date, at_time time, stamp timestamp, stamp_tz timestamptz, doc jsonb, raw bytea,
    id_uuid uuid
);
INSERT INTO every_type VALUES
 (1, 1, 9223372036854775807, 12345678901234567890.123456789, 1234567.89,
  1.5, 0.1, true, 'plain', 'A-1',
  '2024-02-29', '23:59:59', '2024-01-31 12:00:00', '2024-01-31 12:00:00+00', '{"a": [1, 2]}',
  '\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
 (2, -32768, -9223372036854775808, -0.000000000000000001, -0.5,
  -3.4028235e38, 1e-300, false, 'O''Brien, "the" boss' || chr(10) || 'second line — 東京 🚀', '',
  '0001-01-01', '00:00:00.5', '1999-12-31 23:59:59.123', '1999-12-31 23:59:59.123456+05:30', '"text"',
  '\x', '00000000-0000-0000-0000-000000000000'),
 (3, 0, 0, 0, 0,
  'NaN', 'Infinity', NULL, 'tab	and' || chr(13) || chr(10) || 'crlf', 'comma,here',
  '9999-12-31', '12:34:56.789012', '2000-01-01 00:00:00.000001', '2038-01-19 03:14:07.999999-08', 'null',
  NULL, NULL),
 (4, NULL, NULL, NULL, NULL, NULL, '-Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL),
 (5, 42, 1000000, 1e20, 100, 3.14159, 2.718281828459045, true, '', ' spaced ',
  '1970-01-01', '01:02:03.1', '1970-01-01 00:00:00.1', '1970-01-01 00:00:00+00', '[]',
  '\x5c2c22', 'ffffffff-ffff-ffff-ffff-ffffffffffff');
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_of_every_type_exports_byte_for_byte_as_before() {
    let db = PgDatabase::create().await;
    db.run_script(EVERY_TYPE).await;
    let warehouse =
        warehouse::connect(&connection(WarehouseKind::Postgres, &db.url)).expect("connects");
    let sql = guarded(warehouse.as_ref(), "SELECT * FROM every_type ORDER BY id").await;
    let out = tempfile::tempdir().expect("temp dir");
    let csv_path = out.path().join("result.csv");
    let mut presenter = Presenter::new(PresentOptions {
        preview_rows: 3,
        csv_path: csv_path.clone(),
        title: "every type".to_owned(),
    })
    .expect("presenter");
    let execution = warehouse
        .execute(&sql, &CAPS, &mut presenter as &mut dyn RowSink)
        .await
        .expect("runs");
    presenter
        .finish(Totals {
            row_count: execution.row_count,
            truncated: execution.truncated.is_some(),
        })
        .expect("presents");
    let written = std::fs::read(&csv_path).expect("the CSV");
    let golden =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/data/export_golden.csv");
    if std::env::var_os("QUERYBOT_BLESS").is_some() {
        std::fs::write(&golden, &written).expect("bless");
    }
    let expected = std::fs::read(&golden).expect("the golden CSV");
    assert!(
        written == expected,
        "the CSV changed:\n--- golden\n{}\n--- written\n{}",
        String::from_utf8_lossy(&expected),
        String::from_utf8_lossy(&written)
    );
}

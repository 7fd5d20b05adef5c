//! The presenter end to end, and the table notation all presentation tests share.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{NaiveDate, NaiveDateTime};

use crate::present::{
    CHART_ROWS, ChartKind, PresentError, PresentOptions, Presenter, Totals, chart_title,
};
use crate::warehouse::{Column, RowSink, Value, ValueKind};

/// A result written as `name:kind, name:kind | value, value | value, value`. Kinds are
/// `int float dec text bool date ts json unknown`; `null` is NULL; an `unknown` column (an
/// SQLite expression) holds ints, floats or text by what each value looks like.
pub(super) fn table(text: &str) -> (Vec<Column>, Vec<Vec<Value>>) {
    let mut parts = text.split('|');
    let header = parts.next().unwrap_or_default();
    let columns: Vec<Column> = header
        .split(',')
        .filter(|field| !field.trim().is_empty())
        .map(|field| {
            let (name, kind) = field.trim().split_once(':').expect("name:kind");
            let kind = match kind {
                "int" => ValueKind::Int,
                "float" => ValueKind::Float,
                "dec" => ValueKind::Decimal,
                "text" => ValueKind::Text,
                "bool" => ValueKind::Bool,
                "date" => ValueKind::Date,
                "ts" => ValueKind::Timestamp,
                "json" => ValueKind::Json,
                "unknown" => ValueKind::Unknown,
                other => panic!("unknown kind {other}"),
            };
            Column {
                name: name.to_owned(),
                type_name: kind_name(kind),
                kind,
            }
        })
        .collect();
    let rows = parts
        .map(|row| {
            row.split(',')
                .zip(&columns)
                .map(|(field, column)| value(field.trim(), column.kind))
                .collect()
        })
        .collect();
    (columns, rows)
}

fn kind_name(kind: ValueKind) -> String {
    format!("{kind:?}").to_lowercase()
}

fn value(text: &str, kind: ValueKind) -> Value {
    if text == "null" {
        return Value::Null;
    }
    match kind {
        ValueKind::Int => Value::Int(text.parse().expect("int")),
        ValueKind::Float => Value::Float(text.parse().expect("float")),
        ValueKind::Decimal => Value::Decimal(BigDecimal::from_str(text).expect("decimal")),
        ValueKind::Bool => Value::Bool(text.parse().expect("bool")),
        ValueKind::Date => Value::Date(NaiveDate::from_str(text).expect("date")),
        ValueKind::Timestamp => Value::Timestamp(
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("timestamp"),
        ),
        ValueKind::Json => Value::Json(serde_json::from_str(text).expect("json")),
        ValueKind::Unknown => text
            .parse()
            .map(Value::Int)
            .or_else(|_| text.parse().map(Value::Float))
            .unwrap_or_else(|_| Value::Text(text.to_owned())),
        _ => Value::Text(text.to_owned()),
    }
}

/// Runs the rows of the table notation through a presenter keeping `preview_rows`.
fn present(
    input: &str,
    preview_rows: usize,
    dir: &tempfile::TempDir,
) -> (Presenter, Vec<Vec<Value>>) {
    let (columns, rows) = table(input);
    let mut presenter = Presenter::new(PresentOptions {
        preview_rows,
        csv_path: dir.path().join("result.csv"),
        title: "How many orders per day?".to_owned(),
    })
    .expect("creates the csv file");
    presenter.columns(&columns).expect("columns");
    for row in &rows {
        presenter.row(row.clone()).expect("row");
    }
    (presenter, rows)
}

fn daily(n_days: usize) -> String {
    let days: Vec<String> = (0..n_days)
        .map(|i| {
            let day =
                NaiveDate::from_ymd_opt(2024, 1, 1).expect("date") + chrono::Days::new(i as u64);
            format!("{day}, {}", i * 3 % 17)
        })
        .collect();
    format!("day:date, orders:int | {}", days.join(" | "))
}

#[test]
fn rows_stream_to_the_file_and_the_first_make_the_preview() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (presenter, rows) = present(&daily(30), 10, &dir);
    let totals = Totals {
        row_count: 30,
        truncated: false,
    };
    let presentation = presenter.finish(totals).expect("finishes");

    assert_eq!(presentation.preview.rows, rows[..10]);
    assert_eq!(presentation.preview.total_rows, 30);
    assert!(!presentation.preview.truncated);
    assert_eq!(presentation.preview.columns[0].name, "day");
    let csv = std::fs::read_to_string(&presentation.csv_path).expect("csv");
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), 31);
    assert_eq!(lines[0], "day,orders");
    assert_eq!(lines[30], "2024-01-30,2");
    let chart = presentation.chart.expect("a chart");
    assert_eq!(chart.kind, ChartKind::Line);
    assert!(chart.png.starts_with(b"\x89PNG"));
}

#[test]
fn results_without_a_shape_get_no_chart() {
    let dir = tempfile::tempdir().expect("temp dir");
    for input in ["n:int | 42", "a:text, b:text | x, y | z, w", "n:int"] {
        let (presenter, rows) = present(input, 10, &dir);
        let totals = Totals {
            row_count: rows.len() as u64,
            truncated: false,
        };
        let presentation = presenter.finish(totals).expect("finishes");
        assert_eq!(presentation.chart, None, "{input}");
        assert_eq!(presentation.preview.rows, rows, "{input}");
    }
}

#[test]
fn only_the_rows_a_chart_needs_stay_in_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (presenter, _) = present(&daily(CHART_ROWS + 50), 5, &dir);
    assert_eq!(presenter.kept.len(), CHART_ROWS);
    let totals = Totals {
        row_count: (CHART_ROWS + 50) as u64,
        truncated: true,
    };
    let presentation = presenter.finish(totals).expect("finishes");
    assert_eq!(presentation.preview.rows.len(), 5);
    assert!(presentation.preview.truncated);
    let csv = std::fs::read_to_string(&presentation.csv_path).expect("csv");
    assert_eq!(csv.lines().count(), CHART_ROWS + 51);
}

#[test]
fn the_chart_title_says_when_rows_are_left_out() {
    let check = |n_charted: usize, row_count: u64, truncated: bool, expected: &str| {
        let totals = Totals {
            row_count,
            truncated,
        };
        assert_eq!(chart_title("Orders?", n_charted, totals), expected);
    };
    check(10, 10, false, "Orders?");
    check(10_000, 25_000, false, "Orders? (first 10,000 rows)");
    check(500, 500, true, "Orders? (first 500 rows)");
}

#[test]
fn a_csv_file_that_cannot_be_created_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let error = Presenter::new(PresentOptions {
        preview_rows: 10,
        csv_path: dir.path().join("missing").join("result.csv"),
        title: String::new(),
    })
    .err()
    .expect("fails");
    assert!(matches!(error, PresentError::Io { .. }));
    assert!(
        error
            .to_string()
            .starts_with("cannot write the result file ")
    );
}

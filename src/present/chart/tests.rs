//! Chart choice cases, one line each.

use super::*;
use crate::present::tests::table;

/// The chart `choose` picks for the table, in a few words, or `none`.
#[track_caller]
fn check(input: &str, expected: &str) {
    let (columns, rows) = table(input);
    let name = |i: usize| columns[i].name.clone();
    let actual = match choose(&columns, &rows) {
        None => "none".to_owned(),
        Some(ChartSpec::Line { x, series }) => {
            let x = match x {
                TimeAxis::Instant(i) => name(i),
                TimeAxis::YearMonth { year, month } => format!("{}+{}", name(year), name(month)),
                TimeAxis::YearQuarter { year, quarter } => {
                    format!("{}+{}", name(year), name(quarter))
                }
                TimeAxis::Calendar { column, unit } => format!("{}({unit:?})", name(column)),
            };
            let series = match series {
                Series::Columns(ys) => ys.into_iter().map(name).collect::<Vec<_>>().join(" "),
                Series::SplitBy { value, category } => {
                    format!("{} by {}", name(value), name(category))
                }
            };
            format!("line {x}: {series}")
        }
        Some(ChartSpec::Bar { category, value }) => {
            format!("bar {} by {}", name(value), name(category))
        }
        Some(ChartSpec::Scatter { x, y }) => format!("scatter {} {}", name(x), name(y)),
    };
    assert_eq!(actual, expected, "{input}");
}

#[test]
fn time_and_numbers_make_a_line() {
    check("d:date, n:int | 2024-01-01, 1 | 2024-01-02, 2", "line d: n");
    check(
        "d:date, a:int, b:dec | 2024-01-01, 1, 1.5 | 2024-01-02, 2, 2.5",
        "line d: a b",
    );
    check(
        "t:ts, n:float | 2024-01-01 10:00, 1 | 2024-01-01 11:00, 2",
        "line t: n",
    );
    // Time need not come first, and labels that only name each point do not split it.
    check(
        "n:int, name:text, d:date | 1, jan, 2024-01-01 | 2, feb, 2024-02-01",
        "line d: n",
    );
    check(
        "d:date, g:text, n:int | 2024-01-01, a, 1 | 2024-01-01, b, 2 | 2024-01-02, a, 3",
        "line d: n by g",
    );
    // With two measures a label does not split.
    check(
        "d:date, g:text, a:int, b:int | 2024-01-01, x, 1, 2 | 2024-01-01, y, 2, 3 | 2024-01-02, x, 3, 4",
        "line d: a b",
    );
    // SQLite expressions: text dates and months, untyped numbers.
    check(
        "day:unknown, n:unknown | 2024-01-01, 1 | 2024-01-02, 2.5",
        "line day: n",
    );
    check(
        "m:unknown, n:unknown | 2024-01, 1 | 2024-02, 2",
        "line m: n",
    );
    check(
        "t:text, n:int | 2024-01-01T10:00:00Z, 1 | 2024-01-01 11:00:00+02:00, 2",
        "line t: n",
    );
    // Ids are not measures.
    check(
        "d:date, customer_id:int, n:int | 2024-01-01, 7, 1 | 2024-01-02, 8, 2",
        "line d: n",
    );
    // More than eight measures: the first eight.
    check(
        "d:date, a:int, b:int, c:int, e:int, f:int, g:int, h:int, i:int, j:int | 2024-01-01, 1, 1, 1, 1, 1, 1, 1, 1, 1 | 2024-01-02, 1, 1, 1, 1, 1, 1, 1, 1, 1",
        "line d: a b c e f g h i",
    );
    // One point in time is no line: the label makes bars instead.
    check(
        "d:date, g:text, n:int | 2024-01-01, a, 1 | 2024-01-01, b, 2",
        "bar n by g",
    );
}

#[test]
fn calendar_numbers_make_a_time_axis() {
    check(
        "year:int, revenue:dec | 2021, 10.5 | 2022, 12",
        "line year(Year): revenue",
    );
    check(
        "order_year:dec, n:int | 2021, 1 | 2022, 2",
        "line order_year(Year): n",
    );
    check(
        "month:int, n:int | 1, 5 | 2, 6 | 3, 7",
        "line month(Month): n",
    );
    check(
        "year:int, month:int, n:int | 2023, 12, 1 | 2024, 1, 2",
        "line year+month: n",
    );
    check(
        "yr:unknown, qtr:unknown, n:int | 2023, 4, 1 | 2024, 1, 2",
        "line yr+qtr: n",
    );
    check("hour:unknown, n:int | 00, 1 | 13, 2", "line hour(Hour): n");
    // Out of range, or named as a rate: a measure, not a calendar.
    check("year:int, n:int | 1, 1 | 2, 2", "scatter year n");
    check("month:int, n:int | 0, 1 | 13, 2", "scatter month n");
    check(
        "orders_per_day:int, n:int | 3, 1 | 4, 2",
        "scatter orders_per_day n",
    );
    check("month:text, n:int | Jan, 1 | Feb, 2", "bar n by month");
}

#[test]
fn labels_and_a_number_make_bars() {
    check(
        "region:text, sales:int | north, 10 | south, 20",
        "bar sales by region",
    );
    check(
        "region:text, sales:dec, orders:int | north, 10, 1 | south, 20, 2",
        "bar sales by region",
    );
    check(
        "active:bool, n:int | true, 10 | false, 20",
        "bar n by active",
    );
    check(
        "customer_id:int, total:dec | 1, 10 | 2, 20",
        "bar total by customer_id",
    );
    check(
        "zip:int, name:text, total:dec | 1000, a, 10 | 2000, b, 20",
        "bar total by name",
    );
    check("k:unknown, n:unknown | a, 1 | b, 2", "bar n by k");
    // A label with a single value says nothing.
    check("region:text, sales:int | north, 10 | north, 20", "none");
}

#[test]
fn many_labels_still_make_bars() {
    let rows: Vec<String> = (0..40).map(|i| format!("c{i}, {i}")).collect();
    check(
        &format!("k:text, n:int | {}", rows.join(" | ")),
        "bar n by k",
    );
}

#[test]
fn two_numbers_make_a_scatter() {
    check("a:int, b:float | 1, 2.5 | 2, 3.5", "scatter a b");
    check(
        "a:int, b:float, c:dec | 1, 2.5, 1 | 2, 3.5, 2",
        "scatter a b",
    );
}

#[test]
fn shapes_without_a_chart() {
    check("n:int | 42", "none");
    check("n:int | 1 | 2", "none");
    check("region:text, sales:int | north, 10", "none");
    check("a:text, b:text | x, y | z, w", "none");
    check("d:date, g:text | 2024-01-01, a | 2024-01-02, b", "none");
    check("region:text, sales:int", "none");
    check("", "none");
    check("region:text, sales:int | north, null | south, null", "none");
    check("d:date, n:int | null, 1 | null, 2", "none");
    check("j:json, n:int | {}, 1 | [], 2", "none");
}

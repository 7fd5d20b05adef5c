//! Chooses a chart for a result by fixed rules on its shape, and renders it as a PNG.
//!
//! The rules never run model-written code; they read the columns' names and values only.
//! Each column first gets a role (`role`):
//! - *instant*: dates and timestamps, or text that all reads as one (`2024-03-01`,
//!   `2024-03-01 10:00`, `2024-03`), as SQLite expressions return them;
//! - *calendar*: integers named like a calendar unit and in its range: `year` 1800-2200,
//!   `quarter` 1-4, `month` 1-12, `week` 0-53, `day` 1-31, `hour` 0-23, as the name's last
//!   word (`order_year`, `yr`, `qtr`; not `orders_per_day`), also as integral decimals and
//!   digit text, as `EXTRACT` and `strftime` give them;
//! - *measure*: other numbers;
//! - *identifier*: numbers named like ids (`id`, `customer_id`, `zip`, `order_no`): labels, not
//!   amounts;
//! - *label*: text and booleans;
//! - unusable: all NULL, JSON, bytes, times of day, mixed kinds.
//!
//! Then, given at least two rows and a measure, the first rule that applies wins:
//! 1. **Line** over a time axis with at least two distinct points: the first instant column,
//!    else a year column read together with a month (or quarter) column as months, else the
//!    first calendar column. One line per measure (at most 8), those under a tenth of the
//!    largest on a second axis at the right (`revenue` and `orders`); but with one measure
//!    and a label column whose values split a time point into several rows (`month, region,
//!    sales`) one line per label value: the 7 largest totals and the rest summed as
//!    "N others".
//! 2. **Bar**, horizontal, of the first measure per value of the first label column (else the
//!    first identifier column), when there are at least two values: in query order when there
//!    are at most 16, else the 15 largest, largest first, and the rest summed as "N others"
//!    (drawn broken at the axis end when it dwarfs the others).
//! 3. **Scatter** of the first two measures.
//!
//! Anything else (one row, a single value, no measure, only text) gets no chart. Repeated
//! x values or labels are summed, which is right for the counts and totals charts are asked
//! for; points are sorted by time.

mod axis;
mod data;
mod render;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::present::{Chart, ChartKind, is_instant, is_numeric, value_kind};
use crate::warehouse::{Column, Value, ValueKind};

/// At most this many lines in one chart: more cannot be told apart.
const MAX_SERIES: usize = 8;
/// At most this many bars, before the rest are summed into one.
const MAX_BARS: usize = 15;

/// Which chart to draw, from which columns (by index into the result's columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartSpec {
    Line { x: TimeAxis, series: Series },
    Bar { category: usize, value: usize },
    Scatter { x: usize, y: usize },
}

impl ChartSpec {
    pub fn kind(&self) -> ChartKind {
        match self {
            ChartSpec::Line { .. } => ChartKind::Line,
            ChartSpec::Bar { .. } => ChartKind::Bar,
            ChartSpec::Scatter { .. } => ChartKind::Scatter,
        }
    }
}

/// Where a line chart's x values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeAxis {
    /// Dates, timestamps, or text that reads as one.
    Instant(usize),
    /// A year column and a month (1-12) column, read together as the first of each month.
    YearMonth { year: usize, month: usize },
    /// A year column and a quarter (1-4) column, read together as the first of each quarter.
    YearQuarter { year: usize, quarter: usize },
    /// Integers counting one calendar unit.
    Calendar { column: usize, unit: CalendarUnit },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarUnit {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
}

/// The lines of a line chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Series {
    /// One line per numeric column.
    Columns(Vec<usize>),
    /// One line of `value` per value of the `category` column.
    SplitBy { value: usize, category: usize },
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("the embedded chart font cannot be loaded")]
    Font,
    #[error("the chart has no points to draw")]
    NoData,
    #[error("cannot draw the chart: {0}")]
    Draw(String),
    #[error("cannot encode the chart as png")]
    Encode(#[from] png::EncodingError),
}

/// The chart the rules above pick for a result, or `None` when no chart would help.
pub fn choose(columns: &[Column], rows: &[Vec<Value>]) -> Option<ChartSpec> {
    if rows.len() < 2 {
        return None;
    }
    let roles: Vec<Role> = (0..columns.len())
        .map(|i| role(&columns[i], rows, i))
        .collect();
    let find = |wanted: Role| roles.iter().position(|&role| role == wanted);
    let measures: Vec<usize> = (0..roles.len())
        .filter(|&i| roles[i] == Role::Measure)
        .collect();
    let &first_measure = measures.first()?;
    let label = find(Role::Label);

    if let Some(x) = time_axis(&roles)
        && distinct(rows, |row| data::x_value(x, row).map(f64::to_bits)) >= 2
    {
        let series = match label {
            Some(category) if measures.len() == 1 && splits(x, category, rows) => Series::SplitBy {
                value: first_measure,
                category,
            },
            _ => Series::Columns(measures.into_iter().take(MAX_SERIES).collect()),
        };
        return Some(ChartSpec::Line { x, series });
    }
    if let Some(category) = label.or_else(|| find(Role::Identifier))
        && distinct(rows, |row| row.get(category).map(Value::to_string)) >= 2
    {
        return Some(ChartSpec::Bar {
            category,
            value: first_measure,
        });
    }
    match measures[..] {
        [x, y, ..] => Some(ChartSpec::Scatter { x, y }),
        _ => None,
    }
}

/// Draws the chart `spec` describes from `rows` (the presenter passes at most 10,000).
pub fn render_png(
    spec: &ChartSpec,
    columns: &[Column],
    rows: &[Vec<Value>],
    title: &str,
) -> Result<Chart, ChartError> {
    let plot = data::extract(spec, columns, rows)?;
    let (png, width, height) = render::draw(&plot, title)?;
    Ok(Chart {
        kind: spec.kind(),
        png,
        width,
        height,
    })
}

/// What a column can be in a chart; see the rules at the top of this file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Instant,
    Calendar(CalendarUnit),
    Measure,
    Identifier,
    Label,
    Unusable,
}

fn role(column: &Column, rows: &[Vec<Value>], index: usize) -> Role {
    let mut values = rows
        .iter()
        .filter_map(|row| row.get(index))
        .filter(|value| !value.is_null())
        .peekable();
    if values.peek().is_none() {
        return Role::Unusable;
    }
    let kind = value_kind(column, rows, index);
    let unit = calendar_unit(&column.name);
    if let Some(unit) = unit
        && values.all(|value| calendar_number(value).is_some_and(|n| unit.contains(n)))
    {
        return Role::Calendar(unit);
    }
    match kind {
        _ if is_numeric(kind) && is_identifier(&column.name) => Role::Identifier,
        _ if is_numeric(kind) => Role::Measure,
        _ if is_instant(kind) => Role::Instant,
        ValueKind::Text if text_instants(rows, index) => Role::Instant,
        ValueKind::Text | ValueKind::Bool => Role::Label,
        _ => Role::Unusable,
    }
}

/// The x axis rule 1 reads time from, if the roles offer one.
fn time_axis(roles: &[Role]) -> Option<TimeAxis> {
    let find = |wanted: Role| roles.iter().position(|&role| role == wanted);
    if let Some(column) = find(Role::Instant) {
        return Some(TimeAxis::Instant(column));
    }
    if let Some(year) = find(Role::Calendar(CalendarUnit::Year)) {
        if let Some(month) = find(Role::Calendar(CalendarUnit::Month)) {
            return Some(TimeAxis::YearMonth { year, month });
        }
        if let Some(quarter) = find(Role::Calendar(CalendarUnit::Quarter)) {
            return Some(TimeAxis::YearQuarter { year, quarter });
        }
    }
    roles
        .iter()
        .enumerate()
        .find_map(|(column, role)| match role {
            Role::Calendar(unit) => Some(TimeAxis::Calendar {
                column,
                unit: *unit,
            }),
            _ => None,
        })
}

/// Whether the `category` column splits time points into several rows, so that each of its
/// values deserves its own line (and is not just a name for each point, like `month_name`).
fn splits(x: TimeAxis, category: usize, rows: &[Vec<Value>]) -> bool {
    let n_points = distinct(rows, |row| data::x_value(x, row).map(f64::to_bits));
    let n_pairs = distinct(rows, |row| {
        Some((
            data::x_value(x, row)?.to_bits(),
            row.get(category)?.to_string(),
        ))
    });
    n_pairs > n_points
}

/// How many distinct keys the rows have, not counting rows without one.
fn distinct<K: Eq + std::hash::Hash>(
    rows: &[Vec<Value>],
    key: impl Fn(&[Value]) -> Option<K>,
) -> usize {
    rows.iter()
        .filter_map(|row| key(row))
        .collect::<std::collections::HashSet<K>>()
        .len()
}

impl CalendarUnit {
    /// Whether `n` can be a count of this unit.
    fn contains(self, n: i64) -> bool {
        let range = match self {
            CalendarUnit::Year => 1800..=2200,
            CalendarUnit::Quarter => 1..=4,
            CalendarUnit::Month => 1..=12,
            CalendarUnit::Week => 0..=53,
            CalendarUnit::Day => 1..=31,
            CalendarUnit::Hour => 0..=23,
        };
        range.contains(&n)
    }
}

/// The words of a column name: `order_Year` -> `order`, `year`.
fn name_words(name: &str) -> impl Iterator<Item = String> + '_ {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
}

/// The unit a column name ends with (`year`, `order_year`), unless it names a rate or an
/// aggregate (`orders_per_day`, `avg_hour`).
fn calendar_unit(name: &str) -> Option<CalendarUnit> {
    let words: Vec<String> = name_words(name).collect();
    let aggregate = |word: &String| {
        matches!(
            word.as_str(),
            "per" | "avg" | "average" | "sum" | "total" | "count" | "min" | "max" | "n" | "num"
        )
    };
    if words.iter().any(aggregate) {
        return None;
    }
    words.last().and_then(|word| match word.as_str() {
        "year" | "yr" | "yyyy" => Some(CalendarUnit::Year),
        "quarter" | "qtr" => Some(CalendarUnit::Quarter),
        "month" | "mon" | "mth" => Some(CalendarUnit::Month),
        "week" | "wk" | "isoweek" => Some(CalendarUnit::Week),
        "day" => Some(CalendarUnit::Day),
        "hour" | "hr" => Some(CalendarUnit::Hour),
        _ => None,
    })
}

/// A name whose last word marks a number as a label: `id`, `customer_id`, `zip`, `order_no`.
fn is_identifier(name: &str) -> bool {
    name_words(name).last().is_some_and(|word| {
        matches!(
            word.as_str(),
            "id" | "key" | "code" | "zip" | "zipcode" | "postcode" | "no" | "nr" | "number"
        )
    })
}

/// A whole number, however the warehouse typed it: `2024`, `2024.0`, `"2024"`, `"07"`.
fn calendar_number(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        Value::Text(text) => text.trim().parse().ok(),
        other => {
            let x = other.as_f64()?;
            (x.fract() == 0.0 && x.abs() < 1e15).then_some(x as i64)
        }
    }
}

/// Whether every non-NULL value of a text column reads as a point in time.
fn text_instants(rows: &[Vec<Value>], index: usize) -> bool {
    rows.iter()
        .filter_map(|row| row.get(index))
        .filter(|value| !value.is_null())
        .all(|value| instant(value).is_some())
}

/// A value as a point in time: dates are their midnight, zoned times are taken in UTC, and
/// text in the common ISO 8601 forms (a `2024-03` month is its first day) is parsed.
fn instant(value: &Value) -> Option<NaiveDateTime> {
    match value {
        Value::Date(date) => date.and_hms_opt(0, 0, 0),
        Value::Timestamp(stamp) => Some(*stamp),
        Value::TimestampTz(stamp) => Some(stamp.naive_utc()),
        Value::Text(text) => parse_instant(text.trim()),
        _ => None,
    }
}

fn parse_instant(text: &str) -> Option<NaiveDateTime> {
    // Cheap early exit: every accepted form starts with a four-digit year and a dash.
    if text.len() < 7 || !text.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0);
    }
    if let Ok(date) = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0);
    }
    if let Ok(stamp) = DateTime::parse_from_rfc3339(text) {
        return Some(stamp.naive_utc());
    }
    if let Ok(stamp) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z") {
        return Some(stamp.naive_utc());
    }
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

#[cfg(test)]
mod tests;

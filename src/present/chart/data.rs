//! Reads the points, bars and names a chart draws out of result rows, as its spec says.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::present::chart::{
    CalendarUnit, ChartError, ChartSpec, MAX_BARS, MAX_SERIES, Series, TimeAxis, calendar_number,
    instant,
};
use crate::present::number;
use crate::warehouse::{Column, Value};

/// What a chart draws, with the names its axes and legend show.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Plot {
    Line {
        x_scale: XScale,
        x_name: String,
        y_name: String,
        lines: Vec<Line>,
    },
    Bar {
        category_name: String,
        value_name: String,
        bars: Vec<Bar>,
    },
    Scatter {
        x_name: String,
        y_name: String,
        points: Vec<(f64, f64)>,
    },
}

/// How the x values of a line chart read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum XScale {
    /// Seconds since 1970-01-01 00:00.
    Time,
    Calendar(CalendarUnit),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Line {
    pub(super) name: String,
    /// The sum of the groups too small to get their own line.
    pub(super) is_rest: bool,
    /// Drawn against a second value axis, on the right (see [`assign_axes`]).
    pub(super) right_axis: bool,
    /// Sorted by x, one point per x.
    pub(super) points: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Bar {
    pub(super) label: String,
    pub(super) value: f64,
    /// The sum of the groups too small to get their own bar.
    pub(super) is_rest: bool,
}

pub(super) fn extract(
    spec: &ChartSpec,
    columns: &[Column],
    rows: &[Vec<Value>],
) -> Result<Plot, ChartError> {
    let name = |index: usize| {
        columns
            .get(index)
            .map_or("", |c| c.name.as_str())
            .to_owned()
    };
    let plot = match spec {
        ChartSpec::Line { x, series } => {
            let (y_name, lines) = match series {
                Series::Columns(measures) => {
                    let lines = measures
                        .iter()
                        .map(|&measure| Line {
                            name: name(measure),
                            is_rest: false,
                            right_axis: false,
                            points: sum_by_x(rows.iter().filter_map(|row| {
                                Some((x_value(*x, row)?, number(row.get(measure)?)?))
                            })),
                        })
                        .collect();
                    let y_name = measures.iter().map(|&m| name(m)).collect::<Vec<_>>();
                    (y_name.join(", "), lines)
                }
                Series::SplitBy { value, category } => {
                    (name(*value), split_lines(*x, *value, *category, rows))
                }
            };
            let mut lines: Vec<Line> = lines
                .into_iter()
                .filter(|line| !line.points.is_empty())
                .collect();
            if lines.is_empty() {
                return Err(ChartError::NoData);
            }
            if let Series::Columns(_) = series {
                assign_axes(&mut lines);
            }
            Plot::Line {
                x_scale: match x {
                    TimeAxis::Calendar { unit, .. } => XScale::Calendar(*unit),
                    _ => XScale::Time,
                },
                x_name: x_name(*x, &name),
                y_name,
                lines,
            }
        }
        ChartSpec::Bar { category, value } => {
            let bars = bars(*category, *value, rows);
            if bars.is_empty() {
                return Err(ChartError::NoData);
            }
            Plot::Bar {
                category_name: name(*category),
                value_name: name(*value),
                bars,
            }
        }
        ChartSpec::Scatter { x, y } => {
            let points: Vec<(f64, f64)> = rows
                .iter()
                .filter_map(|row| Some((number(row.get(*x)?)?, number(row.get(*y)?)?)))
                .collect();
            if points.is_empty() {
                return Err(ChartError::NoData);
            }
            Plot::Scatter {
                x_name: name(*x),
                y_name: name(*y),
                points,
            }
        }
    };
    Ok(plot)
}

/// A row's position on a line chart's x axis (see [`XScale`]).
pub(super) fn x_value(axis: TimeAxis, row: &[Value]) -> Option<f64> {
    let month_start = |year: usize, month: i64| -> Option<f64> {
        let year = i32::try_from(calendar_number(row.get(year)?)?).ok()?;
        let date = NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, 1)?;
        Some(seconds(date.and_hms_opt(0, 0, 0)?))
    };
    match axis {
        TimeAxis::Instant(column) => instant(row.get(column)?).map(seconds),
        TimeAxis::YearMonth { year, month } => month_start(year, calendar_number(row.get(month)?)?),
        TimeAxis::YearQuarter { year, quarter } => {
            month_start(year, calendar_number(row.get(quarter)?)? * 3 - 2)
        }
        TimeAxis::Calendar { column, .. } => calendar_number(row.get(column)?).map(|n| n as f64),
    }
}

fn seconds(stamp: chrono::NaiveDateTime) -> f64 {
    let stamp = stamp.and_utc();
    stamp.timestamp() as f64 + f64::from(stamp.timestamp_subsec_nanos()) / 1e9
}

fn x_name(axis: TimeAxis, name: &impl Fn(usize) -> String) -> String {
    match axis {
        TimeAxis::Instant(column) | TimeAxis::Calendar { column, .. } => name(column),
        TimeAxis::YearMonth { year, month: part }
        | TimeAxis::YearQuarter {
            year,
            quarter: part,
        } => {
            format!("{}, {}", name(year), name(part))
        }
    }
}

/// Puts lines of a much smaller scale (under a tenth of the largest) on a second axis, so
/// `orders` next to `revenue` is not a flat line at zero. Lines of one measure split by a
/// label share one scale and stay on one axis.
fn assign_axes(lines: &mut [Line]) {
    let size = |line: &Line| line.points.iter().map(|p| p.1.abs()).fold(0.0, f64::max);
    let largest = lines.iter().map(size).fold(0.0, f64::max);
    for line in lines.iter_mut() {
        line.right_axis = size(line) < largest / 10.0;
    }
}

/// A finite number, or `None` for NULL, text, NaN and infinities.
fn number(value: &Value) -> Option<f64> {
    value.as_f64().filter(|x| x.is_finite())
}

/// The text a group is known by; NULL is a group of its own.
fn group_name(value: &Value) -> String {
    match value {
        Value::Null => "∅".to_owned(),
        other => other.to_string(),
    }
}

/// Points sorted by x, those with the same x summed.
fn sum_by_x(points: impl Iterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = points.collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut summed: Vec<(f64, f64)> = Vec::with_capacity(points.len());
    for (x, y) in points {
        match summed.last_mut() {
            Some(last) if last.0 == x => last.1 += y,
            _ => summed.push((x, y)),
        }
    }
    summed
}

/// One line per value of `category`, the smaller ones merged (see [`Groups`]).
fn split_lines(x: TimeAxis, value: usize, category: usize, rows: &[Vec<Value>]) -> Vec<Line> {
    let points: Vec<(String, f64, f64)> = rows
        .iter()
        .filter_map(|row| {
            let name = group_name(row.get(category)?);
            Some((name, x_value(x, row)?, number(row.get(value)?)?))
        })
        .collect();
    let groups = Groups::rank(
        points.iter().map(|(name, _, y)| (name.as_str(), *y)),
        MAX_SERIES - 1,
    );
    let mut by_line: Vec<Vec<(f64, f64)>> = vec![Vec::new(); groups.names.len()];
    for (name, x, y) in points {
        by_line[groups.position(&name)].push((x, y));
    }
    let rest = groups.rest.is_some().then(|| groups.names.len() - 1);
    groups
        .names
        .into_iter()
        .zip(by_line)
        .enumerate()
        .map(|(i, (name, points))| Line {
            name,
            is_rest: Some(i) == rest,
            right_axis: false,
            points: sum_by_x(points.into_iter()),
        })
        .collect()
}

/// One bar per value of `category`, the smaller ones merged (see [`Groups`]).
fn bars(category: usize, value: usize, rows: &[Vec<Value>]) -> Vec<Bar> {
    let values: Vec<(String, f64)> = rows
        .iter()
        .filter_map(|row| Some((group_name(row.get(category)?), number(row.get(value)?)?)))
        .collect();
    let groups = Groups::rank(values.iter().map(|(name, y)| (name.as_str(), *y)), MAX_BARS);
    let mut totals = vec![0.0; groups.names.len()];
    for (name, y) in &values {
        totals[groups.position(name)] += y;
    }
    let rest = groups.rest.is_some().then(|| groups.names.len() - 1);
    groups
        .names
        .into_iter()
        .zip(totals)
        .enumerate()
        .map(|(i, (label, value))| Bar {
            label,
            value,
            is_rest: Some(i) == rest,
        })
        .collect()
}

/// The groups a chart shows. All of them, in order of first appearance (the query's order is
/// often meaningful: buckets, weekdays), when there are at most `keep + 1` (an "others" of one
/// would only hide a name); else the `keep` with the largest totals, largest first, and a last
/// one, "N others", that holds the rest.
#[derive(Debug)]
struct Groups {
    names: Vec<String>,
    /// The position of each shown name; names not in it belong to the last group.
    positions: HashMap<String, usize>,
    rest: Option<usize>,
}

impl Groups {
    fn rank<'a>(values: impl Iterator<Item = (&'a str, f64)>, keep: usize) -> Groups {
        let mut totals: Vec<(&str, f64)> = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (name, y) in values {
            let i = *seen.entry(name).or_insert_with(|| {
                totals.push((name, 0.0));
                totals.len() - 1
            });
            totals[i].1 += y;
        }
        let rest = (totals.len() > keep + 1).then(|| totals.len() - keep);
        if rest.is_some() {
            totals.sort_by(|a, b| b.1.total_cmp(&a.1));
            totals.truncate(keep);
        }
        let mut names: Vec<String> = totals.iter().map(|(name, _)| (*name).to_owned()).collect();
        let positions = names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), i))
            .collect();
        if let Some(n_rest) = rest {
            names.push(format!("{} others", number::grouped(n_rest as u64)));
        }
        Groups {
            names,
            positions,
            rest,
        }
    }

    fn position(&self, name: &str) -> usize {
        self.positions
            .get(name)
            .copied()
            .unwrap_or(self.names.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::present::chart::choose;
    use crate::present::tests::table;

    /// Extracts the plot for the chart `choose` picks and describes it in one line.
    #[track_caller]
    fn check(input: &str, expected: &str) {
        let (columns, rows) = table(input);
        let spec = choose(&columns, &rows).expect("a chart");
        let plot = extract(&spec, &columns, &rows).expect("a plot");
        assert_eq!(describe(&plot), expected, "{input}");
    }

    fn describe(plot: &Plot) -> String {
        match plot {
            Plot::Line {
                x_name,
                y_name,
                lines,
                ..
            } => {
                let lines: Vec<String> = lines
                    .iter()
                    .map(|line| {
                        let ys: Vec<String> = line.points.iter().map(|p| p.1.to_string()).collect();
                        let axis = if line.right_axis { " (right)" } else { "" };
                        format!("{}{axis}=[{}]", line.name, ys.join(" "))
                    })
                    .collect();
                format!("line {x_name} / {y_name}: {}", lines.join(" "))
            }
            Plot::Bar { bars, .. } => {
                let bars: Vec<String> = bars
                    .iter()
                    .map(|bar| {
                        format!(
                            "{}={}{}",
                            bar.label,
                            bar.value,
                            if bar.is_rest { "*" } else { "" }
                        )
                    })
                    .collect();
                format!("bar {}", bars.join(" "))
            }
            Plot::Scatter { points, .. } => format!("scatter {} points", points.len()),
        }
    }

    #[test]
    fn plots_hold_what_the_chart_draws() {
        // Lines are sorted by time and repeated times are summed.
        check(
            "d:date, n:int | 2024-03-01, 3 | 2024-01-01, 1 | 2024-02-01, 2 | 2024-01-01, 10",
            "line d / n: n=[11 2 3]",
        );
        // NULL measures leave a gap in their line only.
        check(
            "d:date, a:int, b:float | 2024-01-01, 1, null | 2024-01-02, null, 2.5 | 2024-01-03, 3, 4",
            "line d / a, b: a=[1 3] b=[2.5 4]",
        );
        // A much smaller measure gets an axis of its own.
        check(
            "d:date, revenue:int, orders:int | 2024-01-01, 1000, 10 | 2024-01-02, 2000, 20",
            "line d / revenue, orders: revenue=[1000 2000] orders (right)=[10 20]",
        );
        check(
            "year:int, month:int, n:int | 2024, 2, 5 | 2023, 12, 4 | 2024, 1, 6",
            "line year, month / n: n=[4 6 5]",
        );
        check(
            "d:date, region:text, n:int | 2024-01-01, north, 1 | 2024-01-01, south, 2 | 2024-01-02, north, 3 | 2024-01-02, south, 4",
            "line d / n: north=[1 3] south=[2 4]",
        );
        // Bars keep the query's order when few, and NULL is a group of its own.
        check(
            "k:text, n:int | b, 1 | a, 5 | null, 2 | b, 1",
            "bar b=2 a=5 ∅=2",
        );
        check("k:bool, n:int | true, 1 | false, 2", "bar true=1 false=2");
        check("a:int, b:float | 1, 2 | 2, null | 3, 4", "scatter 2 points");
    }

    #[test]
    fn many_bars_keep_the_largest_and_sum_the_rest() {
        let rows: Vec<String> = (1..=40).map(|i| format!("c{i}, {i}")).collect();
        let (columns, rows) = table(&format!("k:text, n:int | {}", rows.join(" | ")));
        let spec = choose(&columns, &rows).expect("a chart");
        let plot = extract(&spec, &columns, &rows).expect("a plot");
        let expected_rest: i32 = (1..=25).sum();
        let expected: Vec<String> = (26..=40)
            .rev()
            .map(|i| format!("c{i}={i}"))
            .chain([format!("25 others={expected_rest}*")])
            .collect();
        assert_eq!(describe(&plot), format!("bar {}", expected.join(" ")));

        // Sixteen fit without an "others" bar.
        let rows: Vec<String> = (1..=16).map(|i| format!("c{i}, {i}")).collect();
        let (columns, rows) = table(&format!("k:text, n:int | {}", rows.join(" | ")));
        let spec = choose(&columns, &rows).expect("a chart");
        let Ok(Plot::Bar { bars, .. }) = extract(&spec, &columns, &rows) else {
            panic!("bars")
        };
        assert_eq!(bars.len(), 16);
        assert_eq!(bars[0].label, "c1");
    }

    #[test]
    fn many_split_lines_keep_the_largest_and_sum_the_rest() {
        let mut rows = Vec::new();
        for day in 1..=3 {
            for group in 1..=10 {
                rows.push(format!("2024-01-0{day}, g{group}, {group}"));
            }
        }
        let (columns, rows) = table(&format!("d:date, g:text, n:int | {}", rows.join(" | ")));
        let spec = choose(&columns, &rows).expect("a chart");
        let Ok(Plot::Line { lines, .. }) = extract(&spec, &columns, &rows) else {
            panic!("lines")
        };
        let names: Vec<&str> = lines.iter().map(|line| line.name.as_str()).collect();
        assert_eq!(
            names,
            ["g10", "g9", "g8", "g7", "g6", "g5", "g4", "3 others"]
        );
        assert_eq!(
            lines[7].points,
            [
                (1704067200.0, 6.0),
                (1704153600.0, 6.0),
                (1704240000.0, 6.0)
            ]
        );
    }
}

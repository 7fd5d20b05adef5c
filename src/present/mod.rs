//! Turns a streamed query result into what a reply shows: a table preview, a chart and a CSV file.
//!
//! [`Presenter`] is the one sink a query runs into. Every row goes to the CSV file as it
//! arrives; only the first rows stay in memory, for the preview and the chart, so a large
//! result never sits whole in memory.

pub mod chart;
pub mod csv;
pub mod number;
pub mod table;
pub mod words;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::warehouse::{Column, RowSink, SinkError, Value, ValueKind};

/// Rows kept for the chart: enough for any chart, and more points would show nothing more.
const CHART_ROWS: usize = 10_000;

/// What a presentation needs to know before the first row arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentOptions {
    /// Rows kept for the table preview.
    pub preview_rows: usize,
    /// Where the full result is written; the file is created (or replaced) by [`Presenter::new`].
    pub csv_path: PathBuf,
    /// The question, shown as the chart title.
    pub title: String,
}

/// How many rows the warehouse delivered, from its `Execution`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub row_count: u64,
    /// A cap stopped the result early: there were more rows than `row_count`.
    pub truncated: bool,
}

/// Everything a surface shows for one result.
#[derive(Debug, Clone, PartialEq)]
pub struct Presentation {
    pub preview: Preview,
    /// The full result as delivered by the warehouse, RFC 4180 CSV.
    pub csv_path: PathBuf,
    pub chart: Option<Chart>,
}

/// The first rows of a result, and how many there were in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    pub total_rows: u64,
    pub truncated: bool,
}

/// A rendered chart.
#[derive(Clone, PartialEq, Eq)]
pub struct Chart {
    pub kind: ChartKind,
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

impl fmt::Debug for Chart {
    /// Leaves out the PNG bytes, which would drown a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chart")
            .field("kind", &self.kind)
            .field("png_bytes", &self.png.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartKind {
    Line,
    Bar,
    Scatter,
}

#[derive(Debug, thiserror::Error)]
pub enum PresentError {
    #[error("cannot write the result file {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the result as csv")]
    Csv(#[from] ::csv::Error),
}

/// The sink a query runs into: streams the CSV file and keeps the rows the preview and chart need.
pub struct Presenter {
    options: PresentOptions,
    csv: csv::CsvFile,
    columns: Vec<Column>,
    /// The first rows, as many as the larger of the preview and the chart needs.
    kept: Vec<Vec<Value>>,
}

impl Presenter {
    /// Creates the CSV file; rows are written to it as they arrive.
    pub fn new(options: PresentOptions) -> Result<Presenter, PresentError> {
        let csv = csv::CsvFile::create(&options.csv_path)?;
        Ok(Presenter {
            options,
            csv,
            columns: Vec::new(),
            kept: Vec::new(),
        })
    }

    /// Flushes the CSV file and draws the chart, if the result has a shape worth charting.
    ///
    /// A chart that fails to draw is logged and left out: the table and the file still answer
    /// the question.
    pub fn finish(self, total: Totals) -> Result<Presentation, PresentError> {
        let Presenter {
            options,
            csv,
            columns,
            mut kept,
        } = self;
        let csv_path = csv.finish()?;
        let chart_rows = &kept[..kept.len().min(CHART_ROWS)];
        let chart = chart::choose(&columns, chart_rows).and_then(|spec| {
            let title = chart_title(&options.title, chart_rows.len(), total);
            chart::render_png(&spec, &columns, chart_rows, &title)
                .inspect_err(|error| tracing::warn!(%error, "chart left out"))
                .ok()
        });
        kept.truncate(options.preview_rows);
        Ok(Presentation {
            preview: Preview {
                columns,
                rows: kept,
                total_rows: total.row_count,
                truncated: total.truncated,
            },
            csv_path,
            chart,
        })
    }
}

impl RowSink for Presenter {
    fn columns(&mut self, columns: &[Column]) -> Result<(), SinkError> {
        self.csv
            .write_header(columns)
            .map_err(|error| sink_error(error.into()))?;
        self.columns = columns.to_vec();
        Ok(())
    }

    fn row(&mut self, row: Vec<Value>) -> Result<(), SinkError> {
        self.csv
            .write_row(&row)
            .map_err(|error| sink_error(error.into()))?;
        if self.kept.len() < self.options.preview_rows.max(CHART_ROWS) {
            self.kept.push(row);
        }
        Ok(())
    }
}

/// The warehouse passes a sink's failure on as text, so the text carries the whole chain.
fn sink_error(error: PresentError) -> SinkError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    SinkError(message)
}

/// The question, plus a note when the chart does not show every row of the result.
fn chart_title(question: &str, n_charted: usize, total: Totals) -> String {
    if total.truncated || (n_charted as u64) < total.row_count {
        format!(
            "{question} (first {} rows)",
            number::grouped(n_charted as u64)
        )
    } else {
        question.to_owned()
    }
}

impl Preview {
    /// Whether column `index` holds numbers, judged by its values (see [`value_kind`]).
    pub fn is_numeric_column(&self, index: usize) -> bool {
        self.columns
            .get(index)
            .is_some_and(|column| is_numeric(value_kind(column, &self.rows, index)))
    }
}

/// The kind a column's values really have. Declared kinds can mislead (an SQLite expression
/// has none, and SQLite stores whatever it is given), so the non-NULL values decide: one kind
/// is that kind, mixed numbers are `Float`, mixed dates and timestamps are `Timestamp`, any
/// other mix is `Text`. A column of NULLs keeps its declared kind.
fn value_kind(column: &Column, rows: &[Vec<Value>], index: usize) -> ValueKind {
    let mut kinds = rows.iter().filter_map(|row| row.get(index)?.kind());
    let Some(first) = kinds.next() else {
        return column.kind;
    };
    kinds.fold(first, |seen, kind| {
        if seen == kind {
            seen
        } else if is_numeric(seen) && is_numeric(kind) {
            ValueKind::Float
        } else if is_instant(seen) && is_instant(kind) {
            ValueKind::Timestamp
        } else {
            ValueKind::Text
        }
    })
}

fn is_numeric(kind: ValueKind) -> bool {
    matches!(kind, ValueKind::Int | ValueKind::Float | ValueKind::Decimal)
}

/// Kinds that name a point in time (a date is its midnight).
fn is_instant(kind: ValueKind) -> bool {
    matches!(
        kind,
        ValueKind::Date | ValueKind::Timestamp | ValueKind::TimestampTz
    )
}

#[cfg(test)]
mod tests;

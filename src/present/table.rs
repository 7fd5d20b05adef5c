//! The preview as text: cell texts for surfaces with native tables, and an aligned monospace
//! table for code blocks.
//!
//! Cells are one line each (newlines shown as `⏎`), at most 40 characters (cut with `…`), and
//! NULL is `∅` so it differs from an empty string. Numbers are right-aligned and never cut:
//! when the table must fit a width, text columns narrow first, then columns on the right are
//! left out and the note under the table says so.

use super::words::cut;
use comfy_table::{
    Cell, CellAlignment, ColumnConstraint, ContentLineStyle, LineStyle, Row, Table, TableStyle,
    Width,
};

use crate::present::{Preview, is_numeric, number, value_kind};
use crate::warehouse::Value;

/// Longest cell text, in characters, before it is cut.
const MAX_CELL_CHARS: usize = 40;
const NULL_MARKER: &str = "∅";
const NEWLINE_MARKER: char = '⏎';
const ELLIPSIS: char = '…';
/// Narrowest a text column is cut to when the table must fit a width.
const MIN_TEXT_WIDTH: usize = 6;
/// Display columns a table column takes beyond its content: padding on both sides, and the
/// `|` before it (the first column has none).
const COLUMN_OVERHEAD: usize = 3;

/// psql's look: a rule under the header, `|` between columns, no outer box.
const STYLE: TableStyle = TableStyle::new()
    .header_lines(ContentLineStyle::none().junction('|'))
    .header_separator(LineStyle::none().fill('-').junction('+'))
    .content_lines(ContentLineStyle::none().junction('|'));

/// The text of every cell, header row first, as the monospace table shows them.
pub fn cells(preview: &Preview) -> Vec<Vec<String>> {
    let header = preview
        .columns
        .iter()
        .map(|column| cell_text(&column.name))
        .collect();
    let rows = preview.rows.iter().map(|row| {
        row.iter()
            .map(|value| match value {
                Value::Null => NULL_MARKER.to_owned(),
                value => cell_text(&value.to_string()),
            })
            .collect()
    });
    std::iter::once(header).chain(rows).collect()
}

/// The preview as an aligned table no wider than `max_width` display columns, with a note
/// under it when rows or columns are left out.
pub fn render_text(preview: &Preview, max_width: usize) -> String {
    let texts = cells(preview);
    let numeric: Vec<bool> = (0..preview.columns.len())
        .map(|i| is_numeric(value_kind(&preview.columns[i], &preview.rows, i)))
        .collect();

    let mut table = Table::new();
    table.load_style(STYLE);
    table.force_no_tty();
    // No character in a cell is NUL (see `cell_text`), so a long cell is never wrapped at its
    // spaces: it is cut at the column width and ends in the truncation indicator.
    table.set_delimiter('\0');
    table.set_truncation_indicator(&ELLIPSIS.to_string());
    let mut rows = texts.iter();
    if let Some(header) = rows.next() {
        table.set_header(table_row(header, &numeric));
    }
    for row in rows {
        table.add_row(table_row(row, &numeric));
    }

    let limits: Vec<Limit> = table
        .column_max_content_widths()
        .iter()
        .enumerate()
        .map(|(i, &full)| {
            let full = usize::from(full);
            // A number is never cut, though the header over it may be.
            let widest_number = if numeric[i] {
                texts[1..]
                    .iter()
                    .filter_map(|row| row.get(i))
                    .map(|text| text.chars().count())
                    .max()
                    .unwrap_or(0)
            } else {
                0
            };
            Limit {
                full,
                narrowest: full.min(MIN_TEXT_WIDTH).max(widest_number),
            }
        })
        .collect();
    let widths = fit(&limits, max_width);
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_constraint(match widths.get(i) {
            Some(&width) => ColumnConstraint::Absolute(Width::Fixed(
                u16::try_from(width + 2).unwrap_or(u16::MAX),
            )),
            None => ColumnConstraint::Hidden,
        });
    }

    let mut text = if widths.is_empty() {
        String::new()
    } else {
        table.trim_fmt()
    };
    let note = note(preview, preview.columns.len() - widths.len());
    if !note.is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&cut(&note, max_width));
    }
    text
}

fn table_row(texts: &[String], numeric: &[bool]) -> Row {
    let mut row = Row::from(texts.iter().zip(numeric).map(|(text, &numeric)| {
        let alignment = if numeric {
            CellAlignment::Right
        } else {
            CellAlignment::Left
        };
        Cell::new(text).set_alignment(alignment)
    }));
    row.max_height(1);
    row
}

/// How wide a column wants to be, and how narrow it may be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limit {
    full: usize,
    narrowest: usize,
}

/// Content widths for the leftmost columns that fit in `max_width`: as many columns as fit at
/// their narrowest, then the widest columns narrowed one step at a time until the table fits.
/// At least one column, cut to the width if it must be, unless not even one character fits.
fn fit(limits: &[Limit], max_width: usize) -> Vec<usize> {
    let table_width = |widths: &[usize]| -> usize {
        widths
            .iter()
            .map(|width| width + COLUMN_OVERHEAD)
            .sum::<usize>()
            - 1
    };
    // A column needs a character and the padding around it.
    if max_width < 3 {
        return Vec::new();
    }
    let mut n_columns = 0;
    while n_columns < limits.len() {
        let narrowest: Vec<usize> = limits[..=n_columns].iter().map(|l| l.narrowest).collect();
        if table_width(&narrowest) > max_width {
            break;
        }
        n_columns += 1;
    }
    if n_columns == 0 {
        return match limits.first() {
            Some(limit) => vec![limit.full.min(max_width.saturating_sub(2)).max(1)],
            None => Vec::new(),
        };
    }
    let limits = &limits[..n_columns];
    let mut widths: Vec<usize> = limits.iter().map(|l| l.full).collect();
    while table_width(&widths) > max_width {
        let widest = (0..n_columns)
            .filter(|&i| widths[i] > limits[i].narrowest)
            .max_by_key(|&i| (widths[i], std::cmp::Reverse(i)));
        match widest {
            Some(i) => widths[i] -= 1,
            None => break,
        }
    }
    widths
}

/// The line under the table: which rows and columns are not shown, or that there are none.
fn note(preview: &Preview, n_hidden_columns: usize) -> String {
    let n_shown = preview.rows.len() as u64;
    let total = number::grouped(preview.total_rows);
    let mut parts = Vec::new();
    if preview.truncated {
        parts.push(format!(
            "showing {} of {total}+ rows",
            number::grouped(n_shown)
        ));
    } else if preview.total_rows == 0 {
        parts.push("no rows".to_owned());
    } else if n_shown < preview.total_rows {
        parts.push(format!(
            "showing {} of {total} rows",
            number::grouped(n_shown)
        ));
    }
    match n_hidden_columns {
        0 => {}
        1 => parts.push("1 more column".to_owned()),
        n => parts.push(format!("{n} more columns")),
    }
    parts.join(", ")
}

/// One line of at most `MAX_CELL_CHARS` characters: line breaks become `⏎`, other control
/// characters (tabs, NUL) a space.
fn cell_text(text: &str) -> String {
    let one_line: String = text
        .replace("\r\n", "\n")
        .chars()
        .map(|c| match c {
            '\n' | '\r' => NEWLINE_MARKER,
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    cut(&one_line, MAX_CELL_CHARS)
}

/// The monospace table cut to a budget: the header, then as many rows as fit, then `…` when
/// rows are left out, then the table's note. `cost` measures a line as the surface will
/// spend it (escaping, a newline), and `budget` is what the surface has for the whole text.
/// Returns the text and how many rows it shows.
pub fn fit_text(
    preview: &Preview,
    max_width: usize,
    budget: usize,
    cost: impl Fn(&str) -> usize,
) -> (String, usize) {
    // The table's own note only says which columns are left out: the count of rows is said
    // by the surface, the same way for every kind of table.
    let whole = Preview {
        columns: preview.columns.clone(),
        rows: preview.rows.clone(),
        total_rows: preview.rows.len() as u64,
        truncated: false,
    };
    let text = render_text(&whole, max_width);
    // One line per row (cells are one line each), under a header and a rule, above the note.
    let lines: Vec<&str> = text.lines().collect();
    let (head, rest) = lines.split_at(2.min(lines.len()));
    let (rows, note) = rest.split_at(preview.rows.len().min(rest.len()));
    // Room for the `…` line is kept whether or not it is needed.
    let mut used: usize = head
        .iter()
        .chain(note)
        .map(|line| cost(line))
        .sum::<usize>()
        + cost(&ELLIPSIS.to_string());
    let n_shown = rows
        .iter()
        .take_while(|row| {
            used += cost(row);
            used <= budget
        })
        .count();
    let more =
        n_shown < preview.rows.len() || (n_shown as u64) < preview.total_rows || preview.truncated;
    let ellipsis = ELLIPSIS.to_string();
    let mut shown: Vec<&str> = head.iter().chain(&rows[..n_shown]).copied().collect();
    if more {
        shown.push(&ellipsis);
    }
    shown.extend(note);
    (shown.join("\n"), n_shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::present::tests::table;

    /// Renders the table notation (see `present::tests::table`) at `max_width`, given how many
    /// rows the result had in all; `total_rows` ending in `+` means a cap truncated it.
    #[track_caller]
    fn check(input: &str, total_rows: &str, max_width: usize, expected: &str) {
        let (columns, rows) = table(input);
        let truncated = total_rows.ends_with('+');
        let total_rows = total_rows.trim_end_matches('+').parse().expect("a count");
        let preview = Preview {
            columns,
            rows,
            total_rows,
            truncated,
        };
        let text = render_text(&preview, max_width);
        assert_eq!(text, expected.trim_start_matches('\n'), "\n{text}");
        for line in text.lines() {
            assert!(line.chars().count() <= max_width, "too wide: {line:?}");
        }
    }

    const SALES: &str = "region:text, sales:dec, orders:int, note:text \
        | north, 10.50, 3, null \
        | south and a very long name that goes on and on, 1234567.25, 12, x";

    #[test]
    fn numbers_align_right_and_text_left() {
        check(
            SALES,
            "2",
            80,
            "
 region                                   |      sales | orders | note
------------------------------------------+------------+--------+------
 north                                    |      10.50 |      3 | ∅
 south and a very long name that goes on… | 1234567.25 |     12 | x",
        );
    }

    #[test]
    fn narrow_widths_cut_text_then_leave_out_columns() {
        check(
            SALES,
            "2",
            45,
            "
 region         |      sales | orders | note
----------------+------------+--------+------
 north          |      10.50 |      3 | ∅
 south and a v… | 1234567.25 |     12 | x",
        );
        check(
            SALES,
            "2",
            37,
            "
 region |      sales | orders | note
--------+------------+--------+------
 north  |      10.50 |      3 | ∅
 south… | 1234567.25 |     12 | x",
        );
        check(
            SALES,
            "2",
            36,
            "
 region       |      sales | orders
--------------+------------+--------
 north        |      10.50 |      3
 south and a… | 1234567.25 |     12
1 more column",
        );
        check(
            SALES,
            "2",
            30,
            "
 region |      sales | orders
--------+------------+--------
 north  |      10.50 |      3
 south… | 1234567.25 |     12
1 more column",
        );
        check(
            SALES,
            "2",
            20,
            "
 region
--------------------
 north
 south and a very …
3 more columns",
        );
        // Numbers are never cut, but long headers over them are.
        check(
            "total_revenue_in_euros:int | 5 | 6",
            "2",
            12,
            "
 total_rev…
------------
          5
          6",
        );
    }

    #[test]
    fn every_line_fits_the_width() {
        let wide = format!(
            "{} | {}",
            (0..12)
                .map(|i| format!("column_{i}:text"))
                .collect::<Vec<_>>()
                .join(", "),
            (0..12)
                .map(|i| "ünïcødé 🦀 value ".repeat(i % 4 + 1))
                .collect::<Vec<_>>()
                .join(", "),
        );
        for max_width in [0, 2, 3, 8, 15, 30, 60, 100, 200] {
            let (columns, rows) = table(&wide);
            let preview = Preview {
                columns,
                rows,
                total_rows: 1,
                truncated: false,
            };
            for line in render_text(&preview, max_width).lines() {
                assert!(line.chars().count() <= max_width, "{max_width}: {line:?}");
            }
        }
    }

    #[test]
    fn the_note_says_what_is_not_shown() {
        check("n:int | 1 | 2", "2", 40, "\n n\n---\n 1\n 2");
        check(
            "n:int | 1 | 2",
            "10",
            40,
            "\n n\n---\n 1\n 2\nshowing 2 of 10 rows",
        );
        check(
            "n:int | 1 | 2",
            "2+",
            40,
            "\n n\n---\n 1\n 2\nshowing 2 of 2+ rows",
        );
        check(
            "n:int | 1 | 2",
            "12345",
            40,
            "\n n\n---\n 1\n 2\nshowing 2 of 12,345 rows",
        );
        check("n:int", "0", 40, "\n n\n---\nno rows");
        check("n:int", "5000+", 40, "\n n\n---\nshowing 0 of 5,000+ rows");
    }

    #[test]
    fn cells_are_one_line_of_at_most_forty_characters() {
        let check_cell = |value: Value, expected: &str| {
            let preview = Preview {
                columns: table("c:text").0,
                rows: vec![vec![value]],
                total_rows: 1,
                truncated: false,
            };
            assert_eq!(
                cells(&preview),
                [vec!["c".to_owned()], vec![expected.to_owned()]]
            );
        };
        check_cell(Value::Null, "∅");
        check_cell(Value::Text(String::new()), "");
        check_cell(Value::Text("two\nlines\r\nthree".into()), "two⏎lines⏎three");
        check_cell(Value::Text("tab\there".into()), "tab here");
        check_cell(Value::Text("x".repeat(40)), &"x".repeat(40));
        check_cell(Value::Text("y".repeat(41)), &format!("{}…", "y".repeat(39)));
        check_cell(Value::Text("ü".repeat(50)), &format!("{}…", "ü".repeat(39)));
        check_cell(Value::Int(-42), "-42");
        check_cell(Value::Bool(true), "true");
    }

    #[test]
    fn untyped_numbers_still_align_right() {
        check(
            "n:unknown, t:unknown | 1, a | 2.5, bb",
            "2",
            40,
            "
   n | t
-----+----
   1 | a
 2.5 | bb",
        );
    }
}

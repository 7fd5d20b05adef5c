//! Writes a result to an RFC 4180 CSV file one row at a time, as the result streams in.
//!
//! UTF-8 without a byte-order mark, CRLF line ends, a header row of column names, NULL as an
//! empty field, values in their plain text form (exact decimals, ISO 8601 times).

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::present::PresentError;
use crate::warehouse::{Column, Value};

/// A result's CSV file, written one row at a time.
pub struct CsvFile {
    writer: ::csv::Writer<File>,
    path: PathBuf,
    /// One value's text, reused for every value: no allocation per value or per row.
    field: String,
}

impl CsvFile {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: &Path) -> Result<CsvFile, PresentError> {
        let file = File::create(path).map_err(|source| PresentError::Io {
            path: path.to_owned(),
            source,
        })?;
        // The csv writer buffers itself, so the file needs no BufWriter.
        let writer = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .from_writer(file);
        Ok(CsvFile {
            writer,
            path: path.to_owned(),
            field: String::with_capacity(64),
        })
    }

    pub fn write_header(&mut self, columns: &[Column]) -> Result<(), ::csv::Error> {
        self.writer
            .write_record(columns.iter().map(|column| column.name.as_str()))
    }

    pub fn write_row(&mut self, row: &[Value]) -> Result<(), ::csv::Error> {
        for value in row {
            // The plain text form, empty for NULL.
            self.field.clear();
            value.write_plain(&mut self.field);
            self.writer.write_field(self.field.as_bytes())?;
        }
        // An empty record after its fields ends the row.
        self.writer.write_record(None::<&[u8]>)
    }

    /// Flushes everything to the file and returns its path.
    pub fn finish(mut self) -> Result<PathBuf, PresentError> {
        self.writer.flush().map_err(|source| PresentError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.path)
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use bigdecimal::BigDecimal;
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::warehouse::ValueKind;

    fn column(name: &str) -> Column {
        Column {
            name: name.to_owned(),
            type_name: "text".to_owned(),
            kind: ValueKind::Text,
        }
    }

    /// Writes `values` as one row under a header, reads the file back with the csv crate,
    /// and compares field by field with `expected`.
    #[track_caller]
    fn check(values: Vec<Value>, expected: &[&str]) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("result.csv");
        let names: Vec<String> = (0..values.len()).map(|i| format!("c{i}, \"x\"")).collect();
        let columns: Vec<Column> = names.iter().map(|name| column(name)).collect();

        let mut file = CsvFile::create(&path).expect("creates");
        file.write_header(&columns).expect("header");
        file.write_row(&values).expect("row");
        assert_eq!(file.finish().expect("flushes"), path);

        let bytes = std::fs::read(&path).expect("reads");
        assert!(
            !bytes.starts_with(&[0xEF, 0xBB, 0xBF]),
            "no byte-order mark"
        );
        let mut reader = ::csv::Reader::from_reader(bytes.as_slice());
        let header: Vec<String> = reader
            .headers()
            .expect("header")
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(header, names);
        let records: Vec<::csv::StringRecord> =
            reader.records().collect::<Result<_, _>>().expect("records");
        assert_eq!(records.len(), 1);
        let fields: Vec<&str> = records[0].iter().collect();
        assert_eq!(fields, expected);
    }

    #[test]
    fn values_round_trip_through_the_file() {
        let text = |s: &str| Value::Text(s.to_owned());
        let decimal = |s: &str| Value::Decimal(BigDecimal::from_str(s).expect("decimal"));
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).expect("date");
        let stamp = date.and_hms_milli_opt(13, 5, 9, 250).expect("time");

        check(vec![text("plain")], &["plain"]);
        check(vec![text("say \"hi\"")], &["say \"hi\""]);
        check(vec![text("a,b"), text("c")], &["a,b", "c"]);
        check(vec![text("line one\nline two")], &["line one\nline two"]);
        check(vec![text("crlf\r\ninside")], &["crlf\r\ninside"]);
        check(vec![Value::Null, Value::Int(1)], &["", "1"]);
        check(vec![text("ünïcødé 🦀 数据")], &["ünïcødé 🦀 数据"]);
        check(vec![text(" padded ")], &[" padded "]);
        check(
            vec![decimal("12345678901234567890.000123"), decimal("-0.10")],
            &["12345678901234567890.000123", "-0.10"],
        );
        check(vec![Value::Float(0.1), Value::Int(-7)], &["0.1", "-7"]);
        check(vec![Value::Bool(false)], &["false"]);
        check(vec![Value::Date(date)], &["2024-02-29"]);
        check(vec![Value::Timestamp(stamp)], &["2024-02-29 13:05:09.250"]);
        let utc = Utc.from_utc_datetime(&stamp);
        check(
            vec![Value::TimestampTz(utc)],
            &["2024-02-29 13:05:09.250+00:00"],
        );
        check(
            vec![Value::Json(serde_json::json!({"k": "v,\"w\""}))],
            &["{\"k\":\"v,\\\"w\\\"\"}"],
        );
    }

    #[test]
    fn rows_end_with_crlf_and_quotes_are_doubled() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("result.csv");
        let mut file = CsvFile::create(&path).expect("creates");
        file.write_header(&[column("a"), column("b")])
            .expect("header");
        file.write_row(&[Value::Text("x\"y".into()), Value::Null])
            .expect("row");
        file.finish().expect("flushes");
        let written = std::fs::read_to_string(&path).expect("reads");
        assert_eq!(written, "a,b\r\n\"x\"\"y\",\r\n");
    }

    #[test]
    fn a_missing_folder_is_an_io_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("missing").join("result.csv");
        let error = CsvFile::create(&path).err().expect("fails");
        assert!(matches!(error, PresentError::Io { .. }), "{error:?}");
    }
}

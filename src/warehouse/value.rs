//! The one value type every warehouse's rows are turned into, and result columns.

use std::fmt;

use bigdecimal::BigDecimal;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use serde::{Serialize, Serializer};

/// A single cell of a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Exact decimals (`numeric`), kept exact for CSV and sums.
    Decimal(BigDecimal),
    Text(String),
    Date(NaiveDate),
    Time(NaiveTime),
    /// A timestamp without a time zone.
    Timestamp(NaiveDateTime),
    /// A timestamp with a time zone, normalised to UTC.
    TimestampTz(DateTime<Utc>),
    Json(serde_json::Value),
    Bytes(Vec<u8>),
}

/// The broad kind of a column, for alignment, charts and JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    Bool,
    Int,
    Float,
    Decimal,
    Text,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Json,
    Bytes,
    /// Nothing is known about the column (an SQLite expression whose rows were all NULL).
    Unknown,
}

/// A result column: its name, the warehouse's own type name, and its kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    pub name: String,
    pub type_name: String,
    pub kind: ValueKind,
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value's kind, or `None` for NULL.
    pub fn kind(&self) -> Option<ValueKind> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => ValueKind::Bool,
            Value::Int(_) => ValueKind::Int,
            Value::Float(_) => ValueKind::Float,
            Value::Decimal(_) => ValueKind::Decimal,
            Value::Text(_) => ValueKind::Text,
            Value::Date(_) => ValueKind::Date,
            Value::Time(_) => ValueKind::Time,
            Value::Timestamp(_) => ValueKind::Timestamp,
            Value::TimestampTz(_) => ValueKind::TimestampTz,
            Value::Json(_) => ValueKind::Json,
            Value::Bytes(_) => ValueKind::Bytes,
        })
    }

    /// How many bytes the value's text takes at most, as the CSV and the table print it:
    /// the byte cap counts what is written, not what the value occupies in memory (a
    /// `numeric` of eight bytes can print sixteen thousand digits).
    pub fn printed_size(&self) -> usize {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 5,
            Value::Int(_) => 20,
            Value::Float(x) => float_width(*x),
            Value::Decimal(d) => decimal_width(d),
            Value::Text(s) => s.len(),
            Value::Date(_) => 10,
            Value::Time(_) => 15,
            Value::Timestamp(_) => 26,
            Value::TimestampTz(_) => 32,
            Value::Json(j) => {
                let mut counter = ByteCounter(0);
                // Writing to a counter cannot fail.
                let _ = serde_json::to_writer(&mut counter, j);
                counter.0
            }
            Value::Bytes(b) => 2 + 2 * b.len(),
        }
    }

    /// The value as a number, for charts; `None` for non-numeric values.
    pub fn as_f64(&self) -> Option<f64> {
        use bigdecimal::ToPrimitive;
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Decimal(d) => d.to_f64(),
            _ => None,
        }
    }
}

/// Counts what would be written.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The widest a float prints: Rust writes every digit before the point and every leading
/// zero after it (`1e300` is 301 characters), then at most 17 significant digits.
fn float_width(x: f64) -> usize {
    if !x.is_finite() || x == 0.0 {
        return 4;
    }
    let exponent = x.abs().log10().floor();
    let (int_digits, leading_zeros) = if exponent >= 0.0 {
        (exponent as usize + 1, 0)
    } else {
        (1, (-exponent) as usize)
    };
    // Sign, point, and up to 17 significant digits.
    int_digits + leading_zeros + 19
}

/// The length of `to_plain_string`: digits, zeros the scale adds, point and sign.
pub(crate) fn decimal_width(d: &BigDecimal) -> usize {
    plain_decimal_width(d.digits(), d.fractional_digit_count())
}

/// The length of a plain decimal with `digits` significant digits and `scale` digits after
/// the point (negative: zeros before it).
pub(crate) fn plain_decimal_width(digits: u64, scale: i64) -> usize {
    let digits = i128::from(digits);
    let scale = i128::from(scale);
    let width = if scale <= 0 {
        digits - scale
    } else if scale >= digits {
        scale + 2
    } else {
        digits + 1
    };
    usize::try_from(width + 1).unwrap_or(usize::MAX)
}

impl Value {
    /// Appends the plain-text form to `out`: the same text as `Display`, written without a
    /// formatter or an allocation for the common kinds, since every value of an export goes
    /// through here (dates and times in the years 0 to 9999 are written digit by digit; the
    /// rest as `Display` writes them).
    pub fn write_plain(&self, out: &mut String) {
        use fmt::Write as _;
        match self {
            Value::Null => {}
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
            Value::Text(s) => out.push_str(s),
            Value::Date(d) if plain_year(*d) => push_date(out, *d),
            Value::Time(t) if plain_time(*t) => push_time(out, *t),
            Value::Timestamp(t) if plain_year(t.date()) && plain_time(t.time()) => {
                push_date(out, t.date());
                out.push(' ');
                push_time(out, t.time());
            }
            Value::TimestampTz(t) => {
                let t = t.naive_utc();
                if plain_year(t.date()) && plain_time(t.time()) {
                    push_date(out, t.date());
                    out.push(' ');
                    push_time(out, t.time());
                    out.push_str("+00:00");
                } else {
                    let _ = write!(out, "{self}");
                }
            }
            Value::Bytes(bytes) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.reserve(2 + 2 * bytes.len());
                out.push_str("\\x");
                for byte in bytes {
                    out.push(char::from(HEX[usize::from(byte >> 4)]));
                    out.push(char::from(HEX[usize::from(byte & 0xf)]));
                }
            }
            _ => {
                let _ = write!(out, "{self}");
            }
        }
    }
}

/// A year `%Y` writes as exactly four digits.
fn plain_year(date: NaiveDate) -> bool {
    (0..=9999).contains(&date.year())
}

/// A time without a leap second, which `%S` would write as 60.
fn plain_time(time: NaiveTime) -> bool {
    time.nanosecond() < 1_000_000_000
}

/// `%Y-%m-%d` for a year in 0..=9999.
fn push_date(out: &mut String, date: NaiveDate) {
    let year = date.year().unsigned_abs();
    push_two(out, year / 100);
    push_two(out, year % 100);
    out.push('-');
    push_two(out, date.month());
    out.push('-');
    push_two(out, date.day());
}

/// `%H:%M:%S%.f`: the fraction as 3, 6 or 9 digits, whichever is exact, and none when zero.
fn push_time(out: &mut String, time: NaiveTime) {
    push_two(out, time.hour());
    out.push(':');
    push_two(out, time.minute());
    out.push(':');
    push_two(out, time.second());
    let nano = time.nanosecond();
    if nano == 0 {
        return;
    }
    let (digits, n) = if nano.is_multiple_of(1_000_000) {
        (3, nano / 1_000_000)
    } else if nano.is_multiple_of(1_000) {
        (6, nano / 1_000)
    } else {
        (9, nano)
    };
    out.push('.');
    let mut buffer = itoa::Buffer::new();
    let text = buffer.format(n);
    for _ in text.len()..digits {
        out.push('0');
    }
    out.push_str(text);
}

fn push_two(out: &mut String, n: u32) {
    out.push(char::from(b'0' + u8::try_from(n / 10 % 10).unwrap_or(0)));
    out.push(char::from(b'0' + u8::try_from(n % 10).unwrap_or(0)));
}

impl fmt::Display for Value {
    /// The plain-text form used in tables and CSV: NULL is empty, times are ISO 8601.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            // Plain notation: `1E+3` reads badly in a table or a CSV.
            Value::Decimal(d) => f.write_str(&d.to_plain_string()),
            Value::Text(s) => f.write_str(s),
            Value::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Value::Time(t) => write!(f, "{}", t.format("%H:%M:%S%.f")),
            Value::Timestamp(t) => write!(f, "{}", t.format("%Y-%m-%d %H:%M:%S%.f")),
            Value::TimestampTz(t) => write!(f, "{}", t.format("%Y-%m-%d %H:%M:%S%.f%:z")),
            Value::Json(j) => write!(f, "{j}"),
            Value::Bytes(b) => {
                f.write_str("\\x")?;
                b.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
            }
        }
    }
}

impl Serialize for Value {
    /// JSON for scripts: numbers stay numbers (decimals as exact strings), NULL is null.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_none(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(x) if x.is_finite() => serializer.serialize_f64(*x),
            Value::Json(j) => j.serialize(serializer),
            other => serializer.collect_str(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn check(value: Value, text: &str, json: &str) {
        assert_eq!(value.to_string(), text);
        assert_eq!(plain(&value), text);
        assert_eq!(serde_json::to_string(&value).expect("serializes"), json);
    }

    fn plain(value: &Value) -> String {
        let mut out = String::from("kept|");
        value.write_plain(&mut out);
        out.split_off(5)
    }

    /// The fast writer and `Display` agree on every edge a date or time has: each year
    /// width and sign, leap days and seconds, each precision of fraction.
    #[test]
    fn the_plain_writer_writes_what_display_writes() {
        let years = [
            -10_000, -1, 0, 1, 999, 1000, 1970, 2024, 9999, 10_000, 262_143,
        ];
        let nanos = [
            0,
            1,
            999,
            1_000,
            120_000,
            500_000_000,
            123_456_789,
            999_999_999,
            1_000_000_000,
            1_500_000_000,
        ];
        let mut values = Vec::new();
        for year in years {
            let Some(date) = NaiveDate::from_ymd_opt(year, 2, 28) else {
                continue;
            };
            values.push(Value::Date(date));
            for nano in nanos {
                let Some(time) = NaiveTime::from_hms_nano_opt(23, 59, 59, nano) else {
                    continue;
                };
                values.push(Value::Time(time));
                let stamp = date.and_time(time);
                values.push(Value::Timestamp(stamp));
                values.push(Value::TimestampTz(stamp.and_utc()));
            }
        }
        values.extend([
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::Int(0),
            Value::Bool(false),
            Value::Float(-0.0),
            Value::Float(f64::INFINITY),
            Value::Float(1e-300),
            Value::Text(String::new()),
            Value::Text("東京 \"q\", x\n".into()),
            Value::Bytes(Vec::new()),
            Value::Bytes((0..=255).collect()),
            Value::Json(serde_json::json!({"a": [1, null]})),
            Value::Decimal(BigDecimal::from_str("-0.000000000000000001").expect("decimal")),
            Value::Null,
        ]);
        assert!(values.len() > 300, "{}", values.len());
        for value in values {
            assert_eq!(plain(&value), value.to_string(), "{value:?}");
        }
    }

    #[test]
    fn values_render_as_text_and_json() {
        check(Value::Null, "", "null");
        check(Value::Bool(true), "true", "true");
        check(Value::Int(-42), "-42", "-42");
        check(Value::Float(2.5), "2.5", "2.5");
        check(Value::Float(f64::NAN), "NaN", "\"NaN\"");
        let decimal = BigDecimal::from_str("12345.670").expect("decimal");
        check(Value::Decimal(decimal), "12345.670", "\"12345.670\"");
        let big = BigDecimal::from_str("1E+3").expect("decimal");
        check(Value::Decimal(big), "1000", "\"1000\"");
        check(Value::Text("a\"b".into()), "a\"b", "\"a\\\"b\"");
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).expect("date");
        check(Value::Date(date), "2024-02-29", "\"2024-02-29\"");
        let stamp = date.and_hms_opt(13, 5, 0).expect("time");
        check(
            Value::Timestamp(stamp),
            "2024-02-29 13:05:00",
            "\"2024-02-29 13:05:00\"",
        );
        check(
            Value::TimestampTz(stamp.and_utc()),
            "2024-02-29 13:05:00+00:00",
            "\"2024-02-29 13:05:00+00:00\"",
        );
        check(
            Value::Json(serde_json::json!({"a": [1]})),
            "{\"a\":[1]}",
            "{\"a\":[1]}",
        );
        check(Value::Bytes(vec![0, 255]), "\\x00ff", "\"\\\\x00ff\"");
    }
}

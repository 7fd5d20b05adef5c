//! Snowflake's Arrow results turned into querybot's values, by the logical type Snowflake
//! names for each column (`rowtype`) and the Arrow type it chose:
//!
//! - FIXED: scaled `Int8..Int64` (`scale` in the column's metadata) or `Decimal128`;
//! - REAL: `Float64`; TEXT: `Utf8`; VARIANT, OBJECT, ARRAY: JSON text; BOOLEAN; DATE:
//!   `Date32`; BINARY;
//! - TIME: an integer scaled by the column's scale;
//! - TIMESTAMP_NTZ/LTZ: a scaled `Int64`, or a `{epoch, fraction}` struct;
//! - TIMESTAMP_TZ: `{epoch, fraction, timezone}` or, at small scales, `{epoch, timezone}`
//!   with a scaled epoch. The epoch is UTC; the offset only says where it was written.
//!
//! A type querybot does not know becomes text, never a failed query.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch, StructArray};
use arrow_schema::DataType;
use bigdecimal::BigDecimal;
use bigdecimal::num_bigint::BigInt;
use chrono::{DateTime, NaiveDate, NaiveTime};

use super::protocol::RowType;
use crate::warehouse::{Column, Value, ValueKind};

/// The result's columns, as querybot describes them.
pub(super) fn columns(rowtype: &[RowType]) -> Vec<Column> {
    rowtype
        .iter()
        .map(|column| Column {
            name: column.name.clone(),
            type_name: type_name(column),
            kind: kind(column),
        })
        .collect()
}

fn type_name(column: &RowType) -> String {
    match (column.kind.as_str(), column.precision, column.scale) {
        ("fixed", Some(precision), Some(scale)) => format!("NUMBER({precision},{scale})"),
        (kind, _, _) => kind.to_uppercase(),
    }
}

fn kind(column: &RowType) -> ValueKind {
    match column.kind.as_str() {
        "fixed" if column.scale.unwrap_or(0) == 0 => ValueKind::Int,
        "fixed" => ValueKind::Decimal,
        "real" => ValueKind::Float,
        "text" => ValueKind::Text,
        "variant" | "object" | "array" => ValueKind::Json,
        "boolean" => ValueKind::Bool,
        "date" => ValueKind::Date,
        "time" => ValueKind::Time,
        "timestamp_ntz" => ValueKind::Timestamp,
        "timestamp_ltz" | "timestamp_tz" => ValueKind::TimestampTz,
        "binary" => ValueKind::Bytes,
        _ => ValueKind::Text,
    }
}

/// Reads the rows of one Arrow IPC stream (an inline part or a chunk) in order.
pub(super) fn batches(bytes: &[u8]) -> Result<Vec<RecordBatch>, String> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let reader = arrow_ipc::reader::StreamReader::try_new(bytes, None)
        .map_err(|e| format!("an Arrow result could not be read: {e}"))?;
    reader
        .map(|batch| batch.map_err(|e| format!("an Arrow batch could not be read: {e}")))
        .collect()
}

/// Row `row` of `batch` as values.
pub(super) fn row(batch: &RecordBatch, row: usize, rowtype: &[RowType]) -> Vec<Value> {
    batch
        .columns()
        .iter()
        .zip(rowtype)
        .map(|(array, column)| cell(array, row, column))
        .collect()
}

/// The bytes a row takes in Arrow, to check against the byte cap before decoding it.
pub(super) fn raw_size(batch: &RecordBatch, row: usize) -> u64 {
    batch
        .columns()
        .iter()
        .map(|array| match array.data_type() {
            DataType::Utf8 => array.as_string::<i32>().value(row).len() as u64,
            DataType::LargeUtf8 => array.as_string::<i64>().value(row).len() as u64,
            DataType::Binary => array.as_binary::<i32>().value(row).len() as u64,
            _ => 16,
        })
        .sum()
}

fn cell(array: &ArrayRef, row: usize, column: &RowType) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    let scale = column.scale.unwrap_or(0);
    match column.kind.as_str() {
        "fixed" => match integer(array, row) {
            Some(n) if scale == 0 => {
                i64::try_from(n).map_or_else(|_| Value::Decimal(BigInt::from(n).into()), Value::Int)
            }
            Some(n) => Value::Decimal(BigDecimal::new(BigInt::from(n), scale)),
            None => match array.data_type() {
                DataType::Decimal128(_, s) => {
                    let n = array.as_primitive::<Decimal128Type>().value(row);
                    if *s == 0
                        && let Ok(n) = i64::try_from(n)
                    {
                        Value::Int(n)
                    } else {
                        Value::Decimal(BigDecimal::new(BigInt::from(n), i64::from(*s)))
                    }
                }
                _ => fallback(array, row),
            },
        },
        "real" => match array.data_type() {
            DataType::Float64 => Value::Float(array.as_primitive::<Float64Type>().value(row)),
            DataType::Float32 => {
                Value::Float(f64::from(array.as_primitive::<Float32Type>().value(row)))
            }
            _ => fallback(array, row),
        },
        "variant" | "object" | "array" => match text(array, row) {
            Some(json) => serde_json::from_str(&json).map_or(Value::Text(json), Value::Json),
            None => fallback(array, row),
        },
        "boolean" => match array.data_type() {
            DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
            _ => fallback(array, row),
        },
        "date" => match array.data_type() {
            DataType::Date32 => {
                let days = array.as_primitive::<Date32Type>().value(row);
                NaiveDate::from_num_days_from_ce_opt(days + EPOCH_DAYS_FROM_CE)
                    .map_or_else(|| fallback(array, row), Value::Date)
            }
            _ => fallback(array, row),
        },
        "time" => match integer(array, row) {
            Some(n) => {
                let nanos = scaled_to_nanos(n, scale);
                let secs = u32::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(0);
                let frac = u32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or(0);
                NaiveTime::from_num_seconds_from_midnight_opt(secs, frac)
                    .map_or_else(|| fallback(array, row), Value::Time)
            }
            None => fallback(array, row),
        },
        "timestamp_ntz" | "timestamp_ltz" | "timestamp_tz" => match instant(array, row, scale) {
            Some(at) if column.kind == "timestamp_ntz" => Value::Timestamp(at.naive_utc()),
            Some(at) => Value::TimestampTz(at),
            None => fallback(array, row),
        },
        "binary" => match array.data_type() {
            DataType::Binary => Value::Bytes(array.as_binary::<i32>().value(row).to_vec()),
            _ => fallback(array, row),
        },
        _ => fallback(array, row),
    }
}

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

fn integer(array: &ArrayRef, row: usize) -> Option<i128> {
    Some(match array.data_type() {
        DataType::Int8 => i128::from(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => i128::from(array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => i128::from(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => i128::from(array.as_primitive::<Int64Type>().value(row)),
        _ => return None,
    })
}

fn text(array: &ArrayRef, row: usize) -> Option<String> {
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string::<i32>().value(row).to_owned()),
        DataType::LargeUtf8 => Some(array.as_string::<i64>().value(row).to_owned()),
        _ => None,
    }
}

/// A value scaled by `10^scale` as nanoseconds.
fn scaled_to_nanos(n: i128, scale: i64) -> i128 {
    let scale = scale.clamp(0, 9) as u32;
    n * 10i128.pow(9 - scale)
}

/// A timestamp's instant: a scaled integer, or Snowflake's struct of epoch seconds (scaled,
/// when there is no fraction field) and nanoseconds.
fn instant(array: &ArrayRef, row: usize, scale: i64) -> Option<DateTime<chrono::Utc>> {
    let nanos = match array.data_type() {
        DataType::Struct(_) => {
            let parts: &StructArray = array.as_struct();
            let field = |name: &str| parts.column_by_name(name).and_then(|a| integer(a, row));
            let epoch = field("epoch")?;
            match field("fraction") {
                Some(fraction) => epoch * 1_000_000_000 + fraction,
                None => scaled_to_nanos(epoch, scale),
            }
        }
        _ => scaled_to_nanos(integer(array, row)?, scale),
    };
    let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
    let frac = u32::try_from(nanos.rem_euclid(1_000_000_000)).ok()?;
    DateTime::from_timestamp(secs, frac)
}

/// A value of a type querybot does not decode, as text where it can tell one.
fn fallback(array: &ArrayRef, row: usize) -> Value {
    if let Some(text) = text(array, row) {
        return Value::Text(text);
    }
    if let Some(n) = integer(array, row) {
        return Value::Text(n.to_string());
    }
    match array.data_type() {
        DataType::Float64 => {
            Value::Text(array.as_primitive::<Float64Type>().value(row).to_string())
        }
        DataType::Boolean => Value::Text(array.as_boolean().value(row).to_string()),
        other => Value::Text(format!("({other} value)")),
    }
}

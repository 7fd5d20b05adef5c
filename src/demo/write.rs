//! Writes generated rows into a fresh SQLite file: schema, batched inserts, one transaction.

use std::path::Path;

use anyhow::{Context, Result, bail};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};

use super::data::{CATEGORIES, REGIONS};
use super::schema::{SCHEMA, TABLES};
use super::synth::Dataset;

/// Creates the schema and inserts every row in one transaction; returns row counts.
pub(super) async fn write_database(file: &Path, data: &Dataset) -> Result<Vec<(String, u64)>> {
    let options = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .foreign_keys(true)
        // A rollback journal, not WAL, so the finished database is one self-contained file.
        .journal_mode(SqliteJournalMode::Delete)
        // Durability comes from the fsync before the rename; a crash mid-build only loses
        // a temp file.
        .synchronous(SqliteSynchronous::Off);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let mut tx = conn.begin().await?;
    sqlx::raw_sql(SCHEMA).execute(&mut *tx).await?;

    insert(&mut tx, "regions", REGION_COLUMNS, regions()).await?;
    insert(&mut tx, "customers", CUSTOMER_COLUMNS, customers(data)).await?;
    insert(&mut tx, "categories", CATEGORY_COLUMNS, categories()).await?;
    insert(&mut tx, "products", PRODUCT_COLUMNS, products(data)).await?;
    insert(&mut tx, "orders", ORDER_COLUMNS, orders(data)).await?;
    insert(&mut tx, "order_items", ITEM_COLUMNS, order_items(data)).await?;
    insert(&mut tx, "payments", PAYMENT_COLUMNS, payments(data)).await?;

    let mut counts = Vec::with_capacity(TABLES.len());
    for &table in TABLES {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *tx)
            .await?;
        counts.push((table.to_string(), u64::try_from(n)?));
    }
    // Planner statistics help analysts' joins; they are derived from the data, so stay
    // deterministic.
    sqlx::raw_sql("ANALYZE").execute(&mut *tx).await?;
    tx.commit().await?;
    conn.close().await?;
    Ok(counts)
}

/// A bound parameter of a generated row.
enum Value {
    Int(i64),
    Real(f64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

/// Money columns are REAL with two decimals; the generator keeps exact cents.
fn money(cents: i64) -> Value {
    Value::Real(cents as f64 / 100.0)
}

const TIMESTAMP: &str = "%Y-%m-%d %H:%M:%S";
const DATE: &str = "%Y-%m-%d";

const REGION_COLUMNS: &[&str] = &["region_id", "code", "name"];

fn regions() -> Vec<Vec<Value>> {
    REGIONS
        .iter()
        .zip(1..)
        .map(|(r, id): (_, i64)| vec![id.into(), r.code.into(), r.name.into()])
        .collect()
}

const CUSTOMER_COLUMNS: &[&str] = &[
    "customer_id",
    "first_name",
    "last_name",
    "email",
    "city",
    "country",
    "region_id",
    "signup_date",
    "segment",
];

fn customers(data: &Dataset) -> Vec<Vec<Value>> {
    data.customers
        .iter()
        .zip(1..)
        .map(|(c, id): (_, i64)| {
            vec![
                id.into(),
                c.first_name.into(),
                c.last_name.into(),
                c.email.clone().into(),
                c.city.into(),
                c.country.into(),
                (c.region as i64 + 1).into(),
                c.signup_date.format(DATE).to_string().into(),
                c.segment.as_str().into(),
            ]
        })
        .collect()
}

const CATEGORY_COLUMNS: &[&str] = &["category_id", "name"];

fn categories() -> Vec<Vec<Value>> {
    CATEGORIES
        .iter()
        .zip(1..)
        .map(|(c, id): (_, i64)| vec![id.into(), c.name.into()])
        .collect()
}

const PRODUCT_COLUMNS: &[&str] = &[
    "product_id",
    "sku",
    "name",
    "category_id",
    "unit_price",
    "unit_cost",
];

fn products(data: &Dataset) -> Vec<Vec<Value>> {
    data.products
        .iter()
        .zip(1..)
        .map(|(p, id): (_, i64)| {
            vec![
                id.into(),
                p.sku.clone().into(),
                p.name.into(),
                (p.category as i64 + 1).into(),
                money(p.price_cents),
                money(p.cost_cents),
            ]
        })
        .collect()
}

const ORDER_COLUMNS: &[&str] = &[
    "order_id",
    "customer_id",
    "ordered_at",
    "order_date",
    "status",
    "channel",
];

fn orders(data: &Dataset) -> Vec<Vec<Value>> {
    data.orders
        .iter()
        .zip(1..)
        .map(|(o, id): (_, i64)| {
            vec![
                id.into(),
                o.customer_id.into(),
                o.ordered_at.format(TIMESTAMP).to_string().into(),
                o.ordered_at.format(DATE).to_string().into(),
                o.status.as_str().into(),
                o.channel.as_str().into(),
            ]
        })
        .collect()
}

const ITEM_COLUMNS: &[&str] = &[
    "order_id",
    "line_no",
    "product_id",
    "quantity",
    "unit_price",
    "discount_amount",
];

fn order_items(data: &Dataset) -> Vec<Vec<Value>> {
    data.items
        .iter()
        .map(|i| {
            vec![
                i.order_id.into(),
                i.line_no.into(),
                i.product_id.into(),
                i.quantity.into(),
                money(i.price_cents),
                money(i.discount_cents),
            ]
        })
        .collect()
}

const PAYMENT_COLUMNS: &[&str] = &[
    "payment_id",
    "order_id",
    "kind",
    "method",
    "amount",
    "paid_at",
];

fn payments(data: &Dataset) -> Vec<Vec<Value>> {
    data.payments
        .iter()
        .zip(1..)
        .map(|(p, id): (_, i64)| {
            vec![
                id.into(),
                p.order_id.into(),
                (if p.is_refund { "refund" } else { "charge" }).into(),
                p.method.into(),
                money(p.amount_cents),
                p.paid_at.format(TIMESTAMP).to_string().into(),
            ]
        })
        .collect()
}

/// Rows per INSERT: far fewer round trips than one row each, and well under SQLite's
/// limit on bound parameters.
const ROWS_PER_INSERT: usize = 200;

/// Inserts `rows` with multi-row INSERTs. Full chunks share one SQL text, so the prepared
/// statement is reused from sqlx's cache.
async fn insert(
    conn: &mut SqliteConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<()> {
    let placeholders = format!("({})", vec!["?"; columns.len()].join(", "));
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        // Table and column names are the constants above, never input.
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            columns.join(", "),
            vec![placeholders.as_str(); chunk.len()].join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            if row.len() != columns.len() {
                bail!(
                    "{table}: row has {} values for {} columns",
                    row.len(),
                    columns.len()
                );
            }
            for value in row {
                query = match value {
                    Value::Int(v) => query.bind(*v),
                    Value::Real(v) => query.bind(*v),
                    Value::Text(v) => query.bind(v.clone()),
                };
            }
        }
        query
            .execute(&mut *conn)
            .await
            .with_context(|| format!("inserting into {table}"))?;
    }
    Ok(())
}

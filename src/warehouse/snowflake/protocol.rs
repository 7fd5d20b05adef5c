//! Snowflake's driver protocol as JSON: what querybot sends to log in and to run a statement,
//! and what it reads back, leniently (every field optional, unknown fields ignored).

use serde::Deserialize;
use serde_json::Value as Json;

/// Snowflake's envelope around every answer.
#[derive(Debug, Deserialize)]
pub(super) struct Envelope<T> {
    #[serde(default)]
    pub(super) success: bool,
    pub(super) code: Option<String>,
    pub(super) message: Option<String>,
    pub(super) data: Option<T>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LoginData {
    pub(super) token: Option<String>,
}

/// A statement's result, or its progress while it still runs.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct QueryData {
    #[serde(default)]
    pub(super) rowtype: Vec<RowType>,
    pub(super) rowset_base64: Option<String>,
    /// JSON rowsets (statements whose results Snowflake sends as JSON).
    pub(super) rowset: Option<Vec<Vec<Json>>>,
    pub(super) query_result_format: Option<String>,
    pub(super) query_id: Option<String>,
    #[serde(default)]
    pub(super) chunks: Vec<Chunk>,
    pub(super) chunk_headers: Option<std::collections::BTreeMap<String, String>>,
    pub(super) qrmk: Option<String>,
    /// Where to ask again while the statement runs (codes 333333 and 333334).
    pub(super) get_result_url: Option<String>,
    /// For errors: Snowflake's code and SQL state.
    pub(super) error_code: Option<String>,
    pub(super) sql_state: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct RowType {
    pub(super) name: String,
    #[serde(rename = "type", default)]
    pub(super) kind: String,
    pub(super) scale: Option<i64>,
    pub(super) precision: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Chunk {
    pub(super) url: String,
}

/// Codes that mean "still running: ask again at `getResultUrl`".
pub(super) const STILL_RUNNING: [&str; 2] = ["333333", "333334"];
/// Codes that mean the session token has expired or is unknown: log in again.
pub(super) const SESSION_EXPIRED: [&str; 3] = ["390112", "390104", "390111"];

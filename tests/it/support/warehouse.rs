//! Running SQL on a warehouse the way the bot does: guarded by the warehouse's own catalog.

use std::time::Duration;

use querybot::config::{ConnectionConfig, SecretUrl, WarehouseKind};
use querybot::guard::{self, GuardedSql, Policy, Verdict};
use querybot::warehouse::{Caps, Collected, Execution, StopSignal, Warehouse, WarehouseError};

/// Generous limits, for tests that are not about the limits.
pub(crate) const CAPS: Caps = Caps {
    timeout: Duration::from_secs(10),
    max_rows: 10_000,
    max_bytes: 10 * 1024 * 1024,
    draft: None,
    stop: StopSignal::NEVER,
    role: None,
};

pub(crate) fn connection(kind: WarehouseKind, url: &str) -> ConnectionConfig {
    ConnectionConfig {
        name: "test".into(),
        url: SecretUrl::new(url),
        kind,
        examples: None,
        snowflake: None,
        access: Default::default(),
    }
}

/// A Snowflake connection to a server at `api_url`.
pub(crate) fn snowflake_connection(url: &str, api_url: &str) -> ConnectionConfig {
    let env = [("SNOWFLAKE_API_URL".to_owned(), api_url.to_owned())].into();
    querybot::config::connection_from_url("test", url, &env).expect("a valid Snowflake URL")
}

/// `sql` as the guard allows it under the warehouse's current catalog; panics if refused.
pub(crate) async fn guarded(warehouse: &dyn Warehouse, sql: &str) -> GuardedSql {
    let catalog = warehouse.introspect().await.expect("introspects");
    match guard::check(sql, &Policy::from_catalog(&catalog)) {
        Verdict::Allowed(sql) => sql,
        Verdict::Rejected(rejection) => panic!("guard rejected {sql}: {}", rejection.reason()),
    }
}

/// Guards and runs `sql`, collecting every row.
pub(crate) async fn run(
    warehouse: &dyn Warehouse,
    sql: &str,
    caps: &Caps,
) -> (Result<Execution, WarehouseError>, Collected) {
    let sql = guarded(warehouse, sql).await;
    let mut rows = Collected::default();
    let result = warehouse.execute(&sql, caps, &mut rows).await;
    (result, rows)
}

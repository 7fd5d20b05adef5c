//! Catalog cache: reads a warehouse's catalog once, keeps it in the store, refreshes on demand.

use std::time::Duration;

use chrono::Utc;

use crate::catalog::Catalog;
use crate::store::{Store, StoreError};
use crate::warehouse::{Warehouse, WarehouseError};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Introspects the warehouse now, as database role `role` (or the connection's own), and
/// replaces that role's cached catalog.
#[tracing::instrument(skip_all, fields(connection = warehouse.name(), role), err)]
pub async fn refresh(
    store: &Store,
    warehouse: &dyn Warehouse,
    role: Option<&str>,
) -> Result<Catalog, CatalogError> {
    let catalog = warehouse.introspect_as(role).await?;
    store.save_catalog(&key(warehouse, role), &catalog).await?;
    tracing::info!(tables = catalog.tables.len(), "catalog refreshed");
    Ok(catalog)
}

/// The cached catalog when it is younger than `max_age`, else a fresh one.
pub async fn current(
    store: &Store,
    warehouse: &dyn Warehouse,
    role: Option<&str>,
    max_age: Duration,
) -> Result<Catalog, CatalogError> {
    if let Some((catalog, refreshed_at)) = store.catalog(&key(warehouse, role)).await? {
        let age = (Utc::now() - refreshed_at).to_std().unwrap_or_default();
        if age <= max_age && catalog.dialect == warehouse.dialect() {
            return Ok(catalog);
        }
    }
    refresh(store, warehouse, role).await
}

/// Where a role's catalog is cached: under the connection's name, and the role's after `@`
/// (connection names cannot hold one).
fn key(warehouse: &dyn Warehouse, role: Option<&str>) -> String {
    match role {
        None => warehouse.name().to_owned(),
        Some(role) => format!("{}@{role}", warehouse.name()),
    }
}

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

/// Introspects the warehouse now and replaces the cached catalog.
#[tracing::instrument(skip_all, fields(connection = warehouse.name()), err)]
pub async fn refresh(store: &Store, warehouse: &dyn Warehouse) -> Result<Catalog, CatalogError> {
    let catalog = warehouse.introspect().await?;
    store.save_catalog(warehouse.name(), &catalog).await?;
    tracing::info!(tables = catalog.tables.len(), "catalog refreshed");
    Ok(catalog)
}

/// The cached catalog when it is younger than `max_age`, else a fresh one.
pub async fn current(
    store: &Store,
    warehouse: &dyn Warehouse,
    max_age: Duration,
) -> Result<Catalog, CatalogError> {
    if let Some((catalog, refreshed_at)) = store.catalog(warehouse.name()).await? {
        let age = (Utc::now() - refreshed_at).to_std().unwrap_or_default();
        if age <= max_age && catalog.dialect == warehouse.dialect() {
            return Ok(catalog);
        }
    }
    refresh(store, warehouse).await
}

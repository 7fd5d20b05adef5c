//! Catalog cache: reads a warehouse's catalog once, keeps it in the store, refreshes on demand.
//! In memory, [`Known`] keeps what questions build from a catalog (the guard's policy, the
//! linking index) per catalog version, so that only the first question after a refresh (on
//! any replica) pays for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::catalog::Catalog;
use crate::guard::Policy;
use crate::store::{Store, StoreError};
use crate::warehouse::{Warehouse, WarehouseError};

use super::linking::LinkIndex;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the process is shutting down")]
    ShuttingDown,
}

/// Introspects the warehouse now, as database role `role` (or the connection's own), and
/// replaces that role's cached catalog.
#[tracing::instrument(skip_all, fields(connection = warehouse.name(), role), err)]
pub async fn refresh(
    store: &Store,
    warehouse: &dyn Warehouse,
    role: Option<&str>,
) -> Result<Catalog, CatalogError> {
    Ok(read(store, warehouse, role).await?.0)
}

/// Introspects and keeps the catalog; returns it with its version.
async fn read(
    store: &Store,
    warehouse: &dyn Warehouse,
    role: Option<&str>,
) -> Result<(Catalog, DateTime<Utc>), CatalogError> {
    let catalog = warehouse.introspect_as(role).await?;
    let version = store.save_catalog(&key(warehouse, role), &catalog).await?;
    tracing::info!(tables = catalog.tables.len(), "catalog refreshed");
    Ok((catalog, version))
}

/// Where a role's catalog is cached: under the connection's name, and the role's after `@`
/// (connection names cannot hold one).
fn key(warehouse: &dyn Warehouse, role: Option<&str>) -> String {
    match role {
        None => warehouse.name().to_owned(),
        Some(role) => format!("{}@{role}", warehouse.name()),
    }
}

/// A role's catalog as questions use it, and what is built from it once per version.
#[derive(Debug)]
pub struct Known {
    /// When the catalog was read (the store's `refreshed_at`): a refresh anywhere changes it.
    pub version: DateTime<Utc>,
    pub policy: Policy,
    /// The linking index, which holds the catalog.
    pub index: LinkIndex,
}

impl Known {
    pub fn catalog(&self) -> &Arc<Catalog> {
        self.index.catalog()
    }
}

/// What this process built from each connection's and role's catalog, by its key.
#[derive(Debug, Default)]
pub struct Cache {
    known: Mutex<HashMap<String, Arc<Known>>>,
}

impl Cache {
    /// The catalog questions use (younger than `max_age`, else read again), as `shape`
    /// makes it from the stored one, with its policy and linking index: built again only
    /// when the stored catalog's version changed. One small read of the store per call.
    pub async fn current(
        &self,
        store: &Store,
        warehouse: &dyn Warehouse,
        role: Option<&str>,
        max_age: Duration,
        shape: fn(Catalog) -> Catalog,
    ) -> Result<Arc<Known>, CatalogError> {
        let key = key(warehouse, role);
        let stored = store.catalog_version(&key).await?;
        let fresh = stored
            .filter(|version| (Utc::now() - *version).to_std().unwrap_or_default() <= max_age);
        if let Some(version) = fresh {
            if let Some(known) = self.lookup(&key, version) {
                return Ok(known);
            }
            if let Some((catalog, version)) = store.catalog(&key).await?
                && catalog.dialect == warehouse.dialect()
            {
                return self.build(key, catalog, version, shape).await;
            }
        }
        let (catalog, version) = read(store, warehouse, role).await?;
        self.build(key, catalog, version, shape).await
    }

    fn lookup(&self, key: &str, version: DateTime<Utc>) -> Option<Arc<Known>> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known
            .get(key)
            .filter(|known| known.version == version)
            .cloned()
    }

    /// Builds the policy and index off the async workers (a large catalog takes a while),
    /// and keeps them.
    async fn build(
        &self,
        key: String,
        catalog: Catalog,
        version: DateTime<Utc>,
        shape: fn(Catalog) -> Catalog,
    ) -> Result<Arc<Known>, CatalogError> {
        let work = move || {
            let catalog = shape(catalog);
            Known {
                version,
                policy: Policy::from_catalog(&catalog),
                index: LinkIndex::new(catalog),
            }
        };
        let known = match tokio::task::spawn_blocking(work).await {
            Ok(known) => Arc::new(known),
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => return Err(CatalogError::ShuttingDown),
        };
        tracing::debug!(
            key,
            tables = known.catalog().tables.len(),
            "catalog index built"
        );
        self.known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, known.clone());
        Ok(known)
    }
}

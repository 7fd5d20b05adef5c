//! The demo warehouse: a generated SQLite shop database so querybot works with no data of your own.
//!
//! [`generate`] writes a made-up electronics shop (regions, customers, products, two years of
//! orders with items and payments) that behaves like real data: November/December peaks, a
//! summer dip, growth from 2024 to 2025, weekend bumps and a long tail of products. The
//! content depends only on the seed, so docs and tests can quote exact numbers.
//!
//! - `data`: the hand-written reference lists (names, cities, catalogue).
//! - `synth`: seed -> rows, in memory.
//! - `schema`: the DDL with column comments and analyst views.
//! - `write`: rows -> a SQLite file, in one transaction.
//! - this file: the public entry point and the atomic replacement of the target file.

mod data;
mod schema;
mod synth;
#[cfg(test)]
mod tests;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};

/// The seed `querybot demo-data` uses unless told otherwise.
pub const DEFAULT_SEED: u64 = 2024;

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub path: PathBuf,
    /// Every table with its row count, parents before children.
    pub tables: Vec<(String, u64)>,
}

/// Writes the demo warehouse for `seed` to `path`, replacing any file there.
///
/// The database is built in a temporary file beside `path` and renamed over it only when
/// complete, so readers see either the old file or the whole new one, never a partial one.
pub async fn generate(path: &Path, seed: u64) -> Result<DemoSummary> {
    let file_name = path
        .file_name()
        .with_context(|| format!("demo database path {} has no file name", path.display()))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    tokio::fs::create_dir_all(&dir)
        .await
        .with_context(|| format!("creating directory {}", dir.display()))?;

    // Unique per process and call so concurrent generations cannot share a temp file.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let temp = TempFile::new(dir.join(format!(
        ".{}.{}-{}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )));
    temp.clear().await?;

    let data = synth::dataset(seed);
    let tables = write::write_database(&temp.path, &data)
        .await
        .with_context(|| format!("writing demo database {}", temp.path.display()))?;

    // The new file must be on disk before the rename makes it visible under the real name.
    let file = tokio::fs::File::open(&temp.path).await?;
    file.sync_all().await?;
    drop(file);

    // Sidecar files of the database being replaced would be applied to (and corrupt) the
    // new one: a stale hot journal or WAL is matched to a database by name only.
    for suffix in ["-journal", "-wal", "-shm"] {
        remove_if_exists(&sibling(path, suffix)).await?;
    }
    tokio::fs::rename(&temp.path, path)
        .await
        .with_context(|| format!("replacing {}", path.display()))?;
    temp.disarm();

    Ok(DemoSummary {
        path: path.to_path_buf(),
        tables,
    })
}

/// `path` with `suffix` appended to its file name, the way SQLite names its sidecar files.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

async fn remove_if_exists(path: &Path) -> Result<()> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}

/// The half-built database; deleted (with its journal) on drop unless renamed into place.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    fn new(path: PathBuf) -> Self {
        TempFile { path, armed: true }
    }

    /// Clears leftovers of an earlier run that happened to get the same name.
    async fn clear(&self) -> Result<()> {
        remove_if_exists(&self.path).await?;
        remove_if_exists(&sibling(&self.path, "-journal")).await
    }

    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            // Best effort and synchronous: drop cannot await, and these are small unlinks.
            let _ = std::fs::remove_file(&self.path);
            let _ = std::fs::remove_file(sibling(&self.path, "-journal"));
        }
    }
}

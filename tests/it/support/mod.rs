//! Shared test support: throwaway databases, paths to shared test data, app spawning.

pub(crate) mod app;
pub(crate) mod chat;
pub(crate) mod db;
pub(crate) mod discord_spec;
pub(crate) mod fake_discord;
pub(crate) mod fake_llm;
pub(crate) mod fake_slack;
pub(crate) mod fakesnow;
pub(crate) mod multipart;
pub(crate) mod warehouse;

use std::path::PathBuf;

/// A file under the shared test data folder that sits beside the repository.
pub(crate) fn testdata(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata")
        .join(relative)
}

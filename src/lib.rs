//! querybot: ask a data warehouse questions from chat, answered read-only.
//!
//! Layout (dependencies point down this list, never up):
//! - `main.rs` parses the command line and calls into `app`.
//! - `app` builds the components from `config` and runs the HTTP server.
//! - `http` serves health, readiness and metrics.
//! - `pipeline` turns questions into checked SQL and results (catalog refresh lives here).
//! - `store` keeps the bot's own state: conversations, drafts, runs, dedupe, catalog cache.
//! - `warehouse` runs guarded SQL read-only and introspects catalogs.
//! - `guard` decides whether a SQL text may run at all.
//! - `catalog` and `dialect` are plain data shared by the layers above.

pub mod app;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dialect;
pub mod guard;
pub mod http;
pub mod pipeline;
pub mod store;
pub mod telemetry;
pub mod warehouse;

//! querybot: ask a data warehouse questions from chat, answered read-only.
//!
//! Layout (dependencies point down this list, never up):
//! - `main.rs` parses the command line and calls into `app`.
//! - `app` builds the components from `config` and runs the HTTP server.
//! - `http` serves health, readiness and metrics.
//! - `surface` adapts a chat platform (Slack, the terminal) to the `bot`, through one shared
//!   conversation flow (`surface::flow`).
//! - `bot` authorises, drives the pipeline, and turns outcomes into neutral replies.
//! - `eval` measures execution accuracy on question and gold-SQL sets.
//! - `pipeline` turns questions into checked SQL and results (catalog, linking, prompts).
//! - `llm` talks to the language model; `present` draws tables, charts and CSV files.
//! - `store` keeps the bot's own state: conversations, drafts, runs, dedupe, catalog cache.
//! - `warehouse` runs guarded SQL read-only and introspects catalogs.
//! - `guard` decides whether a SQL text may run at all.
//! - `catalog` and `dialect` are plain data shared by the layers above.
//! - `telemetry` sets up logging; `progress` shows a person at a terminal what is going on.

pub mod app;
pub mod bot;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dialect;
pub mod eval;
pub mod guard;
pub mod http;
pub mod llm;
pub mod pipeline;
pub mod present;
pub mod progress;
pub mod store;
pub mod surface;
pub mod telemetry;
pub mod warehouse;

//! querybot's integration tests, one crate: real PostgreSQL and SQLite, real HTTP, the binary.

mod support;

mod cli;
mod conversation;
mod crash;
mod discord;
mod export;
mod http;
mod outage;
mod pipeline;
mod slack;
mod slack_fake;
mod snowflake;
mod store;
mod teams;
mod tidy;
mod warehouse;
mod warehouse_contract;

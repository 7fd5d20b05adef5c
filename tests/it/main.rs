//! querybot's integration tests, one crate: real PostgreSQL and SQLite, real HTTP, the binary.

mod support;

mod store;
mod warehouse;

//! Logging setup: human-readable lines by default, JSON lines when configured.
//!
//! `serve` logs at `info`; the terminal commands log warnings and errors only (more with
//! `-v` or `QUERYBOT_LOG`), and show progress notes on a spinner line instead.

use std::io::IsTerminal;

use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

use crate::config::{LogConfig, LogFormat};
use crate::progress;

/// Who reads the log: an operator of a server, or a person at a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Server,
    /// A terminal command; `verbosity` counts `-v` flags.
    Person {
        verbosity: u8,
    },
}

/// Installs the global subscriber; logs go to stderr so stdout stays for command output.
pub fn init(config: &LogConfig, audience: Audience) {
    let default = match audience {
        Audience::Server => "info",
        Audience::Person { verbosity: 0 } => "warn",
        Audience::Person { verbosity: 1 } => "info",
        Audience::Person { .. } => "debug",
    };
    let filter = match (audience, &config.filter) {
        (Audience::Person { verbosity: 1.. }, _) | (_, None) => default,
        (_, Some(filter)) => filter.as_str(),
    };
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::stderr().is_terminal();
    let log = match config.format {
        LogFormat::Text => fmt::layer()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let notes = matches!(audience, Audience::Person { .. }).then(|| {
        progress::NotesLayer
            .with_filter(Targets::new().with_target(progress::TARGET, tracing::Level::INFO))
    });
    // A second call (tests build several apps in one process) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(log.with_filter(filter))
        .with(notes)
        .try_init();
}

//! The `querybot` binary: parses the command line, loads the configuration, runs a command.

use std::process::ExitCode;

use clap::Parser;

use querybot::cli::Cli;
use querybot::config::Config;
use querybot::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let (config, origins) = match Config::load_with_origins() {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("querybot: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log, cli.audience());
    match querybot::cli::run(cli, config, origins).await {
        Ok(code) => code,
        Err(error) => {
            tracing::debug!(error = ?error, "command failed");
            eprintln!("querybot: {error:#}");
            ExitCode::FAILURE
        }
    }
}

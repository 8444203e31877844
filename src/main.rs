//! The `deadbolt` binary: logging, the command line, and an exit code.

use std::process::ExitCode;

use clap::Parser;
use deadbolt::cli::{Cli, Command, LogFormat};
use deadbolt::config::Settings;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr);
    match cli.log_format.unwrap_or(LogFormat::Text) {
        LogFormat::Text => logs.init(),
        // One object per line, the event's fields at the top level.
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    let result = match cli.command {
        Command::Serve(args) => serve(&args),
        // The admin commands are synchronous, and need no async runtime.
        Command::Locks { action } => deadbolt::admin::commands::locks(action),
        Command::Hold(args) => deadbolt::admin::commands::hold(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `deadbolt serve`: the server, on a multi-threaded runtime.
fn serve(args: &deadbolt::cli::ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    runtime.block_on(deadbolt::server::serve(settings))
}

//! The `deadbolt` binary: logging, the command line, and an exit code.

use std::process::ExitCode;

use clap::Parser;
use deadbolt::cli::{Cli, Command};
use deadbolt::config::Settings;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
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

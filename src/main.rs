//! The `deadbolt` binary: logging, the command line, and an exit code.

use std::process::ExitCode;

use clap::Parser;
use deadbolt::cli::{Cli, Command, LogFormat};
use deadbolt::config::Settings;

fn main() -> ExitCode {
    let cli = Cli::parse();
    deadbolt::logging::init(cli.log_format.unwrap_or(LogFormat::Text));
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

/// Threads for blocking work (uploads and their fsyncs, lock decisions,
/// listings) at most, besides one async worker per core: enough to keep
/// many uploads' syncs overlapping, and a bound on the server's threads
/// and on the memory each one's stack and allocator arena holds.
const BLOCKING_THREADS: usize = 32;
/// How long an idle blocking thread stays for the next piece of work.
const BLOCKING_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(2);

/// `deadbolt serve`: the server, on a multi-threaded runtime.
fn serve(args: &deadbolt::cli::ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args)?;
    limit_allocator_arenas();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_keep_alive(BLOCKING_KEEP_ALIVE)
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    runtime.block_on(deadbolt::server::serve(settings))
}

/// glibc gives each thread that allocates while others do an arena of its
/// own, up to eight per core, and keeps their memory: with a pool of
/// blocking threads that is most of the server's resident memory. Two
/// arenas serve its few hot threads as well.
fn limit_allocator_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning; it is called
    // before the runtime starts its threads.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

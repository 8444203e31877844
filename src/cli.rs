//! The command line: clap derive, every flag also a `DEADBOLT_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "deadbolt",
    version,
    about = "A WebDAV server whose heart is resource locking",
    long_about = "deadbolt serves a directory tree over WebDAV (RFC 4918).\n\n\
                  Every flag can also be given as a DEADBOLT_* environment variable \
                  (e.g. DEADBOLT_LISTEN) or as a key of a TOML file passed with --config; \
                  flags win over the environment, which wins over the file."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a directory over WebDAV.
    Serve(ServeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Directory to serve; created if missing [default: ./data]
    #[arg(value_name = "DIR", env = "DEADBOLT_ROOT")]
    pub root: Option<PathBuf>,

    /// Address to listen on; port 0 picks a free port, printed on the first
    /// line of stdout [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR:PORT", env = "DEADBOLT_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// Directory for the server's state (dead properties, SQLite); never
    /// served [default: DIR/.deadbolt, hidden from clients]
    #[arg(long, value_name = "DIR", env = "DEADBOLT_STATE_DIR")]
    pub state_dir: Option<PathBuf>,

    /// TOML file with any of the keys listen, root, state_dir,
    /// allow_depth_infinity, max_xml_body, drain_timeout,
    /// lock_timeout_default, lock_timeout_max, htpasswd, admins,
    /// read_only_users, anonymous_read, hide_lock_owners
    #[arg(long, short, value_name = "FILE", env = "DEADBOLT_CONFIG")]
    pub config: Option<PathBuf>,

    /// Answer PROPFIND with Depth: infinity instead of refusing it with 403
    /// (walking a big tree is expensive) [default: false]
    #[arg(
        long,
        value_name = "BOOL",
        env = "DEADBOLT_ALLOW_DEPTH_INFINITY",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub allow_depth_infinity: Option<bool>,

    /// Largest XML request body accepted (PROPFIND, PROPPATCH), in bytes;
    /// larger ones get 413 [default: 1048576]
    #[arg(long, value_name = "BYTES", env = "DEADBOLT_MAX_XML_BODY")]
    pub max_xml_body: Option<u64>,

    /// Lock timeout in seconds when a LOCK asks for none [default: 3600]
    #[arg(long, value_name = "SECONDS", env = "DEADBOLT_LOCK_TIMEOUT_DEFAULT")]
    pub lock_timeout_default: Option<u64>,

    /// Longest lock timeout granted, in seconds; longer and `Infinite`
    /// requests get this [default: 604800, one week]
    #[arg(long, value_name = "SECONDS", env = "DEADBOLT_LOCK_TIMEOUT_MAX")]
    pub lock_timeout_max: Option<u64>,

    /// Users: an Apache htpasswd file with bcrypt entries (`htpasswd -B`).
    /// With it, every request needs HTTP Basic credentials [default: none,
    /// everyone may read and write]
    #[arg(long, value_name = "FILE", env = "DEADBOLT_HTPASSWD")]
    pub htpasswd: Option<PathBuf>,

    /// Users (from the htpasswd file) who are administrators: they may break
    /// anyone's lock and place maintenance holds. Comma-separated.
    #[arg(
        long,
        value_name = "USERS",
        env = "DEADBOLT_ADMINS",
        value_delimiter = ','
    )]
    pub admins: Option<Vec<String>>,

    /// Users who may only read (every modifying method answers 403).
    /// Comma-separated; everyone else in the htpasswd file reads and writes.
    #[arg(
        long,
        value_name = "USERS",
        env = "DEADBOLT_READ_ONLY_USERS",
        value_delimiter = ','
    )]
    pub read_only_users: Option<Vec<String>>,

    /// Let requests without credentials read (GET, HEAD, PROPFIND, OPTIONS)
    /// when --htpasswd is set [default: false]
    #[arg(
        long,
        value_name = "BOOL",
        env = "DEADBOLT_ANONYMOUS_READ",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub anonymous_read: Option<bool>,

    /// Do not say who holds a lock in 423 answers (privacy) [default: false]
    #[arg(
        long,
        value_name = "BOOL",
        env = "DEADBOLT_HIDE_LOCK_OWNERS",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub hide_lock_owners: Option<bool>,

    /// Seconds open requests get to finish after SIGTERM or Ctrl-C [default: 10]
    #[arg(long, value_name = "SECONDS", env = "DEADBOLT_DRAIN_TIMEOUT")]
    pub drain_timeout: Option<u64>,
}

/// Runs the chosen command to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let settings = Settings::resolve(&args)?;
            crate::server::serve(settings).await
        }
    }
}

//! The command line: clap types only, every flag also a `DEADBOLT_*`
//! variable. `config` merges them with the TOML file; `main` runs them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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

    /// How log lines are written to stderr: text for people, json for log
    /// collectors (one object per line; each request's line names the
    /// user and the lock token involved) [default: text]
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "FORMAT",
        env = "DEADBOLT_LOG_FORMAT"
    )]
    pub log_format: Option<LogFormat>,
}

/// `--durability` (see `store::Durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DurabilityLevel {
    Normal,
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a directory over WebDAV.
    Serve(ServeArgs),
    /// See, break and trace locks. Works on the state directory while the
    /// server runs: the server sees every change on its next request.
    Locks {
        #[command(subcommand)]
        action: LocksAction,
    },
    /// Hold a tree for maintenance: every modifying request under PATH, from
    /// anyone, answers 423 with the reason; reads go on. `deadbolt hold
    /// release PATH` ends it, `deadbolt hold list` shows the holds.
    #[command(args_conflicts_with_subcommands = true)]
    Hold(HoldArgs),
}

/// Where the server's state is: the same flags (and config file) as `serve`.
#[derive(Debug, Clone, Args)]
pub struct StateArgs {
    /// The served directory, when the state directory is its default
    /// (DIR/.deadbolt) [default: ./data]
    #[arg(long, value_name = "DIR", env = "DEADBOLT_ROOT")]
    pub root: Option<PathBuf>,

    /// The server's state directory
    #[arg(long, value_name = "DIR", env = "DEADBOLT_STATE_DIR")]
    pub state_dir: Option<PathBuf>,

    /// The server's PostgreSQL database (as given to `serve --database`)
    #[arg(long, value_name = "URL", env = "DEADBOLT_DATABASE")]
    pub database: Option<String>,

    /// The server's TOML config file (its root, state_dir and database keys
    /// are used)
    #[arg(long, short, value_name = "FILE", env = "DEADBOLT_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum LocksAction {
    /// List live locks (and maintenance holds).
    List {
        /// Only locks at, above or below this path
        #[arg(long, value_name = "PATH")]
        path: Option<String>,
        /// Only locks held by this user
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Break a lock by its token, or every lock rooted at or below --path.
    Break {
        /// The lock token (urn:uuid:...)
        #[arg(
            value_name = "TOKEN",
            required_unless_present = "path",
            conflicts_with = "path"
        )]
        token: Option<String>,
        #[arg(long, value_name = "PATH")]
        path: Option<String>,
        /// Why, for the audit trail
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        #[command(flatten)]
        state: StateArgs,
    },
    /// The audit trail: locks acquired, refreshed, released, expired and
    /// broken, holds set and released; newest first.
    History {
        #[arg(long, value_name = "PATH")]
        path: Option<String>,
        /// RFC 3339 time, or a duration ago (e.g. 2h)
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// At most this many events [default: 100]
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        state: StateArgs,
    },
}

#[derive(Debug, Args)]
pub struct HoldArgs {
    #[command(subcommand)]
    pub action: Option<HoldAction>,
    /// The tree to hold, e.g. /projects/migration
    #[arg(value_name = "PATH", required = true)]
    pub path: Option<String>,
    /// Shown to everyone whose write is refused
    #[arg(long, value_name = "TEXT", required = true)]
    pub reason: Option<String>,
    /// When the hold ends by itself: RFC 3339 time or a duration (e.g. 2h);
    /// refused writes then carry Retry-After
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Debug, Subcommand)]
pub enum HoldAction {
    /// End the hold on PATH.
    Release {
        #[arg(value_name = "PATH")]
        path: String,
        #[command(flatten)]
        state: StateArgs,
    },
    /// List the holds.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        state: StateArgs,
    },
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

    /// Keep locks, holds, the audit trail and dead properties in this
    /// PostgreSQL database (postgres://USER@HOST:PORT/DB, libpq parameters
    /// such as sslmode; the password from the URL or PGPASSWORD), shared by
    /// several deadbolt nodes [default: SQLite in the state directory]
    #[arg(long, value_name = "URL", env = "DEADBOLT_DATABASE")]
    pub database: Option<String>,

    /// TOML file with any of the keys listen, root, state_dir, database,
    /// allow_depth_infinity, max_xml_body, max_header_line,
    /// max_header_size, quota, durability, drain_timeout,
    /// lock_timeout_default, lock_timeout_max, max_locks,
    /// max_locks_per_user, audit_retention, htpasswd, admins,
    /// read_only_users, trusted_proxies, anonymous_read, hide_lock_owners,
    /// login_failures,
    /// tls_cert, tls_key
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

    /// Longest request header line (name and value) and request target
    /// accepted, in bytes; longer ones get 431 (414 for the target)
    /// [default: 16384]
    #[arg(long, value_name = "BYTES", env = "DEADBOLT_MAX_HEADER_LINE")]
    pub max_header_line: Option<usize>,

    /// Largest request head (request line and all headers) accepted, in
    /// bytes; larger ones get 431 [default: 65536]
    #[arg(long, value_name = "BYTES", env = "DEADBOLT_MAX_HEADER_SIZE")]
    pub max_header_size: Option<usize>,

    /// What an acknowledged change survives: `normal`, the server process
    /// dying (uploads are synced before they replace anything, lock
    /// decisions are committed before the answer); `full`, a power loss
    /// too (directory entries and every lock commit are synced as well)
    /// [default: normal]
    #[arg(long, value_enum, value_name = "LEVEL", env = "DEADBOLT_DURABILITY")]
    pub durability: Option<DurabilityLevel>,

    /// How many bytes the served tree may hold: uploads past it get 507,
    /// and the quota properties report against it [default: no quota]
    #[arg(long, value_name = "BYTES", env = "DEADBOLT_QUOTA")]
    pub quota: Option<u64>,

    /// Lock timeout in seconds when a LOCK asks for none [default: 3600]
    #[arg(long, value_name = "SECONDS", env = "DEADBOLT_LOCK_TIMEOUT_DEFAULT")]
    pub lock_timeout_default: Option<u64>,

    /// Longest lock timeout granted, in seconds; longer and `Infinite`
    /// requests get this [default: 604800, one week]
    #[arg(long, value_name = "SECONDS", env = "DEADBOLT_LOCK_TIMEOUT_MAX")]
    pub lock_timeout_max: Option<u64>,

    /// Live locks the server keeps in all; a LOCK beyond it gets 507
    /// [default: 1000000]
    #[arg(long, value_name = "N", env = "DEADBOLT_MAX_LOCKS")]
    pub max_locks: Option<u64>,

    /// Live locks one authenticated user may hold; a LOCK beyond it gets 507
    /// [default: 10000]
    #[arg(long, value_name = "N", env = "DEADBOLT_MAX_LOCKS_PER_USER")]
    pub max_locks_per_user: Option<u64>,

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

    /// Load balancers and proxies (addresses or networks, e.g.
    /// 127.0.0.1,10.0.0.0/8) whose X-Forwarded-For header is believed: a
    /// request through them is from the client it names, for the audit
    /// trail and the pauses of password guessing [default: none]
    #[arg(
        long,
        value_name = "NETS",
        env = "DEADBOLT_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Option<Vec<String>>,

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

    /// Wrong passwords one client address or user name may send before the
    /// server pauses it: each further failure doubles the pause (429 with
    /// Retry-After), up to 5 minutes [default: 5]
    #[arg(long, value_name = "N", env = "DEADBOLT_LOGIN_FAILURES")]
    pub login_failures: Option<u32>,

    /// Serve HTTPS with this PEM certificate chain (with --tls-key)
    #[arg(long, value_name = "FILE", env = "DEADBOLT_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", env = "DEADBOLT_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// How long the audit trail keeps lock events: a duration such as 90d
    /// or 12h; 0 keeps them all [default: 90d]
    #[arg(long, value_name = "DURATION", env = "DEADBOLT_AUDIT_RETENTION")]
    pub audit_retention: Option<String>,

    /// Seconds open requests get to finish after SIGTERM or Ctrl-C [default: 10]
    #[arg(long, value_name = "SECONDS", env = "DEADBOLT_DRAIN_TIMEOUT")]
    pub drain_timeout: Option<u64>,
}

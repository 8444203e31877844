//! Settings: embedded defaults <- optional TOML file <- environment <- flags,
//! merged and validated once at start-up.
//!
//! clap already folds each `DEADBOLT_*` variable into its flag, so the merge
//! here is "flag or env, else file, else default".

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::cli::{DurabilityLevel, ServeArgs};
use crate::locks::{LockLimits, TimeoutPolicy};
use crate::store::{Durability, StateLocation};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_ROOT: &str = "./data";
/// Name of the default state directory, a hidden folder inside the root.
pub const DEFAULT_STATE_DIR_NAME: &str = ".deadbolt";
pub const DEFAULT_MAX_XML_BODY: u64 = 1024 * 1024;
pub const DEFAULT_DRAIN_TIMEOUT_SECS: u64 = 10;
/// Wrong passwords before a client address or user name is paused.
pub const DEFAULT_LOGIN_FAILURES: u32 = 5;
/// One header line, and the request head, at most (Apache's and nginx's
/// defaults are of this order: 8-16 KiB a line).
pub const DEFAULT_MAX_HEADER_LINE: usize = 16 * 1024;
pub const DEFAULT_MAX_HEADER_SIZE: usize = 64 * 1024;
/// hyper's smallest read buffer: a head limit below it is not enforced.
const MIN_MAX_HEADER_SIZE: usize = 8192;
/// Lock timeout when a client asks for none: one hour, long enough for an
/// office client between its refreshes (they refresh every few minutes).
pub const DEFAULT_LOCK_TIMEOUT_SECS: u64 = 3600;
/// The longest lock granted; `Infinite` requests get this: one week.
pub const DEFAULT_LOCK_TIMEOUT_MAX_SECS: u64 = 7 * 24 * 3600;
/// Live locks the server keeps in all (about 300 bytes of SQLite each).
pub const DEFAULT_MAX_LOCKS: u64 = 1_000_000;
/// Live locks one authenticated user may hold.
pub const DEFAULT_MAX_LOCKS_PER_USER: u64 = 10_000;
/// How long the audit trail keeps lock events.
pub const DEFAULT_AUDIT_RETENTION: &str = "90d";

/// The keys of the optional TOML file; every one is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub root: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub database: Option<String>,
    pub allow_depth_infinity: Option<bool>,
    pub max_xml_body: Option<u64>,
    pub max_header_line: Option<usize>,
    pub max_header_size: Option<usize>,
    pub quota: Option<u64>,
    pub durability: Option<DurabilityLevel>,
    pub drain_timeout: Option<u64>,
    pub lock_timeout_default: Option<u64>,
    pub lock_timeout_max: Option<u64>,
    pub max_locks: Option<u64>,
    pub max_locks_per_user: Option<u64>,
    pub audit_retention: Option<String>,
    pub htpasswd: Option<PathBuf>,
    pub admins: Option<Vec<String>>,
    pub read_only_users: Option<Vec<String>>,
    pub trusted_proxies: Option<Vec<String>>,
    pub anonymous_read: Option<bool>,
    pub hide_lock_owners: Option<bool>,
    pub login_failures: Option<u32>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }
}

/// The state the admin commands work on: `--database` (or the
/// `DEADBOLT_DATABASE` variable, or the config file's `database`), else
/// `--state-dir`, else the config file's `state_dir`, else ROOT/.deadbolt
/// (ROOT from `--root`, the config file, or ./data). A state directory must
/// already hold a server's database.
pub fn state_for(args: &crate::cli::StateArgs) -> anyhow::Result<StateLocation> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    if let Some(url) = args.database.clone().or(file.database) {
        return Ok(StateLocation::Postgres(url));
    }
    let state_dir = match args.state_dir.clone().or(file.state_dir) {
        Some(dir) => dir,
        None => args
            .root
            .clone()
            .or(file.root)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT))
            .join(DEFAULT_STATE_DIR_NAME),
    };
    let database = state_dir.join(crate::store::sqlite::DATABASE_FILE);
    if !database.is_file() {
        bail!(
            "no deadbolt state in {} (give the server's --state-dir, --root, --database or --config)",
            state_dir.display()
        );
    }
    Ok(StateLocation::Directory(state_dir))
}

/// Validated settings for `deadbolt serve`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// The served directory (exists, absolute).
    pub root: PathBuf,
    /// Where the SQLite state lives (absolute; created unless the state is
    /// in PostgreSQL).
    pub state_dir: PathBuf,
    /// Where the state is: `state_dir`, or a PostgreSQL database.
    pub state: StateLocation,
    pub allow_depth_infinity: bool,
    pub max_xml_body: u64,
    /// The longest header line and request target, in bytes.
    pub max_header_line: usize,
    /// The largest request head, in bytes.
    pub max_header_size: usize,
    /// How many bytes the served tree may hold.
    pub quota: Option<u64>,
    /// What an acknowledged change survives.
    pub durability: Durability,
    pub drain_timeout: Duration,
    pub lock_timeouts: TimeoutPolicy,
    pub lock_limits: LockLimits,
    /// Audit events older than this are pruned; `None` keeps them all.
    pub audit_retention: Option<Duration>,
    pub htpasswd: Option<PathBuf>,
    pub admins: Vec<String>,
    pub read_only_users: Vec<String>,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub anonymous_read: bool,
    pub hide_lock_owners: bool,
    /// Wrong passwords before the pauses start (per address, per user).
    pub login_failures: u32,
    pub tls: Option<TlsFiles>,
}

/// PEM files for HTTPS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Settings {
    /// Merges the sources, creates the directories and checks the values.
    pub fn resolve(args: &ServeArgs) -> anyhow::Result<Self> {
        let file = match &args.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let listen = match args.listen.or(file.listen) {
            Some(listen) => listen,
            None => DEFAULT_LISTEN.parse()?,
        };
        let root = args
            .root
            .clone()
            .or(file.root)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT));
        std::fs::create_dir_all(&root)
            .with_context(|| format!("cannot create the served directory {}", root.display()))?;
        let root = std::fs::canonicalize(&root)
            .with_context(|| format!("cannot resolve {}", root.display()))?;
        if !root.is_dir() {
            bail!("{} is not a directory", root.display());
        }
        let state_dir = args
            .state_dir
            .clone()
            .or(file.state_dir)
            .unwrap_or_else(|| root.join(DEFAULT_STATE_DIR_NAME));
        let database = args.database.clone().or(file.database);
        if database.is_none() {
            std::fs::create_dir_all(&state_dir).with_context(|| {
                format!("cannot create the state directory {}", state_dir.display())
            })?;
        }
        let state_dir = match std::fs::canonicalize(&state_dir) {
            Ok(dir) => dir,
            Err(_) if database.is_some() => std::path::absolute(&state_dir)?,
            Err(e) => return Err(e.into()),
        };
        let state = match database {
            Some(url) => StateLocation::Postgres(url),
            None => StateLocation::Directory(state_dir.clone()),
        };
        if root.starts_with(&state_dir) {
            bail!(
                "the state directory {} must not contain the served directory",
                state_dir.display()
            );
        }
        let max_xml_body = args
            .max_xml_body
            .or(file.max_xml_body)
            .unwrap_or(DEFAULT_MAX_XML_BODY);
        if max_xml_body == 0 {
            bail!("max-xml-body must be at least 1 byte");
        }
        let max_header_line = args
            .max_header_line
            .or(file.max_header_line)
            .unwrap_or(DEFAULT_MAX_HEADER_LINE);
        let max_header_size = args
            .max_header_size
            .or(file.max_header_size)
            .unwrap_or(DEFAULT_MAX_HEADER_SIZE);
        if max_header_size < MIN_MAX_HEADER_SIZE {
            bail!("max-header-size must be at least {MIN_MAX_HEADER_SIZE} bytes");
        }
        let quota = args.quota.or(file.quota);
        if quota == Some(0) {
            bail!("quota must be at least 1 byte (leave it out for no quota)");
        }
        if max_header_line == 0 || max_header_line > max_header_size {
            bail!("max-header-line must be between 1 and max-header-size ({max_header_size})");
        }
        let max_seconds = args
            .lock_timeout_max
            .or(file.lock_timeout_max)
            .unwrap_or(DEFAULT_LOCK_TIMEOUT_MAX_SECS);
        let lock_timeouts = TimeoutPolicy {
            // An explicit maximum below the built-in default lowers the default too.
            default_seconds: args
                .lock_timeout_default
                .or(file.lock_timeout_default)
                .unwrap_or(DEFAULT_LOCK_TIMEOUT_SECS.min(max_seconds)),
            max_seconds,
        };
        if lock_timeouts.default_seconds == 0 || lock_timeouts.max_seconds == 0 {
            bail!("lock timeouts must be at least 1 second");
        }
        if lock_timeouts.default_seconds > lock_timeouts.max_seconds {
            bail!(
                "lock-timeout-default ({}) is larger than lock-timeout-max ({})",
                lock_timeouts.default_seconds,
                lock_timeouts.max_seconds
            );
        }
        let lock_limits = LockLimits {
            max_locks: args
                .max_locks
                .or(file.max_locks)
                .unwrap_or(DEFAULT_MAX_LOCKS),
            max_locks_per_user: args
                .max_locks_per_user
                .or(file.max_locks_per_user)
                .unwrap_or(DEFAULT_MAX_LOCKS_PER_USER),
        };
        if lock_limits.max_locks == 0 || lock_limits.max_locks_per_user == 0 {
            bail!("max-locks and max-locks-per-user must be at least 1");
        }
        let audit_retention = parse_retention(
            args.audit_retention
                .as_deref()
                .or(file.audit_retention.as_deref())
                .unwrap_or(DEFAULT_AUDIT_RETENTION),
        )?;
        let htpasswd = args.htpasswd.clone().or(file.htpasswd);
        let admins = args.admins.clone().or(file.admins).unwrap_or_default();
        let read_only_users = args
            .read_only_users
            .clone()
            .or(file.read_only_users)
            .unwrap_or_default();
        let anonymous_read = args.anonymous_read.or(file.anonymous_read).unwrap_or(false);
        let trusted_proxies = args
            .trusted_proxies
            .clone()
            .or(file.trusted_proxies)
            .unwrap_or_default()
            .iter()
            .map(|text| {
                let text = text.trim();
                text.parse::<ipnet::IpNet>()
                    .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        anyhow::anyhow!("trusted-proxies: {text:?} is not an address or network")
                    })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if htpasswd.is_none()
            && (!admins.is_empty() || !read_only_users.is_empty() || anonymous_read)
        {
            bail!("--admins, --read-only-users and --anonymous-read need --htpasswd");
        }
        let tls = match (
            args.tls_cert.clone().or(file.tls_cert),
            args.tls_key.clone().or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => bail!("--tls-cert and --tls-key go together"),
        };
        Ok(Self {
            tls,
            htpasswd,
            admins,
            read_only_users,
            trusted_proxies,
            anonymous_read,
            login_failures: args
                .login_failures
                .or(file.login_failures)
                .unwrap_or(DEFAULT_LOGIN_FAILURES),
            hide_lock_owners: args
                .hide_lock_owners
                .or(file.hide_lock_owners)
                .unwrap_or(false),
            lock_timeouts,
            lock_limits,
            audit_retention,
            listen,
            root,
            state_dir,
            state,
            allow_depth_infinity: args
                .allow_depth_infinity
                .or(file.allow_depth_infinity)
                .unwrap_or(false),
            max_xml_body,
            max_header_line,
            max_header_size,
            quota,
            durability: match args.durability.or(file.durability) {
                Some(DurabilityLevel::Full) => Durability::Full,
                Some(DurabilityLevel::Normal) | None => Durability::Normal,
            },
            drain_timeout: Duration::from_secs(
                args.drain_timeout
                    .or(file.drain_timeout)
                    .unwrap_or(DEFAULT_DRAIN_TIMEOUT_SECS),
            ),
        })
    }
}

/// `90d`, `12h`, `30m`: how long audit events are kept; `0` keeps them all.
fn parse_retention(text: &str) -> anyhow::Result<Option<Duration>> {
    if text.trim() == "0" {
        return Ok(None);
    }
    let retention = humantime::parse_duration(text.trim()).with_context(|| {
        format!(
            "invalid audit retention {text:?}: use a duration such as 90d or 12h, or 0 to keep all"
        )
    })?;
    if retention.is_zero() {
        return Ok(None);
    }
    Ok(Some(retention))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_a_duration_or_zero_for_forever() {
        assert_eq!(
            parse_retention("90d").unwrap(),
            Some(Duration::from_secs(90 * 24 * 3600))
        );
        assert_eq!(parse_retention("2s").unwrap(), Some(Duration::from_secs(2)));
        assert_eq!(parse_retention("0").unwrap(), None);
        assert_eq!(parse_retention("0s").unwrap(), None);
        assert!(parse_retention("ninety days").is_err());
    }
}

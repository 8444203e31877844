//! A throwaway PostgreSQL cluster for the tests: `initdb` and `pg_ctl` on a
//! free loopback port, its socket and data in a temporary directory,
//! stopped when dropped. Run as root (CI), the cluster runs as the
//! `postgres` user that Debian's package creates.
//!
//! Without PostgreSQL the tests that need it are skipped with a warning,
//! unless `DEADBOLT_REQUIRE_POSTGRES` is set (CI), which makes them fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use super::free_port;

/// Where Debian and other systems put the server programs.
fn server_bin(name: &str) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(dirs) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = dirs.filter_map(Result::ok).map(|d| d.path()).collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev().map(|v| v.join("bin").join(name)));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join(name)));
    }
    candidates.into_iter().find(|p| p.is_file())
}

fn is_root() -> bool {
    // SAFETY-free: the effective uid, from the kernel's view of this process.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

/// Runs a PostgreSQL program, as `postgres` when this process is root
/// (the server refuses to run as root).
fn run(program: &Path, args: &[&str]) -> Output {
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    command
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

pub struct PgCluster {
    dir: tempfile::TempDir,
    pg_ctl: PathBuf,
    pub port: u16,
    databases: AtomicU32,
}

impl PgCluster {
    /// Starts a cluster, or `None` (with a warning) when PostgreSQL is not
    /// installed and not required.
    pub fn start() -> Option<Self> {
        let (Some(initdb), Some(pg_ctl)) = (server_bin("initdb"), server_bin("pg_ctl")) else {
            assert!(
                std::env::var_os("DEADBOLT_REQUIRE_POSTGRES").is_none(),
                "PostgreSQL (initdb, pg_ctl) is required but not installed: apt-get install postgresql"
            );
            eprintln!(
                "WARNING: PostgreSQL is not installed; skipping (apt-get install postgresql)"
            );
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("deadbolt-pg-")
            .tempdir()
            .expect("temp dir");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown of the cluster directory failed");
        }
        let data = dir.path().join("data");
        let data = data.to_str().expect("UTF-8 temp path");
        let init = run(
            &initdb,
            &[
                "-D",
                data,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let cluster = Self {
            dir,
            pg_ctl,
            port: free_port(),
            databases: AtomicU32::new(0),
        };
        cluster.restart();
        Some(cluster)
    }

    /// The URL of the cluster's `postgres` database.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A new, empty database; its URL.
    pub fn new_database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("deadbolt_test_{n}");
        let createdb = server_bin("createdb").expect("createdb beside initdb");
        let port = self.port.to_string();
        let made = run(
            &createdb,
            &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", &name],
        );
        assert!(
            made.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    fn data(&self) -> String {
        self.dir
            .path()
            .join("data")
            .to_str()
            .expect("path")
            .to_owned()
    }

    /// Stops the server at once (`-m immediate`): as if it crashed.
    pub fn stop(&self) {
        let out = run(
            &self.pg_ctl,
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server (again) on its port, waiting until it accepts
    /// connections.
    pub fn restart(&self) {
        let socket = self.dir.path().to_str().expect("UTF-8 temp path");
        let options = format!(
            "-p {} -k {socket} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c max_connections=200 -c shared_buffers=32MB",
            self.port
        );
        let log = self.dir.path().join("server.log");
        let log = log.to_str().expect("UTF-8 temp path");
        let out = run(
            &self.pg_ctl,
            &["-D", &self.data(), "-o", &options, "-l", log, "-w", "start"],
        );
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = run(
            &self.pg_ctl,
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }
}

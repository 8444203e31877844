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

    /// Runs SQL in the database at `url` (one of `new_database`'s).
    pub fn psql(&self, url: &str, sql: &str) {
        let psql = server_bin("psql").expect("psql beside initdb");
        let out = run(&psql, &["-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]);
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
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

/// Makes a CA and a certificate it signed for `127.0.0.1` (and no other
/// name) in `dir` with `openssl`: (CA certificate, server certificate, key).
pub fn make_certificates(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let path = |file: &str| dir.join(format!("{name}-{file}"));
    let (ca_key, ca, key, csr, cert, ext) = (
        path("ca.key"),
        path("ca.pem"),
        path("server.key"),
        path("server.csr"),
        path("server.pem"),
        path("san.ext"),
    );
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\n").expect("write");
    let openssl = |args: &[&std::ffi::OsStr]| {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let s = |t: &'static str| std::ffi::OsStr::new(t);
    let ec = [
        s("-newkey"),
        s("ec"),
        s("-pkeyopt"),
        s("ec_paramgen_curve:prime256v1"),
    ];
    let mut args = vec![s("req"), s("-x509"), s("-nodes"), s("-days"), s("2")];
    args.extend(ec);
    args.extend([s("-subj"), s("/CN=deadbolt test CA"), s("-keyout")]);
    args.extend([ca_key.as_os_str(), s("-out"), ca.as_os_str()]);
    openssl(&args);
    let mut args = vec![s("req"), s("-nodes")];
    args.extend(ec);
    args.extend([
        s("-subj"),
        s("/CN=127.0.0.1"),
        s("-keyout"),
        key.as_os_str(),
    ]);
    args.extend([s("-out"), csr.as_os_str()]);
    openssl(&args);
    openssl(&[
        s("x509"),
        s("-req"),
        s("-days"),
        s("2"),
        s("-in"),
        csr.as_os_str(),
        s("-CA"),
        ca.as_os_str(),
        s("-CAkey"),
        ca_key.as_os_str(),
        s("-CAcreateserial"),
        s("-extfile"),
        ext.as_os_str(),
        s("-out"),
        cert.as_os_str(),
    ]);
    (ca, cert, key)
}

impl PgCluster {
    /// Turns TLS on and refuses every TCP connection without it; returns
    /// the CA certificate that signed the server's.
    pub fn require_tls(&self) -> PathBuf {
        let data = PathBuf::from(self.data());
        let (ca, cert, key) = make_certificates(self.dir.path(), "pg");
        if is_root() {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .args([&cert, &key])
                .status()
                .expect("chown");
            assert!(status.success(), "chown of the certificate failed");
        }
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
        let mut conf = std::fs::read_to_string(data.join("postgresql.conf")).expect("conf");
        conf.push_str(&format!(
            "\nssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
            cert.display(),
            key.display()
        ));
        std::fs::write(data.join("postgresql.conf"), conf).expect("conf");
        // TCP only with TLS; the socket (the tests' createdb) as before.
        let hba = "local all all trust\nhostssl all all 127.0.0.1/32 trust\n\
                   hostnossl all all 0.0.0.0/0 reject\n";
        std::fs::write(data.join("pg_hba.conf"), hba).expect("hba");
        self.stop();
        self.restart();
        ca
    }

    /// A new, empty database, created over the socket; its TCP URL.
    pub fn new_database_by_socket(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("deadbolt_test_{n}");
        let createdb = server_bin("createdb").expect("createdb beside initdb");
        let (port, socket) = (self.port.to_string(), self.dir.path().display().to_string());
        let made = run(
            &createdb,
            &["-h", &socket, "-p", &port, "-U", "postgres", &name],
        );
        assert!(
            made.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
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

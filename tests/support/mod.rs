//! Shared harness for the integration tests: starts the real `deadbolt` binary on
//! `127.0.0.1:0` in its own temporary directory and speaks HTTP to it.
//!
//! Layout of a server's temporary directory (`TestServer::tmp()`):
//! ```text
//! tmp/root/   the served directory (DIR)
//! tmp/state/  the state directory (--state-dir), unless started without it
//! ```
//! Anything else a test puts in `tmp/` is outside the served tree.
//!
//! This file starts and stops the server (`Launch`, `TestServer`). Every
//! helper the integration tests share lives here, once: `client` (the
//! `Response`, the `Req` builder and `TestServer`'s request shorthands),
//! `dav` (request bodies, read-back, disk snapshots), `xml` (a
//! namespace-aware reader), `lock` (LOCK, UNLOCK, If headers, `DAV:error`
//! checks), `users` (htpasswd, Basic credentials, requests as a user),
//! `admin` (admin commands, API JSON, holds), `process` (several servers on
//! one state, kill -9, clients that start together), `raw` (HTTP on a
//! bare socket) and `sse` (a Server-Sent Events client).
#![allow(dead_code)]

pub mod admin;
mod client;
pub mod dav;
pub mod lock;
pub mod lockapi;
pub mod pg;
pub mod process;
mod raw;
pub mod sse;
pub mod users;
pub mod xml;

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use client::{Req, Response};
#[allow(unused_imports)]
pub use dav::*;
#[allow(unused_imports)]
pub use raw::{Answer, Connection, parse_answer, raw_exchange};
#[allow(unused_imports)]
pub use xml::{Element, Multistatus};

/// The binary under test, built by cargo for the integration tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_deadbolt");

/// How long a server may take to print its first line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a server may take to exit after SIGTERM.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(15);

pub const PREFIX_LINE: &str = "deadbolt listening on ";

/// What to spawn: `deadbolt ARGS...` with ENVS, in a fresh temporary directory.
pub struct Launch {
    tmp: tempfile::TempDir,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
}

impl Launch {
    /// `deadbolt serve tmp/root --listen 127.0.0.1:0 --state-dir tmp/state`.
    pub fn new() -> Self {
        let mut launch = Self::without_state_dir();
        let state = launch.tmp.path().join("state");
        launch.args.push("--state-dir".into());
        launch.args.push(state.into_os_string());
        launch
    }

    /// `deadbolt serve tmp/root --listen 127.0.0.1:0` (state dir defaults to `root/.deadbolt`).
    pub fn without_state_dir() -> Self {
        let mut launch = Self::bare();
        let root = launch.root();
        launch.args = vec![
            "serve".into(),
            root.into_os_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ];
        launch
    }

    /// No arguments at all: the test supplies every one of them.
    pub fn bare() -> Self {
        let launch = Launch {
            tmp: temp_dir("deadbolt-test-"),
            args: Vec::new(),
            envs: Vec::new(),
        };
        std::fs::create_dir_all(launch.root()).expect("create root");
        launch
    }

    pub fn tmp(&self) -> &Path {
        self.tmp.path()
    }

    /// The directory to serve (`tmp/root`), before the server starts.
    pub fn root(&self) -> PathBuf {
        self.tmp.path().join("root")
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<S: Into<OsString> + Clone>(mut self, args: &[S]) -> Self {
        self.args.extend(args.iter().cloned().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Writes a file inside the temporary directory (e.g. a TOML config) and returns its path.
    pub fn write_file(&self, name: &str, content: &str) -> PathBuf {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, content).expect("write file");
        path
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(&self.args)
            .current_dir(self.tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // The developer's own DEADBOLT_* variables must not leak into a test.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("DEADBOLT_") {
                cmd.env_remove(key);
            }
        }
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the binary to completion (for `--help` and start-up failures), bounded in time.
    pub fn run_to_exit(self, timeout: Duration) -> (ExitStatus, String, String) {
        let mut child = self.command().spawn().expect("spawn deadbolt");
        let out = drain(child.stdout.take().expect("stdout"));
        let err = drain(child.stderr.take().expect("stderr"));
        let status = wait_bounded(&mut child, timeout);
        if status.is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let (out, err) = (
            out.join().unwrap_or_default(),
            err.join().unwrap_or_default(),
        );
        let status = status.unwrap_or_else(|| {
            panic!(
                "deadbolt {:?} did not exit within {timeout:?}; stdout: {out}; stderr: {err}",
                self.args
            )
        });
        (status, out, err)
    }

    pub fn start(self) -> TestServer {
        let mut server = TestServer {
            launch: self,
            child: None,
            addr: String::new(),
            base: String::new(),
            stderr: Arc::new(Mutex::new(String::new())),
            stdout: Arc::new(Mutex::new(String::new())),
            agent: client::new_agent(),
        };
        server.spawn();
        server
    }
}

impl Default for Launch {
    fn default() -> Self {
        Self::new()
    }
}

/// A loopback port nothing listens on right now, for a helper process
/// (chromedriver, PostgreSQL, nginx) that must be told its port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A fresh temporary directory, removed when dropped.
pub fn temp_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("create temp dir")
}

/// `p` as a TOML basic string, quotes included, for config files the tests
/// write.
pub fn toml_path(p: &Path) -> String {
    let escaped = p
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// `v`, sorted: for comparing sets of tokens or paths whatever their order.
pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn drain<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Waits for the child with a bounded poll; `None` if it is still running at the deadline.
pub fn wait_bounded(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    poll(timeout, Duration::from_millis(25), || {
        child.try_wait().expect("try_wait")
    })
}

/// Polls `probe` every `every` until it returns `Some`, for at most `limit`:
/// tests wait for a condition, never for a fixed time.
pub fn poll<T>(
    limit: Duration,
    every: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(every);
    }
}

/// The real binary, running. `Drop` kills it.
pub struct TestServer {
    launch: Launch,
    child: Option<Child>,
    /// `127.0.0.1:PORT`
    pub addr: String,
    /// `http://127.0.0.1:PORT` (no trailing slash)
    pub base: String,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
    agent: ureq::Agent,
}

impl TestServer {
    /// Default server: fresh root and state dir.
    pub fn start() -> TestServer {
        Launch::new().start()
    }

    /// Default server plus extra flags after the defaults.
    pub fn start_with(args: &[&str]) -> TestServer {
        Launch::new().args(args).start()
    }

    fn spawn(&mut self) {
        let mut child = self.launch.command().spawn().expect("spawn deadbolt");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let err_buf = Arc::new(Mutex::new(String::new()));
        let out_buf = Arc::new(Mutex::new(String::new()));
        {
            let err_buf = err_buf.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(stderr);
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    err_buf.lock().unwrap().push_str(&line);
                    line.clear();
                }
            });
        }
        let (tx, rx) = mpsc::channel::<Option<String>>();
        {
            let out_buf = out_buf.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut first = String::new();
                match reader.read_line(&mut first) {
                    Ok(n) if n > 0 => {
                        out_buf.lock().unwrap().push_str(&first);
                        let _ = tx.send(Some(first));
                    }
                    _ => {
                        let _ = tx.send(None);
                        return;
                    }
                }
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    out_buf.lock().unwrap().push_str(&line);
                    line.clear();
                }
            });
        }
        self.stderr = err_buf;
        self.stdout = out_buf;
        self.child = Some(child);
        let first = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Some(line)) => line,
            Ok(None) => {
                let status = wait_bounded(self.child.as_mut().unwrap(), Duration::from_secs(5));
                thread::sleep(Duration::from_millis(100)); // let the stderr thread catch up
                panic!(
                    "deadbolt {:?} closed stdout before printing its URL (exit: {status:?}); stderr:\n{}",
                    self.launch.args,
                    self.stderr()
                );
            }
            Err(_) => panic!(
                "deadbolt {:?} printed no URL within {STARTUP_TIMEOUT:?}; stderr:\n{}",
                self.launch.args,
                self.stderr()
            ),
        };
        let line = first.trim_end_matches(['\r', '\n']);
        let url = line.strip_prefix(PREFIX_LINE).unwrap_or_else(|| {
            panic!("first stdout line is not `{PREFIX_LINE}http://127.0.0.1:PORT/`: {line:?}")
        });
        let addr = url
            .strip_prefix("http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap_or_else(|| panic!("URL on the first line is not http://HOST:PORT/: {url:?}"));
        let port: u16 = addr
            .strip_prefix("127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("URL does not name 127.0.0.1:PORT: {url:?}"));
        assert_ne!(port, 0, "server printed port 0: {line:?}");
        self.addr = addr.to_string();
        self.base = format!("http://{addr}");
        self.agent = client::new_agent();
    }

    /// Everything the server wrote to stderr so far (for failure messages).
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Absolute URL of a (already encoded) path such as `/a/b%20c.txt`.
    pub fn url(&self, path: &str) -> String {
        assert!(path.starts_with('/'), "path must start with /: {path}");
        format!("{}{}", self.base, path)
    }

    /// The served directory on disk.
    pub fn root(&self) -> PathBuf {
        self.launch.root()
    }

    /// The temporary directory holding root, state and anything "outside".
    pub fn tmp(&self) -> &Path {
        self.launch.tmp.path()
    }

    /// The explicit state directory (when started with `Launch::new`).
    pub fn state_dir(&self) -> PathBuf {
        self.launch.tmp.path().join("state")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server running");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        match wait_bounded(&mut child, SHUTDOWN_TIMEOUT) {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "deadbolt did not exit within {SHUTDOWN_TIMEOUT:?} of SIGTERM; stderr:\n{}",
                    self.stderr()
                )
            }
        }
    }

    /// Stops the server (SIGTERM) and starts it again on the same root and state dir.
    pub fn restart(&mut self) {
        let status = self.terminate();
        assert!(
            status.success(),
            "exit after SIGTERM: {status:?}; stderr:\n{}",
            self.stderr()
        );
        self.spawn();
    }
}

impl TestServer {
    /// A client of a server this harness did not start (a load balancer in
    /// front of nodes): the request helpers work on it; it has no process,
    /// directories or output of its own.
    pub fn at(addr: &str) -> TestServer {
        TestServer {
            launch: Launch::bare(),
            child: None,
            addr: addr.to_owned(),
            base: format!("http://{addr}"),
            stderr: Arc::new(Mutex::new(String::new())),
            stdout: Arc::new(Mutex::new(String::new())),
            agent: client::new_agent(),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

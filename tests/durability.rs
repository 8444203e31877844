//! Issue 11: `--durability full`. A power loss cannot be staged in a test,
//! so this watches the system calls that make changes survive one: with
//! `full`, an upload, MKCOL, MOVE and DELETE sync the directory whose
//! entries they changed, and a LOCK syncs the state database's log before
//! it answers; on the default (`normal`) none of those syncs happen, and
//! the upload's own data is synced either way. Observed with `strace`
//! (required in CI through `DEADBOLT_REQUIRE_STRACE`).
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::lock::{Scope, lock_ok};
use support::{TestServer, poll};

fn strace_available() -> bool {
    let found = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("DEADBOLT_REQUIRE_STRACE").is_none(),
            "DEADBOLT_REQUIRE_STRACE is set but strace is missing (apt-get install strace)"
        );
        eprintln!("SKIPPED: strace is not installed (apt-get install strace)");
    }
    found
}

/// `strace` attached to the server, logging its syncs with the paths of
/// their file descriptors.
struct Trace {
    child: Child,
    log: PathBuf,
}

impl Trace {
    fn attach(server: &TestServer, log: &Path) -> Self {
        let child = Command::new("strace")
            .args(["-f", "-y", "-qq", "-e", "trace=fsync,fdatasync", "-o"])
            .arg(log)
            .args(["-p", &server.pid().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start strace");
        // strace has attached once its log exists and a sync the server is
        // asked for shows up in it: a PUT always syncs its data.
        let trace = Self {
            child,
            log: log.to_owned(),
        };
        let attached = poll(Duration::from_secs(20), Duration::from_millis(100), || {
            assert!(server.put("/probe.txt", "probe").status < 300);
            trace.read().contains(".deadbolt-tmp-").then_some(())
        });
        assert!(
            attached.is_some(),
            "strace did not attach: {}",
            trace.read()
        );
        trace
    }

    fn read(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Everything logged after the probe, once strace has let go.
    fn finish(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        self.read()
    }
}

/// Runs the same changes on a server started with `flags` and returns
/// the syncs they made (the lines naming the served tree or the state).
fn syncs_of_changes(flags: &[&str]) -> (String, TestServer) {
    let s = TestServer::start_with(flags);
    assert_eq!(s.mkcol("/docs").status, 201);
    let log = s.tmp().join("strace.log");
    let trace = Trace::attach(&s, &log);
    let marker = trace.read().len();
    assert_eq!(s.mkcol("/docs/new").status, 201);
    assert_eq!(s.put("/docs/plan.txt", "first draft").status, 201);
    let token = lock_ok(&s, "/docs/plan.txt", Scope::Exclusive, "0");
    assert!(!token.is_empty());
    let moved = s.copy_move("MOVE", "/docs/new", "/docs/old", &[]);
    assert_eq!(moved.status, 201);
    assert_eq!(s.delete("/docs/old").status, 204);
    let text = trace.finish();
    (text[marker.min(text.len())..].to_owned(), s)
}

fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

#[test]
fn full_durability_syncs_directories_and_lock_commits_normal_does_not() {
    if !strace_available() {
        return;
    }
    let (full, s) = syncs_of_changes(&["--durability", "full"]);
    let docs = format!("<{}>", s.root().join("docs").display());
    let wal = "deadbolt.sqlite3-wal>";
    assert!(
        !lines_with(&full, &docs).is_empty(),
        "the directory /docs is synced after its entries change:\n{full}"
    );
    assert!(
        !lines_with(&full, wal).is_empty(),
        "a LOCK's commit is synced:\n{full}"
    );
    assert!(
        !lines_with(&full, "plan.txt").is_empty()
            || !lines_with(&full, ".deadbolt-tmp-").is_empty(),
        "the upload's data is synced:\n{full}"
    );

    let (normal, s) = syncs_of_changes(&[]);
    let docs = format!("<{}>", s.root().join("docs").display());
    assert!(
        lines_with(&normal, &docs).is_empty(),
        "normal durability syncs no directory:\n{normal}"
    );
    assert!(
        lines_with(&normal, wal).is_empty(),
        "normal durability leaves the log's sync to checkpoints:\n{normal}"
    );
    assert!(
        !lines_with(&normal, ".deadbolt-tmp-").is_empty(),
        "an upload's data is synced on normal durability too:\n{normal}"
    );
}

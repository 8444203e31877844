//! Server processes as a whole: several on one state directory, `kill -9`,
//! and clients that start at the same moment.

use std::process::Command;
use std::sync::Barrier;
use std::time::Duration;

use super::{Launch, TestServer, poll};

/// `kill -9` the server and wait (bounded) until the process is dead.
pub fn kill_9(s: &TestServer) {
    let pid = s.pid();
    let status = Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -9 {pid} failed");
    let dead = poll(Duration::from_secs(10), Duration::from_millis(20), || {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => Some(()),
            Ok(stat) => {
                // "pid (comm) S ...": the state follows the last ')'.
                let state = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.trim_start().chars().next());
                matches!(state, Some('Z') | Some('X')).then_some(())
            }
        }
    });
    assert!(
        dead.is_some(),
        "deadbolt {pid} still alive 10 s after SIGKILL"
    );
}

/// Another server process on the same root and state directory as `other`
/// (its own port), with extra flags. `other` must outlive it: it owns the
/// directories, and `other.root()` (not the new server's `root()`) is the
/// served directory.
pub fn start_beside(other: &TestServer, flags: &[&str]) -> TestServer {
    Launch::bare()
        .arg("serve")
        .arg(other.root())
        .args(&["--listen", "127.0.0.1:0", "--state-dir"])
        .arg(other.state_dir())
        .args(flags)
        .start()
}

/// Runs `f(thread)` on `n` threads that start together; returns the results
/// in thread order.
pub fn together<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, f) = (&barrier, &f);
                scope.spawn(move || {
                    barrier.wait();
                    f(i)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker thread panicked"))
            .collect()
    })
}

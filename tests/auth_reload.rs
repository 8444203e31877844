//! Issue 12, item 10: the htpasswd file is re-read on SIGHUP (`systemctl
//! reload`) and when it changes, without a restart; a file that does not
//! load leaves the users as they were.
mod support;

use std::process::Command;
use std::time::Duration;

use support::users::*;
use support::{TestServer, poll};

fn status_as(s: &TestServer, user: &str) -> u16 {
    s.request("GET", "/").user(user).send().status
}

fn becomes(s: &TestServer, user: &str, status: u16) -> bool {
    poll(Duration::from_secs(20), Duration::from_millis(100), || {
        (status_as(s, user) == status).then_some(())
    })
    .is_some()
}

#[test]
fn users_come_and_go_without_a_restart() {
    let s = launch_with_users(&["alice", "dave"])
        // The polling below sends wrong passwords: not paused as guessing.
        .args(&["--login-failures", "1000"])
        .start();
    let file = s.tmp().join("htpasswd");
    assert_eq!(status_as(&s, "alice"), 200);
    assert_eq!(status_as(&s, "erin"), 401);

    // SIGHUP re-reads it even when nothing shows a change: same size, and
    // the modification time put back.
    let loaded = std::fs::metadata(&file)
        .and_then(|m| m.modified())
        .expect("mtime");
    std::fs::write(&file, htpasswd_text(&["alice", "erin"])).expect("write");
    std::fs::File::options()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_modified(loaded))
        .expect("set mtime");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        status_as(&s, "erin"),
        401,
        "no change seen without the signal"
    );
    let hup = Command::new("kill")
        .args(["-HUP", &s.pid().to_string()])
        .status()
        .expect("kill");
    assert!(hup.success());
    assert!(becomes(&s, "erin", 200), "erin after SIGHUP");
    assert_eq!(status_as(&s, "dave"), 401, "dave is gone");

    // A change is noticed by itself.
    std::fs::write(&file, htpasswd_text(&["alice", "carol"])).expect("write");
    assert!(becomes(&s, "carol", 200), "carol after the file changed");
    assert!(becomes(&s, "erin", 401), "erin is gone");

    // A broken file changes nothing, and the log says so.
    std::fs::write(&file, "alice:$apr1$not-bcrypt\n").expect("write");
    let logged = poll(Duration::from_secs(20), Duration::from_millis(100), || {
        s.stderr().contains("does not load").then_some(())
    });
    assert!(logged.is_some(), "{}", s.stderr());
    assert_eq!(status_as(&s, "alice"), 200);
    assert_eq!(status_as(&s, "carol"), 200);
}

//! Issue 10: WebDAV `LOCK` with `Prefer: wait=N` (RFC 7240 §4.3) waits in
//! the same line as the lock API's waiters, and a LOCK that waited on an
//! unmapped URL never truncates the file created meanwhile.
mod support;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::admin::*;
use support::lock::*;
use support::lockapi::*;
use support::users::*;
use support::{Response, TestServer};

fn api_lock(s: &TestServer, user: &str, body: Value) -> Response {
    post_lock(s, Some(user), body)
}

/// A WebDAV LOCK of `path` as `user` that waits up to 30 s.
fn waiting_lock(s: &TestServer, user: &str, path: &str) -> Response {
    req_as(s, Some(user), "LOCK", path)
        .header("Depth", "0")
        .header("Prefer", "wait=30")
        .xml(&lockinfo(Scope::Exclusive, None))
        .send()
}

fn unlocked(s: &TestServer, user: &str, path: &str, token: &str) {
    let r = unlock_as(s, Some(user), path, token);
    assert_eq!(r.status, 204, "UNLOCK {path} as {user}: {r:?}");
}

#[test]
fn a_webdav_lock_waits_for_the_unlock_instead_of_423() {
    let s = Arc::new(start_team(&[]));
    assert_eq!(put_as(&s, Some("alice"), "/doc.txt", "v1").status, 201);
    let alice = lock_ok_as(&s, Some("alice"), "/doc.txt", "0");
    let bob = {
        let s = Arc::clone(&s);
        thread::spawn(move || waiting_lock(&s, "bob", "/doc.txt"))
    };
    wait_until_queued(&s, json!({"path": "/doc.txt"}), 1);
    // Without the preference nothing changes: an immediate 423.
    let at_once = lock_as(&s, Some("root"), "/doc.txt", "0", None);
    assert_eq!(at_once.status, 423, "{at_once:?}");
    unlocked(&s, "alice", "/doc.txt", &alice);
    let granted = bob.join().expect("bob");
    assert_eq!(granted.status, 200, "{granted:?}");
    assert_eq!(granted.header("preference-applied"), Some("wait=30"));
    let token = lock_token_header(&granted);
    // Bob holds it now: his write with the token goes through, alice's not.
    assert_eq!(put_as(&s, Some("alice"), "/doc.txt", "alice").status, 423);
    let put = req_as(&s, Some("bob"), "PUT", "/doc.txt")
        .header("If", &format!("(<{token}>)"))
        .body("bob")
        .send();
    assert_eq!(put.status, 204, "{put:?}");

    // A wait that runs out is the usual 423 with the holder's lock.
    let started = Instant::now();
    let refused = req_as(&s, Some("alice"), "LOCK", "/doc.txt")
        .header("Depth", "0")
        .header("Prefer", "wait=1")
        .xml(&lockinfo(Scope::Exclusive, None))
        .send();
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited");
    assert_conflict(&refused, "/doc.txt");
}

#[test]
fn webdav_and_lock_api_waiters_share_one_line() {
    let s = Arc::new(start_team(&[]));
    assert_eq!(put_as(&s, Some("alice"), "/plan.odt", "v1").status, 201);
    let held = api_lock(&s, "alice", json!({"path": "/plan.odt"}));
    assert_eq!(held.status, 201, "{held:?}");
    let held: Value = serde_json::from_str(&held.body).unwrap();
    // First in line: bob over WebDAV; second: alice again, through the
    // lock API.
    let dav = {
        let s = Arc::clone(&s);
        thread::spawn(move || {
            let r = waiting_lock(&s, "bob", "/plan.odt");
            assert_eq!(r.status, 200, "{r:?}");
            unlocked(&s, "bob", "/plan.odt", &lock_token_header(&r));
        })
    };
    wait_until_queued(&s, json!({"path": "/plan.odt"}), 1);
    let api = {
        let s = Arc::clone(&s);
        thread::spawn(move || {
            let r = api_lock(
                &s,
                "alice",
                json!({"path": "/plan.odt", "wait_seconds": 30}),
            );
            assert_eq!(r.status, 201, "{r:?}");
        })
    };
    wait_until_queued(&s, json!({"path": "/plan.odt"}), 2);
    let token = held["token"].as_str().unwrap();
    let released = req_as(&s, Some("alice"), "DELETE", &format!("{LOCKS}/{token}")).send();
    assert_eq!(released.status, 204);
    dav.join().expect("WebDAV waiter");
    api.join().expect("lock API waiter");
    let holders: Vec<String> = api_history(&s, "root", "?path=/plan.odt")
        .iter()
        .rev()
        .filter(|e| e["kind"] == "acquired")
        .map(|e| e["holder"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        holders,
        ["alice", "bob", "alice"],
        "granted in arrival order"
    );
}

#[test]
fn a_lock_that_waited_on_an_unmapped_url_keeps_the_file_made_meanwhile() {
    let s = Arc::new(start_team(&[]));
    // alice reserves a name that does not exist yet.
    let held = api_lock(&s, "alice", json!({"path": "/new.txt"}));
    assert_eq!(held.status, 201, "{held:?}");
    let held: Value = serde_json::from_str(&held.body).unwrap();
    let token = held["token"].as_str().unwrap().to_owned();
    assert_eq!(
        req_as(&s, Some("bob"), "GET", "/new.txt").send().status,
        404
    );
    // bob waits to lock it: when he asked, it was unmapped (a LOCK there
    // creates an empty file).
    let bob = {
        let s = Arc::clone(&s);
        thread::spawn(move || waiting_lock(&s, "bob", "/new.txt"))
    };
    wait_until_queued(&s, json!({"path": "/new.txt"}), 1);
    // alice writes it, then lets go.
    let put = req_as(&s, Some("alice"), "PUT", "/new.txt")
        .header("If", &format!("(<{token}>)"))
        .body("alice's work")
        .send();
    assert_eq!(put.status, 201, "{put:?}");
    let released = req_as(&s, Some("alice"), "DELETE", &format!("{LOCKS}/{token}")).send();
    assert_eq!(released.status, 204);
    let granted = bob.join().expect("bob");
    assert_eq!(
        granted.status, 200,
        "it exists now, so nothing is created: {granted:?}"
    );
    let read = req_as(&s, Some("bob"), "GET", "/new.txt").send();
    assert_eq!(read.body, "alice's work", "not truncated");
}

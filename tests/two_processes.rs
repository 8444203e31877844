//! Two `deadbolt serve` processes on one served directory and one state
//! directory act as one server (docs/locking.md I8, I9, I12): a lock taken
//! through one is enforced and listed through the other and by the CLI; a
//! write in progress in one holds off locks and writes through the other;
//! `kill -9` of one loses no acknowledged lock and frees its write latches
//! within their lease; clients racing through both get exactly one lock.
mod support;

use std::time::{Duration, Instant};

use support::admin::{array, cli_on, tokens};
use support::lock::*;
use support::process::{kill_9, start_beside, together};
use support::{Response, SlowUpload, TestServer, poll, upload_reaches_disk};

/// The write latch lease (10 s), with room for a slow machine.
const LEASE_BOUND: Duration = Duration::from_secs(30);

fn assert_being_written(r: &Response, what: &str) {
    assert_eq!(r.status, 423, "{what}: {r:?}");
    assert!(r.body.contains("being written"), "{what}: {r:?}");
}

#[test]
fn a_lock_taken_through_one_process_is_enforced_and_listed_through_the_other() {
    let a = TestServer::start();
    let b = start_beside(&a, &[]);
    assert_eq!(put(&a, "/doc.txt", "v1").status, 201);
    let token = lock_ok(&a, "/doc.txt", Scope::Exclusive, "0");

    // Enforced through B, and B's lockdiscovery and the CLI show it.
    assert_lock_token_submitted(&put(&b, "/doc.txt", "sneaky"), "/doc.txt");
    let seen: Vec<String> = active_locks(&b, "/doc.txt")
        .iter()
        .map(|l| l.token().to_owned())
        .collect();
    assert_eq!(seen, vec![token.clone()]);
    let listed = cli_on(&a, &["locks", "list", "--json"]).json();
    assert_eq!(tokens(array(&listed, "locks")), vec![token.clone()]);
    assert_conflict(&bare_lock(&b, "/doc.txt", Scope::Shared, "0"), "/doc.txt");

    // The holder may use it through either process.
    assert_eq!(put_with_token(&b, "/doc.txt", "v2", &token).status, 204);
    assert_eq!(
        refresh(&b, "/doc.txt", &token, Some("Second-120")).status,
        200
    );
    assert_eq!(a.get("/doc.txt").body, "v2");
    assert_eq!(unlock(&b, "/doc.txt", &token).status, 204);
    assert!(active_locks(&a, "/doc.txt").is_empty());
    assert_eq!(put(&a, "/doc.txt", "v3").status, 204);

    // A hold placed with the CLI stops writes through both.
    cli_on(&a, &["hold", "/", "--reason", "migration"]).ok();
    for s in [&a, &b] {
        let refused = put(s, "/doc.txt", "held");
        assert_eq!(refused.status, 423, "{refused:?}");
        assert!(refused.body.contains("migration"), "{refused:?}");
    }
    cli_on(&a, &["hold", "release", "/"]).ok();
    assert_eq!(put(&b, "/doc.txt", "v4").status, 204);
}

#[test]
fn a_slow_upload_through_one_process_holds_off_locks_and_writes_through_the_other() {
    const LEN: usize = 2 * 1024 * 1024;
    let a = TestServer::start();
    let b = start_beside(&a, &[]);
    assert_eq!(a.mkcol("/c/").status, 201);
    assert_eq!(put(&a, "/c/f.bin", "old").status, 201);
    let upload = SlowUpload::start(&a, "/c/f.bin", LEN);
    assert!(
        upload_reaches_disk(&a.root().join("c")),
        "the upload never reached the disk: {}",
        a.stderr()
    );

    assert_being_written(
        &bare_lock(&b, "/c/f.bin", Scope::Exclusive, "0"),
        "LOCK through B",
    );
    assert_being_written(
        &bare_lock(&b, "/c/", Scope::Exclusive, "infinity"),
        "depth-infinity LOCK of the collection through B",
    );
    assert_being_written(&put(&b, "/c/f.bin", "other"), "PUT through B");
    assert_being_written(&b.delete("/c/"), "DELETE of the collection through B");
    assert!(active_locks(&b, "/c/f.bin").is_empty());
    // Another resource is not held off.
    assert_eq!(put(&b, "/c/g.txt", "G").status, 201);

    let body = upload.finish(204);
    assert!(
        b.get("/c/f.bin").bytes == body,
        "B serves the uploaded body"
    );
    // The upload released its latch before answering.
    assert_eq!(bare_lock(&b, "/c/f.bin", Scope::Exclusive, "0").status, 200);
}

#[test]
fn kill_9_of_one_process_loses_no_lock_and_frees_its_latches_within_the_lease() {
    let a = TestServer::start();
    let b = start_beside(&a, &[]);
    assert_eq!(put(&a, "/doc.txt", "kept").status, 201);
    let token = lock_ok(&a, "/doc.txt", Scope::Exclusive, "0");
    let upload = SlowUpload::start(&a, "/big.bin", 4 * 1024 * 1024);
    assert!(
        upload_reaches_disk(&a.root()),
        "the upload never reached the disk: {}",
        a.stderr()
    );
    kill_9(&a);
    drop(upload);
    let killed_at = Instant::now();

    // Every acknowledged lock is still in force, through B and the CLI.
    assert_lock_token_submitted(&put(&b, "/doc.txt", "x"), "/doc.txt");
    let listed = cli_on(&a, &["locks", "list", "--json"]).json();
    assert_eq!(tokens(array(&listed, "locks")), vec![token.clone()]);
    // The dead upload's latch holds until its lease runs out, then B may
    // lock the path: a crashed process never strands it.
    let mut held = false;
    let granted = poll(LEASE_BOUND, Duration::from_millis(200), || {
        let r = bare_lock(&b, "/big.bin", Scope::Exclusive, "0");
        match r.status {
            200 | 201 => Some(r),
            423 if r.body.contains("being written") => {
                held = true;
                None
            }
            other => panic!("expected 200/201 or 423 being written, got {other}: {r:?}"),
        }
    });
    assert!(
        granted.is_some(),
        "the killed process's latch still held {LEASE_BOUND:?} after the kill"
    );
    assert!(
        held || killed_at.elapsed() >= Duration::from_secs(10),
        "the dead upload's latch did not hold within its lease"
    );
    eprintln!("latch lapsed {:?} after kill -9", killed_at.elapsed());
    assert_eq!(put_with_token(&b, "/doc.txt", "done", &token).status, 204);
    assert_eq!(b.get("/doc.txt").body, "done");
}

/// 32 clients LOCK one file at once, alternating between the two processes.
fn race(a: &TestServer, b: &TestServer, path: &str) -> Vec<Response> {
    together(32, |i| {
        let s = if i % 2 == 0 { a } else { b };
        bare_lock(s, path, Scope::Exclusive, "0")
    })
}

#[test]
fn thirty_two_clients_racing_through_both_processes_get_exactly_one_lock() {
    let a = TestServer::start();
    let b = start_beside(&a, &[]);
    for round in 0..3 {
        let existing = format!("/race-{round}.txt");
        assert_eq!(put(&a, &existing, "r").status, 201);
        let unmapped = format!("/new-{round}.txt");
        for (path, granted_status) in [(&existing, 200), (&unmapped, 201)] {
            let answers = race(&a, &b, path);
            let granted: Vec<&Response> = answers
                .iter()
                .filter(|r| r.status == granted_status)
                .collect();
            let refused = answers.iter().filter(|r| r.status == 423).count();
            assert_eq!(
                (granted.len(), refused),
                (1, 31),
                "{path}: every answer is the grant or 423: {answers:?}"
            );
            let token = lock_token_header(granted[0]);
            for s in [&a, &b] {
                let seen: Vec<String> = active_locks(s, path)
                    .iter()
                    .map(|l| l.token().to_owned())
                    .collect();
                assert_eq!(seen, vec![token.clone()], "{path}");
            }
        }
    }
}

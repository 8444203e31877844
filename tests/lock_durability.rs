//! I8: a lock answered 200/201 is durable. It survives a normal restart
//! (SIGTERM) and `kill -9` of the real binary; after either, the lock is
//! enforced and reported exactly as before, and file contents written before
//! the crash are intact (RFC 4918 §6, §7.3, §9.10; docs/locking.md I8).
mod support;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use support::lock::*;
use support::process::{kill_9, start_beside};
use support::xml::parse_exact;
use support::{DAV, TestServer, poll, propfind_dav_props, upload_reaches_disk};

/// Deterministic, non-repeating-looking bytes (so a torn file cannot pass).
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

const OWNER: &str = r#"<D:href>mailto:ana@example.org</D:href><x:note xmlns:x="urn:example:owner" x:kind="primary">Ana <x:b>B</x:b></x:note>"#;

/// A LOCK with the rich owner above and a 1-hour timeout.
fn lock_with_owner(s: &TestServer, path: &str, scope: Scope, depth: &str) -> support::Response {
    s.request("LOCK", path)
        .header("Depth", depth)
        .header("Timeout", "Second-3600")
        .xml(&lockinfo(scope, Some(OWNER)))
        .send()
}

fn sent_owner() -> support::Element {
    parse_exact(&lockinfo(Scope::Exclusive, Some(OWNER)))
        .descendants(DAV, "owner")
        .into_iter()
        .next()
        .cloned()
        .expect("owner")
}

/// Checks that `path` reports exactly the lock `token` with these details.
fn assert_lock_reported(
    s: &TestServer,
    path: &str,
    token: &str,
    scope: &str,
    depth: &str,
    root: &str,
) {
    let locks = active_locks(s, path);
    assert_eq!(locks.len(), 1, "{path}: {locks:?}");
    let l = &locks[0];
    assert_eq!(l.token(), token, "{path}");
    assert_eq!(l.scope, scope, "{path}");
    assert_eq!(l.depth, depth, "{path}");
    assert_eq!(l.root(), root, "{path}");
    let t = l.timeout_seconds();
    assert!(
        (3000..=3600).contains(&t),
        "{path}: timeout {t} after restart"
    );
    let pf = s.propfind(path, "0", Some(&propfind_dav_props(&["lockdiscovery"])));
    let owners = parse_exact(&pf.body);
    assert_eq!(
        owners.descendants(DAV, "owner"),
        vec![&sent_owner()],
        "{path}: owner kept exactly across the restart: {}",
        pf.body
    );
}

fn granted(r: &support::Response, want: u16) -> String {
    assert_eq!(r.status, want, "{r:?}");
    lock_token_header(r)
}

// I8 + §6, §7.3: locks answered 200 and 201 survive SIGTERM and a restart.
#[test]
fn locks_survive_a_normal_restart_i8() {
    let mut s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(put(&s, "/c/f.txt", "F").status, 201);
    assert_eq!(put(&s, "/x.txt", "X").status, 201);
    let tc = granted(
        &lock_with_owner(&s, "/c/", Scope::Exclusive, "infinity"),
        200,
    );
    let tn = granted(&lock_with_owner(&s, "/new.txt", Scope::Exclusive, "0"), 201);
    let a = lock_ok(&s, "/x.txt", Scope::Shared, "0");
    let b = lock_ok(&s, "/x.txt", Scope::Shared, "0");

    s.restart();

    assert_lock_reported(&s, "/c/", &tc, "exclusive", "infinity", "/c/");
    assert_lock_reported(&s, "/c/f.txt", &tc, "exclusive", "infinity", "/c/");
    assert_lock_reported(&s, "/new.txt", &tn, "exclusive", "0", "/new.txt");
    let mut shared: Vec<String> = active_locks(&s, "/x.txt")
        .iter()
        .map(|l| l.token().to_string())
        .collect();
    shared.sort();
    let mut want = vec![a.clone(), b];
    want.sort();
    assert_eq!(shared, want);

    assert_locked(&put(&s, "/c/f.txt", "x"), "/c/");
    assert_locked(&put(&s, "/c/g.txt", "x"), "/c/");
    assert_locked(&put(&s, "/new.txt", "x"), "/new.txt");
    assert_locked(&put(&s, "/x.txt", "x"), "/x.txt");
    assert_eq!(
        std::fs::metadata(s.root().join("new.txt")).unwrap().len(),
        0
    );
    assert_eq!(s.get("/c/f.txt").body, "F");
    assert_eq!(put_with_token(&s, "/c/f.txt", "F2", &tc).status, 204);
    assert_eq!(put_with_token(&s, "/new.txt", "N", &tn).status, 204);
    assert_eq!(put_with_token(&s, "/x.txt", "X2", &a).status, 204);
    assert_eq!(unlock(&s, "/c/f.txt", &tc).status, 204);
    assert_eq!(put(&s, "/c/f.txt", "free").status, 204);
}

// I8: a lock survives kill -9; the file written before the kill is intact.
#[test]
fn locks_and_content_survive_kill_9_i8() {
    let s = TestServer::start();
    let content = pattern(2 * 1024 * 1024 + 17, 1);
    let r = s.request("PUT", "/big.bin").body(&content).send();
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(put(&s, "/c/f.txt", "F").status, 201);
    let tb = granted(&lock_with_owner(&s, "/big.bin", Scope::Exclusive, "0"), 200);
    let tc = granted(
        &lock_with_owner(&s, "/c/", Scope::Exclusive, "infinity"),
        200,
    );
    let tn = granted(&lock_with_owner(&s, "/n.txt", Scope::Exclusive, "0"), 201);
    // Not waiting for anything: the kill follows the last answer at once.
    kill_9(&s);

    let s2 = start_beside(&s, &[]);
    let got = s2.get("/big.bin");
    assert_eq!(got.status, 200);
    assert!(
        got.bytes == content,
        "big.bin torn or changed by the kill ({} bytes)",
        got.bytes.len()
    );
    assert_lock_reported(&s2, "/big.bin", &tb, "exclusive", "0", "/big.bin");
    assert_lock_reported(&s2, "/c/", &tc, "exclusive", "infinity", "/c/");
    assert_lock_reported(&s2, "/c/f.txt", &tc, "exclusive", "infinity", "/c/");
    // The lock answered 201 (on a URL it created, §7.3): file and lock kept.
    assert_lock_reported(&s2, "/n.txt", &tn, "exclusive", "0", "/n.txt");
    assert_eq!(std::fs::metadata(s.root().join("n.txt")).unwrap().len(), 0);
    assert_locked(&put(&s2, "/n.txt", "x"), "/n.txt");

    assert_locked(&put(&s2, "/big.bin", "x"), "/big.bin");
    assert_locked(&put(&s2, "/c/f.txt", "x"), "/c/");
    assert!(
        s2.get("/big.bin").bytes == content,
        "a refused PUT changed the file"
    );
    assert_eq!(put_if(&s2, "/big.bin", "new", &if_token(&tb)).status, 204);
    assert_eq!(s2.get("/big.bin").body, "new");
    assert_eq!(put_if(&s2, "/n.txt", "n", &if_token(&tn)).status, 204);
    assert_eq!(s2.get("/c/f.txt").body, "F");
}

// I8 for the other lock changes: a refresh's new timeout and an UNLOCK are
// durable across kill -9 too (§9.10.2, §9.11).
#[test]
fn refresh_and_unlock_survive_kill_9_i8() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    assert_eq!(put(&s, "/g.txt", "G").status, 201);
    let r = s
        .request("LOCK", "/f.txt")
        .header("Timeout", "Second-100")
        .xml(&lockinfo(Scope::Exclusive, None))
        .send();
    let tf = granted(&r, 200);
    assert_eq!(refresh(&s, "/f.txt", &tf, Some("Second-5000")).status, 200);
    let tg = lock_ok(&s, "/g.txt", Scope::Exclusive, "0");
    assert_eq!(unlock(&s, "/g.txt", &tg).status, 204);
    kill_9(&s);

    let s2 = start_beside(&s, &[]);
    let locks = active_locks(&s2, "/f.txt");
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].token(), tf);
    assert!(locks[0].timeout_seconds() > 4900, "refresh lost: {locks:?}");
    assert!(active_locks(&s2, "/g.txt").is_empty(), "UNLOCK lost");
    assert_eq!(put(&s2, "/g.txt", "free").status, 204);
    assert_locked(&put(&s2, "/f.txt", "x"), "/f.txt");
}

// I8 + README "never leaves a torn file": kill -9 in the middle of an upload
// into a locked file leaves the old content, the lock, and no visible
// temporary.
#[test]
fn kill_9_during_an_upload_leaves_old_content_and_the_lock_i8() {
    let s = TestServer::start();
    let old = pattern(1024 * 1024, 2);
    assert_eq!(s.request("PUT", "/doc.bin").body(&old).send().status, 201);
    let tok = lock_ok(&s, "/doc.bin", Scope::Exclusive, "0");

    // Start a 4 MiB PUT with the token and send only the first 1 MiB.
    let mut stream = TcpStream::connect(&s.addr).expect("connect");
    let head = format!(
        "PUT /doc.bin HTTP/1.1\r\nHost: {}\r\nIf: (<{tok}>)\r\nContent-Length: {}\r\n\r\n",
        s.addr,
        4 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).expect("send head");
    stream
        .write_all(&pattern(1024 * 1024, 3))
        .expect("send part of the body");
    stream.flush().expect("flush");
    // Wait (bounded) until the upload is being written to its temporary.
    assert!(
        upload_reaches_disk(&s.root()),
        "the upload never reached the disk: {}",
        s.stderr()
    );
    kill_9(&s);
    drop(stream);

    let s2 = start_beside(&s, &[]);
    let got = s2.get("/doc.bin");
    assert_eq!(got.status, 200);
    assert!(
        got.bytes == old,
        "doc.bin is not the old content after the kill ({} bytes)",
        got.bytes.len()
    );
    let listing = s2.propfind("/", "1", None);
    assert_eq!(listing.status, 207);
    assert!(
        !listing.body.contains(".deadbolt-tmp"),
        "temporaries are never listed: {}",
        listing.body
    );
    let locks = active_locks(&s2, "/doc.bin");
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].token(), tok);
    // The killed upload's write latch is in the shared lock table; nobody
    // renews it, so it lapses within its lease (I9). Until then even the
    // token's holder is told the file is being written, never a torn state.
    let first = put_if(&s2, "/doc.bin", "done", &if_token(&tok));
    if first.status == 423 {
        assert!(first.body.contains("being written"), "{first:?}");
    }
    let done = poll(LATCH_LEASE_BOUND, Duration::from_millis(250), || {
        let put = put_if(&s2, "/doc.bin", "done", &if_token(&tok));
        match put.status {
            204 => Some(()),
            423 if put.body.contains("being written") => None,
            other => panic!("expected 204 or 423 being written, got {other}: {put:?}"),
        }
    });
    assert!(done.is_some(), "the dead upload's latch never lapsed");
    assert_locked(&put(&s2, "/doc.bin", "x"), "/doc.bin");
    assert_eq!(s2.get("/doc.bin").body, "done");
}

/// The write latch lease (10 s) and some slack for a slow machine.
const LATCH_LEASE_BOUND: Duration = Duration::from_secs(30);

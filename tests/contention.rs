//! Issue #3 item 10: concurrent requests against the real binary, bounded in
//! count and time. Threads start together at a barrier; every outcome is one
//! of the statuses the RFC allows, never a 5xx, and the lock table and the
//! disk agree with the answers afterwards (docs/locking.md I1, I2, I8, I9;
//! RFC 4918 §6.1, §9.3, §9.10, §7.3).
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::lock::*;
use support::process::together;
use support::{
    DAV, Response, SlowUpload, TestServer, propfind_dav_props, raw_exchange, upload_reaches_disk,
};

/// Upper bound for one whole scenario (the machine may be busy).
const SCENARIO_LIMIT: Duration = Duration::from_secs(240);

fn count(responses: &[Response], status: u16) -> usize {
    responses.iter().filter(|r| r.status == status).count()
}

fn no_server_errors(responses: &[Response], what: &str) {
    for r in responses {
        assert!(r.status < 500, "{what}: server error {r:?}");
    }
}

// (a) 1,000 LOCKs on distinct new files of one collection (50 threads x 20):
// each is 200/201 or 423, never 5xx; afterwards each file that got a lock
// shows exactly that one lock, and only those files exist (§7.3, §9.10, I8).
#[test]
fn a_thousand_concurrent_locks_on_distinct_new_files_s9_10_s7_3() {
    const THREADS: usize = 50;
    const PER_THREAD: usize = 20;
    let s = TestServer::start();
    assert_eq!(s.mkcol("/many/").status, 201);
    let started = Instant::now();
    let results: Vec<Vec<(String, Response)>> = together(THREADS, |t| {
        (0..PER_THREAD)
            .map(|j| {
                let path = format!("/many/f{t:02}-{j:02}.txt");
                let r = s
                    .request("LOCK", &path)
                    .header("Depth", "0")
                    .header("Timeout", "Second-3600")
                    .xml(&lockinfo(Scope::Exclusive, None))
                    .send();
                (path, r)
            })
            .collect()
    });
    assert!(
        started.elapsed() < SCENARIO_LIMIT,
        "took {:?}",
        started.elapsed()
    );

    let mut granted: BTreeMap<String, String> = BTreeMap::new();
    let mut refused = Vec::new();
    for (path, r) in results.into_iter().flatten() {
        match r.status {
            200 | 201 => {
                let tok = lock_token_header(&r);
                assert!(is_urn_uuid(&tok), "{path}: {tok}");
                granted.insert(path, tok);
            }
            423 => refused.push(path),
            _ => panic!("LOCK {path}: expected 200/201 or 423, got {r:?}"),
        }
    }
    assert_eq!(granted.len() + refused.len(), THREADS * PER_THREAD);
    let mut unique: Vec<&String> = granted.values().collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), granted.len(), "a token was handed out twice");

    let pf = s.propfind("/many/", "1", Some(&propfind_dav_props(&["lockdiscovery"])));
    assert_eq!(pf.status, 207, "{pf:?}");
    let ms = pf.multistatus();
    let mut seen = 0;
    for res in &ms.responses {
        if slashless(&res.href) == "/many" {
            assert_eq!(
                parse_activelocks(res.ok_prop(DAV, "lockdiscovery")).len(),
                0,
                "the collection itself is not locked"
            );
            continue;
        }
        seen += 1;
        let tok = granted
            .get(&res.href)
            .unwrap_or_else(|| panic!("{} exists but its LOCK was not granted", res.href));
        let locks = parse_activelocks(res.ok_prop(DAV, "lockdiscovery"));
        assert_eq!(locks.len(), 1, "{}: {locks:?}", res.href);
        assert_eq!(locks[0].token(), tok, "{}", res.href);
        assert_eq!(locks[0].root(), res.href);
    }
    assert_eq!(seen, granted.len(), "every granted LOCK created its file");
    for path in &refused {
        assert!(
            !s.root().join(path.trim_start_matches('/')).exists(),
            "{path}: refused LOCK left a file"
        );
    }
}

// (b) 32 exclusive LOCKs on one existing file: exactly one 200, 31 x 423
// no-conflicting-lock, and exactly one activelock afterwards (I1, §6.1,
// §9.10.6).
#[test]
fn concurrent_exclusive_locks_on_one_file_grant_exactly_one_s6_1_s9_10_6() {
    const N: usize = 32;
    let s = TestServer::start();
    assert_eq!(put(&s, "/one.txt", "1").status, 201);
    let started = Instant::now();
    let rs = together(N, |_| bare_lock(&s, "/one.txt", Scope::Exclusive, "0"));
    assert!(started.elapsed() < SCENARIO_LIMIT);
    no_server_errors(&rs, "LOCK race");
    assert_eq!(count(&rs, 200), 1, "{rs:#?}");
    assert_eq!(count(&rs, 423), N - 1, "{rs:#?}");
    for r in rs.iter().filter(|r| r.status == 423) {
        assert_conflict(r, "/one.txt");
    }
    let winner = lock_token_header(rs.iter().find(|r| r.status == 200).unwrap());
    let locks = active_locks(&s, "/one.txt");
    assert_eq!(locks.len(), 1, "{locks:?}");
    assert_eq!(locks[0].token(), winner);
}

// (b') the same race on an unmapped URL: one 201 creates the file, the rest
// are 423 no-conflicting-lock (§7.3, I1).
#[test]
fn concurrent_exclusive_locks_on_one_unmapped_url_create_it_once_s7_3() {
    const N: usize = 32;
    let s = TestServer::start();
    let rs = together(N, |_| bare_lock(&s, "/fresh.txt", Scope::Exclusive, "0"));
    no_server_errors(&rs, "LOCK race on an unmapped URL");
    assert_eq!(count(&rs, 201), 1, "{rs:#?}");
    assert_eq!(count(&rs, 423), N - 1, "{rs:#?}");
    for r in rs.iter().filter(|r| r.status == 423) {
        assert_conflict(r, "/fresh.txt");
    }
    let winner = lock_token_header(rs.iter().find(|r| r.status == 201).unwrap());
    assert_eq!(active_locks(&s, "/fresh.txt").len(), 1);
    assert_eq!(active_locks(&s, "/fresh.txt")[0].token(), winner);
    assert_eq!(
        std::fs::metadata(s.root().join("fresh.txt")).unwrap().len(),
        0
    );
}

// (c) 32 `If-None-Match: *` PUTs to one new path: exactly one 201, the rest
// 412 (a conditional write waits for the write in progress and is judged on
// what it wrote, issue 12 item 6), and the file holds exactly the winner's
// full body (I9; RFC 9110 §13.1.2).
#[test]
fn concurrent_create_only_puts_have_one_winner_and_an_untorn_file_i9() {
    const N: usize = 32;
    const LEN: usize = 300 * 1024;
    let s = TestServer::start();
    let body = |i: usize| -> Vec<u8> {
        let mut b = format!("writer {i:02}\n").into_bytes();
        b.resize(LEN, b'a' + (i % 26) as u8);
        b
    };
    let started = Instant::now();
    // Raw connections: a loser may be answered before its body is read, and
    // the server then closes; the answer must still be read (ureq would
    // report the failed body write instead).
    let rs: Vec<(u16, String)> = together(N, |i| {
        let head = format!(
            "PUT /new.bin HTTP/1.1\r\nHost: {}\r\nIf-None-Match: *\r\nContent-Length: {LEN}\r\nConnection: close\r\n\r\n",
            s.addr
        );
        raw_exchange(&s.addr, &head, &body(i))
    });
    assert!(started.elapsed() < SCENARIO_LIMIT);
    for (i, (status, text)) in rs.iter().enumerate() {
        assert!(
            [201, 412].contains(status),
            "writer {i}: expected 201 or 412 (not 423: it waits): {text}"
        );
    }
    let winners: Vec<usize> = (0..N).filter(|&i| rs[i].0 == 201).collect();
    assert_eq!(winners.len(), 1, "{rs:#?}");
    let on_disk = std::fs::read(s.root().join("new.bin")).expect("new.bin");
    assert_eq!(on_disk.len(), LEN);
    assert!(
        on_disk == body(winners[0]),
        "new.bin is not writer {}'s body",
        winners[0]
    );
    let leftovers: Vec<String> = std::fs::read_dir(s.root())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "new.bin")
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporaries left behind: {leftovers:?}"
    );
}

// (d) 32 MKCOLs of one path: exactly one 201, 31 x 405 (§9.3.1, I9).
#[test]
fn concurrent_mkcols_of_one_path_have_one_201_and_the_rest_405_s9_3_1() {
    const N: usize = 32;
    let s = TestServer::start();
    let started = Instant::now();
    let rs = together(N, |_| s.mkcol("/dir/"));
    assert!(started.elapsed() < SCENARIO_LIMIT);
    no_server_errors(&rs, "MKCOL race");
    assert_eq!(count(&rs, 201), 1, "{rs:#?}");
    assert_eq!(count(&rs, 405), N - 1, "{rs:#?}");
    assert!(s.root().join("dir").is_dir());
}

fn assert_being_written(r: &Response, what: &str) {
    assert_eq!(r.status, 423, "{what} during an upload: {r:?}");
    assert!(
        r.body.contains("being written"),
        "{what}: 423 says the resource is being written: {r:?}"
    );
}

// (e) I9: while a PUT streams into a file, a competing PUT or DELETE of it, a
// LOCK on it, and a DELETE, MOVE or depth-infinity LOCK of its collection get
// 423 "being written" instead of racing it; a sibling is not held off; once
// the upload ends, all is normal again (§7, docs/locking.md I9).
#[test]
fn a_streaming_put_latches_its_path_until_it_finishes_i9() {
    const LEN: usize = 2 * 1024 * 1024;
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(put(&s, "/c/f.bin", "old").status, 201);
    let upload = SlowUpload::start(&s, "/c/f.bin", LEN);
    assert!(
        upload_reaches_disk(&s.root().join("c")),
        "the upload never reached the disk"
    );

    assert_being_written(&put(&s, "/c/f.bin", "other"), "PUT");
    assert_being_written(&s.delete("/c/f.bin"), "DELETE");
    assert_being_written(&s.delete("/c/"), "DELETE of the collection");
    assert_being_written(
        &s.copy_move("MOVE", "/c/", "/d/", &[]),
        "MOVE of the collection",
    );
    let lock = |path: &str, depth: &str| bare_lock(&s, path, Scope::Exclusive, depth);
    assert_being_written(&lock("/c/f.bin", "0"), "LOCK");
    assert_being_written(
        &lock("/c/", "infinity"),
        "depth-infinity LOCK of the collection",
    );
    assert!(active_locks(&s, "/c/f.bin").is_empty());
    assert!(active_locks(&s, "/c/").is_empty());
    // A sibling is another resource: not held off.
    assert_eq!(put(&s, "/c/g.txt", "G").status, 201);

    let body = upload.finish(204);
    assert!(
        s.get("/c/f.bin").bytes == body,
        "f.bin is not the uploaded body"
    );
    assert_eq!(lock("/c/f.bin", "0").status, 200);
    assert_eq!(put(&s, "/c/g.txt", "G2").status, 204);
}

// (e2) A conditional write waits for the write in progress and is judged on
// its result: `If-Match` with the old ETag is 412 once the upload changed
// it, and with no condition the answer is still an immediate 423.
#[test]
fn a_conditional_put_waits_for_the_upload_and_is_judged_on_its_result() {
    const LEN: usize = 2 * 1024 * 1024;
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(put(&s, "/c/f.bin", "old").status, 201);
    let old_etag = s.get("/c/f.bin").expect_header("etag").to_owned();
    let upload = SlowUpload::start(&s, "/c/f.bin", LEN);
    assert!(
        upload_reaches_disk(&s.root().join("c")),
        "the upload never reached the disk"
    );
    std::thread::scope(|scope| {
        let conditional = scope.spawn(|| {
            s.request("PUT", "/c/f.bin")
                .header("If-Match", &old_etag)
                .body("mine")
                .send()
        });
        // Meanwhile an unconditional PUT is refused at once, as before.
        assert_being_written(&put(&s, "/c/f.bin", "other"), "PUT");
        let body = upload.finish(204);
        let r = conditional.join().expect("conditional PUT");
        assert_eq!(r.status, 412, "the upload changed the ETag: {r:?}");
        assert!(s.get("/c/f.bin").bytes == body, "the upload's body stays");
    });
}

// (f) I1 under contention: 16 shared and 16 exclusive LOCKs on one file at
// once. Either exactly one exclusive lock was granted and nothing else, or
// only shared ones were; lockdiscovery agrees with the answers (§6.1,
// §9.10.5).
#[test]
fn concurrent_shared_and_exclusive_locks_never_coexist_i1_s9_10_5() {
    const N: usize = 32;
    let s = TestServer::start();
    assert_eq!(put(&s, "/mixed.txt", "M").status, 201);
    let scope_of = |i: usize| {
        if i < N / 2 {
            Scope::Shared
        } else {
            Scope::Exclusive
        }
    };
    let rs = together(N, |i| bare_lock(&s, "/mixed.txt", scope_of(i), "0"));
    no_server_errors(&rs, "mixed LOCK race");
    let mut shared = Vec::new();
    let mut exclusive = Vec::new();
    for (i, r) in rs.iter().enumerate() {
        match r.status {
            200 if scope_of(i) == Scope::Shared => shared.push(lock_token_header(r)),
            200 => exclusive.push(lock_token_header(r)),
            423 => assert_conflict(r, "/mixed.txt"),
            _ => panic!("LOCK {i}: expected 200 or 423: {r:?}"),
        }
    }
    assert!(
        (exclusive.len() == 1 && shared.is_empty()) || (exclusive.is_empty() && !shared.is_empty()),
        "granted {} exclusive and {} shared locks at once",
        exclusive.len(),
        shared.len()
    );
    let mut granted: Vec<String> = shared.into_iter().chain(exclusive).collect();
    granted.sort();
    let mut reported: Vec<String> = active_locks(&s, "/mixed.txt")
        .iter()
        .map(|l| l.token().to_string())
        .collect();
    reported.sort();
    assert_eq!(reported, granted);
}

// (g) I1/I2 across a tree under contention: 16 depth-infinity exclusive
// LOCKs of a collection race 16 exclusive LOCKs of distinct members. The
// outcome is either the one collection lock and no member lock, or member
// locks only (§6.1, §7.4, §9.10.3).
#[test]
fn concurrent_tree_and_member_locks_never_overlap_i2_s9_10_3() {
    const N: usize = 32;
    let s = TestServer::start();
    assert_eq!(s.mkcol("/tree/").status, 201);
    for i in 0..N {
        assert_eq!(put(&s, &format!("/tree/m{i:02}.txt"), "m").status, 201);
    }
    let target = |i: usize| -> (String, &'static str) {
        if i < N / 2 {
            ("/tree/".to_string(), "infinity")
        } else {
            (format!("/tree/m{i:02}.txt"), "0")
        }
    };
    let rs = together(N, |i| {
        let (path, depth) = target(i);
        bare_lock(&s, &path, Scope::Exclusive, depth)
    });
    no_server_errors(&rs, "tree/member LOCK race");
    let mut tree = Vec::new();
    let mut members = Vec::new();
    for (i, r) in rs.iter().enumerate() {
        let (path, _) = target(i);
        match r.status {
            200 if i < N / 2 => tree.push(lock_token_header(r)),
            200 => members.push((path, lock_token_header(r))),
            423 => {
                let hrefs = assert_dav_error(r, 423, "no-conflicting-lock");
                assert_eq!(hrefs.len(), 1, "{r:?}");
            }
            _ => panic!("LOCK {path}: expected 200 or 423: {r:?}"),
        }
    }
    assert!(
        (tree.len() == 1 && members.is_empty()) || (tree.is_empty() && !members.is_empty()),
        "granted {} tree locks and {} member locks at once",
        tree.len(),
        members.len()
    );
    // lockdiscovery agrees, member by member.
    for i in N / 2..N {
        let (path, _) = target(i);
        let mut want: Vec<String> = tree.clone();
        want.extend(
            members
                .iter()
                .filter(|(p, _)| *p == path)
                .map(|(_, t)| t.clone()),
        );
        let got: Vec<String> = active_locks(&s, &path)
            .iter()
            .map(|l| l.token().to_string())
            .collect();
        assert_eq!(got, want, "{path}");
    }
}

//! RFC 4918 locking (Class 2) against the real binary, section 1.11 of the
//! RFC 4918 checklist: collections, DELETE, COPY and MOVE with locks.
//! Every test names the RFC sections it checks; the comment above it names
//! the checklist lines (`1.x/n` = section 1.x, n-th line). Every server here
//! runs without authentication, so every lock has no principal.
mod support;

use support::lock::*;
use support::{TestServer, file_text, snapshot, statuses_207};

// ===========================================================================
// 1.11 Collections, DELETE, COPY and MOVE with locks

// 1.11/1: DELETE of a tree with locked members: 207 naming each with 423, no
// 424, nothing deleted.
#[test]
fn delete_of_tree_with_locked_members_is_207_naming_them_and_deletes_nothing_s9_6_1() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/t/").status, 201);
    assert_eq!(s.mkcol("/t/sub/").status, 201);
    assert_eq!(s.mkcol("/t/sub2/").status, 201);
    assert_eq!(put(&s, "/t/a.txt", "A").status, 201);
    assert_eq!(put(&s, "/t/sub/b.txt", "B").status, 201);
    assert_eq!(put(&s, "/t/sub2/c.txt", "C").status, 201);
    let tb = lock_ok(&s, "/t/sub/b.txt", Scope::Exclusive, "0");
    let t2 = lock_ok(&s, "/t/sub2/", Scope::Shared, "infinity");
    let before = snapshot(&s.root());

    let r = s.delete("/t/");
    let st = statuses_207(&r);
    let named: Vec<(String, u16)> = st.iter().map(|(h, c)| (slashless(h), *c)).collect();
    assert_eq!(
        named,
        vec![
            ("/t/sub/b.txt".to_string(), 423),
            ("/t/sub2".to_string(), 423)
        ],
        "{r:?}"
    );
    assert!(
        !r.body.contains("424"),
        "no 424 in a DELETE 207 (§9.6.1): {}",
        r.body
    );
    assert_eq!(snapshot(&s.root()), before, "nothing may be deleted");

    let r = s.delete("/t/sub/");
    assert_eq!(statuses_207(&r), vec![("/t/sub/b.txt".to_string(), 423)]);
    // One token of two: the other member is still named.
    let r = with_if(&s, "DELETE", "/t/", &tagged(&[("/t/sub/b.txt", &tb)]), None);
    let named: Vec<String> = statuses_207(&r).iter().map(|(h, _)| slashless(h)).collect();
    assert_eq!(named, vec!["/t/sub2".to_string()]);
    assert_eq!(snapshot(&s.root()), before);

    // 1.11/2: with every token it goes, and so do the locks.
    let all = tagged(&[("/t/sub/b.txt", &tb), ("/t/sub2/", &t2)]);
    assert_eq!(with_if(&s, "DELETE", "/t/", &all, None).status, 204);
    assert!(!s.root().join("t").exists());
    assert_eq!(s.mkcol("/t/").status, 201);
    assert_eq!(s.mkcol("/t/sub/").status, 201);
    assert_eq!(s.mkcol("/t/sub2/").status, 201);
    assert_eq!(put(&s, "/t/sub/b.txt", "B").status, 201);
    assert_eq!(put(&s, "/t/sub2/c.txt", "C").status, 201);
    assert_token_mismatch(&unlock(&s, "/t/sub/b.txt", &tb), 409);
}

// 1.11/3: COPY never duplicates the source's locks; a copy into a locked
// collection joins that lock.
#[test]
fn copy_never_duplicates_locks_and_a_copy_into_a_locked_collection_joins_it_s7_6() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(put(&s, "/c/f.txt", "F").status, 201);
    let tc = lock_ok(&s, "/c/", Scope::Exclusive, "infinity");
    assert_eq!(s.copy_move("COPY", "/c/", "/copy/", &[]).status, 201);
    assert!(active_locks(&s, "/copy/").is_empty());
    assert!(active_locks(&s, "/copy/f.txt").is_empty());
    assert_eq!(put(&s, "/copy/f.txt", "free").status, 204);
    assert_eq!(tokens_of(&active_locks(&s, "/c/f.txt")), vec![tc]);

    assert_eq!(s.mkcol("/L/").status, 201);
    let tl = lock_ok(&s, "/L/", Scope::Exclusive, "infinity");
    assert_locked(&s.copy_move("COPY", "/copy/f.txt", "/L/f.txt", &[]), "/L/");
    let r = copy_move_if(
        &s,
        "COPY",
        "/copy/f.txt",
        "/L/f.txt",
        &tagged(&[("/L/f.txt", &tl)]),
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(tokens_of(&active_locks(&s, "/L/f.txt")), vec![tl]);
    assert_locked(&put(&s, "/L/f.txt", "x"), "/L/");
}

// 1.11/4: MOVE never carries locks; the source's lock dies with its root,
// the destination joins the lock there.
#[test]
fn move_never_carries_locks_and_the_destination_joins_the_lock_there_s7_6_s6_1() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/m/").status, 201);
    assert_eq!(put(&s, "/m/x.txt", "X").status, 201);
    assert_eq!(s.mkcol("/c/").status, 201);
    let tm = lock_ok(&s, "/m/", Scope::Exclusive, "infinity");
    let tc = lock_ok(&s, "/c/", Scope::Shared, "infinity");
    let r = copy_move_if(
        &s,
        "MOVE",
        "/m/",
        "/c/m/",
        &tagged(&[("/m/", &tm), ("/c/m/", &tc)]),
    );
    assert_eq!(r.status, 201, "{r:?}");
    for path in ["/c/m/", "/c/m/x.txt"] {
        let locks = active_locks(&s, path);
        assert_eq!(tokens_of(&locks), vec![tc.clone()], "{path}");
        assert_eq!(locks[0].root(), "/c/");
    }
    assert_token_mismatch(&unlock(&s, "/c/m/", &tm), 409);
    assert_eq!(s.mkcol("/m/").status, 201, "the source URL is free again");
    assert!(active_locks(&s, "/m/").is_empty());
    assert_locked(&put(&s, "/c/m/x.txt", "y"), "/c/");
    assert_eq!(file_text(&s, "c/m/x.txt"), "X");
}

// 1.11/5 and 1.11/6: Overwrite T deletes the destination first, checking its
// locks like DELETE; failures are a 207 listing the 423 members.
#[test]
fn overwrite_checks_destination_locks_like_delete_and_lists_423_members_s9_9_3_s9_8_5_s9_9_4() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/src/").status, 201);
    assert_eq!(put(&s, "/src/a.txt", "A").status, 201);
    assert_eq!(s.mkcol("/dst/").status, 201);
    assert_eq!(put(&s, "/dst/m.txt", "M").status, 201);
    assert_eq!(put(&s, "/dst/n.txt", "N").status, 201);
    let tm = lock_ok(&s, "/dst/m.txt", Scope::Exclusive, "0");
    let before = snapshot(&s.root());
    for method in ["COPY", "MOVE"] {
        let r = s.copy_move(method, "/src/", "/dst/", &[("Overwrite", "T")]);
        assert_eq!(
            statuses_207(&r),
            vec![("/dst/m.txt".to_string(), 423)],
            "{method}"
        );
        assert_eq!(snapshot(&s.root()), before, "{method} changed the disk");
    }
    // MOVE of a source tree with a locked member: 207 naming it, nothing moved.
    let r = s.copy_move("MOVE", "/dst/", "/elsewhere/", &[]);
    assert_eq!(
        statuses_207(&r),
        vec![("/dst/m.txt".to_string(), 423)],
        "{r:?}"
    );
    assert_eq!(
        snapshot(&s.root()),
        before,
        "MOVE of a locked tree changed the disk"
    );
    // A locked destination file: 423.
    assert_eq!(put(&s, "/df.txt", "D").status, 201);
    lock_ok(&s, "/df.txt", Scope::Exclusive, "0");
    assert_locked(
        &s.copy_move("COPY", "/src/a.txt", "/df.txt", &[]),
        "/df.txt",
    );
    assert_locked(
        &s.copy_move("MOVE", "/src/a.txt", "/df.txt", &[]),
        "/df.txt",
    );
    assert_eq!(file_text(&s, "df.txt"), "D");
    assert_eq!(file_text(&s, "src/a.txt"), "A");

    // With the member's token: the destination is replaced, its lock gone.
    let r = copy_move_if(
        &s,
        "COPY",
        "/src/",
        "/dst/",
        &tagged(&[("/dst/m.txt", &tm)]),
    );
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(file_text(&s, "dst/a.txt"), "A");
    assert!(!s.root().join("dst/m.txt").exists());
    assert_token_mismatch(&unlock(&s, "/dst/", &tm), 409);
}

//! RFC 4918 locking (Class 2) against the real binary, section 1.2 of the
//! RFC 4918 checklist: which requests need a lock token, and the 423 that
//! names the lock root, with the exact spelling of a collection's href in
//! 423 and 207 answers (1.2/6, 1.11/1, 1.12/4).
//! Every test names the RFC sections it checks; the comment above it names
//! the checklist lines (`1.x/n` = section 1.x, n-th line). Every server here
//! runs without authentication, so every lock has no principal.
//! The authorization half of 1.2/7 (and 1.3, lock creator and privileges)
//! is not here: it needs users and belongs with the authentication tests.
mod support;

use support::lock::*;
use support::{TestServer, file_text, snapshot, statuses_207};

// ===========================================================================
// 1.2 Which requests need a token

// 1.2/1: every modifying method needs the token (PUT, POST, PROPPATCH, LOCK,
// UNLOCK, MOVE, COPY destination, DELETE, MKCOL).
#[test]
fn every_modifying_method_needs_the_lock_token_s7_s7_5() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(put(&s, "/c/f.txt", "F").status, 201);
    assert_eq!(put(&s, "/src.txt", "SRC").status, 201);
    let tok = lock_ok(&s, "/c/", Scope::Exclusive, "infinity");
    let before = snapshot(&s.root());

    assert_locked(&put(&s, "/c/f.txt", "x"), "/c/");
    assert_locked(&set_p(&s, "/c/f.txt"), "/c/");
    assert_locked(&s.delete("/c/f.txt"), "/c/");
    assert_locked(&s.mkcol("/c/new/"), "/c/");
    assert_locked(&s.copy_move("MOVE", "/c/f.txt", "/moved.txt", &[]), "/c/");
    assert_locked(&s.copy_move("COPY", "/src.txt", "/c/f.txt", &[]), "/c/");
    assert_locked(&s.copy_move("COPY", "/src.txt", "/c/g.txt", &[]), "/c/");
    assert_conflict(&lock(&s, "/c/f.txt", Scope::Exclusive, "0"), "/c/");
    assert_eq!(s.request("UNLOCK", "/c/f.txt").send().status, 400);
    assert_token_mismatch(
        &unlock(
            &s,
            "/c/f.txt",
            "urn:uuid:00000000-0000-0000-0000-000000000000",
        ),
        409,
    );
    // POST is not a write deadbolt supports at all: 405 whether locked or not.
    let post = s
        .request("POST", "/c/f.txt")
        .header("Connection", "close")
        .body("data")
        .send();
    assert_eq!(post.status, 405, "{post:?}");
    assert_eq!(
        snapshot(&s.root()),
        before,
        "refused requests changed the disk"
    );
    assert_eq!(tokens_of(&active_locks(&s, "/c/")), vec![tok.clone()]);

    // With the token, each succeeds.
    let t = if_token(&tok);
    assert_eq!(put_if(&s, "/c/f.txt", "F2", &t).status, 204);
    assert_set_p_with_if(&s, "/c/f.txt", &t);
    assert_eq!(with_if(&s, "MKCOL", "/c/new/", &t, None).status, 201);
    let r = copy_move_if(
        &s,
        "COPY",
        "/src.txt",
        "/c/g.txt",
        &tagged(&[("/c/g.txt", &tok)]),
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        copy_move_if(&s, "MOVE", "/c/f.txt", "/moved.txt", &t).status,
        201
    );
    assert_eq!(with_if(&s, "DELETE", "/c/g.txt", &t, None).status, 204);
    assert_eq!(unlock(&s, "/c/", &tok).status, 204);
    assert_eq!(put(&s, "/c/free.txt", "free").status, 201);
}

// 1.2/2: adding or removing a member needs the collection's token as well as
// the member's (the example of §7.5.2).
#[test]
fn removing_a_member_needs_the_collection_token_and_the_member_token_s7_4_s7_5_2() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(put(&s, "/c/m.txt", "M").status, 201);
    let a = lock_ok(&s, "/c/", Scope::Exclusive, "0");
    let b = lock_ok(&s, "/c/m.txt", Scope::Exclusive, "0");

    // Both locks block; the answer names at least one of them.
    assert_locked_one_of(&s.delete("/c/m.txt"), &["/c/", "/c/m.txt"]);
    assert_locked(
        &with_if(&s, "DELETE", "/c/m.txt", &if_token(&b), None),
        "/c/",
    );
    assert_locked(
        &with_if(&s, "DELETE", "/c/m.txt", &tagged(&[("/c/", &a)]), None),
        "/c/m.txt",
    );
    assert!(s.root().join("c/m.txt").exists());
    let both = tagged(&[("/c/", &a), ("/c/m.txt", &b)]);
    assert_eq!(with_if(&s, "DELETE", "/c/m.txt", &both, None).status, 204);
    assert!(!s.root().join("c/m.txt").exists());
    // Adding a member: the collection's token alone suffices.
    assert_locked(&put(&s, "/c/n.txt", "N"), "/c/");
    assert_eq!(
        put_if(&s, "/c/n.txt", "N", &tagged(&[("/c/", &a)])).status,
        201
    );
}

// 1.2/3: COPY needs tokens only for the destination side.
#[test]
fn copy_needs_tokens_only_on_the_destination_side_s7_5_1() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/src.txt", "SRC").status, 201);
    assert_eq!(s.mkcol("/tree/").status, 201);
    assert_eq!(put(&s, "/tree/a.txt", "A").status, 201);
    let src = lock_ok(&s, "/src.txt", Scope::Exclusive, "0");
    let tree = lock_ok(&s, "/tree/", Scope::Exclusive, "infinity");

    // Locked sources copy freely.
    assert_eq!(s.copy_move("COPY", "/src.txt", "/dst.txt", &[]).status, 201);
    assert_eq!(s.copy_move("COPY", "/tree/", "/tree2/", &[]).status, 201);
    assert_eq!(file_text(&s, "dst.txt"), "SRC");
    assert_eq!(file_text(&s, "tree2/a.txt"), "A");

    // A locked destination needs its token.
    assert_eq!(put(&s, "/locked.txt", "L").status, 201);
    let dst = lock_ok(&s, "/locked.txt", Scope::Exclusive, "0");
    assert_locked(
        &s.copy_move("COPY", "/src.txt", "/locked.txt", &[]),
        "/locked.txt",
    );
    assert_eq!(file_text(&s, "locked.txt"), "L");
    let r = copy_move_if(
        &s,
        "COPY",
        "/src.txt",
        "/locked.txt",
        &tagged(&[("/locked.txt", &dst)]),
    );
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(file_text(&s, "locked.txt"), "SRC");
    assert_eq!(tokens_of(&active_locks(&s, "/src.txt")), vec![src]);
    assert_eq!(tokens_of(&active_locks(&s, "/tree/")), vec![tree]);
}

// 1.2/4: MOVE needs the tokens of the source, the source's locked parent, the
// destination's locked parent, and of an existing locked destination.
#[test]
fn move_needs_source_source_parent_destination_and_destination_parent_tokens_s7_4_s7_6() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/sp/").status, 201);
    assert_eq!(s.mkcol("/dp/").status, 201);
    assert_eq!(put(&s, "/sp/f.txt", "F").status, 201);
    let a = lock_ok(&s, "/sp/", Scope::Exclusive, "0");
    let b = lock_ok(&s, "/sp/f.txt", Scope::Exclusive, "0");
    let c = lock_ok(&s, "/dp/", Scope::Exclusive, "0");
    let all = [
        ("/sp/", a.as_str()),
        ("/sp/f.txt", b.as_str()),
        ("/dp/", c.as_str()),
    ];
    let before = snapshot(&s.root());
    for missing in 0..all.len() {
        let given: Vec<(&str, &str)> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != missing)
            .map(|(_, p)| *p)
            .collect();
        let r = copy_move_if(&s, "MOVE", "/sp/f.txt", "/dp/g.txt", &tagged(&given));
        assert_locked(&r, all[missing].0);
        assert_eq!(snapshot(&s.root()), before, "without {}", all[missing].0);
    }
    let r = copy_move_if(&s, "MOVE", "/sp/f.txt", "/dp/g.txt", &tagged(&all));
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(file_text(&s, "dp/g.txt"), "F");
    assert!(!s.root().join("sp/f.txt").exists());
    assert_eq!(tokens_of(&active_locks(&s, "/sp/")), vec![a]);
    assert_eq!(tokens_of(&active_locks(&s, "/dp/")), vec![c]);
    assert!(active_locks(&s, "/dp/g.txt").is_empty());

    // An existing, locked destination needs its own token.
    assert_eq!(put(&s, "/dst.txt", "D").status, 201);
    assert_eq!(put(&s, "/s2.txt", "S2").status, 201);
    let d = lock_ok(&s, "/dst.txt", Scope::Exclusive, "0");
    assert_locked(&s.copy_move("MOVE", "/s2.txt", "/dst.txt", &[]), "/dst.txt");
    let r = copy_move_if(
        &s,
        "MOVE",
        "/s2.txt",
        "/dst.txt",
        &tagged(&[("/dst.txt", &d)]),
    );
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(file_text(&s, "dst.txt"), "S2");
    assert!(
        active_locks(&s, "/dst.txt").is_empty(),
        "overwritten: lock gone"
    );
}

// 1.2/5: GET, HEAD, PROPFIND and OPTIONS are never blocked by write locks.
#[test]
fn reads_are_never_blocked_by_write_locks_s7() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(put(&s, "/c/f.txt", "hello").status, 201);
    assert_eq!(put(&s, "/g.txt", "G").status, 201);
    lock_ok(&s, "/c/", Scope::Exclusive, "infinity");
    lock_ok(&s, "/g.txt", Scope::Exclusive, "0");
    let r = s.get("/c/f.txt");
    assert_eq!((r.status, r.body.as_str()), (200, "hello"));
    assert_eq!(s.get("/g.txt").body, "G");
    assert_eq!(s.request("HEAD", "/c/f.txt").send().status, 200);
    assert_eq!(s.get("/c/").status, 200);
    let r = s.propfind("/c/", "1", None);
    assert_eq!(r.status, 207, "{r:?}");
    assert_eq!(r.multistatus().responses.len(), 2);
    assert_eq!(s.propfind("/g.txt", "0", None).status, 207);
    for path in ["/c/", "/c/f.txt", "/g.txt"] {
        assert_eq!(s.request("OPTIONS", path).send().status, 200, "{path}");
    }
}

// 1.2/6: 423 carries DAV:error/lock-token-submitted/href naming the lock root.
#[test]
fn locked_answer_is_423_with_lock_token_submitted_naming_the_root_s11_3_s16_s9_8_5() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(s.mkcol("/c/deep/").status, 201);
    assert_eq!(put(&s, "/c/deep/f.txt", "F").status, 201);
    lock_ok(&s, "/c/", Scope::Shared, "infinity");
    let r = put(&s, "/c/deep/f.txt", "x");
    assert_locked(&r, "/c/");
    assert!(r.body.contains("lock-token-submitted"), "{r:?}");
    // COPY onto a locked destination (§9.8.5) and MOVE of a locked source (§9.9.4).
    assert_eq!(put(&s, "/src.txt", "S").status, 201);
    assert_locked(
        &s.copy_move("COPY", "/src.txt", "/c/deep/f.txt", &[]),
        "/c/",
    );
    assert_locked(&s.copy_move("MOVE", "/c/deep/f.txt", "/x.txt", &[]), "/c/");
}

// 1.2/6 (exact spelling): a collection is named by its URL with the slash,
// the way lockroot and every other href of deadbolt name it (§8.3, §5.2):
// a client matching the 423's href against the lockroot it holds must find it.
#[test]
fn lock_token_submitted_names_a_collection_root_with_its_slash_s16_s8_3() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(put(&s, "/c/f.txt", "F").status, 201);
    lock_ok(&s, "/c/", Scope::Exclusive, "infinity");
    assert_eq!(active_locks(&s, "/c/f.txt")[0].root(), "/c/");
    let hrefs = assert_dav_error(&put(&s, "/c/f.txt", "x"), 423, "lock-token-submitted");
    assert_eq!(hrefs, vec!["/c/".to_string()], "same href as the lockroot");
}

// 1.12/4 (exact spelling): no-conflicting-lock names a collection root with
// its slash too.
#[test]
fn no_conflicting_lock_names_a_collection_root_with_its_slash_s16_s8_3() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(put(&s, "/c/f.txt", "F").status, 201);
    lock_ok(&s, "/c/", Scope::Exclusive, "infinity");
    let hrefs = assert_dav_error(
        &lock(&s, "/c/f.txt", Scope::Exclusive, "0"),
        423,
        "no-conflicting-lock",
    );
    assert_eq!(hrefs, vec!["/c/".to_string()], "same href as the lockroot");
}

// 1.11/1 (exact spelling): the 207 of a DELETE names a locked member
// collection by its collection URL, with the slash.
#[test]
fn delete_207_names_a_locked_member_collection_with_its_slash_s9_6_1_s8_3() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/t/").status, 201);
    assert_eq!(s.mkcol("/t/sub/").status, 201);
    lock_ok(&s, "/t/sub/", Scope::Exclusive, "infinity");
    let st = statuses_207(&s.delete("/t/"));
    assert_eq!(st, vec![("/t/sub/".to_string(), 423)]);
}

// 1.1/1, 1.2/6: a depth-infinity lock on the root locks the whole tree, and
// 423 names `/`.
#[test]
fn depth_infinity_lock_on_the_root_covers_everything_s6_1() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/a/").status, 201);
    assert_eq!(put(&s, "/a/f.txt", "F").status, 201);
    let tok = lock_ok(&s, "/", Scope::Exclusive, "infinity");
    assert_locked(&put(&s, "/a/f.txt", "x"), "/");
    assert_locked(&put(&s, "/new.txt", "x"), "/");
    assert_locked(&s.mkcol("/b/"), "/");
    assert_locked(&s.delete("/a/"), "/");
    let l = active_locks(&s, "/a/f.txt");
    assert_eq!((l.len(), l[0].root()), (1, "/"));
    assert_eq!(put_with_token(&s, "/a/f.txt", "y", &tok).status, 204);
    assert_eq!(unlock(&s, "/a/f.txt", &tok).status, 204);
    assert_eq!(put(&s, "/new.txt", "x").status, 201);
}

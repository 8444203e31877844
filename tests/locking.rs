//! RFC 4918 locking (Class 2) against the real binary, following
//! `/work/shared/rfc4918-checklist.md` section by section. Every test names
//! the RFC sections it checks; the comment above it names the checklist
//! lines (`1.x/n` = section 1.x, n-th line). 1.3 (lock creator and
//! privileges) and the authorization half of 1.2/7 are not here: they need
//! users and belong with the authentication tests. Every server here runs
//! without authentication, so every lock has no principal.
mod support;

use std::time::{Duration, Instant};

use support::lock::*;
use support::xml::parse_exact;
use support::{
    DAV, Response, TestServer, etag, file_text, poll, propfind_dav_props, proppatch_set, read_prop,
    snapshot, sorted, statuses_207,
};

const NS: &str = "urn:deadbolt:test";

fn proppatch_if(s: &TestServer, path: &str, body: &str, if_header: &str) -> Response {
    s.request("PROPPATCH", path)
        .header("If", if_header)
        .xml(body)
        .send()
}

fn copy_move_if(s: &TestServer, method: &str, src: &str, dest: &str, if_header: &str) -> Response {
    s.copy_move(method, src, dest, &[("If", if_header)])
}

/// `<path> (<token>)` tagged lists, one per pair (§10.4.2).
fn tagged(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(p, t)| format!("<{p}> (<{t}>)"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn tokens_of(locks: &[ActiveLockView]) -> Vec<String> {
    sorted(locks.iter().map(|l| l.token().to_string()).collect())
}

/// PROPPATCH setting the dead property `{NS}p` to `v`: a write that needs
/// the lock token like any other (§7).
fn set_p(s: &TestServer, path: &str) -> Response {
    s.proppatch(path, &proppatch_set(NS, "p", "v"))
}

fn proppatch_ok(resp: &Response, path: &str) {
    assert_eq!(resp.status, 207, "PROPPATCH {path}: {resp:?}");
    let ms = resp.multistatus();
    assert_eq!(
        ms.responses[0].prop_status(NS, "p"),
        Some(200),
        "PROPPATCH {path} must succeed: {}",
        resp.body
    );
}

/// Sets `{NS}p` on `path` with this If header; it must succeed.
fn assert_set_p_with_if(s: &TestServer, path: &str, if_header: &str) {
    proppatch_ok(
        &proppatch_if(s, path, &proppatch_set(NS, "p", "v"), if_header),
        path,
    );
}

// ===========================================================================
// 1.1 Model, scope and conflicts

// 1.1/1: a lock locks its root directly; depth infinity locks every member.
#[test]
fn depth_infinity_lock_covers_root_and_every_member_s6_1() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(s.mkcol("/c/sub/").status, 201);
    assert_eq!(put(&s, "/c/f.txt", "F").status, 201);
    assert_eq!(put(&s, "/c/sub/g.txt", "G").status, 201);
    let tok = lock_ok(&s, "/c/", Scope::Exclusive, "infinity");

    let before = snapshot(&s.root());
    assert_locked(&put(&s, "/c/f.txt", "x"), "/c/");
    assert_locked(&put(&s, "/c/sub/g.txt", "x"), "/c/");
    assert_locked(&set_p(&s, "/c/"), "/c/");
    assert_locked(&set_p(&s, "/c/sub/"), "/c/");
    assert_eq!(
        snapshot(&s.root()),
        before,
        "refused writes changed the disk"
    );

    for path in ["/c/", "/c/sub/", "/c/f.txt", "/c/sub/g.txt"] {
        let locks = active_locks(&s, path);
        assert_eq!(locks.len(), 1, "{path} is covered by exactly one lock");
        assert_eq!(locks[0].token(), tok, "{path}");
        assert_eq!(
            locks[0].root(),
            "/c/",
            "{path}: lockroot is the lock's root"
        );
        assert_eq!(locks[0].depth, "infinity");
    }
    assert_eq!(put_with_token(&s, "/c/sub/g.txt", "new", &tok).status, 204);
    assert_eq!(file_text(&s, "c/sub/g.txt"), "new");

    // A depth-0 lock on a file locks that file and nothing else.
    assert_eq!(put(&s, "/solo.txt", "S").status, 201);
    assert_eq!(put(&s, "/other.txt", "O").status, 201);
    let solo = lock_ok(&s, "/solo.txt", Scope::Exclusive, "0");
    assert_locked(&put(&s, "/solo.txt", "x"), "/solo.txt");
    assert_eq!(put(&s, "/other.txt", "O2").status, 204);
    assert!(active_locks(&s, "/other.txt").is_empty());
    assert_eq!(tokens_of(&active_locks(&s, "/solo.txt")), vec![solo]);
}

// 1.1/2: exclusive conflicts with any other lock; shared + shared is fine.
#[test]
fn exclusive_conflicts_with_any_lock_and_shared_with_shared_is_fine_s6_1_s9_10_5() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/s.txt", "S").status, 201);
    assert_eq!(put(&s, "/e.txt", "E").status, 201);

    let a = lock_ok(&s, "/s.txt", Scope::Shared, "0");
    let b = lock_ok(&s, "/s.txt", Scope::Shared, "0");
    assert_ne!(a, b);
    assert_conflict(&lock(&s, "/s.txt", Scope::Exclusive, "0"), "/s.txt");
    assert_eq!(tokens_of(&active_locks(&s, "/s.txt")), sorted(vec![a, b]));

    let e = lock_ok(&s, "/e.txt", Scope::Exclusive, "0");
    assert_conflict(&lock(&s, "/e.txt", Scope::Shared, "0"), "/e.txt");
    assert_conflict(&lock(&s, "/e.txt", Scope::Exclusive, "0"), "/e.txt");
    assert_eq!(tokens_of(&active_locks(&s, "/e.txt")), vec![e]);
}

// 1.1/3: the same exclusive lock cannot be requested twice, not even by the
// holder submitting its own token.
#[test]
fn same_exclusive_lock_requested_twice_fails_even_with_its_token_s9_10_5() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/x.txt", "X").status, 201);
    let tok = lock_ok(&s, "/x.txt", Scope::Exclusive, "0");
    let again = lock(&s, "/x.txt", Scope::Exclusive, "0");
    assert_conflict(&again, "/x.txt");
    let with_token = lock_request(
        &s,
        "/x.txt",
        Scope::Exclusive,
        Some("0"),
        &[("If", &if_token(&tok))],
    );
    assert_conflict(&with_token, "/x.txt");
    assert!(with_token.header("lock-token").is_none());
    assert_eq!(tokens_of(&active_locks(&s, "/x.txt")), vec![tok]);
}

// 1.1/4: every shared-lock request yields its own lock and token.
#[test]
fn each_shared_lock_request_yields_its_own_lock_and_token_s6_2() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/doc.txt", "D").status, 201);
    let tokens: Vec<String> = (0..3)
        .map(|_| lock_ok(&s, "/doc.txt", Scope::Shared, "0"))
        .collect();
    let mut unique = tokens.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "three requests, three tokens: {tokens:?}");
    let locks = active_locks(&s, "/doc.txt");
    assert_eq!(tokens_of(&locks), unique);
    assert!(locks.iter().all(|l| l.scope == "shared" && l.depth == "0"));
}

// 1.1/5: conflicts are checked through ancestors; no-conflicting-lock names
// the root of the conflicting lock.
#[test]
fn lock_under_a_depth_infinity_lock_is_refused_naming_the_ancestor_s6_1_s16() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/a/").status, 201);
    assert_eq!(s.mkcol("/a/deep/").status, 201);
    assert_eq!(put(&s, "/a/b.txt", "B").status, 201);
    assert_eq!(put(&s, "/a/deep/c.txt", "C").status, 201);
    let tok = lock_ok(&s, "/a/", Scope::Exclusive, "infinity");
    for path in ["/a/b.txt", "/a/deep/", "/a/deep/c.txt"] {
        for scope in [Scope::Exclusive, Scope::Shared] {
            let r = lock(&s, path, scope, "0");
            assert_conflict(&r, "/a/");
        }
    }
    // A new (unmapped) member is covered too, and no file appears.
    let r = lock(&s, "/a/new.txt", Scope::Exclusive, "0");
    assert_conflict(&r, "/a/");
    assert!(!s.root().join("a/new.txt").exists());
    assert_eq!(tokens_of(&active_locks(&s, "/a/deep/c.txt")), vec![tok]);

    // Under a shared depth-infinity lock: exclusive refused, shared granted.
    assert_eq!(s.mkcol("/p/").status, 201);
    assert_eq!(put(&s, "/p/q.txt", "Q").status, 201);
    let ps = lock_ok(&s, "/p/", Scope::Shared, "infinity");
    assert_conflict(&lock(&s, "/p/q.txt", Scope::Exclusive, "0"), "/p/");
    let qs = lock_ok(&s, "/p/q.txt", Scope::Shared, "0");
    assert_eq!(
        tokens_of(&active_locks(&s, "/p/q.txt")),
        sorted(vec![ps, qs])
    );
}

// 1.1/6 and 1.1/7: a depth-infinity LOCK over a conflicting member lock fails
// as a whole (423 + no-conflicting-lock, or 207 with 423/424) and locks
// nothing.
#[test]
fn depth_infinity_lock_over_conflicting_member_lock_fails_whole_s7_4_s9_10_3_s9_10_9() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(put(&s, "/c/m.txt", "M").status, 201);
    assert_eq!(put(&s, "/c/n.txt", "N").status, 201);
    let m = lock_ok(&s, "/c/m.txt", Scope::Exclusive, "0");

    for scope in [Scope::Exclusive, Scope::Shared] {
        let r = lock(&s, "/c/", scope, "infinity");
        match r.status {
            423 => assert_conflict(&r, "/c/m.txt"),
            207 => {
                let st = statuses_207(&r);
                assert!(st.contains(&("/c/m.txt".into(), 423)), "{r:?}");
                assert!(
                    st.iter()
                        .any(|(h, code)| slashless(h) == "/c" && *code == 424),
                    "{r:?}"
                );
            }
            other => panic!("LOCK over a locked member: expected 423 or 207, got {other}: {r:?}"),
        }
        assert!(r.header("lock-token").is_none(), "{r:?}");
        // All or nothing: no lock on the collection or on any other member.
        assert!(active_locks(&s, "/c/").is_empty());
        assert!(active_locks(&s, "/c/n.txt").is_empty());
        assert_eq!(tokens_of(&active_locks(&s, "/c/m.txt")), vec![m.clone()]);
        assert_eq!(put(&s, "/c/n.txt", "N").status, 204);
    }

    // A depth-0 lock on the collection does not cover the member: granted.
    let d0 = lock_ok(&s, "/c/", Scope::Exclusive, "0");
    assert_eq!(tokens_of(&active_locks(&s, "/c/")), vec![d0]);

    // Shared member lock + shared depth-infinity lock: compatible.
    assert_eq!(s.mkcol("/sh/").status, 201);
    assert_eq!(put(&s, "/sh/m.txt", "M").status, 201);
    let member = lock_ok(&s, "/sh/m.txt", Scope::Shared, "0");
    let tree = lock_ok(&s, "/sh/", Scope::Shared, "infinity");
    assert_eq!(
        tokens_of(&active_locks(&s, "/sh/m.txt")),
        sorted(vec![member, tree])
    );
}

// 1.1/7: one token for the whole tree.
#[test]
fn depth_infinity_lock_is_one_lock_with_one_token_for_the_tree_s9_10_3() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/t/").status, 201);
    assert_eq!(s.mkcol("/t/u/").status, 201);
    assert_eq!(put(&s, "/t/a.txt", "A").status, 201);
    assert_eq!(put(&s, "/t/u/b.txt", "B").status, 201);
    let r = lock(&s, "/t/", Scope::Exclusive, "infinity");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.headers.iter().filter(|(k, _)| k == "lock-token").count(),
        1,
        "one Lock-Token header: {r:?}"
    );
    let tok = lock_token_header(&r);
    let in_body = locks_in_lock_response(&r);
    assert_eq!(in_body.len(), 1, "{}", r.body);
    assert_eq!(in_body[0].token(), tok);
    for path in ["/t/", "/t/u/", "/t/a.txt", "/t/u/b.txt"] {
        assert_eq!(
            tokens_of(&active_locks(&s, path)),
            vec![tok.clone()],
            "{path}"
        );
    }
}

// 1.1/8: members added later (PUT, MKCOL, MOVE in, COPY in) join the lock;
// a resource moved in keeps no lock of its own.
#[test]
fn depth_infinity_lock_covers_members_added_later_s6_1_s7_4() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    let tok = lock_ok(&s, "/c/", Scope::Exclusive, "infinity");

    // Adding without the token is refused and leaves nothing behind.
    assert_locked(&put(&s, "/c/new.txt", "N"), "/c/");
    assert_locked(&s.mkcol("/c/d/"), "/c/");
    assert!(!s.root().join("c/new.txt").exists());
    assert!(!s.root().join("c/d").exists());

    // With it, the new members are created, and they are locked.
    assert_eq!(put_with_token(&s, "/c/new.txt", "N", &tok).status, 201);
    assert_eq!(
        with_if(&s, "MKCOL", "/c/d/", &if_token(&tok), None).status,
        201
    );
    assert_eq!(put_with_token(&s, "/c/d/x.txt", "X", &tok).status, 201);
    assert_locked(&put(&s, "/c/new.txt", "x"), "/c/");
    assert_locked(&put(&s, "/c/d/x.txt", "x"), "/c/");
    for path in ["/c/new.txt", "/c/d/", "/c/d/x.txt"] {
        let locks = active_locks(&s, path);
        assert_eq!(tokens_of(&locks), vec![tok.clone()], "{path}");
        assert_eq!(locks[0].root(), "/c/");
    }

    // MOVE in: a resource with its own lock; that lock does not come along.
    assert_eq!(put(&s, "/out.txt", "O").status, 201);
    let x = lock_ok(&s, "/out.txt", Scope::Exclusive, "0");
    // Only the source's token: the destination's lock is missing.
    let r = copy_move_if(&s, "MOVE", "/out.txt", "/c/moved.txt", &if_token(&x));
    assert_locked(&r, "/c/");
    let r = copy_move_if(
        &s,
        "MOVE",
        "/out.txt",
        "/c/moved.txt",
        &tagged(&[("/out.txt", &x), ("/c/moved.txt", &tok)]),
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        tokens_of(&active_locks(&s, "/c/moved.txt")),
        vec![tok.clone()]
    );
    assert_locked(&put(&s, "/c/moved.txt", "x"), "/c/");
    assert_token_mismatch(&unlock(&s, "/c/moved.txt", &x), 409);

    // COPY in. The untagged list would apply to the source (§10.4.4), so the
    // destination's token goes in a tagged list.
    assert_eq!(put(&s, "/y.txt", "Y").status, 201);
    assert_locked(&s.copy_move("COPY", "/y.txt", "/c/y.txt", &[]), "/c/");
    let r = copy_move_if(
        &s,
        "COPY",
        "/y.txt",
        "/c/y.txt",
        &tagged(&[("/c/y.txt", &tok)]),
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(tokens_of(&active_locks(&s, "/c/y.txt")), vec![tok.clone()]);
    assert_locked(&put(&s, "/c/y.txt", "x"), "/c/");
    assert_eq!(file_text(&s, "c/y.txt"), "Y");
}

// 1.1/9: a resource moved out of a locked collection leaves the lock.
#[test]
fn resource_moved_out_of_locked_collection_leaves_the_lock_s7_4() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(s.mkcol("/out/").status, 201);
    assert_eq!(put(&s, "/c/f.txt", "F").status, 201);
    let tok = lock_ok(&s, "/c/", Scope::Exclusive, "infinity");
    assert_locked(&s.copy_move("MOVE", "/c/f.txt", "/out/f.txt", &[]), "/c/");
    let r = copy_move_if(&s, "MOVE", "/c/f.txt", "/out/f.txt", &if_token(&tok));
    assert_eq!(r.status, 201, "{r:?}");
    assert!(active_locks(&s, "/out/f.txt").is_empty());
    assert_eq!(put(&s, "/out/f.txt", "free").status, 204);
    assert_eq!(tokens_of(&active_locks(&s, "/c/")), vec![tok]);
}

// 1.1/10: unmapping a lock root (DELETE, MOVE of the source) deletes the lock.
#[test]
fn unmapping_a_lock_root_deletes_its_lock_s6_1_item8_s9_6() {
    let s = TestServer::start();
    // DELETE
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let tf = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    assert_locked(&s.delete("/f.txt"), "/f.txt");
    assert!(s.root().join("f.txt").exists());
    assert_eq!(
        with_if(&s, "DELETE", "/f.txt", &if_token(&tf), None).status,
        204
    );
    assert_eq!(
        put(&s, "/f.txt", "again").status,
        201,
        "the lock died with f.txt"
    );
    assert!(active_locks(&s, "/f.txt").is_empty());
    assert_token_mismatch(&unlock(&s, "/f.txt", &tf), 409);

    // MOVE of the source
    assert_eq!(put(&s, "/g.txt", "G").status, 201);
    let tg = lock_ok(&s, "/g.txt", Scope::Exclusive, "0");
    assert_eq!(
        copy_move_if(&s, "MOVE", "/g.txt", "/h.txt", &if_token(&tg)).status,
        201
    );
    assert!(active_locks(&s, "/h.txt").is_empty());
    assert_eq!(put(&s, "/h.txt", "H").status, 204);
    assert_eq!(put(&s, "/g.txt", "G").status, 201);
    assert_token_mismatch(&unlock(&s, "/h.txt", &tg), 409);

    // Locks rooted below a deleted collection go too.
    assert_eq!(s.mkcol("/m/").status, 201);
    assert_eq!(put(&s, "/m/x.txt", "X").status, 201);
    let tx = lock_ok(&s, "/m/x.txt", Scope::Exclusive, "0");
    let tm = lock_ok(&s, "/m/", Scope::Exclusive, "0");
    let r = with_if(
        &s,
        "DELETE",
        "/m/",
        &tagged(&[("/m/", &tm), ("/m/x.txt", &tx)]),
        None,
    );
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(s.mkcol("/m/").status, 201);
    assert_eq!(put(&s, "/m/x.txt", "X").status, 201);
    assert!(active_locks(&s, "/m/").is_empty());
    assert!(active_locks(&s, "/m/x.txt").is_empty());
}

// 1.1/11: a depth-0 lock on a collection protects its properties and member
// list, not the members' content.
#[test]
fn depth_zero_collection_lock_protects_member_list_not_member_content_s7_4() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/d/").status, 201);
    assert_eq!(put(&s, "/d/x.txt", "X").status, 201);
    assert_eq!(put(&s, "/y.txt", "Y").status, 201);
    let tok = lock_ok(&s, "/d/", Scope::Exclusive, "0");

    // Members' content and properties: not protected.
    assert_eq!(put(&s, "/d/x.txt", "X2").status, 204);
    proppatch_ok(&set_p(&s, "/d/x.txt"), "/d/x.txt");
    assert!(active_locks(&s, "/d/x.txt").is_empty());

    // Member list and the collection's own properties: protected.
    let before = snapshot(&s.root());
    assert_locked(&put(&s, "/d/new.txt", "N"), "/d/");
    assert_locked(&s.mkcol("/d/sub/"), "/d/");
    assert_locked(&s.delete("/d/x.txt"), "/d/");
    assert_locked(&s.copy_move("MOVE", "/d/x.txt", "/moved.txt", &[]), "/d/");
    assert_locked(&s.copy_move("MOVE", "/y.txt", "/d/y.txt", &[]), "/d/");
    assert_locked(&s.copy_move("COPY", "/y.txt", "/d/y.txt", &[]), "/d/");
    assert_locked(&set_p(&s, "/d/"), "/d/");
    assert_eq!(snapshot(&s.root()), before);

    // With the collection's token (tagged: the Request-URI is the member).
    let t = tagged(&[("/d/", &tok)]);
    assert_eq!(put_if(&s, "/d/new.txt", "N", &t).status, 201);
    assert_eq!(with_if(&s, "DELETE", "/d/new.txt", &t, None).status, 204);
    assert_eq!(with_if(&s, "MKCOL", "/d/sub/", &t, None).status, 201);
    // A member of a member is the member's business, not /d/'s.
    assert_eq!(put(&s, "/d/sub/deep.txt", "D").status, 201);
    assert_eq!(s.delete("/d/sub/deep.txt").status, 204);
    // LOCK of an existing member does not change the member list: allowed.
    // LOCK of an unmapped member creates one (§7.3): it needs /d/'s token.
    lock_ok(&s, "/d/x.txt", Scope::Exclusive, "0");
    assert_locked(&lock(&s, "/d/null.txt", Scope::Exclusive, "0"), "/d/");
    assert!(!s.root().join("d/null.txt").exists());
    let r = lock_request(
        &s,
        "/d/null.txt",
        Scope::Exclusive,
        Some("0"),
        &[("If", &t)],
    );
    assert_eq!(r.status, 201, "{r:?}");
    assert_set_p_with_if(&s, "/d/", &if_token(&tok));
}

// 1.1/12: write locks protect content and dead properties; lockdiscovery and
// supportedlock are protected live properties, not lockable ones.
#[test]
fn write_lock_protects_content_and_dead_properties_s7_1_s15_8_s15_10() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let tok = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    assert_locked(&put(&s, "/f.txt", "x"), "/f.txt");
    assert_locked(&set_p(&s, "/f.txt"), "/f.txt");
    assert_eq!(read_prop(&s, "/f.txt", NS, "p").0, 404);

    assert_set_p_with_if(&s, "/f.txt", &if_token(&tok));
    let (status, value) = read_prop(&s, "/f.txt", NS, "p");
    assert_eq!((status, value.text().as_str()), (200, "v"));

    for live in ["lockdiscovery", "supportedlock"] {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:{live}/></D:prop></D:set></D:propertyupdate>"#
        );
        let r = proppatch_if(&s, "/f.txt", &body, &if_token(&tok));
        assert_eq!(r.status, 207, "{r:?}");
        let ms = r.multistatus();
        let ps = ms.responses[0]
            .propstats
            .iter()
            .find(|ps| ps.props.iter().any(|p| p.is(DAV, live)))
            .unwrap_or_else(|| panic!("no propstat for {live}: {}", r.body));
        assert_eq!(ps.status, 403, "{}", r.body);
        assert!(
            ps.error
                .as_ref()
                .is_some_and(|e| e.child(DAV, "cannot-modify-protected-property").is_some()),
            "{live}: 403 with cannot-modify-protected-property: {}",
            r.body
        );
    }
    assert_eq!(tokens_of(&active_locks(&s, "/f.txt")), vec![tok]);
}

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

// ===========================================================================
// 1.4 LOCK: creating a lock

// 1.4/1: the body is a lockinfo with lockscope, locktype and optional owner.
#[test]
fn lock_body_is_a_lockinfo_with_scope_type_and_optional_owner_s14_11_s14_13_s14_15() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let bad = [
        r#"<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#,
        r#"<D:lockinfo xmlns:D="DAV:"><D:locktype><D:write/></D:locktype></D:lockinfo>"#,
        r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope></D:lockinfo>"#,
        r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:read/></D:locktype></D:lockinfo>"#,
        r#"<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>"#,
        r#"<lockinfo xmlns="urn:not-dav"><lockscope><exclusive/></lockscope><locktype><write/></locktype></lockinfo>"#,
    ];
    for body in bad {
        for path in ["/f.txt", "/unmapped.txt"] {
            let r = s.request("LOCK", path).xml(body).send();
            assert_eq!(r.status, 400, "{body}: {r:?}");
            assert!(r.header("lock-token").is_none());
        }
    }
    assert!(active_locks(&s, "/f.txt").is_empty());
    assert!(!s.root().join("unmapped.txt").exists());

    // Default namespace, shared, no owner: matched on namespace + name.
    let body = r#"<lockinfo xmlns="DAV:"><lockscope><shared/></lockscope><locktype><write/></locktype></lockinfo>"#;
    let r = s.request("LOCK", "/f.txt").xml(body).send();
    assert_eq!(r.status, 200, "{r:?}");
    let locks = locks_in_lock_response(&r);
    assert_eq!(
        (locks[0].scope.as_str(), locks[0].locktype.as_str()),
        ("shared", "write")
    );
    assert!(locks[0].owner.is_none(), "no owner sent, none reported");
}

// 1.4/2 and 1.4/9: Lock-Token header and a prop/lockdiscovery body; not
// cacheable.
#[test]
fn lock_answer_has_lock_token_header_and_lockdiscovery_body_s9_10_1_s10_5() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let r = lock_with_timeout(&s, "/f.txt", "0", "Second-600");
    assert_eq!(r.status, 200, "{r:?}");
    let raw = r.expect_header("lock-token");
    assert!(
        raw.starts_with("<urn:uuid:") && raw.ends_with('>'),
        "{raw:?}"
    );
    let tok = lock_token_header(&r);
    assert!(is_urn_uuid(&tok), "{tok}");
    assert!(
        r.header("content-type")
            .unwrap_or("")
            .starts_with("application/xml"),
        "{r:?}"
    );
    let locks = locks_in_lock_response(&r);
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].token(), tok);
    // §9.10: LOCK responses are not cacheable.
    let cc = r.header("cache-control").unwrap_or("").to_ascii_lowercase();
    assert!(
        cc.contains("no-store") || cc.contains("no-cache"),
        "Cache-Control: {cc:?}"
    );
}

// 1.4/3: 200 for an existing resource, 201 for an unmapped URL.
#[test]
fn lock_is_200_on_existing_resources_and_201_on_unmapped_urls_s9_10_6_s7_3() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    assert_eq!(s.mkcol("/c/").status, 201);
    // (/c/new.txt before /c/: a depth-0 lock on /c/ guards its member list,
    // §7.4.)
    for (path, want) in [
        ("/f.txt", 200),
        ("/new.txt", 201),
        ("/c/new.txt", 201),
        ("/c/", 200),
    ] {
        let r = lock(&s, path, Scope::Exclusive, "0");
        assert_eq!(r.status, want, "LOCK {path}: {r:?}");
        assert!(is_urn_uuid(&lock_token_header(&r)));
    }
}

// 1.4/4: Depth is 0 or infinity; none means infinity.
#[test]
fn lock_depth_is_zero_or_infinity_and_defaults_to_infinity_s9_10_3() {
    let s = TestServer::start();
    for c in ["/a/", "/b/", "/c/", "/d/"] {
        assert_eq!(s.mkcol(c).status, 201);
    }
    for (path, depth) in [("/a/", "1"), ("/a/", "2"), ("/a/", "zero")] {
        let r = lock(&s, path, Scope::Exclusive, depth);
        assert_eq!(r.status, 400, "Depth {depth}: {r:?}");
        assert!(active_locks(&s, path).is_empty());
    }
    let none = lock_request(&s, "/b/", Scope::Exclusive, None, &[]);
    assert_eq!(none.status, 200, "{none:?}");
    assert_eq!(locks_in_lock_response(&none)[0].depth, "infinity");
    assert_eq!(active_locks(&s, "/b/")[0].depth, "infinity");
    let zero = lock(&s, "/c/", Scope::Exclusive, "0");
    assert_eq!(locks_in_lock_response(&zero)[0].depth, "0");
    let inf = lock(&s, "/d/", Scope::Exclusive, "infinity");
    assert_eq!(locks_in_lock_response(&inf)[0].depth, "infinity");
}

// 1.4/5: 409 when intermediate collections are missing; none are created.
#[test]
fn lock_with_missing_intermediate_collection_is_409_and_creates_nothing_s9_10_6() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/file.txt", "F").status, 201);
    let before = snapshot(&s.root());
    for path in ["/nope/x.txt", "/nope/deeper/x.txt", "/file.txt/x.txt"] {
        let r = lock(&s, path, Scope::Exclusive, "0");
        assert_eq!(r.status, 409, "LOCK {path}: {r:?}");
        assert!(r.header("lock-token").is_none());
    }
    assert_eq!(snapshot(&s.root()), before);
}

// 1.4/6: owner is kept as the client sent it: namespaces, attributes,
// children, mixed content (§14.17, §4.3).
#[test]
fn lock_owner_xml_is_kept_exactly_s14_17_s4_3() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(put(&s, "/c/f.txt", "F").status, 201);
    let owner = concat!(
        r#"<D:href>mailto:ana@example.org</D:href>"#,
        r#"<x:note xmlns:x="urn:example:owner" x:kind="primary" plain="yes" xml:lang="pt">Olá <x:b>Ana</x:b> &amp; co &lt;3</x:note>"#,
        r#"<y xmlns="urn:example:default"><z attr="1"/>tail</y>"#,
        r#"<bare>no namespace</bare>"#
    );
    let body = lockinfo(Scope::Exclusive, Some(owner));
    let sent = parse_exact(&body);
    let sent_owner = sent.descendants(DAV, "owner");
    assert_eq!(sent_owner.len(), 1);

    let r = s
        .request("LOCK", "/c/")
        .header("Depth", "infinity")
        .xml(&body)
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    let got = parse_exact(&r.body);
    assert_eq!(
        got.descendants(DAV, "owner"),
        sent_owner,
        "LOCK answer: {}",
        r.body
    );

    for path in ["/c/", "/c/f.txt"] {
        let pf = s.propfind(path, "0", Some(&propfind_dav_props(&["lockdiscovery"])));
        assert_eq!(pf.status, 207);
        let got = parse_exact(&pf.body);
        assert_eq!(
            got.descendants(DAV, "owner"),
            sent_owner,
            "PROPFIND {path}: {}",
            pf.body
        );
    }
}

// 1.4/7: activelock holds lockscope, locktype, depth, owner, timeout,
// locktoken, lockroot.
#[test]
fn activelock_holds_scope_type_depth_owner_timeout_token_and_root_s14_1() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let r = lock_with_timeout(&s, "/f.txt", "0", "Second-600");
    let tok = lock_token_header(&r);
    for locks in [locks_in_lock_response(&r), active_locks(&s, "/f.txt")] {
        assert_eq!(locks.len(), 1);
        let l = &locks[0];
        assert_eq!(l.scope, "exclusive");
        assert_eq!(l.locktype, "write");
        assert_eq!(l.depth, "0");
        let owner = l.owner.as_ref().expect("owner");
        assert_eq!(
            owner.child(DAV, "href").map(|h| h.text()),
            Some("mailto:test@example.org".to_string())
        );
        let t = l.timeout_seconds();
        assert!((590..=600).contains(&t), "timeout {t}");
        assert_eq!(l.token(), tok);
        assert_eq!(l.root(), "/f.txt");
    }
}

// 1.4/8: lockroot is the URL the LOCK addressed (percent-encoded as sent).
#[test]
fn lockroot_is_the_url_of_the_lock_request_s14_12() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/dir%20one/").status, 201);
    assert_eq!(put(&s, "/dir%20one/caf%C3%A9.txt", "F").status, 201);
    assert_eq!(put(&s, "/na%C3%AFve.txt", "N").status, 201);
    let r = lock(&s, "/dir%20one/", Scope::Exclusive, "infinity");
    assert_eq!(locks_in_lock_response(&r)[0].root(), "/dir%20one/");
    assert_eq!(
        active_locks(&s, "/dir%20one/caf%C3%A9.txt")[0].root(),
        "/dir%20one/"
    );
    let r = lock(&s, "/na%C3%AFve.txt", Scope::Exclusive, "0");
    assert_eq!(locks_in_lock_response(&r)[0].root(), "/na%C3%AFve.txt");
    let r = lock(&s, "/new%20file.txt", Scope::Exclusive, "0");
    assert_eq!(r.status, 201);
    assert_eq!(locks_in_lock_response(&r)[0].root(), "/new%20file.txt");
    assert!(s.root().join("new file.txt").is_file());
}

// ===========================================================================
// 1.5 Locks on unmapped URLs

// 1.5/1 and 1.5/5: LOCK on an unmapped URL creates an empty, locked,
// non-collection resource and answers 201 (RFC 4918 model, not RFC 2518
// lock-null: Appendix D).
#[test]
fn lock_on_unmapped_url_creates_empty_locked_file_201_s7_3_s9_10_4_appendix_d() {
    let s = TestServer::start();
    let r = lock(&s, "/new.txt", Scope::Exclusive, "0");
    assert_eq!(r.status, 201, "{r:?}");
    let tok = lock_token_header(&r);
    let meta = std::fs::metadata(s.root().join("new.txt")).expect("file created");
    assert!(meta.is_file());
    assert_eq!(meta.len(), 0);
    assert_locked(&put(&s, "/new.txt", "x"), "/new.txt");
    assert_eq!(
        std::fs::metadata(s.root().join("new.txt")).unwrap().len(),
        0
    );
    assert_eq!(tokens_of(&active_locks(&s, "/new.txt")), vec![tok]);
}

// 1.5/2 and 1.5/3: the locked empty resource behaves as a normal resource.
#[test]
fn locked_empty_resource_behaves_as_a_normal_resource_s7_3_s9_10_4() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    let r = lock(&s, "/c/e.txt", Scope::Exclusive, "0");
    assert_eq!(r.status, 201);
    let tok = lock_token_header(&r);

    // Listed in its parent, as a non-collection of length 0.
    let pf = s.propfind("/c/", "1", None);
    let ms = pf.multistatus();
    let e = ms.response("/c/e.txt");
    assert!(
        e.ok_prop(DAV, "resourcetype")
            .child(DAV, "collection")
            .is_none()
    );
    assert_eq!(e.ok_prop(DAV, "getcontentlength").text(), "0");
    // GET: 200 with zero length, or 204.
    let g = s.get("/c/e.txt");
    assert!(g.status == 200 || g.status == 204, "{g:?}");
    assert!(g.bytes.is_empty());
    // lockdiscovery and supportedlock.
    let pf = s.propfind(
        "/c/e.txt",
        "0",
        Some(&propfind_dav_props(&["lockdiscovery", "supportedlock"])),
    );
    let ms = pf.multistatus();
    assert_eq!(
        ms.responses[0]
            .ok_prop(DAV, "supportedlock")
            .elements()
            .count(),
        2
    );
    assert_eq!(
        tokens_of(&parse_activelocks(
            ms.responses[0].ok_prop(DAV, "lockdiscovery")
        )),
        vec![tok.clone()]
    );
    // PROPPATCH, PUT, COPY, MOVE, DELETE.
    let t = if_token(&tok);
    assert_set_p_with_if(&s, "/c/e.txt", &t);
    assert_eq!(put_if(&s, "/c/e.txt", "content", &t).status, 204);
    assert_eq!(s.get("/c/e.txt").body, "content");
    assert_eq!(
        s.copy_move("COPY", "/c/e.txt", "/copy.txt", &[]).status,
        201
    );
    assert_eq!(file_text(&s, "copy.txt"), "content");
    assert_eq!(
        copy_move_if(&s, "MOVE", "/c/e.txt", "/c/moved.txt", &t).status,
        201
    );
    assert!(active_locks(&s, "/c/moved.txt").is_empty());
    assert_eq!(s.delete("/c/moved.txt").status, 204);

    // DELETE of a locked empty resource.
    let r = lock(&s, "/c/e2.txt", Scope::Exclusive, "0");
    let t2 = lock_token_header(&r);
    assert_locked(&s.delete("/c/e2.txt"), "/c/e2.txt");
    assert_eq!(
        with_if(&s, "DELETE", "/c/e2.txt", &if_token(&t2), None).status,
        204
    );
    assert!(!s.root().join("c/e2.txt").exists());
}

// 1.5/4: it stays after UNLOCK and cannot become a collection (MKCOL 405).
#[test]
fn locked_empty_resource_stays_after_unlock_and_mkcol_on_it_is_405_s7_3_s9_3_1() {
    let s = TestServer::start();
    let r = lock(&s, "/e.txt", Scope::Exclusive, "0");
    assert_eq!(r.status, 201);
    let tok = lock_token_header(&r);
    let m = with_if(&s, "MKCOL", "/e.txt", &if_token(&tok), None);
    assert_eq!(m.status, 405, "{m:?}");
    assert_eq!(unlock(&s, "/e.txt", &tok).status, 204);
    assert!(
        s.root().join("e.txt").is_file(),
        "must not vanish with the lock"
    );
    let g = s.get("/e.txt");
    assert!(g.status == 200 || g.status == 204, "{g:?}");
    assert_eq!(s.mkcol("/e.txt").status, 405);
    assert!(s.root().join("e.txt").is_file());
}

// ===========================================================================
// 1.6 Refresh

// 1.6/1, 1.6/3, 1.6/4: a body-less LOCK with If refreshes; it never creates a
// lock, ignores Depth, honours a new Timeout, sends no Lock-Token.
#[test]
fn refresh_restarts_the_timer_and_creates_no_lock_s9_10_2_s7_7() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let r = lock_with_timeout(&s, "/f.txt", "0", "Second-100");
    let tok = lock_token_header(&r);
    let rr = refresh(&s, "/f.txt", &tok, Some("Second-3000"));
    assert_eq!(rr.status, 200, "{rr:?}");
    assert!(
        rr.header("lock-token").is_none(),
        "no Lock-Token on refresh: {rr:?}"
    );
    let locks = locks_in_lock_response(&rr);
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0].token(), tok);
    assert_eq!(locks[0].depth, "0");
    let t = locks[0].timeout_seconds();
    assert!((2990..=3000).contains(&t), "refreshed timeout {t}");
    let now = active_locks(&s, "/f.txt");
    assert_eq!(
        tokens_of(&now),
        vec![tok.clone()],
        "refresh never adds a lock"
    );
    assert!(now[0].timeout_seconds() > 2900);

    // Depth is ignored on refresh (Depth: 1 would be 400 on a creation).
    let rr = s
        .request("LOCK", "/f.txt")
        .header("If", &if_token(&tok))
        .header("Depth", "1")
        .header("Timeout", "Second-200")
        .send();
    assert_eq!(rr.status, 200, "{rr:?}");
    assert_eq!(locks_in_lock_response(&rr)[0].depth, "0");
    assert!(locks_in_lock_response(&rr)[0].timeout_seconds() <= 200);

    // A body-less LOCK without If is not a refresh of anything.
    let bare = s.request("LOCK", "/f.txt").send();
    assert_eq!(bare.status, 400, "{bare:?}");
    assert_eq!(tokens_of(&active_locks(&s, "/f.txt")), vec![tok]);
}

// 1.6/3 and 1.8/4: a refresh without Timeout resets the timer, i.e. the
// lock's own timeout counts again from now (docs/locking.md I5 "refresh
// restarts the timer"); it does not swap in the server default, which would
// cut a long lock short or stretch a short one.
#[test]
fn refresh_without_timeout_restarts_the_locks_own_timeout_s9_10_2_s6_6() {
    let s = TestServer::start();
    for (path, timeout, lo, hi) in [
        ("/short.txt", "Second-100", 95, 100),
        ("/long.txt", "Second-86400", 86_000, 86_400),
    ] {
        let r = lock_with_timeout(&s, path, "0", timeout);
        assert_eq!(r.status, 201, "{r:?}");
        let tok = lock_token_header(&r);
        let rr = refresh(&s, path, &tok, None);
        assert_eq!(rr.status, 200, "{rr:?}");
        let t = locks_in_lock_response(&rr)[0].timeout_seconds();
        assert!(
            (lo..=hi).contains(&t),
            "{path} locked with {timeout}, refreshed without Timeout: now {t} s"
        );
    }
}

// 1.6/2: refresh works from any URL inside the lock's scope.
#[test]
fn refresh_works_from_any_url_in_the_lock_scope_s9_10_2() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(s.mkcol("/c/sub/").status, 201);
    assert_eq!(put(&s, "/c/sub/f.txt", "F").status, 201);
    let r = lock_with_timeout(&s, "/c/", "infinity", "Second-100");
    let tok = lock_token_header(&r);
    let rr = refresh(&s, "/c/sub/f.txt", &tok, Some("Second-1000"));
    assert_eq!(rr.status, 200, "{rr:?}");
    let l = &locks_in_lock_response(&rr)[0];
    assert_eq!(l.root(), "/c/");
    assert_eq!(l.depth, "infinity");
    assert!(l.timeout_seconds() > 990);
    assert!(active_locks(&s, "/c/")[0].timeout_seconds() > 990);
}

// 1.6/1 with 1.10/3: a refresh is a LOCK like any other: when its If
// header is false (the token is right but an ETag in the same list is not,
// or the token is negated), it is 412 and the lock is not refreshed
// (§10.4.1, §12.1, §9.10.2).
#[test]
fn refresh_with_a_false_if_header_is_412_and_refreshes_nothing_s10_4_1_s9_10_2() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let r = lock_with_timeout(&s, "/f.txt", "0", "Second-100");
    let tok = lock_token_header(&r);
    for h in [
        format!("(<{tok}> [\"not-the-etag\"])"),
        format!("(Not <{tok}>)"),
    ] {
        let rr = refresh_if(&s, "/f.txt", &h, Some("Second-5000"));
        assert_eq!(rr.status, 412, "refresh with false If {h}: {rr:?}");
        let t = active_locks(&s, "/f.txt")[0].timeout_seconds();
        assert!(
            t <= 100,
            "If {h}: the lock was refreshed to {t} s by a false If"
        );
    }
    // The same ETag condition, true: refreshed.
    let e = etag(&s, "/f.txt");
    let with_etag = format!("(<{tok}> [{e}])");
    let rr = refresh_if(&s, "/f.txt", &with_etag, Some("Second-5000"));
    assert_eq!(rr.status, 200, "{rr:?}");
    assert!(active_locks(&s, "/f.txt")[0].timeout_seconds() > 4900);
}

// 1.6/1 with 1.10/4: DAV:no-lock is a state token but names no lock, so a
// refresh whose If is `(<tok>) (Not <DAV:no-lock>)` still names exactly one
// lock token and refreshes it (§9.10.2 "a single lock token", §10.4.8).
#[test]
fn refresh_if_header_may_carry_dav_no_lock_besides_its_token_s9_10_2_s10_4_8() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let r = lock_with_timeout(&s, "/f.txt", "0", "Second-100");
    let tok = lock_token_header(&r);
    let with_no_lock = format!("(<{tok}>) (Not <DAV:no-lock>)");
    let rr = refresh_if(&s, "/f.txt", &with_no_lock, Some("Second-700"));
    assert_eq!(rr.status, 200, "{rr:?}");
    assert!(active_locks(&s, "/f.txt")[0].timeout_seconds() > 600);
}

// 1.10/3 on LOCK creation: a false If gives 412 and no lock, no file.
#[test]
fn lock_creation_with_a_false_if_header_is_412_s10_4_1() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    for path in ["/f.txt", "/new.txt"] {
        let r = lock_request(
            &s,
            path,
            Scope::Exclusive,
            Some("0"),
            &[("If", "(<urn:uuid:00000000-0000-0000-0000-0000000000cc>)")],
        );
        assert_eq!(r.status, 412, "{path}: {r:?}");
        assert!(r.header("lock-token").is_none());
        assert!(active_locks(&s, "/f.txt").is_empty());
    }
    assert!(!s.root().join("new.txt").exists());
}

// 1.6/5 and 1.8/4: a token out of scope gives 412 + lock-token-matches-
// request-uri, and a failed refresh changes nothing.
#[test]
fn refresh_out_of_scope_is_412_and_changes_nothing_s9_10_6_s6_6() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    assert_eq!(put(&s, "/other.txt", "O").status, 201);
    let r = lock_with_timeout(&s, "/f.txt", "0", "Second-100");
    let tok = lock_token_header(&r);
    let rr = refresh(&s, "/other.txt", &tok, Some("Second-5000"));
    assert_token_mismatch(&rr, 412);
    assert!(
        active_locks(&s, "/f.txt")[0].timeout_seconds() <= 100,
        "timer untouched"
    );
    assert!(active_locks(&s, "/other.txt").is_empty());
    // Unknown token, and an unmapped URL: 412, and nothing is created.
    let unknown = "urn:uuid:11111111-2222-3333-4444-555555555555";
    assert_token_mismatch(&refresh(&s, "/other.txt", unknown, None), 412);
    assert_token_mismatch(&refresh(&s, "/ghost.txt", &tok, None), 412);
    assert!(!s.root().join("ghost.txt").exists());
    assert!(active_locks(&s, "/other.txt").is_empty());
}

// ===========================================================================
// 1.7 UNLOCK

// 1.7/1: the token comes in Lock-Token, not in If.
#[test]
fn unlock_takes_its_token_from_the_lock_token_header_s9_11_s10_5() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let tok = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    let r = s
        .request("UNLOCK", "/f.txt")
        .header("If", &if_token(&tok))
        .send();
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(tokens_of(&active_locks(&s, "/f.txt")), vec![tok.clone()]);
    assert_eq!(unlock(&s, "/f.txt", &tok).status, 204);
    assert!(active_locks(&s, "/f.txt").is_empty());
    assert_eq!(put(&s, "/f.txt", "free").status, 204);
}

// 1.7/2: UNLOCK from any URL in scope removes the whole lock.
#[test]
fn unlock_from_any_url_in_scope_removes_the_whole_lock_s9_11() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(s.mkcol("/c/sub/").status, 201);
    assert_eq!(put(&s, "/c/sub/f.txt", "F").status, 201);
    assert_eq!(put(&s, "/c/g.txt", "G").status, 201);
    let tok = lock_ok(&s, "/c/", Scope::Exclusive, "infinity");
    let r = unlock(&s, "/c/sub/f.txt", &tok);
    assert_eq!(r.status, 204, "{r:?}");
    for path in ["/c/", "/c/sub/", "/c/sub/f.txt", "/c/g.txt"] {
        assert!(active_locks(&s, path).is_empty(), "{path}");
    }
    assert_eq!(put(&s, "/c/g.txt", "free").status, 204);
    assert_eq!(put(&s, "/c/new.txt", "free").status, 201);
}

// 1.7/3: 204; 400 without a token; 409 + lock-token-matches-request-uri for
// a token of another resource, an unknown token, or a URL out of scope.
// (403 for another principal's lock needs users: see 1.3.)
#[test]
fn unlock_status_codes_s9_11_1_s16() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    assert_eq!(put(&s, "/g.txt", "G").status, 201);
    let tf = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    let tg = lock_ok(&s, "/g.txt", Scope::Exclusive, "0");
    assert_eq!(s.request("UNLOCK", "/f.txt").send().status, 400);
    assert_eq!(
        s.request("UNLOCK", "/f.txt")
            .header("Lock-Token", "<>")
            .send()
            .status,
        400
    );
    assert_token_mismatch(&unlock(&s, "/f.txt", &tg), 409);
    assert_token_mismatch(
        &unlock(
            &s,
            "/f.txt",
            "urn:uuid:99999999-9999-9999-9999-999999999999",
        ),
        409,
    );
    assert_token_mismatch(&unlock(&s, "/nothing.txt", &tf), 409);
    assert_eq!(tokens_of(&active_locks(&s, "/f.txt")), vec![tf.clone()]);
    assert_eq!(tokens_of(&active_locks(&s, "/g.txt")), vec![tg]);
    assert_eq!(unlock(&s, "/f.txt", &tf).status, 204);
    // Already gone: 409.
    assert_token_mismatch(&unlock(&s, "/f.txt", &tf), 409);
}

// 1.7/4: UNLOCK removes only that lock.
#[test]
fn unlock_removes_only_the_named_lock_s9_11() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let a = lock_ok(&s, "/f.txt", Scope::Shared, "0");
    let b = lock_ok(&s, "/f.txt", Scope::Shared, "0");
    assert_eq!(unlock(&s, "/f.txt", &a).status, 204);
    assert_eq!(tokens_of(&active_locks(&s, "/f.txt")), vec![b.clone()]);
    assert_locked(&put(&s, "/f.txt", "x"), "/f.txt");
    assert_locked(
        &put_if(&s, "/f.txt", "x", &format!("(<{a}>) (Not <DAV:no-lock>)")),
        "/f.txt",
    );
    assert_eq!(put_with_token(&s, "/f.txt", "x", &b).status, 204);
}

// ===========================================================================
// 1.8 Timeouts

// 1.8/1 and 1.8/2: Second-N and Infinite, in the client's order, N capped
// at 2^32-1 and at the server's maximum; no Timeout gives the default.
// Timeout means nothing outside LOCK.
#[test]
fn timeout_header_values_and_order_of_preference_s10_7() {
    let s = TestServer::start();
    let cases: [(Option<&str>, u64, u64); 7] = [
        (Some("Second-300"), 295, 300),
        (Some("Second-60, Infinite"), 55, 60),
        (Some("Infinite, Second-60"), 604_700, 604_800),
        (Some("Fortnight, Second-77"), 72, 77),
        (Some("Second-4294967295"), 604_700, 604_800),
        (Some("Second-99999999999999"), 604_700, 604_800),
        (None, 3590, 3600),
    ];
    for (i, (timeout, lo, hi)) in cases.into_iter().enumerate() {
        let path = format!("/t{i}.txt");
        let headers: Vec<(&str, &str)> = timeout.map(|t| vec![("Timeout", t)]).unwrap_or_default();
        let r = lock_request(&s, &path, Scope::Exclusive, Some("0"), &headers);
        assert_eq!(r.status, 201, "{timeout:?}: {r:?}");
        let t = locks_in_lock_response(&r)[0].timeout_seconds();
        assert!(
            (lo..=hi).contains(&t),
            "Timeout {timeout:?}: granted {t}, want {lo}..={hi}"
        );
        let t = active_locks(&s, &path)[0].timeout_seconds();
        assert!((lo..=hi).contains(&t), "Timeout {timeout:?}: reported {t}");
    }
    let r = s
        .request("PUT", "/plain.txt")
        .header("Connection", "close")
        .header("Timeout", "Second-5")
        .body("x")
        .send();
    assert_eq!(r.status, 201, "{r:?}");
    assert!(active_locks(&s, "/plain.txt").is_empty());
}

// 1.8/2 (I7): --lock-timeout-default and --lock-timeout-max; Infinite and
// long requests are capped at the maximum.
#[test]
fn infinite_and_long_timeouts_are_capped_at_lock_timeout_max_s6_6_s10_7() {
    // The default must not exceed the maximum (the server refuses that).
    let s = TestServer::start_with(&["--lock-timeout-max", "120", "--lock-timeout-default", "60"]);
    let cases: [(Option<&str>, u64, u64); 5] = [
        (Some("Infinite"), 101, 120),
        (Some("Second-1000"), 101, 120),
        (Some("Second-4294967295"), 101, 120),
        (Some("Second-30"), 25, 30),
        (None, 51, 60),
    ];
    for (i, (timeout, lo, hi)) in cases.into_iter().enumerate() {
        let path = format!("/t{i}.txt");
        let headers: Vec<(&str, &str)> = timeout.map(|t| vec![("Timeout", t)]).unwrap_or_default();
        let r = lock_request(&s, &path, Scope::Exclusive, Some("0"), &headers);
        assert_eq!(r.status, 201, "{r:?}");
        let t = locks_in_lock_response(&r)[0].timeout_seconds();
        assert!(
            (lo..=hi).contains(&t),
            "Timeout {timeout:?}: granted {t}, want {lo}..={hi}"
        );
    }
    // Refresh is capped too.
    let tok = lock_ok(&s, "/r.txt", Scope::Exclusive, "0");
    let rr = refresh(&s, "/r.txt", &tok, Some("Infinite"));
    assert_eq!(rr.status, 200);
    let t = locks_in_lock_response(&rr)[0].timeout_seconds();
    assert!((101..=120).contains(&t), "refresh Infinite: {t}");
}

// 1.8/3: activelock/timeout reports the seconds remaining.
#[test]
fn activelock_timeout_counts_down_the_seconds_remaining_s15_8_s14_29() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let r = lock_with_timeout(&s, "/f.txt", "0", "Second-100");
    assert_eq!(locks_in_lock_response(&r)[0].timeout_seconds(), 100);
    let seen = poll(Duration::from_secs(5), Duration::from_millis(100), || {
        let t = active_locks(&s, "/f.txt")[0].timeout_seconds();
        assert!(t <= 100, "remaining time never grows: {t}");
        (t < 100).then_some(t)
    });
    let t = seen.expect("the reported timeout must drop below the granted 100 s within 5 s");
    assert!(t >= 90, "{t}");
}

// 1.8/4: only a successful refresh restarts the timer.
#[test]
fn only_a_successful_refresh_restarts_the_timer_s6_6() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let r = lock_with_timeout(&s, "/f.txt", "0", "Second-100");
    let tok = lock_token_header(&r);
    // Failed refreshes: wrong URL, wrong token.
    assert_eq!(
        refresh(&s, "/nope.txt", &tok, Some("Second-5000")).status,
        412
    );
    assert_eq!(
        refresh(
            &s,
            "/f.txt",
            "urn:uuid:00000000-0000-0000-0000-000000000001",
            Some("Second-5000")
        )
        .status,
        412
    );
    // Writes with the token do not refresh either.
    assert_eq!(put_with_token(&s, "/f.txt", "x", &tok).status, 204);
    assert!(active_locks(&s, "/f.txt")[0].timeout_seconds() <= 100);
    assert_eq!(refresh(&s, "/f.txt", &tok, Some("Second-5000")).status, 200);
    assert!(active_locks(&s, "/f.txt")[0].timeout_seconds() > 4900);
}

// 1.8/5 (I4): an expired lock stops counting the moment it expires, is no
// longer reported, and its token is dead. Lock timeouts are capped at 1 s;
// bounded polling, no long sleeps.
#[test]
fn expired_lock_stops_counting_and_disappears_s6_6() {
    let s = TestServer::start_with(&["--lock-timeout-max", "1", "--lock-timeout-default", "1"]);
    assert_eq!(put(&s, "/f.txt", "old").status, 201);
    let sent = Instant::now();
    let r = lock_with_timeout(&s, "/f.txt", "0", "Second-3600");
    let answered = Instant::now();
    assert_eq!(r.status, 200, "{r:?}");
    let tok = lock_token_header(&r);
    assert_eq!(locks_in_lock_response(&r)[0].timeout_seconds(), 1);

    let one = Duration::from_secs(1);
    let succeeded = poll(Duration::from_secs(5), Duration::from_millis(100), || {
        let put_sent = Instant::now();
        let r = put(&s, "/f.txt", "new");
        let done = Instant::now();
        match r.status {
            204 => {
                // The lock was created after `sent`; it cannot have expired
                // before `sent + 1 s` (1 ms of clock rounding allowed).
                assert!(
                    done + Duration::from_millis(5) >= sent + one,
                    "PUT succeeded {:?} after the LOCK was sent: lock ignored before it expired",
                    done - sent
                );
                Some(())
            }
            423 => {
                // The lock was created before `answered`; after
                // `answered + 1 s` it must no longer count.
                assert!(
                    put_sent < answered + one + Duration::from_millis(100),
                    "lock still enforced {:?} after the LOCK answer (granted 1 s): {r:?}",
                    put_sent - answered
                );
                None
            }
            other => panic!("PUT while the lock expires: unexpected {other}: {r:?}"),
        }
    });
    assert!(
        succeeded.is_some(),
        "the 1 s lock still blocked PUT after 5 s"
    );
    assert_eq!(s.get("/f.txt").body, "new");
    assert!(
        active_locks(&s, "/f.txt").is_empty(),
        "expired locks are not reported"
    );
    assert_token_mismatch(&unlock(&s, "/f.txt", &tok), 409);
    assert_token_mismatch(&refresh(&s, "/f.txt", &tok, None), 412);
    // A new exclusive lock is granted: the old one no longer conflicts.
    let r = lock(&s, "/f.txt", Scope::Exclusive, "0");
    assert_eq!(r.status, 200, "{r:?}");
}

// ===========================================================================
// 1.9 Tokens

// 1.9/1: one urn:uuid token per lock, never reused.
#[test]
fn lock_tokens_are_unique_urn_uuids_s6_5() {
    let s = TestServer::start();
    let mut tokens = Vec::new();
    for i in 0..20 {
        let path = format!("/f{i}.txt");
        tokens.push(lock_ok(&s, &path, Scope::Exclusive, "0"));
    }
    for _ in 0..5 {
        let tok = lock_ok(&s, "/again.txt", Scope::Exclusive, "0");
        assert_eq!(unlock(&s, "/again.txt", &tok).status, 204);
        tokens.push(tok);
    }
    assert!(tokens.iter().all(|t| is_urn_uuid(t)), "{tokens:?}");
    let mut unique = tokens.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), tokens.len(), "a token was reused: {tokens:?}");
}

// 1.9/2: tokens are exposed in lockdiscovery, so an orphaned lock can be
// removed by whoever reads it there.
#[test]
fn lock_tokens_are_exposed_in_lockdiscovery_and_usable_s6_5_s15_8() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let tok = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    let seen = active_locks(&s, "/f.txt")[0].token().to_string();
    assert_eq!(seen, tok);
    assert_eq!(unlock(&s, "/f.txt", &seen).status, 204);
    assert!(active_locks(&s, "/f.txt").is_empty());
}

// 1.9/3: Lock-Token without angle brackets (Windows, MS-WDV §4.5).
#[test]
fn unlock_accepts_a_lock_token_without_angle_brackets_ms_wdv_s10_5() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let tok = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    let r = s
        .request("UNLOCK", "/f.txt")
        .header("Lock-Token", &tok)
        .send();
    assert_eq!(r.status, 204, "{r:?}");
    assert!(active_locks(&s, "/f.txt").is_empty());
}

// ===========================================================================
// 1.10 The If header

// 1.10/1: grammar: tagged and untagged lists, Not, Coded-URLs, [etags];
// malformed headers are 400.
#[test]
fn if_header_grammar_tagged_and_untagged_lists_s10_4_2() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let tok = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    let url = s.url("/f.txt");
    let bad = [
        format!("(<{tok}>"),
        format!("<{url}>"),
        format!("(<{tok}>) <{url}> (<{tok}>)"),
        format!("<{url}> (<{tok}>) (<{tok}>) (["),
        "()".to_string(),
        "(Not)".to_string(),
        "([not-quoted])".to_string(),
        format!("<{tok}>"),
        "garbage".to_string(),
    ];
    for h in &bad {
        let r = put_if(&s, "/f.txt", "x", h);
        assert_eq!(r.status, 400, "If: {h}: {r:?}");
    }
    assert_eq!(file_text(&s, "f.txt"), "F");
    // `{E}` stands for the current ETag (each PUT changes it).
    let good = [
        format!("(<{tok}>)"),
        format!("<{url}> (<{tok}>)"),
        format!("</f.txt> (<{tok}>)"),
        format!("<{url}> ([\"nope\"]) (<{tok}> [{{E}}])"),
        format!("(Not [\"nope\"] <{tok}>)"),
        format!("  ( <{tok}> )  "),
        format!("(<{tok}>)\t(Not <DAV:no-lock> [{{E}}])"),
    ];
    for h in &good {
        let h = h.replace("{E}", &etag(&s, "/f.txt"));
        let r = put_if(&s, "/f.txt", "F", &h);
        assert_eq!(r.status, 204, "If: {h}: {r:?}");
    }
}

// 1.10/2: conditions in a list are ANDed, lists are ORed.
#[test]
fn if_lists_are_ored_and_conditions_anded_s10_4_3() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let tok = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    let e = etag(&s, "/f.txt");
    assert_eq!(
        put_if(&s, "/f.txt", "x", &format!("(<{tok}> [\"nope\"])")).status,
        412
    );
    assert_eq!(file_text(&s, "f.txt"), "F");
    assert_eq!(
        put_if(&s, "/f.txt", "x", &format!("(<{tok}> [{e}])")).status,
        204
    );
    let e = etag(&s, "/f.txt");
    assert_eq!(
        put_if(&s, "/f.txt", "y", &format!("([\"nope\"]) (<{tok}> [{e}])")).status,
        204
    );
    assert_eq!(
        put_if(&s, "/f.txt", "z", "([\"nope\"]) (<urn:uuid:0-0-0-0-0>)").status,
        412
    );
    assert_eq!(file_text(&s, "f.txt"), "y");
}

// 1.10/3: a false If gives 412, also on a locked resource and on reads; a
// request without conditionals is never 412.
#[test]
fn false_if_header_is_412_before_any_lock_check_s10_4_1_s12_1() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/free.txt", "F").status, 201);
    assert_eq!(put(&s, "/locked.txt", "L").status, 201);
    lock_ok(&s, "/locked.txt", Scope::Exclusive, "0");
    let wrong = "(<urn:uuid:00000000-0000-0000-0000-00000000dead>)";
    assert_eq!(put_if(&s, "/free.txt", "x", wrong).status, 412);
    assert_eq!(put_if(&s, "/locked.txt", "x", wrong).status, 412);
    assert_eq!(
        with_if(&s, "DELETE", "/locked.txt", wrong, None).status,
        412
    );
    assert_eq!(with_if(&s, "GET", "/free.txt", wrong, None).status, 412);
    assert_eq!(
        with_if(&s, "PROPFIND", "/free.txt", wrong, None).status,
        412
    );
    assert_eq!(file_text(&s, "free.txt"), "F");
    assert_eq!(file_text(&s, "locked.txt"), "L");
    assert_eq!(put(&s, "/free.txt", "x").status, 204);
}

// 1.10/4: every token in the header is submitted whatever the evaluation;
// `(Not <DAV:no-lock>)` makes the header true.
#[test]
fn every_token_in_the_if_header_is_submitted_whatever_it_evaluates_to_s10_4_1_s10_4_8() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let tok = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    // The header is true, but no valid token was submitted.
    assert_locked(&put_if(&s, "/f.txt", "x", "(Not <DAV:no-lock>)"), "/f.txt");
    assert_locked(
        &put_if(
            &s,
            "/f.txt",
            "x",
            "(<urn:uuid:00000000-0000-0000-0000-0000000000aa>) (Not <DAV:no-lock>)",
        ),
        "/f.txt",
    );
    // The list naming the token is false, the header is true: token counts.
    let r = put_if(
        &s,
        "/f.txt",
        "x",
        &format!("(<{tok}> [\"nope\"]) (Not <DAV:no-lock>)"),
    );
    assert_eq!(r.status, 204, "{r:?}");
    // DAV:no-lock alone is never matched.
    assert_eq!(put_if(&s, "/f.txt", "y", "(<DAV:no-lock>)").status, 412);
    // A token submitted in a tagged list about another resource still counts.
    assert_eq!(put(&s, "/g.txt", "G").status, 201);
    let r = put_if(&s, "/f.txt", "z", &format!("</g.txt> (Not <{tok}>)"));
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(file_text(&s, "f.txt"), "z");
}

// 1.10/5: untagged lists apply to the Request-URI, tagged lists to the named
// resource (absolute URI or absolute path).
#[test]
fn tagged_lists_apply_to_the_named_resource_untagged_to_the_request_uri_s10_4_4_s10_4_10() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/d/").status, 201);
    assert_eq!(put(&s, "/d/a.txt", "A").status, 201);
    assert_eq!(put(&s, "/d/b.txt", "B").status, 201);
    let tok = lock_ok(&s, "/d/", Scope::Exclusive, "0");
    // Untagged: the Request-URI /d/a.txt is not locked by tok, so false.
    assert_eq!(
        with_if(&s, "DELETE", "/d/a.txt", &if_token(&tok), None).status,
        412
    );
    // Tagged, absolute URI and absolute path.
    let abs = format!("<{}> (<{tok}>)", s.url("/d/"));
    assert_eq!(with_if(&s, "DELETE", "/d/a.txt", &abs, None).status, 204);
    assert_eq!(
        with_if(&s, "DELETE", "/d/b.txt", &format!("</d/> (<{tok}>)"), None).status,
        204
    );
    // A tag naming another server never matches.
    assert_eq!(put(&s, "/d2.txt", "x").status, 201);
    let elsewhere = format!("<http://elsewhere.example/d/> (<{tok}>)");
    assert_eq!(put_if(&s, "/d2.txt", "y", &elsewhere).status, 412);
}

// 1.10/6: a lock token matches anywhere in its lock's scope.
#[test]
fn lock_token_matches_any_resource_in_its_scope_s10_4_4() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(s.mkcol("/c/sub/").status, 201);
    assert_eq!(put(&s, "/c/sub/f.txt", "F").status, 201);
    let tok = lock_ok(&s, "/c/", Scope::Exclusive, "infinity");
    assert_eq!(put_with_token(&s, "/c/sub/f.txt", "x", &tok).status, 204);
    assert_eq!(
        put_if(
            &s,
            "/c/sub/f.txt",
            "y",
            &format!("</c/sub/f.txt> (<{tok}>)")
        )
        .status,
        204
    );
    // An unmapped URL in scope: the token matches too.
    assert_eq!(put_with_token(&s, "/c/sub/new.txt", "n", &tok).status, 201);
    // Out of scope: no match.
    assert_eq!(put(&s, "/out.txt", "o").status, 201);
    assert_eq!(put_with_token(&s, "/out.txt", "x", &tok).status, 412);
}

// 1.10/7: [etag] with weak or strong comparison; on an unmapped URL [etag]
// and state tokens are false, their Not true.
#[test]
fn if_header_etags_and_unmapped_urls_s10_4_4_s10_4_11() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let e = etag(&s, "/f.txt");
    assert!(e.starts_with('"'), "strong ETag expected: {e}");
    assert_eq!(put_if(&s, "/f.txt", "1", &format!("([{e}])")).status, 204);
    let e1 = etag(&s, "/f.txt");
    assert_ne!(e, e1);
    assert_eq!(
        put_if(&s, "/f.txt", "2", &format!("([{e}])")).status,
        412,
        "stale etag"
    );
    assert_eq!(
        put_if(&s, "/f.txt", "2", &format!("(Not [{e}])")).status,
        204
    );
    let e2 = etag(&s, "/f.txt");
    // deadbolt compares weakly (allowed by §10.4.4).
    assert_eq!(
        put_if(&s, "/f.txt", "3", &format!("([W/{e2}])")).status,
        204
    );
    assert_eq!(file_text(&s, "f.txt"), "3");

    assert_eq!(put_if(&s, "/u1.txt", "x", &format!("([{e2}])")).status, 412);
    assert_eq!(
        put_if(&s, "/u1.txt", "x", &format!("(Not [{e2}])")).status,
        201
    );
    let tok = "urn:uuid:00000000-0000-0000-0000-0000000000bb";
    assert_eq!(
        put_if(&s, "/u2.txt", "x", &format!("(<{tok}>)")).status,
        412
    );
    assert_eq!(
        put_if(&s, "/u2.txt", "x", &format!("(Not <{tok}>)")).status,
        201
    );
}

// 1.10/8: the multi-list examples of §10.4.6 and §10.4.7.
#[test]
fn if_header_rfc_examples_s10_4_6_s10_4_7() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    assert_eq!(put(&s, "/g.txt", "G").status, 201);
    let t2 = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    let t1 = lock_ok(&s, "/g.txt", Scope::Exclusive, "0");
    // §10.4.6: (<tok> ["etag1"]) (["etag2"]) with etag2 current.
    let e = etag(&s, "/f.txt");
    let h = format!("(<{t2}> [\"etag1\"]) ([{e}])");
    assert_eq!(put_if(&s, "/f.txt", "a", &h).status, 204);
    // §10.4.7: (Not <tok1> <tok2>): not locked by tok1, locked by tok2.
    assert_eq!(
        put_if(&s, "/f.txt", "b", &format!("(Not <{t1}> <{t2}>)")).status,
        204
    );
    assert_eq!(
        put_if(&s, "/f.txt", "c", &format!("(Not <{t2}> <{t1}>)")).status,
        412
    );
    assert_eq!(file_text(&s, "f.txt"), "b");
}

// 1.10/9: If works together with If-Match / If-None-Match; ETags are stable
// while content does not change (LOCK, refresh, UNLOCK, PROPPATCH).
#[test]
fn if_header_with_http_conditionals_and_stable_etags_s8_6() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let e0 = etag(&s, "/f.txt");
    let tok = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    assert_eq!(etag(&s, "/f.txt"), e0, "LOCK does not change the ETag");
    assert_eq!(refresh(&s, "/f.txt", &tok, None).status, 200);
    assert_set_p_with_if(&s, "/f.txt", &if_token(&tok));
    assert_eq!(
        etag(&s, "/f.txt"),
        e0,
        "refresh and PROPPATCH keep the ETag"
    );

    let put = |if_match: (&str, &str)| {
        s.request("PUT", "/f.txt")
            .header("If", &if_token(&tok))
            .header("Connection", "close")
            .header(if_match.0, if_match.1)
            .body("new")
            .send()
    };
    assert_eq!(put(("If-Match", "\"wrong\"")).status, 412);
    assert_eq!(put(("If-None-Match", "*")).status, 412);
    assert_eq!(put(("If-None-Match", e0.as_str())).status, 412);
    assert_eq!(file_text(&s, "f.txt"), "F");
    assert_eq!(put(("If-Match", e0.as_str())).status, 204);
    let e1 = etag(&s, "/f.txt");
    assert_ne!(e1, e0);
    assert_eq!(unlock(&s, "/f.txt", &tok).status, 204);
    assert_eq!(etag(&s, "/f.txt"), e1, "UNLOCK does not change the ETag");
}

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

// ===========================================================================
// 1.12 Properties and compliance

// 1.12/1: supportedlock and lockdiscovery on every resource, protected;
// without locks lockdiscovery is present and empty.
#[test]
fn supportedlock_and_empty_lockdiscovery_on_every_resource_s6_7_s6_8_s15_8_s15_10() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(put(&s, "/c/f.txt", "F").status, 201);
    let r = s.propfind(
        "/",
        "1",
        Some(&propfind_dav_props(&["supportedlock", "lockdiscovery"])),
    );
    let r2 = s.propfind(
        "/c/",
        "1",
        Some(&propfind_dav_props(&["supportedlock", "lockdiscovery"])),
    );
    let mut seen = Vec::new();
    for resp in [r, r2] {
        for res in resp.multistatus().responses {
            let sl = res.ok_prop(DAV, "supportedlock");
            let mut entries: Vec<(String, String)> = sl
                .elements()
                .map(|le| {
                    assert!(le.is(DAV, "lockentry"), "{le:?}");
                    let scope = le.child(DAV, "lockscope").expect("lockscope");
                    let kind = le.child(DAV, "locktype").expect("locktype");
                    let name = |e: &support::Element| {
                        let kids: Vec<_> = e.elements().collect();
                        assert_eq!(kids.len(), 1);
                        assert_eq!(kids[0].ns, DAV);
                        kids[0].name.clone()
                    };
                    (name(scope), name(kind))
                })
                .collect();
            entries.sort();
            assert_eq!(
                entries,
                vec![
                    ("exclusive".to_string(), "write".to_string()),
                    ("shared".to_string(), "write".to_string())
                ],
                "{}",
                res.href
            );
            let ld = res.ok_prop(DAV, "lockdiscovery");
            assert_eq!(
                ld.elements().count(),
                0,
                "no activelock without locks: {}",
                res.href
            );
            seen.push(res.href.clone());
        }
    }
    assert!(seen.len() >= 4, "{seen:?}");
    // allprop includes both.
    let all = s
        .propfind("/c/f.txt", "0", Some(support::ALLPROP))
        .multistatus();
    assert_eq!(
        all.responses[0].prop_status(DAV, "supportedlock"),
        Some(200)
    );
    assert_eq!(
        all.responses[0].prop_status(DAV, "lockdiscovery"),
        Some(200)
    );
    // Protected.
    for live in ["lockdiscovery", "supportedlock"] {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:"><D:remove><D:prop><D:{live}/></D:prop></D:remove></D:propertyupdate>"#
        );
        let r = s.proppatch("/c/f.txt", &body);
        assert_eq!(
            r.multistatus().responses[0].prop_status(DAV, live),
            Some(403),
            "{r:?}"
        );
    }
}

// 1.12/2: supportedlock is truthful: every advertised lock is granted.
#[test]
fn supportedlock_is_truthful_every_advertised_lock_is_granted_s15_10() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(s.mkcol("/d/").status, 201);
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    assert_eq!(put(&s, "/g.txt", "G").status, 201);
    for (path, scope) in [
        ("/f.txt", Scope::Exclusive),
        ("/g.txt", Scope::Shared),
        ("/c/", Scope::Exclusive),
        ("/d/", Scope::Shared),
    ] {
        let r = lock(&s, path, scope, "0");
        assert_eq!(r.status, 200, "LOCK {path} {scope:?}: {r:?}");
        assert_eq!(locks_in_lock_response(&r)[0].scope, scope.element());
    }
}

// 1.12/3: DAV: 1, 2, 3 (and Class 2's LOCK/UNLOCK in Allow).
#[test]
fn options_advertises_dav_classes_1_2_3_s10_1_s18() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    let mut answers = vec![
        s.request("OPTIONS", "/").send(),
        s.request("OPTIONS", "/f.txt").send(),
        s.request("OPTIONS", "/unmapped").send(),
    ];
    answers.push(s.raw_request("OPTIONS", "*", &[], b""));
    for r in answers {
        assert_eq!(r.status, 200, "{r:?}");
        let classes: Vec<String> = r
            .expect_header("dav")
            .split(',')
            .map(|c| c.trim().to_string())
            .collect();
        assert_eq!(classes, vec!["1", "2", "3"], "{r:?}");
        let allow = r.expect_header("allow");
        for m in ["LOCK", "UNLOCK"] {
            assert!(allow.split(',').any(|a| a.trim() == m), "Allow: {allow}");
        }
    }
}

// 1.12/4: error bodies are application/xml DAV:error with the preconditions
// of §16.
#[test]
fn lock_error_bodies_are_xml_with_rfc_preconditions_s16() {
    let s = TestServer::start();
    assert_eq!(put(&s, "/f.txt", "F").status, 201);
    assert_eq!(put(&s, "/g.txt", "G").status, 201);
    let tok = lock_ok(&s, "/f.txt", Scope::Exclusive, "0");
    let hrefs = assert_dav_error(&put(&s, "/f.txt", "x"), 423, "lock-token-submitted");
    assert_eq!(hrefs, vec!["/f.txt".to_string()], "href+");
    assert_dav_error(
        &lock(&s, "/f.txt", Scope::Shared, "0"),
        423,
        "no-conflicting-lock",
    );
    assert_dav_error(
        &unlock(&s, "/g.txt", &tok),
        409,
        "lock-token-matches-request-uri",
    );
    assert_dav_error(
        &refresh(&s, "/g.txt", &tok, None),
        412,
        "lock-token-matches-request-uri",
    );
}

//! RFC 4918 locking (Class 2) against the real binary, section 1.1 of the
//! RFC 4918 checklist: the lock model, lock scope and conflicts.
//! Every test names the RFC sections it checks; the comment above it names
//! the checklist lines (`1.x/n` = section 1.x, n-th line). Every server here
//! runs without authentication, so every lock has no principal.
//!
//! The other sections of the checklist: 1.2 in `lock_tokens_required.rs`,
//! 1.4 and 1.5 in `lock_create.rs`, 1.6 and 1.8 in
//! `lock_refresh_timeouts.rs`, 1.7 and 1.9 in `lock_unlock_tokens.rs`, 1.10
//! in `lock_if_header.rs`, 1.11 in `lock_delete_copy_move.rs`, 1.12 in
//! `lock_properties_compliance.rs`. 1.3 (lock creator and privileges) and
//! the authorization half of 1.2/7 are in none of them: they need users and
//! belong with the authentication tests.
mod support;

use support::lock::*;
use support::{DAV, TestServer, file_text, read_prop, snapshot, sorted, statuses_207};

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

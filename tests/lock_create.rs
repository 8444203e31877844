//! RFC 4918 locking (Class 2) against the real binary, sections 1.4 and 1.5
//! of the RFC 4918 checklist: creating a lock with LOCK, and locks on
//! unmapped URLs (the locked empty resource, not RFC 2518 lock-null).
//! Every test names the RFC sections it checks; the comment above it names
//! the checklist lines (`1.x/n` = section 1.x, n-th line). Every server here
//! runs without authentication, so every lock has no principal.
mod support;

use support::lock::*;
use support::xml::parse_exact;
use support::{DAV, TestServer, file_text, propfind_dav_props, snapshot};

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

//! RFC 4918 locking (Class 2) against the real binary, section 1.12 of the
//! RFC 4918 checklist: the lock properties (supportedlock, lockdiscovery),
//! OPTIONS compliance classes and DAV:error bodies.
//! Every test names the RFC sections it checks; the comment above it names
//! the checklist lines (`1.x/n` = section 1.x, n-th line). Every server here
//! runs without authentication, so every lock has no principal.
mod support;

use support::lock::*;
use support::{DAV, TestServer, propfind_dav_props};

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

//! RFC 4918 locking (Class 2) against the real binary, sections 1.7 and 1.9
//! of the RFC 4918 checklist: UNLOCK, and lock tokens (unique urn:uuid
//! tokens, exposed in lockdiscovery, Lock-Token without angle brackets).
//! Every test names the RFC sections it checks; the comment above it names
//! the checklist lines (`1.x/n` = section 1.x, n-th line). Every server here
//! runs without authentication, so every lock has no principal.
//! UNLOCK of another principal's lock (403) needs users and belongs with
//! the authentication tests.
mod support;

use support::TestServer;
use support::lock::*;

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

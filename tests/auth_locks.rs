//! Issue #4, users and locks: locks owned by principals (RFC 4918 §6.4),
//! the holder named in 423 answers (unless `--hide-lock-owners`), and
//! authorization before locks and conditions (§8.1). Authentication and
//! roles on their own are in `auth_users.rs`.
mod support;

use support::admin::*;
use support::lock::*;
use support::users::*;

// RFC 4918 §6.4: a lock token belongs to the principal that took the lock.
// Issue #4: bob with alice's token -> 423; bob UNLOCK -> 403; alice PUT with
// her token works; an admin UNLOCK breaks it (204, history `broken`).
#[test]
fn locks_belong_to_the_principal_that_took_them_s6_4() {
    let s = start_team(&[]);
    assert_eq!(put_as(&s, Some("alice"), "/doc.txt", "v1").status, 201);
    let r = lock_as(
        &s,
        Some("alice"),
        "/doc.txt",
        "0",
        Some("<D:href>mailto:alice@example.org</D:href>"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let token = lock_token_header(&r);

    // bob submits alice's token: it is not his to use (§6.4) -> 423.
    let r = put_as_if(&s, Some("bob"), "/doc.txt", "bob", &token);
    let why = assert_lock_token_submitted(&r, "/doc.txt");
    assert!(why.contains("locked by alice"), "{r:?}");
    assert_lock_token_submitted(&put_as(&s, Some("bob"), "/doc.txt", "bob"), "/doc.txt");
    let r = req_as(&s, Some("bob"), "DELETE", "/doc.txt")
        .header("If", &if_token(&token))
        .send();
    assert_lock_token_submitted(&r, "/doc.txt");

    // bob may neither remove nor refresh it (403).
    let r = unlock_as(&s, Some("bob"), "/doc.txt", &token);
    assert_eq!(r.status, 403, "bob UNLOCKs alice's lock: {r:?}");
    let r = s
        .request("LOCK", "/doc.txt")
        .user("bob")
        .header("If", &if_token(&token))
        .header("Timeout", "Second-60")
        .send();
    assert_eq!(r.status, 403, "bob refreshes alice's lock: {r:?}");

    // alice writes with her token; without it she is refused like anyone (§7).
    assert_lock_token_submitted(&put_as(&s, Some("alice"), "/doc.txt", "x"), "/doc.txt");
    assert_eq!(
        put_as_if(&s, Some("alice"), "/doc.txt", "v2", &token).status,
        204
    );
    assert_eq!(s.request("GET", "/doc.txt").user("bob").send().body, "v2");

    // An administrator may remove anyone's lock; it is recorded as broken.
    let r = unlock_as(&s, Some("root"), "/doc.txt", &token);
    assert_eq!(r.status, 204, "admin UNLOCKs alice's lock: {r:?}");
    assert_written(
        &put_as(&s, Some("bob"), "/doc.txt", "bob"),
        "bob's PUT after the break",
    );

    let events = api_history(&s, "root", "?path=/doc.txt");
    let broken = events_of(&events, "broken", Some(&token));
    assert_eq!(broken.len(), 1, "one broken event for {token}: {events:#?}");
    assert_eq!(broken[0]["holder"], "alice", "{events:#?}");
    assert_eq!(broken[0]["actor"], "root", "{events:#?}");
    assert!(
        events_of(&events, "released", Some(&token)).is_empty(),
        "an admin's UNLOCK of another's lock is not a release: {events:#?}"
    );
    assert_eq!(events_of(&events, "acquired", Some(&token)).len(), 1);

    // The admin's own lock is released normally, not broken.
    let own = lock_ok_as(&s, Some("root"), "/doc.txt", "0");
    assert_eq!(unlock_as(&s, Some("root"), "/doc.txt", &own).status, 204);
    let events = api_history(&s, "root", "?path=/doc.txt");
    assert_eq!(
        events_of(&events, "released", Some(&own)).len(),
        1,
        "{events:#?}"
    );
    assert!(
        events_of(&events, "broken", Some(&own)).is_empty(),
        "{events:#?}"
    );
}

// Issue #4: "423 body names the holder ("locked by alice")".
#[test]
fn locked_answers_name_the_holder() {
    let s = start_team(&[]);
    assert_eq!(put_as(&s, Some("alice"), "/doc.txt", "v1").status, 201);
    let r = lock_as(
        &s,
        Some("alice"),
        "/doc.txt",
        "0",
        Some("<D:href>mailto:alice@example.org</D:href>"),
    );
    assert_eq!(r.status, 200, "{r:?}");

    let r = put_as(&s, Some("bob"), "/doc.txt", "bob");
    let why = assert_lock_token_submitted(&r, "/doc.txt");
    assert!(
        why.contains("locked by alice (mailto:alice@example.org)"),
        "the 423 names the holder and the owner text: {why:?}"
    );
    // A conflicting LOCK (§9.10.6 no-conflicting-lock) names the holder too.
    let r = lock_as(&s, Some("bob"), "/doc.txt", "0", None);
    assert_eq!(r.status, 423, "{r:?}");
    let root = dav_error(&r);
    assert!(
        root.child(support::DAV, "no-conflicting-lock").is_some(),
        "{r:?}"
    );
    assert!(error_description(&root).contains("by alice"), "{r:?}");
}

// Issue #4: "--hide-lock-owners removes the name" from 423 answers.
#[test]
fn hide_lock_owners_keeps_the_holder_out_of_423_answers() {
    let s = start_team(&["--hide-lock-owners"]);
    assert_eq!(put_as(&s, Some("alice"), "/doc.txt", "v1").status, 201);
    let r = lock_as(
        &s,
        Some("alice"),
        "/doc.txt",
        "0",
        Some("<D:href>mailto:alice@example.org</D:href>"),
    );
    assert_eq!(r.status, 200, "{r:?}");

    let r = put_as(&s, Some("bob"), "/doc.txt", "bob");
    let why = assert_lock_token_submitted(&r, "/doc.txt");
    assert!(
        why.contains("locked since"),
        "still says it is locked: {why:?}"
    );
    assert!(!r.body.contains("alice"), "holder disclosed: {r:?}");

    let r = lock_as(&s, Some("bob"), "/doc.txt", "0", None);
    assert_eq!(r.status, 423, "{r:?}");
    assert!(
        !r.body.contains("alice"),
        "holder disclosed in a LOCK conflict: {r:?}"
    );
}

// RFC 4918 §8.1 / issue #4: authorization comes before locks and
// conditions: a request without credentials to a locked resource is 401,
// not 423 (and not 412 for a false If header); a read-only user gets 403.
#[test]
fn authorization_is_checked_before_locks_and_conditions_s8_1() {
    let s = start_team(&[]);
    assert_eq!(put_as(&s, Some("alice"), "/doc.txt", "v1").status, 201);
    let token = lock_ok_as(&s, Some("alice"), "/doc.txt", "0");

    assert_unauthorized(
        &put_as(&s, None, "/doc.txt", "x"),
        "anonymous PUT to a locked file",
    );
    assert_unauthorized(
        &put_as_if(&s, None, "/doc.txt", "x", &token),
        "anonymous PUT with the right token",
    );
    let r = s
        .request("PUT", "/doc.txt")
        .auth(&basic("alice", "wrong"))
        .header("If", &if_token(&token))
        .body("x")
        .send();
    assert_unauthorized(&r, "alice's token with a wrong password");
    assert_unauthorized(
        &req_as(&s, None, "DELETE", "/doc.txt").send(),
        "anonymous DELETE",
    );
    assert_unauthorized(
        &lock_as(&s, None, "/doc.txt", "0", None),
        "anonymous LOCK (conflicting)",
    );
    assert_unauthorized(&unlock_as(&s, None, "/doc.txt", &token), "anonymous UNLOCK");
    let false_if = "(<urn:uuid:00000000-0000-4000-8000-000000000000>)";
    let r = s
        .request("PUT", "/doc.txt")
        .once()
        .header("If", false_if)
        .body("x")
        .send();
    assert_unauthorized(&r, "anonymous PUT with a false If header");
    let r = s
        .request("GET", "/doc.txt")
        .header("If-Match", "\"no-such-etag\"")
        .send();
    assert_unauthorized(&r, "anonymous GET with a false If-Match");

    let r = put_as(&s, Some("carol"), "/doc.txt", "x");
    assert_eq!(r.status, 403, "read-only carol on a locked file: {r:?}");
    let r = req_as(&s, Some("carol"), "PUT", "/doc.txt")
        .header("If", false_if)
        .body("x")
        .send();
    assert_eq!(
        r.status, 403,
        "read-only carol with a false If header: {r:?}"
    );

    // Once authenticated, the lock decides.
    assert_lock_token_submitted(&put_as(&s, Some("bob"), "/doc.txt", "x"), "/doc.txt");
    assert_eq!(s.request("GET", "/doc.txt").user("bob").send().body, "v1");
}

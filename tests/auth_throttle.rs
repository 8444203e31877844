//! Issue 12, item 7: password guessing must not starve signed-in users.
//! Wrong passwords from one address (or for one user name) are paused
//! after a few (`429` with `Retry-After`, before any bcrypt check), at most
//! one check per core runs at a time, and a signed-in user's request goes
//! on being served during the flood.
mod support;

use std::time::Duration;

use support::process::together;
use support::users::*;

/// Failures of one address before the pauses start (the server's
/// `auth::throttle::FREE_FAILURES`).
const FREE_FAILURES: usize = 5;

#[test]
fn a_flood_of_wrong_passwords_is_paused_and_signed_in_users_are_served() {
    let s = start_team(&[]);
    assert_eq!(put_as(&s, Some("alice"), "/small.txt", "hello").status, 201);
    // 200 wrong passwords for bob at once, and alice reading meanwhile.
    let answers = together(220, |i| {
        if i < 20 {
            req_as(&s, Some("alice"), "GET", "/small.txt").send()
        } else {
            s.request("GET", "/small.txt")
                .auth(&basic("bob", &format!("guess-{i}")))
                .send()
        }
    });
    let (alice, flood) = answers.split_at(20);
    for r in alice {
        assert_eq!((r.status, r.body.as_str()), (200, "hello"), "{r:?}");
    }
    let checked = flood.iter().filter(|r| r.status == 401).count();
    let paused: Vec<_> = flood.iter().filter(|r| r.status == 429).collect();
    assert_eq!(checked + paused.len(), flood.len(), "401 or 429 only");
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    assert!(
        checked <= FREE_FAILURES + cores,
        "{checked} passwords were checked: the pause must stop the rest"
    );
    for r in &paused {
        let retry: u64 = r.expect_header("retry-after").parse().expect("seconds");
        assert!(retry >= 1, "{r:?}");
        assert!(r.body.contains("too many failed logins"), "{r:?}");
    }
    // alice's remembered password is still served from this address...
    assert_eq!(
        req_as(&s, Some("alice"), "GET", "/small.txt").send().status,
        200
    );
    // ... while bob, even with his right password, waits out the pause.
    let waited = s.request("GET", "/small.txt").user("bob").send();
    assert_eq!(waited.status, 429, "{waited:?}");
    // Each surface says it in its own words: the lock API as problem+json.
    let api = s
        .request("POST", "/_deadbolt/api/locks")
        .user("bob")
        .header("Content-Type", "application/json")
        .body(r#"{"key": "k"}"#)
        .send();
    assert_eq!(api.status, 429, "{api:?}");
    assert_eq!(api.header("content-type"), Some("application/problem+json"));
    assert!(api.header("retry-after").is_some(), "{api:?}");
    let retry: u64 = waited
        .expect_header("retry-after")
        .parse()
        .expect("seconds");
    std::thread::sleep(Duration::from_secs(retry));
    assert_eq!(
        s.request("GET", "/small.txt").user("bob").send().status,
        200
    );
    // A success forgets: the next wrong password is a plain 401.
    let wrong = s
        .request("GET", "/small.txt")
        .auth(&basic("bob", "nope"))
        .send();
    assert_unauthorized(&wrong, "one wrong password after a success");
}

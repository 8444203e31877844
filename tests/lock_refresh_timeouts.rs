//! RFC 4918 locking (Class 2) against the real binary, sections 1.6 and 1.8
//! of the RFC 4918 checklist: refreshing a lock, and lock timeouts (the
//! Timeout header, the server's default and maximum, expiry).
//! Every test names the RFC sections it checks; the comment above it names
//! the checklist lines (`1.x/n` = section 1.x, n-th line). Every server here
//! runs without authentication, so every lock has no principal.
mod support;

use std::time::{Duration, Instant};

use support::lock::*;
use support::{TestServer, etag, poll};

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

//! Issue 10, part 1: the JSON lock API for records and served paths, on
//! the one lock table: grants, refusals as problem+json, heartbeats,
//! release, fencing tokens, who may use it, bad input, and waiting in line
//! (`wait_seconds`, `Prefer: wait=N`).
mod support;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::admin::*;
use support::lock::*;
use support::lockapi::*;
use support::users::*;
use support::{Response, TestServer};

fn post(s: &TestServer, user: Option<&str>, body: Value) -> Response {
    post_lock(s, user, body)
}

fn refresh(s: &TestServer, user: Option<&str>, token: &str) -> Response {
    req_as(s, user, "POST", &format!("{LOCKS}/{token}/refresh")).send()
}

fn release(s: &TestServer, user: Option<&str>, token: &str) -> Response {
    req_as(s, user, "DELETE", &format!("{LOCKS}/{token}")).send()
}

/// A 201 with the lock's JSON.
fn granted(resp: &Response, what: &str) -> Value {
    assert_eq!(resp.status, 201, "{what}: {resp:?}");
    let lock = json(resp);
    for member in [
        "token",
        "fencing_token",
        "expires_at",
        "created_at",
        "scope",
        "depth",
    ] {
        assert!(!lock[member].is_null(), "{what}: no {member} in {lock:#}");
    }
    lock
}

/// The RFC 9457 body of a refusal, after checking status and media type.
fn problem(resp: &Response, status: u16, what: &str) -> Value {
    assert_eq!(resp.status, status, "{what}: {resp:?}");
    assert_eq!(
        resp.header("content-type"),
        Some("application/problem+json"),
        "{what}: {resp:?}"
    );
    let body: Value = serde_json::from_str(&resp.body).expect("problem JSON");
    assert_eq!(body["status"], status, "{what}: {body:#}");
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:deadbolt:problem:"))
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{what}: a problem says why: {body:#}"
    );
    body
}

fn token(lock: &Value) -> &str {
    lock["token"].as_str().expect("token")
}

fn fencing(lock: &Value) -> u64 {
    lock["fencing_token"].as_u64().expect("fencing_token")
}

#[test]
fn record_locks_are_granted_refused_refreshed_and_released() {
    let s = start_team(&[]);
    let alice = Some("alice");
    let bob = Some("bob");
    let order = post(
        &s,
        alice,
        json!({"key": "orders/42", "ttl_seconds": 60, "owner": "billing job 7"}),
    );
    let lock = granted(&order, "alice locks orders/42");
    assert_eq!(lock["key"], "orders/42");
    assert_eq!(lock["holder"], "alice");
    assert_eq!(lock["owner"], "billing job 7");
    assert_eq!(lock["scope"], "exclusive");
    assert_eq!(lock["depth"], "0");
    assert_eq!(lock["ttl_seconds"], 60);
    let location = order.expect_header("location");
    assert!(location.starts_with(&format!("{LOCKS}/")), "{location}");

    let refused = problem(
        &post(&s, bob, json!({"key": "orders/42"})),
        423,
        "bob locks the same record",
    );
    assert_eq!(refused["resource"], json!({"key": "orders/42"}));
    assert_eq!(refused["holder"], "alice");
    assert_eq!(refused["owner"], "billing job 7");
    assert_eq!(refused["until"], lock["expires_at"]);
    assert_eq!(refused["since"], lock["created_at"]);
    let again = post(&s, bob, json!({"key": "orders/42"}));
    let retry: u64 = again.expect_header("retry-after").parse().expect("seconds");
    assert!(
        (1..=60).contains(&retry),
        "Retry-After until the lock ends: {retry}"
    );
    // A table lock conflicts with a record in it; another record is free.
    problem(
        &post(&s, bob, json!({"key": "orders", "depth": "infinity"})),
        423,
        "a table lock over alice's record",
    );
    let other = granted(
        &post(&s, bob, json!({"key": "orders/43"})),
        "another record",
    );
    assert!(fencing(&other) > fencing(&lock), "{other:#} after {lock:#}");

    // Heartbeat: only the holder; it keeps the fencing token.
    problem(
        &refresh(&s, bob, token(&lock)),
        403,
        "bob refreshes alice's lock",
    );
    let refreshed = refresh(&s, alice, token(&lock));
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    let refreshed = json(&refreshed);
    assert_eq!(refreshed["fencing_token"], lock["fencing_token"]);
    assert!(
        epoch_seconds(refreshed["expires_at"].as_str().unwrap())
            >= epoch_seconds(lock["expires_at"].as_str().unwrap())
    );

    problem(
        &release(&s, bob, token(&lock)),
        403,
        "bob releases alice's lock",
    );
    assert_eq!(release(&s, alice, token(&lock)).status, 204);
    problem(&release(&s, alice, token(&lock)), 404, "released twice");
    problem(
        &refresh(&s, alice, token(&lock)),
        412,
        "a heartbeat after the end",
    );
    let next = granted(&post(&s, bob, json!({"key": "orders/42"})), "free again");
    assert!(fencing(&next) > fencing(&other), "{next:#} after {other:#}");
    // The uuid alone names the lock too.
    let uuid = token(&next).trim_start_matches("urn:uuid:").to_owned();
    assert_eq!(release(&s, bob, &uuid).status, 204);
}

#[test]
fn record_locks_are_listed_broken_and_audited_like_the_others() {
    let s = start_team(&[]);
    let lock = granted(
        &post(
            &s,
            Some("alice"),
            json!({"key": "jobs/nightly", "reason": "rebuild the index"}),
        ),
        "alice",
    );
    let listed = api_get(&s, "root", "/_deadbolt/api/locks");
    let found: Vec<&Value> = array(&listed, "locks")
        .iter()
        .filter(|l| l["token"] == lock["token"])
        .collect();
    assert_eq!(found.len(), 1, "{listed:#}");
    assert_eq!(found[0]["key"], "jobs/nightly");
    assert_eq!(found[0]["path"], "key jobs/nightly");
    assert_eq!(found[0]["fencing_token"], lock["fencing_token"]);
    let cli = cli_on(&s, &["locks", "list"]);
    assert!(cli.ok().contains("key jobs/nightly"), "{}", cli.ok());
    let broken = req_as(
        &s,
        Some("root"),
        "POST",
        &format!("/_deadbolt/api/locks/{}/break", token(&lock)),
    )
    .header("Content-Type", "application/json")
    .body(r#"{"reason": "stuck"}"#)
    .send();
    assert_eq!(broken.status, 200, "{broken:?}");
    let events = api_history(&s, "root", "");
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["token"] == lock["token"])
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("broken", "stuck"), ("acquired", "rebuild the index")],
        "{events:#?}"
    );
}

#[test]
fn path_locks_and_webdav_locks_refuse_each_other() {
    let s = start_team(&[]);
    assert_eq!(
        req_as(&s, Some("alice"), "MKCOL", "/docs/").send().status,
        201
    );
    assert_eq!(
        put_as(&s, Some("alice"), "/docs/plan.odt", "v1").status,
        201
    );
    let lock = granted(
        &post(&s, Some("alice"), json!({"path": "/docs/plan.odt"})),
        "alice locks a served file",
    );
    assert_eq!(lock["path"], "/docs/plan.odt");
    assert_eq!(
        put_as(&s, Some("bob"), "/docs/plan.odt", "bob's").status,
        423
    );
    let by_bob = lock_as(&s, Some("bob"), "/docs/", "infinity", None);
    assert_eq!(by_bob.status, 423, "a WebDAV tree lock over it: {by_bob:?}");
    // The holder writes with the token, as with a WebDAV lock.
    let put = req_as(&s, Some("alice"), "PUT", "/docs/plan.odt")
        .header("If", &format!("(<{}>)", token(&lock)))
        .body("v2")
        .send();
    assert_eq!(put.status, 204, "{put:?}");

    // The other way: a WebDAV lock refuses an API lock, naming its holder.
    assert_eq!(put_as(&s, Some("bob"), "/docs/notes.txt", "n").status, 201);
    lock_ok_as(&s, Some("bob"), "/docs/notes.txt", "0");
    let refused = problem(
        &post(&s, Some("alice"), json!({"path": "/docs/notes.txt"})),
        423,
        "alice's API lock on bob's WebDAV-locked file",
    );
    assert_eq!(refused["holder"], "bob");
    assert_eq!(refused["resource"], json!({"path": "/docs/notes.txt"}));
}

#[test]
fn a_lock_on_the_whole_tree_leaves_records_alone() {
    let s = start_team(&[]);
    lock_ok_as(&s, Some("root"), "/", "infinity");
    granted(
        &post(&s, Some("bob"), json!({"key": "docs/plan.odt"})),
        "a record",
    );
    problem(
        &post(&s, Some("bob"), json!({"path": "/docs/plan.odt"})),
        423,
        "a served path under the tree lock",
    );
}

#[test]
fn holders_are_hidden_when_owners_are() {
    let s = start_team(&["--hide-lock-owners"]);
    granted(
        &post(&s, Some("alice"), json!({"key": "k", "owner": "secret"})),
        "alice",
    );
    let refused = problem(&post(&s, Some("bob"), json!({"key": "k"})), 423, "bob");
    assert!(refused.get("holder").is_none(), "{refused:#}");
    assert!(refused.get("owner").is_none(), "{refused:#}");
    assert!(!refused.to_string().contains("alice"), "{refused:#}");
}

#[test]
fn only_writers_use_the_lock_api() {
    let s = start_team(&[]);
    let anonymous = post(&s, None, json!({"key": "k"}));
    problem(&anonymous, 401, "no credentials");
    assert_unauthorized(&anonymous, "no credentials");
    problem(
        &post(&s, Some("carol"), json!({"key": "k"})),
        403,
        "a read-only user",
    );
    granted(&post(&s, Some("alice"), json!({"key": "k"})), "a writer");
}

#[test]
fn bad_requests_get_a_reason_and_the_server_keeps_serving() {
    let s = start_team(&[]);
    let alice = Some("alice");
    for (body, what) in [
        (json!({}), "neither key nor path"),
        (json!({"key": "a", "path": "/a"}), "both key and path"),
        (json!({"key": ""}), "an empty key"),
        (json!({"key": "a//b"}), "an empty level"),
        (json!({"key": "a/../b"}), "a dot segment"),
        (json!({"path": "relative"}), "a relative path"),
        (json!({"path": "/a/../../etc"}), "a path climbing out"),
        (json!({"path": "/_deadbolt/api"}), "the server's prefix"),
        (json!({"key": "k", "depth": "1"}), "depth 1"),
        (
            json!({"key": "k", "scope": "everything"}),
            "an unknown scope",
        ),
        (json!({"key": "k", "ttl_seconds": 0}), "a zero TTL"),
        (json!({"key": "k", "ttl_seconds": -5}), "a negative TTL"),
        (json!({"key": "k", "colour": "red"}), "an unknown member"),
        (
            json!({"key": "k", "owner": "x".repeat(2000)}),
            "an owner too long",
        ),
        (json!(["k"]), "not an object"),
    ] {
        problem(&post(&s, alice, body), 400, what);
    }
    let not_json = req_as(&s, alice, "POST", LOCKS)
        .header("Content-Type", "application/json")
        .body("{\"key\": ")
        .send();
    problem(&not_json, 400, "truncated JSON");
    let text = req_as(&s, alice, "POST", LOCKS)
        .header("Content-Type", "text/plain")
        .body(r#"{"key": "k"}"#)
        .send();
    problem(&text, 415, "a form a page on another site can send");
    let cross_site = req_as(&s, alice, "POST", LOCKS)
        .header("Content-Type", "application/json")
        .header("Origin", "http://evil.example")
        .body(r#"{"key": "k"}"#)
        .send();
    problem(&cross_site, 403, "another site's page");
    let fetch_meta = req_as(&s, alice, "DELETE", &format!("{LOCKS}/urn:uuid:x"))
        .header("Sec-Fetch-Site", "cross-site")
        .send();
    problem(&fetch_meta, 403, "a cross-site fetch");
    problem(
        &release(&s, alice, "urn:uuid:nothing"),
        404,
        "an unknown token",
    );
    // Nothing was locked by all that, and the server still serves.
    let listed = api_get(&s, "root", "/_deadbolt/api/locks");
    assert!(array(&listed, "locks").is_empty(), "{listed:#}");
    granted(
        &post(&s, alice, json!({"key": "k"})),
        "a good request after the bad",
    );
}

#[test]
fn a_waiter_is_granted_the_moment_the_lock_is_released() {
    let s = Arc::new(start_team(&[]));
    let held = granted(&post(&s, Some("alice"), json!({"key": "doc"})), "alice");
    let waiter = {
        let s = Arc::clone(&s);
        thread::spawn(move || {
            let resp = req_as(&s, Some("bob"), "POST", LOCKS)
                .header("Content-Type", "application/json")
                .header("Prefer", "wait=30")
                .body(json!({"key": "doc"}).to_string())
                .send();
            (resp, Instant::now())
        })
    };
    // Bob is in line once a request that does not wait is told so.
    wait_until_queued(&s, json!({"key": "doc"}), 1);
    let released_at = Instant::now();
    assert_eq!(release(&s, Some("alice"), token(&held)).status, 204);
    let (resp, answered_at) = waiter.join().expect("waiter");
    let lock = granted(&resp, "bob, after waiting");
    assert_eq!(lock["holder"], "bob");
    assert_eq!(resp.header("preference-applied"), Some("wait=30"));
    assert!(answered_at >= released_at, "granted only after the release");
    assert!(fencing(&lock) > fencing(&held));

    // A wait that runs out is the refusal, naming the holder.
    let started = Instant::now();
    let refused = post(&s, Some("alice"), json!({"key": "doc", "wait_seconds": 1}));
    assert!(started.elapsed() >= Duration::from_secs(1), "it waited");
    assert_eq!(problem(&refused, 423, "the wait ran out")["holder"], "bob");
}

#[test]
fn sixteen_waiters_are_granted_in_arrival_order() {
    let s = Arc::new(start_team(&[]));
    let held = granted(&post(&s, Some("alice"), json!({"key": "queue"})), "alice");
    let mut waiters = Vec::new();
    for i in 0..16u64 {
        let s2 = Arc::clone(&s);
        waiters.push(thread::spawn(move || {
            let lock = granted(
                &post(
                    &s2,
                    Some("bob"),
                    json!({"key": "queue", "wait_seconds": 120}),
                ),
                "a waiter",
            );
            // Hand the lock on to the next in line.
            assert_eq!(release(&s2, Some("bob"), token(&lock)).status, 204);
            (i, fencing(&lock))
        }));
        wait_until_queued(&s, json!({"key": "queue"}), i + 1);
    }
    assert_eq!(release(&s, Some("alice"), token(&held)).status, 204);
    let mut grants: Vec<(u64, u64)> = waiters
        .into_iter()
        .map(|w| w.join().expect("waiter"))
        .collect();
    grants.sort_by_key(|(_, fencing)| *fencing);
    let order: Vec<u64> = grants.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        order,
        (0..16).collect::<Vec<_>>(),
        "granted in arrival order"
    );
}

#[test]
fn fencing_tokens_strictly_increase_under_concurrency() {
    let s = Arc::new(start_team(&[]));
    let threads: Vec<_> = (0..32)
        .map(|i| {
            let s = Arc::clone(&s);
            thread::spawn(move || {
                let mut seen = Vec::new();
                for round in 0..3 {
                    let lock = granted(
                        &post(
                            &s,
                            Some("alice"),
                            json!({"key": format!("fence/{i}/{round}")}),
                        ),
                        "a grant",
                    );
                    seen.push(fencing(&lock));
                }
                seen
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in threads {
        let seen = t.join().expect("client");
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "one client's grants increase: {seen:?}"
        );
        all.extend(seen);
    }
    let count = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), count, "no fencing token is handed out twice");
}

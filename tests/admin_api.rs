//! Issue #4, the admin JSON API under the reserved prefix `/_deadbolt/`:
//! listing locks taken over WebDAV, one lock, breaking, the audit trail,
//! who may use it, and the prefix being reserved.
mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::admin::*;
use support::lock::*;
use support::users::*;
use support::{Launch, TestServer, snapshot, sorted};

const API: &str = "/_deadbolt/api";

/// alice's lock on `/docs/report.txt` (depth 0, ten minutes, an owner text),
/// and bob's on `/other/` (depth infinity). Returns (alice's, bob's) tokens.
fn two_locks(s: &TestServer) -> (String, String) {
    assert_eq!(
        req_as(s, Some("alice"), "MKCOL", "/docs/").send().status,
        201
    );
    assert_eq!(
        put_as(s, Some("alice"), "/docs/report.txt", "r").status,
        201
    );
    assert_eq!(
        req_as(s, Some("bob"), "MKCOL", "/other/").send().status,
        201
    );
    let r = s
        .request("LOCK", "/docs/report.txt")
        .user("alice")
        .header("User-Agent", "Alice's Office/16.0")
        .header("Depth", "0")
        .header("Timeout", "Second-600")
        .xml(&lockinfo(Scope::Exclusive, Some("Alice  on her\n laptop")))
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    let alice = lock_token_header(&r);
    let bob = lock_ok_as(s, Some("bob"), "/other/", "infinity");
    (alice, bob)
}

fn the_lock<'a>(locks: &'a [Value], token: &str) -> &'a Value {
    locks
        .iter()
        .find(|l| l["token"] == token)
        .unwrap_or_else(|| panic!("lock {token} not listed: {locks:#?}"))
}

// Issue #4: "GET /_deadbolt/api/locks lists a lock taken over WebDAV with
// path, holder, owner text, scope, depth, created, expires, client_address,
// user_agent, token".
#[test]
fn api_lists_locks_taken_over_webdav_with_every_detail() {
    let s = start_team(&[]);
    let before = now_seconds();
    let (alice, bob) = two_locks(&s);

    let r = s
        .request("GET", &format!("{API}/locks"))
        .user("root")
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "{r:?}");
    let v = json(&r);
    let locks = array(&v, "locks");
    assert_eq!(tokens(locks), sorted(vec![alice.clone(), bob.clone()]));
    assert_eq!(array(&v, "holds").len(), 0, "{v:#}");

    let l = the_lock(locks, &alice);
    assert_eq!(l["path"], "/docs/report.txt", "{l:#}");
    assert_eq!(l["holder"], "alice", "{l:#}");
    assert_eq!(
        l["owner"], "Alice on her laptop",
        "owner text, whitespace folded: {l:#}"
    );
    assert_eq!(l["scope"], "exclusive", "{l:#}");
    assert_eq!(l["depth"], "0", "{l:#}");
    assert_eq!(l["user_agent"], "Alice's Office/16.0", "{l:#}");
    let client = l["client_address"].as_str().expect("client_address");
    assert!(client.starts_with("127.0.0.1:"), "{l:#}");
    let created = epoch_seconds(l["created"].as_str().expect("created"));
    let expires = epoch_seconds(l["expires"].as_str().expect("expires"));
    assert!(
        created + 1 >= before && created <= now_seconds() + 1,
        "created is the LOCK's time: {l:#}"
    );
    assert_eq!(expires - created, 600, "granted Timeout: Second-600: {l:#}");
    let left = l["seconds_left"].as_u64().expect("seconds_left");
    assert!((590..=600).contains(&left), "{l:#}");

    let l = the_lock(locks, &bob);
    assert_eq!(l["path"], "/other", "{l:#}");
    assert_eq!(l["holder"], "bob", "{l:#}");
    assert_eq!(l["depth"], "infinity", "{l:#}");
    assert_eq!(l["owner"], Value::Null, "no DAV:owner given: {l:#}");
    assert_eq!(l["user_agent"], AGENT, "{l:#}");

    // GET /_deadbolt/api/locks/{token}
    let v = api_get(&s, "root", &format!("{API}/locks/{alice}"));
    assert_eq!(v["lock"]["token"], alice.as_str(), "{v:#}");
    assert_eq!(v["lock"]["path"], "/docs/report.txt", "{v:#}");
    assert_eq!(v["lock"]["holder"], "alice", "{v:#}");

    // An unknown token: 404 with a JSON error.
    let r = s
        .request(
            "GET",
            &format!("{API}/locks/urn:uuid:00000000-0000-4000-8000-000000000000"),
        )
        .user("root")
        .send();
    let message = assert_api_error(&r, 404, "unknown token");
    assert!(message.contains("urn:uuid:00000000"), "{message}");
}

// Issue #4: the `?path=` and `?user=` filters.
#[test]
fn api_lock_list_filters_by_path_and_user() {
    let s = start_team(&[]);
    let (alice, bob) = two_locks(&s);
    // A new member below bob's depth-infinity lock (§6.1: covered).
    assert_eq!(
        put_as_if(&s, Some("bob"), "/other/deep.txt", "d", &bob).status,
        201
    );
    let list = |query: &str| -> Vec<String> {
        let v = api_get(&s, "root", &format!("{API}/locks{query}"));
        tokens(array(&v, "locks"))
    };
    let both = sorted(vec![alice.clone(), bob.clone()]);
    assert_eq!(list(""), both);
    assert_eq!(list("?path=/"), both, "everything is below /");
    assert_eq!(list("?path=/docs"), vec![alice.clone()], "rooted below");
    assert_eq!(list("?path=/docs/"), vec![alice.clone()], "trailing slash");
    assert_eq!(
        list("?path=docs/report.txt"),
        vec![alice.clone()],
        "relative"
    );
    assert_eq!(list("?path=/other"), vec![bob.clone()]);
    assert_eq!(
        list("?path=/other/deep.txt"),
        vec![bob.clone()],
        "covering lock"
    );
    assert_eq!(list("?path=/nowhere"), Vec::<String>::new());
    assert_eq!(list("?user=alice"), vec![alice.clone()]);
    assert_eq!(list("?user=bob"), vec![bob.clone()]);
    assert_eq!(list("?user=carol"), Vec::<String>::new());
    assert_eq!(list("?user=alice&path=/other"), Vec::<String>::new());
    assert_eq!(
        list("?user=bob&path=%2Fother"),
        vec![bob.clone()],
        "encoded"
    );

    // Path filters compare whole segments: /docs is not a prefix of /docs.txt.
    assert_eq!(put_as(&s, Some("alice"), "/docs.txt", "d").status, 201);
    let sibling = lock_ok_as(&s, Some("alice"), "/docs.txt", "0");
    assert_eq!(
        list("?path=/docs"),
        vec![alice.clone()],
        "/docs.txt is not below /docs"
    );
    assert_eq!(list("?path=/docs.txt"), vec![sibling.clone()]);
    assert_eq!(
        list("?user=alice"),
        sorted(vec![alice.clone(), sibling.clone()])
    );
}

// Issue #4: "POST .../break with {"reason"} -> the next WebDAV PUT without
// token succeeds (no restart, no stale cache)"; then the lock is gone (404).
#[test]
fn api_break_frees_the_resource_for_the_very_next_request() {
    let s = start_team(&[]);
    assert_eq!(put_as(&s, Some("alice"), "/doc.txt", "v1").status, 201);
    let token = lock_ok_as(&s, Some("alice"), "/doc.txt", "0");
    // bob is refused (and the server has looked the lock up, if it caches).
    assert_lock_token_submitted(&put_as(&s, Some("bob"), "/doc.txt", "b"), "/doc.txt");

    let r = s
        .request("POST", &format!("{API}/locks/{token}/break"))
        .user("root")
        .header("Content-Type", "application/json")
        .body(json!({"reason": "alice is on holiday"}).to_string())
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    let v = json(&r);
    assert_eq!(v["broken"]["token"], token.as_str(), "{v:#}");
    assert_eq!(v["broken"]["holder"], "alice", "{v:#}");

    assert_eq!(put_as(&s, Some("bob"), "/doc.txt", "bob's").status, 204);
    assert_eq!(
        s.request("GET", "/doc.txt").user("bob").send().body,
        "bob's"
    );
    // alice's token names no lock any more: her tagged If is false (§10.4).
    let r = put_as_if(&s, Some("alice"), "/doc.txt", "a", &token);
    assert_eq!(
        r.status, 412,
        "a broken lock's token no longer matches: {r:?}"
    );

    let v = api_get(&s, "root", &format!("{API}/locks"));
    assert!(array(&v, "locks").is_empty(), "{v:#}");
    let r = s
        .request("GET", &format!("{API}/locks/{token}"))
        .user("root")
        .send();
    assert_api_error(&r, 404, "a broken lock");
    let r = s
        .request("POST", &format!("{API}/locks/{token}/break"))
        .user("root")
        .header("Content-Type", "application/json")
        .body("{}")
        .send();
    assert_api_error(&r, 404, "breaking it twice");

    let events = api_history(&s, "root", "");
    let broken = events_of(&events, "broken", Some(&token));
    assert_eq!(broken.len(), 1, "{events:#?}");
    assert_eq!(broken[0]["reason"], "alice is on holiday", "{events:#?}");
    assert_eq!(broken[0]["actor"], "root", "{events:#?}");
    assert_eq!(broken[0]["holder"], "alice", "{events:#?}");

    // A break without a body is fine (no reason).
    let token = lock_ok_as(&s, Some("alice"), "/doc.txt", "0");
    let r = s
        .request("POST", &format!("{API}/locks/{token}/break"))
        .user("root")
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(put_as(&s, Some("bob"), "/doc.txt", "again").status, 204);
}

/// POSTs carry a body that would work for an administrator.
fn with_body<'a>(method: &str, req: support::Req<'a>) -> support::Req<'a> {
    match method {
        "POST" => req
            .header("Content-Type", "application/json")
            .body(r#"{"path": "/", "reason": "mine"}"#),
        _ => req,
    }
}

// Issue #4: "non-admin 403, no credentials 401"; the admin page is for
// administrators too. Without --htpasswd everyone is an administrator.
#[test]
fn api_is_for_administrators_only() {
    // Wrong passwords on every route: not paused as guessing here.
    let s = start_team(&["--anonymous-read", "--login-failures", "1000"]);
    assert_eq!(put_as(&s, Some("alice"), "/doc.txt", "v1").status, 201);
    let token = lock_ok_as(&s, Some("alice"), "/doc.txt", "0");
    let break_path = format!("{API}/locks/{token}/break");

    for (method, path) in [
        ("GET", format!("{API}/locks")),
        ("GET", format!("{API}/locks/{token}")),
        ("POST", break_path.clone()),
        ("GET", format!("{API}/history")),
        ("GET", format!("{API}/holds")),
        ("POST", format!("{API}/holds")),
        ("DELETE", format!("{API}/holds?path=/doc.txt")),
        ("GET", "/_deadbolt/".to_string()),
    ] {
        // POSTs carry a body that would work for an administrator.
        for user in ["alice", "bob", "carol"] {
            let r = with_body(method, s.request(method, &path).user(user)).send();
            assert_eq!(r.status, 403, "{method} {path} by non-admin {user}: {r:?}");
        }
        // An anonymous reader may read files, not the admin API.
        let r = with_body(method, s.request(method, &path).once()).send();
        assert_unauthorized(&r, &format!("anonymous {method} {path}"));
        let r = with_body(
            method,
            s.request(method, &path).auth(&basic("root", "wrong")),
        )
        .send();
        assert_unauthorized(&r, &format!("{method} {path} with root's wrong password"));
    }
    // Nothing was broken or held.
    assert_lock_token_submitted(&put_as(&s, Some("bob"), "/doc.txt", "b"), "/doc.txt");
    assert_eq!(
        array(&api_get(&s, "root", &format!("{API}/holds")), "holds").len(),
        0
    );
    // The administrator gets the page.
    let r = s.request("GET", "/_deadbolt/").user("root").send();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{r:?}"
    );

    // Without --htpasswd there are no users: everyone administers.
    let open = TestServer::start();
    assert_eq!(open.put("/f.txt", "f").status, 201);
    let r = open
        .request("LOCK", "/f.txt")
        .header("Depth", "0")
        .xml(&lockinfo(Scope::Exclusive, None))
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    let t = lock_token_header(&r);
    let r = open.get(&format!("{API}/locks"));
    assert_eq!(r.status, 200, "{r:?}");
    let v = json(&r);
    assert_eq!(tokens(array(&v, "locks")), vec![t.clone()]);
    assert_eq!(array(&v, "locks")[0]["holder"], Value::Null, "{v:#}");
    let r = open
        .request("POST", &format!("{API}/locks/{t}/break"))
        .header("Content-Type", "application/json")
        .body("{}")
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(open.put("/f.txt", "g").status, 204);
}

// Issue #4: "bad JSON 400"; unknown endpoints 404, wrong methods 405 (all
// JSON errors), and a bad request changes nothing.
#[test]
fn api_rejects_bad_requests_with_json_errors() {
    let s = start_team(&[]);
    assert_eq!(put_as(&s, Some("alice"), "/doc.txt", "v1").status, 201);
    let token = lock_ok_as(&s, Some("alice"), "/doc.txt", "0");
    let send = |method: &str, path: &str, body: &str| {
        s.request(method, path)
            .user("root")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let break_path = format!("{API}/locks/{token}/break");
    for body in ["{not json", "[1,2]", r#"{"reason": 42}"#, "\u{0}"] {
        let message = assert_api_error(&send("POST", &break_path, body), 400, body);
        assert!(message.contains("JSON"), "{message}");
    }
    assert_lock_token_submitted(&put_as(&s, Some("bob"), "/doc.txt", "b"), "/doc.txt");

    let holds = format!("{API}/holds");
    for body in [
        "",
        "{",
        r#"{"path": "/x"}"#,
        r#"{"reason": "no path"}"#,
        r#"{"path": "/x", "reason": "   "}"#,
        r#"{"path": "/x", "reason": "r", "until": "next tuesday-ish"}"#,
        r#"{"path": "/a/../..", "reason": "r"}"#,
    ] {
        assert_api_error(
            &send("POST", &holds, body),
            400,
            &format!("POST holds {body:?}"),
        );
    }
    assert!(array(&api_get(&s, "root", &holds), "holds").is_empty());
    assert_api_error(
        &send("DELETE", &holds, ""),
        400,
        "DELETE holds without ?path=",
    );
    assert_api_error(
        &send("GET", &format!("{API}/history?limit=many"), ""),
        400,
        "limit=many",
    );
    assert_api_error(
        &send("GET", &format!("{API}/history?since=whenever"), ""),
        400,
        "since=whenever",
    );
    assert_api_error(
        &send("GET", &format!("{API}/nothing"), ""),
        404,
        "unknown endpoint",
    );
    assert_api_error(&send("GET", API, ""), 404, "bare /api");
    assert_api_error(
        &send("DELETE", &format!("{API}/locks"), ""),
        405,
        "DELETE locks",
    );
    assert_api_error(&send("GET", &break_path, ""), 405, "GET .../break");
}

// Issue #4: "GET /_deadbolt/api/history shows acquired/refreshed/released/
// broken events with time, principal (holder), path, token, client address
// and user agent"; newest first; ?path=, ?since=, ?limit=.
#[test]
fn api_history_records_the_life_of_locks() {
    let s = start_team(&[]);
    let start_ms = now_millis();
    assert_eq!(put_as(&s, Some("alice"), "/a.txt", "a").status, 201);
    assert_eq!(put_as(&s, Some("alice"), "/b.txt", "b").status, 201);
    let a = lock_ok_as(&s, Some("alice"), "/a.txt", "0");
    let r = req_as(&s, Some("alice"), "LOCK", "/a.txt")
        .header("If", &if_token(&a))
        .header("Timeout", "Second-120")
        .send();
    assert_eq!(r.status, 200, "refresh: {r:?}");
    assert_eq!(unlock_as(&s, Some("alice"), "/a.txt", &a).status, 204);
    let b = lock_ok_as(&s, Some("alice"), "/b.txt", "0");
    let r = s
        .request("POST", &format!("{API}/locks/{b}/break"))
        .user("root")
        .header("User-Agent", "admin-console/2")
        .header("Content-Type", "application/json")
        .body(r#"{"reason":"stuck"}"#)
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    let end_ms = now_millis();

    let events = api_history(&s, "root", "");
    let kinds = kinds_and_paths(&events);
    assert_eq!(
        kinds,
        vec![
            ("broken", "/b.txt"),
            ("acquired", "/b.txt"),
            ("released", "/a.txt"),
            ("refreshed", "/a.txt"),
            ("acquired", "/a.txt"),
        ],
        "newest first: {events:#?}"
    );
    for (i, e) in events.iter().enumerate() {
        let at = e["at_ms"].as_u64().expect("at_ms");
        assert!(
            (start_ms.saturating_sub(1000)..=end_ms + 1000).contains(&at),
            "event time within the test: {e:#}"
        );
        if let Some(next) = events.get(i + 1) {
            assert!(
                at >= next["at_ms"].as_u64().unwrap(),
                "newest first: {events:#?}"
            );
        }
        assert_eq!(e["holder"], "alice", "the lock's principal: {e:#}");
        let expected_token = if e["path"] == "/a.txt" { &a } else { &b };
        assert_eq!(e["token"], expected_token.as_str(), "{e:#}");
        assert!(
            e["client_address"]
                .as_str()
                .is_some_and(|c| c.starts_with("127.0.0.1:")),
            "client address: {e:#}"
        );
    }
    for e in &events[1..] {
        assert_eq!(e["actor"], "alice", "{e:#}");
        assert_eq!(e["user_agent"], AGENT, "{e:#}");
    }
    assert_eq!(events[0]["actor"], "root", "{:#}", events[0]);
    assert_eq!(
        events[0]["user_agent"], "admin-console/2",
        "{:#}",
        events[0]
    );
    assert_eq!(events[0]["reason"], "stuck", "{:#}", events[0]);

    // Filters.
    let only_a = api_history(&s, "root", "?path=/a.txt");
    assert_eq!(only_a.len(), 3, "{only_a:#?}");
    assert!(only_a.iter().all(|e| e["path"] == "/a.txt"), "{only_a:#?}");
    assert_eq!(api_history(&s, "root", "?path=/").len(), 5);
    assert_eq!(api_history(&s, "root", "?path=/nothing").len(), 0);
    let one = api_history(&s, "root", "?limit=2");
    assert_eq!(one.len(), 2, "{one:#?}");
    assert_eq!(one[0]["kind"], "broken");
    assert_eq!(api_history(&s, "root", "?since=1h").len(), 5);
    assert_eq!(
        api_history(&s, "root", "?since=2999-01-01T00:00:00Z").len(),
        0,
        "nothing happened after 2999"
    );
}

// Issue #4: "`_deadbolt` is never listed by PROPFIND and PUT /_deadbolt/x is
// refused (4xx)"; nor can anything be copied, moved or created there.
#[test]
fn the_admin_prefix_is_reserved() {
    for with_users in [false, true] {
        let s = if with_users {
            start_team(&[])
        } else {
            TestServer::start()
        };
        let user = with_users.then_some("alice");
        let admin = with_users.then_some("root");
        assert_eq!(put_as(&s, user, "/f.txt", "f").status, 201);

        let r = req_as(&s, user, "PROPFIND", "/")
            .header("Depth", "1")
            .send();
        assert_eq!(r.status, 207, "{r:?}");
        let hrefs = r.multistatus().hrefs();
        assert!(hrefs.iter().any(|h| h.ends_with("/f.txt")), "{hrefs:?}");
        assert!(
            !hrefs.iter().any(|h| h.contains("_deadbolt")),
            "PROPFIND lists the admin prefix: {hrefs:?}"
        );

        for who in [user, admin] {
            let label = format!("(users: {with_users}, as {who:?})");
            let r = put_as(&s, who, "/_deadbolt/x", "x");
            assert!(r.is_client_error(), "PUT /_deadbolt/x {label}: {r:?}");
            let r = put_as(&s, who, "/_deadbolt", "x");
            assert!(r.is_client_error(), "PUT /_deadbolt {label}: {r:?}");
            let r = req_as(&s, who, "MKCOL", "/_deadbolt/").send();
            assert!(r.is_client_error(), "MKCOL /_deadbolt/ {label}: {r:?}");
            let r = req_as(&s, who, "PROPFIND", "/_deadbolt/")
                .header("Depth", "0")
                .send();
            assert!(r.is_client_error(), "PROPFIND /_deadbolt/ {label}: {r:?}");
            for method in ["COPY", "MOVE"] {
                for dest in ["/_deadbolt", "/_deadbolt/f.txt"] {
                    let r = req_as(&s, who, method, "/f.txt")
                        .header("Destination", &s.url(dest))
                        .send();
                    assert!(r.is_client_error(), "{method} to {dest} {label}: {r:?}");
                }
            }
            let r = lock_as(&s, who, "/_deadbolt/x", "0", None);
            assert!(r.is_client_error(), "LOCK /_deadbolt/x {label}: {r:?}");
            // Percent-encoding the name does not get around it.
            let mut headers = vec![];
            let auth = who.map(|u| basic(u, &password(u)));
            if let Some(a) = &auth {
                headers.push(("Authorization", a.as_str()));
            }
            let r = s.raw_request("PUT", "/%5Fdeadbolt/y", &headers, b"y");
            assert!(r.is_client_error(), "PUT /%5Fdeadbolt/y {label}: {r:?}");
            let r = s.raw_request("MKCOL", "/%5fdeadbolt", &headers, b"");
            assert!(r.is_client_error(), "MKCOL /%5fdeadbolt {label}: {r:?}");
        }
        // Only the exact, unencoded prefix is the admin API; through an
        // encoded name nobody (not even an anonymous reader) gets at it.
        let mut headers = vec![];
        let auth = user.map(|u| basic(u, &password(u)));
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        let r = s.raw_request("GET", "/%5Fdeadbolt/api/locks", &headers, b"");
        assert_eq!(
            r.status, 404,
            "GET /%5Fdeadbolt/api/locks as {user:?}: {r:?}"
        );
        assert!(!r.body.contains("locks"), "{r:?}");
        assert_eq!(
            snapshot(&s.root()),
            vec![("f.txt".to_string(), Some(b"f".to_vec()))],
            "nothing appeared in the served directory (users: {with_users})"
        );
    }
}

// Issue #4: "a served directory that contains `_deadbolt` makes the server
// refuse to start with a clear message" (a folder or a file).
#[test]
fn a_served_directory_holding_the_admin_prefix_refuses_to_start() {
    for kind in ["directory", "file"] {
        let launch = Launch::new();
        let member = launch.root().join("_deadbolt");
        if kind == "directory" {
            std::fs::create_dir(&member).unwrap();
            std::fs::write(member.join("inside.txt"), "kept").unwrap();
        } else {
            std::fs::write(&member, "kept").unwrap();
        }
        let (status, stdout, stderr) = launch.run_to_exit(Duration::from_secs(20));
        assert!(
            !status.success(),
            "a {kind} named _deadbolt must stop the server; stdout {stdout:?} stderr {stderr:?}"
        );
        assert!(!stdout.contains("listening"), "{stdout:?}");
        assert!(
            stderr.contains("_deadbolt") && stderr.contains("rename"),
            "the message names the member and says what to do ({kind}): {stderr}"
        );
    }
}

#[test]
fn pages_on_other_sites_cannot_act_with_an_administrators_credentials() {
    // Issue 12, item 8: a browser keeps the admin's Basic credentials and
    // sends them with a form or fetch from any page it visits.
    let s = start_team(&[]);
    assert_eq!(put_as(&s, Some("alice"), "/f.txt", "f").status, 201);
    let token = lock_ok_as(&s, Some("alice"), "/f.txt", "0");
    let break_path = format!("{API}/locks/{token}/break");
    let attempts = [
        ("text/plain", Some("http://evil.example"), None, 403),
        ("application/json", Some("http://evil.example"), None, 403),
        ("application/json", None, Some("cross-site"), 403),
        ("application/json", None, Some("same-site"), 403),
        ("text/plain", None, None, 415),
        ("application/x-www-form-urlencoded", None, None, 415),
    ];
    for (content_type, origin, fetch_site, status) in attempts {
        let mut req = s
            .request("POST", &break_path)
            .user("root")
            .header("Content-Type", content_type);
        if let Some(origin) = origin {
            req = req.header("Origin", origin);
        }
        if let Some(site) = fetch_site {
            req = req.header("Sec-Fetch-Site", site);
        }
        let r = req.body(r#"{"reason": "csrf"}"#).send();
        assert_api_error(
            &r,
            status,
            &format!("{content_type} {origin:?} {fetch_site:?}"),
        );
    }
    let hold = s
        .request("POST", &format!("{API}/holds"))
        .user("root")
        .header("Content-Type", "application/json")
        .header("Origin", "http://evil.example")
        .body(r#"{"path": "/", "reason": "csrf"}"#)
        .send();
    assert_api_error(&hold, 403, "a hold from another site");
    let release = s
        .request("DELETE", &format!("{API}/holds?path=/"))
        .user("root")
        .header("Sec-Fetch-Site", "cross-site")
        .send();
    assert_api_error(&release, 403, "a hold release from another site");
    // Nothing happened: the lock is still alice's.
    assert_eq!(put_as(&s, Some("bob"), "/f.txt", "g").status, 423);
    // The admin page's own requests (same origin, JSON) still work.
    let host = s
        .url("/")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let ok = s
        .request("POST", &break_path)
        .user("root")
        .header("Content-Type", "application/json")
        .header("Origin", &format!("http://{host}"))
        .header("Sec-Fetch-Site", "same-origin")
        .body("{}")
        .send();
    assert_eq!(ok.status, 200, "{ok:?}");
}

//! Issue #4, maintenance holds: `deadbolt hold PATH --reason ...` (and the
//! admin API) makes every modifying request under PATH answer 423 with the
//! reason, whoever sends it and whatever lock tokens it carries; reads go
//! on. `hold list`, `hold release`, `--until` (Retry-After), restarts, and
//! the audit trail.
mod support;

use std::time::Duration;

use serde_json::json;
use support::admin::*;
use support::lock::*;
use support::users::*;
use support::{Response, TestServer, poll, propfind_dav_props, proppatch_set, snapshot, sorted};

const NS: &str = "urn:deadbolt:test";
const REASON: &str = "migration to the new NAS";

/// `/tree/{a.txt, sub/b.txt}`, `/outside/o.txt`, made by `user`.
fn tree(s: &TestServer, user: Option<&str>) {
    for dir in ["/tree/", "/tree/sub/", "/outside/"] {
        assert_eq!(
            req_as(s, user, "MKCOL", dir).send().status,
            201,
            "MKCOL {dir}"
        );
    }
    for (file, body) in [
        ("/tree/a.txt", "A"),
        ("/tree/sub/b.txt", "B"),
        ("/outside/o.txt", "O"),
    ] {
        assert_eq!(put_as(s, user, file, body).status, 201, "PUT {file}");
    }
}

fn copy_move(s: &TestServer, user: Option<&str>, method: &str, from: &str, to: &str) -> Response {
    req_as(s, user, method, from)
        .header("Destination", &s.url(to))
        .send()
}

/// Submits `token` (when given) in an If header tagged with the locked
/// resource, so the header is true wherever the request goes (§10.4.2).
fn with_token<'a>(s: &TestServer, req: support::Req<'a>, token: Option<&str>) -> support::Req<'a> {
    match token {
        Some(t) => req.header("If", &format!("<{}> (<{t}>)", s.url("/tree/a.txt"))),
        None => req,
    }
}

/// Every kind of modifying request under `/tree`, as `user`, each with
/// `token` submitted in an If header when given; each must be 423 with the
/// hold's reason.
fn assert_tree_held(s: &TestServer, user: Option<&str>, token: Option<&str>, reason: &str) {
    let who = format!("{user:?} (token: {})", token.is_some());
    let with = |req| with_token(s, req, token);
    let cases: Vec<(String, Response)> = vec![
        (
            "PUT /tree/a.txt (replace)".into(),
            with(req_as(s, user, "PUT", "/tree/a.txt")).body("x").send(),
        ),
        (
            "PUT /tree/new.txt (create)".into(),
            with(req_as(s, user, "PUT", "/tree/new.txt"))
                .body("x")
                .send(),
        ),
        (
            "PUT /tree/sub/b.txt".into(),
            with(req_as(s, user, "PUT", "/tree/sub/b.txt"))
                .body("x")
                .send(),
        ),
        (
            "MKCOL /tree/newdir/".into(),
            with(req_as(s, user, "MKCOL", "/tree/newdir/")).send(),
        ),
        (
            "DELETE /tree/a.txt".into(),
            with(req_as(s, user, "DELETE", "/tree/a.txt")).send(),
        ),
        (
            "DELETE /tree/sub/".into(),
            with(req_as(s, user, "DELETE", "/tree/sub/")).send(),
        ),
        (
            "DELETE /tree/".into(),
            with(req_as(s, user, "DELETE", "/tree/")).send(),
        ),
        (
            "MOVE /tree/a.txt out".into(),
            with(req_as(s, user, "MOVE", "/tree/a.txt"))
                .header("Destination", &s.url("/outside/a.txt"))
                .send(),
        ),
        (
            "MOVE /tree/ away".into(),
            with(req_as(s, user, "MOVE", "/tree/"))
                .header("Destination", &s.url("/moved/"))
                .send(),
        ),
        (
            "MOVE into /tree".into(),
            copy_move(s, user, "MOVE", "/outside/o.txt", "/tree/o.txt"),
        ),
        (
            "COPY into /tree".into(),
            copy_move(s, user, "COPY", "/outside/o.txt", "/tree/o.txt"),
        ),
        (
            "COPY over /tree/a.txt".into(),
            with(req_as(s, user, "COPY", "/outside/o.txt"))
                .header("Destination", &s.url("/tree/a.txt"))
                .send(),
        ),
        (
            "COPY a tree into /tree".into(),
            copy_move(s, user, "COPY", "/outside/", "/tree/copy/"),
        ),
        (
            "PROPPATCH /tree/a.txt".into(),
            with(req_as(s, user, "PROPPATCH", "/tree/a.txt"))
                .xml(&proppatch_set(NS, "p", "v"))
                .send(),
        ),
        (
            "PROPPATCH /tree/".into(),
            with(req_as(s, user, "PROPPATCH", "/tree/"))
                .xml(&proppatch_set(NS, "p", "v"))
                .send(),
        ),
        (
            "LOCK /tree/sub/".into(),
            lock_as(s, user, "/tree/sub/", "infinity", None),
        ),
        (
            "LOCK /tree/ depth 0".into(),
            lock_as(s, user, "/tree/", "0", None),
        ),
        (
            "LOCK /tree/lock-null.txt".into(),
            lock_as(s, user, "/tree/lock-null.txt", "0", None),
        ),
        // A depth-infinity lock on an ancestor would cover the held tree.
        (
            "LOCK / depth infinity".into(),
            lock_as(s, user, "/", "infinity", None),
        ),
    ];
    for (what, resp) in cases {
        assert_held(&resp, "/tree", reason, &format!("{what} by {who}"));
    }
}

/// Reads under the held tree still work.
fn assert_reads_work(s: &TestServer, user: Option<&str>) {
    let r = req_as(s, user, "GET", "/tree/a.txt").send();
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "A"),
        "GET under a hold: {r:?}"
    );
    let r = req_as(s, user, "HEAD", "/tree/sub/b.txt").send();
    assert_eq!(r.status, 200, "HEAD under a hold: {r:?}");
    let r = req_as(s, user, "PROPFIND", "/tree/")
        .header("Depth", "1")
        .xml(&propfind_dav_props(&["getetag", "lockdiscovery"]))
        .send();
    assert_eq!(r.status, 207, "PROPFIND under a hold: {r:?}");
    assert_eq!(r.multistatus().responses.len(), 3, "{r:?}");
    let r = req_as(s, user, "OPTIONS", "/tree/").send();
    assert_eq!(r.status, 200, "OPTIONS under a hold: {r:?}");
}

// Issue #4: "`deadbolt hold /tree --reason "migration" --state-dir S` while
// the server runs -> PUT/MKCOL/DELETE/MOVE/COPY-into/PROPPATCH/LOCK under
// /tree from any user, with or without a valid lock token, answer 423 with
// the reason in the body (`maintenance-hold` element and the reason text);
// GET/PROPFIND still work; writes outside /tree unaffected".
#[test]
fn a_hold_refuses_every_write_under_the_tree_from_everyone() {
    let s = start_team(&[]);
    tree(&s, Some("alice"));
    let token = lock_ok_as(&s, Some("alice"), "/tree/a.txt", "0");
    // alice's token works before the hold.
    assert_eq!(
        put_as_if(&s, Some("alice"), "/tree/a.txt", "A", &token).status,
        204
    );

    let out = cli_on(&s, &["hold", "/tree", "--reason", REASON]);
    let said = out.ok();
    assert!(said.contains("/tree") && said.contains("423"), "{said}");
    let before = snapshot(&s.root());

    assert_tree_held(&s, Some("alice"), Some(&token), REASON);
    assert_tree_held(&s, Some("alice"), None, REASON);
    assert_tree_held(&s, Some("bob"), None, REASON);
    assert_tree_held(&s, Some("root"), None, REASON);
    // Authentication and authorization still come first (§8.1).
    assert_unauthorized(
        &put_as(&s, None, "/tree/a.txt", "x"),
        "anonymous PUT under a hold",
    );
    assert_eq!(put_as(&s, Some("carol"), "/tree/a.txt", "x").status, 403);
    assert_eq!(
        snapshot(&s.root()),
        before,
        "a refused write changed the disk"
    );

    // No --until: no Retry-After; the description says reads still work.
    let r = put_as(&s, Some("bob"), "/tree/a.txt", "x");
    assert_eq!(r.header("retry-after"), None, "{r:?}");
    assert!(r.body.contains("reading still works"), "{r:?}");

    assert_reads_work(&s, Some("bob"));
    assert_reads_work(&s, Some("carol"));
    // COPY out of the held tree only reads it.
    let r = copy_move(&s, Some("bob"), "COPY", "/tree/", "/outside/copy/");
    assert_eq!(r.status, 201, "COPY out of a held tree: {r:?}");
    assert_eq!(
        std::fs::read_to_string(s.root().join("outside/copy/sub/b.txt")).unwrap(),
        "B"
    );

    // Outside the tree, including names that merely start with "tree".
    assert_eq!(put_as(&s, Some("bob"), "/outside/o.txt", "o2").status, 204);
    assert_eq!(
        req_as(&s, Some("bob"), "MKCOL", "/outside/new/")
            .send()
            .status,
        201
    );
    assert_eq!(
        req_as(&s, Some("bob"), "MKCOL", "/tree2/").send().status,
        201
    );
    assert_eq!(put_as(&s, Some("bob"), "/tree2/x.txt", "x").status, 201);
    assert_eq!(put_as(&s, Some("bob"), "/tree.txt", "x").status, 201);
    let r = req_as(&s, Some("bob"), "PROPPATCH", "/")
        .xml(&proppatch_set(NS, "p", "v"))
        .send();
    assert_eq!(r.status, 207, "PROPPATCH on the held tree's parent: {r:?}");
    let t = lock_ok_as(&s, Some("bob"), "/outside/o.txt", "0");
    assert_eq!(unlock_as(&s, Some("bob"), "/outside/o.txt", &t).status, 204);
    assert_eq!(
        copy_move(&s, Some("bob"), "MOVE", "/outside/new/", "/tree3/").status,
        201
    );
}

// Issue #4: "`--until 1h` adds a `Retry-After` header" (RFC 9110 §10.2.3),
// and a hold with an end ends by itself.
#[test]
fn a_hold_until_a_time_adds_retry_after_and_ends_by_itself() {
    let s = TestServer::start();
    tree(&s, None);
    cli_on(&s, &["hold", "/tree", "--reason", REASON, "--until", "1h"]).ok();
    let r = put_as(&s, None, "/tree/a.txt", "x");
    assert_held(&r, "/tree", REASON, "PUT under a hold --until 1h");
    let retry: u64 = r
        .expect_header("retry-after")
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is delay-seconds: {r:?}"));
    assert!(
        (3500..=3600).contains(&retry),
        "Retry-After ~ one hour: {r:?}"
    );
    assert!(
        r.body.contains("until"),
        "the description says until when: {r:?}"
    );
    let v = cli_on(&s, &["hold", "list", "--json"]).json();
    let until = epoch_seconds(array(&v, "holds")[0]["until"].as_str().expect("until"));
    let expected = now_seconds() + 3600;
    assert!(until.abs_diff(expected) <= 60, "until ~ now + 1h: {v:#}");

    // An RFC 3339 end works too; Retry-After counts down to it.
    let at = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() + Duration::from_secs(2 * 3600),
    )
    .to_string();
    cli_on(
        &s,
        &["hold", "/outside", "--reason", "later", "--until", &at],
    )
    .ok();
    let r = put_as(&s, None, "/outside/o.txt", "x");
    assert_held(
        &r,
        "/outside",
        "later",
        "PUT under a hold until an RFC 3339 time",
    );
    let retry: u64 = r.expect_header("retry-after").parse().unwrap();
    assert!((7000..=7200).contains(&retry), "{r:?}");

    // A short hold: refused now, allowed once it has passed (bounded wait).
    assert_eq!(s.mkcol("/short/").status, 201);
    cli_on(
        &s,
        &["hold", "/short", "--reason", "brief", "--until", "2s"],
    )
    .ok();
    assert_held(
        &put_as(&s, None, "/short/f.txt", "x"),
        "/short",
        "brief",
        "PUT during a 2 s hold",
    );
    let ended = poll(Duration::from_secs(15), Duration::from_millis(50), || {
        let r = put_as(&s, None, "/short/f.txt", "x");
        (r.status != 423).then_some(r)
    })
    .expect("the 2 s hold still refuses writes after 15 s");
    assert_eq!(ended.status, 201, "{ended:?}");
    let v = cli_on(&s, &["hold", "list", "--json"]).json();
    let paths: Vec<&str> = array(&v, "holds")
        .iter()
        .map(|h| h["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        sorted(paths.iter().map(|p| p.to_string()).collect()),
        vec!["/outside", "/tree"],
        "an ended hold is not listed: {v:#}"
    );

    // A bad --until is refused and places no hold.
    let bad = cli_on(
        &s,
        &["hold", "/short", "--reason", "r", "--until", "soonish"],
    );
    assert!(bad.failed().contains("invalid time"), "{bad:#?}");
    assert_eq!(put_as(&s, None, "/short/f.txt", "y").status, 204);
}

// Issue #4: "`deadbolt hold list` and `deadbolt locks list` show the hold".
#[test]
fn hold_list_and_locks_list_show_holds() {
    let s = TestServer::start();
    tree(&s, None);
    let empty = cli_on(&s, &["hold", "list", "--json"]).json();
    assert!(array(&empty, "holds").is_empty(), "{empty:#}");

    cli_on(&s, &["hold", "/tree", "--reason", REASON]).ok();
    cli_on(
        &s,
        &["hold", "outside/", "--reason", "audit", "--until", "1h"],
    )
    .ok();

    let out = cli_on(&s, &["hold", "list"]);
    let table = out.ok();
    let line = table
        .lines()
        .find(|l| l.contains("/tree"))
        .unwrap_or_else(|| panic!("hold list lacks /tree:\n{table}"));
    assert!(
        line.contains(REASON) && line.contains("until released") && line.contains("cli:"),
        "{line:?}"
    );
    let line = table
        .lines()
        .find(|l| l.contains("/outside"))
        .unwrap_or_else(|| panic!("hold list lacks /outside:\n{table}"));
    assert!(
        line.contains("audit") && !line.contains("until released"),
        "{line:?}"
    );

    let v = cli_on(&s, &["hold", "list", "--json"]).json();
    let holds = array(&v, "holds");
    assert_eq!(holds.len(), 2, "{v:#}");
    let h = holds.iter().find(|h| h["path"] == "/tree").expect("/tree");
    assert_eq!(h["reason"], REASON, "{h:#}");
    assert_eq!(h["until"], serde_json::Value::Null, "{h:#}");
    assert!(
        h["created_by"]
            .as_str()
            .is_some_and(|c| c.starts_with("cli:")),
        "{h:#}"
    );
    assert!(epoch_seconds(h["created"].as_str().unwrap()).abs_diff(now_seconds()) <= 60);
    let h = holds
        .iter()
        .find(|h| h["path"] == "/outside")
        .expect("/outside, normalised");
    assert!(h["until"].is_string(), "{h:#}");

    let v = cli_on(&s, &["locks", "list", "--json"]).json();
    assert!(array(&v, "locks").is_empty(), "{v:#}");
    let paths: Vec<String> = array(&v, "holds")
        .iter()
        .map(|h| h["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sorted(paths), vec!["/outside", "/tree"], "{v:#}");
    let out = cli_on(&s, &["locks", "list"]);
    let table = out.ok();
    assert!(
        table.contains("/tree") && table.contains(REASON),
        "locks list shows holds:\n{table}"
    );

    // Placing a hold again on the same tree replaces its reason.
    cli_on(&s, &["hold", "/tree", "--reason", "second thoughts"]).ok();
    let v = cli_on(&s, &["hold", "list", "--json"]).json();
    assert_eq!(array(&v, "holds").len(), 2, "{v:#}");
    assert_held(
        &put_as(&s, None, "/tree/a.txt", "x"),
        "/tree",
        "second thoughts",
        "PUT after re-holding",
    );
}

// Issue #4: "holds survive a server restart; `deadbolt hold release /tree`
// -> writes succeed again; the history shows hold-set and hold-released".
// Nested holds are independent.
#[test]
fn holds_survive_restarts_and_release_restores_writes() {
    let mut s = TestServer::start();
    tree(&s, None);
    // A hold on a sibling whose name starts with "tree" is no part of /tree.
    cli_on(&s, &["hold", "/tree2", "--reason", "sibling"]).ok();
    cli_on(&s, &["hold", "/tree", "--reason", REASON]).ok();
    cli_on(&s, &["hold", "/tree/sub", "--reason", "inner"]).ok();
    assert_held(
        &put_as(&s, None, "/tree/a.txt", "x"),
        "/tree",
        REASON,
        "PUT before the restart",
    );

    s.restart();
    assert_held(
        &put_as(&s, None, "/tree/a.txt", "x"),
        "/tree",
        REASON,
        "PUT after the restart",
    );
    assert_eq!(s.mkcol("/tree/n/").status, 423);
    assert_eq!(s.get("/tree/a.txt").body, "A");

    let out = cli_on(&s, &["hold", "release", "/tree"]);
    assert!(out.ok().contains("/tree"), "{out:#?}");
    assert_eq!(put_as(&s, None, "/tree/a.txt", "A2").status, 204);
    assert_eq!(s.mkcol("/tree/n/").status, 201);
    // The inner hold is still there.
    assert_held(
        &put_as(&s, None, "/tree/sub/b.txt", "x"),
        "/tree/sub",
        "inner",
        "PUT under the inner hold",
    );
    // ... and a tree operation on its ancestor touches it.
    assert_held(
        &s.delete("/tree/"),
        "/tree/sub",
        "inner",
        "DELETE of the held tree's parent",
    );
    let again = cli_on(&s, &["hold", "release", "/tree"]);
    assert!(again.failed().contains("no maintenance hold"), "{again:#?}");
    cli_on(&s, &["hold", "release", "/tree/sub/"]).ok();
    assert_eq!(put_as(&s, None, "/tree/sub/b.txt", "B2").status, 204);

    let v = cli_on(&s, &["locks", "history", "--json", "--path", "/tree"]).json();
    let events = array(&v, "events");
    let kinds = kinds_and_paths(events);
    assert_eq!(
        kinds,
        vec![
            ("hold-released", "/tree/sub"),
            ("hold-released", "/tree"),
            ("hold-set", "/tree/sub"),
            ("hold-set", "/tree"),
        ],
        "{v:#}"
    );
    let set = &events[3];
    assert_eq!(set["reason"], REASON, "{set:#}");
    assert!(
        set["actor"].as_str().is_some_and(|a| a.starts_with("cli:")),
        "{set:#}"
    );
    let out = cli_on(&s, &["locks", "history"]);
    let table = out.ok();
    assert!(
        table.contains("hold-set") && table.contains("hold-released") && table.contains(REASON),
        "{table}"
    );
}

// Issue #4: "the API: POST /_deadbolt/api/holds and DELETE
// /_deadbolt/api/holds?path= do the same", recorded in the history.
#[test]
fn the_admin_api_places_and_releases_holds() {
    let s = start_team(&[]);
    tree(&s, Some("alice"));
    let holds = "/_deadbolt/api/holds";
    let post = |user: &str, body: serde_json::Value| {
        s.request("POST", holds)
            .user(user)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
    };

    let r = post("bob", json!({"path": "/tree", "reason": "mine"}));
    assert_eq!(r.status, 403, "a non-admin places a hold: {r:?}");
    assert_eq!(put_as(&s, Some("bob"), "/tree/a.txt", "b").status, 204);

    let r = post(
        "root",
        json!({"path": "tree/", "reason": "api maintenance", "until": "1h"}),
    );
    assert_eq!(r.status, 201, "{r:?}");
    let v = json(&r);
    assert_eq!(v["hold"]["path"], "/tree", "{v:#}");
    assert_eq!(v["hold"]["reason"], "api maintenance", "{v:#}");
    assert_eq!(v["hold"]["created_by"], "root", "{v:#}");
    assert!(v["hold"]["until"].is_string(), "{v:#}");

    let r = put_as(&s, Some("alice"), "/tree/a.txt", "x");
    assert_held(&r, "/tree", "api maintenance", "PUT under an API hold");
    assert!(r.header("retry-after").is_some(), "{r:?}");
    assert_tree_held(&s, Some("root"), None, "api maintenance");

    let listed = api_get(&s, "root", holds);
    assert_eq!(array(&listed, "holds").len(), 1, "{listed:#}");
    let listed = api_get(&s, "root", "/_deadbolt/api/locks");
    assert_eq!(array(&listed, "holds")[0]["path"], "/tree", "{listed:#}");
    let cli_list = cli_on(&s, &["hold", "list", "--json"]).json();
    assert_eq!(
        array(&cli_list, "holds")[0]["created_by"],
        "root",
        "{cli_list:#}"
    );

    let r = s
        .request("DELETE", &format!("{holds}?path=/tree"))
        .user("bob")
        .send();
    assert_eq!(r.status, 403, "a non-admin releases a hold: {r:?}");
    assert_eq!(put_as(&s, Some("bob"), "/tree/a.txt", "x").status, 423);

    let r = s
        .request("DELETE", &format!("{holds}?path=/tree"))
        .user("root")
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(json(&r)["released"], "/tree");
    assert_eq!(put_as(&s, Some("bob"), "/tree/a.txt", "b2").status, 204);
    assert!(array(&api_get(&s, "root", holds), "holds").is_empty());
    let r = s
        .request("DELETE", &format!("{holds}?path=/tree"))
        .user("root")
        .send();
    assert_api_error(&r, 404, "releasing a released hold");

    let events = api_history(&s, "root", "?path=/tree");
    let set = events_of(&events, "hold-set", None);
    assert_eq!(set.len(), 1, "{events:#?}");
    assert_eq!(set[0]["actor"], "root", "{events:#?}");
    assert_eq!(set[0]["reason"], "api maintenance", "{events:#?}");
    assert_eq!(set[0]["path"], "/tree", "{events:#?}");
    let released = events_of(&events, "hold-released", None);
    assert_eq!(released.len(), 1, "{events:#?}");
    assert_eq!(released[0]["actor"], "root", "{events:#?}");
    assert!(
        released[0]["client_address"]
            .as_str()
            .is_some_and(|c| c.starts_with("127.0.0.1:")),
        "{events:#?}"
    );
}

// A hold placed while a client holds a lock: the lock stays (it is listed
// and can be released), but even its holder cannot write until the hold
// ends; afterwards the lock is enforced again.
#[test]
fn locks_under_a_hold_survive_it() {
    let s = start_team(&[]);
    tree(&s, Some("alice"));
    let token = lock_ok_as(&s, Some("alice"), "/tree/a.txt", "0");
    cli_on(&s, &["hold", "/tree", "--reason", REASON]).ok();
    assert_held(
        &put_as_if(&s, Some("alice"), "/tree/a.txt", "x", &token),
        "/tree",
        REASON,
        "the lock holder's PUT",
    );
    let v = cli_on(&s, &["locks", "list", "--json"]).json();
    assert_eq!(tokens(array(&v, "locks")), vec![token.clone()], "{v:#}");
    cli_on(&s, &["hold", "release", "/tree"]).ok();
    assert_lock_token_submitted(&put_as(&s, Some("bob"), "/tree/a.txt", "b"), "/tree/a.txt");
    assert_eq!(
        put_as_if(&s, Some("alice"), "/tree/a.txt", "A2", &token).status,
        204
    );
    assert_eq!(
        unlock_as(&s, Some("alice"), "/tree/a.txt", &token).status,
        204
    );
}

// `--until` names when the hold ends; a time already past would place a hold
// that refuses nothing while the command says "writes there now answer
// 423". It must be refused (CLI and API alike), and no hold is left behind.
#[test]
fn a_hold_that_would_already_have_ended_is_refused() {
    let s = start_team(&[]);
    tree(&s, Some("alice"));
    for until in ["2020-01-01T00:00:00Z", "0s"] {
        let out = cli_on(&s, &["hold", "/tree", "--reason", "past", "--until", until]);
        assert!(
            !out.success,
            "hold --until {until} (already past) must fail, not claim that writes \
             answer 423: {out:#?}"
        );
        let r = s
            .request("POST", "/_deadbolt/api/holds")
            .user("root")
            .body(json!({"path": "/tree", "reason": "past", "until": until}).to_string())
            .send();
        assert_api_error(&r, 400, &format!("POST holds until {until}"));
    }
    assert_eq!(put_as(&s, Some("bob"), "/tree/a.txt", "b").status, 204);
    let v = cli_on(&s, &["hold", "list", "--json"]).json();
    assert!(array(&v, "holds").is_empty(), "{v:#}");
}

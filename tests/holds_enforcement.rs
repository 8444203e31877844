//! Issue #4, maintenance holds, what they refuse: a hold placed with
//! `deadbolt hold PATH --reason ...` or through the admin API makes every
//! modifying request under PATH answer 423 with the reason, whoever sends it
//! and whatever lock tokens it carries; reads, writes outside PATH and the
//! locks under PATH go on. How holds end, are listed, survive restarts and
//! are released is in `holds_lifecycle.rs`.
mod support;

use serde_json::json;
use support::admin::*;
use support::lock::*;
use support::users::*;
use support::{Response, TestServer, propfind_dav_props, proppatch_set, snapshot};

const NS: &str = "urn:deadbolt:test";

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

//! The Git LFS File Locking API (issue 10, part 2): the real `git lfs`
//! client against the real server, and the API at the HTTP level.
//!
//! Users (tests/support/users.rs): alice and bob read and write, carol only
//! reads, root is an administrator. The repository is `projects/game`, so
//! the LFS path `assets/hero.psd` is the served `/projects/game/assets/hero.psd`.
mod support;

#[path = "lfs/git.rs"]
mod git;

use std::collections::BTreeSet;

use serde_json::{Value, json};

use git::WorkingCopy;
use support::admin::{api_get, api_history, array, cli_on, events_of};
use support::lock::{lock_as, lock_token_header, put_as_if};
use support::users::{put_as, req_as, start_team};
use support::{Req, Response, TestServer};

const REPO: &str = "projects/game";
const HERO: &str = "/projects/game/assets/hero.psd";
const MEDIA_TYPE: &str = "application/vnd.git-lfs+json";

/// A request to the LFS API of `repository`, as git-lfs sends them.
fn lfs<'a>(s: &'a TestServer, user: Option<&str>, method: &str, rest: &str) -> Req<'a> {
    req_as(s, user, method, &format!("/_deadbolt/lfs/{REPO}{rest}"))
        .header("Accept", MEDIA_TYPE)
        .header("Content-Type", MEDIA_TYPE)
}

fn create(s: &TestServer, user: &str, path: &str) -> Response {
    lfs(s, Some(user), "POST", "/locks")
        .body(json!({ "path": path, "ref": { "name": "refs/heads/main" } }).to_string())
        .send()
}

/// The id of a lock the server must grant.
fn create_ok(s: &TestServer, user: &str, path: &str) -> String {
    let r = create(s, user, path);
    assert_eq!(r.status, 201, "{user} locks {path}: {r:?}");
    let lock = &body(&r)["lock"];
    assert_eq!(lock["path"], path, "{r:?}");
    assert_eq!(lock["owner"]["name"], user, "{r:?}");
    lock["id"].as_str().expect("an id").to_owned()
}

/// The JSON body of an answer, after checking the API's media type.
fn body(r: &Response) -> Value {
    let ct = r.header("content-type").unwrap_or("");
    assert!(ct.starts_with(MEDIA_TYPE), "Content-Type {ct:?}: {r:?}");
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {r:?}"))
}

/// The message of an error answer with `status`.
fn error(r: &Response, status: u16, what: &str) -> String {
    assert_eq!(r.status, status, "{what}: {r:?}");
    let v = body(r);
    let message = v["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no message: {r:?}"));
    assert!(
        !message.is_empty() && message.len() < 300,
        "{what}: a short reason: {message:?}"
    );
    message.to_owned()
}

/// Every lock of `deadbolt locks list --json` on the server's state.
fn cli_locks(s: &TestServer) -> Vec<Value> {
    array(&cli_on(s, &["locks", "list", "--json"]).json(), "locks").clone()
}

fn mkcols(s: &TestServer, user: &str, paths: &[&str]) {
    for path in paths {
        let r = req_as(s, Some(user), "MKCOL", path).send();
        assert_eq!(r.status, 201, "MKCOL {path}: {r:?}");
    }
}

// ---- the real client ----

#[test]
fn git_lfs_lock_locks_verify_and_unlock() {
    if !git::available("git_lfs_lock_locks_verify_and_unlock") {
        return;
    }
    let s = start_team(&[]);
    let alice = WorkingCopy::new(&s, "alice", REPO);
    let bob = WorkingCopy::new(&s, "bob", REPO);
    assert!(
        alice
            .ok(&["lfs", "lock", "assets/hero.psd"])
            .contains("Locked assets/hero.psd")
    );

    let listed: Value = serde_json::from_str(&bob.ok(&["lfs", "locks", "--json"])).expect("JSON");
    let locks = listed.as_array().expect("a list");
    assert_eq!(locks.len(), 1, "{listed:#}");
    assert_eq!(locks[0]["path"], "assets/hero.psd");
    assert_eq!(locks[0]["owner"]["name"], "alice");
    let id = locks[0]["id"].as_str().expect("id").to_owned();
    let table = bob.ok(&["lfs", "locks"]);
    assert!(
        table.contains("assets/hero.psd") && table.contains(&format!("ID:{id}")),
        "{table}"
    );

    // Verification, without a push: "O" marks one's own locks.
    let ours = alice.ok(&["lfs", "locks", "--verify"]);
    assert!(ours.starts_with("O assets/hero.psd"), "{ours}");
    let theirs = bob.ok(&["lfs", "locks", "--verify"]);
    assert!(
        theirs.starts_with("  assets/hero.psd") && theirs.contains("alice"),
        "{theirs}"
    );

    // The one lock table: an exclusive depth-0 lock on the served path,
    // its token the id, lasting --lock-timeout-max (a week).
    let token = format!("urn:uuid:{id}");
    let in_table = cli_locks(&s);
    assert_eq!(in_table.len(), 1, "{in_table:#?}");
    let lock = &in_table[0];
    assert_eq!(
        (
            &lock["path"],
            &lock["token"],
            &lock["scope"],
            &lock["depth"],
            &lock["holder"]
        ),
        (
            &json!(HERO),
            &json!(token),
            &json!("exclusive"),
            &json!("0"),
            &json!("alice")
        )
    );
    let left = lock["seconds_left"].as_u64().expect("seconds_left");
    assert!(
        left > 6 * 24 * 3600 && left <= 7 * 24 * 3600,
        "a week: {left}"
    );
    let api = api_get(&s, "root", &format!("/_deadbolt/api/locks/{token}"));
    assert_eq!(api["lock"]["holder"], "alice");

    assert!(
        alice
            .ok(&["lfs", "unlock", "assets/hero.psd"])
            .contains("Unlocked assets/hero.psd")
    );
    assert_eq!(alice.ok(&["lfs", "locks"]).trim(), "");
    assert!(cli_locks(&s).is_empty());
    let history = api_history(&s, "root", "?path=/projects/game");
    for kind in ["acquired", "released"] {
        let events = events_of(&history, kind, Some(&token));
        assert_eq!(events.len(), 1, "one {kind} event: {history:#?}");
        assert_eq!(events[0]["holder"], "alice");
        assert_eq!(events[0]["path"], HERO);
    }
}

#[test]
fn a_second_users_git_lfs_lock_fails_naming_the_holder() {
    if !git::available("a_second_users_git_lfs_lock_fails_naming_the_holder") {
        return;
    }
    let s = start_team(&[]);
    let alice = WorkingCopy::new(&s, "alice", REPO);
    let bob = WorkingCopy::new(&s, "bob", REPO);
    alice.ok(&["lfs", "lock", "assets/hero.psd"]);
    let refused = bob.fails(&["lfs", "lock", "assets/hero.psd"]);
    assert!(
        refused.contains("assets/hero.psd is already locked by alice"),
        "{refused}"
    );
    // Locking again is refused to the holder too, and says so.
    let again = alice.fails(&["lfs", "lock", "assets/hero.psd"]);
    assert!(again.contains("already locked by you"), "{again}");
    // Other files are free.
    bob.ok(&["lfs", "lock", "assets/villain.psd"]);
    assert_eq!(cli_locks(&s).len(), 2);
}

#[test]
fn a_webdav_put_to_an_lfs_locked_file_gets_423_unless_it_submits_the_lock() {
    if !git::available("a_webdav_put_to_an_lfs_locked_file_gets_423_unless_it_submits_the_lock") {
        return;
    }
    let s = start_team(&[]);
    mkcols(
        &s,
        "alice",
        &["/projects/", "/projects/game/", "/projects/game/assets/"],
    );
    let alice = WorkingCopy::new(&s, "alice", REPO);
    alice.ok(&["lfs", "lock", "assets/hero.psd"]);
    let listed: Value = serde_json::from_str(&alice.ok(&["lfs", "locks", "--json"])).expect("JSON");
    let id = listed[0]["id"].as_str().expect("id").to_owned();

    let r = put_as(&s, Some("bob"), HERO, "bob's version");
    assert_eq!(r.status, 423, "{r:?}");
    assert!(r.body.contains("locked by alice (Git LFS)"), "{r:?}");
    // The holder too needs the lock's token, which is urn:uuid:<id>.
    assert_eq!(put_as(&s, Some("alice"), HERO, "v2").status, 423);
    let r = put_as_if(&s, Some("alice"), HERO, "v2", &format!("urn:uuid:{id}"));
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        std::fs::read_to_string(s.root().join(&HERO[1..])).expect("written"),
        "v2"
    );
}

#[test]
fn git_lfs_lock_of_a_file_held_over_webdav_fails_naming_the_holder() {
    if !git::available("git_lfs_lock_of_a_file_held_over_webdav_fails_naming_the_holder") {
        return;
    }
    let s = start_team(&[]);
    mkcols(
        &s,
        "bob",
        &[
            "/projects/",
            "/projects/game/",
            "/projects/game/assets/",
            "/projects/game/levels/",
        ],
    );
    let r = lock_as(&s, Some("bob"), HERO, "0", Some("Bob's laptop"));
    assert_eq!(r.status, 201, "{r:?}");
    let r = lock_as(&s, Some("bob"), "/projects/game/levels/", "infinity", None);
    assert_eq!(r.status, 200, "{r:?}");
    let tree_token = lock_token_header(&r);

    let alice = WorkingCopy::new(&s, "alice", REPO);
    let refused = alice.fails(&["lfs", "lock", "assets/hero.psd"]);
    assert!(
        refused.contains("assets/hero.psd is already locked by bob (Bob's laptop)"),
        "{refused}"
    );
    // A depth-infinity lock on a folder covers files that do not exist yet.
    let refused = alice.fails(&["lfs", "lock", "levels/one.psd"]);
    let tree_id = tree_token.trim_start_matches("urn:uuid:");
    assert!(
        refused.contains(
            "levels/one.psd is inside levels, which is locked with depth infinity by bob"
        ) && refused.contains(tree_id),
        "{refused}"
    );
    // git lfs sees WebDAV locks like its own.
    let table = alice.ok(&["lfs", "locks"]);
    assert!(
        table.contains("assets/hero.psd") && table.contains("levels"),
        "{table}"
    );
    assert!(cli_locks(&s).iter().all(|l| l["holder"] == "bob"));
}

#[test]
fn unlocking_someone_elses_lock_needs_force_and_force_needs_an_administrator() {
    if !git::available("unlocking_someone_elses_lock_needs_force_and_force_needs_an_administrator")
    {
        return;
    }
    let s = start_team(&[]);
    let alice = WorkingCopy::new(&s, "alice", REPO);
    let bob = WorkingCopy::new(&s, "bob", REPO);
    let root = WorkingCopy::new(&s, "root", REPO);
    alice.ok(&["lfs", "lock", "assets/hero.psd"]);
    let refused = bob.fails(&["lfs", "unlock", "assets/hero.psd"]);
    assert!(
        refused.contains("locked by alice") && refused.contains("--force"),
        "{refused}"
    );
    let refused = bob.fails(&["lfs", "unlock", "--force", "assets/hero.psd"]);
    assert!(refused.contains("only an administrator"), "{refused}");
    assert_eq!(cli_locks(&s).len(), 1, "the lock is still there");

    let forced = root.ok(&["lfs", "unlock", "--force", "assets/hero.psd"]);
    assert!(forced.contains("Unlocked assets/hero.psd"), "{forced}");
    assert!(cli_locks(&s).is_empty());
    let broken = api_history(&s, "root", &format!("?path={HERO}"));
    let broken = events_of(&broken, "broken", None);
    assert_eq!(broken.len(), 1, "{broken:#?}");
    assert_eq!(
        (
            &broken[0]["holder"],
            &broken[0]["actor"],
            &broken[0]["reason"]
        ),
        (
            &json!("alice"),
            &json!("root"),
            &json!("git lfs unlock --force")
        )
    );
    bob.ok(&["lfs", "lock", "assets/hero.psd"]);
}

#[test]
fn an_lfs_lock_broken_with_the_cli_is_gone_for_git_lfs() {
    if !git::available("an_lfs_lock_broken_with_the_cli_is_gone_for_git_lfs") {
        return;
    }
    let s = start_team(&[]);
    let alice = WorkingCopy::new(&s, "alice", REPO);
    let bob = WorkingCopy::new(&s, "bob", REPO);
    alice.ok(&["lfs", "lock", "assets/map.psd"]);
    let token = cli_locks(&s)[0]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    cli_on(&s, &["locks", "break", &token, "--reason", "alice is away"]).ok();
    assert_eq!(bob.ok(&["lfs", "locks"]).trim(), "");
    bob.ok(&["lfs", "lock", "assets/map.psd"]);
    assert!(
        bob.ok(&["lfs", "locks", "--verify"])
            .starts_with("O assets/map.psd")
    );
    assert!(alice.dir().join("assets/map.psd").is_file());
}

// ---- the API at the HTTP level ----

/// Follows `next_cursor` from `first` to the end; the pages, in order.
fn all_pages(mut fetch: impl FnMut(Option<&str>) -> Value) -> Vec<Value> {
    let mut pages = vec![fetch(None)];
    while let Some(next) = pages.last().and_then(|p| p["next_cursor"].as_str()) {
        let next = next.to_owned();
        pages.push(fetch(Some(&next)));
        assert!(pages.len() < 20, "the cursor never ends: {pages:#?}");
    }
    pages
}

#[test]
fn listing_pages_with_a_cursor_newest_first_and_only_inside_the_repository() {
    let s = start_team(&[]);
    let mut ids: Vec<String> = (1..=5)
        .map(|i| create_ok(&s, "alice", &format!("a/{i}.psd")))
        .collect();
    ids.extend((1..=2).map(|i| create_ok(&s, "bob", &format!("b/{i}.psd"))));
    // Not in this repository: another repository's lock, WebDAV locks
    // elsewhere and on the repository's folder itself (no file in it).
    mkcols(&s, "bob", &["/projects/", "/projects/game/"]);
    assert_eq!(
        lock_as(&s, Some("bob"), "/projects/game/", "0", None).status,
        200
    );
    let other = req_as(
        &s,
        Some("alice"),
        "POST",
        "/_deadbolt/lfs/projects/other/locks",
    )
    .body(r#"{"path": "a/1.psd"}"#)
    .send();
    assert_eq!(other.status, 201, "{other:?}");
    let other_id = body(&other)["lock"]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        lock_as(&s, Some("bob"), "/elsewhere.txt", "0", None).status,
        201
    );

    let pages = all_pages(|cursor| {
        let query = cursor.map_or(String::new(), |c| format!("&cursor={c}"));
        let r = lfs(&s, Some("carol"), "GET", &format!("/locks?limit=3{query}")).send();
        assert_eq!(r.status, 200, "{r:?}");
        body(&r)
    });
    let listed: Vec<&Value> = pages.iter().flat_map(|p| array(p, "locks")).collect();
    assert_eq!(
        pages
            .iter()
            .map(|p| array(p, "locks").len())
            .collect::<Vec<_>>(),
        [3, 3, 1]
    );
    let seen: BTreeSet<&str> = listed
        .iter()
        .map(|l| l["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        seen,
        ids.iter().map(String::as_str).collect(),
        "each lock once"
    );
    let times: Vec<&str> = listed
        .iter()
        .map(|l| l["locked_at"].as_str().expect("time"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    assert!(
        times.iter().all(|t| t.ends_with('Z') && t.len() == 20),
        "{times:?}"
    );

    let by_path = body(
        &lfs(
            &s,
            Some("carol"),
            "GET",
            "/locks?path=b/2.psd&refspec=refs/heads/main",
        )
        .send(),
    );
    assert_eq!(array(&by_path, "locks").len(), 1);
    assert_eq!(by_path["locks"][0]["owner"]["name"], "bob");
    let by_id = body(&lfs(&s, Some("carol"), "GET", &format!("/locks?id={}", ids[0])).send());
    assert_eq!(by_id["locks"][0]["path"], "a/1.psd");
    let elsewhere = body(&lfs(&s, Some("carol"), "GET", &format!("/locks?id={other_id}")).send());
    assert!(array(&elsewhere, "locks").is_empty(), "{elsewhere:#}");
    let everything = body(&lfs(&s, Some("carol"), "GET", "/locks?limit=0").send());
    assert_eq!(array(&everything, "locks").len(), 7);
    assert!(everything.get("next_cursor").is_none());

    // Verification pages the same way and splits by owner.
    let pages = all_pages(|cursor| {
        let r = lfs(&s, Some("alice"), "POST", "/locks/verify")
            .body(json!({ "limit": 2, "cursor": cursor }).to_string())
            .send();
        assert_eq!(r.status, 200, "{r:?}");
        body(&r)
    });
    let count = |key: &str| pages.iter().map(|p| array(p, key).len()).sum::<usize>();
    assert_eq!((count("ours"), count("theirs"), pages.len()), (5, 2, 4));
    assert!(
        pages
            .iter()
            .flat_map(|p| array(p, "ours"))
            .all(|l| l["owner"]["name"] == "alice")
    );

    for query in [
        "cursor=nonsense",
        "cursor=12.not-an-id",
        "limit=many",
        "limit=-1",
        "path=../x",
    ] {
        let r = lfs(&s, Some("carol"), "GET", &format!("/locks?{query}")).send();
        error(&r, 400, query);
    }
}

#[test]
fn refusals_are_lfs_json_with_the_right_status_and_a_short_reason() {
    let s = start_team(&[]);
    let r = lfs(&s, None, "POST", "/locks")
        .body(r#"{"path": "a.psd"}"#)
        .send();
    error(&r, 401, "no credentials");
    assert!(
        r.expect_header("lfs-authenticate")
            .starts_with("Basic realm=\"deadbolt\"")
    );
    assert!(
        r.expect_header("www-authenticate")
            .starts_with("Basic realm=\"deadbolt\"")
    );
    let r = lfs(&s, None, "GET", "/locks")
        .auth("Basic YWxpY2U6bm9wZQ==")
        .send();
    error(&r, 401, "a wrong password");

    // Read-only users list and verify, and may not lock or unlock.
    let id = create_ok(&s, "alice", "assets/hero.psd");
    let message = error(
        &create(&s, "carol", "assets/villain.psd"),
        403,
        "carol locks",
    );
    assert!(message.contains("carol may only read"), "{message}");
    assert_eq!(lfs(&s, Some("carol"), "GET", "/locks").send().status, 200);
    assert_eq!(
        lfs(&s, Some("carol"), "POST", "/locks/verify")
            .body("{}")
            .send()
            .status,
        200
    );
    let r = lfs(&s, Some("carol"), "POST", &format!("/locks/{id}/unlock"))
        .body("{}")
        .send();
    error(&r, 403, "carol unlocks");

    for unknown in [
        "6f0c9a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6",
        "not-an-id",
        "%2e%2e",
    ] {
        let r = lfs(
            &s,
            Some("alice"),
            "POST",
            &format!("/locks/{unknown}/unlock"),
        )
        .send();
        error(&r, 404, unknown);
    }
    for bad_json in ["{", "[]", r#"{"path": 7}"#, r#"{"force": true}"#] {
        let r = lfs(&s, Some("alice"), "POST", "/locks")
            .body(bad_json)
            .send();
        assert!(error(&r, 400, bad_json).starts_with("invalid JSON body"));
    }
    for bad in [
        "",
        "../outside.psd",
        "a/../../x.psd",
        "/etc/passwd",
        "a//b.psd",
        "a/./b.psd",
        "dir/",
        "a\\b.psd",
    ] {
        let message = error(&create(&s, "alice", bad), 400, bad);
        assert!(
            message.starts_with(&format!("invalid path {bad:?}")),
            "{message}"
        );
    }
    let r = s.raw_request(
        "POST",
        "/_deadbolt/lfs/projects/%2e%2e/locks",
        &[(
            "Authorization",
            &support::users::basic("alice", "alice-secret"),
        )],
        br#"{"path": "x"}"#,
    );
    error(&r, 400, "a repository with '..'");
    let r = req_as(&s, Some("alice"), "POST", "/_deadbolt/lfs/_deadbolt/locks")
        .body(r#"{"path": "x"}"#)
        .send();
    assert!(error(&r, 400, "the reserved prefix").contains("reserved"));
    let in_table = cli_locks(&s);
    assert_eq!(in_table.len(), 1, "nothing but alice's lock: {in_table:#?}");

    let r = lfs(&s, Some("alice"), "GET", "/locks/verify").send();
    error(&r, 405, "GET verify");
    assert_eq!(r.header("allow"), Some("POST"));
    let r = lfs(&s, Some("alice"), "DELETE", "/locks").send();
    assert_eq!(r.header("allow"), Some("GET, POST"), "{r:?}");
    let r = lfs(&s, Some("alice"), "POST", "/objects/batch")
        .body("{}")
        .send();
    assert!(error(&r, 404, "objects").contains("locking API"));
    // The LFS prefix is for every user; the rest of /_deadbolt/ stays the admins'.
    assert_eq!(
        req_as(&s, Some("alice"), "GET", "/_deadbolt/api/locks")
            .send()
            .status,
        403
    );
}

#[test]
fn unlock_is_the_holders_and_force_is_the_administrators() {
    let s = start_team(&[]);
    let id = create_ok(&s, "alice", "assets/hero.psd");
    let unlock = |user: &str, force: bool| {
        lfs(&s, Some(user), "POST", &format!("/locks/{id}/unlock"))
            .body(json!({ "force": force, "ref": { "name": "refs/heads/main" } }).to_string())
            .send()
    };
    let message = error(&unlock("bob", false), 403, "bob without force");
    assert!(message.contains("locked by alice"), "{message}");
    error(&unlock("bob", true), 403, "bob with force");
    // Administrators, too, say --force to take someone else's lock.
    error(&unlock("root", false), 403, "root without force");
    let r = unlock("root", true);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(body(&r)["lock"]["id"], id);
    error(&unlock("root", true), 404, "gone");

    // The holder needs no force, and conflicting locks answer 409 with the lock.
    let id = create_ok(&s, "bob", "assets/hero.psd");
    let r = create(&s, "alice", "assets/hero.psd");
    let message = error(&r, 409, "alice locks bob's file");
    assert!(message.contains("already locked by bob"), "{message}");
    assert_eq!(body(&r)["lock"]["id"], id);
    let r = lfs(&s, Some("bob"), "POST", &format!("/locks/{id}/unlock")).send();
    assert_eq!(r.status, 200, "an empty body is no force: {r:?}");
}

#[test]
fn hide_lock_owners_leaves_other_users_names_out() {
    let s = start_team(&["--hide-lock-owners"]);
    let id = create_ok(&s, "alice", "assets/hero.psd");
    let message = error(&create(&s, "bob", "assets/hero.psd"), 409, "bob");
    assert!(
        message.contains("locked by another user") && !message.contains("alice"),
        "{message}"
    );
    let for_bob = body(&lfs(&s, Some("bob"), "GET", "/locks").send());
    assert_eq!(for_bob["locks"][0]["id"], id);
    assert!(for_bob["locks"][0].get("owner").is_none(), "{for_bob:#}");
    let for_alice = body(&lfs(&s, Some("alice"), "GET", "/locks").send());
    assert_eq!(for_alice["locks"][0]["owner"]["name"], "alice");
}

#[test]
fn without_users_locks_have_no_owner_and_anyone_may_unlock() {
    let s = TestServer::start();
    let r = req_as(&s, None, "POST", &format!("/_deadbolt/lfs/{REPO}/locks"))
        .body(r#"{"path": "assets/hero.psd"}"#)
        .send();
    assert_eq!(r.status, 201, "{r:?}");
    let lock = body(&r)["lock"].clone();
    assert!(lock.get("owner").is_none(), "nobody to name: {lock:#}");
    let verified = body(&lfs(&s, None, "POST", "/locks/verify").send());
    assert_eq!(array(&verified, "ours").len(), 1, "{verified:#}");
    let id = lock["id"].as_str().expect("id");
    let r = lfs(&s, None, "POST", &format!("/locks/{id}/unlock")).send();
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn a_page_on_another_site_cannot_lock_or_unlock() {
    // Issue 12, item 8: every state-changing route refuses cross-site
    // requests, which carry the credentials a browser keeps.
    let s = start_team(&[]);
    let r = lfs(&s, Some("alice"), "POST", "/locks")
        .header("Origin", "http://evil.example")
        .body(json!({ "path": "assets/hero.psd" }).to_string())
        .send();
    error(&r, 403, "a cross-site lock");
    let id = create_ok(&s, "alice", "assets/hero.psd");
    let r = lfs(&s, Some("alice"), "POST", &format!("/locks/{id}/unlock"))
        .header("Sec-Fetch-Site", "cross-site")
        .body("{}")
        .send();
    error(&r, 403, "a cross-site unlock");
    let listed = lfs(&s, Some("bob"), "GET", "/locks").send();
    assert_eq!(
        body(&listed)["locks"].as_array().map(Vec::len),
        Some(1),
        "still locked"
    );
}

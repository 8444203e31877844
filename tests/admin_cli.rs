//! Issue #4, the admin commands on a running server's state directory:
//! `deadbolt locks list|break|history`, and how they find the state
//! (`--state-dir`, `--root`, `--config`, `DEADBOLT_STATE_DIR`).
mod support;

use serde_json::Value;
use support::admin::*;
use support::lock::*;
use support::users::*;
use support::{Launch, TestServer, sorted, toml_path};

/// alice's lock on `/docs/report.txt` (with an owner) and bob's on
/// `/other/b.txt`; returns (alice's, bob's) tokens.
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
    assert_eq!(put_as(s, Some("bob"), "/other/b.txt", "b").status, 201);
    let r = lock_as(
        s,
        Some("alice"),
        "/docs/report.txt",
        "0",
        Some("Alice laptop"),
    );
    assert_eq!(r.status, 200, "{r:?}");
    (
        lock_token_header(&r),
        lock_ok_as(s, Some("bob"), "/other/b.txt", "0"),
    )
}

/// The line of a table that mentions `needle`.
fn line_with<'a>(out: &'a str, needle: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{out}"))
}

fn list_tokens(s: &TestServer, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["locks", "list", "--json"];
    args.extend_from_slice(extra);
    tokens(array(&cli_on(s, &args).json(), "locks"))
}

// Issue #4: "`deadbolt locks list --state-dir S` shows the lock (table and
// `--json`), `--path`/`--user` filters" — while the server runs.
#[test]
fn locks_list_shows_the_running_servers_locks() {
    let s = start_team(&[]);
    let (alice, bob) = two_locks(&s);

    let out = cli_on(&s, &["locks", "list"]);
    let table = out.ok();
    let header = table.lines().next().unwrap_or_default();
    for column in [
        "PATH", "HOLDER", "OWNER", "SCOPE", "DEPTH", "EXPIRES", "TOKEN",
    ] {
        assert!(
            header.contains(column),
            "table header {header:?} lacks {column}"
        );
    }
    let line = line_with(table, &alice);
    for part in [
        "/docs/report.txt",
        "alice",
        "Alice laptop",
        "exclusive",
        "127.0.0.1:",
    ] {
        assert!(line.contains(part), "alice's row lacks {part:?}: {line:?}");
    }
    let line = line_with(table, &bob);
    assert!(
        line.contains("/other/b.txt") && line.contains("bob"),
        "{line:?}"
    );

    let v = cli_on(&s, &["locks", "list", "--json"]).json();
    let locks = array(&v, "locks");
    assert_eq!(tokens(locks), sorted(vec![alice.clone(), bob.clone()]));
    let l = locks.iter().find(|l| l["token"] == alice.as_str()).unwrap();
    assert_eq!(l["path"], "/docs/report.txt", "{l:#}");
    assert_eq!(l["holder"], "alice", "{l:#}");
    assert_eq!(l["owner"], "Alice laptop", "{l:#}");
    assert_eq!(l["scope"], "exclusive", "{l:#}");
    assert_eq!(l["depth"], "0", "{l:#}");
    assert_eq!(l["user_agent"], AGENT, "{l:#}");
    let created = epoch_seconds(l["created"].as_str().unwrap());
    let expires = epoch_seconds(l["expires"].as_str().unwrap());
    assert_eq!(expires - created, 3600, "Timeout: Second-3600: {l:#}");
    assert!(array(&v, "holds").is_empty(), "{v:#}");

    // Filters.
    assert_eq!(list_tokens(&s, &["--path", "/docs"]), vec![alice.clone()]);
    assert_eq!(
        list_tokens(&s, &["--path", "/docs/report.txt"]),
        vec![alice.clone()]
    );
    assert_eq!(list_tokens(&s, &["--path", "other"]), vec![bob.clone()]);
    assert_eq!(
        list_tokens(&s, &["--path", "/nowhere"]),
        Vec::<String>::new()
    );
    assert_eq!(list_tokens(&s, &["--user", "bob"]), vec![bob.clone()]);
    assert_eq!(list_tokens(&s, &["--user", "alice"]), vec![alice.clone()]);
    assert_eq!(list_tokens(&s, &["--user", "carol"]), Vec::<String>::new());
    assert_eq!(
        list_tokens(&s, &["--user", "alice", "--path", "/other"]),
        Vec::<String>::new()
    );
    let filtered = cli_on(&s, &["locks", "list", "--user", "bob"]);
    let table = filtered.ok();
    assert!(table.contains(&bob) && !table.contains(&alice), "{table}");

    // A lock taken after the first listing is seen by the next one.
    let third = lock_ok_as(&s, Some("bob"), "/docs/", "0");
    assert_eq!(
        list_tokens(&s, &["--path", "/docs"]),
        sorted(vec![alice.clone(), third])
    );
}

// Issue #4: "`deadbolt locks break TOKEN --reason ... --state-dir S` ... the
// server's next request sees the change (PUT without token succeeds)".
#[test]
fn locks_break_by_token_is_seen_by_the_servers_next_request() {
    let s = start_team(&[]);
    assert_eq!(put_as(&s, Some("alice"), "/doc.txt", "v1").status, 201);
    let token = lock_ok_as(&s, Some("alice"), "/doc.txt", "0");
    // The server has looked at the lock (and would have cached it, if it did).
    assert_lock_token_submitted(&put_as(&s, Some("bob"), "/doc.txt", "b"), "/doc.txt");

    let out = cli_on(
        &s,
        &[
            "locks",
            "break",
            &token,
            "--reason",
            "alice left for the day",
        ],
    );
    let said = out.ok();
    assert!(
        said.contains("broke")
            && said.contains("/doc.txt")
            && said.contains("alice")
            && said.contains(&token),
        "the command says what it broke: {said}"
    );

    assert_eq!(put_as(&s, Some("bob"), "/doc.txt", "bob's").status, 204);
    assert_eq!(s.get("/doc.txt").status, 401);
    assert_eq!(
        req_as(&s, Some("bob"), "GET", "/doc.txt").send().body,
        "bob's"
    );
    assert!(list_tokens(&s, &[]).is_empty());

    // Twice: nothing left to break.
    let again = cli_on(&s, &["locks", "break", &token]);
    assert!(again.failed().contains("no live lock"), "{again:#?}");
    // Neither a token nor --path: a usage error.
    let neither = cli_on(&s, &["locks", "break"]);
    neither.failed();

    // The server's own LOCK/UNLOCK keep working on the same state.
    let t2 = lock_ok_as(&s, Some("alice"), "/doc.txt", "0");
    assert_eq!(unlock_as(&s, Some("alice"), "/doc.txt", &t2).status, 204);
}

// Issue #4: "`deadbolt locks break --path P`" breaks every lock at or below
// P; locks elsewhere stay.
#[test]
fn locks_break_by_path_breaks_every_lock_at_or_below_it() {
    let s = start_team(&[]);
    for dir in ["/tree/", "/tree/sub/", "/treetop/"] {
        assert_eq!(req_as(&s, Some("alice"), "MKCOL", dir).send().status, 201);
    }
    for file in [
        "/tree/a.txt",
        "/tree/sub/b.txt",
        "/treetop/c.txt",
        "/other.txt",
    ] {
        assert_eq!(put_as(&s, Some("alice"), file, "x").status, 201);
    }
    let a = lock_ok_as(&s, Some("alice"), "/tree/a.txt", "0");
    let b = lock_ok_as(&s, Some("bob"), "/tree/sub/b.txt", "0");
    let c = lock_ok_as(&s, Some("alice"), "/treetop/c.txt", "0");
    let o = lock_ok_as(&s, Some("alice"), "/other.txt", "0");

    let out = cli_on(
        &s,
        &["locks", "break", "--path", "/tree", "--reason", "move"],
    );
    let said = out.ok();
    assert!(said.contains(&a) && said.contains(&b), "{said}");
    assert!(
        !said.contains(&c) && !said.contains(&o),
        "only /tree: {said}"
    );
    assert_eq!(list_tokens(&s, &[]), sorted(vec![c.clone(), o.clone()]));

    assert_eq!(put_as(&s, Some("carol"), "/tree/a.txt", "no").status, 403);
    assert_eq!(put_as(&s, Some("bob"), "/tree/a.txt", "b").status, 204);
    assert_eq!(
        put_as(&s, Some("alice"), "/tree/sub/b.txt", "a").status,
        204
    );
    // `/treetop` is not below `/tree`: its lock is still in force.
    assert_lock_token_submitted(
        &put_as(&s, Some("bob"), "/treetop/c.txt", "b"),
        "/treetop/c.txt",
    );
    assert_lock_token_submitted(&put_as(&s, Some("bob"), "/other.txt", "b"), "/other.txt");

    let nothing = cli_on(&s, &["locks", "break", "--path", "/tree"]);
    assert!(nothing.failed().contains("no lock"), "{nothing:#?}");
}

// Issue #4: "`deadbolt locks history --state-dir S [--path P] [--since 1h]
// [--json]` shows events incl. the broken one with its reason".
#[test]
fn locks_history_shows_every_event_and_the_reason_of_a_break() {
    let s = start_team(&[]);
    assert_eq!(put_as(&s, Some("alice"), "/a.txt", "a").status, 201);
    assert_eq!(put_as(&s, Some("alice"), "/b.txt", "b").status, 201);
    let a = lock_ok_as(&s, Some("alice"), "/a.txt", "0");
    let r = req_as(&s, Some("alice"), "LOCK", "/a.txt")
        .header("If", &if_token(&a))
        .send();
    assert_eq!(r.status, 200, "refresh: {r:?}");
    assert_eq!(unlock_as(&s, Some("alice"), "/a.txt", &a).status, 204);
    let b = lock_ok_as(&s, Some("alice"), "/b.txt", "0");
    cli_on(&s, &["locks", "break", &b, "--reason", "hung client"]).ok();

    let v = cli_on(&s, &["locks", "history", "--json"]).json();
    let events = array(&v, "events");
    let kinds = kinds_and_paths(events);
    assert_eq!(
        kinds,
        vec![
            ("broken", "/b.txt"),
            ("acquired", "/b.txt"),
            ("released", "/a.txt"),
            ("refreshed", "/a.txt"),
            ("acquired", "/a.txt"),
        ],
        "newest first: {v:#}"
    );
    let broken = &events[0];
    assert_eq!(broken["token"], b.as_str(), "{broken:#}");
    assert_eq!(broken["holder"], "alice", "{broken:#}");
    assert_eq!(broken["reason"], "hung client", "{broken:#}");
    assert!(
        broken["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("cli:")),
        "a break from the command line is recorded as cli:<user>: {broken:#}"
    );
    for e in &events[1..] {
        assert_eq!(e["holder"], "alice", "{e:#}");
        assert_eq!(e["actor"], "alice", "{e:#}");
        assert_eq!(e["user_agent"], AGENT, "{e:#}");
        assert!(
            e["client_address"]
                .as_str()
                .is_some_and(|c| c.starts_with("127.0.0.1:")),
            "{e:#}"
        );
        assert!(e["at_ms"].as_u64().is_some_and(|t| t > 0), "{e:#}");
    }

    // The table.
    let out = cli_on(&s, &["locks", "history"]);
    let table = out.ok();
    let header = table.lines().next().unwrap_or_default();
    for column in ["TIME", "EVENT", "PATH", "HOLDER", "REASON"] {
        assert!(
            header.contains(column),
            "history header {header:?} lacks {column}"
        );
    }
    let line = line_with(table, "broken");
    for part in ["/b.txt", "alice", "cli:", "hung client"] {
        assert!(
            line.contains(part),
            "the broken row lacks {part:?}: {line:?}"
        );
    }
    for kind in ["acquired", "refreshed", "released"] {
        line_with(table, kind);
    }

    // Filters.
    let history = |extra: &[&str]| -> Vec<Value> {
        let mut args = vec!["locks", "history", "--json"];
        args.extend_from_slice(extra);
        array(&cli_on(&s, &args).json(), "events").clone()
    };
    let only_a = history(&["--path", "/a.txt"]);
    assert_eq!(only_a.len(), 3, "{only_a:#?}");
    assert!(only_a.iter().all(|e| e["path"] == "/a.txt"), "{only_a:#?}");
    assert_eq!(history(&["--since", "1h"]).len(), 5);
    assert_eq!(history(&["--since", "2999-01-01T00:00:00Z"]).len(), 0);
    assert_eq!(history(&["--limit", "1"]).len(), 1);
    let table = cli_on(&s, &["locks", "history", "--path", "/a.txt"]);
    assert!(!table.ok().contains("/b.txt"), "{table:#?}");
    let bad = cli_on(&s, &["locks", "history", "--since", "the day before"]);
    assert!(bad.failed().contains("invalid time"), "{bad:#?}");
}

// Issue #4: "a state dir without a database -> non-zero exit and a clear
// message", for every admin command; and nothing is created there.
#[test]
fn commands_without_a_state_database_fail_clearly() {
    let empty = scratch_dir();
    let missing = empty.path().join("does-not-exist");
    for dir in [empty.path(), missing.as_path()] {
        for args in [
            &["locks", "list"][..],
            &["locks", "list", "--json"],
            &[
                "locks",
                "break",
                "urn:uuid:00000000-0000-4000-8000-000000000000",
            ],
            &["locks", "break", "--path", "/x"],
            &["locks", "history"],
            &["hold", "/x", "--reason", "r"],
            &["hold", "list"],
            &["hold", "release", "/x"],
        ] {
            let out = cli(&with_state(args, dir));
            let err = out.failed();
            assert!(
                err.contains("no deadbolt state in") && err.contains(&dir.display().to_string()),
                "{args:?} on {}: the message names the directory: {out:#?}",
                dir.display()
            );
            assert!(
                err.contains("--state-dir"),
                "and says what to give: {out:#?}"
            );
            assert!(out.stdout.trim().is_empty(), "{out:#?}");
        }
    }
    assert_eq!(
        std::fs::read_dir(empty.path()).unwrap().count(),
        0,
        "the commands created something in the empty directory"
    );
    assert!(
        !missing.exists(),
        "the commands created the missing directory"
    );
}

// Issue #4: "`--root DIR` (default state dir DIR/.deadbolt) and `--config
// FILE` locate the state too" (and DEADBOLT_STATE_DIR, like the server's).
#[test]
fn root_config_and_environment_locate_the_state() {
    // A server with its default state directory, ROOT/.deadbolt.
    let s = Launch::without_state_dir().start();
    assert_eq!(s.put("/f.txt", "f").status, 201);
    let r = s
        .request("LOCK", "/f.txt")
        .header("Depth", "0")
        .xml(&lockinfo(Scope::Exclusive, Some("someone")))
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    let token = lock_token_header(&r);
    let root = s.root();
    let root_s = root.to_str().expect("UTF-8 temp path");

    let by_root = cli(&["locks", "list", "--json", "--root", root_s]);
    let v = by_root.json();
    assert_eq!(tokens(array(&v, "locks")), vec![token.clone()]);
    // Without users, nobody holds it; the owner text is all there is.
    assert_eq!(array(&v, "locks")[0]["holder"], Value::Null, "{v:#}");
    assert_eq!(array(&v, "locks")[0]["owner"], "someone", "{v:#}");
    let table = cli(&["locks", "list", "--root", root_s]);
    let line = line_with(table.ok(), &token);
    assert!(
        line.contains("someone") && line.contains("/f.txt"),
        "{line:?}"
    );

    let config = s.tmp().join("deadbolt.toml");
    std::fs::write(&config, format!("root = {}\n", toml_path(&root))).unwrap();
    let by_config = cli(&[
        "locks",
        "list",
        "--json",
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(
        tokens(array(&by_config.json(), "locks")),
        vec![token.clone()]
    );
    let by_env = cli_env(
        &["locks", "list", "--json"],
        &[("DEADBOLT_ROOT", root.to_str().unwrap())],
    );
    assert_eq!(tokens(array(&by_env.json(), "locks")), vec![token.clone()]);

    // Breaking through --root is seen by the server.
    cli(&["locks", "break", &token, "--root", root_s]).ok();
    assert_eq!(s.put("/f.txt", "g").status, 204);

    // The same config file for the server and the commands, with state_dir.
    let launch = Launch::bare();
    let tmp = launch.tmp().to_path_buf();
    let htpasswd = launch.write_file("htpasswd", &htpasswd_text(&["alice", "root"]));
    let config = launch.write_file(
        "deadbolt.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nroot = {}\nstate_dir = {}\nhtpasswd = {}\nadmins = [\"root\"]\n",
            toml_path(&tmp.join("root")),
            toml_path(&tmp.join("elsewhere")),
            toml_path(&htpasswd),
        ),
    );
    let s = launch
        .args(&["serve", "--config", config.to_str().unwrap()])
        .start();
    assert_eq!(put_as(&s, Some("alice"), "/g.txt", "g").status, 201);
    let token = lock_ok_as(&s, Some("alice"), "/g.txt", "0");
    assert!(
        tmp.join("elsewhere").is_dir(),
        "the state went to state_dir"
    );
    let by_config = cli(&[
        "locks",
        "list",
        "--json",
        "--config",
        config.to_str().unwrap(),
    ]);
    let v = by_config.json();
    assert_eq!(tokens(array(&v, "locks")), vec![token.clone()]);
    assert_eq!(array(&v, "locks")[0]["holder"], "alice", "{v:#}");
    let by_env = cli_env(
        &["locks", "list", "--json"],
        &[(
            "DEADBOLT_STATE_DIR",
            tmp.join("elsewhere").to_str().unwrap(),
        )],
    );
    assert_eq!(tokens(array(&by_env.json(), "locks")), vec![token.clone()]);
    // --state-dir wins over the config file's state_dir.
    let empty = scratch_dir();
    let out = cli(&[
        "locks",
        "list",
        "--config",
        config.to_str().unwrap(),
        "--state-dir",
        empty.path().to_str().unwrap(),
    ]);
    assert!(out.failed().contains("no deadbolt state"), "{out:#?}");
}

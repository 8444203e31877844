//! Issue #4, maintenance holds over time: `--until` (Retry-After, holds
//! that end by themselves, ends already past), `hold list` and `locks list`,
//! restarts, `hold release`, and the audit trail. What a hold refuses is in
//! `holds_enforcement.rs`.
mod support;

use std::time::Duration;

use serde_json::json;
use support::admin::*;
use support::users::*;
use support::{TestServer, poll, sorted};

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
            .header("Content-Type", "application/json")
            .body(json!({"path": "/tree", "reason": "past", "until": until}).to_string())
            .send();
        assert_api_error(&r, 400, &format!("POST holds until {until}"));
    }
    assert_eq!(put_as(&s, Some("bob"), "/tree/a.txt", "b").status, 204);
    let v = cli_on(&s, &["hold", "list", "--json"]).json();
    assert!(array(&v, "holds").is_empty(), "{v:#}");
}

//! Issue 12, item 10: `--log-format json` writes one JSON object per line,
//! and each request's line names the user and the lock token involved.
mod support;

use std::time::Duration;

use serde_json::Value;
use support::lock::*;
use support::poll;
use support::users::*;

#[test]
fn json_logs_name_the_user_and_the_lock_token_of_each_request() {
    let s = launch_with_users(&["alice"])
        .args(&["--log-format", "json"])
        .start();
    assert_eq!(put_as(&s, Some("alice"), "/doc.txt", "v1").status, 201);
    let token = lock_ok_as(&s, Some("alice"), "/doc.txt", "0");
    assert_eq!(unlock_as(&s, Some("alice"), "/doc.txt", &token).status, 204);
    let requests = poll(Duration::from_secs(20), Duration::from_millis(50), || {
        let lines: Vec<Value> = s
            .stderr()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .filter(|v: &Value| v["message"] == "request")
            .collect();
        (lines.len() >= 3).then_some(lines)
    })
    .expect("three request lines");
    let of = |method: &str| {
        requests
            .iter()
            .find(|v| v["method"] == method)
            .unwrap_or_else(|| panic!("no {method} line in {requests:#?}"))
    };
    for method in ["PUT", "LOCK", "UNLOCK"] {
        assert_eq!(of(method)["user"], "alice", "{method}");
        assert_eq!(of(method)["path"], "/doc.txt", "{method}");
    }
    assert_eq!(of("LOCK")["lock_token"], token.as_str());
    assert_eq!(of("LOCK")["status"], 200);
    assert_eq!(of("UNLOCK")["lock_token"], token.as_str());
    assert!(of("PUT").get("lock_token").is_none_or(Value::is_null));
}

/// Text logs written to a file (not a terminal) are plain: no colour
/// escape codes in a log file or the journal.
#[test]
fn text_logs_to_a_file_carry_no_colour_codes() {
    let s = launch_with_users(&["alice"]).start();
    assert_eq!(put_as(&s, Some("alice"), "/doc.txt", "v1").status, 201);
    let log = poll(Duration::from_secs(20), Duration::from_millis(50), || {
        let log = s.stderr();
        log.contains("request").then_some(log)
    })
    .expect("a request line");
    assert!(!log.contains('\u{1b}'), "escape codes in the log: {log:?}");
    assert!(log.contains("PUT"), "{log}");
}

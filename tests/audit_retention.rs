//! The audit trail is pruned after `--audit-retention` (default 90 days,
//! `0` keeps everything), while the metrics keep counting every event:
//! `deadbolt_lock_events_total` comes from counters, not from the trail.
mod support;

use std::time::Duration;

use support::admin::{array, cli_on};
use support::lock::*;
use support::{Launch, TestServer, poll};

fn history_kinds(s: &TestServer) -> Vec<String> {
    let history = cli_on(s, &["locks", "history", "--json"]).json();
    array(&history, "events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn events_older_than_the_retention_are_pruned_and_still_counted() {
    let s = TestServer::start_with(&["--audit-retention", "2s"]);
    assert_eq!(put(&s, "/a.txt", "a").status, 201);
    let token = lock_ok(&s, "/a.txt", Scope::Exclusive, "0");
    assert_eq!(unlock(&s, "/a.txt", &token).status, 204);
    assert_eq!(history_kinds(&s), ["released", "acquired"]);

    let pruned = poll(Duration::from_secs(30), Duration::from_millis(250), || {
        history_kinds(&s).is_empty().then_some(())
    });
    assert!(pruned.is_some(), "events older than 2 s were never pruned");
    let metrics = s.get("/_deadbolt/metrics");
    assert_eq!(metrics.status, 200);
    for line in [
        "deadbolt_lock_events_total{kind=\"acquired\"} 1",
        "deadbolt_lock_events_total{kind=\"released\"} 1",
    ] {
        assert!(metrics.body.contains(line), "{line} in {}", metrics.body);
    }
    // New events are recorded as before.
    let token = lock_ok(&s, "/a.txt", Scope::Exclusive, "0");
    assert_eq!(history_kinds(&s), ["acquired"]);
    assert_eq!(unlock(&s, "/a.txt", &token).status, 204);
}

#[test]
fn an_unreadable_retention_stops_the_server_at_start() {
    let launch = Launch::new().args(&["--audit-retention", "forever"]);
    let (status, _, stderr) = launch.run_to_exit(Duration::from_secs(20));
    assert!(!status.success());
    assert!(
        stderr.contains("invalid audit retention") && stderr.contains("90d"),
        "{stderr}"
    );
}

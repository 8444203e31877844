//! Issue 10, part 1: lock events as Server-Sent Events at
//! `/_deadbolt/api/events`, from the audit trail: what a stream sees,
//! filtered by path or record key, names hidden under `--hide-lock-owners`,
//! resuming with `Last-Event-ID`, events recorded by another process on
//! the same state or another node on the same PostgreSQL database (and a
//! database that goes away), who may watch, the bound on open streams,
//! shutdown.
mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::admin::{cli_on, json};
use support::lock::*;
use support::pg::PgCluster;
use support::process::start_beside;
use support::sse::{self, Message, Sse};
use support::users::*;
use support::{Launch, Response, TestServer, poll};

const EVENTS: &str = "/_deadbolt/api/events";
const LOCKS: &str = "/_deadbolt/api/locks";

/// How long a stream must stay silent to show that an event is not for it.
const QUIET: Duration = Duration::from_millis(1500);

fn watch(s: &TestServer, user: Option<&str>, query: &str) -> Sse {
    let stream = sse::open(s, user, &format!("{EVENTS}{query}"), None);
    assert_eq!(stream.status, 200, "{}{}", stream.head, stream.body);
    stream
}

/// Takes a lock through the lock API (`{"key": ...}` or `{"path": ...}`).
fn take(s: &TestServer, user: Option<&str>, resource: Value) -> String {
    let r = req_as(s, user, "POST", LOCKS)
        .header("Content-Type", "application/json")
        .body(resource.to_string())
        .send();
    assert_eq!(r.status, 201, "{r:?}");
    json(&r)["token"].as_str().expect("token").to_owned()
}

fn release(s: &TestServer, user: Option<&str>, token: &str) {
    let r: Response = req_as(s, user, "DELETE", &format!("{LOCKS}/{token}")).send();
    assert_eq!(r.status, 204, "{r:?}");
}

fn resource_of(m: &Message) -> String {
    match (&m.data["key"], &m.data["path"]) {
        (Value::String(key), Value::Null) => format!("key {key}"),
        (Value::Null, Value::String(path)) => path.clone(),
        other => panic!("an event names a key or a path: {other:?} in {m:?}"),
    }
}

#[test]
fn a_stream_follows_records_and_paths_as_they_are_locked_and_released() {
    let s = TestServer::start();
    let stream = watch(&s, None, "");
    let order = take(
        &s,
        None,
        json!({"key": "orders/42", "reason": "billing run"}),
    );
    let acquired = stream.expect("acquired");
    assert_eq!(resource_of(&acquired), "key orders/42");
    assert_eq!(acquired.data["token"], order.as_str());
    assert_eq!(acquired.data["reason"], "billing run");
    assert!(
        acquired.data["at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    release(&s, None, &order);
    let released = stream.expect("released");
    assert_eq!(released.data["token"], order.as_str());
    assert!(released.id > acquired.id, "{released:?} after {acquired:?}");

    // A WebDAV lock on a path, refreshed, then released.
    assert_eq!(s.mkcol("/docs").status, 201);
    assert_eq!(s.put("/docs/a.txt", "v1").status, 201);
    let token = lock_ok(&s, "/docs/a.txt", Scope::Exclusive, "0");
    let acquired = stream.expect("acquired");
    assert_eq!(resource_of(&acquired), "/docs/a.txt");
    assert_eq!(acquired.data["token"], token.as_str());
    assert_eq!(refresh(&s, "/docs/a.txt", &token, None).status, 200);
    stream.expect("refreshed");
    assert_eq!(unlock(&s, "/docs/a.txt", &token).status, 204);
    assert_eq!(resource_of(&stream.expect("released")), "/docs/a.txt");
    // A lock that goes with its resource.
    let token = lock_ok(&s, "/docs/a.txt", Scope::Exclusive, "0");
    stream.expect("acquired");
    let deleted = s
        .request("DELETE", "/docs/a.txt")
        .header("If", &format!("(<{token}>)"))
        .send();
    assert_eq!(deleted.status, 204, "{deleted:?}");
    stream.expect("removed-with-resource");
    stream.expect_quiet(QUIET);
}

#[test]
fn filters_see_the_path_or_record_and_what_is_below_it_only() {
    let s = TestServer::start();
    let docs = watch(&s, None, "?path=/docs");
    let orders = watch(&s, None, "?key=orders");
    for resource in [
        json!({"path": "/docs-old/x"}),
        json!({"path": "/other"}),
        json!({"key": "ordersx/1"}),
        json!({"key": "docs/a.txt"}),
        json!({"path": "/docs/a.txt"}),
        json!({"path": "/docs"}),
        json!({"key": "orders/42"}),
        json!({"key": "orders"}),
        json!({"path": "/orders"}),
    ] {
        take(&s, None, resource);
    }
    // Events come in id order, so had anything else matched, it would
    // have come before these.
    assert_eq!(resource_of(&docs.expect("acquired")), "/docs/a.txt");
    assert_eq!(resource_of(&docs.expect("acquired")), "/docs");
    docs.expect_quiet(QUIET);
    assert_eq!(resource_of(&orders.expect("acquired")), "key orders/42");
    assert_eq!(resource_of(&orders.expect("acquired")), "key orders");
    orders.expect_quiet(Duration::ZERO);
    // The whole served tree, without the records.
    let tree = watch(&s, None, "?path=/&since_id=0");
    let paths: Vec<String> = (0..5)
        .map(|_| resource_of(&tree.expect("acquired")))
        .collect();
    assert_eq!(
        paths,
        ["/docs-old/x", "/other", "/docs/a.txt", "/docs", "/orders"]
    );
    tree.expect_quiet(Duration::ZERO);

    for (query, why) in [
        ("?path=docs", "must start with '/'"),
        ("?key=a//b", "invalid key"),
        ("?path=/a&key=b", "at most one"),
        ("?since_id=yesterday", "since_id"),
        ("?pathh=/a", "unknown query parameter"),
    ] {
        let refused = sse::open(&s, None, &format!("{EVENTS}{query}"), None);
        assert_eq!(refused.status, 400, "{query}: {}", refused.head);
        assert!(refused.head.contains("application/problem+json"), "{query}");
        assert!(refused.body.contains(why), "{query}: {}", refused.body);
    }
}

#[test]
fn hidden_owners_are_shown_to_themselves_and_to_administrators_only() {
    let s = start_team(&["--hide-lock-owners"]);
    let bobs = watch(&s, Some("bob"), "?key=jobs");
    let alices = watch(&s, Some("alice"), "?key=jobs");
    let roots = watch(&s, Some("root"), "?key=jobs");
    let token = take(&s, Some("alice"), json!({"key": "jobs/7"}));
    release(&s, Some("alice"), &token);
    for kind in ["acquired", "released"] {
        let seen = bobs.expect(kind);
        assert!(seen.data["holder"].is_null(), "{seen:?}");
        assert!(seen.data["actor"].is_null(), "{seen:?}");
        assert_eq!(seen.data["token"], token.as_str());
        let own = alices.expect(kind);
        assert_eq!(
            (&own.data["holder"], &own.data["actor"]),
            (&json!("alice"), &json!("alice"))
        );
        assert_eq!(roots.expect(kind).data["holder"], "alice");
    }

    // Without the flag, everyone sees who.
    let s = start_team(&[]);
    let bobs = watch(&s, Some("bob"), "");
    take(&s, Some("alice"), json!({"key": "jobs/7"}));
    assert_eq!(bobs.expect("acquired").data["holder"], "alice");
}

#[test]
fn last_event_id_replays_exactly_the_events_missed() {
    let s = TestServer::start();
    let first = watch(&s, None, "");
    let a = take(&s, None, json!({"key": "a"}));
    let seen = first.expect("acquired").id.expect("an id");
    first.close();
    // Missed while disconnected.
    let b = take(&s, None, json!({"key": "b"}));
    release(&s, None, &a);
    let c = take(&s, None, json!({"path": "/c"}));

    let resumed = sse::open(&s, None, EVENTS, Some(seen));
    assert_eq!(resumed.status, 200);
    let replayed: Vec<(String, String)> = (0..3)
        .map(|_| {
            let m = resumed
                .next_within(sse::EVENT_TIMEOUT)
                .expect("a missed event");
            (
                m.event,
                m.data["token"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        replayed,
        [
            ("acquired".to_owned(), b.clone()),
            ("released".to_owned(), a.clone()),
            ("acquired".to_owned(), c.clone()),
        ]
    );
    resumed.expect_quiet(QUIET);
    // Then it follows live.
    release(&s, None, &b);
    assert_eq!(resumed.expect("released").data["token"], b.as_str());

    // ?since_id= does the same (for clients without the header), and the
    // header wins over it: a reconnecting EventSource keeps its URL.
    let by_query = watch(&s, None, &format!("?since_id={seen}&path=/c"));
    assert_eq!(by_query.expect("acquired").data["token"], c.as_str());
    by_query.expect_quiet(Duration::ZERO);
    let target = format!("{EVENTS}?since_id=0");
    let both = sse::open(&s, None, &target, Some(seen));
    assert_eq!(both.expect("acquired").data["token"], b.as_str());
    // An id from elsewhere (beyond the newest) starts from now.
    let future = watch(&s, None, "?since_id=18446744073709551615");
    let d = take(&s, None, json!({"key": "d"}));
    assert_eq!(future.expect("acquired").data["token"], d.as_str());
}

#[test]
fn events_recorded_by_another_process_reach_a_stream_on_the_first() {
    let a = TestServer::start();
    let b = start_beside(&a, &[]);
    let stream = watch(&a, None, "");
    let started = Instant::now();
    let token = take(&b, None, json!({"key": "orders/42"}));
    let seen = stream.expect("acquired");
    assert_eq!(seen.data["token"], token.as_str());
    // Polled, not woken: within about a second.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The CLI, a process of its own, too.
    cli_on(&a, &["hold", "/projects", "--reason", "moving"]).ok();
    let held = stream.expect("hold-set");
    assert_eq!(held.data["path"], "/projects");
    assert_eq!(held.data["reason"], "moving");
    cli_on(&a, &["locks", "break", &token, "--reason", "stuck"]).ok();
    assert_eq!(stream.expect("broken").data["reason"], "stuck");
}

#[test]
fn events_recorded_on_another_postgres_node_reach_a_stream_and_outlive_an_outage() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let database = cluster.new_database();
    let a = Launch::new().args(&["--database", &database]).start();
    let b = Launch::bare()
        .arg("serve")
        .arg(a.root())
        .args(&["--listen", "127.0.0.1:0", "--database", &database])
        .start();
    let stream = watch(&a, None, "?key=orders");
    let first = take(&b, None, json!({"key": "orders/1"}));
    assert_eq!(stream.expect("acquired").data["token"], first.as_str());
    // While the database is away the stream stays open (an EventSource
    // would not come back after an error status), and catches up after.
    cluster.stop();
    std::thread::sleep(Duration::from_secs(2));
    cluster.restart();
    let second = poll(Duration::from_secs(30), Duration::from_millis(250), || {
        let r = req_as(&b, None, "POST", LOCKS)
            .header("Content-Type", "application/json")
            .body(json!({"key": "orders/2"}).to_string())
            .send();
        (r.status == 201).then(|| json(&r)["token"].as_str().unwrap_or_default().to_owned())
    })
    .expect("node b recovers");
    assert_eq!(stream.expect("acquired").data["token"], second.as_str());
    assert!(
        a.stderr().contains("reading lock events failed"),
        "said once in the log"
    );
}

#[test]
fn every_user_may_watch_but_nobody_anonymously() {
    let s = start_team(&[]);
    let carols = watch(&s, Some("carol"), "?path=/");
    take(&s, Some("alice"), json!({"path": "/plan.odt"}));
    assert_eq!(carols.expect("acquired").data["holder"], "alice");
    // Carol may watch, not lock.
    let refused = req_as(&s, Some("carol"), "POST", LOCKS)
        .header("Content-Type", "application/json")
        .body(r#"{"key": "x"}"#)
        .send();
    assert_eq!(refused.status, 403, "{refused:?}");

    let anonymous = sse::open(&s, None, EVENTS, None);
    assert_eq!(anonymous.status, 401, "{}", anonymous.head);
    assert!(
        anonymous
            .head
            .contains("www-authenticate: basic realm=\"deadbolt\"")
    );
    assert!(anonymous.head.contains("application/problem+json"));
    // Reading anonymously elsewhere does not open the events.
    let s = start_team(&["--anonymous-read"]);
    assert_eq!(sse::open(&s, None, EVENTS, None).status, 401);
    assert_eq!(req_as(&s, None, "GET", "/").send().status, 200);
}

#[test]
fn open_streams_are_bounded_and_a_closed_connection_frees_its_place() {
    const MAX: usize = 256;
    let s = TestServer::start();
    let mut streams: Vec<Sse> = (0..MAX).map(|_| watch(&s, None, "")).collect();
    let refused = sse::open(&s, None, EVENTS, None);
    assert_eq!(refused.status, 503, "{}", refused.head);
    assert!(refused.head.contains("retry-after:"), "{}", refused.head);
    assert!(
        refused.body.contains("256 event streams"),
        "{}",
        refused.body
    );
    // Every open stream still works.
    take(&s, None, json!({"key": "k"}));
    assert_eq!(streams[MAX - 1].expect("acquired").data["key"], "k");

    streams.pop().expect("a stream").close();
    let reopened = poll(Duration::from_secs(10), Duration::from_millis(100), || {
        let stream = sse::open(&s, None, EVENTS, None);
        (stream.status == 200).then_some(stream)
    })
    .expect("the place of a closed stream is free again");
    take(&s, None, json!({"key": "k2"}));
    assert_eq!(reopened.expect("acquired").data["key"], "k2");
}

#[test]
fn shutting_down_ends_open_streams_at_once() {
    let mut s = Launch::new().args(&["--drain-timeout", "30"]).start();
    let stream = watch(&s, None, "");
    let started = Instant::now();
    let status = s.terminate();
    assert!(status.success(), "{status:?}: {}", s.stderr());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a stream held the shutdown for {:?}",
        started.elapsed()
    );
    assert!(
        stream.ends_within(Duration::from_secs(5)),
        "the stream ends"
    );
}

//! Several deadbolt nodes on one PostgreSQL database and one shared
//! directory act as one server (docs/locking.md I14): a lock through node A
//! is enforced through node B; a slow upload through A makes a LOCK through
//! B answer 423; 32 clients racing across both nodes get one lock; `kill -9`
//! of A loses no acknowledged lock; while PostgreSQL is down writes answer
//! 503 (never a wrong 200), and the nodes recover by themselves.
mod support;

use std::time::Duration;

use support::admin::{array, cli, tokens};
use support::lock::*;
use support::pg::PgCluster;
use support::process::{kill_9, together};
use support::{Launch, Response, SlowUpload, TestServer, poll, upload_reaches_disk};

/// A node serving `root` with its state in `database`.
fn node(root: &std::path::Path, database: &str) -> TestServer {
    Launch::bare()
        .arg("serve")
        .arg(root)
        .args(&["--listen", "127.0.0.1:0", "--database", database])
        .start()
}

/// Two nodes on one fresh database and one directory (the first node's).
fn two_nodes(cluster: &PgCluster) -> (TestServer, TestServer, String) {
    let database = cluster.new_database();
    let a = Launch::new().args(&["--database", &database]).start();
    let b = node(&a.root(), &database);
    (a, b, database)
}

fn assert_being_written(r: &Response, what: &str) {
    assert_eq!(r.status, 423, "{what}: {r:?}");
    assert!(r.body.contains("being written"), "{what}: {r:?}");
}

#[test]
fn a_lock_through_one_node_is_enforced_and_listed_through_the_other() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let (a, b, database) = two_nodes(&cluster);
    assert_eq!(put(&a, "/doc.txt", "v1").status, 201);
    let token = lock_ok(&a, "/doc.txt", Scope::Exclusive, "0");
    assert_lock_token_submitted(&put(&b, "/doc.txt", "sneaky"), "/doc.txt");
    assert_conflict(&bare_lock(&b, "/doc.txt", Scope::Shared, "0"), "/doc.txt");
    let listed = cli(&["locks", "list", "--json", "--database", &database]).json();
    assert_eq!(tokens(array(&listed, "locks")), vec![token.clone()]);
    assert_eq!(put_with_token(&b, "/doc.txt", "v2", &token).status, 204);
    assert_eq!(a.get("/doc.txt").body, "v2");
    assert_eq!(unlock(&b, "/doc.txt", &token).status, 204);
    assert_eq!(put(&a, "/doc.txt", "v3").status, 204);
    // A hold placed with the CLI on the database stops writes on both.
    cli(&[
        "hold",
        "/",
        "--reason",
        "migration",
        "--database",
        &database,
    ])
    .ok();
    for s in [&a, &b] {
        let refused = put(s, "/doc.txt", "held");
        assert_eq!(refused.status, 423, "{refused:?}");
        assert!(refused.body.contains("migration"), "{refused:?}");
    }
    cli(&["hold", "release", "/", "--database", &database]).ok();
    assert_eq!(put(&b, "/doc.txt", "v4").status, 204);
}

#[test]
fn a_slow_upload_through_one_node_holds_off_a_lock_through_the_other() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let (a, b, _) = two_nodes(&cluster);
    assert_eq!(put(&a, "/f.bin", "old").status, 201);
    let upload = SlowUpload::start(&a, "/f.bin", 2 * 1024 * 1024);
    assert!(upload_reaches_disk(&a.root()), "{}", a.stderr());
    assert_being_written(
        &bare_lock(&b, "/f.bin", Scope::Exclusive, "0"),
        "LOCK through B",
    );
    assert_being_written(&put(&b, "/f.bin", "other"), "PUT through B");
    let body = upload.finish(204);
    assert!(b.get("/f.bin").bytes == body);
    assert_eq!(bare_lock(&b, "/f.bin", Scope::Exclusive, "0").status, 200);
}

#[test]
fn thirty_two_clients_racing_across_two_nodes_get_exactly_one_lock() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let (a, b, _) = two_nodes(&cluster);
    for round in 0..3 {
        let path = format!("/race-{round}.txt");
        assert_eq!(put(&a, &path, "r").status, 201);
        let answers = together(32, |i| {
            let s = if i % 2 == 0 { &a } else { &b };
            bare_lock(s, &path, Scope::Exclusive, "0")
        });
        let granted: Vec<&Response> = answers.iter().filter(|r| r.status == 200).collect();
        let refused = answers.iter().filter(|r| r.status == 423).count();
        assert_eq!((granted.len(), refused), (1, 31), "{answers:?}");
        let token = lock_token_header(granted[0]);
        for s in [&a, &b] {
            let seen: Vec<String> = active_locks(s, &path)
                .iter()
                .map(|l| l.token().to_owned())
                .collect();
            assert_eq!(seen, vec![token.clone()]);
        }
    }
}

#[test]
fn kill_9_of_a_node_loses_no_acknowledged_lock() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let (a, b, database) = two_nodes(&cluster);
    assert_eq!(put(&a, "/doc.txt", "kept").status, 201);
    let token = lock_ok(&a, "/doc.txt", Scope::Exclusive, "0");
    kill_9(&a);
    assert_lock_token_submitted(&put(&b, "/doc.txt", "x"), "/doc.txt");
    let listed = cli(&["locks", "list", "--json", "--database", &database]).json();
    assert_eq!(tokens(array(&listed, "locks")), vec![token.clone()]);
    assert_eq!(put_with_token(&b, "/doc.txt", "done", &token).status, 204);
}

#[test]
fn while_postgres_is_down_writes_answer_503_and_the_node_recovers() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let (a, _b, _) = two_nodes(&cluster);
    assert_eq!(put(&a, "/doc.txt", "v1").status, 201);
    cluster.stop();
    for answer in [
        put(&a, "/doc.txt", "v2"),
        bare_lock(&a, "/doc.txt", Scope::Exclusive, "0"),
        // Answers that show locks cannot be given without them.
        a.propfind("/doc.txt", "0", None),
        a.propfind("/", "1", None),
    ] {
        assert_eq!(answer.status, 503, "{answer:?}");
        assert!(answer.header("retry-after").is_some(), "{answer:?}");
    }
    // Reads of content go on.
    assert_eq!(a.get("/doc.txt").body, "v1");
    cluster.restart();
    let recovered = poll(Duration::from_secs(30), Duration::from_millis(250), || {
        (put(&a, "/doc.txt", "v3").status == 204).then_some(())
    });
    assert!(
        recovered.is_some(),
        "the node never recovered: {}",
        a.stderr()
    );
    assert_eq!(a.get("/doc.txt").body, "v3");
    assert_eq!(bare_lock(&a, "/doc.txt", Scope::Exclusive, "0").status, 200);
}

#[test]
fn fencing_tokens_increase_across_nodes_and_record_locks_are_shared() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let (a, b, _) = two_nodes(&cluster);
    let post = |s: &TestServer, body: serde_json::Value| {
        s.request("POST", "/_deadbolt/api/locks")
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
    };
    let fencing = |r: &Response| -> u64 {
        assert_eq!(r.status, 201, "{r:?}");
        let lock: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
        lock["fencing_token"].as_u64().expect("fencing_token")
    };
    // 32 clients at once, each taking three record locks one after the
    // other, every time through the other node.
    let seen = together(32, |i| {
        (0..3)
            .map(|round| {
                let s = if (i + round) % 2 == 0 { &a } else { &b };
                fencing(&post(
                    s,
                    serde_json::json!({"key": format!("fence/{i}/{round}")}),
                ))
            })
            .collect::<Vec<u64>>()
    });
    let mut all = Vec::new();
    for tokens in seen {
        assert!(tokens.windows(2).all(|w| w[0] < w[1]), "{tokens:?}");
        all.extend(tokens);
    }
    let count = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), count, "no fencing token twice across nodes");
    // A record lock through A is held through B, and its table lock too.
    let first = fencing(&post(&a, serde_json::json!({"key": "orders/42"})));
    let refused = post(&b, serde_json::json!({"key": "orders/42"}));
    assert_eq!(refused.status, 423, "{refused:?}");
    let table = post(
        &b,
        serde_json::json!({"key": "orders", "depth": "infinity"}),
    );
    assert_eq!(table.status, 423, "{table:?}");
    // A lock on the whole served tree through B leaves records alone.
    lock_ok(&b, "/", Scope::Exclusive, "infinity");
    assert!(fencing(&post(&a, serde_json::json!({"key": "orders/43"}))) > first);
}

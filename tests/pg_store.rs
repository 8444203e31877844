//! The PostgreSQL store against a real, throwaway PostgreSQL cluster: the
//! backend conformance suite every store passes, and what only a shared
//! database has to show.
mod support;

use deadbolt::store::conformance::{self, Fixture};
use deadbolt::store::{Durability, StateLocation, open};
use support::pg::PgCluster;

#[test]
fn postgres_passes_the_conformance_suite() {
    let Some(cluster) = PgCluster::start() else {
        return;
    };
    conformance::run("postgres", &|| Fixture {
        stores: open(
            &StateLocation::Postgres(cluster.new_database()),
            Durability::Normal,
        )
        .expect("open"),
        _keep: None,
    });
}

/// A database from before the lock counters (schema version 4) that
/// already holds locks: migration 5 counts them, so the lock limits hold
/// from the first LOCK after the upgrade.
#[test]
fn lock_counters_start_from_the_locks_a_database_already_holds() {
    use deadbolt::auth::{Principal, Requester, Role};
    use deadbolt::authority::{AuthorityConfig, AuthorityError, LockService, NewLock};
    use deadbolt::locks::{
        LockDepth, LockError, LockLimits, LockRules, LockScope, ResourcePath, TimeoutPolicy,
        TimeoutRequest,
    };

    let Some(cluster) = PgCluster::start() else {
        return;
    };
    let url = cluster.new_database();
    let node = |limits: LockLimits| {
        let policy = TimeoutPolicy {
            default_seconds: 600,
            max_seconds: 600,
        };
        let config = AuthorityConfig {
            rules: LockRules::new(policy, limits),
            audit_retention: None,
        };
        let location = StateLocation::Postgres(url.clone());
        LockService::new(&open(&location, Durability::Normal).unwrap(), config)
    };
    let user = |name: Option<&str>| Requester {
        principal: name.map(|name| Principal {
            name: name.into(),
            role: Role::ReadWrite,
        }),
        client: Default::default(),
    };
    let lock = |node: &LockService, path: &str, who: Option<&str>| {
        let new = NewLock {
            root: ResourcePath::from_segments([path]).unwrap(),
            root_is_collection: false,
            scope: LockScope::Exclusive,
            depth: LockDepth::Zero,
            owner: None,
            timeout: vec![TimeoutRequest::Seconds(600)],
            reason: None,
        };
        node.acquire(new, None, &[], &user(who))
    };
    let before = node(LockLimits::UNLIMITED);
    for (path, who) in [
        ("a1", Some("ana")),
        ("a2", Some("ana")),
        ("b1", Some("bob")),
    ] {
        lock(&before, path, who).expect("granted");
    }
    lock(&before, "n1", None).expect("granted");
    drop(before);
    cluster.psql(
        &url,
        "DROP TRIGGER active_lock_added ON active_lock; \
         DROP TRIGGER active_lock_removed ON active_lock; \
         DROP TABLE lock_total, lock_count; \
         DROP FUNCTION deadbolt_locks_added(), deadbolt_locks_removed(); \
         UPDATE deadbolt_schema SET version = 4",
    );

    let after = node(LockLimits {
        max_locks: 5,
        max_locks_per_user: 2,
    });
    let refused = |result: Result<_, AuthorityError>, per_user: bool| {
        matches!(
            result,
            Err(AuthorityError::Refused(LockError::TooManyLocks { per_user: p, .. })) if p == per_user
        )
    };
    assert!(
        refused(lock(&after, "a3", Some("ana")), true),
        "ana already holds 2"
    );
    // Another writer (SQL by hand, a node of the previous version) is
    // counted too, in and out.
    cluster.psql(
        &url,
        "INSERT INTO active_lock (token, root, scope, depth, principal, timeout_seconds, \
             created_ms, expires_ms) \
         VALUES ('urn:uuid:by-hand', '/c1', 'exclusive', '0', 'carol', 600, 0, 9e15)",
    );
    assert!(refused(lock(&after, "b2", Some("bob")), false), "5 of 5");
    cluster.psql(&url, "DELETE FROM active_lock WHERE principal = 'carol'");
    lock(&after, "b2", Some("bob")).expect("bob holds 1 of 2, 4 of 5 are taken");
    assert!(refused(lock(&after, "n2", None), false), "5 of 5 are taken");
}

mod races {
    //! Two lock authorities on one database, as two nodes, deciding on the
    //! same paths at full speed from several threads.
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

    use deadbolt::auth::Requester;
    use deadbolt::authority::{AuthorityConfig, AuthorityError, LockService, NewLock};
    use deadbolt::locks::{
        LockDepth, LockError, LockScope, Reach, ResourcePath, TimeoutRequest, WriteIntent,
    };
    use deadbolt::store::{Durability, HistoryFilter, StateLocation, open};

    use super::support::pg::PgCluster;

    fn p(path: &str) -> ResourcePath {
        ResourcePath::from_segments(path.split('/').filter(|s| !s.is_empty())).unwrap()
    }

    fn lock(root: &str, depth: LockDepth) -> NewLock {
        NewLock {
            root: p(root),
            root_is_collection: false,
            scope: LockScope::Exclusive,
            depth,
            owner: None,
            timeout: vec![TimeoutRequest::Seconds(600)],
            reason: None,
        }
    }

    fn put(path: &str) -> WriteIntent {
        WriteIntent::new().touches(&p(path), Reach::Resource)
    }

    fn two_nodes(cluster: &PgCluster) -> (LockService, LockService) {
        let location = StateLocation::Postgres(cluster.new_database());
        let node = || {
            LockService::new(
                &open(&location, Durability::Normal).unwrap(),
                AuthorityConfig::default(),
            )
        };
        (node(), node())
    }

    /// Writes on /d/f on one node, depth-infinity locks on /d on the other:
    /// a lock is never granted while a write is admitted, nor the reverse.
    #[test]
    fn writes_and_tree_locks_on_two_nodes_never_overlap() {
        let Some(cluster) = PgCluster::start() else {
            return;
        };
        let (a, b) = two_nodes(&cluster);
        let anyone = Requester::default();
        let (writes, locks) = (AtomicU32::new(0), AtomicU32::new(0));
        let done = || writes.load(Relaxed) >= 30 && locks.load(Relaxed) >= 30;
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..3_000 {
                        if done() {
                            break;
                        }
                        if let Ok(permit) = a.admit(put("/d/f"), &[], &anyone) {
                            writes.fetch_add(1, Relaxed);
                            assert!(
                                a.covering_locks(&p("/d/f")).unwrap().is_empty(),
                                "a lock was granted while a write was admitted"
                            );
                            drop(permit);
                        }
                    }
                });
                scope.spawn(|| {
                    for _ in 0..3_000 {
                        if done() {
                            break;
                        }
                        let granted =
                            b.acquire(lock("/d", LockDepth::Infinity), None, &[], &anyone);
                        if let Ok(grant) = granted {
                            locks.fetch_add(1, Relaxed);
                            assert!(
                                matches!(
                                    b.admit(put("/d/f"), &[], &anyone),
                                    Err(AuthorityError::Refused(LockError::Locked { .. }))
                                ),
                                "a write was admitted under a tree lock"
                            );
                            b.release(&grant.lock.token, &p("/d"), &anyone).unwrap();
                        }
                    }
                });
            }
        });
        let (writes, locks) = (writes.into_inner(), locks.into_inner());
        assert!(writes > 0 && locks > 0, "{writes} writes, {locks} locks");
    }

    /// One depth-infinity lock, refreshed from one URL in its scope and
    /// released from another at the same moment, on two nodes: the
    /// release wins or the refresh does, and a refresh never reports a lock
    /// that is gone.
    #[test]
    fn refresh_and_unlock_from_two_urls_of_one_lock_agree() {
        let Some(cluster) = PgCluster::start() else {
            return;
        };
        let (a, b) = two_nodes(&cluster);
        let anyone = Requester::default();
        for _ in 0..20 {
            let grant = a
                .acquire(lock("/t", LockDepth::Infinity), None, &[], &anyone)
                .unwrap();
            let token = grant.lock.token;
            let (refreshed, released) = std::thread::scope(|scope| {
                let refresh = scope.spawn(|| {
                    a.refresh(&token, &p("/t/x"), &[TimeoutRequest::Seconds(900)], &anyone)
                });
                let release = scope.spawn(|| b.release(&token, &p("/t/y"), &anyone));
                (refresh.join().unwrap(), release.join().unwrap())
            });
            assert!(released.is_ok(), "{released:?}");
            if refreshed.is_ok() {
                // Then the refresh came first: its event precedes the release.
                let events = a.history(&HistoryFilter::default()).unwrap();
                let of = |kind: &str| {
                    events
                        .iter()
                        .find(|e| e.kind == kind && e.token.as_deref() == Some(token.0.as_str()))
                        .map(|e| e.id)
                };
                let (refresh_id, release_id) = (of("refreshed"), of("released"));
                assert!(
                    matches!((refresh_id, release_id), (Some(r), Some(u)) if r < u),
                    "a refresh that succeeded came after the release: {events:?}"
                );
            } else {
                assert!(
                    matches!(
                        refreshed,
                        Err(AuthorityError::Refused(LockError::TokenMismatch))
                    ),
                    "{refreshed:?}"
                );
            }
            assert!(
                b.lock(&token.0).is_err(),
                "the lock is gone after its release"
            );
        }
    }
}

mod follow {
    //! Following the audit trail on PostgreSQL, where ids are drawn when an
    //! event is written and seen when its transaction commits, so they may
    //! appear out of order (docs/locking.md, "Following the trail").
    use std::time::{Duration, Instant};

    use deadbolt::auth::Requester;
    use deadbolt::authority::{AuthorityConfig, Follower, LockService, NewLock};
    use deadbolt::locks::{LockDepth, LockScope, ResourcePath};
    use deadbolt::store::{Durability, StateLocation, open};
    use tokio_postgres::NoTls;

    use super::support::pg::PgCluster;

    /// How long the PostgreSQL store lets an id be late (its grace).
    const GRACE: Duration = Duration::from_secs(2);

    fn lock_on(node: &LockService, key: &str) {
        let new = NewLock {
            root: ResourcePath::record(key).unwrap(),
            root_is_collection: false,
            scope: LockScope::Exclusive,
            depth: LockDepth::Zero,
            owner: None,
            timeout: Vec::new(),
            reason: None,
        };
        node.acquire(new, None, &[], &Requester::default())
            .expect("granted");
    }

    fn paths(follower: &mut Follower, node: &LockService, now: Instant) -> Vec<String> {
        let batch = follower.next(node, now).expect("read the trail");
        batch.events.into_iter().map(|e| e.path).collect()
    }

    #[test]
    fn a_late_commit_is_delivered_in_order_and_a_rolled_back_id_is_given_up() {
        let Some(cluster) = PgCluster::start() else {
            return;
        };
        let url = cluster.new_database();
        let node = LockService::new(
            &open(&StateLocation::Postgres(url.clone()), Durability::Normal).unwrap(),
            AuthorityConfig::default(),
        );
        lock_on(&node, "first");
        let mut follower = Follower::new(node.last_event_id().unwrap(), None);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (mut slow, connection) = runtime
            .block_on(tokio_postgres::connect(&url, NoTls))
            .expect("connect");
        runtime.spawn(connection);
        let insert = "INSERT INTO lock_event (at_ms, kind, path) VALUES (0, 'acquired', $1)";

        // Another node's transaction draws the next id and commits late.
        let late = runtime.block_on(slow.transaction()).unwrap();
        runtime
            .block_on(late.execute(insert, &[&"#/late"]))
            .unwrap();
        lock_on(&node, "after");
        let t0 = Instant::now();
        assert!(
            paths(&mut follower, &node, t0).is_empty(),
            "waits for the late id"
        );
        runtime.block_on(late.commit()).unwrap();
        assert_eq!(paths(&mut follower, &node, t0), ["#/late", "#/after"]);

        // A transaction that rolls back leaves its id unused for good.
        let gone = runtime.block_on(slow.transaction()).unwrap();
        runtime
            .block_on(gone.execute(insert, &[&"#/gone"]))
            .unwrap();
        runtime.block_on(gone.rollback()).unwrap();
        lock_on(&node, "later");
        let t1 = Instant::now();
        let batch = follower.next(&node, t1).unwrap();
        assert!(batch.events.is_empty() && batch.waiting, "{batch:?}");
        assert!(paths(&mut follower, &node, t1 + GRACE / 2).is_empty());
        assert_eq!(paths(&mut follower, &node, t1 + GRACE), ["#/later"]);
    }
}

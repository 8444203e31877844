//! What only SQLite has to show: it passes the conformance suite, keeps
//! everything across reopening (a restart), and migrates older databases.

use std::sync::{Arc, Mutex};

use super::*;
use crate::authority::permit::WritePermit;
use crate::locks::{LatchId, LatchLease, LockRules, Reach, ResourcePath, Timestamp, WriteIntent};
use crate::store::conformance::{self, Fixture};
use crate::store::{AuditStore, Decision, LockStore};
use crate::store::{
    EventContext, HistoryFilter, LockSelection, Needs, PatchOp, PropertyName, Stores, Writes,
};
use rusqlite::TransactionBehavior;

fn p(path: &str) -> ResourcePath {
    ResourcePath::from_segments(path.split('/').filter(|s| !s.is_empty())).unwrap()
}

fn stores(dir: &Path) -> Stores {
    let store = Arc::new(SqliteStore::open(dir, Durability::Normal).unwrap());
    Stores {
        locks: store.clone(),
        audit: store.clone(),
        properties: store,
    }
}

#[test]
fn sqlite_passes_the_conformance_suite() {
    conformance::run("sqlite", &|| {
        let dir = tempfile::tempdir().unwrap();
        Fixture {
            stores: stores(dir.path()),
            _keep: Some(Box::new(dir)),
        }
    });
}

const T0: Timestamp = Timestamp(1_000_000);

fn lock_request(token: &str, root: &str) -> crate::locks::LockRequest {
    crate::locks::LockRequest {
        token: crate::locks::LockToken(token.into()),
        root: p(root),
        root_is_collection: false,
        scope: crate::locks::LockScope::Exclusive,
        depth: crate::locks::LockDepth::Zero,
        owner: None,
        principal: Some("alice".into()),
        client: crate::locks::LockClient::default(),
        timeout: vec![crate::locks::TimeoutRequest::Seconds(600)],
    }
}

fn needs(path: &str) -> Needs {
    Needs {
        selections: vec![LockSelection::of(&p(path), false)],
        counts: true,
        latches: true,
        fencing: true,
        writes: Writes::Locks,
    }
}

#[test]
fn everything_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let lock = {
        let s = stores(dir.path());
        let mut granted = None;
        s.locks
            .transact(&needs("/a"), T0, &EventContext::default(), &mut |table| {
                granted = LockRules::default()
                    .acquire(table, lock_request("urn:uuid:1", "/a"), T0)
                    .ok();
                granted.is_some()
            })
            .unwrap();
        let permit = WritePermit::unchecked(WriteIntent::new().touches(&p("/a"), Reach::Resource));
        let prop = crate::store::DeadProperty {
            name: PropertyName::new("urn:x", "k"),
            xml: "<x:k xmlns:x=\"urn:x\">v</x:k>".into(),
        };
        s.properties
            .patch(&permit, &p("/a"), &[PatchOp::Set(prop)])
            .unwrap();
        let lease = LatchLease {
            id: LatchId("w".into()),
            holder: "test".into(),
            expires: T0.plus_seconds(10),
        };
        let put = WriteIntent::new().touches(&p("/b"), Reach::Resource);
        s.locks
            .transact(&needs("/b"), T0, &EventContext::default(), &mut |table| {
                LockRules::default()
                    .admit(table, &put, &[], None, &lease, T0)
                    .is_ok()
            })
            .unwrap();
        granted.unwrap()
    };
    let s = stores(dir.path());
    assert_eq!(s.locks.all_locks(T0).unwrap(), vec![lock]);
    assert_eq!(s.properties.all(&p("/a")).unwrap().len(), 1);
    assert_eq!(s.audit.history(&HistoryFilter::default()).unwrap().len(), 1);
    // A latch of a process that is gone still holds until its lease ends.
    s.locks
        .transact(&needs("/b"), T0, &EventContext::default(), &mut |table| {
            assert!(table.latch_over(&p("/b"), Reach::Resource, T0).is_some());
            false
        })
        .unwrap();
}

/// A state directory holding two of alice's locks (`/a`, `/b`), closed.
fn with_two_locks() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let s = stores(dir.path());
    for (token, root) in [("urn:uuid:1", "/a"), ("urn:uuid:2", "/b")] {
        s.locks
            .transact(&needs(root), T0, &EventContext::default(), &mut |table| {
                LockRules::default()
                    .acquire(table, lock_request(token, root), T0)
                    .is_ok()
            })
            .unwrap();
    }
    dir
}

/// The live locks in all and alice's, as a decision reads them.
fn counts_of_alice(s: &Stores) -> Option<(u64, u64)> {
    let context = EventContext {
        actor: Some("alice".into()),
        ..EventContext::default()
    };
    let mut counts = None;
    s.locks
        .transact(&needs("/c"), T0, &context, &mut |table| {
            counts = table.counts();
            false
        })
        .unwrap();
    counts.map(|c| (c.total, c.of_user))
}

/// A database from before the counters gets them, counted from its rows.
#[test]
fn an_older_database_is_migrated_with_its_counts() {
    let dir = with_two_locks();
    {
        let conn = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS lock_count_insert; DROP TRIGGER IF EXISTS lock_count_delete;
             DROP TABLE lock_count; DROP TABLE lock_event_count; DROP TABLE lock_event_counted;
             ALTER TABLE active_lock DROP COLUMN fencing; DROP TABLE fencing;
             PRAGMA user_version = 0;",
        )
        .unwrap();
    }
    let s = stores(dir.path());
    let context = EventContext {
        actor: Some("alice".into()),
        ..EventContext::default()
    };
    assert_eq!(
        counts_of_alice(&s),
        Some((2, 2)),
        "live locks counted on open"
    );
    assert_eq!(
        s.audit.stats(T0).unwrap().events_by_kind,
        vec![("acquired".to_owned(), 2)],
        "audit events counted on open"
    );
    let fencing: Vec<u64> = s
        .locks
        .all_locks(T0)
        .unwrap()
        .iter()
        .map(|l| l.fencing)
        .collect();
    assert_eq!(
        fencing,
        [0, 0],
        "locks from before fencing tokens have none"
    );
    let mut granted = None;
    s.locks
        .transact(&needs("/c"), T0, &context, &mut |table| {
            granted = LockRules::default()
                .acquire(table, lock_request("urn:uuid:3", "/c"), T0)
                .ok();
            granted.is_some()
        })
        .unwrap();
    assert_eq!(
        granted.map(|l| l.fencing),
        Some(1),
        "the first fencing token"
    );
}

/// Migration 5 (counts kept by deadbolt's statements, not triggers)
/// recounts the live locks, whatever the counters said before.
#[test]
fn the_move_from_triggers_recounts_the_locks() {
    let dir = with_two_locks();
    {
        let conn = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        conn.execute_batch(
            "UPDATE lock_count SET live = 99; INSERT INTO lock_count VALUES ('ghost', 5);
             PRAGMA user_version = 4;",
        )
        .unwrap();
    }
    let s = stores(dir.path());
    assert_eq!(counts_of_alice(&s), Some((2, 2)));
}

/// Event ids from before migration 4 (a plain rowid) stay, and the ids
/// after them are never given again, even once the trail is pruned empty.
#[test]
fn event_ids_stay_unique_across_the_migration_and_pruning() {
    let dir = tempfile::tempdir().unwrap();
    let acquire = |s: &Stores, token: &str, root: &str, at: Timestamp| {
        s.locks
            .transact(&needs(root), at, &EventContext::default(), &mut |table| {
                LockRules::default()
                    .acquire(table, lock_request(token, root), at)
                    .is_ok()
            })
            .unwrap();
    };
    {
        let s = stores(dir.path());
        acquire(&s, "urn:uuid:1", "/a", T0);
        acquire(&s, "urn:uuid:2", "/b", T0);
    }
    {
        // Back to version 3: the trail as a plain rowid table.
        let conn = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        conn.execute_batch(
            "CREATE TABLE old_event AS SELECT * FROM lock_event;
             DROP TABLE lock_event; DELETE FROM sqlite_sequence;
             CREATE TABLE lock_event (id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL,
                 kind TEXT NOT NULL, path TEXT NOT NULL, token TEXT, holder TEXT, actor TEXT,
                 client_address TEXT, user_agent TEXT, reason TEXT);
             INSERT INTO lock_event SELECT * FROM old_event; DROP TABLE old_event;
             PRAGMA user_version = 3;",
        )
        .unwrap();
    }
    let s = stores(dir.path());
    let before = s.audit.event_ids_after(0, 10).unwrap();
    assert_eq!(before, [1, 2], "the events are kept");
    assert_eq!(s.audit.prune_history(T0.plus_seconds(1)).unwrap(), 2);
    acquire(&s, "urn:uuid:3", "/c", T0.plus_seconds(2));
    assert_eq!(s.audit.event_ids_after(0, 10).unwrap(), [3]);
}

#[test]
fn a_database_from_a_newer_deadbolt_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path(), Durability::Normal).unwrap());
    {
        let conn = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        conn.execute_batch("PRAGMA user_version = 99;").unwrap();
    }
    match SqliteStore::open(dir.path(), Durability::Normal) {
        Err(StoreError::Corrupt(message)) => assert!(message.contains("99"), "{message}"),
        Err(other) => panic!("expected Corrupt, got {other:?}"),
        Ok(_) => panic!("a newer schema was opened"),
    }
}

#[test]
fn busy_and_locked_databases_are_told_apart_from_failures() {
    let busy =
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY), None);
    assert!(StoreError::from(busy).is_busy());
    let locked = rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_LOCKED),
        None,
    );
    assert!(StoreError::from(locked).is_busy());
    let full = rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
        Some("database or disk is full".into()),
    );
    let error = StoreError::from(full);
    assert!(!error.is_busy());
    // The source is kept for the log.
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert!(source.is_some_and(|s| s.contains("full")), "{error:?}");
}

#[test]
fn a_writer_holding_the_database_makes_decisions_wait_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    let s = stores(dir.path());
    for file in [DATABASE_FILE, LATCH_FILE] {
        let mut conn = rusqlite::Connection::open(dir.path().join(file)).unwrap();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let locks = Arc::clone(&s.locks);
        let waiter = std::thread::spawn(move || {
            // A write's admission: a decision that writes a latch.
            let lease = LatchLease {
                id: LatchId(format!("w-{file}")),
                holder: "test".into(),
                expires: T0.plus_seconds(10),
            };
            let put = WriteIntent::new().touches(&p("/w"), Reach::Resource);
            let mut admitted = false;
            locks
                .transact(&needs("/w"), T0, &EventContext::default(), &mut |table| {
                    admitted = LockRules::default()
                        .admit(table, &put, &[], None, &lease, T0)
                        .is_ok_and(|a| a.latched);
                    admitted
                })
                .map(|()| admitted)
        });
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !waiter.is_finished(),
            "{file}: the decision waits for the writer"
        );
        drop(tx);
        assert!(waiter.join().unwrap().unwrap(), "{file}: then it runs");
        s.locks
            .release_latch(&LatchId(format!("w-{file}")))
            .unwrap();
    }
}

/// Group commit (`group.rs`): decisions racing on many threads share
/// transactions, yet each is decided on what the ones before it did, a
/// refusal undoes only itself, and every grant is committed when
/// `transact` returns: a second store on the same files (another process)
/// sees exactly the granted locks.
#[test]
fn concurrent_decisions_commit_in_groups_and_each_sees_the_ones_before() {
    let dir = tempfile::tempdir().unwrap();
    let s = stores(dir.path());
    let threads: Vec<_> = (0..32)
        .map(|i| {
            let locks = Arc::clone(&s.locks);
            let reader = dir.path().to_owned();
            std::thread::spawn(move || {
                let mut granted = Vec::new();
                for round in 0..20 {
                    // Half the decisions race for one shared path, half
                    // lock a path of their own.
                    let path = race_path(i, round);
                    let token = format!("urn:uuid:{i}-{round}");
                    let mut got = false;
                    locks
                        .transact(&needs(&path), T0, &EventContext::default(), &mut |table| {
                            got = LockRules::default()
                                .acquire(table, lock_request(&token, &path), T0)
                                .is_ok();
                            got
                        })
                        .unwrap();
                    if got {
                        // Committed before the answer: visible to another
                        // connection at once.
                        let other = SqliteStore::open(&reader, Durability::Normal).unwrap();
                        let seen = other
                            .view(&[LockSelection::of(&p(&path), false)], T0)
                            .unwrap();
                        assert!(
                            seen.covering_locks(&p(&path), T0)
                                .iter()
                                .any(|l| l.token.0 == token),
                            "{token} granted but not committed"
                        );
                        granted.push((path, token));
                    }
                }
                granted
            })
        })
        .collect();
    let granted: Vec<(String, String)> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let shared = granted.iter().filter(|(path, _)| path == "/shared").count();
    assert_eq!(shared, 1, "exactly one exclusive lock on the shared path");
    assert_eq!(granted.len(), 1 + 32 * 10, "every own path was granted");
    drop(s);
    kept_after_reopening(
        dir.path(),
        granted.iter().map(|(p, t)| (p.as_str(), t.as_str())),
    );
}

/// Opens the state again (a restart) and finds exactly each granted lock.
fn kept_after_reopening<'a>(dir: &Path, granted: impl Iterator<Item = (&'a str, &'a str)>) {
    let reopened = SqliteStore::open(dir, Durability::Normal).unwrap();
    for (path, token) in granted {
        let seen = reopened
            .view(&[LockSelection::of(&p(path), false)], T0)
            .unwrap();
        let locks = seen.covering_locks(&p(path), T0);
        assert_eq!(locks.len(), 1, "{path}");
        assert_eq!(locks[0].token.0, token);
    }
}

/// Round `round` of racer `i`: the shared path every other round, else
/// one of its own.
fn race_path(i: usize, round: usize) -> String {
    match round % 2 {
        0 => "/shared".to_owned(),
        _ => format!("/own-{i}-{round}"),
    }
}

/// A decision that panics leaves nothing behind (here: no fencing number
/// is used up), and the writer goes on serving decisions.
#[test]
fn a_decision_that_panics_is_rolled_back_and_the_writer_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let s = stores(dir.path());
    let grant = |path: &str, token: &str| {
        let mut granted = None;
        s.locks
            .transact(&needs(path), T0, &EventContext::default(), &mut |table| {
                granted = LockRules::default()
                    .acquire(table, lock_request(token, path), T0)
                    .ok();
                granted.is_some()
            })
            .unwrap();
        granted.expect("granted")
    };
    let first = grant("/a", "urn:uuid:a");
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = s
            .locks
            .transact(&needs("/b"), T0, &EventContext::default(), &mut |_| {
                panic!("a bug in a decision")
            });
    }));
    assert!(panicked.is_err());
    let next = grant("/c", "urn:uuid:c");
    assert_eq!(
        next.fencing,
        first.fencing + 1,
        "the panicked decision's draw of the fencing counter was rolled back"
    );
}

/// A grant of `token` at `path` as an owned decision for `submit`; `got`
/// says whether it was granted (the last time it ran).
fn grant_decision(path: &str, token: &str, got: &Arc<Mutex<Option<u64>>>) -> Decision {
    let (path, token, got) = (path.to_owned(), token.to_owned(), Arc::clone(got));
    Decision {
        needs: needs(&path),
        now: T0,
        context: EventContext::default(),
        decide: Box::new(move |table| {
            let lock = LockRules::default()
                .acquire(table, lock_request(&token, &path), T0)
                .ok();
            *got.lock().unwrap() = lock.as_ref().map(|l| l.fencing);
            lock.is_some()
        }),
    }
}

/// The writer thread (`writer_thread.rs`): decisions submitted from async
/// tasks are grouped, each decided on what the ones before it did, and
/// committed before their answer; fencing numbers stay unique.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitted_decisions_commit_in_groups_on_the_writer_thread() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), Durability::Normal).unwrap());
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut granted = Vec::new();
            for round in 0..10 {
                let path = race_path(i, round);
                let token = format!("urn:uuid:{i}-{round}");
                let got = Arc::new(Mutex::new(None));
                let decision = grant_decision(&path, &token, &got);
                Arc::clone(&store).submit(decision).await.unwrap();
                if let Some(fencing) = *got.lock().unwrap() {
                    granted.push((path, token, fencing));
                }
            }
            granted
        }));
    }
    let mut granted = Vec::new();
    for task in tasks {
        granted.extend(task.await.unwrap());
    }
    let shared = granted
        .iter()
        .filter(|(path, ..)| path == "/shared")
        .count();
    assert_eq!(shared, 1, "exactly one exclusive lock on the shared path");
    assert_eq!(granted.len(), 1 + 64 * 5, "every own path was granted");
    let mut fencing: Vec<u64> = granted.iter().map(|(.., f)| *f).collect();
    fencing.sort_unstable();
    fencing.dedup();
    assert_eq!(fencing.len(), granted.len(), "fencing numbers are unique");
    drop(store);
    kept_after_reopening(
        dir.path(),
        granted.iter().map(|(p, t, _)| (p.as_str(), t.as_str())),
    );
}

/// In one group of the writer thread: a decision that panics fails alone,
/// one that fails midway (a duplicate token: its audit event was written,
/// its lock was not) is undone without a trace while the others run
/// again, and a refusal sees the grant before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_decision_in_a_submitted_group_takes_nothing_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path(), Durability::Normal).unwrap());
    let slot = || Arc::new(Mutex::new(None));
    let first = slot();
    // The thread takes the first decision, then waits for the writer we
    // hold: everything submitted meanwhile is its next group.
    let writer = store.writer.lock().unwrap();
    let opening = Arc::clone(&store).submit(grant_decision("/first", "urn:uuid:first", &first));
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (a, twice, again, b) = (slot(), slot(), slot(), slot());
    let group = vec![
        Arc::clone(&store).submit(grant_decision("/a", "urn:uuid:a", &a)),
        Arc::clone(&store).submit(Decision {
            needs: needs("/p"),
            now: T0,
            context: EventContext::default(),
            decide: Box::new(|_| panic!("a bug in a decision")),
        }),
        // The same token again, elsewhere: its insert fails midway.
        Arc::clone(&store).submit(grant_decision("/twice", "urn:uuid:a", &twice)),
        // Refused: /a is locked by the first of the group.
        Arc::clone(&store).submit(grant_decision("/a", "urn:uuid:again", &again)),
        Arc::clone(&store).submit(grant_decision("/b", "urn:uuid:b", &b)),
    ];
    drop(writer);
    opening.await.unwrap();
    let mut outcomes = Vec::new();
    for submitted in group {
        outcomes.push(submitted.await);
    }
    assert!(outcomes[0].is_ok() && outcomes[3].is_ok() && outcomes[4].is_ok());
    assert!(outcomes[1].is_err(), "the panicked decision fails");
    assert!(outcomes[2].is_err(), "the duplicate token fails");
    assert!(a.lock().unwrap().is_some() && b.lock().unwrap().is_some());
    assert!(
        again.lock().unwrap().is_none(),
        "refused: it saw /a's grant"
    );
    let all = store.all_locks(T0).unwrap();
    let roots: Vec<String> = all.iter().map(|l| l.root.key()).collect();
    assert_eq!(
        roots,
        ["/a", "/b", "/first"],
        "nothing of the failed ones stays"
    );
    let events = store.history(&HistoryFilter::default()).unwrap();
    let paths: Vec<&str> = events.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        events.len(),
        3,
        "one event per grant, none of /twice: {paths:?}"
    );
}

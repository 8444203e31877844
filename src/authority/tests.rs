//! The authority over real stores: two services on one store act as two
//! processes on one state directory.

use super::*;
use crate::auth::{Principal, Role};
use crate::locks::Reach;
use crate::store::{StateLocation, open};

fn p(path: &str) -> ResourcePath {
    ResourcePath::from_segments(path.split('/').filter(|s| !s.is_empty())).unwrap()
}

fn user(name: &str, role: Role) -> Requester {
    Requester {
        principal: Some(Principal {
            name: name.into(),
            role,
        }),
        ..Requester::default()
    }
}

fn new_lock(root: &str, depth: LockDepth) -> NewLock {
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
    WriteIntent::new()
        .touches(&p(path), Reach::Resource)
        .changes_members_of_parent(&p(path))
}

/// Two services sharing one SQLite state directory, as two processes would.
fn two_processes() -> (tempfile::TempDir, LockService, LockService) {
    let dir = tempfile::tempdir().unwrap();
    let location = StateLocation::Directory(dir.path().to_owned());
    let a = LockService::new(
        &open(&location, crate::store::Durability::Normal).unwrap(),
        AuthorityConfig::default(),
    );
    let b = LockService::new(
        &open(&location, crate::store::Durability::Normal).unwrap(),
        AuthorityConfig::default(),
    );
    (dir, a, b)
}

fn refused(result: Result<impl std::fmt::Debug, AuthorityError>) -> LockError {
    match result {
        Err(AuthorityError::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_write_in_progress_in_one_process_holds_off_locks_and_writes_in_another() {
    let (_dir, a, b) = two_processes();
    let anyone = Requester::default();
    let permit = a.admit(put("/f"), &[], &anyone).unwrap();
    assert!(matches!(
        refused(b.acquire(new_lock("/f", LockDepth::Zero), None, &[], &anyone)),
        LockError::BeingWritten { .. }
    ));
    assert!(matches!(
        refused(b.admit(put("/f"), &[], &anyone)),
        LockError::BeingWritten { .. }
    ));
    // A write elsewhere goes on.
    drop(b.admit(put("/g"), &[], &anyone).unwrap());
    drop(permit);
    let grant = b
        .acquire(new_lock("/f", LockDepth::Zero), None, &[], &anyone)
        .unwrap();
    assert!(grant.create.is_none());
    // ... and the lock taken through b is enforced through a.
    assert!(matches!(
        refused(a.admit(put("/f"), &[], &anyone)),
        LockError::Locked { .. }
    ));
    drop(a.admit(put("/f"), &[grant.lock.token], &anyone).unwrap());
}

#[test]
fn a_lock_on_an_unmapped_url_comes_with_the_permit_to_create_it() {
    let (_dir, a, b) = two_processes();
    let ana = user("ana", Role::ReadWrite);
    let grant = a
        .acquire(
            new_lock("/new", LockDepth::Zero),
            Some(put("/new")),
            &[],
            &ana,
        )
        .unwrap();
    let permit = grant.create.expect("a create permit");
    assert!(permit.covers(&p("/new")));
    // While it is being created, nobody else may write it, token or not.
    assert!(matches!(
        refused(b.admit(put("/new"), std::slice::from_ref(&grant.lock.token), &ana)),
        LockError::BeingWritten { .. }
    ));
    drop(permit);
    a.withdraw(&grant.lock, &ana).unwrap();
    assert!(b.covering_locks(&p("/new")).unwrap().is_empty());
    let events = b.history(&HistoryFilter::default()).unwrap();
    assert_eq!(events[0].kind, "released");
    assert_eq!(events[1].kind, "acquired");
}

#[test]
fn unlock_by_the_holder_releases_and_by_an_admin_breaks() {
    let (_dir, a, b) = two_processes();
    let ana = user("ana", Role::ReadWrite);
    let bob = user("bob", Role::ReadWrite);
    let root = user("root", Role::Admin);
    let first = a
        .acquire(new_lock("/x", LockDepth::Infinity), None, &[], &ana)
        .unwrap()
        .lock;
    assert!(matches!(
        refused(b.release(&first.token, &p("/x/deep"), &bob)),
        LockError::NotOwner
    ));
    let (_, why) = b.release(&first.token, &p("/x/deep"), &root).unwrap();
    assert_eq!(why, Removal::Broken);
    let second = a
        .acquire(new_lock("/x", LockDepth::Zero), None, &[], &ana)
        .unwrap()
        .lock;
    assert!(matches!(
        refused(b.release(&second.token, &p("/elsewhere"), &ana)),
        LockError::TokenMismatch
    ));
    let (_, why) = b.release(&second.token, &p("/x"), &ana).unwrap();
    assert_eq!(why, Removal::Released);
    let kinds: Vec<String> = a
        .history(&HistoryFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["released", "acquired", "broken", "acquired"]);
}

#[test]
fn forgetting_a_tree_needs_a_permit_that_covers_it() {
    let (_dir, a, _b) = two_processes();
    let anyone = Requester::default();
    a.acquire(new_lock("/t/x", LockDepth::Zero), None, &[], &anyone)
        .unwrap();
    let elsewhere = a.admit(put("/u"), &[], &anyone).unwrap();
    assert!(matches!(
        a.forget_tree(&elsewhere, &p("/t"), &anyone),
        Err(AuthorityError::Store(StoreError::NotPermitted(_)))
    ));
    let lock = a.locks(&LockFilter::default()).unwrap().remove(0);
    let delete = WriteIntent::new().touches(&p("/t"), Reach::Subtree);
    let permit = a.admit(delete, &[lock.token], &anyone).unwrap();
    assert_eq!(a.forget_tree(&permit, &p("/t"), &anyone).unwrap().len(), 1);
    assert!(a.locks(&LockFilter::default()).unwrap().is_empty());
}

#[test]
fn holds_refuse_writes_and_locks_in_every_process() {
    let (_dir, a, b) = two_processes();
    let root = user("root", Role::Admin);
    let hold = Hold {
        path: p("/m"),
        reason: "moving".into(),
        until: None,
        created: now(),
        created_by: Some("root".into()),
    };
    a.set_hold(hold.clone(), &root).unwrap();
    assert!(matches!(
        refused(b.admit(put("/m/f"), &[], &root)),
        LockError::Held { .. }
    ));
    assert!(matches!(
        refused(b.acquire(new_lock("/m", LockDepth::Zero), None, &[], &root)),
        LockError::Held { .. }
    ));
    let over = Hold {
        until: Some(Timestamp(1)),
        ..hold
    };
    assert!(matches!(
        b.set_hold(over, &root),
        Err(AuthorityError::HoldAlreadyOver)
    ));
    assert_eq!(b.release_hold(&p("/m"), &root).unwrap().reason, "moving");
    assert!(matches!(
        a.release_hold(&p("/m"), &root),
        Err(AuthorityError::NoSuchHold(_))
    ));
    drop(b.admit(put("/m/f"), &[], &root).unwrap());
}

/// A store that runs every decision once and throws the result away before
/// running it for real, as a store does that lost a serialization race and
/// retried.
struct RetryingStore(Arc<dyn LockStore>);

impl LockStore for RetryingStore {
    fn transact(
        &self,
        needs: &Needs,
        now: Timestamp,
        context: &EventContext,
        decide: &mut dyn FnMut(&mut LockTable) -> bool,
    ) -> Result<(), StoreError> {
        self.0.transact(needs, now, context, &mut |table| {
            decide(table);
            false
        })?;
        self.0.transact(needs, now, context, decide)
    }
    fn view(&self, s: &[LockSelection], now: Timestamp) -> Result<LockTable, StoreError> {
        self.0.view(s, now)
    }
    fn view_with_properties(
        &self,
        s: &LockSelection,
        now: Timestamp,
    ) -> Result<(LockTable, Vec<crate::store::DeadProperty>), StoreError> {
        self.0.view_with_properties(s, now)
    }
    fn view_children(&self, c: &ResourcePath, now: Timestamp) -> Result<LockTable, StoreError> {
        self.0.view_children(c, now)
    }
    fn find_lock(&self, t: &LockToken, now: Timestamp) -> Result<Option<ActiveLock>, StoreError> {
        self.0.find_lock(t, now)
    }
    fn all_locks(&self, now: Timestamp) -> Result<Vec<ActiveLock>, StoreError> {
        self.0.all_locks(now)
    }
    fn next_expiry(&self) -> Result<Option<Timestamp>, StoreError> {
        self.0.next_expiry()
    }
    fn remove_expired(&self, now: Timestamp) -> Result<Vec<ActiveLock>, StoreError> {
        self.0.remove_expired(now)
    }
    fn renew_latches(
        &self,
        ids: &[crate::locks::LatchId],
        until: Timestamp,
    ) -> Result<(), StoreError> {
        self.0.renew_latches(ids, until)
    }
    fn release_latch(&self, id: &crate::locks::LatchId) -> Result<(), StoreError> {
        self.0.release_latch(id)
    }
}

#[test]
fn every_decision_survives_being_run_twice() {
    let stores = open(&StateLocation::Memory, crate::store::Durability::Normal).unwrap();
    let retrying = Stores {
        locks: Arc::new(RetryingStore(Arc::clone(&stores.locks))),
        ..stores.clone()
    };
    let service = LockService::new(&retrying, AuthorityConfig::default());
    let ana = user("ana", Role::Admin);
    let grant = service
        .acquire(new_lock("/a", LockDepth::Zero), Some(put("/a")), &[], &ana)
        .unwrap();
    assert_eq!(
        service.locks(&LockFilter::default()).unwrap(),
        vec![grant.lock.clone()],
        "the lock the caller was told of is the one stored"
    );
    drop(grant.create);
    let refreshed = service
        .refresh(
            &grant.lock.token,
            &p("/a"),
            &[TimeoutRequest::Seconds(900)],
            &ana,
        )
        .unwrap();
    assert_eq!(refreshed.timeout_seconds, 900);
    let permit = service
        .admit(put("/a"), std::slice::from_ref(&grant.lock.token), &ana)
        .unwrap();
    drop(permit);
    service.release(&grant.lock.token, &p("/a"), &ana).unwrap();
    let kinds: Vec<String> = service
        .history(&HistoryFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["released", "refreshed", "acquired"]);
}

#[test]
fn the_audit_trail_is_pruned_only_with_a_retention() {
    let stores = open(&StateLocation::Memory, crate::store::Durability::Normal).unwrap();
    let keep_all = LockService::new(&stores, AuthorityConfig::default());
    let anyone = Requester::default();
    keep_all
        .acquire(new_lock("/a", LockDepth::Zero), None, &[], &anyone)
        .unwrap();
    assert_eq!(keep_all.prune_history().unwrap(), 0);
    assert_eq!(
        keep_all.history(&HistoryFilter::default()).unwrap().len(),
        1
    );
    let brief = LockService::new(
        &stores,
        AuthorityConfig {
            audit_retention: Some(Duration::from_millis(1)),
            ..AuthorityConfig::default()
        },
    );
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(brief.prune_history().unwrap(), 1);
    assert!(brief.history(&HistoryFilter::default()).unwrap().is_empty());
}

/// Writes and locks on one path, decided by two "processes" (two stores on
/// one SQLite directory, each with its own connections) at full speed: a
/// write's admission takes only the latch database's lock, a lock's grant
/// both, so this checks that the two still exclude each other. Each side
/// goes on until both have got through often (bounded).
#[test]
fn writes_and_locks_decided_in_two_processes_never_overlap() {
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    const ENOUGH: u32 = 50;
    const ATTEMPTS: u32 = 20_000;
    let (_dir, a, b) = two_processes();
    let anyone = Requester::default();
    let (writes, locks) = (AtomicU32::new(0), AtomicU32::new(0));
    let done = || writes.load(Relaxed) >= ENOUGH && locks.load(Relaxed) >= ENOUGH;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..ATTEMPTS {
                if done() {
                    break;
                }
                if let Ok(permit) = a.admit(put("/f"), &[], &anyone) {
                    writes.fetch_add(1, Relaxed);
                    std::thread::yield_now();
                    assert!(
                        a.covering_locks(&p("/f")).unwrap().is_empty(),
                        "a lock was granted while a write was admitted"
                    );
                    drop(permit);
                }
                std::thread::yield_now();
            }
        });
        scope.spawn(|| {
            for _ in 0..ATTEMPTS {
                if done() {
                    break;
                }
                let new = new_lock("/f", LockDepth::Zero);
                if let Ok(grant) = b.acquire(new, None, &[], &anyone) {
                    locks.fetch_add(1, Relaxed);
                    assert!(
                        matches!(
                            b.admit(put("/f"), &[], &anyone),
                            Err(AuthorityError::Refused(LockError::Locked { .. }))
                        ),
                        "a write was admitted on a locked path"
                    );
                    b.release(&grant.lock.token, &p("/f"), &anyone).unwrap();
                }
                std::thread::yield_now();
            }
        });
    });
    let (writes, locks) = (writes.into_inner(), locks.into_inner());
    assert!(
        writes > 0 && locks > 0,
        "both sides got through: {writes} writes, {locks} locks"
    );
}

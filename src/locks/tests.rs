//! Unit tests of the lock core; names cite docs/locking.md invariants and
//! the RFC 4918 sections of shared/rfc4918-checklist.md.

use super::*;

fn p(path: &str) -> ResourcePath {
    ResourcePath::from_segments(path.split('/').filter(|s| !s.is_empty())).unwrap()
}

fn t(n: u32) -> LockToken {
    LockToken(format!("urn:uuid:00000000-0000-0000-0000-{n:012}"))
}

const NOW: Timestamp = Timestamp(1_000_000);

fn request(token: u32, root: &str, scope: LockScope, depth: LockDepth) -> LockRequest {
    LockRequest {
        token: t(token),
        root: p(root),
        scope,
        depth,
        owner: None,
        principal: None,
        client: LockClient::default(),
        root_is_collection: false,
        timeout: vec![TimeoutRequest::Seconds(60)],
    }
}

use LockDepth::{Infinity, Zero};
use LockScope::{Exclusive, Shared};

#[test]
fn exclusive_conflicts_with_any_lock_and_shared_with_shared_is_fine_s6_1() {
    let m = LockManager::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/a", Shared, Zero), NOW)
        .unwrap();
    m.acquire(&mut tb, request(2, "/a", Shared, Zero), NOW)
        .unwrap();
    assert_eq!(
        m.acquire(&mut tb, request(3, "/a", Exclusive, Zero), NOW)
            .unwrap_err()
            .blocking_root(),
        Some(&p("/a"))
    );
    let m = LockManager::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/a", Exclusive, Zero), NOW)
        .unwrap();
    assert!(matches!(
        m.acquire(&mut tb, request(2, "/a", Shared, Zero), NOW),
        Err(LockError::Conflict { .. })
    ));
    // §9.10.5: the same exclusive lock cannot be requested twice.
    assert!(matches!(
        m.acquire(&mut tb, request(3, "/a", Exclusive, Zero), NOW),
        Err(LockError::Conflict { .. })
    ));
}

#[test]
fn conflicts_are_found_through_ancestors_and_descendants_s6_1_s7_4() {
    let m = LockManager::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/a", Exclusive, Infinity), NOW)
        .unwrap();
    assert_eq!(
        m.acquire(&mut tb, request(2, "/a/b/c", Exclusive, Zero), NOW)
            .unwrap_err()
            .blocking_root(),
        Some(&p("/a"))
    );
    let m = LockManager::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/a/b/c", Exclusive, Zero), NOW)
        .unwrap();
    assert_eq!(
        m.acquire(&mut tb, request(2, "/a", Exclusive, Infinity), NOW)
            .unwrap_err()
            .blocking_root(),
        Some(&p("/a/b/c"))
    );
    // A depth-0 lock on /a does not reach /a/b/c.
    assert!(
        m.acquire(&mut tb, request(3, "/a", Exclusive, Zero), NOW)
            .is_ok()
    );
    // Sibling prefixes are not descendants.
    assert!(
        m.acquire(&mut tb, request(4, "/ab", Exclusive, Infinity), NOW)
            .is_ok()
    );
}

#[test]
fn writes_need_a_submitted_token_of_a_covering_lock_s7() {
    let m = LockManager::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/a", Exclusive, Infinity), NOW)
        .unwrap();
    let put = || WriteIntent::new().touches(&p("/a/f"), Reach::Resource);
    assert_eq!(
        m.check_write(&tb, put(), &[], None, NOW)
            .unwrap_err()
            .blocking_root(),
        Some(&p("/a"))
    );
    assert!(m.check_write(&tb, put(), &[t(1)], None, NOW).is_ok());
    assert!(m.check_write(&tb, put(), &[t(9)], None, NOW).is_err());
    // Unrelated paths are free.
    assert!(
        m.check_write(
            &tb,
            WriteIntent::new().touches(&p("/b"), Reach::Resource),
            &[],
            None,
            NOW
        )
        .is_ok()
    );
}

#[test]
fn depth_zero_collection_lock_protects_the_member_list_not_member_content_s7_4() {
    let m = LockManager::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/c", Exclusive, Zero), NOW)
        .unwrap();
    let overwrite = WriteIntent::new().touches(&p("/c/existing"), Reach::Resource);
    assert!(m.check_write(&tb, overwrite, &[], None, NOW).is_ok());
    let create = WriteIntent::new()
        .touches(&p("/c/new"), Reach::Resource)
        .changes_members_of_parent(&p("/c/new"));
    assert_eq!(
        m.check_write(&tb, create.clone(), &[], None, NOW)
            .unwrap_err()
            .blocking_root(),
        Some(&p("/c"))
    );
    assert!(m.check_write(&tb, create, &[t(1)], None, NOW).is_ok());
}

#[test]
fn tree_writes_name_each_locked_member_s9_6_1() {
    let m = LockManager::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/t/x", Exclusive, Zero), NOW)
        .unwrap();
    m.acquire(&mut tb, request(2, "/t/y/z", Shared, Zero), NOW)
        .unwrap();
    let delete = || WriteIntent::new().touches(&p("/t"), Reach::Subtree);
    let locked_roots = |e: LockError| match e {
        LockError::LockedMembers { locks } => locks.into_iter().map(|l| l.root).collect::<Vec<_>>(),
        other => panic!("expected LockedMembers, got {other:?}"),
    };
    assert_eq!(
        locked_roots(m.check_write(&tb, delete(), &[], None, NOW).unwrap_err()),
        vec![p("/t/x"), p("/t/y/z")]
    );
    assert_eq!(
        locked_roots(
            m.check_write(&tb, delete(), &[t(1)], None, NOW)
                .unwrap_err()
        ),
        vec![p("/t/y/z")]
    );
    assert!(
        m.check_write(&tb, delete(), &[t(1), t(2)], None, NOW)
            .is_ok()
    );
}

#[test]
fn an_expired_lock_is_neither_reported_nor_enforced_s6_6() {
    let m = LockManager::default();
    let mut tb = LockTable::default();
    let lock = m
        .acquire(&mut tb, request(1, "/a", Exclusive, Zero), NOW)
        .unwrap();
    assert_eq!(lock.expires, NOW.plus_seconds(60));
    let put = || WriteIntent::new().touches(&p("/a"), Reach::Resource);
    let just_before = Timestamp(lock.expires.0 - 1);
    assert!(m.check_write(&tb, put(), &[], None, just_before).is_err());
    assert!(m.check_write(&tb, put(), &[], None, lock.expires).is_ok());
    assert!(tb.covering_locks(&p("/a"), lock.expires).is_empty());
    assert!(
        m.acquire(&mut tb, request(2, "/a", Exclusive, Zero), lock.expires)
            .is_ok()
    );
    // The sweeper removes the expired one.
    assert_eq!(tb.remove_expired(lock.expires).len(), 1);
    assert_eq!(tb.len(), 1);
}

#[test]
fn refresh_restarts_the_timer_from_any_url_in_scope_s9_10_2() {
    let m = LockManager::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/a", Exclusive, Infinity), NOW)
        .unwrap();
    let later = NOW.plus_seconds(50);
    let refreshed = m
        .refresh(
            &mut tb,
            &t(1),
            &p("/a/deep/file"),
            &[TimeoutRequest::Seconds(100)],
            None,
            later,
        )
        .unwrap();
    assert_eq!(refreshed.expires, later.plus_seconds(100));
    assert_eq!(
        m.refresh(&mut tb, &t(1), &p("/elsewhere"), &[], None, later),
        Err(LockError::TokenMismatch)
    );
    assert_eq!(
        m.refresh(&mut tb, &t(7), &p("/a"), &[], None, later),
        Err(LockError::TokenMismatch)
    );
}

#[test]
fn timeouts_are_capped_and_infinite_becomes_the_maximum_s10_7() {
    let policy = TimeoutPolicy {
        default_seconds: 1800,
        max_seconds: 7200,
    };
    assert_eq!(policy.grant(&[]), 1800);
    assert_eq!(policy.grant(&[TimeoutRequest::Infinite]), 7200);
    assert_eq!(policy.grant(&[TimeoutRequest::Seconds(10_000_000)]), 7200);
    assert_eq!(
        policy.grant(&[TimeoutRequest::Seconds(30), TimeoutRequest::Infinite]),
        30
    );
}

#[test]
fn unlock_removes_the_whole_lock_from_any_url_in_scope_s9_11() {
    let m = LockManager::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/a", Shared, Infinity), NOW)
        .unwrap();
    m.acquire(&mut tb, request(2, "/a", Shared, Infinity), NOW)
        .unwrap();
    assert_eq!(
        m.release(&mut tb, &t(1), &p("/b"), None, NOW),
        Err(LockError::TokenMismatch)
    );
    m.release(&mut tb, &t(1), &p("/a/x"), None, NOW).unwrap();
    // The other shared lock stays.
    assert_eq!(tb.covering_locks(&p("/a"), NOW).len(), 1);
}

#[test]
fn locks_of_other_principals_do_not_authorise_s6_4() {
    let m = LockManager::default();
    let mut tb = LockTable::default();
    let mut r = request(1, "/a", Exclusive, Zero);
    r.principal = Some("alice".into());
    m.acquire(&mut tb, r, NOW).unwrap();
    let put = || WriteIntent::new().touches(&p("/a"), Reach::Resource);
    assert!(
        m.check_write(&tb, put(), &[t(1)], Some("bob"), NOW)
            .is_err()
    );
    assert!(
        m.check_write(&tb, put(), &[t(1)], Some("alice"), NOW)
            .is_ok()
    );
    assert_eq!(
        m.release(&mut tb, &t(1), &p("/a"), Some("bob"), NOW),
        Err(LockError::NotOwner)
    );
}

#[test]
fn deleting_a_tree_forgets_the_locks_rooted_in_it_s6_1_item_8() {
    let m = LockManager::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/t", Exclusive, Zero), NOW)
        .unwrap();
    m.acquire(&mut tb, request(2, "/t/x", Exclusive, Zero), NOW)
        .unwrap();
    m.acquire(&mut tb, request(3, "/tx", Exclusive, Zero), NOW)
        .unwrap();
    let gone: Vec<_> = tb
        .forget_tree(&p("/t"))
        .into_iter()
        .map(|l| l.token)
        .collect();
    assert_eq!(gone.len(), 2);
    assert!(gone.contains(&t(1)) && gone.contains(&t(2)));
    assert_eq!(tb.len(), 1);
}

#[test]
fn a_write_in_progress_holds_off_locks_and_writers() {
    let m_intent = || WriteIntent::new().touches(&p("/f"), Reach::Resource);
    let m = LockManager::default();
    let mut tb = LockTable::default();
    let permit = m.check_write(&tb, m_intent(), &[], None, NOW).unwrap();
    assert_eq!(
        m.check_write(&tb, m_intent(), &[], None, NOW).unwrap_err(),
        LockError::BeingWritten { path: p("/f") }
    );
    assert!(matches!(
        m.acquire(&mut tb, request(1, "/f", Exclusive, Zero), NOW),
        Err(LockError::BeingWritten { .. })
    ));
    drop(permit);
    assert!(
        m.acquire(&mut tb, request(1, "/f", Exclusive, Zero), NOW)
            .is_ok()
    );
}

/// The lock table checked against a brute-force model: a plain list of
/// locks, every question answered by scanning it (docs/locking.md I1-I6).
mod model_check {
    use super::*;
    use proptest::prelude::*;

    const PATHS: &[&str] = &["/", "/a", "/a/b", "/a/b/c", "/a/d", "/e"];

    #[derive(Debug, Clone)]
    enum Op {
        Lock {
            path: usize,
            exclusive: bool,
            infinite: bool,
            seconds: u64,
        },
        Refresh {
            token: u32,
            path: usize,
            seconds: u64,
        },
        Unlock {
            token: u32,
            path: usize,
        },
        Write {
            path: usize,
            subtree: bool,
            submitted: Vec<u32>,
        },
        Advance {
            seconds: u64,
        },
        Sweep,
    }

    fn op() -> impl Strategy<Value = Op> {
        let path = 0..PATHS.len();
        prop_oneof![
            4 => (path.clone(), any::<bool>(), any::<bool>(), 1u64..120)
                .prop_map(|(path, exclusive, infinite, seconds)| Op::Lock { path, exclusive, infinite, seconds }),
            1 => (0u32..12, path.clone(), 1u64..120).prop_map(|(token, path, seconds)| Op::Refresh { token, path, seconds }),
            2 => (0u32..12, path.clone()).prop_map(|(token, path)| Op::Unlock { token, path }),
            4 => (path, any::<bool>(), proptest::collection::vec(0u32..12, 0..3))
                .prop_map(|(path, subtree, submitted)| Op::Write { path, subtree, submitted }),
            2 => (1u64..90).prop_map(|seconds| Op::Advance { seconds }),
            1 => Just(Op::Sweep),
        ]
    }

    /// The model: live locks are those whose expiry is after `now`.
    fn live(model: &[ActiveLock], now: Timestamp) -> impl Iterator<Item = &ActiveLock> {
        model.iter().filter(move |l| l.expires > now)
    }

    fn model_acquire_ok(
        model: &[ActiveLock],
        root: &ResourcePath,
        scope: LockScope,
        depth: LockDepth,
        now: Timestamp,
    ) -> bool {
        live(model, now).all(|l| {
            let overlaps = l.covers(root) || (depth == Infinity && l.root.is_descendant_of(root));
            !overlaps || (l.scope == Shared && scope == Shared)
        })
    }

    fn model_write_ok(
        model: &[ActiveLock],
        path: &ResourcePath,
        subtree: bool,
        submitted: &[LockToken],
        now: Timestamp,
    ) -> bool {
        let usable_covering = |p: &ResourcePath| {
            let covering: Vec<_> = live(model, now).filter(|l| l.covers(p)).collect();
            covering.is_empty() || covering.iter().any(|l| submitted.contains(&l.token))
        };
        if !usable_covering(path) {
            return false;
        }
        !subtree
            || live(model, now)
                .filter(|l| l.root.is_descendant_of(path))
                .all(|l| {
                    live(model, now).any(|c| c.covers(&l.root) && submitted.contains(&c.token))
                })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
        #[test]
        fn lock_table_agrees_with_brute_force_model(ops in proptest::collection::vec(op(), 1..60)) {
            let core = LockManager::default();
            let mut tb = LockTable::default();
            let mut model: Vec<ActiveLock> = Vec::new();
            let mut now = NOW;
            let mut next_token = 0u32;
            for op in ops {
                match op {
                    Op::Lock { path, exclusive, infinite, seconds } => {
                        let root = p(PATHS[path]);
                        let scope = if exclusive { Exclusive } else { Shared };
                        let depth = if infinite { Infinity } else { Zero };
                        let expected = model_acquire_ok(&model, &root, scope, depth, now);
                        let mut r = request(next_token, PATHS[path], scope, depth);
                        r.timeout = vec![TimeoutRequest::Seconds(seconds)];
                        let got = core.acquire(&mut tb, r, now);
                        prop_assert_eq!(got.is_ok(), expected, "LOCK {} {:?} {:?}", PATHS[path], scope, depth);
                        if let Ok(lock) = got {
                            model.push(lock);
                        }
                        next_token += 1;
                    }
                    Op::Refresh { token, path, seconds } => {
                        let target = p(PATHS[path]);
                        let expected = live(&model, now).any(|l| l.token == t(token) && l.covers(&target));
                        let got = core.refresh(&mut tb, &t(token), &target, &[TimeoutRequest::Seconds(seconds)], None, now);
                        prop_assert_eq!(got.is_ok(), expected);
                        if let Ok(lock) = got {
                            prop_assert_eq!(lock.expires, now.plus_seconds(seconds));
                            for l in model.iter_mut().filter(|l| l.token == t(token)) {
                                l.expires = lock.expires;
                            }
                        }
                    }
                    Op::Unlock { token, path } => {
                        let target = p(PATHS[path]);
                        let expected = live(&model, now).any(|l| l.token == t(token) && l.covers(&target));
                        prop_assert_eq!(core.release(&mut tb, &t(token), &target, None, now).is_ok(), expected);
                        if expected {
                            model.retain(|l| l.token != t(token));
                        }
                    }
                    Op::Write { path, subtree, submitted } => {
                        let target = p(PATHS[path]);
                        let submitted: Vec<LockToken> = submitted.into_iter().map(t).collect();
                        let reach = if subtree { Reach::Subtree } else { Reach::Resource };
                        let expected = model_write_ok(&model, &target, subtree, &submitted, now);
                        let got = core.check_write(&tb, WriteIntent::new().touches(&target, reach), &submitted, None, now);
                        prop_assert_eq!(got.is_ok(), expected, "write {} subtree={} {:?}", PATHS[path], subtree, submitted);
                    }
                    Op::Advance { seconds } => now = now.plus_seconds(seconds),
                    Op::Sweep => {
                        tb.remove_expired(now);
                        model.retain(|l| l.expires > now);
                    }
                }
                // I1: never two conflicting live locks on one resource.
                for path in PATHS.iter().map(|s| p(s)) {
                    let covering = tb.covering_locks(&path, now);
                    let exclusive = covering.iter().filter(|l| l.scope == Exclusive).count();
                    prop_assert!(exclusive == 0 || covering.len() == 1, "{path}: {covering:?}");
                    let mut from_model: Vec<LockToken> = live(&model, now).filter(|l| l.covers(&path)).map(|l| l.token.clone()).collect();
                    let mut from_core: Vec<LockToken> = covering.into_iter().map(|l| l.token).collect();
                    from_model.sort();
                    from_core.sort();
                    prop_assert_eq!(from_core, from_model);
                }
            }
        }
    }
}

fn limited(max_locks: u64, max_locks_per_user: u64) -> LockManager {
    let policy = LockManager::default().policy();
    LockManager::new(
        policy,
        LockLimits {
            max_locks,
            max_locks_per_user,
        },
    )
}

fn counted(total: u64, of_user: u64) -> LockTable {
    let mut table = LockTable::default();
    table.set_counts(LockCounts { total, of_user });
    table
}

fn by(user: &str, mut request: LockRequest) -> LockRequest {
    request.principal = Some(user.to_owned());
    request
}

#[test]
fn a_lock_beyond_the_server_limit_is_refused_and_nothing_is_stored() {
    let m = limited(3, 100);
    let mut tb = counted(3, 0);
    assert_eq!(
        m.acquire(&mut tb, request(1, "/a", Exclusive, Zero), NOW),
        Err(LockError::TooManyLocks {
            limit: 3,
            per_user: false
        })
    );
    assert!(tb.is_empty());
    assert!(tb.take_changes().is_empty());
    let mut tb = counted(2, 0);
    assert_eq!(
        m.acquire(&mut tb, request(1, "/a", Exclusive, Zero), NOW)
            .map(|lock| lock.token),
        Ok(t(1))
    );
}

#[test]
fn the_per_user_limit_counts_only_that_users_locks_and_not_anonymous_ones() {
    let m = limited(1000, 2);
    let mut tb = counted(500, 2);
    assert_eq!(
        m.acquire(&mut tb, by("alice", request(1, "/a", Exclusive, Zero)), NOW),
        Err(LockError::TooManyLocks {
            limit: 2,
            per_user: true
        })
    );
    let mut tb = counted(500, 1);
    assert_eq!(
        m.acquire(&mut tb, by("alice", request(1, "/a", Exclusive, Zero)), NOW)
            .map(|lock| lock.token),
        Ok(t(1))
    );
    // Anonymous locks have no user to count against; only the total applies.
    let mut tb = counted(500, 2);
    assert_eq!(
        m.acquire(&mut tb, request(1, "/a", Exclusive, Zero), NOW)
            .map(|lock| lock.token),
        Ok(t(1))
    );
}

#[test]
fn a_conflict_is_reported_before_a_full_lock_table() {
    let m = limited(1, 1);
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/a", Exclusive, Zero), NOW)
        .unwrap();
    tb.set_counts(LockCounts {
        total: 1,
        of_user: 0,
    });
    assert!(matches!(
        m.acquire(&mut tb, request(2, "/a", Exclusive, Zero), NOW),
        Err(LockError::Conflict { .. })
    ));
}

#[test]
fn without_counts_from_storage_no_limit_applies() {
    let m = limited(1, 1);
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/a", Exclusive, Zero), NOW)
        .unwrap();
    m.acquire(&mut tb, request(2, "/b", Exclusive, Zero), NOW)
        .unwrap();
    assert_eq!(tb.len(), 2);
}

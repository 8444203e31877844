//! Unit tests of the lock core; names cite docs/locking.md invariants and
//! the RFC 4918 sections of shared/rfc4918-checklist.md.

use super::*;

pub(super) fn p(path: &str) -> ResourcePath {
    ResourcePath::from_segments(path.split('/').filter(|s| !s.is_empty())).unwrap()
}

pub(super) fn t(n: u32) -> LockToken {
    LockToken(format!("urn:uuid:00000000-0000-0000-0000-{n:012}"))
}

pub(super) const NOW: Timestamp = Timestamp(1_000_000);

/// A write lease that lasts 10 s from `now`.
fn lease(n: u32, now: Timestamp) -> LatchLease {
    LatchLease {
        id: LatchId(format!("latch-{n}")),
        holder: "test".into(),
        expires: now.plus_seconds(10),
    }
}

/// Asks whether `intent` would be admitted, leaving `tb` as it was.
pub(super) fn check(
    m: &LockRules,
    tb: &LockTable,
    intent: WriteIntent,
    submitted: &[LockToken],
    principal: Option<&str>,
    now: Timestamp,
) -> Result<Admission, LockError> {
    let mut tb = tb.clone();
    m.admit(&mut tb, &intent, submitted, principal, &lease(0, now), now)
}

pub(super) fn request(token: u32, root: &str, scope: LockScope, depth: LockDepth) -> LockRequest {
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

pub(super) use LockDepth::{Infinity, Zero};
pub(super) use LockScope::{Exclusive, Shared};

#[test]
fn exclusive_conflicts_with_any_lock_and_shared_with_shared_is_fine_s6_1() {
    let m = LockRules::default();
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
    let m = LockRules::default();
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
    let m = LockRules::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/a", Exclusive, Infinity), NOW)
        .unwrap();
    assert_eq!(
        m.acquire(&mut tb, request(2, "/a/b/c", Exclusive, Zero), NOW)
            .unwrap_err()
            .blocking_root(),
        Some(&p("/a"))
    );
    let m = LockRules::default();
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
    let m = LockRules::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/a", Exclusive, Infinity), NOW)
        .unwrap();
    let put = || WriteIntent::new().touches(&p("/a/f"), Reach::Resource);
    assert_eq!(
        check(&m, &tb, put(), &[], None, NOW)
            .unwrap_err()
            .blocking_root(),
        Some(&p("/a"))
    );
    assert!(check(&m, &tb, put(), &[t(1)], None, NOW).is_ok());
    assert!(check(&m, &tb, put(), &[t(9)], None, NOW).is_err());
    // Unrelated paths are free.
    assert!(
        check(
            &m,
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
    let m = LockRules::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/c", Exclusive, Zero), NOW)
        .unwrap();
    let overwrite = WriteIntent::new().touches(&p("/c/existing"), Reach::Resource);
    assert!(check(&m, &tb, overwrite, &[], None, NOW).is_ok());
    let create = WriteIntent::new()
        .touches(&p("/c/new"), Reach::Resource)
        .changes_members_of_parent(&p("/c/new"));
    assert_eq!(
        check(&m, &tb, create.clone(), &[], None, NOW)
            .unwrap_err()
            .blocking_root(),
        Some(&p("/c"))
    );
    assert!(check(&m, &tb, create, &[t(1)], None, NOW).is_ok());
}

#[test]
fn tree_writes_name_each_locked_member_s9_6_1() {
    let m = LockRules::default();
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
        locked_roots(check(&m, &tb, delete(), &[], None, NOW).unwrap_err()),
        vec![p("/t/x"), p("/t/y/z")]
    );
    assert_eq!(
        locked_roots(check(&m, &tb, delete(), &[t(1)], None, NOW).unwrap_err()),
        vec![p("/t/y/z")]
    );
    assert!(check(&m, &tb, delete(), &[t(1), t(2)], None, NOW).is_ok());
}

#[test]
fn an_expired_lock_is_neither_reported_nor_enforced_s6_6() {
    let m = LockRules::default();
    let mut tb = LockTable::default();
    let lock = m
        .acquire(&mut tb, request(1, "/a", Exclusive, Zero), NOW)
        .unwrap();
    assert_eq!(lock.expires, NOW.plus_seconds(60));
    let put = || WriteIntent::new().touches(&p("/a"), Reach::Resource);
    let just_before = Timestamp(lock.expires.0 - 1);
    assert!(check(&m, &tb, put(), &[], None, just_before).is_err());
    assert!(check(&m, &tb, put(), &[], None, lock.expires).is_ok());
    assert!(tb.covering_locks(&p("/a"), lock.expires).is_empty());
    assert!(
        m.acquire(&mut tb, request(2, "/a", Exclusive, Zero), lock.expires)
            .is_ok()
    );
    // The sweeper removes the expired one.
    assert_eq!(tb.drop_expired(lock.expires).len(), 1);
    assert_eq!(tb.len(), 1);
}

#[test]
fn refresh_restarts_the_timer_from_any_url_in_scope_s9_10_2() {
    let m = LockRules::default();
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
    let m = LockRules::default();
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
    let m = LockRules::default();
    let mut tb = LockTable::default();
    let mut r = request(1, "/a", Exclusive, Zero);
    r.principal = Some("alice".into());
    m.acquire(&mut tb, r, NOW).unwrap();
    let put = || WriteIntent::new().touches(&p("/a"), Reach::Resource);
    assert!(check(&m, &tb, put(), &[t(1)], Some("bob"), NOW).is_err());
    assert!(check(&m, &tb, put(), &[t(1)], Some("alice"), NOW).is_ok());
    assert_eq!(
        m.release(&mut tb, &t(1), &p("/a"), Some("bob"), NOW),
        Err(LockError::NotOwner)
    );
}

#[test]
fn deleting_a_tree_forgets_the_locks_rooted_in_it_s6_1_item_8() {
    let m = LockRules::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/t", Exclusive, Zero), NOW)
        .unwrap();
    m.acquire(&mut tb, request(2, "/t/x", Exclusive, Zero), NOW)
        .unwrap();
    m.acquire(&mut tb, request(3, "/tx", Exclusive, Zero), NOW)
        .unwrap();
    let gone: Vec<_> = m
        .forget_tree(&mut tb, &p("/t"))
        .into_iter()
        .map(|l| l.token)
        .collect();
    assert_eq!(gone.len(), 2);
    assert!(gone.contains(&t(1)) && gone.contains(&t(2)));
    assert_eq!(tb.len(), 1);
}

#[test]
fn a_write_in_progress_holds_off_locks_and_writers_until_its_lease_runs_out_i9() {
    let put = || {
        WriteIntent::new()
            .touches(&p("/a/f"), Reach::Resource)
            .changes_members_of_parent(&p("/a/f"))
    };
    let m = LockRules::default();
    let mut tb = LockTable::default();
    let first = lease(1, NOW);
    let admitted = m.admit(&mut tb, &put(), &[], None, &first, NOW).unwrap();
    assert!(admitted.latched);
    // One latch row, for the file; the parent's member list is not latched.
    let latches: Vec<_> = tb
        .take_changes()
        .into_iter()
        .filter_map(|c| match c {
            LockChange::Latch(latch) => Some(latch),
            _ => None,
        })
        .collect();
    assert_eq!(latches.len(), 1);
    assert_eq!(
        (latches[0].path.clone(), latches[0].reach),
        (p("/a/f"), Reach::Resource)
    );
    assert_eq!(latches[0].id, first.id);
    assert_eq!(
        check(&m, &tb, put(), &[], None, NOW).unwrap_err(),
        LockError::BeingWritten { path: p("/a/f") }
    );
    let delete_parent = WriteIntent::new().touches(&p("/a"), Reach::Subtree);
    assert_eq!(
        check(&m, &tb, delete_parent.clone(), &[], None, NOW).unwrap_err(),
        LockError::BeingWritten { path: p("/a/f") }
    );
    // A sibling only shares the parent's member list: no latch conflict.
    let sibling = WriteIntent::new()
        .touches(&p("/a/g"), Reach::Resource)
        .changes_members_of_parent(&p("/a/g"));
    assert_eq!(
        check(&m, &tb, sibling, &[], None, NOW),
        Ok(Admission { latched: true })
    );
    assert!(matches!(
        m.acquire(&mut tb, request(1, "/a/f", Exclusive, Zero), NOW),
        Err(LockError::BeingWritten { .. })
    ));
    assert!(matches!(
        m.acquire(&mut tb, request(1, "/a", Exclusive, Infinity), NOW),
        Err(LockError::BeingWritten { .. })
    ));
    // A depth-0 lock on the parent does not reach the file being written.
    assert_eq!(
        check_acquire(&m, &tb, request(1, "/a", Exclusive, Zero), NOW).map(|l| l.token),
        Ok(t(1))
    );
    // The writer's process died: its lease runs out and nothing is held off.
    let later = first.expires;
    assert_eq!(
        check(&m, &tb, delete_parent, &[], None, later),
        Ok(Admission { latched: true })
    );
    assert_eq!(
        m.acquire(&mut tb, request(2, "/a/f", Exclusive, Zero), later)
            .map(|l| l.token),
        Ok(t(2))
    );
}

/// Asks whether `request` would be granted, leaving `tb` as it was.
fn check_acquire(
    m: &LockRules,
    tb: &LockTable,
    request: LockRequest,
    now: Timestamp,
) -> Result<ActiveLock, LockError> {
    m.acquire(&mut tb.clone(), request, now)
}

#[test]
fn a_write_that_latches_nothing_records_no_latch() {
    let m = LockRules::default();
    let mut tb = LockTable::default();
    let mkcol = WriteIntent::new()
        .touches(&p("/c"), Reach::Create)
        .changes_members_of_parent(&p("/c"));
    let admitted = m
        .admit(&mut tb, &mkcol, &[], None, &lease(1, NOW), NOW)
        .unwrap();
    assert!(!admitted.latched);
    assert!(tb.take_changes().is_empty());
}

#[test]
fn a_refused_write_changes_nothing() {
    let m = LockRules::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/a", Exclusive, Zero), NOW)
        .unwrap();
    tb.take_changes();
    let put = WriteIntent::new().touches(&p("/a"), Reach::Resource);
    assert!(
        m.admit(&mut tb, &put, &[], None, &lease(1, NOW), NOW)
            .is_err()
    );
    assert!(tb.take_changes().is_empty());
}

#[test]
fn removals_say_why_for_the_audit_trail() {
    let m = LockRules::default();
    let mut tb = LockTable::default();
    for (n, root) in [(1, "/a"), (2, "/b"), (3, "/c/x"), (4, "/d")] {
        m.acquire(&mut tb, request(n, root, Exclusive, Zero), NOW)
            .unwrap();
    }
    tb.take_changes();
    m.release(&mut tb, &t(1), &p("/a"), None, NOW).unwrap();
    m.break_lock(&mut tb, &t(2), NOW).unwrap();
    m.forget_tree(&mut tb, &p("/c"));
    m.withdraw(&mut tb, &t(4)).unwrap();
    let why: Vec<(LockToken, Removal)> = tb
        .take_changes()
        .into_iter()
        .map(|c| match c {
            LockChange::Remove(lock, why) => (lock.token, why),
            other => panic!("unexpected change {other:?}"),
        })
        .collect();
    assert_eq!(
        why,
        vec![
            (t(1), Removal::Released),
            (t(2), Removal::Broken),
            (t(3), Removal::ResourceGone),
            (t(4), Removal::Released),
        ]
    );
}

#[test]
fn breaking_a_tree_takes_the_locks_rooted_in_it_not_those_above() {
    let m = LockRules::default();
    let mut tb = LockTable::default();
    m.acquire(&mut tb, request(1, "/r", Shared, Infinity), NOW)
        .unwrap();
    m.acquire(&mut tb, request(2, "/r/t", Shared, Zero), NOW)
        .unwrap();
    m.acquire(&mut tb, request(3, "/r/t/u", Shared, Zero), NOW)
        .unwrap();
    m.acquire(&mut tb, request(4, "/r/tx", Shared, Zero), NOW)
        .unwrap();
    let broken: Vec<LockToken> = m
        .break_tree(&mut tb, &p("/r/t"), NOW)
        .into_iter()
        .map(|l| l.token)
        .collect();
    assert_eq!(broken, vec![t(2), t(3)]);
    assert_eq!(tb.len(), 2);
}

#[test]
fn holds_are_placed_replaced_and_lifted_as_decisions() {
    let m = LockRules::default();
    let mut tb = LockTable::default();
    let hold = |reason: &str, until: Option<Timestamp>| Hold {
        path: p("/m"),
        reason: reason.into(),
        until,
        created: NOW,
        created_by: Some("admin".into()),
    };
    // A hold that would already be over is refused.
    assert!(!m.place_hold(&mut tb, hold("late", Some(NOW)), NOW));
    assert!(m.place_hold(&mut tb, hold("first", None), NOW));
    assert!(m.place_hold(&mut tb, hold("second", Some(NOW.plus_seconds(60))), NOW));
    let put = WriteIntent::new().touches(&p("/m/f"), Reach::Resource);
    match check(&m, &tb, put.clone(), &[], None, NOW) {
        Err(LockError::Held { hold }) => assert_eq!(hold.reason, "second"),
        other => panic!("expected Held, got {other:?}"),
    }
    assert!(m.lift_hold(&mut tb, &p("/m/f"), NOW).is_none());
    assert_eq!(
        m.lift_hold(&mut tb, &p("/m"), NOW).map(|h| h.reason),
        Some("second".to_owned())
    );
    assert_eq!(
        check(&m, &tb, put, &[], None, NOW),
        Ok(Admission { latched: true })
    );
    let kinds: Vec<&str> = tb
        .take_changes()
        .iter()
        .map(|c| match c {
            LockChange::HoldSet(_) => "set",
            LockChange::HoldLifted(_) => "lifted",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, vec!["set", "set", "lifted"]);
}

fn limited(max_locks: u64, max_locks_per_user: u64) -> LockRules {
    let policy = LockRules::default().policy();
    LockRules::new(
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

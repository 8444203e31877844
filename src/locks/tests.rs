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
        timeout: vec![TimeoutRequest::Seconds(60)],
    }
}

use LockDepth::{Infinity, Zero};
use LockScope::{Exclusive, Shared};

#[test]
fn exclusive_conflicts_with_any_lock_and_shared_with_shared_is_fine_s6_1() {
    let mut m = LockManager::default();
    m.acquire(request(1, "/a", Shared, Zero), NOW).unwrap();
    m.acquire(request(2, "/a", Shared, Zero), NOW).unwrap();
    assert_eq!(
        m.acquire(request(3, "/a", Exclusive, Zero), NOW),
        Err(LockError::Conflict { lock_root: p("/a") })
    );
    let mut m = LockManager::default();
    m.acquire(request(1, "/a", Exclusive, Zero), NOW).unwrap();
    assert!(matches!(
        m.acquire(request(2, "/a", Shared, Zero), NOW),
        Err(LockError::Conflict { .. })
    ));
    // §9.10.5: the same exclusive lock cannot be requested twice.
    assert!(matches!(
        m.acquire(request(3, "/a", Exclusive, Zero), NOW),
        Err(LockError::Conflict { .. })
    ));
}

#[test]
fn conflicts_are_found_through_ancestors_and_descendants_s6_1_s7_4() {
    let mut m = LockManager::default();
    m.acquire(request(1, "/a", Exclusive, Infinity), NOW)
        .unwrap();
    assert_eq!(
        m.acquire(request(2, "/a/b/c", Exclusive, Zero), NOW),
        Err(LockError::Conflict { lock_root: p("/a") })
    );
    let mut m = LockManager::default();
    m.acquire(request(1, "/a/b/c", Exclusive, Zero), NOW)
        .unwrap();
    assert_eq!(
        m.acquire(request(2, "/a", Exclusive, Infinity), NOW),
        Err(LockError::Conflict {
            lock_root: p("/a/b/c")
        })
    );
    // A depth-0 lock on /a does not reach /a/b/c.
    assert!(m.acquire(request(3, "/a", Exclusive, Zero), NOW).is_ok());
    // Sibling prefixes are not descendants.
    assert!(
        m.acquire(request(4, "/ab", Exclusive, Infinity), NOW)
            .is_ok()
    );
}

#[test]
fn writes_need_a_submitted_token_of_a_covering_lock_s7() {
    let mut m = LockManager::default();
    m.acquire(request(1, "/a", Exclusive, Infinity), NOW)
        .unwrap();
    let put = || WriteIntent::new().touches(&p("/a/f"), Reach::Resource);
    assert_eq!(
        m.check_write(put(), &[], None, NOW).unwrap_err(),
        LockError::Locked { lock_root: p("/a") }
    );
    assert!(m.check_write(put(), &[t(1)], None, NOW).is_ok());
    assert!(m.check_write(put(), &[t(9)], None, NOW).is_err());
    // Unrelated paths are free.
    assert!(
        m.check_write(
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
    let mut m = LockManager::default();
    m.acquire(request(1, "/c", Exclusive, Zero), NOW).unwrap();
    let overwrite = WriteIntent::new().touches(&p("/c/existing"), Reach::Resource);
    assert!(m.check_write(overwrite, &[], None, NOW).is_ok());
    let create = WriteIntent::new()
        .touches(&p("/c/new"), Reach::Resource)
        .changes_members_of_parent(&p("/c/new"));
    assert_eq!(
        m.check_write(create.clone(), &[], None, NOW).unwrap_err(),
        LockError::Locked { lock_root: p("/c") }
    );
    assert!(m.check_write(create, &[t(1)], None, NOW).is_ok());
}

#[test]
fn tree_writes_name_each_locked_member_s9_6_1() {
    let mut m = LockManager::default();
    m.acquire(request(1, "/t/x", Exclusive, Zero), NOW).unwrap();
    m.acquire(request(2, "/t/y/z", Shared, Zero), NOW).unwrap();
    let delete = || WriteIntent::new().touches(&p("/t"), Reach::Subtree);
    assert_eq!(
        m.check_write(delete(), &[], None, NOW).unwrap_err(),
        LockError::LockedMembers {
            roots: vec![p("/t/x"), p("/t/y/z")]
        }
    );
    assert_eq!(
        m.check_write(delete(), &[t(1)], None, NOW).unwrap_err(),
        LockError::LockedMembers {
            roots: vec![p("/t/y/z")]
        }
    );
    assert!(m.check_write(delete(), &[t(1), t(2)], None, NOW).is_ok());
}

#[test]
fn an_expired_lock_is_neither_reported_nor_enforced_s6_6() {
    let mut m = LockManager::default();
    let lock = m.acquire(request(1, "/a", Exclusive, Zero), NOW).unwrap();
    assert_eq!(lock.expires, NOW.plus_seconds(60));
    let put = || WriteIntent::new().touches(&p("/a"), Reach::Resource);
    let just_before = Timestamp(lock.expires.0 - 1);
    assert!(m.check_write(put(), &[], None, just_before).is_err());
    assert!(m.check_write(put(), &[], None, lock.expires).is_ok());
    assert!(m.covering(&p("/a"), lock.expires).is_empty());
    assert!(
        m.acquire(request(2, "/a", Exclusive, Zero), lock.expires)
            .is_ok()
    );
    // The sweeper removes the expired one.
    assert_eq!(m.expire(lock.expires).len(), 1);
    assert_eq!(m.len(), 1);
}

#[test]
fn refresh_restarts_the_timer_from_any_url_in_scope_s9_10_2() {
    let mut m = LockManager::default();
    m.acquire(request(1, "/a", Exclusive, Infinity), NOW)
        .unwrap();
    let later = NOW.plus_seconds(50);
    let refreshed = m
        .refresh(
            &t(1),
            &p("/a/deep/file"),
            &[TimeoutRequest::Seconds(100)],
            None,
            later,
        )
        .unwrap();
    assert_eq!(refreshed.expires, later.plus_seconds(100));
    assert_eq!(
        m.refresh(&t(1), &p("/elsewhere"), &[], None, later),
        Err(LockError::TokenMismatch)
    );
    assert_eq!(
        m.refresh(&t(7), &p("/a"), &[], None, later),
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
    let mut m = LockManager::default();
    m.acquire(request(1, "/a", Shared, Infinity), NOW).unwrap();
    m.acquire(request(2, "/a", Shared, Infinity), NOW).unwrap();
    assert_eq!(
        m.release(&t(1), &p("/b"), None, NOW),
        Err(LockError::TokenMismatch)
    );
    m.release(&t(1), &p("/a/x"), None, NOW).unwrap();
    // The other shared lock stays.
    assert_eq!(m.covering(&p("/a"), NOW).len(), 1);
}

#[test]
fn locks_of_other_principals_do_not_authorise_s6_4() {
    let mut m = LockManager::default();
    let mut r = request(1, "/a", Exclusive, Zero);
    r.principal = Some("alice".into());
    m.acquire(r, NOW).unwrap();
    let put = || WriteIntent::new().touches(&p("/a"), Reach::Resource);
    assert!(m.check_write(put(), &[t(1)], Some("bob"), NOW).is_err());
    assert!(m.check_write(put(), &[t(1)], Some("alice"), NOW).is_ok());
    assert_eq!(
        m.release(&t(1), &p("/a"), Some("bob"), NOW),
        Err(LockError::NotOwner)
    );
}

#[test]
fn deleting_a_tree_forgets_the_locks_rooted_in_it_s6_1_item_8() {
    let mut m = LockManager::default();
    m.acquire(request(1, "/t", Exclusive, Zero), NOW).unwrap();
    m.acquire(request(2, "/t/x", Exclusive, Zero), NOW).unwrap();
    m.acquire(request(3, "/tx", Exclusive, Zero), NOW).unwrap();
    let gone: Vec<_> = m
        .forget_tree(&p("/t"))
        .into_iter()
        .map(|l| l.token)
        .collect();
    assert_eq!(gone.len(), 2);
    assert!(gone.contains(&t(1)) && gone.contains(&t(2)));
    assert_eq!(m.len(), 1);
}

#[test]
fn a_write_in_progress_holds_off_locks_and_writers() {
    let m_intent = || WriteIntent::new().touches(&p("/f"), Reach::Resource);
    let mut m = LockManager::default();
    let permit = m.check_write(m_intent(), &[], None, NOW).unwrap();
    assert_eq!(
        m.check_write(m_intent(), &[], None, NOW).unwrap_err(),
        LockError::BeingWritten { path: p("/f") }
    );
    assert!(matches!(
        m.acquire(request(1, "/f", Exclusive, Zero), NOW),
        Err(LockError::BeingWritten { .. })
    ));
    drop(permit);
    assert!(m.acquire(request(1, "/f", Exclusive, Zero), NOW).is_ok());
}

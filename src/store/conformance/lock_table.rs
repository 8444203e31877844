//! The lock table: locks with every field, views, decisions committed or
//! declined, expiry, counts and write latches.

use std::sync::{Arc, Mutex};

use super::helpers::*;
use crate::store::Decision;

pub(super) fn locks_keep_every_field(stores: &Stores) {
    let lock = acquire(stores, "urn:uuid:1", "/a/b c", Some("alice"), T0);
    assert_eq!(stores.locks.all_locks(T0).unwrap(), vec![lock.clone()]);
    assert_eq!(
        stores.locks.find_lock(&lock.token, T0).unwrap(),
        Some(lock.clone())
    );
    assert_eq!(
        stores
            .locks
            .find_lock(&LockToken("urn:uuid:other".into()), T0)
            .unwrap(),
        None
    );
    assert!(
        stores.locks.all_locks(lock.expires).unwrap().is_empty(),
        "expired at its expiry"
    );
    assert_eq!(
        stores.locks.find_lock(&lock.token, lock.expires).unwrap(),
        None
    );
}

pub(super) fn views_select_ancestors_and_members_only(stores: &Stores) {
    for (token, root) in [
        ("t-root", "/"),
        ("t-a", "/a"),
        ("t-ab", "/a/b"),
        ("t-abc", "/a/b/c"),
        ("t-x", "/x"),
        ("t-ab2", "/ab"),
    ] {
        acquire(stores, token, root, None, T0);
    }
    let view = |with_members| {
        let selection = LockSelection::of(&p("/a/b"), with_members);
        tokens(&stores.locks.view(&[selection], T0).unwrap())
    };
    assert_eq!(view(false), ["t-a", "t-ab", "t-root"]);
    assert_eq!(view(true), ["t-a", "t-ab", "t-abc", "t-root"]);
    // Read together with the dead properties: the same locks, and the
    // properties of the path itself, not of its members.
    for (path, value) in [("/a/b", "mine"), ("/a/b/c", "member's")] {
        let set = [PatchOp::Set(prop("k", value))];
        stores
            .properties
            .patch(&permit_all(), &p(path), &set)
            .unwrap();
    }
    let selection = LockSelection::of(&p("/a/b"), false);
    let (table, properties) = stores.locks.view_with_properties(&selection, T0).unwrap();
    assert_eq!(tokens(&table), ["t-a", "t-ab", "t-root"]);
    assert_eq!(properties, [prop("k", "mine")]);
    // A deep path has more ancestors than one lookup statement takes
    // (SQLite looks up eight at a time): every level is still seen.
    let level = |n: usize| (1..=n).fold(String::new(), |path, i| format!("{path}/d{i}"));
    for n in [1, 7, 8, 9, 12] {
        acquire(stores, &format!("t-d{n:02}"), &level(n), None, T0);
    }
    let deep = [LockSelection::of(&p(&level(12)), false)];
    assert_eq!(
        tokens(&stores.locks.view(&deep, T0).unwrap()),
        ["t-d01", "t-d07", "t-d08", "t-d09", "t-d12", "t-root"]
    );
    let two = [
        LockSelection::of(&p(&level(9)), false),
        LockSelection::of(&p("/a/b"), false),
    ];
    assert_eq!(
        tokens(&stores.locks.view(&two, T0).unwrap()),
        ["t-a", "t-ab", "t-d01", "t-d07", "t-d08", "t-d09", "t-root"]
    );
}

pub(super) fn children_views_hold_direct_members_only(stores: &Stores) {
    for (token, root) in [
        ("t-root", "/"),
        ("t-a", "/a"),
        ("t-ab", "/a/b"),
        ("t-abc", "/a/b/c"),
        ("t-ax", "/ax"),
    ] {
        acquire(stores, token, root, None, T0);
    }
    assert_eq!(
        tokens(&stores.locks.view_children(&p("/a"), T0).unwrap()),
        ["t-a", "t-ab", "t-root"]
    );
    assert_eq!(
        tokens(
            &stores
                .locks
                .view_children(&ResourcePath::root(), T0)
                .unwrap()
        ),
        ["t-a", "t-ax", "t-root"]
    );
}

pub(super) fn declined_decisions_write_nothing(stores: &Stores) {
    let lock = acquire(stores, "urn:uuid:1", "/a", None, T0);
    decide(stores, "/a", T0, |rules, table| {
        rules
            .release(table, &lock.token, &p("/a"), None, T0)
            .unwrap();
        false
    });
    assert_eq!(stores.locks.all_locks(T0).unwrap().len(), 1);
    assert_eq!(
        stores
            .audit
            .history(&HistoryFilter::default())
            .unwrap()
            .len(),
        1
    );
    decide(stores, "/a", T0, |rules, table| {
        rules
            .refresh(
                table,
                &lock.token,
                &p("/a"),
                &[TimeoutRequest::Seconds(120)],
                None,
                T0,
            )
            .is_ok()
    });
    let stored = stores.locks.all_locks(T0).unwrap();
    assert_eq!(
        (stored[0].timeout_seconds, stored[0].expires),
        (120, T0.plus_seconds(120))
    );
    assert_eq!(
        stores.locks.next_expiry().unwrap(),
        Some(T0.plus_seconds(120))
    );
}

pub(super) fn expiry_removes_and_records(stores: &Stores) {
    let early = acquire(stores, "urn:uuid:early", "/e", Some("ana"), T0);
    let late = acquire(stores, "urn:uuid:late", "/l", None, T0.plus_seconds(30));
    assert_eq!(stores.locks.next_expiry().unwrap(), Some(early.expires));
    let expired = stores.locks.remove_expired(early.expires).unwrap();
    assert_eq!(expired, vec![early.clone()]);
    assert_eq!(stores.locks.all_locks(T0).unwrap(), vec![late]);
    let events = stores.audit.history(&HistoryFilter::default()).unwrap();
    assert_eq!(
        (events[0].kind.as_str(), events[0].at_ms),
        ("expired", early.expires.0)
    );
    assert_eq!(events[0].holder.as_deref(), Some("ana"));
    assert!(
        stores
            .locks
            .remove_expired(early.expires)
            .unwrap()
            .is_empty(),
        "once"
    );
}

pub(super) fn lock_counts_follow_every_change(stores: &Stores) {
    acquire(stores, "urn:uuid:anon", "/n", None, T0);
    let one = acquire(stores, "urn:uuid:1", "/a", Some("alice"), T0);
    let two = acquire(
        stores,
        "urn:uuid:2",
        "/b",
        Some("alice"),
        T0.plus_seconds(100),
    );
    acquire(
        stores,
        "urn:uuid:3",
        "/c",
        Some("bob"),
        T0.plus_seconds(100),
    );
    assert_eq!(counts_for(stores, Some("alice")), (4, 2));
    assert_eq!(counts_for(stores, Some("bob")), (4, 1));
    assert_eq!(counts_for(stores, None), (4, 0));
    decide(stores, "/a", T0, |rules, table| {
        rules
            .refresh(table, &one.token, &p("/a"), &[], Some("alice"), T0)
            .is_ok()
    });
    assert_eq!(counts_for(stores, Some("alice")), (4, 2));
    decide(stores, "/b", T0, |rules, table| {
        rules
            .release(table, &two.token, &p("/b"), Some("alice"), T0)
            .is_ok()
    });
    assert_eq!(counts_for(stores, Some("alice")), (3, 1));
    assert_eq!(stores.locks.remove_expired(one.expires).unwrap().len(), 2);
    assert_eq!(counts_for(stores, Some("alice")), (1, 0));
    assert_eq!(counts_for(stores, Some("bob")), (1, 1));
    // Without asking, no counts are read.
    stores
        .locks
        .transact(&needs("/", false), T0, &context(None), &mut |table| {
            assert_eq!(table.counts(), None);
            false
        })
        .unwrap();
}

fn latch(stores: &Stores, id: &str, path: &str, reach: Reach, expires: Timestamp) -> bool {
    let lease = LatchLease {
        id: LatchId(id.into()),
        holder: "conformance".into(),
        expires,
    };
    let intent = WriteIntent::new().touches(&p(path), reach);
    let mut admitted = false;
    let needs = needs(path, reach == Reach::Subtree);
    stores
        .locks
        .transact(&needs, T0, &context(None), &mut |table| {
            admitted = LockRules::default()
                .admit(table, &intent, &[], None, &lease, T0)
                .is_ok();
            admitted
        })
        .unwrap();
    admitted
}

pub(super) fn latches_are_seen_renewed_and_released(stores: &Stores) {
    let soon = T0.plus_seconds(10);
    assert!(latch(stores, "w1", "/d/f", Reach::Resource, soon));
    // Seen by the next decision about the same path, its tree or its parent tree.
    assert!(!latch(stores, "w2", "/d/f", Reach::Resource, soon));
    assert!(!latch(stores, "w2", "/d", Reach::Subtree, soon));
    assert!(
        latch(stores, "w3", "/d/g", Reach::Resource, soon),
        "a sibling is free"
    );
    // A latch does not show as a lock, and leaves no audit event.
    assert!(stores.locks.all_locks(T0).unwrap().is_empty());
    assert!(
        stores
            .audit
            .history(&HistoryFilter::default())
            .unwrap()
            .is_empty()
    );
    // Renewed, it outlives its first lease; at its expiry it stops counting.
    stores
        .locks
        .renew_latches(&[LatchId("w1".into())], T0.plus_seconds(20))
        .unwrap();
    let at = |t: Timestamp| {
        let mut busy = false;
        stores
            .locks
            .transact(&needs("/d/f", false), t, &context(None), &mut |table| {
                busy = table.latch_over(&p("/d/f"), Reach::Resource, t).is_some();
                false
            })
            .unwrap();
        busy
    };
    assert!(at(soon));
    assert!(!at(T0.plus_seconds(20)));
    // Decisions that do not ask for latches do not load them.
    let without = Needs {
        latches: false,
        ..needs("/d/f", false)
    };
    stores
        .locks
        .transact(&without, T0, &context(None), &mut |table| {
            assert!(table.latch_over(&p("/d/f"), Reach::Resource, T0).is_none());
            false
        })
        .unwrap();
    // Released, it is gone at once.
    stores.locks.release_latch(&LatchId("w1".into())).unwrap();
    assert!(!at(T0));
    assert!(
        !latch(stores, "w4", "/d", Reach::Subtree, soon),
        "w3 still holds /d/g"
    );
    stores.locks.release_latch(&LatchId("w3".into())).unwrap();
    assert!(latch(stores, "w4", "/d", Reach::Subtree, soon));
    // The sweep drops lapsed latches.
    stores.locks.remove_expired(soon).unwrap();
    assert!(latch(
        stores,
        "w5",
        "/d",
        Reach::Subtree,
        T0.plus_seconds(30)
    ));
}

pub(super) fn latch_only_decisions_change_nothing_else(stores: &Stores) {
    let lease = LatchLease {
        id: LatchId("w".into()),
        holder: "conformance".into(),
        expires: T0.plus_seconds(10),
    };
    let latch_only = Needs {
        writes: Writes::LatchesOnly,
        ..needs("/f", false)
    };
    let put = WriteIntent::new().touches(&p("/f"), Reach::Resource);
    let mut admitted = false;
    stores
        .locks
        .transact(&latch_only, T0, &context(None), &mut |table| {
            admitted = LockRules::default()
                .admit(table, &put, &[], None, &lease, T0)
                .is_ok();
            admitted
        })
        .unwrap();
    assert!(admitted);
    assert!(!latch(
        stores,
        "w2",
        "/f",
        Reach::Resource,
        T0.plus_seconds(10)
    ));
    // A latch-only decision that changes a lock is refused and writes nothing.
    let request = exclusive("urn:uuid:sneaky", "/g");
    let refused = stores
        .locks
        .transact(&latch_only, T0, &context(None), &mut |table| {
            LockRules::default()
                .acquire(table, request.clone(), T0)
                .is_ok()
        });
    assert!(refused.is_err());
    assert!(stores.locks.all_locks(T0).unwrap().is_empty());
}

/// `submit` (decisions handed over whole, from async tasks): each is
/// decided on what committed before it, and is committed when it resolves.
pub(super) fn submitted_decisions_commit_before_they_resolve(stores: &Stores) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut pending = Vec::new();
        for i in 0..16 {
            for path in ["/contested".to_owned(), format!("/own-{i}")] {
                let token = format!("urn:uuid:{i}{}", path.replace('/', "-"));
                let got = Arc::new(Mutex::new(false));
                let (answer, request) = (Arc::clone(&got), exclusive(&token, &path));
                let decision = Decision {
                    needs: needs(&path, false),
                    now: T0,
                    context: context(None),
                    decide: Box::new(move |table| {
                        let granted = LockRules::default()
                            .acquire(table, request.clone(), T0)
                            .is_ok();
                        *answer.lock().unwrap() = granted;
                        granted
                    }),
                };
                let submitted = Arc::clone(&stores.locks).submit(decision);
                pending.push((path, token, got, submitted));
            }
        }
        let mut granted = Vec::new();
        for (path, token, got, submitted) in pending {
            submitted.await.unwrap();
            if *got.lock().unwrap() {
                let seen = stores
                    .locks
                    .view(&[LockSelection::of(&p(&path), false)], T0);
                assert_eq!(
                    tokens(&seen.unwrap()),
                    std::slice::from_ref(&token),
                    "{path}: committed"
                );
                granted.push(path);
            }
        }
        let contested = granted.iter().filter(|p| *p == "/contested").count();
        assert_eq!(contested, 1, "one exclusive lock on the contested path");
        assert_eq!(granted.len(), 17, "every own path granted: {granted:?}");
    });
    assert_eq!(stores.locks.all_locks(T0).unwrap().len(), 17);
}

/// An anonymous exclusive depth-0 request for a minute.
fn exclusive(token: &str, root: &str) -> LockRequest {
    LockRequest {
        token: LockToken(token.into()),
        root: p(root),
        root_is_collection: false,
        scope: LockScope::Exclusive,
        depth: LockDepth::Zero,
        owner: None,
        principal: None,
        client: LockClient::default(),
        timeout: vec![TimeoutRequest::Seconds(60)],
    }
}

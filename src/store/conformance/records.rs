//! Record keys (the JSON lock API's `orders/42`) and fencing tokens: what
//! every engine must keep for the lock API.

use super::helpers::*;
use crate::locks::LockError;

/// Takes an exclusive lock of `depth` through the core, committed by the
/// store when granted.
fn exclusive(
    stores: &Stores,
    token: &str,
    root: &str,
    depth: LockDepth,
) -> Result<ActiveLock, LockError> {
    let request = LockRequest {
        token: LockToken(token.into()),
        root: p(root),
        root_is_collection: false,
        scope: LockScope::Exclusive,
        depth,
        owner: None,
        principal: Some("alice".into()),
        client: LockClient::default(),
        timeout: vec![TimeoutRequest::Seconds(60)],
    };
    let mut outcome = None;
    let needs = needs(root, depth == LockDepth::Infinity);
    stores
        .locks
        .transact(&needs, T0, &context(Some("alice")), &mut |table| {
            let granted = LockRules::default().acquire(table, request.clone(), T0);
            let commit = granted.is_ok();
            outcome = Some(granted);
            commit
        })
        .unwrap();
    outcome.expect("the decision ran")
}

pub(super) fn record_keys_are_a_realm_of_their_own(stores: &Stores) {
    // A lock on the whole served tree leaves every record free...
    exclusive(stores, "urn:uuid:tree", "/", LockDepth::Infinity).expect("tree lock");
    let order = exclusive(stores, "urn:uuid:order", "#/orders/42", LockDepth::Zero)
        .expect("a record is not in the served tree");
    assert_eq!(order.root.record_key().as_deref(), Some("orders/42"));
    // ... and a table lock on the records above it sees it, from the store.
    let refused = exclusive(stores, "urn:uuid:table", "#/orders", LockDepth::Infinity);
    assert!(
        matches!(&refused, Err(LockError::Conflict { lock }) if lock.token == order.token),
        "{refused:?}"
    );
    // A file of the same names is another resource.
    exclusive(stores, "urn:uuid:file", "/orders/42", LockDepth::Zero)
        .expect_err("under the tree lock");
    let tree_view = stores
        .locks
        .view(&[LockSelection::of(&ResourcePath::root(), true)], T0)
        .unwrap();
    assert_eq!(tokens(&tree_view), ["urn:uuid:tree"], "files only");
    let record_view = stores
        .locks
        .view(&[LockSelection::of(&p("#/orders"), true)], T0)
        .unwrap();
    assert_eq!(tokens(&record_view), ["urn:uuid:order"], "records only");
    assert_eq!(
        stores.locks.find_lock(&order.token, T0).unwrap(),
        Some(order.clone()),
        "kept as a record"
    );
    assert_eq!(stores.locks.all_locks(T0).unwrap().len(), 2);
}

pub(super) fn fencing_tokens_only_increase(stores: &Stores) {
    let first = exclusive(stores, "urn:uuid:1", "#/jobs/a", LockDepth::Zero).unwrap();
    let second = exclusive(stores, "urn:uuid:2", "/b", LockDepth::Zero).unwrap();
    assert!(first.fencing > 0, "a grant carries a fencing token");
    assert!(second.fencing > first.fencing, "{second:?} after {first:?}");
    // A refused grant hands out nothing that a later grant could repeat.
    exclusive(stores, "urn:uuid:3", "#/jobs/a", LockDepth::Zero).expect_err("held");
    // Releasing every lock does not start the count again.
    decide(stores, "#/jobs", T0, |rules, table| {
        rules.break_tree(table, &p("#/jobs"), T0);
        true
    });
    decide(stores, "/b", T0, |rules, table| {
        rules.break_tree(table, &p("/b"), T0);
        true
    });
    assert!(stores.locks.all_locks(T0).unwrap().is_empty());
    let again = exclusive(stores, "urn:uuid:4", "#/jobs/a", LockDepth::Zero).unwrap();
    assert!(again.fencing > second.fencing, "{again:?} after {second:?}");
    assert_eq!(
        stores.locks.find_lock(&again.token, T0).unwrap(),
        Some(again.clone()),
        "stored with its fencing token"
    );
}

//! What the checks share: a clock, paths, permits, and decisions committed
//! through the lock core.

pub use crate::authority::permit::WritePermit;
pub use crate::locks::{
    ActiveLock, Hold, LatchId, LatchLease, LockClient, LockCounts, LockDepth, LockRequest,
    LockRules, LockScope, LockTable, LockToken, Reach, ResourcePath, TimeoutRequest, Timestamp,
    WriteIntent,
};
pub use crate::store::{
    CopyDepth, DeadProperty, EventContext, EventRange, HistoryFilter, LockSelection, Needs,
    PatchOp, PropertyName, Stores, Writes,
};

pub const T0: Timestamp = Timestamp(1_000_000);

/// A path from its storage key: `/a/b`, or `#/orders/42` for a record.
pub fn p(path: &str) -> ResourcePath {
    ResourcePath::from_key(path).unwrap()
}

pub fn permit_all() -> WritePermit {
    WritePermit::unchecked(WriteIntent::new().touches(&ResourcePath::root(), Reach::Subtree))
}

pub fn prop(local: &str, value: &str) -> DeadProperty {
    DeadProperty {
        name: PropertyName::new("urn:x", local),
        xml: format!("<x:{local} xmlns:x=\"urn:x\">{value}</x:{local}>"),
    }
}

pub fn locals(stores: &Stores, path: &str) -> Vec<String> {
    let mut names: Vec<String> = stores
        .properties
        .all(&p(path))
        .unwrap()
        .into_iter()
        .map(|p| p.name.local)
        .collect();
    names.sort();
    names
}

pub fn needs(path: &str, with_members: bool) -> Needs {
    Needs {
        selections: vec![LockSelection::of(&p(path), with_members)],
        counts: false,
        latches: true,
        fencing: true,
        writes: Writes::Locks,
    }
}

pub fn context(actor: Option<&str>) -> EventContext {
    EventContext {
        actor: actor.map(str::to_owned),
        client: LockClient {
            address: Some("127.0.0.1:5000".into()),
            user_agent: Some("conformance/1".into()),
        },
        reason: None,
    }
}

/// Takes a shared lock through the core, committed by the store.
pub fn acquire(
    stores: &Stores,
    token: &str,
    root: &str,
    principal: Option<&str>,
    at: Timestamp,
) -> ActiveLock {
    let request = LockRequest {
        token: LockToken(token.into()),
        root: p(root),
        root_is_collection: false,
        scope: LockScope::Shared,
        depth: LockDepth::Zero,
        owner: Some("<D:owner xmlns:D=\"DAV:\">me</D:owner>".into()),
        principal: principal.map(str::to_owned),
        client: LockClient {
            address: Some("127.0.0.1:5000".into()),
            user_agent: Some("conformance/1".into()),
        },
        timeout: vec![TimeoutRequest::Seconds(60)],
    };
    let mut granted = None;
    stores
        .locks
        .transact(&needs(root, false), at, &context(principal), &mut |table| {
            granted = LockRules::default()
                .acquire(table, request.clone(), at)
                .ok();
            granted.is_some()
        })
        .unwrap();
    granted.expect("the lock is granted")
}

/// One committed decision at `path`.
pub fn decide(
    stores: &Stores,
    path: &str,
    at: Timestamp,
    mut decide: impl FnMut(&LockRules, &mut LockTable) -> bool,
) {
    let rules = LockRules::default();
    stores
        .locks
        .transact(
            &needs(path, true),
            at,
            &context(Some("admin")),
            &mut |table| decide(&rules, table),
        )
        .unwrap();
}

pub fn tokens(table: &LockTable) -> Vec<String> {
    let mut t: Vec<String> = table.all().map(|l| l.token.0.clone()).collect();
    t.sort();
    t
}

/// The lock counts a decision reads: (all, those of `user`).
pub fn counts_for(stores: &Stores, user: Option<&str>) -> (u64, u64) {
    let mut seen = None;
    let needs = Needs {
        selections: vec![],
        counts: true,
        latches: false,
        fencing: false,
        writes: Writes::Locks,
    };
    stores
        .locks
        .transact(&needs, T0, &context(user), &mut |table| {
            seen = table.counts();
            false
        })
        .unwrap();
    let LockCounts { total, of_user } = seen.expect("counts were asked for");
    (total, of_user)
}

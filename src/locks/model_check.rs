//! The lock table checked against a brute-force model: a plain list of
//! locks, every question answered by scanning it (docs/locking.md I1-I6).

use super::tests::*;
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
            .all(|l| live(model, now).any(|c| c.covers(&l.root) && submitted.contains(&c.token)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn lock_table_agrees_with_brute_force_model(ops in proptest::collection::vec(op(), 1..60)) {
        let core = LockRules::default();
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
                    let got = check(&core, &tb, WriteIntent::new().touches(&target, reach), &submitted, None, now);
                    prop_assert_eq!(got.is_ok(), expected, "write {} subtree={} {:?}", PATHS[path], subtree, submitted);
                }
                Op::Advance { seconds } => now = now.plus_seconds(seconds),
                Op::Sweep => {
                    tb.drop_expired(now);
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

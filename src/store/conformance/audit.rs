//! Holds, the audit trail and its pruning.

use super::helpers::*;

fn hold(path: &str, reason: &str, until: Option<Timestamp>) -> Hold {
    Hold {
        path: p(path),
        reason: reason.into(),
        until,
        created: T0,
        created_by: Some("admin".into()),
    }
}

pub(super) fn holds_are_set_replaced_lifted_and_end(stores: &Stores) {
    decide(stores, "/m", T0, |rules, table| {
        rules.place_hold(table, hold("/m", "first", None), T0)
    });
    decide(stores, "/m", T0, |rules, table| {
        rules.place_hold(table, hold("/m", "second", None), T0)
    });
    decide(stores, "/a", T0, |rules, table| {
        rules.place_hold(table, hold("/a", "brief", Some(T0.plus_seconds(5))), T0)
    });
    let holds = stores.audit.holds(T0).unwrap();
    assert_eq!(
        holds,
        vec![
            hold("/a", "brief", Some(T0.plus_seconds(5))),
            hold("/m", "second", None)
        ]
    );
    // Holds above and below a selected path are loaded for its decisions.
    stores
        .locks
        .transact(&needs("/m/x", false), T0, &context(None), &mut |table| {
            assert_eq!(
                table
                    .hold_over(&p("/m/x"), false, T0)
                    .map(|h| h.reason.as_str()),
                Some("second")
            );
            false
        })
        .unwrap();
    stores
        .locks
        .transact(&needs("/", true), T0, &context(None), &mut |table| {
            assert!(table.hold_over(&ResourcePath::root(), true, T0).is_some());
            false
        })
        .unwrap();
    assert_eq!(
        stores.audit.holds(T0.plus_seconds(5)).unwrap(),
        vec![hold("/m", "second", None)]
    );
    decide(stores, "/m", T0, |rules, table| {
        rules.lift_hold(table, &p("/m"), T0).is_some()
    });
    assert_eq!(stores.audit.holds(T0).unwrap().len(), 1);
    stores.locks.remove_expired(T0.plus_seconds(5)).unwrap();
    assert!(
        stores.audit.holds(T0).unwrap().is_empty(),
        "an ended hold is swept"
    );
    let kinds: Vec<(String, Option<String>)> = stores
        .audit
        .history(&HistoryFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.reason))
        .collect();
    assert_eq!(
        kinds,
        [
            ("hold-released".to_owned(), None),
            ("hold-set".to_owned(), Some("brief".to_owned())),
            ("hold-set".to_owned(), Some("second".to_owned())),
            ("hold-set".to_owned(), Some("first".to_owned())),
        ]
    );
}

pub(super) fn history_records_filters_and_orders(stores: &Stores) {
    let a = acquire(stores, "urn:uuid:a", "/r/a", Some("ana"), T0);
    acquire(
        stores,
        "urn:uuid:b",
        "/r/a/b",
        Some("bob"),
        T0.plus_seconds(1),
    );
    acquire(stores, "urn:uuid:c", "/r-a", Some("cy"), T0.plus_seconds(2));
    decide(stores, "/r/a", T0.plus_seconds(3), |rules, table| {
        rules
            .break_lock(table, &a.token, T0.plus_seconds(3))
            .is_some()
    });
    let all = stores.audit.history(&HistoryFilter::default()).unwrap();
    assert_eq!(all.len(), 4);
    assert!(
        all.windows(2)
            .all(|w| (w[0].at_ms, w[0].id) > (w[1].at_ms, w[1].id)),
        "newest first"
    );
    let broken = &all[0];
    assert_eq!(broken.kind, "broken");
    assert_eq!(
        (broken.holder.as_deref(), broken.actor.as_deref()),
        (Some("ana"), Some("admin"))
    );
    assert_eq!(broken.token.as_deref(), Some("urn:uuid:a"));
    assert_eq!(broken.client_address.as_deref(), Some("127.0.0.1:5000"));
    assert_eq!(broken.user_agent.as_deref(), Some("conformance/1"));
    let paths = |filter: HistoryFilter| -> Vec<String> {
        stores
            .audit
            .history(&filter)
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect()
    };
    assert_eq!(
        paths(HistoryFilter {
            path: Some(p("/r/a")),
            ..HistoryFilter::default()
        }),
        ["/r/a", "/r/a/b", "/r/a"]
    );
    assert_eq!(
        paths(HistoryFilter {
            since: Some(T0.plus_seconds(2)),
            ..HistoryFilter::default()
        }),
        ["/r/a", "/r-a"]
    );
    assert_eq!(
        paths(HistoryFilter {
            limit: 1,
            ..HistoryFilter::default()
        }),
        ["/r/a"]
    );
}

pub(super) fn pruning_keeps_recent_events_and_counters(stores: &Stores) {
    let empty = stores.audit.stats(T0).unwrap();
    assert!(empty.events_by_kind.is_empty() && empty.held_by_scope.is_empty());
    acquire(stores, "urn:uuid:old", "/o", None, T0);
    // A scrape between events counts what is there so far.
    let early = stores.audit.stats(T0).unwrap();
    assert_eq!(early.events_by_kind, vec![("acquired".to_owned(), 1)]);
    acquire(stores, "urn:uuid:new", "/n", None, T0.plus_seconds(60));
    let cutoff = T0.plus_seconds(30);
    assert_eq!(stores.audit.prune_history(cutoff).unwrap(), 1);
    let left: Vec<String> = stores
        .audit
        .history(&HistoryFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(left, ["/n"]);
    assert_eq!(stores.audit.prune_history(cutoff).unwrap(), 0);
    let stats = stores.audit.stats(T0).unwrap();
    assert_eq!(
        stats.events_by_kind,
        vec![("acquired".to_owned(), 2)],
        "counters are not pruned"
    );
    assert_eq!(stats.held_by_scope, vec![("shared".to_owned(), 2)]);
}

pub(super) fn followers_read_events_by_id_and_ids_are_never_given_twice(stores: &Stores) {
    let audit = &stores.audit;
    assert_eq!(audit.last_event_id().unwrap(), 0, "no events yet");
    assert!(audit.event_ids_after(0, 10).unwrap().is_empty());
    // Written in one order, at times out of that order: followers go by id.
    acquire(
        stores,
        "urn:uuid:a",
        "/docs/a.txt",
        Some("ana"),
        T0.plus_seconds(5),
    );
    acquire(stores, "urn:uuid:o", "#/orders/42", Some("bob"), T0);
    acquire(
        stores,
        "urn:uuid:b",
        "/docs",
        Some("bob"),
        T0.plus_seconds(1),
    );
    acquire(stores, "urn:uuid:c", "/docs-old", None, T0.plus_seconds(2));
    let ids = audit.event_ids_after(0, 10).unwrap();
    assert_eq!(ids.len(), 4);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ascending: {ids:?}");
    assert_eq!(audit.last_event_id().unwrap(), ids[3]);
    assert_eq!(audit.event_ids_after(ids[0], 2).unwrap(), ids[1..3]);
    assert!(audit.event_ids_after(ids[3], 10).unwrap().is_empty());

    let range = |after: u64, up_to: u64, path: Option<&str>, limit: usize| -> Vec<String> {
        audit
            .events_after(&EventRange {
                after,
                up_to,
                path: path.map(p),
                limit,
            })
            .unwrap()
            .into_iter()
            .map(|e| e.token.unwrap_or_default())
            .collect()
    };
    let last = ids[3];
    assert_eq!(
        range(0, last, None, 0),
        ["urn:uuid:a", "urn:uuid:o", "urn:uuid:b", "urn:uuid:c"],
        "every event, lowest id first"
    );
    assert_eq!(range(ids[0], ids[2], None, 0), ["urn:uuid:o", "urn:uuid:b"]);
    assert_eq!(range(0, last, None, 1), ["urn:uuid:a"], "the limit");
    assert_eq!(
        range(0, last, Some("/docs"), 0),
        ["urn:uuid:a", "urn:uuid:b"],
        "a path and below it, not its namesakes"
    );
    assert_eq!(
        range(0, last, Some("/"), 0).len(),
        3,
        "the tree, no records"
    );
    assert_eq!(range(0, last, Some("#/orders"), 0), ["urn:uuid:o"]);
    assert!(range(0, last, Some("/nothing"), 0).is_empty());
    let event = audit
        .events_after(&EventRange {
            after: ids[0],
            up_to: ids[1],
            path: None,
            limit: 0,
        })
        .unwrap();
    assert_eq!(event.len(), 1);
    let e = &event[0];
    assert_eq!(
        (e.id, e.kind.as_str(), e.path.as_str(), e.holder.as_deref()),
        (ids[1], "acquired", "#/orders/42", Some("bob"))
    );
    assert_eq!(
        (e.at_ms, e.actor.as_deref(), e.user_agent.as_deref()),
        (T0.0, Some("bob"), Some("conformance/1"))
    );

    // Pruning the whole trail does not make ids start again: a follower
    // that saw `last` must see the next event.
    assert_eq!(audit.prune_history(T0.plus_seconds(3600)).unwrap(), 4);
    acquire(stores, "urn:uuid:d", "/d", None, T0.plus_seconds(7200));
    let after_pruning = audit.event_ids_after(0, 10).unwrap();
    assert_eq!(after_pruning.len(), 1);
    assert!(after_pruning[0] > last, "{after_pruning:?} after {last}");
    assert_eq!(range(last, u64::MAX >> 1, None, 0), ["urn:uuid:d"]);
}

/// A sweep and a broken tree remove many locks at once: each removal is one
/// event, in the order the decision made them, and counted once.
pub(super) fn bulk_removals_are_each_logged_and_counted(stores: &Stores) {
    const EACH: usize = 120;
    let each = EACH as u64;
    for i in 0..EACH {
        let (token, path) = (format!("urn:uuid:e{i}"), format!("/gone/{i}"));
        acquire(stores, &token, &path, None, T0);
        let (token, path) = (format!("urn:uuid:t{i}"), format!("/tree/{i}"));
        acquire(stores, &token, &path, Some("ana"), T0.plus_seconds(30));
    }
    assert_eq!(counts_for(stores, Some("ana")), (2 * each, each));
    let swept = stores.locks.remove_expired(T0.plus_seconds(60)).unwrap();
    assert_eq!(swept.len(), EACH, "the /gone locks expired, no other");
    assert_eq!(counts_for(stores, Some("ana")), (each, each));
    let mut broken = Vec::new();
    decide(stores, "/tree", T0.plus_seconds(61), |rules, table| {
        broken = rules.break_tree(table, &p("/tree"), T0.plus_seconds(61));
        !broken.is_empty()
    });
    assert_eq!(broken.len(), EACH);
    assert_eq!(counts_for(stores, Some("ana")), (0, 0));
    let stats = stores.audit.stats(T0.plus_seconds(61)).unwrap();
    let expected = [("acquired", 2 * EACH), ("broken", EACH), ("expired", EACH)];
    let expected: Vec<(String, u64)> = expected
        .iter()
        .map(|(kind, n)| ((*kind).to_owned(), *n as u64))
        .collect();
    assert_eq!(stats.events_by_kind, expected);
    // Newest first: the break's events, latest id first.
    let history = stores.audit.history(&HistoryFilter::default()).unwrap();
    let logged: Vec<&str> = history[..EACH]
        .iter()
        .rev()
        .map(|e| {
            assert_eq!(e.kind, "broken");
            e.token.as_deref().unwrap_or_default()
        })
        .collect();
    let order: Vec<&str> = broken.iter().map(|l| l.token.as_str()).collect();
    assert_eq!(logged, order, "events in the order the locks were broken");
    let expired = history.iter().filter(|e| e.kind == "expired").count();
    assert_eq!(expired, EACH);
}

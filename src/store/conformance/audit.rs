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

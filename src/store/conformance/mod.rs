//! The backend conformance suite: what every state store (SQLite, memory,
//! and each one to come) must do, checked through the traits alone.
//! `run` takes a factory of empty stores; each engine's tests call it.
//! The checks are grouped: `properties`, `lock_table` (locks, counts,
//! latches) and `audit` (holds, history, pruning).

mod audit;
mod helpers;
mod lock_table;
mod properties;
mod records;

use self::audit::*;
use self::lock_table::*;
use self::properties::*;
use self::records::*;

use super::Stores;

/// An empty store, and whatever must live as long as it (a directory;
/// fields drop in order, so the stores go first).
pub struct Fixture {
    pub stores: Stores,
    pub _keep: Option<Box<dyn std::any::Any>>,
}

type Check = fn(&Stores);

const CHECKS: &[(&str, Check)] = &[
    (
        "patch_applies_in_document_order",
        patch_applies_in_document_order,
    ),
    (
        "tree_operations_touch_members_only",
        tree_operations_touch_members_only,
    ),
    (
        "member_properties_are_direct_members_only",
        member_properties_are_direct_members_only,
    ),
    ("locks_keep_every_field", locks_keep_every_field),
    (
        "views_select_ancestors_and_members_only",
        views_select_ancestors_and_members_only,
    ),
    (
        "children_views_hold_direct_members_only",
        children_views_hold_direct_members_only,
    ),
    (
        "declined_decisions_write_nothing",
        declined_decisions_write_nothing,
    ),
    (
        "submitted_decisions_commit_before_they_resolve",
        submitted_decisions_commit_before_they_resolve,
    ),
    ("expiry_removes_and_records", expiry_removes_and_records),
    (
        "bulk_removals_are_each_logged_and_counted",
        bulk_removals_are_each_logged_and_counted,
    ),
    (
        "lock_counts_follow_every_change",
        lock_counts_follow_every_change,
    ),
    (
        "latch_only_decisions_change_nothing_else",
        latch_only_decisions_change_nothing_else,
    ),
    (
        "latches_are_seen_renewed_and_released",
        latches_are_seen_renewed_and_released,
    ),
    (
        "holds_are_set_replaced_lifted_and_end",
        holds_are_set_replaced_lifted_and_end,
    ),
    (
        "history_records_filters_and_orders",
        history_records_filters_and_orders,
    ),
    (
        "pruning_keeps_recent_events_and_counters",
        pruning_keeps_recent_events_and_counters,
    ),
    (
        "followers_read_events_by_id_and_ids_are_never_given_twice",
        followers_read_events_by_id_and_ids_are_never_given_twice,
    ),
    (
        "record_keys_are_a_realm_of_their_own",
        record_keys_are_a_realm_of_their_own,
    ),
    ("fencing_tokens_only_increase", fencing_tokens_only_increase),
];

/// Runs every check, each on a fresh store from `make`.
pub fn run(engine: &str, make: &dyn Fn() -> Fixture) {
    for (name, check) in CHECKS {
        eprintln!("conformance of {engine}: {name}");
        let fixture = make();
        check(&fixture.stores);
    }
}

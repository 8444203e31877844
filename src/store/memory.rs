//! State kept in this process's memory: locks, holds, latches, the audit
//! trail and dead properties, behind the same traits as SQLite. Gone when
//! the process exits, and private to it: for tests and throwaway servers.
//! It passes the same conformance suite as every other store.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{
    AuditStore, CopyDepth, DEFAULT_HISTORY_LIMIT, DeadProperty, EventContext, EventRange,
    HistoryFilter, LockEvent, LockSelection, LockStats, LockStore, MemberProperties, Needs,
    PatchOp, PropertyName, PropertyStore, StoreError, Writes, ensure_permitted, event_kind,
};
use crate::authority::permit::WritePermit;
use crate::locks::{
    ActiveLock, Hold, LatchId, LockChange, LockCounts, LockTable, LockToken, ResourcePath,
    Timestamp, WriteLatch,
};

#[derive(Default)]
struct State {
    locks: BTreeMap<LockToken, ActiveLock>,
    holds: BTreeMap<ResourcePath, Hold>,
    latches: Vec<WriteLatch>,
    events: Vec<LockEvent>,
    event_counts: BTreeMap<String, u64>,
    next_event_id: u64,
    last_fencing: u64,
    properties: BTreeMap<ResourcePath, BTreeMap<PropertyName, String>>,
}

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    fn state(&self) -> MutexGuard<'_, State> {
        // Every change is made whole under the lock, so a poisoned one
        // still guards consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether something at `at` concerns a decision about `selections`: at a
/// selected path or an ancestor of one, or below one selected with members.
fn selected(at: &ResourcePath, selections: &[LockSelection]) -> bool {
    selections
        .iter()
        .any(|s| s.path.starts_with(at) || (s.with_members && at.is_descendant_of(&s.path)))
}

impl State {
    fn table(&self, selections: &[LockSelection], now: Timestamp, latches: bool) -> LockTable {
        let mut table = LockTable::default();
        for lock in self.locks.values() {
            if !lock.is_expired(now) && selected(&lock.root, selections) {
                table.load(lock.clone());
            }
        }
        for hold in self.holds.values() {
            if hold.is_active(now) && selected(&hold.path, selections) {
                table.load_hold(hold.clone());
            }
        }
        if latches {
            for latch in &self.latches {
                if latch.is_live(now) && selected(&latch.path, selections) {
                    table.load_latch(latch.clone());
                }
            }
        }
        table
    }

    fn record(
        &mut self,
        at: Timestamp,
        kind: &str,
        path: &ResourcePath,
        lock: Option<&ActiveLock>,
        context: &EventContext,
    ) {
        self.next_event_id += 1;
        *self.event_counts.entry(kind.to_owned()).or_default() += 1;
        self.events.push(LockEvent {
            id: self.next_event_id,
            at_ms: at.0,
            kind: kind.to_owned(),
            path: path.key(),
            token: lock.map(|l| l.token.0.clone()),
            holder: lock.and_then(|l| l.principal.clone()),
            actor: context.actor.clone(),
            client_address: context.client.address.clone(),
            user_agent: context.client.user_agent.clone(),
            reason: context.reason.clone(),
        });
    }

    fn apply(&mut self, change: LockChange, now: Timestamp, context: &EventContext) {
        let kind = event_kind(&change);
        match change {
            LockChange::Insert(lock) | LockChange::Update(lock) => {
                self.record(
                    now,
                    kind.unwrap_or_default(),
                    &lock.root,
                    Some(&lock),
                    context,
                );
                self.locks.insert(lock.token.clone(), lock);
            }
            LockChange::Remove(lock, _) => {
                self.record(
                    now,
                    kind.unwrap_or_default(),
                    &lock.root,
                    Some(&lock),
                    context,
                );
                self.locks.remove(&lock.token);
            }
            LockChange::HoldSet(hold) => {
                let context = EventContext {
                    reason: Some(hold.reason.clone()),
                    ..context.clone()
                };
                self.record(now, kind.unwrap_or_default(), &hold.path, None, &context);
                self.holds.insert(hold.path.clone(), hold);
            }
            LockChange::HoldLifted(hold) => {
                self.record(now, kind.unwrap_or_default(), &hold.path, None, context);
                self.holds.remove(&hold.path);
            }
            LockChange::Latch(latch) => {
                self.latches
                    .retain(|l| !(l.id == latch.id && l.path == latch.path));
                self.latches.push(latch);
            }
        }
    }

    /// Stored locks, expired ones included until swept (as SQLite counts).
    fn counts(&self, user: Option<&str>) -> LockCounts {
        LockCounts {
            total: self.locks.len() as u64,
            of_user: user.map_or(0, |user| {
                self.locks
                    .values()
                    .filter(|l| l.principal.as_deref() == Some(user))
                    .count() as u64
            }),
        }
    }
}

impl LockStore for MemoryStore {
    fn transact(
        &self,
        needs: &Needs,
        now: Timestamp,
        context: &EventContext,
        decide: &mut dyn FnMut(&mut LockTable) -> bool,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let mut table = state.table(&needs.selections, now, needs.latches);
        if needs.counts {
            table.set_counts(state.counts(context.actor.as_deref()));
        }
        let fencing = state.last_fencing + 1;
        if needs.fencing {
            table.set_fencing(fencing);
        }
        if decide(&mut table) {
            if needs.fencing {
                state.last_fencing = fencing;
            }
            let changes = table.take_changes();
            let latch_only = |c: &LockChange| matches!(c, LockChange::Latch(_));
            if needs.writes == Writes::LatchesOnly && !changes.iter().all(latch_only) {
                return Err(StoreError::database(
                    "a latch-only decision changed locks or holds",
                ));
            }
            for change in changes {
                state.apply(change, now, context);
            }
        }
        Ok(())
    }

    fn view(&self, selections: &[LockSelection], now: Timestamp) -> Result<LockTable, StoreError> {
        Ok(self.state().table(selections, now, false))
    }

    fn view_with_properties(
        &self,
        selection: &LockSelection,
        now: Timestamp,
    ) -> Result<(LockTable, Vec<DeadProperty>), StoreError> {
        super::view_then_properties(self, selection, now)
    }

    fn view_children(
        &self,
        collection: &ResourcePath,
        now: Timestamp,
    ) -> Result<LockTable, StoreError> {
        let state = self.state();
        let selection = LockSelection::of(collection, false);
        let mut table = state.table(&[selection], now, false);
        for lock in state.locks.values() {
            if !lock.is_expired(now) && lock.root.parent().as_ref() == Some(collection) {
                table.load(lock.clone());
            }
        }
        Ok(table)
    }

    fn find_lock(
        &self,
        token: &LockToken,
        now: Timestamp,
    ) -> Result<Option<ActiveLock>, StoreError> {
        Ok(self
            .state()
            .locks
            .get(token)
            .filter(|l| !l.is_expired(now))
            .cloned())
    }

    fn all_locks(&self, now: Timestamp) -> Result<Vec<ActiveLock>, StoreError> {
        let mut locks: Vec<ActiveLock> = self
            .state()
            .locks
            .values()
            .filter(|l| !l.is_expired(now))
            .cloned()
            .collect();
        locks.sort_by_key(|l| l.root.key());
        Ok(locks)
    }

    fn next_expiry(&self) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.state().locks.values().map(|l| l.expires).min())
    }

    fn remove_expired(&self, now: Timestamp) -> Result<Vec<ActiveLock>, StoreError> {
        let mut state = self.state();
        let expired: Vec<ActiveLock> = state
            .locks
            .values()
            .filter(|l| l.is_expired(now))
            .cloned()
            .collect();
        for lock in &expired {
            state.locks.remove(&lock.token);
            state.record(
                lock.expires,
                "expired",
                &lock.root,
                Some(lock),
                &EventContext::default(),
            );
        }
        state.latches.retain(|l| l.is_live(now));
        state.holds.retain(|_, h| h.is_active(now));
        Ok(expired)
    }

    fn renew_latches(&self, ids: &[LatchId], expires: Timestamp) -> Result<(), StoreError> {
        for latch in self.state().latches.iter_mut() {
            if ids.contains(&latch.id) {
                latch.expires = expires;
            }
        }
        Ok(())
    }

    fn release_latch(&self, id: &LatchId) -> Result<(), StoreError> {
        self.state().latches.retain(|l| &l.id != id);
        Ok(())
    }
}

impl AuditStore for MemoryStore {
    fn holds(&self, now: Timestamp) -> Result<Vec<Hold>, StoreError> {
        let mut holds: Vec<Hold> = self
            .state()
            .holds
            .values()
            .filter(|h| h.is_active(now))
            .cloned()
            .collect();
        holds.sort_by_key(|h| h.path.key());
        Ok(holds)
    }

    fn history(&self, filter: &HistoryFilter) -> Result<Vec<LockEvent>, StoreError> {
        let state = self.state();
        let limit = if filter.limit == 0 {
            DEFAULT_HISTORY_LIMIT
        } else {
            filter.limit
        };
        let mut events: Vec<LockEvent> = state
            .events
            .iter()
            .filter(|e| filter.since.is_none_or(|since| e.at_ms >= since.0))
            .filter(|e| at_or_below(&e.path, filter.path.as_ref()))
            .cloned()
            .collect();
        events.sort_by_key(|e| std::cmp::Reverse((e.at_ms, e.id)));
        events.truncate(limit);
        Ok(events)
    }

    fn stats(&self, now: Timestamp) -> Result<LockStats, StoreError> {
        let state = self.state();
        let mut by_scope: BTreeMap<String, u64> = BTreeMap::new();
        for lock in state.locks.values().filter(|l| !l.is_expired(now)) {
            *by_scope.entry(lock.scope.as_str().to_owned()).or_default() += 1;
        }
        Ok(LockStats {
            held_by_scope: by_scope.into_iter().collect(),
            events_by_kind: state
                .event_counts
                .iter()
                .map(|(k, n)| (k.clone(), *n))
                .collect(),
        })
    }

    fn prune_history(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut state = self.state();
        let was = state.events.len();
        state.events.retain(|e| e.at_ms >= before.0);
        Ok((was - state.events.len()) as u64)
    }

    fn events_after(&self, range: &EventRange) -> Result<Vec<LockEvent>, StoreError> {
        // Events are kept in id order.
        Ok(self
            .state()
            .events
            .iter()
            .filter(|e| e.id > range.after && e.id <= range.up_to)
            .filter(|e| at_or_below(&e.path, range.path.as_ref()))
            .take(range.limit())
            .cloned()
            .collect())
    }

    fn event_ids_after(&self, after: u64, limit: usize) -> Result<Vec<u64>, StoreError> {
        Ok(self
            .state()
            .events
            .iter()
            .map(|e| e.id)
            .filter(|id| *id > after)
            .take(limit)
            .collect())
    }

    fn last_event_id(&self) -> Result<u64, StoreError> {
        Ok(self.state().events.last().map_or(0, |e| e.id))
    }
}

/// Whether an event's stored path is `path` or below it (any: `None`).
fn at_or_below(event_path: &str, path: Option<&ResourcePath>) -> bool {
    path.is_none_or(|path| {
        let key = path.key();
        let prefix = if path.is_root() { "" } else { key.as_str() };
        event_path == key || event_path.starts_with(&format!("{prefix}/"))
    })
}

/// The properties stored for `path` and (for `Tree`) its descendants.
fn in_tree<'a>(
    properties: &'a BTreeMap<ResourcePath, BTreeMap<PropertyName, String>>,
    root: &'a ResourcePath,
    depth: CopyDepth,
) -> impl Iterator<Item = (&'a ResourcePath, &'a BTreeMap<PropertyName, String>)> + 'a {
    properties.iter().filter(move |(path, _)| match depth {
        CopyDepth::ResourceOnly => *path == root,
        CopyDepth::Tree => path.starts_with(root),
    })
}

fn as_properties(props: &BTreeMap<PropertyName, String>) -> Vec<DeadProperty> {
    props
        .iter()
        .map(|(name, xml)| DeadProperty {
            name: name.clone(),
            xml: xml.clone(),
        })
        .collect()
}

impl PropertyStore for MemoryStore {
    fn all(&self, path: &ResourcePath) -> Result<Vec<DeadProperty>, StoreError> {
        Ok(self
            .state()
            .properties
            .get(path)
            .map(as_properties)
            .unwrap_or_default())
    }

    fn of_members(&self, collection: &ResourcePath) -> Result<MemberProperties, StoreError> {
        let state = self.state();
        let mut members = MemberProperties::new();
        for (path, props) in &state.properties {
            if path.parent().as_ref() == Some(collection) && !props.is_empty() {
                if let Some(name) = path.name() {
                    members.insert(name.to_owned(), as_properties(props));
                }
            }
        }
        Ok(members)
    }

    fn patch(
        &self,
        permit: &WritePermit,
        path: &ResourcePath,
        ops: &[PatchOp],
    ) -> Result<(), StoreError> {
        ensure_permitted(permit, path)?;
        let mut state = self.state();
        let props = state.properties.entry(path.clone()).or_default();
        for op in ops {
            match op {
                PatchOp::Set(prop) => {
                    props.insert(prop.name.clone(), prop.xml.clone());
                }
                PatchOp::Remove(name) => {
                    props.remove(name);
                }
            }
        }
        Ok(())
    }

    fn copy(
        &self,
        permit: &WritePermit,
        from: &ResourcePath,
        to: &ResourcePath,
        depth: CopyDepth,
    ) -> Result<(), StoreError> {
        ensure_permitted(permit, to)?;
        let mut state = self.state();
        let copies: Vec<(ResourcePath, BTreeMap<PropertyName, String>)> =
            in_tree(&state.properties, from, depth)
                .filter_map(|(path, props)| Some((path.rebase(from, to)?, props.clone())))
                .collect();
        for (path, props) in copies {
            state.properties.entry(path).or_default().extend(props);
        }
        Ok(())
    }

    fn rename(
        &self,
        permit: &WritePermit,
        from: &ResourcePath,
        to: &ResourcePath,
    ) -> Result<(), StoreError> {
        ensure_permitted(permit, from)?;
        ensure_permitted(permit, to)?;
        let mut state = self.state();
        let moving: Vec<ResourcePath> = in_tree(&state.properties, from, CopyDepth::Tree)
            .map(|(path, _)| path.clone())
            .collect();
        for path in moving {
            if let (Some(props), Some(target)) =
                (state.properties.remove(&path), path.rebase(from, to))
            {
                state.properties.entry(target).or_default().extend(props);
            }
        }
        Ok(())
    }

    fn forget(&self, permit: &WritePermit, paths: &[ResourcePath]) -> Result<(), StoreError> {
        for path in paths {
            ensure_permitted(permit, path)?;
        }
        let mut state = self.state();
        for path in paths {
            state.properties.remove(path);
        }
        Ok(())
    }

    fn forget_tree(&self, permit: &WritePermit, path: &ResourcePath) -> Result<(), StoreError> {
        ensure_permitted(permit, path)?;
        self.state()
            .properties
            .retain(|stored, _| !stored.starts_with(path));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::conformance::{self, Fixture};
    use super::super::{StateLocation, open};

    #[test]
    fn the_memory_store_passes_the_conformance_suite() {
        conformance::run("memory", &|| Fixture {
            stores: open(&StateLocation::Memory, crate::store::Durability::Normal).unwrap(),
            _keep: None,
        });
    }
}

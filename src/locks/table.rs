//! The lock table: locks indexed by token, by root path and by expiry.
//!
//! Lookups cost O(path depth + matches), never O(number of locks): the
//! locks covering a path are found by visiting its ancestors in `by_root`,
//! and the locks below a path by one ordered range of `by_root` (all paths
//! that start with a given path sort together, right after it).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::model::{ActiveLock, Hold, LockCounts, LockToken, ResourcePath, Timestamp};
use super::write_intent::{Reach, WriteLatch, overlaps};

/// Why a lock left the table, for the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// UNLOCK by the holder (or a LOCK withdrawn because its resource could
    /// not be created).
    Released,
    /// Removed by an administrator (or the CLI) regardless of its holder.
    Broken,
    /// The locked resource was deleted or moved away.
    ResourceGone,
}

impl Removal {
    /// The audit event kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Released => "released",
            Self::Broken => "broken",
            Self::ResourceGone => "removed-with-resource",
        }
    }
}

/// One change a decision made to a table, for the store to write back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockChange {
    Insert(ActiveLock),
    /// New timeout and expiry of an existing lock (refresh).
    Update(ActiveLock),
    /// A lock removed (its whole record, for the audit trail), and why.
    Remove(ActiveLock, Removal),
    /// A maintenance hold placed (or replaced).
    HoldSet(Hold),
    /// A maintenance hold released.
    HoldLifted(Hold),
    /// A write in progress latched a path.
    Latch(WriteLatch),
}

/// A set of locks, holds and write latches: the whole table, or the part
/// of it a decision needs (see `LockStore::transact`). Only the lock core
/// changes it; every change is journaled, so the store can write exactly
/// those back.
#[derive(Debug, Default, Clone)]
pub struct LockTable {
    by_token: HashMap<LockToken, ActiveLock>,
    by_root: BTreeMap<ResourcePath, Vec<LockToken>>,
    by_expiry: BTreeSet<(Timestamp, LockToken)>,
    holds: Vec<Hold>,
    latches: Vec<WriteLatch>,
    changes: Vec<LockChange>,
    /// Live locks in all of storage, when the store counted them.
    counts: Option<LockCounts>,
    /// The fencing token the store reserved for a lock this decision may
    /// grant.
    fencing: Option<u64>,
}

impl LockTable {
    /// Records how many live locks storage holds beyond this view; without
    /// it, lock limits are not checked.
    pub fn set_counts(&mut self, counts: LockCounts) {
        self.counts = Some(counts);
    }

    pub fn counts(&self) -> Option<LockCounts> {
        self.counts
    }

    /// Records the fencing token the store reserved for this decision's
    /// grant: larger than every token handed out before it.
    pub fn set_fencing(&mut self, token: u64) {
        self.fencing = Some(token);
    }

    /// The reserved fencing token, taken once (a decision grants at most
    /// one lock); 0 when the store reserved none.
    fn take_fencing(&mut self) -> u64 {
        self.fencing.take().unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        self.by_token.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }

    pub fn get(&self, token: &LockToken) -> Option<&ActiveLock> {
        self.by_token.get(token)
    }

    /// Adds a lock read from storage (not journaled).
    pub fn load(&mut self, lock: ActiveLock) {
        self.index(lock);
    }

    /// Adds a maintenance hold read from storage.
    pub fn load_hold(&mut self, hold: Hold) {
        if !self.holds.iter().any(|h| h.path == hold.path) {
            self.holds.push(hold);
        }
    }

    /// Adds a write latch read from storage.
    pub fn load_latch(&mut self, latch: WriteLatch) {
        self.latches.push(latch);
    }

    /// A live latch of another write that a write (or lock) of `path`
    /// with `reach` would collide with.
    pub fn latch_over(
        &self,
        path: &ResourcePath,
        reach: Reach,
        now: Timestamp,
    ) -> Option<&WriteLatch> {
        self.latches
            .iter()
            .find(|l| l.is_live(now) && overlaps((&l.path, l.reach), (path, reach)))
    }

    /// The hold placed at exactly `path`, if active.
    pub fn hold_at(&self, path: &ResourcePath, now: Timestamp) -> Option<&Hold> {
        self.holds
            .iter()
            .find(|h| &h.path == path && h.is_active(now))
    }

    /// An active hold at or above `path`, or (for `below`) under it.
    pub fn hold_over(&self, path: &ResourcePath, below: bool, now: Timestamp) -> Option<&Hold> {
        self.holds.iter().find(|h| {
            h.is_active(now)
                && (path.starts_with(&h.path) || (below && h.path.is_descendant_of(path)))
        })
    }

    /// Adds a new lock, with the reserved fencing token.
    pub(super) fn insert(&mut self, mut lock: ActiveLock) -> ActiveLock {
        lock.fencing = self.take_fencing();
        self.changes.push(LockChange::Insert(lock.clone()));
        self.index(lock.clone());
        lock
    }

    /// The changes made since the table was loaded, oldest first.
    pub fn take_changes(&mut self) -> Vec<LockChange> {
        std::mem::take(&mut self.changes)
    }

    fn index(&mut self, lock: ActiveLock) {
        if let Some(old) = self.by_token.get(&lock.token).cloned() {
            self.unindex(&old.token);
        }
        self.by_root
            .entry(lock.root.clone())
            .or_default()
            .push(lock.token.clone());
        self.by_expiry.insert((lock.expires, lock.token.clone()));
        self.by_token.insert(lock.token.clone(), lock);
    }

    pub(super) fn remove(&mut self, token: &LockToken, why: Removal) -> Option<ActiveLock> {
        let lock = self.unindex(token)?;
        self.changes.push(LockChange::Remove(lock.clone(), why));
        Some(lock)
    }

    /// Places (or replaces) a hold.
    pub(super) fn set_hold(&mut self, hold: Hold) {
        self.holds.retain(|h| h.path != hold.path);
        self.changes.push(LockChange::HoldSet(hold.clone()));
        self.holds.push(hold);
    }

    /// Removes the hold at exactly `path`.
    pub(super) fn lift_hold(&mut self, path: &ResourcePath) -> Option<Hold> {
        let at = self.holds.iter().position(|h| &h.path == path)?;
        let hold = self.holds.remove(at);
        self.changes.push(LockChange::HoldLifted(hold.clone()));
        Some(hold)
    }

    /// Records a write in progress.
    pub(super) fn add_latch(&mut self, latch: WriteLatch) {
        self.changes.push(LockChange::Latch(latch.clone()));
        self.latches.push(latch);
    }

    fn unindex(&mut self, token: &LockToken) -> Option<ActiveLock> {
        let lock = self.by_token.remove(token)?;
        if let Some(tokens) = self.by_root.get_mut(&lock.root) {
            tokens.retain(|t| t != token);
            if tokens.is_empty() {
                self.by_root.remove(&lock.root);
            }
        }
        self.by_expiry.remove(&(lock.expires, lock.token.clone()));
        Some(lock)
    }

    /// Moves a lock's expiry (refresh).
    pub(super) fn set_expiry(
        &mut self,
        token: &LockToken,
        timeout_seconds: u64,
        expires: Timestamp,
    ) -> Option<&ActiveLock> {
        let lock = self.by_token.get_mut(token)?;
        self.by_expiry.remove(&(lock.expires, token.clone()));
        lock.expires = expires;
        lock.timeout_seconds = timeout_seconds;
        self.by_expiry.insert((expires, token.clone()));
        self.changes.push(LockChange::Update(lock.clone()));
        Some(lock)
    }

    /// Locks that cover `path`: rooted at it, or at an ancestor with depth
    /// infinity. Expired locks are left out.
    pub fn covering<'a>(
        &'a self,
        path: &'a ResourcePath,
        now: Timestamp,
    ) -> impl Iterator<Item = &'a ActiveLock> + 'a {
        let segments = path.segments();
        // From the root of the path's realm: the served root covers no record.
        (usize::from(path.is_record())..=segments.len())
            .filter_map(move |n| self.by_root.get(&segments[..n]))
            .flatten()
            .filter_map(|token| self.by_token.get(token))
            .filter(move |lock| lock.covers(path) && !lock.is_expired(now))
    }

    /// Locks rooted strictly below `path`. Expired locks are left out.
    pub fn below<'a>(
        &'a self,
        path: &'a ResourcePath,
        now: Timestamp,
    ) -> impl Iterator<Item = &'a ActiveLock> + 'a {
        self.in_tree(path)
            .skip_while(move |(root, _)| *root == path)
            .flat_map(|(_, tokens)| tokens.iter())
            .filter_map(|token| self.by_token.get(token))
            .filter(move |lock| !lock.is_expired(now))
    }

    /// Locks rooted at `path` or below it, expired or not.
    pub fn rooted_in_tree(&self, path: &ResourcePath) -> Vec<LockToken> {
        self.in_tree(path)
            .flat_map(|(_, tokens)| tokens.iter().cloned())
            .collect()
    }

    /// The roots at `path` or below it, in order: one range of `by_root`.
    /// Record paths sort right after the served root (their first segment
    /// is empty) and are not in its tree, so they are filtered out.
    fn in_tree<'a>(
        &'a self,
        path: &'a ResourcePath,
    ) -> impl Iterator<Item = (&'a ResourcePath, &'a Vec<LockToken>)> + 'a {
        self.by_root
            .range(path.clone()..)
            .filter(move |(root, _)| !(path.is_root() && root.is_record()))
            .take_while(move |(root, _)| root.starts_with(path))
    }

    /// Removes the locks rooted at `path` or below, for `why`.
    pub(super) fn remove_tree(&mut self, path: &ResourcePath, why: Removal) -> Vec<ActiveLock> {
        let tokens = self.rooted_in_tree(path);
        tokens.iter().filter_map(|t| self.remove(t, why)).collect()
    }

    /// Live locks covering `path`, cloned (for lockdiscovery and `If`).
    pub fn covering_locks(&self, path: &ResourcePath, now: Timestamp) -> Vec<ActiveLock> {
        self.covering(path, now).cloned().collect()
    }

    /// Drops every lock whose expiry is at or before `now` (the model of
    /// the store's sweep; not journaled: expiry is no decision).
    #[cfg(test)]
    pub(super) fn drop_expired(&mut self, now: Timestamp) -> Vec<ActiveLock> {
        let due: Vec<LockToken> = self
            .by_expiry
            .iter()
            .take_while(|(expires, _)| *expires <= now)
            .map(|(_, token)| token.clone())
            .collect();
        due.iter().filter_map(|token| self.unindex(token)).collect()
    }

    /// The earliest expiry, for the sweeper to sleep until.
    pub fn next_expiry(&self) -> Option<Timestamp> {
        self.by_expiry.iter().next().map(|(expires, _)| *expires)
    }

    pub fn all(&self) -> impl Iterator<Item = &ActiveLock> {
        self.by_token.values()
    }
}

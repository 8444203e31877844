//! What a request is about to change, and the permit that lets it.
//!
//! Handlers describe their change as a `WriteIntent`; only
//! `LockManager::check_write` turns an intent into a `WritePermit`, and every
//! mutating store method demands a permit that covers the paths it touches.
//! Writing around the gate is therefore a compile error, and writing outside
//! the permitted paths a runtime refusal.
//!
//! A permit also latches its paths until it is dropped: a second writer on
//! the same resource meanwhile is told the resource is being written instead
//! of racing the first (and a LOCK cannot slip in between a write's check
//! and the write itself).

use std::sync::{Arc, Mutex, PoisonError};

use super::model::ResourcePath;

/// How far a change reaches from one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The resource itself (content, properties, or its existence).
    Resource,
    /// The resource and everything below it (DELETE, MOVE and COPY of trees).
    Subtree,
    /// A resource the store creates atomically or not at all (MKCOL's
    /// mkdir): checked against locks like `Resource`, but not latched, so
    /// racing creators get the store's answer (405) rather than a 423.
    Create,
    /// Only the member list of a collection (a member is added or removed):
    /// checked against the collection's locks, but not latched, so writers
    /// of different members do not hold each other off.
    MemberList,
}

/// The set of paths a request will change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteIntent {
    targets: Vec<(ResourcePath, Reach)>,
}

impl WriteIntent {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a path the request changes.
    pub fn touches(mut self, path: &ResourcePath, reach: Reach) -> Self {
        self.targets.push((path.clone(), reach));
        self
    }

    /// Adds the parent's member list, when `path` is being created or removed.
    pub fn changes_members_of_parent(self, path: &ResourcePath) -> Self {
        match path.parent() {
            Some(parent) => self.touches(&parent, Reach::MemberList),
            None => self,
        }
    }

    pub fn targets(&self) -> &[(ResourcePath, Reach)] {
        &self.targets
    }
}

fn overlaps(a: (&ResourcePath, Reach), b: (&ResourcePath, Reach)) -> bool {
    a.0 == b.0
        || (a.1 == Reach::Subtree && b.0.starts_with(a.0))
        || (b.1 == Reach::Subtree && a.0.starts_with(b.0))
}

/// The paths being written right now.
#[derive(Debug, Default)]
pub struct WriteLatches {
    active: Mutex<Vec<(u64, ResourcePath, Reach)>>,
    next_id: Mutex<u64>,
}

impl WriteLatches {
    /// The path of a write in progress that `path` (with `reach`) would
    /// collide with.
    pub fn busy(&self, path: &ResourcePath, reach: Reach) -> Option<ResourcePath> {
        let active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        active
            .iter()
            .find(|(_, p, r)| overlaps((p, *r), (path, reach)))
            .map(|(_, p, _)| p.clone())
    }

    /// Latches every latching target of `intent`, or names the busy path.
    pub(super) fn try_latch(self: &Arc<Self>, intent: &WriteIntent) -> Result<Latch, ResourcePath> {
        let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        let latching = intent
            .targets
            .iter()
            .filter(|(_, r)| matches!(r, Reach::Resource | Reach::Subtree));
        for (path, reach) in latching.clone() {
            if let Some((_, busy, _)) = active
                .iter()
                .find(|(_, p, r)| overlaps((p, *r), (path, *reach)))
            {
                return Err(busy.clone());
            }
        }
        let id = {
            let mut next = self.next_id.lock().unwrap_or_else(PoisonError::into_inner);
            *next += 1;
            *next
        };
        active.extend(latching.map(|(p, r)| (id, p.clone(), *r)));
        Ok(Latch {
            latches: Arc::clone(self),
            id,
        })
    }
}

/// Releases its paths when dropped.
#[derive(Debug)]
pub(super) struct Latch {
    latches: Arc<WriteLatches>,
    id: u64,
}

impl Drop for Latch {
    fn drop(&mut self) {
        let mut active = self
            .latches
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        active.retain(|(id, _, _)| *id != self.id);
    }
}

/// Proof that the write gate admitted an intent. Fields are private so only
/// the lock core can make one.
#[derive(Debug)]
pub struct WritePermit {
    intent: WriteIntent,
    _latch: Option<Latch>,
}

impl WritePermit {
    pub(super) fn grant(intent: WriteIntent, latch: Option<Latch>) -> Self {
        Self {
            intent,
            _latch: latch,
        }
    }

    /// True when the permit admits a change to `path`.
    pub fn covers(&self, path: &ResourcePath) -> bool {
        self.intent
            .targets
            .iter()
            .any(|(target, reach)| match reach {
                Reach::Resource | Reach::Create => target == path,
                Reach::Subtree => path.starts_with(target),
                Reach::MemberList => false,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(segments: &[&str]) -> ResourcePath {
        ResourcePath::from_segments(segments.iter().copied()).unwrap()
    }

    #[test]
    fn resource_reach_covers_only_itself() {
        let permit = WritePermit::grant(
            WriteIntent::new().touches(&p(&["a"]), Reach::Resource),
            None,
        );
        assert!(permit.covers(&p(&["a"])));
        assert!(!permit.covers(&p(&["a", "b"])));
        assert!(!permit.covers(&p(&["b"])));
    }

    #[test]
    fn subtree_reach_covers_descendants() {
        let permit =
            WritePermit::grant(WriteIntent::new().touches(&p(&["a"]), Reach::Subtree), None);
        assert!(permit.covers(&p(&["a"])));
        assert!(permit.covers(&p(&["a", "b", "c"])));
        assert!(!permit.covers(&p(&["ab"])));
    }

    #[test]
    fn latches_hold_off_overlapping_writers_until_dropped() {
        let latches = Arc::new(WriteLatches::default());
        let put = WriteIntent::new()
            .touches(&p(&["a", "f"]), Reach::Resource)
            .changes_members_of_parent(&p(&["a", "f"]));
        let first = latches.try_latch(&put).unwrap();
        assert_eq!(latches.try_latch(&put).unwrap_err(), p(&["a", "f"]));
        let delete_parent = WriteIntent::new().touches(&p(&["a"]), Reach::Subtree);
        assert_eq!(
            latches.try_latch(&delete_parent).unwrap_err(),
            p(&["a", "f"])
        );
        // A sibling only shares the parent's member list: no latch conflict.
        let sibling = WriteIntent::new()
            .touches(&p(&["a", "g"]), Reach::Resource)
            .changes_members_of_parent(&p(&["a", "g"]));
        let second = latches.try_latch(&sibling).unwrap();
        drop(first);
        drop(second);
        assert!(latches.try_latch(&delete_parent).is_ok());
    }
}

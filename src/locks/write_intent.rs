//! What a request is about to change, and the writes in progress.
//!
//! Surfaces describe their change as a `WriteIntent`; the lock core decides
//! whether the lock table admits it (`LockRules::admit`). An admitted write
//! latches its paths: a `WriteLatch` row in the lock table, with a short
//! lease, that every process sharing the table sees. A second writer of the
//! same resource meanwhile, or a LOCK on it, is told the resource is being
//! written instead of racing the first.

use std::fmt;

use super::model::{ResourcePath, Timestamp};

/// How far a change reaches from one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

impl Reach {
    /// Whether a write with this reach latches its path.
    pub fn latches(self) -> bool {
        matches!(self, Self::Resource | Self::Subtree)
    }

    /// The name used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resource => "resource",
            Self::Subtree => "subtree",
            Self::Create => "create",
            Self::MemberList => "member-list",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Resource,
            Self::Subtree,
            Self::Create,
            Self::MemberList,
        ]
        .into_iter()
        .find(|r| r.as_str() == text)
    }
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

    /// True when the intent admits a change to `path`.
    pub fn covers(&self, path: &ResourcePath) -> bool {
        self.targets.iter().any(|(target, reach)| match reach {
            Reach::Resource | Reach::Create => target == path,
            Reach::Subtree => path.starts_with(target),
            Reach::MemberList => false,
        })
    }
}

/// Whether two latched (or latching) paths collide.
pub fn overlaps(a: (&ResourcePath, Reach), b: (&ResourcePath, Reach)) -> bool {
    a.0 == b.0
        || (a.1 == Reach::Subtree && b.0.starts_with(a.0))
        || (b.1 == Reach::Subtree && a.0.starts_with(b.0))
}

/// Names one admitted write's latches (all its paths share it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LatchId(pub String);

impl fmt::Display for LatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The lease a write asks for: its latch id (made by the caller, which owns
/// the randomness), the process that renews it, and when it runs out unless
/// renewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatchLease {
    pub id: LatchId,
    pub holder: String,
    pub expires: Timestamp,
}

/// One latched path of a write in progress, as stored in the lock table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteLatch {
    pub id: LatchId,
    pub path: ResourcePath,
    pub reach: Reach,
    /// The process renewing the lease (for people looking at the table).
    pub holder: String,
    pub expires: Timestamp,
}

impl WriteLatch {
    /// A latch whose lease ran out no longer holds anything off: its
    /// process died or stopped renewing.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires
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
        let intent = WriteIntent::new().touches(&p(&["a"]), Reach::Resource);
        assert!(intent.covers(&p(&["a"])));
        assert!(!intent.covers(&p(&["a", "b"])));
        assert!(!intent.covers(&p(&["b"])));
    }

    #[test]
    fn subtree_reach_covers_descendants() {
        let intent = WriteIntent::new().touches(&p(&["a"]), Reach::Subtree);
        assert!(intent.covers(&p(&["a"])));
        assert!(intent.covers(&p(&["a", "b", "c"])));
        assert!(!intent.covers(&p(&["ab"])));
    }

    #[test]
    fn member_lists_are_checked_but_never_covered() {
        let intent = WriteIntent::new().changes_members_of_parent(&p(&["a", "f"]));
        assert!(!intent.covers(&p(&["a"])));
        assert!(!intent.covers(&p(&["a", "f"])));
    }

    #[test]
    fn overlapping_latches() {
        let f = p(&["a", "f"]);
        let a = p(&["a"]);
        assert!(overlaps((&f, Reach::Resource), (&f, Reach::Resource)));
        assert!(overlaps((&a, Reach::Subtree), (&f, Reach::Resource)));
        assert!(overlaps((&f, Reach::Resource), (&a, Reach::Subtree)));
        assert!(!overlaps((&a, Reach::Resource), (&f, Reach::Resource)));
        assert!(!overlaps(
            (&p(&["a", "g"]), Reach::Resource),
            (&f, Reach::Resource)
        ));
    }

    #[test]
    fn reach_names_round_trip() {
        for reach in [
            Reach::Resource,
            Reach::Subtree,
            Reach::Create,
            Reach::MemberList,
        ] {
            assert_eq!(Reach::parse(reach.as_str()), Some(reach));
        }
        assert_eq!(Reach::parse("everything"), None);
    }
}

//! What a request is about to change, and the permit that lets it.
//!
//! Handlers describe their change as a `WriteIntent`; only
//! `LockManager::check_write` turns an intent into a `WritePermit`, and every
//! mutating store method demands a permit that covers the paths it touches.
//! Writing around the gate is therefore a compile error, and writing outside
//! the permitted paths a runtime refusal.

use super::model::ResourcePath;

/// How far a change reaches from one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The resource itself (content, properties, or its existence).
    Resource,
    /// The resource and everything below it (DELETE, MOVE and COPY of trees).
    Subtree,
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

    pub fn targets(&self) -> &[(ResourcePath, Reach)] {
        &self.targets
    }
}

/// Proof that the write gate admitted an intent. Fields are private so only
/// the lock core can make one.
#[derive(Debug)]
pub struct WritePermit {
    intent: WriteIntent,
}

impl WritePermit {
    pub(super) fn grant(intent: WriteIntent) -> Self {
        Self { intent }
    }

    /// True when the permit admits a change to `path`.
    pub fn covers(&self, path: &ResourcePath) -> bool {
        self.intent
            .targets
            .iter()
            .any(|(target, reach)| match reach {
                Reach::Resource => target == path,
                Reach::Subtree => path.starts_with(target),
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
        let permit = WritePermit::grant(WriteIntent::new().touches(&p(&["a"]), Reach::Resource));
        assert!(permit.covers(&p(&["a"])));
        assert!(!permit.covers(&p(&["a", "b"])));
        assert!(!permit.covers(&p(&["b"])));
    }

    #[test]
    fn subtree_reach_covers_descendants() {
        let permit = WritePermit::grant(WriteIntent::new().touches(&p(&["a"]), Reach::Subtree));
        assert!(permit.covers(&p(&["a"])));
        assert!(permit.covers(&p(&["a", "b", "c"])));
        assert!(!permit.covers(&p(&["ab"])));
    }
}

//! Vocabulary shared by the lock core, the parsers and the stores.
//!
//! `ResourcePath` is the one path type of deadbolt: decoded, normalised
//! segments that cannot name anything outside the served root. It lives here
//! (not in `dav`) because the lock core and the stores reason about paths too,
//! and neither may depend on HTTP.

use std::fmt;

/// Why a segment cannot be part of a `ResourcePath`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    #[error("empty path segment")]
    Empty,
    #[error("'.' and '..' are not names")]
    DotSegment,
    #[error("path segment contains a forbidden character ({0:?})")]
    ForbiddenChar(char),
}

/// An absolute, normalised path below the served root, as a list of segments.
///
/// Invariant: no segment is empty, `.` or `..`, or contains `/`, `\` or NUL.
/// The root is the empty list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ResourcePath {
    segments: Vec<String>,
}

impl ResourcePath {
    /// The served root itself.
    pub fn root() -> Self {
        Self::default()
    }

    /// Builds a path from already-decoded segments, validating each.
    pub fn from_segments<I, S>(segments: I) -> Result<Self, SegmentError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        // One Vec, not a join per segment: joining copies the prefix each
        // time, quadratic in the depth (fuzzing found 17 s for 32,767).
        let mut built = Vec::new();
        for segment in segments {
            let segment = segment.into();
            validate_segment(&segment)?;
            built.push(segment);
        }
        Ok(Self { segments: built })
    }

    /// This path with one more segment.
    pub fn join(&self, name: impl Into<String>) -> Result<Self, SegmentError> {
        let name = name.into();
        validate_segment(&name)?;
        let mut segments = self.segments.clone();
        segments.push(name);
        Ok(Self { segments })
    }

    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The last segment; `None` for the root.
    pub fn name(&self) -> Option<&str> {
        self.segments.last().map(String::as_str)
    }

    /// The parent collection; `None` for the root.
    pub fn parent(&self) -> Option<Self> {
        let (_, rest) = self.segments.split_last()?;
        Some(Self {
            segments: rest.to_vec(),
        })
    }

    /// True when `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &ResourcePath) -> bool {
        self.segments.starts_with(&other.segments)
    }

    /// True when `self` lies strictly below `ancestor`.
    pub fn is_descendant_of(&self, ancestor: &ResourcePath) -> bool {
        self.segments.len() > ancestor.segments.len() && self.starts_with(ancestor)
    }

    /// Moves `self` from below `from` to below `to` (`from` must be a prefix).
    pub fn rebase(&self, from: &ResourcePath, to: &ResourcePath) -> Option<Self> {
        let rest = self.segments.strip_prefix(from.segments.as_slice())?;
        let mut segments = to.segments.clone();
        segments.extend(rest.iter().cloned());
        Some(Self { segments })
    }

    /// The canonical text form, `/a/b` (root: `/`), used as a storage key.
    pub fn key(&self) -> String {
        if self.segments.is_empty() {
            return "/".to_owned();
        }
        let mut key = String::with_capacity(self.segments.iter().map(|s| s.len() + 1).sum());
        for segment in &self.segments {
            key.push('/');
            key.push_str(segment);
        }
        key
    }
}

/// Lets maps keyed by path be searched with a prefix of another path's
/// segments, without building a path per ancestor. (Eq, Ord and Hash of
/// `ResourcePath` are those of its segment list, as `Borrow` requires.)
impl std::borrow::Borrow<[String]> for ResourcePath {
    fn borrow(&self) -> &[String] {
        &self.segments
    }
}

impl fmt::Display for ResourcePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

fn validate_segment(name: &str) -> Result<(), SegmentError> {
    if name.is_empty() {
        return Err(SegmentError::Empty);
    }
    if name == "." || name == ".." {
        return Err(SegmentError::DotSegment);
    }
    if let Some(c) = name.chars().find(|c| matches!(c, '/' | '\\' | '\0')) {
        return Err(SegmentError::ForbiddenChar(c));
    }
    Ok(())
}

/// Milliseconds since the Unix epoch. The core never reads the clock: the
/// caller passes `now`, which keeps every decision testable and repeatable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub fn plus_seconds(self, seconds: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    /// Whole seconds from `self` until `later` (0 when `later` has passed).
    pub fn seconds_until(self, later: Timestamp) -> u64 {
        later.0.saturating_sub(self.0).div_ceil(1000)
    }
}

/// A lock token, as a URI (`urn:uuid:...`), unique for all time (§6.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LockToken(pub String);

impl LockToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LockToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockScope {
    Exclusive,
    Shared,
}

impl LockScope {
    /// The name used in storage, the admin API and listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exclusive => "exclusive",
            Self::Shared => "shared",
        }
    }

    /// The scope `as_str` names.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Exclusive, Self::Shared]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockDepth {
    /// The root alone (for a collection: its properties and member list).
    Zero,
    /// The root and every present and future descendant.
    Infinity,
}

impl LockDepth {
    /// The Depth header value (§10.2), also used in storage and listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zero => "0",
            Self::Infinity => "infinity",
        }
    }

    /// The depth `as_str` names.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Zero, Self::Infinity]
            .into_iter()
            .find(|d| d.as_str() == text)
    }
}

/// One value of the `Timeout` request header (§10.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutRequest {
    Seconds(u64),
    Infinite,
}

/// How long locks last when clients ask for nothing, and at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutPolicy {
    pub default_seconds: u64,
    pub max_seconds: u64,
}

impl TimeoutPolicy {
    /// The first requested value, capped; `Infinite` becomes the maximum.
    pub fn grant(&self, requested: &[TimeoutRequest]) -> u64 {
        let wanted = match requested.first() {
            None => self.default_seconds,
            Some(TimeoutRequest::Infinite) => self.max_seconds,
            Some(TimeoutRequest::Seconds(s)) => *s,
        };
        wanted.clamp(1, self.max_seconds.max(1))
    }
}

/// How many live locks storage may hold: in all, and per authenticated
/// user (anonymous locks count only towards the total). Without limits one
/// runaway client could fill the lock table for everybody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockLimits {
    pub max_locks: u64,
    pub max_locks_per_user: u64,
}

impl LockLimits {
    pub const UNLIMITED: Self = Self {
        max_locks: u64::MAX,
        max_locks_per_user: u64::MAX,
    };
}

/// Live locks in storage when a decision starts (the `LockTable` a store
/// loads holds only the locks near the paths involved).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockCounts {
    pub total: u64,
    /// Those of the user the decision is for (0 when anonymous).
    pub of_user: u64,
}

/// A maintenance hold: every modifying request at or below `path` is
/// refused, whoever sends it and whatever tokens it carries, until the hold
/// is released or `until` passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub path: ResourcePath,
    pub reason: String,
    pub until: Option<Timestamp>,
    pub created: Timestamp,
    pub created_by: Option<String>,
}

impl Hold {
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

/// Where a lock request came from, shown to people who ask "who has it?".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockClient {
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

/// A granted lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveLock {
    pub token: LockToken,
    /// The resource the lock was taken on (§14.12 lockroot).
    pub root: ResourcePath,
    /// Whether the root was a collection when locked (its href ends in `/`).
    pub root_is_collection: bool,
    pub scope: LockScope,
    pub depth: LockDepth,
    /// The client's `DAV:owner` element as self-contained XML, kept verbatim.
    pub owner: Option<String>,
    /// Who took the lock (`None` while the server has no authentication).
    pub principal: Option<String>,
    pub client: LockClient,
    /// The granted timeout in seconds (what a refresh restarts).
    pub timeout_seconds: u64,
    pub created: Timestamp,
    pub expires: Timestamp,
}

impl ActiveLock {
    /// True when this lock covers `path` (§6.1: its root, and with depth
    /// infinity every descendant).
    pub fn covers(&self, path: &ResourcePath) -> bool {
        match self.depth {
            LockDepth::Zero => &self.root == path,
            LockDepth::Infinity => path.starts_with(&self.root),
        }
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_of_root_and_nested_paths() {
        assert_eq!(ResourcePath::root().key(), "/");
        let p = ResourcePath::from_segments(["a", "b c"]).unwrap();
        assert_eq!(p.key(), "/a/b c");
        assert_eq!(p.parent().unwrap().key(), "/a");
        assert_eq!(p.name(), Some("b c"));
    }

    #[test]
    fn segments_that_could_escape_are_refused() {
        assert_eq!(
            ResourcePath::root().join(".."),
            Err(SegmentError::DotSegment)
        );
        assert_eq!(
            ResourcePath::root().join("."),
            Err(SegmentError::DotSegment)
        );
        assert_eq!(ResourcePath::root().join(""), Err(SegmentError::Empty));
        assert_eq!(
            ResourcePath::root().join("a/b"),
            Err(SegmentError::ForbiddenChar('/'))
        );
        assert_eq!(
            ResourcePath::root().join("a\\b"),
            Err(SegmentError::ForbiddenChar('\\'))
        );
        assert_eq!(
            ResourcePath::root().join("a\0"),
            Err(SegmentError::ForbiddenChar('\0'))
        );
    }

    #[test]
    fn scope_and_depth_names_round_trip() {
        for scope in [LockScope::Exclusive, LockScope::Shared] {
            assert_eq!(LockScope::parse(scope.as_str()), Some(scope));
        }
        for depth in [LockDepth::Zero, LockDepth::Infinity] {
            assert_eq!(LockDepth::parse(depth.as_str()), Some(depth));
        }
        assert_eq!(LockScope::parse("Shared"), None);
        assert_eq!(LockDepth::parse("1"), None);
    }

    #[test]
    fn ancestry_and_rebase() {
        let a = ResourcePath::from_segments(["a"]).unwrap();
        let ab = a.join("b").unwrap();
        let ax = ResourcePath::from_segments(["ax"]).unwrap();
        assert!(ab.is_descendant_of(&a));
        assert!(!a.is_descendant_of(&a));
        assert!(!ax.starts_with(&a), "a segment prefix is not a path prefix");
        let moved = ab.rebase(&a, &ax).unwrap();
        assert_eq!(moved.key(), "/ax/b");
        assert!(ab.rebase(&ax, &a).is_none());
    }
}

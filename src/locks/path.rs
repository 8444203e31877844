//! `ResourcePath`, the one path type of deadbolt: decoded, normalised
//! segments that cannot name anything outside the served root. It lives in
//! the core (not in `dav`) because the lock core and the stores reason about
//! paths too, and neither may depend on HTTP.
//!
//! A path names something in one of two realms, and nothing in one realm
//! covers anything in the other:
//! - **files**: the served tree, `/a/b` (the root is `/`);
//! - **records**: the keys of the JSON lock API (`orders/42`), which name
//!   rows, jobs or anything else outside the tree. A record path starts with
//!   an empty segment, which no served path can have, so the two realms
//!   share the lock table, its indexes and every rule, and a depth-infinity
//!   lock on the served root still never covers a record (I16).

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

/// The first segment of every record path: empty, which no file path has.
const RECORDS: &str = "";
/// How record paths begin as storage keys: `#/orders/42`, the realm's own
/// root is `#`. File keys begin with `/`, so the realms' key ranges are
/// disjoint ('#' sorts before '/', and the file tree is `[/, 0)`).
const RECORDS_KEY: char = '#';

/// An absolute, normalised path below the served root (or a record key),
/// as a list of segments.
///
/// Invariant: no segment is empty, `.` or `..`, or contains `/`, `\` or NUL,
/// except the empty first segment of a record path. The served root is the
/// empty list.
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
        Ok(Self {
            segments: validated(Vec::new(), segments)?,
        })
    }

    /// The path of a record key: `orders/42` (levels separated by `/`).
    pub fn record(key: &str) -> Result<Self, SegmentError> {
        let segments = validated(vec![RECORDS.to_owned()], key.split('/'))?;
        if segments.len() == 1 {
            return Err(SegmentError::Empty);
        }
        Ok(Self { segments })
    }

    /// This path with one more segment.
    pub fn join(&self, name: impl Into<String>) -> Result<Self, SegmentError> {
        let name = name.into();
        validate_segment(&name)?;
        let mut segments = self.segments.clone();
        segments.push(name);
        Ok(Self { segments })
    }

    /// The segments, with the empty first one of a record path.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// True for a record key's path (see the module comment).
    pub fn is_record(&self) -> bool {
        self.segments.first().is_some_and(|s| s == RECORDS)
    }

    /// How many leading segments name the realm (0 for files, 1 for records).
    fn realm_len(&self) -> usize {
        usize::from(self.is_record())
    }

    /// The record key (`orders/42`), for a record path.
    pub fn record_key(&self) -> Option<String> {
        self.is_record().then(|| self.segments[1..].join("/"))
    }

    /// True for the served root.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// The last segment; `None` for the root of a realm.
    pub fn name(&self) -> Option<&str> {
        if self.segments.len() == self.realm_len() {
            return None;
        }
        self.segments.last().map(String::as_str)
    }

    /// The parent; `None` for the root of a realm.
    pub fn parent(&self) -> Option<Self> {
        self.name()?;
        let (_, rest) = self.segments.split_last()?;
        Some(Self {
            segments: rest.to_vec(),
        })
    }

    /// The ancestors, from the root of the path's realm down to its parent.
    pub fn ancestors(&self) -> impl Iterator<Item = ResourcePath> + '_ {
        (self.realm_len()..self.segments.len()).map(|n| Self {
            segments: self.segments[..n].to_vec(),
        })
    }

    /// True when `self` is `other` or lies below it (in the same realm).
    pub fn starts_with(&self, other: &ResourcePath) -> bool {
        self.is_record() == other.is_record() && self.segments.starts_with(&other.segments)
    }

    /// True when `self` lies strictly below `ancestor`.
    pub fn is_descendant_of(&self, ancestor: &ResourcePath) -> bool {
        self.segments.len() > ancestor.segments.len() && self.starts_with(ancestor)
    }

    /// Moves `self` from below `from` to below `to` (`from` must be a prefix).
    pub fn rebase(&self, from: &ResourcePath, to: &ResourcePath) -> Option<Self> {
        if !self.starts_with(from) || from.is_record() != to.is_record() {
            return None;
        }
        let rest = &self.segments[from.segments.len()..];
        let mut segments = to.segments.clone();
        segments.extend(rest.iter().cloned());
        Some(Self { segments })
    }

    /// The canonical text form, used as a storage key: `/a/b` (the served
    /// root: `/`), `#/orders/42` for a record.
    pub fn key(&self) -> String {
        let realm = self.realm_len();
        if self.segments.len() == realm {
            return if realm == 0 { "/" } else { "#" }.to_owned();
        }
        let mut key = String::with_capacity(self.segments.iter().map(|s| s.len() + 1).sum());
        if realm == 1 {
            key.push(RECORDS_KEY);
        }
        for segment in &self.segments[realm..] {
            key.push('/');
            key.push_str(segment);
        }
        key
    }

    /// The path `key` gave (the inverse of `key`).
    pub fn from_key(key: &str) -> Result<Self, SegmentError> {
        let (start, rest) = match key.strip_prefix(RECORDS_KEY) {
            Some(rest) => (vec![RECORDS.to_owned()], rest),
            None => (Vec::new(), key),
        };
        Ok(Self {
            segments: validated(start, rest.split('/').filter(|s| !s.is_empty()))?,
        })
    }
}

/// `start` followed by `segments`, each validated. One Vec, not a join per
/// segment: joining copies the prefix each time, quadratic in the depth
/// (fuzzing found 17 s for 32,767).
fn validated<I, S>(mut built: Vec<String>, segments: I) -> Result<Vec<String>, SegmentError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    for segment in segments {
        let segment = segment.into();
        validate_segment(&segment)?;
        built.push(segment);
    }
    Ok(built)
}

/// Lets maps keyed by path be searched with a prefix of another path's
/// segments, without building a path per ancestor. (Eq, Ord and Hash of
/// `ResourcePath` are those of its segment list, as `Borrow` requires.)
impl std::borrow::Borrow<[String]> for ResourcePath {
    fn borrow(&self) -> &[String] {
        &self.segments
    }
}

/// Files as their path (`/a/b`), records as `key orders/42`.
impl fmt::Display for ResourcePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.record_key() {
            Some(key) => write!(f, "key {key}"),
            None => f.write_str(&self.key()),
        }
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

    #[test]
    fn record_keys_are_their_own_realm() {
        let order = ResourcePath::record("orders/42").unwrap();
        let orders = ResourcePath::record("orders").unwrap();
        assert!(order.is_record());
        assert_eq!(order.key(), "#/orders/42");
        assert_eq!(order.record_key().as_deref(), Some("orders/42"));
        assert_eq!(order.to_string(), "key orders/42");
        assert_eq!(order.parent(), Some(orders.clone()));
        assert!(order.is_descendant_of(&orders));
        // The served root covers no record, and a file path of the same
        // names is another resource.
        assert!(!order.starts_with(&ResourcePath::root()));
        let file = ResourcePath::from_segments(["orders", "42"]).unwrap();
        assert_ne!(file, order);
        assert!(!file.starts_with(&orders));
        // The realm's root has no parent and no name.
        let realm_root = orders.parent().unwrap();
        assert_eq!(realm_root.key(), "#");
        assert_eq!(realm_root.parent(), None);
        assert_eq!(realm_root.name(), None);
        let ancestors: Vec<String> = order.ancestors().map(|p| p.key()).collect();
        assert_eq!(ancestors, ["#", "#/orders"]);
        let file_ancestors: Vec<String> = file.ancestors().map(|p| p.key()).collect();
        assert_eq!(file_ancestors, ["/", "/orders"]);
    }

    #[test]
    fn keys_round_trip_and_bad_keys_are_refused() {
        for key in ["/", "/a/b", "#", "#/orders/42"] {
            assert_eq!(ResourcePath::from_key(key).unwrap().key(), key);
        }
        assert_eq!(ResourcePath::record(""), Err(SegmentError::Empty));
        assert_eq!(ResourcePath::record("a//b"), Err(SegmentError::Empty));
        assert_eq!(
            ResourcePath::record("a/../b"),
            Err(SegmentError::DotSegment)
        );
        assert_eq!(
            ResourcePath::record("a\\b"),
            Err(SegmentError::ForbiddenChar('\\'))
        );
        let a = ResourcePath::record("a").unwrap();
        assert_eq!(a.rebase(&a, &ResourcePath::root()), None);
    }
}

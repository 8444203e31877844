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
        let mut path = Self::root();
        for segment in segments {
            path = path.join(segment)?;
        }
        Ok(path)
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
}

//! Request paths and hrefs: percent-decoding, normalisation and encoding.
//!
//! `parse_request_path` is the only way from a URI path to a `ResourcePath`:
//! segments are decoded one by one (so `%2F` can never become a separator),
//! `.` and `..` are resolved (never above the root), and decoded segments
//! with `/`, `\` or NUL are refused.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::locks::{ResourcePath, SegmentError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path must start with '/'")]
    NotAbsolute,
    #[error("the path is not valid UTF-8 after percent-decoding")]
    NotUtf8,
    #[error("the path leads above the served root")]
    EscapesRoot,
    #[error("invalid path segment: {0}")]
    Segment(#[from] SegmentError),
}

/// A parsed request path and whether it ended with a slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPath {
    pub path: ResourcePath,
    pub trailing_slash: bool,
}

/// Decodes and normalises the path part of a request URI.
pub fn parse_request_path(raw: &str) -> Result<RequestPath, PathError> {
    let rest = raw.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    let mut segments: Vec<String> = Vec::new();
    for raw_segment in rest.split('/') {
        let segment = percent_decode_str(raw_segment)
            .decode_utf8()
            .map_err(|_| PathError::NotUtf8)?;
        match segment.as_ref() {
            "" | "." => {}
            ".." => {
                segments.pop().ok_or(PathError::EscapesRoot)?;
            }
            _ => segments.push(segment.into_owned()),
        }
    }
    Ok(RequestPath {
        path: ResourcePath::from_segments(segments)?,
        trailing_slash: raw.ends_with('/'),
    })
}

/// Characters left as they are in an href segment: RFC 3986 unreserved plus
/// the sub-delimiters and ':' '@' that are safe inside a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// The percent-encoded absolute href of `path`; collections end with `/`.
pub fn href(path: &ResourcePath, is_collection: bool) -> String {
    let bytes: usize = path.segments().iter().map(|s| s.len() + 1).sum();
    let mut out = String::with_capacity(bytes + 8);
    for segment in path.segments() {
        out.push('/');
        out.extend(utf8_percent_encode(segment, SEGMENT));
    }
    if is_collection || path.is_root() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<String, PathError> {
        parse_request_path(raw).map(|p| p.path.key())
    }

    #[test]
    fn decodes_and_normalises() {
        assert_eq!(parse("/"), Ok("/".into()));
        assert_eq!(parse("/a//b/./c/"), Ok("/a/b/c".into()));
        assert_eq!(parse("/a/b/../c"), Ok("/a/c".into()));
        assert_eq!(parse("/caf%C3%A9.txt"), Ok("/café.txt".into()));
        assert_eq!(parse("/a%20b"), Ok("/a b".into()));
        assert!(parse_request_path("/a/").unwrap().trailing_slash);
        assert!(!parse_request_path("/a").unwrap().trailing_slash);
    }

    #[test]
    fn refuses_every_way_out_of_the_root() {
        assert_eq!(parse("/.."), Err(PathError::EscapesRoot));
        assert_eq!(parse("/a/../../etc/passwd"), Err(PathError::EscapesRoot));
        assert_eq!(parse("/%2e%2e/etc"), Err(PathError::EscapesRoot));
        assert_eq!(parse("/%2E%2E"), Err(PathError::EscapesRoot));
        assert_eq!(
            parse("/a/..%2f..%2fetc"),
            Err(PathError::Segment(SegmentError::ForbiddenChar('/')))
        );
        assert_eq!(
            parse("/a%5c..%5c..%5cetc"),
            Err(PathError::Segment(SegmentError::ForbiddenChar('\\')))
        );
        assert_eq!(
            parse("/a\\b"),
            Err(PathError::Segment(SegmentError::ForbiddenChar('\\')))
        );
        assert_eq!(
            parse("/a%00b"),
            Err(PathError::Segment(SegmentError::ForbiddenChar('\0')))
        );
        assert_eq!(parse("/%ff"), Err(PathError::NotUtf8));
        assert_eq!(parse("a"), Err(PathError::NotAbsolute));
    }

    /// Found while fuzzing (`fuzz/fuzz_targets/request_path.rs` ran ten
    /// times slower than the If header target): building the path joined one
    /// segment at a time, copying the prefix each time, so `/a` repeated
    /// 32,767 times (64 KB, the longest URI `http` accepts) took 17 s of CPU
    /// in a release build, and 100,000 segments 266 s.
    #[test]
    fn deep_paths_parse_and_keep_their_order() {
        let n = 32_767;
        let raw: String = (0..n).map(|i| format!("/{i}")).collect();
        let parsed = parse_request_path(&raw).unwrap();
        let expected: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        assert_eq!(parsed.path.segments(), expected.as_slice());
        assert_eq!(parsed.path.key(), raw);
        // Every size around the pairwise merge's odd/even cases.
        for segments in 1..10 {
            let raw: String = (0..segments).map(|i| format!("/s{i}")).collect();
            let path = parse_request_path(&raw).unwrap().path;
            assert_eq!(path.segments().len(), segments);
            assert_eq!(path.key(), raw);
        }
    }

    #[test]
    fn first_bad_surviving_segment_is_reported() {
        assert_eq!(
            parse("/ok/a%00/b%5c"),
            Err(PathError::Segment(SegmentError::ForbiddenChar('\0')))
        );
        assert_eq!(
            parse("/a%5c/b%00"),
            Err(PathError::Segment(SegmentError::ForbiddenChar('\\')))
        );
        // A segment removed by a later `..` is never validated.
        assert_eq!(parse("/a%00/../b"), Ok("/b".into()));
    }

    #[test]
    fn hrefs_are_encoded_and_collections_end_with_slash() {
        let p = ResourcePath::from_segments(["a b", "café", "x#y?z%"]).unwrap();
        assert_eq!(href(&p, false), "/a%20b/caf%C3%A9/x%23y%3Fz%25");
        assert_eq!(href(&p, true), "/a%20b/caf%C3%A9/x%23y%3Fz%25/");
        assert_eq!(href(&ResourcePath::root(), true), "/");
        let round = parse_request_path(&href(&p, false)).unwrap().path;
        assert_eq!(round, p);
    }
}

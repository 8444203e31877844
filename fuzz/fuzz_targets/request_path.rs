//! Request paths (`deadbolt::web::path`).
//!
//! - `parse_request_path` never panics, and agrees exactly (value or error)
//!   with the plain reference model below: split on `/`, percent-decode each
//!   segment, resolve `.`/`..`, validate the surviving segments in order.
//! - An accepted path keeps the `ResourcePath` invariant: no segment is empty,
//!   `.`, `..`, or contains `/`, `\` or NUL.
//! - `href` renders only URI path characters, and parses back to the same
//!   path (with a trailing slash exactly when asked for one).
#![no_main]

use deadbolt::web::path::{PathError, href, parse_request_path};
use deadbolt::locks::ResourcePath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse_request_path(text);
    let expected = reference(text);
    assert_eq!(
        parsed.as_ref().map(|p| p.path.segments()),
        expected.as_ref().map(Vec::as_slice),
        "{text:?}"
    );
    let Ok(parsed) = parsed else { return };

    assert_eq!(parsed.trailing_slash, text.ends_with('/'));
    for segment in parsed.path.segments() {
        assert!(segment != "." && segment != ".." && !segment.is_empty());
        assert!(!segment.contains(['/', '\\', '\0']));
    }

    for is_collection in [false, true] {
        let rendered = href(&parsed.path, is_collection);
        assert!(rendered.starts_with('/'));
        assert!(
            rendered.bytes().all(is_href_byte),
            "href {rendered:?} of {text:?}"
        );
        let again = parse_request_path(&rendered).expect("our own href parses");
        assert_eq!(again.path, parsed.path);
        assert_eq!(again.trailing_slash, is_collection || parsed.path.is_root());
        // Rendering is canonical: a second round gives the same text.
        assert_eq!(href(&again.path, is_collection), rendered);
    }
});

/// The straightforward definition, kept independent of the implementation
/// (its own percent-decoder; each surviving segment validated on its own by
/// `ResourcePath::join`, in order, so the first bad one is the error).
fn reference(raw: &str) -> Result<Vec<String>, PathError> {
    let rest = raw.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    let mut segments: Vec<String> = Vec::new();
    for raw_segment in rest.split('/') {
        let segment = String::from_utf8(percent_decode(raw_segment.as_bytes()))
            .map_err(|_| PathError::NotUtf8)?;
        match segment.as_str() {
            "" | "." => {}
            ".." => {
                segments.pop().ok_or(PathError::EscapesRoot)?;
            }
            _ => segments.push(segment),
        }
    }
    for segment in &segments {
        ResourcePath::root()
            .join(segment.as_str())
            .map_err(PathError::Segment)?;
    }
    Ok(segments)
}

/// `%XX` with two hex digits becomes byte XX; anything else stays as it is.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// RFC 3986 path characters: unreserved, sub-delims, ':', '@', '/', and
/// '%' (only as part of an escape, which the round trip checks).
fn is_href_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%".contains(&b)
}

//! Request paths: never a panic, and an accepted path never escapes the root
//! nor keeps a segment that could (`..`, `/`, `\`, NUL).
#![no_main]

use deadbolt::dav::path::{href, parse_request_path};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(parsed) = parse_request_path(text) {
        for segment in parsed.path.segments() {
            assert!(segment != "." && segment != ".." && !segment.is_empty());
            assert!(!segment.contains(['/', '\\', '\0']));
        }
        // Our own hrefs parse back to the same path.
        let again = parse_request_path(&href(&parsed.path, false)).expect("href parses");
        assert_eq!(again.path, parsed.path);
    }
});

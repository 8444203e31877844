//! The If header parser must never panic, and whatever it accepts must
//! evaluate without panicking and submit only tokens that appear in the text.
#![no_main]

use deadbolt::dav::if_header::{IfHeader, ResourceState};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(header) = IfHeader::parse(text) {
        assert!(!header.lists.is_empty());
        for token in header.submitted_tokens() {
            assert!(text.contains(token.as_str()));
        }
        let _ = header.evaluate(|_| Some(ResourceState::default()));
    }
});

//! How locks read to people, on every surface: the text of a lock's
//! `DAV:owner` and times in RFC 3339.

use quick_xml::events::Event;

use crate::locks::Timestamp;

/// The text content of a stored `DAV:owner` element, whitespace collapsed
/// (`None` when it has none, or is not XML).
pub fn owner_text(owner_xml: Option<&str>) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(owner_xml?);
    let mut text = String::new();
    loop {
        match reader.read_event().ok()? {
            Event::Text(t) => text.push_str(&t.unescape().ok()?),
            Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            Event::Eof => break,
            _ => {}
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// `2026-12-07T10:02:00Z`
pub fn rfc3339(t: Timestamp) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(t.0);
    humantime::format_rfc3339_seconds(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_text_is_the_elements_text_with_whitespace_collapsed() {
        let xml = "<D:owner xmlns:D=\"DAV:\">\n  <D:href>mailto:ana@example.org</D:href>\n Ana &amp; co </D:owner>";
        assert_eq!(
            owner_text(Some(xml)).as_deref(),
            Some("mailto:ana@example.org Ana & co")
        );
        assert_eq!(owner_text(Some("<D:owner xmlns:D=\"DAV:\"/>")), None);
        assert_eq!(owner_text(None), None);
    }

    #[test]
    fn times_are_rfc3339_to_the_second() {
        assert_eq!(
            rfc3339(Timestamp(1_700_000_000_999)),
            "2023-11-14T22:13:20Z"
        );
    }
}

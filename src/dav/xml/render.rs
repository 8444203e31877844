//! Writing WebDAV XML responses: multistatus, propstat, DAV:error.
//!
//! Responses use the `D:` prefix for `DAV:` and never declare a default
//! namespace, so stored property XML (see `dom::Element::to_xml`) can be
//! written inside them unchanged. Every text and attribute value is escaped
//! here; element names are the module's own constants.

use std::time::SystemTime;

use http::StatusCode;
use quick_xml::escape::{escape, partial_escape};

use crate::locks::{ActiveLock, LockScope, Timestamp};
use crate::store::PropertyName;

/// RFC 4918 §16 preconditions that deadbolt reports in a `DAV:error` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    PropfindFiniteDepth,
    CannotModifyProtectedProperty,
    LockTokenSubmitted,
    NoConflictingLock,
    LockTokenMatchesRequestUri,
    /// deadbolt's own: the tree is held for maintenance (not an RFC 4918
    /// precondition, so it lives in deadbolt's namespace inside DAV:error).
    MaintenanceHold,
}

impl Precondition {
    pub fn element(self) -> &'static str {
        match self {
            Self::PropfindFiniteDepth => "propfind-finite-depth",
            Self::CannotModifyProtectedProperty => "cannot-modify-protected-property",
            Self::LockTokenSubmitted => "lock-token-submitted",
            Self::NoConflictingLock => "no-conflicting-lock",
            Self::LockTokenMatchesRequestUri => "lock-token-matches-request-uri",
            Self::MaintenanceHold => "maintenance-hold",
        }
    }
}

/// Appends the status line text used inside multistatus bodies.
fn push_status_line(out: &mut String, status: StatusCode) {
    out.push_str("HTTP/1.1 ");
    out.push_str(status.as_str());
    out.push(' ');
    out.push_str(status.canonical_reason().unwrap_or(""));
}

/// deadbolt's own XML namespace (maintenance holds in error bodies).
pub const DEADBOLT_NS: &str = "urn:x-deadbolt:";

pub const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
pub const MULTISTATUS_OPEN: &str = "<D:multistatus xmlns:D=\"DAV:\">";
pub const MULTISTATUS_CLOSE: &str = "</D:multistatus>\n";

/// The body of a `DAV:error` response naming one precondition, with the
/// hrefs it concerns (e.g. the root of the lock that blocked the request).
pub fn error_body(condition: Precondition, hrefs: &[String], reason: &str) -> String {
    // RFC 4918 preconditions are DAV: elements; deadbolt's own are not.
    let prefix = match condition {
        Precondition::MaintenanceHold => "db:",
        _ => "D:",
    };
    let mut out = String::from(XML_DECLARATION);
    out.push_str("<D:error xmlns:D=\"DAV:\" xmlns:db=\"");
    out.push_str(DEADBOLT_NS);
    out.push_str("\"><");
    out.push_str(prefix);
    out.push_str(condition.element());
    if hrefs.is_empty() {
        out.push_str("/>");
    } else {
        out.push('>');
        for href in hrefs {
            out.push_str("<D:href>");
            out.push_str(&escape(href.as_str()));
            out.push_str("</D:href>");
        }
        out.push_str("</");
        out.push_str(prefix);
        out.push_str(condition.element());
        out.push('>');
    }
    out.push_str("<D:responsedescription>");
    out.push_str(&escape(reason));
    out.push_str("</D:responsedescription></D:error>\n");
    out
}

/// The value of one property in a propstat. Live values borrow from the
/// resource or are written straight into the answer: a listing makes
/// several per member, and an owned string for each was most of its
/// allocations.
#[derive(Debug, Clone)]
pub enum PropValue<'a> {
    /// A `DAV:` live property with text content.
    LiveText(&'static str, &'a str),
    /// A `DAV:` live property whose text has nothing to escape by how it
    /// is made (entity tags, media types).
    LiveToken(&'static str, &'a str),
    /// A `DAV:` live property that is a decimal number.
    LiveNumber(&'static str, u64),
    /// A `DAV:` live property that is a time as HTTP dates write it
    /// (`getlastmodified`, RFC 4918 §15.7).
    LiveHttpDate(&'static str, SystemTime),
    /// A `DAV:` live property that is a time in RFC 3339 to the second
    /// (`creationdate`, §15.1).
    LiveRfc3339(&'static str, SystemTime),
    /// `DAV:resourcetype`, with `<D:collection/>` or empty.
    ResourceType { collection: bool },
    /// A stored dead property, already self-contained XML.
    Dead(&'a str),
    /// A live property already rendered as XML (lockdiscovery, checksums).
    Xml(String),
    /// A live property whose XML never changes (supportedlock, no locks).
    Static(&'static str),
    /// Just the name, as an empty element (propname, 404s, PROPPATCH results).
    Name(PropertyName),
}

/// Properties that share one status inside a `D:response`.
#[derive(Debug, Clone)]
pub struct PropStat<'a> {
    pub status: StatusCode,
    pub props: Vec<PropValue<'a>>,
    pub error: Option<Precondition>,
}

/// Appends `<D:response>` with propstats for `href`.
pub fn response_with_propstats(out: &mut String, href: &str, propstats: &[PropStat]) {
    out.push_str("<D:response><D:href>");
    out.push_str(&escape(href));
    out.push_str("</D:href>");
    for propstat in propstats.iter().filter(|p| !p.props.is_empty()) {
        out.push_str("<D:propstat><D:prop>");
        for prop in &propstat.props {
            write_prop(out, prop);
        }
        out.push_str("</D:prop><D:status>");
        push_status_line(out, propstat.status);
        out.push_str("</D:status>");
        if let Some(condition) = propstat.error {
            out.push_str("<D:error><D:");
            out.push_str(condition.element());
            out.push_str("/></D:error>");
        }
        out.push_str("</D:propstat>");
    }
    out.push_str("</D:response>");
}

/// Appends `<D:response>` with one status for `href` (DELETE, COPY, MOVE).
pub fn response_with_status(out: &mut String, href: &str, status: StatusCode) {
    out.push_str("<D:response><D:href>");
    out.push_str(&escape(href));
    out.push_str("</D:href><D:status>");
    push_status_line(out, status);
    out.push_str("</D:status></D:response>");
}

/// A complete multistatus document from pre-rendered responses.
pub fn multistatus(responses: &str) -> String {
    let mut out = String::with_capacity(responses.len() + 128);
    out.push_str(XML_DECLARATION);
    out.push_str(MULTISTATUS_OPEN);
    out.push_str(responses);
    out.push_str(MULTISTATUS_CLOSE);
    out
}

fn write_prop(out: &mut String, prop: &PropValue<'_>) {
    match prop {
        PropValue::LiveText(local, value) => write_text(out, local, &partial_escape(*value)),
        PropValue::LiveToken(local, value) => {
            debug_assert!(!value.contains(['<', '>', '&']), "{local}: {value}");
            write_text(out, local, value);
        }
        PropValue::LiveNumber(local, value) => {
            write_text(out, local, itoa::Buffer::new().format(*value));
        }
        PropValue::LiveHttpDate(local, at) => {
            write_element(
                out,
                local,
                format_args!("{}", httpdate::HttpDate::from(*at)),
            );
        }
        PropValue::LiveRfc3339(local, at) => {
            let at = humantime::format_rfc3339_seconds(*at);
            write_element(out, local, format_args!("{at}"));
        }
        PropValue::ResourceType { collection: true } => {
            out.push_str("<D:resourcetype><D:collection/></D:resourcetype>");
        }
        PropValue::ResourceType { collection: false } => out.push_str("<D:resourcetype/>"),
        PropValue::Dead(xml) => out.push_str(xml),
        PropValue::Xml(xml) => out.push_str(xml),
        PropValue::Static(xml) => out.push_str(xml),
        PropValue::Name(name) => write_empty_element(out, name),
    }
}

fn write_text(out: &mut String, local: &str, text: &str) {
    out.push_str("<D:");
    out.push_str(local);
    out.push('>');
    out.push_str(text);
    out.push_str("</D:");
    out.push_str(local);
    out.push('>');
}

/// Like `write_text`, for a value that formats itself (and, by how it is
/// made, has nothing to escape).
fn write_element(out: &mut String, local: &str, text: std::fmt::Arguments<'_>) {
    use std::fmt::Write as _;
    out.push_str("<D:");
    out.push_str(local);
    out.push('>');
    // A String takes whatever is written; a value that cannot format
    // itself (a time past the year 9999) leaves the element empty.
    let _ = out.write_fmt(text);
    out.push_str("</D:");
    out.push_str(local);
    out.push('>');
}

/// `DAV:supportedlock` (§15.10): exclusive and shared write locks.
pub const SUPPORTED_LOCK: &str = "<D:supportedlock>\
<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>\
<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>\
</D:supportedlock>";

/// `DAV:lockdiscovery` of a resource no lock covers.
pub const NO_LOCKS: &str = "<D:lockdiscovery/>";

/// `DAV:lockdiscovery` (§15.8) for `locks`; `root_href` renders a lock root.
pub fn lockdiscovery(
    locks: &[ActiveLock],
    now: Timestamp,
    root_href: impl Fn(&ActiveLock) -> String,
) -> String {
    if locks.is_empty() {
        return NO_LOCKS.to_owned();
    }
    let mut out = String::from("<D:lockdiscovery>");
    for lock in locks {
        activelock(&mut out, lock, now, &root_href(lock));
    }
    out.push_str("</D:lockdiscovery>");
    out
}

fn activelock(out: &mut String, lock: &ActiveLock, now: Timestamp, root_href: &str) {
    out.push_str("<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope>");
    out.push_str(match lock.scope {
        LockScope::Exclusive => "<D:exclusive/>",
        LockScope::Shared => "<D:shared/>",
    });
    out.push_str("</D:lockscope><D:depth>");
    out.push_str(lock.depth.as_str());
    out.push_str("</D:depth>");
    if let Some(owner) = &lock.owner {
        // Stored as the client's whole DAV:owner element, self-contained.
        out.push_str(owner);
    }
    out.push_str("<D:timeout>Second-");
    out.push_str(&now.seconds_until(lock.expires).to_string());
    out.push_str("</D:timeout><D:locktoken><D:href>");
    out.push_str(&escape(lock.token.as_str()));
    out.push_str("</D:href></D:locktoken><D:lockroot><D:href>");
    out.push_str(&escape(root_href));
    out.push_str("</D:href></D:lockroot></D:activelock>");
}

fn write_empty_element(out: &mut String, name: &PropertyName) {
    let local = escape(name.local.as_str());
    if name.namespace == super::DAV_NS {
        out.push_str("<D:");
        out.push_str(&local);
        out.push_str("/>");
    } else if name.namespace.is_empty() {
        out.push('<');
        out.push_str(&local);
        out.push_str("/>");
    } else {
        out.push_str("<ns0:");
        out.push_str(&local);
        out.push_str(" xmlns:ns0=\"");
        out.push_str(&escape(name.namespace.as_str()));
        out.push_str("\"/>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propstats_are_grouped_and_escaped() {
        let mut out = String::new();
        response_with_propstats(
            &mut out,
            "/a&b/",
            &[
                PropStat {
                    status: StatusCode::OK,
                    props: vec![
                        PropValue::ResourceType { collection: true },
                        PropValue::LiveText("displayname", "a<b"),
                    ],
                    error: None,
                },
                PropStat {
                    status: StatusCode::NOT_FOUND,
                    props: vec![PropValue::Name(PropertyName::new("urn:x", "missing"))],
                    error: None,
                },
                PropStat {
                    status: StatusCode::FORBIDDEN,
                    props: vec![],
                    error: None,
                },
            ],
        );
        assert_eq!(
            out,
            "<D:response><D:href>/a&amp;b/</D:href>\
             <D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype>\
             <D:displayname>a&lt;b</D:displayname></D:prop>\
             <D:status>HTTP/1.1 200 OK</D:status></D:propstat>\
             <D:propstat><D:prop><ns0:missing xmlns:ns0=\"urn:x\"/></D:prop>\
             <D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response>"
        );
    }

    #[test]
    fn numbers_and_dates_are_written_as_before() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::new(1_796_690_460, 5);
        let mut out = String::new();
        for prop in [
            PropValue::LiveNumber("getcontentlength", 18_446_744_073_709_551_615),
            PropValue::LiveNumber("quota-used-bytes", 0),
            PropValue::LiveHttpDate("getlastmodified", at),
            PropValue::LiveRfc3339("creationdate", at),
            PropValue::LiveToken("getetag", "\"1-2\""),
        ] {
            write_prop(&mut out, &prop);
        }
        assert_eq!(
            out,
            "<D:getcontentlength>18446744073709551615</D:getcontentlength>\
             <D:quota-used-bytes>0</D:quota-used-bytes>\
             <D:getlastmodified>Tue, 08 Dec 2026 00:41:00 GMT</D:getlastmodified>\
             <D:creationdate>2026-12-08T00:41:00Z</D:creationdate>\
             <D:getetag>\"1-2\"</D:getetag>"
        );
        // The crates' own text, as the values were made before.
        assert!(out.contains(&httpdate::fmt_http_date(at)));
        assert!(out.contains(&humantime::format_rfc3339_seconds(at).to_string()));
    }

    #[test]
    fn error_body_names_the_precondition() {
        let body = error_body(Precondition::PropfindFiniteDepth, &[], "no <infinity>");
        assert!(body.contains("<D:propfind-finite-depth/>"));
        assert!(body.contains("no &lt;infinity&gt;"));
        let body = error_body(Precondition::LockTokenSubmitted, &["/a".into()], "locked");
        assert!(
            body.contains("<D:lock-token-submitted><D:href>/a</D:href></D:lock-token-submitted>")
        );
    }
}

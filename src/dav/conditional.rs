//! HTTP conditional requests (RFC 9110 §13): If-Match, If-None-Match,
//! If-Modified-Since, If-Unmodified-Since, evaluated in the RFC's order
//! against the current state of the target.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, header};

use super::error::DavError;
use crate::store::Meta;

/// A parsed list of entity tags, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtagList {
    Any,
    Tags(Vec<EntityTag>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    pub weak: bool,
    /// The opaque tag including its quotes, as servers send it.
    pub tag: String,
}

impl EtagList {
    fn parse(value: &str) -> EtagList {
        if value.trim() == "*" {
            return EtagList::Any;
        }
        let mut tags = Vec::new();
        let mut rest = value;
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            let (weak, after) = match rest.strip_prefix("W/") {
                Some(after) => (true, after),
                None => (false, rest),
            };
            let Some(inner) = after.strip_prefix('"') else {
                break;
            };
            let Some(end) = inner.find('"') else { break };
            tags.push(EntityTag {
                weak,
                tag: format!("\"{}\"", &inner[..end]),
            });
            rest = &inner[end + 1..];
        }
        EtagList::Tags(tags)
    }

    /// Strong comparison (If-Match): weak tags never match.
    fn matches_strong(&self, etag: &str) -> bool {
        match self {
            EtagList::Any => true,
            EtagList::Tags(tags) => tags.iter().any(|t| !t.weak && t.tag == etag),
        }
    }

    /// Weak comparison (If-None-Match): only the opaque tags are compared.
    fn matches_weak(&self, etag: &str) -> bool {
        match self {
            EtagList::Any => true,
            EtagList::Tags(tags) => tags.iter().any(|t| t.tag == etag),
        }
    }
}

/// The conditional headers of one request.
#[derive(Debug, Clone, Default)]
pub struct Preconditions {
    if_match: Option<EtagList>,
    if_none_match: Option<EtagList>,
    if_modified_since: Option<SystemTime>,
    if_unmodified_since: Option<SystemTime>,
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn http_date(headers: &HeaderMap, name: header::HeaderName) -> Option<SystemTime> {
    // RFC 9110: an invalid date makes the header be ignored.
    header_str(headers, name).and_then(|v| httpdate::parse_http_date(v).ok())
}

impl Preconditions {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            if_match: header_str(headers, header::IF_MATCH).map(EtagList::parse),
            if_none_match: header_str(headers, header::IF_NONE_MATCH).map(EtagList::parse),
            if_modified_since: http_date(headers, header::IF_MODIFIED_SINCE),
            if_unmodified_since: http_date(headers, header::IF_UNMODIFIED_SINCE),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.if_match.is_none()
            && self.if_none_match.is_none()
            && self.if_modified_since.is_none()
            && self.if_unmodified_since.is_none()
    }

    /// RFC 9110 §13.2.2. `current` is `None` when the target does not exist.
    /// Safe methods get 304 where others get 412.
    pub fn evaluate(&self, safe_method: bool, current: Option<&Meta>) -> Result<(), DavError> {
        let etag = current.map(|m| m.etag.as_str());
        let modified = current.map(|m| whole_seconds(m.modified));
        if let Some(list) = &self.if_match {
            if !etag.is_some_and(|e| list.matches_strong(e)) {
                return Err(DavError::PreconditionFailed(
                    "If-Match does not match".into(),
                ));
            }
        } else if let (Some(since), Some(modified)) = (self.if_unmodified_since, modified) {
            if modified > since {
                return Err(DavError::PreconditionFailed(
                    "modified since If-Unmodified-Since".into(),
                ));
            }
        }
        if let Some(list) = &self.if_none_match {
            if etag.is_some_and(|e| list.matches_weak(e)) {
                return Err(match (safe_method, current) {
                    (true, Some(meta)) => not_modified(meta),
                    _ => DavError::PreconditionFailed("If-None-Match matches".into()),
                });
            }
        } else if let (true, Some(since), Some(meta)) =
            (safe_method, self.if_modified_since, current)
        {
            if whole_seconds(meta.modified) <= since {
                return Err(not_modified(meta));
            }
        }
        Ok(())
    }
}

/// HTTP dates have one-second resolution; compare at that resolution.
fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn not_modified(meta: &Meta) -> DavError {
    DavError::NotModified {
        etag: meta.etag.clone(),
        last_modified: httpdate::fmt_http_date(meta.modified),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ResourceKind;
    use http::HeaderValue;

    fn meta(etag: &str, secs: u64) -> Meta {
        Meta {
            kind: ResourceKind::File,
            len: 1,
            modified: UNIX_EPOCH + Duration::from_secs(secs),
            created: None,
            etag: etag.into(),
        }
    }

    fn pre(pairs: &[(header::HeaderName, &str)]) -> Preconditions {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        Preconditions::from_headers(&map)
    }

    #[test]
    fn etag_lists_parse_weak_and_strong_tags() {
        assert_eq!(EtagList::parse(" * "), EtagList::Any);
        assert_eq!(
            EtagList::parse(r#""a", W/"b",  "c,d""#),
            EtagList::Tags(vec![
                EntityTag {
                    weak: false,
                    tag: "\"a\"".into()
                },
                EntityTag {
                    weak: true,
                    tag: "\"b\"".into()
                },
                EntityTag {
                    weak: false,
                    tag: "\"c,d\"".into()
                },
            ])
        );
    }

    #[test]
    fn if_match_uses_strong_comparison() {
        let m = meta("\"x\"", 100);
        assert!(
            pre(&[(header::IF_MATCH, "\"x\"")])
                .evaluate(false, Some(&m))
                .is_ok()
        );
        assert!(matches!(
            pre(&[(header::IF_MATCH, "W/\"x\"")]).evaluate(false, Some(&m)),
            Err(DavError::PreconditionFailed(_))
        ));
        assert!(matches!(
            pre(&[(header::IF_MATCH, "*")]).evaluate(false, None),
            Err(DavError::PreconditionFailed(_))
        ));
    }

    #[test]
    fn if_none_match_gives_304_for_reads_and_412_for_writes() {
        let m = meta("\"x\"", 100);
        let p = pre(&[(header::IF_NONE_MATCH, "W/\"x\"")]);
        assert!(matches!(
            p.evaluate(true, Some(&m)),
            Err(DavError::NotModified { .. })
        ));
        assert!(matches!(
            p.evaluate(false, Some(&m)),
            Err(DavError::PreconditionFailed(_))
        ));
        let star = pre(&[(header::IF_NONE_MATCH, "*")]);
        assert!(
            star.evaluate(false, None).is_ok(),
            "create-only PUT of a new file"
        );
        assert!(star.evaluate(false, Some(&m)).is_err());
    }

    #[test]
    fn dates_compare_at_second_resolution() {
        let m = meta("\"x\"", 1_000_000);
        let at = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(1_000_000));
        let before = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(999_999));
        assert!(matches!(
            pre(&[(header::IF_MODIFIED_SINCE, &at)]).evaluate(true, Some(&m)),
            Err(DavError::NotModified { .. })
        ));
        assert!(
            pre(&[(header::IF_MODIFIED_SINCE, &before)])
                .evaluate(true, Some(&m))
                .is_ok()
        );
        assert!(matches!(
            pre(&[(header::IF_UNMODIFIED_SINCE, &before)]).evaluate(false, Some(&m)),
            Err(DavError::PreconditionFailed(_))
        ));
        assert!(
            pre(&[(header::IF_MODIFIED_SINCE, "garbage")])
                .evaluate(true, Some(&m))
                .is_ok()
        );
    }
}

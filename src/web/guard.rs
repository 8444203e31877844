//! What every state-changing JSON route checks before it acts, so that a
//! page on another site cannot act with the credentials a browser keeps
//! for this one (Basic credentials are sent with every request to the
//! origin, cross-site forms and `fetch` included):
//! - the request is not cross-site: `Sec-Fetch-Site` (sent by browsers)
//!   is `same-origin` or `none`, or, without it, an `Origin` names this
//!   server's host. Programs (curl, SDKs) send neither and pass;
//! - a body is `application/json`, which a cross-site form cannot send and
//!   a cross-site `fetch` can send only after a preflight this server
//!   never approves.

use http::{HeaderMap, header};

/// Why a request is not accepted from where it came.
pub fn cross_site(headers: &HeaderMap) -> Option<String> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return match site {
            "same-origin" | "none" => None,
            other => Some(format!(
                "a {other} request from a browser is refused (Sec-Fetch-Site)"
            )),
        };
    }
    let origin = text("origin")?;
    let host = text(header::HOST.as_str()).unwrap_or("");
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
    if without_default_port(origin_host).eq_ignore_ascii_case(without_default_port(host)) {
        None
    } else {
        Some(format!("a request from {origin} is refused (cross-site)"))
    }
}

fn without_default_port(host: &str) -> &str {
    host.strip_suffix(":80")
        .or_else(|| host.strip_suffix(":443"))
        .unwrap_or(host)
}

/// Whether a state-changing request may carry this body: declared
/// `application/json`, or empty and declared as nothing.
pub fn json_or_empty(headers: &HeaderMap, body_len: usize) -> bool {
    match headers.get(header::CONTENT_TYPE) {
        Some(_) => is_json(headers),
        None => body_len == 0,
    }
}

/// True when the body is declared `application/json`.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn only_same_origin_browser_requests_and_programs_pass() {
        let host = ("host", "dav.example.org:8080");
        assert_eq!(cross_site(&headers(&[host])), None, "curl");
        let same = ("origin", "http://dav.example.org:8080");
        assert_eq!(cross_site(&headers(&[host, same])), None);
        assert!(cross_site(&headers(&[host, ("origin", "http://evil.example")])).is_some());
        assert!(cross_site(&headers(&[host, ("origin", "null")])).is_some());
        let fetch = |site| headers(&[host, same, ("sec-fetch-site", site)]);
        assert_eq!(cross_site(&fetch("same-origin")), None);
        assert_eq!(cross_site(&fetch("none")), None);
        assert!(cross_site(&fetch("cross-site")).is_some());
        assert!(cross_site(&fetch("same-site")).is_some());
        let default_port = headers(&[
            ("host", "dav.example.org:443"),
            ("origin", "https://dav.example.org"),
        ]);
        assert_eq!(cross_site(&default_port), None);
    }

    #[test]
    fn json_is_recognised_with_parameters() {
        assert!(is_json(&headers(&[(
            "content-type",
            "application/json; charset=utf-8"
        )])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&HeaderMap::new()));
        assert!(json_or_empty(&HeaderMap::new(), 0));
        assert!(!json_or_empty(&HeaderMap::new(), 2));
        assert!(!json_or_empty(
            &headers(&[("content-type", "text/plain")]),
            0
        ));
    }
}

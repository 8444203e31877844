//! Typed WebDAV request headers (RFC 4918 §10): Depth, Overwrite,
//! Destination. Parsed once; handlers never read raw header strings.

use http::HeaderMap;

use super::error::DavError;
use crate::locks::{LockToken, TimeoutRequest};
use crate::web::path::{RequestPath, parse_request_path};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    Zero,
    One,
    Infinity,
}

impl Depth {
    /// The Depth header, `None` when absent; anything but 0, 1 or infinity is 400.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Depth>, DavError> {
        let Some(value) = headers.get("depth") else {
            return Ok(None);
        };
        let text = value.to_str().unwrap_or("").trim();
        match text.to_ascii_lowercase().as_str() {
            "0" => Ok(Some(Depth::Zero)),
            "1" => Ok(Some(Depth::One)),
            "infinity" => Ok(Some(Depth::Infinity)),
            _ => Err(DavError::BadRequest(format!(
                "Depth must be 0, 1 or infinity, not {text:?}"
            ))),
        }
    }
}

/// The Timeout request header (§10.7): the client's preferences in order.
/// Values this server does not understand are skipped. `Second-` takes
/// 1*DIGIT; more than 2^32 - 1 seconds is capped there, however many digits.
pub fn timeout(headers: &HeaderMap) -> Vec<TimeoutRequest> {
    let Some(text) = headers.get("timeout").and_then(|v| v.to_str().ok()) else {
        return Vec::new();
    };
    text.split(',')
        .filter_map(|item| {
            let item = item.trim();
            if item.eq_ignore_ascii_case("infinite") {
                return Some(TimeoutRequest::Infinite);
            }
            item.get(..7)
                .filter(|p| p.eq_ignore_ascii_case("second-"))?;
            let digits = &item[7..];
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Only digits, so parsing fails only when the number overflows.
            let seconds = digits.parse::<u64>().unwrap_or(u64::MAX);
            Some(TimeoutRequest::Seconds(seconds.min(u64::from(u32::MAX))))
        })
        .collect()
}

/// The Lock-Token request header of UNLOCK (§10.5): a Coded-URL. Windows
/// clients send it without the angle brackets, which we accept too.
pub fn lock_token(headers: &HeaderMap) -> Result<LockToken, DavError> {
    let raw = headers
        .get("lock-token")
        .ok_or_else(|| DavError::BadRequest("UNLOCK needs a Lock-Token header".into()))?
        .to_str()
        .map_err(|_| DavError::BadRequest("the Lock-Token header is not ASCII".into()))?
        .trim();
    let token = raw
        .strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or(raw)
        .trim();
    if token.is_empty() {
        return Err(DavError::BadRequest(
            "the Lock-Token header is empty".into(),
        ));
    }
    Ok(LockToken(token.to_owned()))
}

/// The Overwrite header (§10.6); absent means true.
pub fn overwrite(headers: &HeaderMap) -> Result<bool, DavError> {
    match headers.get("overwrite").map(|v| v.as_bytes()) {
        None => Ok(true),
        Some(b"T") | Some(b"t") => Ok(true),
        Some(b"F") | Some(b"f") => Ok(false),
        Some(other) => Err(DavError::BadRequest(format!(
            "Overwrite must be T or F, not {:?}",
            String::from_utf8_lossy(other)
        ))),
    }
}

/// The Destination header (§10.3): an absolute URI on this server or an
/// absolute path. Another host is a 502, since we cannot write there.
pub fn destination(headers: &HeaderMap) -> Result<RequestPath, DavError> {
    let raw = headers
        .get("destination")
        .ok_or_else(|| DavError::BadRequest("a Destination header is required".into()))?
        .to_str()
        .map_err(|_| DavError::BadRequest("the Destination header is not ASCII".into()))?
        .trim();
    if raw.starts_with("//") {
        // A network-path reference (RFC 3986 §4.2) names a server, and is no
        // Simple-ref (§8.3); taken as a path, `//host/a` would be `/host/a`
        // on this server.
        return Err(DavError::BadRequest(format!(
            "Destination {raw:?} names a server without a scheme; send an absolute URI or an absolute path"
        )));
    }
    if raw.starts_with('/') {
        return Ok(parse_request_path(strip_query(raw))?);
    }
    let uri: http::Uri = raw
        .parse()
        .map_err(|_| DavError::BadRequest(format!("Destination {raw:?} is not a URI")))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http") | Some("https"));
    let authority = uri.authority().filter(|_| scheme_ok).ok_or_else(|| {
        DavError::BadRequest(format!("Destination {raw:?} is not an http(s) URI"))
    })?;
    if !has_host_and_port(authority) {
        return Err(DavError::BadRequest(format!(
            "Destination {raw:?} has no valid host and port"
        )));
    }
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    if !same_authority(authority, host, uri.scheme_str()) {
        return Err(DavError::BadGateway(format!(
            "Destination {raw:?} is on another server"
        )));
    }
    Ok(parse_request_path(uri.path())?)
}

fn strip_query(path: &str) -> &str {
    path.split(['?', '#']).next().unwrap_or(path)
}

/// The `http` crate accepts an authority with an empty host (`:80`), any
/// text after the last colon (and then reports no port, so `h:99999` would
/// pass for `h` on the default port) and brackets anywhere. RFC 3986 §3.2:
/// brackets only around an IP literal, the port digits (here at most
/// 65535) or empty; RFC 9110 §4.2.1: the host is not empty.
fn has_host_and_port(authority: &http::uri::Authority) -> bool {
    let host_port = authority.as_str().rsplit('@').next().unwrap_or_default();
    let host = authority.host();
    let Some(after_host) = host_port.strip_prefix(host) else {
        return false;
    };
    let port_ok = match after_host.strip_prefix(':') {
        None => after_host.is_empty(),
        Some("") => true,
        Some(port) => port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok(),
    };
    let brackets_ok = if host.starts_with('[') {
        host.ends_with(']') && !host[1..host.len() - 1].contains(['[', ']'])
    } else {
        !host.contains(['[', ']'])
    };
    !host.is_empty() && brackets_ok && port_ok
}

fn same_authority(dest: &http::uri::Authority, host: Option<&str>, scheme: Option<&str>) -> bool {
    let Some(host) = host else {
        // HTTP/1.1 requires Host; without it we cannot tell, so refuse.
        return false;
    };
    let Ok(host) = host.parse::<http::uri::Authority>() else {
        return false;
    };
    if !has_host_and_port(&host) {
        return false;
    }
    let default_port = if scheme == Some("https") { 443 } else { 80 };
    dest.host().eq_ignore_ascii_case(host.host())
        && dest.port_u16().unwrap_or(default_port) == host.port_u16().unwrap_or(default_port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn depth_values() {
        assert_eq!(Depth::from_headers(&headers(&[])).unwrap(), None);
        assert_eq!(
            Depth::from_headers(&headers(&[("depth", "0")])).unwrap(),
            Some(Depth::Zero)
        );
        assert_eq!(
            Depth::from_headers(&headers(&[("depth", "Infinity")])).unwrap(),
            Some(Depth::Infinity)
        );
        assert!(Depth::from_headers(&headers(&[("depth", "2")])).is_err());
    }

    #[test]
    fn timeout_values_s10_7() {
        assert_eq!(timeout(&headers(&[])), vec![]);
        assert_eq!(
            timeout(&headers(&[("timeout", "Infinite, Second-5000000000")])),
            vec![
                TimeoutRequest::Infinite,
                TimeoutRequest::Seconds(u64::from(u32::MAX))
            ]
        );
        assert_eq!(
            timeout(&headers(&[("timeout", "Second-60, Fortnight")])),
            vec![TimeoutRequest::Seconds(60)]
        );
        // Fuzz finding (headers, crash-b6cf4648): a number too large for a
        // u64 was skipped instead of capped like 5000000000, so the lock got
        // the next value or the default. And `Second-+60` is no 1*DIGIT.
        assert_eq!(
            timeout(&headers(&[(
                "timeout",
                "Second-18446744073709551616, Second-+60, Second-, Second-0060"
            )])),
            vec![
                TimeoutRequest::Seconds(u64::from(u32::MAX)),
                TimeoutRequest::Seconds(60)
            ]
        );
    }

    #[test]
    fn lock_token_with_or_without_brackets_s10_5() {
        let with = lock_token(&headers(&[("lock-token", "<urn:uuid:1>")])).unwrap();
        let without = lock_token(&headers(&[("lock-token", "urn:uuid:1")])).unwrap();
        assert_eq!(with, LockToken("urn:uuid:1".into()));
        assert_eq!(with, without);
        assert!(lock_token(&headers(&[])).is_err());
        assert!(lock_token(&headers(&[("lock-token", "<>")])).is_err());
    }

    #[test]
    fn overwrite_values() {
        assert!(overwrite(&headers(&[])).unwrap());
        assert!(!overwrite(&headers(&[("overwrite", "F")])).unwrap());
        assert!(overwrite(&headers(&[("overwrite", "maybe")])).is_err());
    }

    #[test]
    fn destination_on_this_server() {
        let h = headers(&[
            ("host", "127.0.0.1:8080"),
            ("destination", "http://127.0.0.1:8080/a%20b/c"),
        ]);
        assert_eq!(destination(&h).unwrap().path.key(), "/a b/c");
        let h = headers(&[
            ("host", "example.org"),
            ("destination", "http://EXAMPLE.org:80/x/"),
        ]);
        let d = destination(&h).unwrap();
        assert_eq!(d.path.key(), "/x");
        assert!(d.trailing_slash);
        let h = headers(&[("destination", "/plain/path")]);
        assert_eq!(destination(&h).unwrap().path.key(), "/plain/path");
    }

    #[test]
    fn destination_elsewhere_or_escaping_is_refused() {
        let h = headers(&[
            ("host", "127.0.0.1:8080"),
            ("destination", "http://other.example/a"),
        ]);
        assert!(matches!(destination(&h), Err(DavError::BadGateway(_))));
        let h = headers(&[
            ("host", "127.0.0.1:8080"),
            ("destination", "http://127.0.0.1:8081/a"),
        ]);
        assert!(matches!(destination(&h), Err(DavError::BadGateway(_))));
        let h = headers(&[("host", "h"), ("destination", "http://h/../../etc")]);
        assert!(matches!(destination(&h), Err(DavError::Path(_))));
        // Fuzz finding (headers, crash-c24fe7f9, `//[`): a network-path
        // reference was taken as the path `/[` on this server.
        for value in ["//[", "//other.example/a", "//h/a"] {
            let h = headers(&[("host", "h"), ("destination", value)]);
            assert!(
                matches!(destination(&h), Err(DavError::BadRequest(_))),
                "{value}"
            );
        }
        let h = headers(&[("destination", "/a//b")]);
        assert_eq!(destination(&h).unwrap().path.key(), "/a/b");
        // Fuzz finding (headers, crash-c5d178bc): `http://:Q//0` was taken
        // as on this server for the Host `topaquelocktoken@:,` (both hosts
        // empty, neither port a number, so both "the default"). A port that
        // is no number, or none at all in the Host, is not the default port.
        for (host, value) in [
            ("h", "http://h:99999/a"),
            ("h", "http://h:8o/a"),
            (":80", "http://:80/a"),
            ("h", "http://[::1]x/a"),
            // crash-154089f1: brackets in a name are no IP literal.
            ("h[", "http://h[/a"),
            ("h", "https://eXAM.[]EL:/a"),
        ] {
            let h = headers(&[("host", host), ("destination", value)]);
            assert!(
                matches!(destination(&h), Err(DavError::BadRequest(_))),
                "{value}"
            );
        }
        for host in ["h:99999", "h:x", ":80", "u@:80"] {
            let h = headers(&[("host", host), ("destination", "http://h/a")]);
            assert!(
                matches!(destination(&h), Err(DavError::BadGateway(_))),
                "{host}"
            );
        }
        for (host, value) in [
            ("h:", "http://h/a"),
            ("h", "http://h:/a"),
            ("[::1]:8080", "http://[::1]:8080/a"),
            ("h:080", "http://h:80/a"),
        ] {
            let h = headers(&[("host", host), ("destination", value)]);
            assert_eq!(destination(&h).unwrap().path.key(), "/a", "{value}");
        }
        let h = headers(&[("host", "h"), ("destination", "ftp://h/a")]);
        assert!(matches!(destination(&h), Err(DavError::BadRequest(_))));
        assert!(matches!(
            destination(&headers(&[])),
            Err(DavError::BadRequest(_))
        ));
    }
}

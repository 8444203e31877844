//! The WebDAV request headers of `deadbolt::dav::headers` (RFC 4918 §10):
//! Depth, Timeout, Overwrite, Destination (with Host), and Lock-Token.
//!
//! The input is up to six lines, the values of `Depth`, `Timeout`,
//! `Overwrite`, `Destination`, `Host` and `Lock-Token`, in that order. A
//! missing line, or one that is not a valid header value (control bytes;
//! hyper would refuse the request), leaves that header out.
//!
//! - Nothing panics, and every refusal is a 400, except a Destination on
//!   another server (502) and a Destination path that does not resolve (the
//!   path's own error, as for a request path).
//! - Depth is exactly `0`, `1` or `infinity`, ASCII case-insensitive,
//!   surrounding blanks ignored; absent is `None`.
//! - Timeout lists the values it understands, in order: `Infinite` and
//!   `Second-` 1*DIGIT (case-insensitive), seconds capped at 2^32 - 1 (§10.7);
//!   anything else is skipped. The lock then gets the first of them, capped
//!   by the policy (`Infinite` is the maximum), or the default when none is.
//! - Overwrite is exactly `T` or `F` (either case); absent means `T`.
//! - Destination: an absolute path resolves as a request path (query and
//!   fragment dropped), but `//…`, a network-path reference to a server, is
//!   a 400; an absolute `http`/`https` URI needs a host and a numeric port
//!   (or none) or it is a 400, and is accepted only when its host and port
//!   are the Host header's (ports defaulted by scheme, Host itself valid),
//!   and resolves to its path. A plain URI on this host built from the Host
//!   line and a path is never refused except for the path's own error.
//! - Lock-Token is the Coded-URL's content, trimmed and not empty.
#![no_main]

use deadbolt::dav::error::DavError;
use deadbolt::dav::headers::{self, Depth};
use deadbolt::locks::{LockToken, TimeoutPolicy, TimeoutRequest};
use deadbolt::web::path::parse_request_path;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] = [
    "depth",
    "timeout",
    "overwrite",
    "destination",
    "host",
    "lock-token",
];

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let values: Vec<Option<HeaderValue>> = NAMES
        .iter()
        .map(|_| lines.next().and_then(|l| HeaderValue::from_bytes(l).ok()))
        .collect();
    let mut map = HeaderMap::new();
    for (name, value) in NAMES.iter().zip(&values) {
        if let Some(value) = value {
            map.insert(*name, value.clone());
        }
    }
    // As the handlers see them: text only when the value is visible ASCII.
    let text = |i: usize| values[i].as_ref().map(|v| v.to_str().ok());

    check_depth(&map, text(0));
    check_timeout(&map, text(1));
    check_overwrite(&map, values[2].as_ref().map(HeaderValue::as_bytes));
    check_destination(&map, text(3), text(4));
    check_lock_token(&map, text(5));

    // A plain URI on this host is never refused but for its path.
    if let (Some(Some(host)), Some(Some(destination))) = (text(4), text(3))
        && host.parse::<http::uri::Authority>().is_ok()
        && host_port(host, 80).is_some()
        && !host.contains('@')
    {
        let path = destination.trim_matches([' ', '\t']);
        let path = path.split(['?', '#']).next().unwrap_or(path);
        if path.starts_with('/') && path.bytes().all(is_pchar_or_slash) {
            let expected = parse_request_path(path);
            for scheme in ["http", "https", "HTTP"] {
                for host in [host.to_owned(), host.to_ascii_uppercase()] {
                    let uri = format!("{scheme}://{host}{path}");
                    let mut map = map.clone();
                    map.insert("destination", HeaderValue::from_str(&uri).unwrap());
                    match (headers::destination(&map), &expected) {
                        (Ok(got), Ok(expected)) => assert_eq!(&got, expected, "{uri:?}"),
                        (Err(DavError::Path(got)), Err(expected)) => {
                            assert_eq!(&got, expected, "{uri:?}")
                        }
                        (got, _) => panic!("{uri:?} with Host {host:?}: {got:?}, not {expected:?}"),
                    }
                }
            }
        }
    }
});

/// Space and tab, the only blanks a header value can hold.
fn trim_ows(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

fn is_bad_request<T: std::fmt::Debug>(result: &Result<T, DavError>) -> bool {
    matches!(result, Err(DavError::BadRequest(message)) if !message.is_empty())
}

fn check_depth(map: &HeaderMap, text: Option<Option<&str>>) {
    let got = Depth::from_headers(map);
    let expected = match text {
        None => Some(None),
        Some(None) => None,
        Some(Some(text)) => match trim_ows(text).to_ascii_lowercase().as_str() {
            "0" => Some(Some(Depth::Zero)),
            "1" => Some(Some(Depth::One)),
            "infinity" => Some(Some(Depth::Infinity)),
            _ => None,
        },
    };
    match expected {
        Some(depth) => assert_eq!(got.ok(), Some(depth), "Depth {text:?}"),
        None => assert!(is_bad_request(&got), "Depth {text:?}: {got:?}"),
    }
}

fn check_timeout(map: &HeaderMap, text: Option<Option<&str>>) {
    let got = headers::timeout(map);
    let expected: Vec<TimeoutRequest> = match text {
        Some(Some(text)) => text
            .split(',')
            .map(trim_ows)
            .filter_map(|item| {
                if item.eq_ignore_ascii_case("infinite") {
                    return Some(TimeoutRequest::Infinite);
                }
                let (prefix, digits) = item.split_at_checked(7)?;
                if !prefix.eq_ignore_ascii_case("second-")
                    || digits.is_empty()
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                let seconds = digits.bytes().fold(0u64, |n, d| {
                    n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                });
                Some(TimeoutRequest::Seconds(seconds.min(u64::from(u32::MAX))))
            })
            .collect(),
        _ => Vec::new(),
    };
    assert_eq!(got, expected, "Timeout {text:?}");

    for policy in [
        TimeoutPolicy {
            default_seconds: 600,
            max_seconds: 3600,
        },
        TimeoutPolicy {
            default_seconds: 0,
            max_seconds: 0,
        },
    ] {
        let ceiling = policy.max_seconds.max(1);
        let wanted = match got.first() {
            None => policy.default_seconds,
            Some(TimeoutRequest::Infinite) => ceiling,
            Some(TimeoutRequest::Seconds(s)) => *s,
        };
        let granted = policy.grant(&got);
        assert!((1..=ceiling).contains(&granted));
        assert_eq!(granted, wanted.clamp(1, ceiling), "{policy:?} {got:?}");
    }
}

fn check_overwrite(map: &HeaderMap, bytes: Option<&[u8]>) {
    let got = headers::overwrite(map);
    match bytes {
        None | Some(b"T" | b"t") => assert_eq!(got.ok(), Some(true)),
        Some(b"F" | b"f") => assert_eq!(got.ok(), Some(false)),
        Some(other) => assert!(is_bad_request(&got), "Overwrite {other:?}: {got:?}"),
    }
}

fn check_destination(map: &HeaderMap, text: Option<Option<&str>>, host: Option<Option<&str>>) {
    let got = headers::destination(map);
    let Some(Some(text)) = text else {
        return assert!(is_bad_request(&got), "{got:?}");
    };
    let raw = trim_ows(text);
    let strip = |s: &'_ str| -> String { s.split(['?', '#']).next().unwrap_or(s).to_owned() };

    if raw.starts_with("//") {
        // A network-path reference names a server, not a path: it is no
        // Simple-ref (§8.3), so it is refused rather than taken as a path.
        return assert!(is_bad_request(&got), "{raw:?}: {got:?}");
    }
    if raw.starts_with('/') {
        match (&got, parse_request_path(&strip(raw))) {
            (Ok(got), Ok(expected)) => assert_eq!(*got, expected),
            (Err(DavError::Path(got)), Err(expected)) => assert_eq!(*got, expected),
            (got, expected) => panic!("{raw:?}: {got:?}, not {expected:?}"),
        }
        return;
    }

    // An absolute URI: scheme, authority, then the path up to ? or #.
    let split = ["http", "https"].iter().find_map(|scheme| {
        let rest = raw
            .get(..scheme.len() + 3)
            .filter(|p| p.eq_ignore_ascii_case(&format!("{scheme}://")))
            .map(|_| &raw[scheme.len() + 3..])?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let path = strip(&rest[end..]);
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path
        };
        Some((*scheme, &rest[..end], path))
    });
    match &got {
        Err(DavError::BadRequest(_)) => {
            // Not an http(s) URI, or one the URI parser refuses: a plain one
            // (lower-case scheme, valid authority, path of path characters)
            // must not be refused so.
            if let Some((scheme, authority, _)) = &split {
                let rest = &raw[scheme.len() + 3 + authority.len()..];
                let plain = raw.starts_with(scheme)
                    && authority.parse::<http::uri::Authority>().is_ok()
                    && host_port(authority, 0).is_some()
                    && rest.bytes().all(|b| b == b'?' || is_pchar_or_slash(b));
                assert!(!plain, "{raw:?} refused as not a URI");
            }
        }
        Ok(_) | Err(DavError::Path(_)) | Err(DavError::BadGateway(_)) => {
            let (scheme, authority, path) =
                split.unwrap_or_else(|| panic!("{raw:?} is no http(s) URI: {got:?}"));
            // A host and port of its own, else it is no http(s) URI (400);
            // on this server when they are the Host header's.
            let default = if scheme == "https" { 443 } else { 80 };
            let dest = host_port(authority, default)
                .unwrap_or_else(|| panic!("{raw:?} has no valid host and port: {got:?}"));
            let ours = host.flatten().is_some_and(|host| {
                host.parse::<http::uri::Authority>().is_ok()
                    && host_port(host, default) == Some(dest.clone())
            });
            match &got {
                Ok(got) => {
                    assert!(ours, "{raw:?} accepted for Host {host:?}");
                    assert_eq!(Ok(got), parse_request_path(&path).as_ref(), "{raw:?}");
                }
                Err(DavError::Path(got)) => {
                    assert!(ours, "{raw:?} resolved for Host {host:?}");
                    assert_eq!(Err(got), parse_request_path(&path).as_ref(), "{raw:?}");
                }
                _ => assert!(!ours, "{raw:?} refused as elsewhere for Host {host:?}"),
            }
        }
        Err(other) => panic!("Destination {raw:?}: unexpected {other:?}"),
    }
}

/// The host name (lower-cased) and port of an authority, userinfo dropped
/// and the port defaulted; `None` unless the host is not empty and the port
/// is absent, empty or a number up to 65535 (RFC 3986 §3.2.2-3, RFC 9110
/// §4.2.1: an http URI with an empty host is invalid).
fn host_port(authority: &str, default: u16) -> Option<(String, u16)> {
    let text = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (name, port) = if text.starts_with('[') {
        let end = text.find(']')?;
        let rest = &text[end + 1..];
        let port = if rest.is_empty() {
            None
        } else {
            Some(rest.strip_prefix(':')?)
        };
        (&text[..=end], port)
    } else {
        match text.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (text, None),
        }
    };
    let port = match port {
        None | Some("") => default,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
        Some(_) => return None,
    };
    // Brackets only around a whole IP literal; colons only inside one.
    let plain_name = !name.starts_with('[') && name.contains(['[', ']', ':']);
    (!name.is_empty() && !plain_name).then(|| (name.to_ascii_lowercase(), port))
}

fn check_lock_token(map: &HeaderMap, text: Option<Option<&str>>) {
    let got = headers::lock_token(map);
    let Some(Some(text)) = text else {
        return assert!(is_bad_request(&got), "{got:?}");
    };
    let raw = trim_ows(text);
    let inner = raw
        .strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or(raw);
    let token = trim_ows(inner);
    if token.is_empty() {
        assert!(is_bad_request(&got), "Lock-Token {text:?}: {got:?}");
    } else {
        assert_eq!(got.ok(), Some(LockToken(token.to_owned())), "{text:?}");
    }
}

/// RFC 3986 `pchar` (unreserved, sub-delims, ':', '@', and '%' of an
/// escape) and '/'.
fn is_pchar_or_slash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%".contains(&b)
}

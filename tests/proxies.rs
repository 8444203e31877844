//! `--trusted-proxies`: behind a load balancer, a request is from the
//! client its `X-Forwarded-For` names, for the audit trail and the pauses
//! of password guessing; from anyone else the header is ignored.
mod support;

use support::admin::*;
use support::lock::*;
use support::users::*;

fn lock_from(s: &support::TestServer, forwarded: &str, path: &str) -> String {
    assert_eq!(put_as(s, Some("alice"), path, "x").status, 201);
    let r = req_as(s, Some("alice"), "LOCK", path)
        .header("X-Forwarded-For", forwarded)
        .header("Depth", "0")
        .xml(&lockinfo(Scope::Exclusive, None))
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    let listed = api_get(s, "root", &format!("/_deadbolt/api/locks?path={path}"));
    array(&listed, "locks")[0]["client_address"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn a_trusted_proxy_names_the_client() {
    let s = start_team(&["--trusted-proxies", "127.0.0.0/8,10.0.0.7"]);
    // The nearest hop that is not a trusted proxy.
    assert_eq!(
        lock_from(&s, "198.51.100.4, 203.0.113.9, 10.0.0.7", "/a.txt"),
        "203.0.113.9"
    );
    // Guessing through the proxy pauses that client, not the proxy.
    for i in 0..5 {
        let r = s
            .request("GET", "/")
            .auth(&basic("bob", &format!("guess-{i}")))
            .header("X-Forwarded-For", "203.0.113.66")
            .send();
        assert_eq!(r.status, 401, "{r:?}");
    }
    let paused = s
        .request("GET", "/")
        .auth(&basic("carol", "wrong"))
        .header("X-Forwarded-For", "203.0.113.66")
        .send();
    assert_eq!(paused.status, 429, "that client is paused: {paused:?}");
    let other = s
        .request("GET", "/")
        .auth(&basic("carol", "wrong"))
        .header("X-Forwarded-For", "203.0.113.67")
        .send();
    assert_eq!(
        other.status, 401,
        "another client behind the proxy is not: {other:?}"
    );
}

#[test]
fn without_trust_the_header_is_ignored() {
    let s = start_team(&[]);
    let shown = lock_from(&s, "203.0.113.9", "/a.txt");
    assert!(
        shown.starts_with("127.0.0.1:"),
        "the peer, not the header: {shown}"
    );
}

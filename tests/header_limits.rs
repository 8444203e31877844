//! Issue 12, item 5: a request head is bounded like Apache's and nginx's:
//! one header line (and the request target) at most `--max-header-line`
//! (16 KiB) and the whole head at most `--max-header-size` (64 KiB), or
//! `431` (`414` for the target) with the reason; the server keeps serving.
//! A head over four times the limit is refused by the parser, bare.
mod support;

use std::time::Duration;

use support::{Launch, TestServer};

fn header_of(len: usize) -> String {
    "x".repeat(len)
}

fn get_with(s: &TestServer, headers: &[(&str, &str)]) -> support::Response {
    s.raw_request("GET", "/", headers, b"")
}

#[test]
fn a_long_header_line_is_431_with_the_reason() {
    let s = TestServer::start();
    for len in [100 * 1024, 20 * 1024] {
        let value = header_of(len);
        let r = get_with(&s, &[("X-Big", &value)]);
        assert_eq!(r.status, 431, "a {len}-byte header: {r:?}");
        assert!(
            r.body.contains("x-big") && r.body.contains("max-header-line"),
            "{r:?}"
        );
    }
    // A big cookie within the limit is fine.
    let cookie = header_of(10 * 1024);
    assert_eq!(get_with(&s, &[("Cookie", &cookie)]).status, 200);
    // And the server still serves.
    assert_eq!(s.put("/after.txt", "ok").status, 201);
}

#[test]
fn a_long_request_target_is_414() {
    let s = TestServer::start();
    let target = format!("/{}", header_of(20 * 1024));
    let r = s.raw_request("GET", &target, &[], b"");
    assert_eq!(r.status, 414, "{r:?}");
    assert!(r.body.contains("request target"), "{r:?}");
}

#[test]
fn a_head_over_the_total_limit_is_431() {
    let s = TestServer::start();
    let value = header_of(15 * 1024);
    let headers: Vec<(String, &str)> = (0..5)
        .map(|i| (format!("X-Part-{i}"), value.as_str()))
        .collect();
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let r = get_with(&s, &headers);
    assert_eq!(
        r.status, 431,
        "75 KB of headers, each line under the limit: {r:?}"
    );
    assert!(r.body.contains("max-header-size"), "{r:?}");
    // Past four times the limit the parser itself refuses (a bare 431).
    let huge = header_of(300 * 1024);
    assert_eq!(get_with(&s, &[("X-Huge", &huge)]).status, 431);
    assert_eq!(s.get("/").status, 200, "still serving");
}

#[test]
fn the_limits_are_configurable_and_checked() {
    let s = TestServer::start_with(&["--max-header-line", "32768", "--max-header-size", "131072"]);
    let value = header_of(20 * 1024);
    assert_eq!(get_with(&s, &[("X-Big", &value)]).status, 200);
    let (status, _, stderr) = Launch::new()
        .args(&["--max-header-size", "100"])
        .run_to_exit(Duration::from_secs(20));
    assert!(
        !status.success(),
        "a head limit below hyper's buffer: {stderr}"
    );
    assert!(stderr.contains("max-header-size"), "{stderr}");
    let (status, _, stderr) = Launch::new()
        .args(&["--max-header-line", "100000"])
        .run_to_exit(Duration::from_secs(20));
    assert!(
        !status.success(),
        "a line limit over the head limit: {stderr}"
    );
    assert!(stderr.contains("max-header-line"), "{stderr}");
}

//! GET and HEAD (RFC 9110 §9.3.1, §9.3.2): Content-Type, strong ETag, Last-Modified,
//! Range (§14), conditional requests (§13) and the HTML listing of a collection.
mod support;

use support::{HELLO, TestServer, server_with_hello};

/// GET of a collection; without the trailing slash a redirect to the slash form
/// (RFC 9110 §15.4) is followed once, as a browser would.
fn get_collection(s: &TestServer, path: &str) -> support::Response {
    let r = s.request("GET", path).send();
    if matches!(r.status, 301 | 302 | 307 | 308) && !path.ends_with('/') {
        let loc = r.expect_header("location");
        let loc = support::xml::href_path(loc);
        assert_eq!(loc, format!("{path}/"), "redirect target of GET {path}");
        return s.request("GET", &loc).send();
    }
    r
}

#[test]
fn get_returns_content_and_content_type_from_extension() {
    let s = TestServer::start();
    let cases = [
        ("/a.txt", "text/plain"),
        ("/b.html", "text/html"),
        ("/c.json", "application/json"),
        ("/d.png", "image/png"),
        ("/e.css", "text/css"),
    ];
    for (path, ct) in cases {
        assert_eq!(s.put(path, "content").status, 201, "PUT {path}");
        let r = s.get(path);
        assert_eq!(r.status, 200, "GET {path}");
        assert_eq!(r.body, "content");
        let got = r.expect_header("content-type");
        assert!(
            got.starts_with(ct),
            "GET {path}: Content-Type {got:?}, want {ct}"
        );
    }
}

#[test]
fn get_has_strong_etag_that_changes_when_content_changes() {
    // RFC 9110 §8.8.3: a strong validator is a quoted string without the W/ prefix.
    let s = server_with_hello();
    let first = s.get("/hello.txt");
    let etag1 = first.expect_header("etag").to_string();
    assert!(!etag1.starts_with("W/"), "ETag must be strong: {etag1}");
    assert!(
        etag1.len() >= 3 && etag1.starts_with('"') && etag1.ends_with('"'),
        "ETag must be a quoted string: {etag1}"
    );
    assert_eq!(
        s.get("/hello.txt").expect_header("etag"),
        etag1,
        "stable ETag"
    );

    assert_eq!(s.put("/hello.txt", "different content, longer").status, 204);
    let etag2 = s.get("/hello.txt").expect_header("etag").to_string();
    assert_ne!(etag1, etag2, "ETag must change when content changes");
    assert!(!etag2.starts_with("W/"));
}

#[test]
fn get_has_last_modified_http_date() {
    let s = server_with_hello();
    let r = s.get("/hello.txt");
    let lm = r.expect_header("last-modified");
    let when = httpdate::parse_http_date(lm).unwrap_or_else(|e| panic!("bad date {lm:?}: {e}"));
    let age = std::time::SystemTime::now()
        .duration_since(when)
        .unwrap_or_default();
    assert!(age.as_secs() < 600, "Last-Modified is not recent: {lm}");
}

#[test]
fn head_has_get_headers_and_no_body() {
    let s = server_with_hello();
    let get = s.get("/hello.txt");
    let head = s.request("HEAD", "/hello.txt").send();
    assert_eq!(head.status, 200);
    assert!(head.bytes.is_empty(), "HEAD body must be empty");
    assert_eq!(head.header("content-length"), Some("11"));
    assert_eq!(head.header("etag"), get.header("etag"));
    assert_eq!(head.header("last-modified"), get.header("last-modified"));
    assert_eq!(head.header("content-type"), get.header("content-type"));
}

#[test]
fn get_missing_file_is_404() {
    let s = TestServer::start();
    assert_eq!(s.get("/nope.txt").status, 404);
    assert_eq!(s.request("HEAD", "/nope.txt").send().status, 404);
}

#[test]
fn range_request_gives_206_with_content_range() {
    // RFC 9110 §14.2, §15.3.7
    let s = server_with_hello();
    let r = s
        .request("GET", "/hello.txt")
        .header("Range", "bytes=0-4")
        .send();
    assert_eq!(r.status, 206, "{r:?}");
    assert_eq!(r.body, "hello");
    assert_eq!(r.header("content-range"), Some("bytes 0-4/11"));
    assert_eq!(r.header("content-length"), Some("5"));

    let r = s
        .request("GET", "/hello.txt")
        .header("Range", "bytes=6-")
        .send();
    assert_eq!(r.status, 206);
    assert_eq!(r.body, "world");
    assert_eq!(r.header("content-range"), Some("bytes 6-10/11"));

    let r = s
        .request("GET", "/hello.txt")
        .header("Range", "bytes=-3")
        .send();
    assert_eq!(r.status, 206);
    assert_eq!(r.body, "rld");
    assert_eq!(r.header("content-range"), Some("bytes 8-10/11"));
}

#[test]
fn unsatisfiable_range_is_416_with_content_range_star() {
    // RFC 9110 §15.5.17: 416 SHOULD carry Content-Range: bytes */length
    let s = server_with_hello();
    let r = s
        .request("GET", "/hello.txt")
        .header("Range", "bytes=100-200")
        .send();
    assert_eq!(r.status, 416, "{r:?}");
    assert_eq!(r.header("content-range"), Some("bytes */11"));
}

#[test]
fn if_none_match_with_current_etag_gives_304() {
    // RFC 9110 §13.1.2
    let s = server_with_hello();
    let etag = s.get("/hello.txt").expect_header("etag").to_string();
    let r = s
        .request("GET", "/hello.txt")
        .header("If-None-Match", &etag)
        .send();
    assert_eq!(r.status, 304, "{r:?}");
    assert!(r.bytes.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = s
        .request("GET", "/hello.txt")
        .header("If-None-Match", "\"other\"")
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, HELLO);
}

#[test]
fn if_match_mismatch_gives_412_and_match_gives_200() {
    // RFC 9110 §13.1.1
    let s = server_with_hello();
    let etag = s.get("/hello.txt").expect_header("etag").to_string();
    let r = s
        .request("GET", "/hello.txt")
        .header("If-Match", "\"nope\"")
        .send();
    assert_eq!(r.status, 412, "{r:?}");
    let r = s
        .request("GET", "/hello.txt")
        .header("If-Match", &etag)
        .send();
    assert_eq!(r.status, 200);
}

#[test]
fn if_modified_since_last_modified_gives_304() {
    // RFC 9110 §13.1.3
    let s = server_with_hello();
    let lm = s
        .get("/hello.txt")
        .expect_header("last-modified")
        .to_string();
    let r = s
        .request("GET", "/hello.txt")
        .header("If-Modified-Since", &lm)
        .send();
    assert_eq!(r.status, 304, "{r:?}");
    let r = s
        .request("GET", "/hello.txt")
        .header("If-Modified-Since", "Mon, 01 Jan 1990 00:00:00 GMT")
        .send();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, HELLO);
}

#[test]
fn if_unmodified_since_in_the_past_gives_412() {
    // RFC 9110 §13.1.4
    let s = server_with_hello();
    let r = s
        .request("GET", "/hello.txt")
        .header("If-Unmodified-Since", "Mon, 01 Jan 1990 00:00:00 GMT")
        .send();
    assert_eq!(r.status, 412, "{r:?}");
    let lm = s
        .get("/hello.txt")
        .expect_header("last-modified")
        .to_string();
    let r = s
        .request("GET", "/hello.txt")
        .header("If-Unmodified-Since", &lm)
        .send();
    assert_eq!(r.status, 200);
}

#[test]
fn if_match_mismatch_on_put_gives_412_and_keeps_content() {
    let s = server_with_hello();
    let r = s
        .request("PUT", "/hello.txt")
        .header("If-Match", "\"nope\"")
        .body("changed")
        .send();
    assert_eq!(r.status, 412, "{r:?}");
    assert_eq!(
        std::fs::read_to_string(s.root().join("hello.txt")).unwrap(),
        HELLO
    );
}

#[test]
fn get_of_collection_gives_html_listing_of_members() {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/dir").status, 201);
    assert_eq!(s.put("/dir/alpha.txt", "a").status, 201);
    assert_eq!(s.mkcol("/dir/beta").status, 201);
    for path in ["/dir/", "/dir"] {
        let r = get_collection(&s, path);
        assert_eq!(r.status, 200, "GET {path}: {r:?}");
        assert!(r.expect_header("content-type").starts_with("text/html"));
        assert!(
            r.body.contains("alpha.txt"),
            "listing of {path}: {}",
            r.body
        );
        assert!(r.body.contains("beta"), "listing of {path}: {}", r.body);
    }
}

#[test]
fn etag_changes_for_same_size_content_written_within_the_same_second() {
    // A strong validator must change with the representation (RFC 9110 §8.8.1),
    // even when size and second-resolution mtime are unchanged.
    let s = TestServer::start();
    assert_eq!(s.put("/same.txt", "aaaa").status, 201);
    let e1 = s.get("/same.txt").expect_header("etag").to_string();
    assert_eq!(s.put("/same.txt", "bbbb").status, 204);
    let e2 = s.get("/same.txt").expect_header("etag").to_string();
    assert_ne!(e1, e2, "same-size rewrite kept the ETag");
    let r = s
        .request("GET", "/same.txt")
        .header("If-None-Match", &e1)
        .send();
    assert_eq!(r.status, 200, "stale ETag must not give 304");
    assert_eq!(r.body, "bbbb");
}

#[test]
fn if_none_match_uses_weak_comparison_and_lists() {
    // RFC 9110 §13.1.2: If-None-Match compares weakly and takes a list.
    let s = server_with_hello();
    let etag = s.get("/hello.txt").expect_header("etag").to_string();
    let weak = format!("W/{etag}");
    let r = s
        .request("GET", "/hello.txt")
        .header("If-None-Match", &weak)
        .send();
    assert_eq!(r.status, 304, "weak form of the current ETag: {r:?}");
    let list = format!("\"a\", {etag}");
    let r = s
        .request("GET", "/hello.txt")
        .header("If-None-Match", &list)
        .send();
    assert_eq!(r.status, 304, "list containing the ETag: {r:?}");
    let r = s
        .request("PUT", "/hello.txt")
        .header("If-None-Match", &etag)
        .body("x")
        .send();
    assert_eq!(r.status, 412, "PUT with If-None-Match matching: {r:?}");
    assert_eq!(
        std::fs::read_to_string(s.root().join("hello.txt")).unwrap(),
        HELLO
    );
}

#[test]
fn if_match_uses_strong_comparison() {
    // RFC 9110 §13.1.1: If-Match uses the strong comparison; a weak tag never matches.
    let s = server_with_hello();
    let etag = s.get("/hello.txt").expect_header("etag").to_string();
    let r = s
        .request("GET", "/hello.txt")
        .header("If-Match", &format!("W/{etag}"))
        .send();
    assert_eq!(r.status, 412, "{r:?}");
    let r = s
        .request("GET", "/hello.txt")
        .header("If-Match", &format!("\"x\", {etag}"))
        .send();
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn etag_conditions_take_precedence_over_dates() {
    // RFC 9110 §13.2.2: If-Modified-Since is ignored when If-None-Match is present,
    // If-Unmodified-Since when If-Match is present.
    let s = server_with_hello();
    let get = s.get("/hello.txt");
    let lm = get.expect_header("last-modified").to_string();
    let etag = get.expect_header("etag").to_string();
    let r = s
        .request("GET", "/hello.txt")
        .header("If-None-Match", "\"other\"")
        .header("If-Modified-Since", &lm)
        .send();
    assert_eq!(r.status, 200, "If-None-Match decides: {r:?}");
    let r = s
        .request("GET", "/hello.txt")
        .header("If-Match", &etag)
        .header("If-Unmodified-Since", "Mon, 01 Jan 1990 00:00:00 GMT")
        .send();
    assert_eq!(r.status, 200, "If-Match decides: {r:?}");
    let r = s
        .request("GET", "/hello.txt")
        .header("If-Modified-Since", "not a date")
        .send();
    assert_eq!(r.status, 200, "an invalid date is ignored: {r:?}");
}

#[test]
fn range_with_unknown_unit_is_ignored_and_empty_file_range_is_416() {
    // RFC 9110 §14.2: a Range with a unit the server does not understand is ignored.
    let s = server_with_hello();
    let r = s
        .request("GET", "/hello.txt")
        .header("Range", "items=0-1")
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, HELLO);
    assert_eq!(s.put("/empty.txt", "").status, 201);
    let r = s.get("/empty.txt");
    assert_eq!((r.status, r.header("content-length")), (200, Some("0")));
    let r = s
        .request("GET", "/empty.txt")
        .header("Range", "bytes=0-0")
        .send();
    assert_eq!(r.status, 416, "{r:?}");
}

/// Files larger than one read (128 KiB) stream in chunks whose buffers are
/// used again for later responses: every response carries its own file's
/// bytes, whole or in a range across chunk boundaries, however many large
/// downloads run at once.
#[test]
fn large_files_stream_their_own_bytes_whole_and_in_ranges() {
    const LEN: usize = 3 * 128 * 1024 + 12_345;
    let s = TestServer::start();
    let contents: Vec<Vec<u8>> = (0..4u8)
        .map(|seed| {
            (0..LEN)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed * 64))
                .collect()
        })
        .collect();
    for (i, content) in contents.iter().enumerate() {
        std::fs::write(s.root().join(format!("big{i}.bin")), content).unwrap();
    }
    std::thread::scope(|scope| {
        for (i, content) in contents.iter().enumerate() {
            let s = &s;
            scope.spawn(move || {
                for _ in 0..5 {
                    let r = s.get(&format!("/big{i}.bin"));
                    assert_eq!(r.status, 200);
                    assert!(r.bytes == *content, "big{i}.bin came back changed");
                }
                // Across the first chunk's end and into the last, short one.
                let (first, last) = (128 * 1024 - 100, LEN - 10);
                let r = s
                    .request("GET", &format!("/big{i}.bin"))
                    .header("Range", &format!("bytes={first}-{last}"))
                    .send();
                assert_eq!(r.status, 206);
                assert!(r.bytes == content[first..=last], "big{i}.bin's range");
            });
        }
    });
}

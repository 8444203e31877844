//! Paths: no escape from the served root in any encoding, symlinks are not followed,
//! the state dir and PUT temporaries are invisible, UTF-8 names round-trip.
//! Raw requests are used where a client library would normalise the path.
mod support;

use std::path::Path;

use support::{ALLPROP, Launch, Response, TestServer, snapshot};

const SECRET: &str = "TOP-SECRET-SENTINEL-7f3a9c";

/// Puts `tmp/sentinel.txt` and `tmp/outside/secret.txt` next to (outside) the root,
/// and `root/dir/file.txt` inside it.
fn plant(s: &TestServer) {
    std::fs::write(s.tmp().join("sentinel.txt"), SECRET).unwrap();
    std::fs::create_dir_all(s.tmp().join("outside")).unwrap();
    std::fs::write(s.tmp().join("outside/secret.txt"), SECRET).unwrap();
    std::fs::create_dir_all(s.root().join("dir")).unwrap();
    std::fs::write(s.root().join("dir/file.txt"), "inside").unwrap();
}

fn assert_outside_untouched(s: &TestServer) {
    assert_eq!(
        std::fs::read_to_string(s.tmp().join("sentinel.txt")).unwrap(),
        SECRET
    );
    assert_eq!(
        std::fs::read_to_string(s.tmp().join("outside/secret.txt")).unwrap(),
        SECRET
    );
    let mut names: Vec<String> = std::fs::read_dir(s.tmp())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "state")
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["outside", "root", "sentinel.txt"],
        "something was created outside the root"
    );
    let outside: Vec<_> = std::fs::read_dir(s.tmp().join("outside"))
        .unwrap()
        .collect();
    assert_eq!(outside.len(), 1, "something was created in tmp/outside");
}

fn assert_refused(r: &Response, what: &str) {
    assert!(
        matches!(r.status, 400 | 403 | 404),
        "{what}: expected 400/403/404, got {} {:?}",
        r.status,
        r.body
    );
    assert!(
        !r.body.contains(SECRET),
        "{what}: secret leaked: {}",
        r.body
    );
}

/// For writes, 409 (missing parent, RFC 4918 §9.7.1) is also a refusal.
fn assert_write_refused(r: &Response, what: &str) {
    assert!(
        matches!(r.status, 400 | 403 | 404 | 409),
        "{what}: expected 400/403/404/409, got {} {:?}",
        r.status,
        r.body
    );
    assert!(
        !r.body.contains(SECRET),
        "{what}: secret leaked: {}",
        r.body
    );
}

/// Targets that try to leave the root, or that a careful server refuses.
const ESCAPES: &[&str] = &[
    "/../sentinel.txt",
    "/dir/../../sentinel.txt",
    "/%2e%2e/sentinel.txt",
    "/%2E%2E/sentinel.txt",
    "/.%2e/sentinel.txt",
    "/dir/%2e%2e/%2e%2e/sentinel.txt",
    "/dir/..%2f..%2fsentinel.txt",
    "/dir/..%2F..%2Fsentinel.txt",
    "/..%2fsentinel.txt",
    "/dir%2Ffile.txt",
    "/dir%2f..%2f..%2fsentinel.txt",
    "/..\\sentinel.txt",
    "/dir\\..\\..\\sentinel.txt",
    "/%5c..%5csentinel.txt",
    "/dir/..%5c..%5csentinel.txt",
    "/sentinel.txt%00",
    "/dir/file.txt%00.html",
    "/%00",
    "/%252e%252e/sentinel.txt",
    "/%c0%ae%c0%ae/sentinel.txt",
];

#[test]
fn traversal_get_head_propfind_are_refused_and_leak_nothing() {
    let s = TestServer::start();
    plant(&s);
    for target in ESCAPES {
        for method in ["GET", "HEAD"] {
            let r = s.raw_request(method, target, &[], b"");
            assert_refused(&r, &format!("{method} {target}"));
        }
        let r = s.raw_request("PROPFIND", target, &[("Depth", "1")], ALLPROP.as_bytes());
        assert_refused(&r, &format!("PROPFIND {target}"));
    }
    // Absolute-form request target (RFC 9112 §3.2.2).
    let target = format!("http://{}/../sentinel.txt", s.addr);
    assert_refused(
        &s.raw_request("GET", &target, &[], b""),
        "GET absolute-form ..",
    );
    assert_eq!(
        s.request("OPTIONS", "/").send().status,
        200,
        "server still serves"
    );
    assert_outside_untouched(&s);
}

#[test]
fn traversal_writes_are_refused_and_change_nothing() {
    let s = TestServer::start();
    plant(&s);
    let before = snapshot(&s.root());
    for target in ESCAPES {
        let evil = target.replace("sentinel.txt", "evil.txt");
        let r = s.raw_request("PUT", &evil, &[], b"pwned");
        assert_write_refused(&r, &format!("PUT {evil}"));
        let r = s.raw_request("PUT", target, &[], b"pwned");
        assert_write_refused(&r, &format!("PUT {target}"));
        let r = s.raw_request("DELETE", target, &[], b"");
        assert_write_refused(&r, &format!("DELETE {target}"));
        let newdir = target.replace("sentinel.txt", "newdir");
        let r = s.raw_request("MKCOL", &newdir, &[], b"");
        assert_write_refused(&r, &format!("MKCOL {newdir}"));
        let body = r#"<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>"#;
        let r = s.raw_request("PROPPATCH", target, &[], body.as_bytes());
        assert_write_refused(&r, &format!("PROPPATCH {target}"));
        let dest = s.url("/stolen.txt");
        for method in ["COPY", "MOVE"] {
            let r = s.raw_request(method, target, &[("Destination", &dest)], b"");
            assert_write_refused(&r, &format!("{method} {target}"));
        }
    }
    assert_eq!(snapshot(&s.root()), before, "root changed");
    assert_outside_untouched(&s);
}

#[test]
fn destination_headers_that_escape_are_refused() {
    // RFC 4918 §10.3: the Destination is mapped like a Request-URI and must stay inside.
    let s = TestServer::start();
    plant(&s);
    let before = snapshot(&s.root());
    let dests = [
        "/../escaped.txt",
        "/dir/../../escaped.txt",
        "/%2e%2e/escaped.txt",
        "/dir/..%2f..%2fescaped.txt",
        "/dir%2f..%2f..%2fescaped.txt",
        "/..%5cescaped.txt",
        "/escaped.txt%00",
        "/%2e%2e/outside/secret.txt",
    ];
    for d in dests {
        for dest in [format!("http://{}{d}", s.addr), d.to_string()] {
            for method in ["COPY", "MOVE"] {
                let r = s.raw_request(
                    method,
                    "/dir/file.txt",
                    &[("Destination", &dest), ("Overwrite", "T")],
                    b"",
                );
                assert!(
                    r.is_client_error() || r.status == 502,
                    "{method} → {dest}: expected 4xx, got {} {:?}",
                    r.status,
                    r.body
                );
            }
        }
    }
    assert!(!s.tmp().join("escaped.txt").exists());
    assert_eq!(snapshot(&s.root()), before, "root changed");
    assert_outside_untouched(&s);
}

#[cfg(unix)]
fn plant_symlinks(s: &TestServer) {
    use std::os::unix::fs::symlink;
    symlink(s.tmp().join("outside"), s.root().join("link_out")).unwrap();
    symlink(
        s.tmp().join("outside/secret.txt"),
        s.root().join("link_file"),
    )
    .unwrap();
    std::fs::create_dir_all(s.root().join("holder")).unwrap();
    symlink(s.tmp().join("outside"), s.root().join("holder/inner_link")).unwrap();
}

#[cfg(unix)]
#[test]
fn symlink_pointing_outside_is_not_followed_for_get_and_propfind() {
    let s = TestServer::start_with(&["--allow-depth-infinity"]);
    plant(&s);
    plant_symlinks(&s);
    for path in [
        "/link_file",
        "/link_out/secret.txt",
        "/link_out/",
        "/holder/inner_link/secret.txt",
    ] {
        let r = s.get(path);
        assert_refused(&r, &format!("GET {path}"));
        let r = s.propfind(path, "1", None);
        assert_refused(&r, &format!("PROPFIND {path}"));
    }
    let r = s.propfind("/", "infinity", None);
    assert_eq!(r.status, 207, "{r:?}");
    assert!(
        !r.body.contains("secret.txt"),
        "PROPFIND followed a symlink: {}",
        r.body
    );
    let r = s.get("/");
    assert!(!r.body.contains(SECRET));
    assert_outside_untouched(&s);
}

#[cfg(unix)]
#[test]
fn symlink_pointing_outside_is_not_written_through() {
    let s = TestServer::start();
    plant(&s);
    plant_symlinks(&s);
    // Replacing the link itself would be acceptable; writing into its target is not.
    let r = s.put("/link_file", "overwritten");
    assert!(r.status < 500, "PUT /link_file: {r:?}");
    let r = s.put("/link_out/new.txt", "new");
    assert_write_refused(&r, "PUT /link_out/new.txt");
    let r = s.mkcol("/link_out/newdir/");
    assert_write_refused(&r, "MKCOL /link_out/newdir/");
    let r = s.proppatch(
        "/link_out/secret.txt",
        &support::proppatch_set("urn:x", "p", "1"),
    );
    assert_refused(&r, "PROPPATCH through the link");
    let r = s.delete("/link_out/secret.txt");
    assert_refused(&r, "DELETE through the link");
    let _ = s.delete("/link_out/");
    assert_outside_untouched(&s);
}

#[cfg(unix)]
#[test]
fn copy_does_not_follow_symlinks_out_of_the_root() {
    let s = TestServer::start();
    plant(&s);
    plant_symlinks(&s);
    let r = s.copy_move("COPY", "/link_out/", "/copied/", &[]);
    assert!(r.status < 500, "COPY /link_out/: {r:?}");
    assert!(
        !s.root().join("copied/secret.txt").is_file(),
        "COPY followed the link"
    );
    let r = s.copy_move("COPY", "/link_file", "/copied.txt", &[]);
    assert!(r.status < 500, "COPY /link_file: {r:?}");
    assert_no_secret_file(&s.root().join("copied.txt"));
    let r = s.copy_move("COPY", "/holder/", "/holder2/", &[]);
    assert!(r.status < 500, "COPY /holder/: {r:?}");
    assert_no_secret_file(&s.root().join("holder2/inner_link/secret.txt"));
    if let Ok(meta) = std::fs::symlink_metadata(s.root().join("holder2/inner_link")) {
        assert!(
            !meta.is_dir(),
            "COPY made a real directory from a symlink to outside"
        );
    }
    assert_outside_untouched(&s);
}

#[cfg(unix)]
fn assert_no_secret_file(path: &Path) {
    let is_file = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file());
    if is_file {
        let content = std::fs::read_to_string(path).unwrap_or_default();
        assert_ne!(content, SECRET, "{} holds the secret", path.display());
    }
}

#[test]
fn default_state_dir_is_invisible_and_untouchable() {
    let s = Launch::without_state_dir().start();
    assert_eq!(s.put("/a.txt", "a").status, 201);
    assert_eq!(
        s.proppatch("/a.txt", &support::proppatch_set("urn:x", "p", "1"))
            .status,
        207
    );
    let state = s.root().join(".deadbolt");
    assert!(
        state.is_dir(),
        "default state dir {} missing",
        state.display()
    );
    let files: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!files.is_empty(), "state dir is empty");
    let before = snapshot(&state);

    // Dot-segments may be refused outright (400) instead of resolved.
    for p in ["/a/../.deadbolt/", "/%2e%2e/.deadbolt/", "/./.deadbolt/"] {
        let r = s.raw_request("GET", p, &[], b"");
        assert!(matches!(r.status, 400 | 404), "GET {p}: {r:?}");
    }
    let mut paths = vec![
        "/.deadbolt".to_string(),
        "/.deadbolt/".to_string(),
        "/%2edeadbolt/".to_string(),
        "/%2Edeadbolt".to_string(),
    ];
    paths.extend(files.iter().map(|f| format!("/.deadbolt/{f}")));
    for p in &paths {
        for method in ["GET", "HEAD"] {
            let r = s.raw_request(method, p, &[], b"");
            assert_eq!(r.status, 404, "{method} {p}: {r:?}");
        }
        let r = s.raw_request("PROPFIND", p, &[("Depth", "1")], b"");
        assert_eq!(r.status, 404, "PROPFIND {p}: {r:?}");
        for method in ["DELETE", "MKCOL"] {
            let r = s.raw_request(method, p, &[], b"");
            assert!(matches!(r.status, 403 | 404), "{method} {p}: {r:?}");
        }
        let patch = support::proppatch_set("urn:x", "p", "2");
        let r = s.raw_request("PROPPATCH", p, &[], patch.as_bytes());
        assert!(matches!(r.status, 403 | 404), "PROPPATCH {p}: {r:?}");
        let r = s.raw_request("PUT", p, &[], b"overwrite");
        assert!(matches!(r.status, 403 | 404), "PUT {p}: {r:?}");
        let r = s.raw_request("MOVE", p, &[("Destination", &s.url("/stolen/"))], b"");
        assert!(matches!(r.status, 403 | 404), "MOVE {p}: {r:?}");
    }
    for dest in ["/.deadbolt/x.txt", "/.deadbolt", "/.deadbolt/"] {
        let r = s.copy_move("COPY", "/a.txt", dest, &[("Overwrite", "T")]);
        assert!(matches!(r.status, 403 | 404 | 409), "COPY → {dest}: {r:?}");
    }
    assert_eq!(s.mkcol("/.deadbolt/sub/").status / 100, 4);
    assert!(!s.root().join("stolen").exists());
    assert!(!s.root().join(".deadbolt/x.txt").exists());

    let r = s.propfind("/", "1", None);
    assert_eq!(r.status, 207);
    assert!(
        !r.body.contains(".deadbolt"),
        "state dir listed: {}",
        r.body
    );
    let r = s.get("/");
    assert_eq!(r.status, 200);
    assert!(
        !r.body.contains(".deadbolt"),
        "state dir in HTML listing: {}",
        r.body
    );
    assert!(state.is_dir(), "state dir was removed");
    // Dead properties still readable: the state is intact.
    assert_eq!(support::read_prop(&s, "/a.txt", "urn:x", "p").1.text(), "1");
    let after = snapshot(&state);
    assert_eq!(
        after
            .iter()
            .map(|(n, _)| n)
            .filter(|n| n.ends_with(".txt"))
            .count(),
        before
            .iter()
            .map(|(n, _)| n)
            .filter(|n| n.ends_with(".txt"))
            .count(),
        "a file was written into the state dir"
    );
}

#[test]
fn put_temporaries_are_never_listed_nor_served() {
    let s = TestServer::start();
    std::fs::create_dir_all(s.root().join("d")).unwrap();
    std::fs::write(s.root().join(".deadbolt-tmp-leftover"), "TEMPDATA").unwrap();
    std::fs::write(s.root().join("d/.deadbolt-tmp-abc123"), "TEMPDATA").unwrap();
    std::fs::write(s.root().join("d/real.txt"), "real").unwrap();
    for p in ["/.deadbolt-tmp-leftover", "/d/.deadbolt-tmp-abc123"] {
        let r = s.get(p);
        assert_eq!(r.status, 404, "GET {p}: {r:?}");
        assert_eq!(s.propfind(p, "0", None).status, 404, "PROPFIND {p}");
    }
    for p in ["/", "/d/"] {
        let r = s.propfind(p, "1", Some(ALLPROP));
        assert_eq!(r.status, 207);
        assert!(!r.body.contains(".deadbolt-tmp"), "listed: {}", r.body);
        let r = s.get(p);
        assert_eq!(r.status, 200);
        assert!(
            !r.body.contains(".deadbolt-tmp"),
            "HTML listing: {}",
            r.body
        );
    }
    assert!(s.get("/d/").body.contains("real.txt"));
}

#[test]
fn utf8_names_round_trip_and_hrefs_are_percent_encoded() {
    // RFC 4918 §8.3.1: hrefs are URIs, so non-ASCII and spaces are percent-encoded.
    let s = TestServer::start();
    let r = s.put("/caf%C3%A9.txt", "coffee");
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(
        std::fs::read_to_string(s.root().join("café.txt")).unwrap(),
        "coffee"
    );
    assert_eq!(s.get("/caf%C3%A9.txt").body, "coffee");
    assert_eq!(
        s.get("/caf%c3%a9.txt").body,
        "coffee",
        "lower-case hex escapes"
    );

    std::fs::write(s.root().join("naïve file #1.txt"), "n").unwrap();
    assert_eq!(s.get("/na%C3%AFve%20file%20%231.txt").body, "n");
    assert_eq!(s.mkcol("/%E6%97%A5%E6%9C%AC/").status, 201);
    assert!(s.root().join("日本").is_dir());

    let r = s.propfind("/", "1", None);
    assert_eq!(r.status, 207);
    let ms = r.multistatus();
    let hrefs: Vec<String> = ms.hrefs().iter().map(|h| h.to_ascii_lowercase()).collect();
    assert!(
        hrefs.contains(&"/caf%c3%a9.txt".to_string()),
        "hrefs: {hrefs:?}"
    );
    assert!(
        hrefs.contains(&"/na%c3%afve%20file%20%231.txt".to_string()),
        "hrefs: {hrefs:?}"
    );
    assert!(
        hrefs.contains(&"/%e6%97%a5%e6%9c%ac/".to_string()),
        "hrefs: {hrefs:?}"
    );
    for h in ms.hrefs() {
        assert!(h.is_ascii() && !h.contains(' '), "href not encoded: {h:?}");
    }
    let r = s.copy_move("MOVE", "/caf%C3%A9.txt", "/th%C3%A9.txt", &[]);
    assert_eq!(r.status, 201, "{r:?}");
    assert!(s.root().join("thé.txt").is_file());
}

#[test]
fn names_needing_escaping_are_escaped_in_propfind_and_html_listing() {
    let s = TestServer::start();
    let name = "a&b <script>\"q\" it's.txt";
    std::fs::write(s.root().join(name), "x").unwrap();
    let r = s.propfind("/", "1", None);
    assert_eq!(r.status, 207, "{r:?}");
    let ms = r.multistatus(); // panics if the XML is not well-formed
    let found = ms
        .hrefs()
        .iter()
        .any(|h| support::xml::decode(h) == format!("/{name}"));
    assert!(found, "hrefs: {:?}", ms.hrefs());
    let r = s.get("/");
    assert_eq!(r.status, 200);
    assert!(
        !r.body.contains("<script>"),
        "HTML listing not escaped: {}",
        r.body
    );
}

#[test]
fn overlong_names_are_client_errors_not_500() {
    // A segment longer than the file system allows (255 bytes on Linux) is bad input.
    let s = TestServer::start();
    assert_eq!(s.put("/ok.txt", "ok").status, 201);
    let long = "a".repeat(300);
    let deep = "/d".repeat(3000);
    let checks = [
        ("PUT", format!("/{long}")),
        ("MKCOL", format!("/{long}/")),
        ("GET", format!("/{long}")),
        ("PROPFIND", format!("/{long}")),
        ("DELETE", format!("/{long}")),
        ("GET", deep.clone()),
        ("PUT", format!("{deep}/f.txt")),
    ];
    let mut failures = Vec::new();
    for (method, path) in &checks {
        let mut req = s.request(method, path);
        if *method == "PUT" {
            req = req.body("x");
        }
        if *method == "PROPFIND" {
            req = req.header("Depth", "0");
        }
        let r = req.send();
        if !r.is_client_error() {
            failures.push(format!("{method} /<{} bytes> → {}", path.len(), r.status));
        }
    }
    let r = s.copy_move("COPY", "/ok.txt", &format!("/{long}"), &[]);
    if !r.is_client_error() {
        failures.push(format!("COPY to /<301 bytes> → {}", r.status));
    }
    assert!(failures.is_empty(), "not 4xx:\n{}", failures.join("\n"));
    assert_eq!(s.request("OPTIONS", "/").send().status, 200);
}

#[test]
fn explicit_state_dir_inside_the_root_is_hidden_too() {
    let launch = Launch::without_state_dir();
    let state = launch.tmp().join("root/mystate");
    let s = launch.arg("--state-dir").arg(&state).start();
    assert_eq!(s.put("/a.txt", "a").status, 201);
    assert_eq!(
        s.proppatch("/a.txt", &support::proppatch_set("urn:x", "p", "1"))
            .status,
        207
    );
    assert!(state.is_dir());
    assert_eq!(s.get("/mystate/").status, 404);
    assert_eq!(s.propfind("/mystate", "0", None).status, 404);
    assert!(matches!(s.delete("/mystate/").status, 403 | 404));
    let r = s.propfind("/", "1", None);
    assert!(!r.body.contains("mystate"), "state dir listed: {}", r.body);
    assert!(state.is_dir());
}

#[test]
fn delete_or_move_of_the_root_is_refused_and_state_survives() {
    let s = Launch::without_state_dir().start();
    assert_eq!(s.put("/a.txt", "a").status, 201);
    assert_eq!(
        s.proppatch("/a.txt", &support::proppatch_set("urn:x", "p", "1"))
            .status,
        207
    );
    let r = s.delete("/");
    assert!(r.is_client_error(), "DELETE /: {r:?}");
    let r = s.copy_move("MOVE", "/", "/moved/", &[]);
    assert!(r.is_client_error(), "MOVE /: {r:?}");
    assert!(s.root().join("a.txt").is_file());
    assert!(s.root().join(".deadbolt").is_dir());
    assert_eq!(support::read_prop(&s, "/a.txt", "urn:x", "p").1.text(), "1");
}

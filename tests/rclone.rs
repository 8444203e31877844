//! Issue 12, item 3: `rclone sync` with the ownCloud vendor setting keeps
//! modification times (X-OC-Mtime) and checksums (oc:checksums), so a
//! second sync of an unchanged tree transfers nothing and `rclone check`
//! compares content by hash. The real rclone (Debian package `rclone`).
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use support::TestServer;

fn rclone_found() -> bool {
    let found = Command::new("rclone")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("DEADBOLT_REQUIRE_RCLONE").is_none(),
            "DEADBOLT_REQUIRE_RCLONE is set but rclone is not installed (apt-get install rclone)"
        );
        eprintln!("SKIPPED: rclone is not installed (apt-get install rclone)");
    }
    found
}

/// Runs `rclone ARGS` against the server as the remote `dav:`; returns
/// stdout and stderr together, failing on a non-zero exit.
fn rclone(s: &TestServer, config: &Path, args: &[&str]) -> String {
    let out = Command::new("rclone")
        .args(args)
        .arg("--config")
        .arg(config)
        .args([
            "--log-level",
            "INFO",
            "--retries",
            "1",
            "--low-level-retries",
            "1",
        ])
        .env("RCLONE_CONFIG_DAV_TYPE", "webdav")
        .env("RCLONE_CONFIG_DAV_URL", s.url("/"))
        .env("RCLONE_CONFIG_DAV_VENDOR", "owncloud")
        .output()
        .expect("run rclone");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "rclone {args:?} failed:\n{text}");
    text
}

fn copied(log: &str) -> usize {
    log.lines().filter(|l| l.contains(": Copied (")).count()
}

#[test]
fn a_second_rclone_sync_transfers_nothing_and_check_compares_hashes() {
    if !rclone_found() {
        return;
    }
    let s = TestServer::start();
    let local = tempfile::tempdir().expect("temp dir");
    let config = local.path().join("rclone.conf");
    std::fs::write(&config, "").expect("config");
    let tree = local.path().join("tree");
    std::fs::create_dir_all(tree.join("docs/deep")).expect("mkdir");
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for (name, len) in [
        ("a.txt", 10),
        ("docs/b.bin", 300_000),
        ("docs/deep/c.md", 0),
    ] {
        let path = tree.join(name);
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, bytes).expect("write");
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(an_hour_ago))
            .expect("mtime");
    }
    let tree_arg = tree.to_str().expect("UTF-8 path");

    let first = rclone(&s, &config, &["sync", tree_arg, "dav:backup"]);
    assert_eq!(copied(&first), 3, "{first}");
    // The server kept the client's modification times...
    let served = std::fs::metadata(s.root().join("backup/docs/b.bin"))
        .and_then(|m| m.modified())
        .expect("served file");
    let drift = served
        .duration_since(an_hour_ago)
        .unwrap_or_else(|e| e.duration());
    assert!(
        drift < Duration::from_secs(1),
        "mtime kept: off by {drift:?}"
    );

    // ... so a second sync finds nothing to do, by size and time and by hash.
    let second = rclone(&s, &config, &["sync", tree_arg, "dav:backup"]);
    assert_eq!(copied(&second), 0, "{second}");
    let by_hash = rclone(&s, &config, &["sync", "--checksum", tree_arg, "dav:backup"]);
    assert_eq!(copied(&by_hash), 0, "{by_hash}");
    let check = rclone(&s, &config, &["check", tree_arg, "dav:backup"]);
    assert!(check.contains("0 differences found"), "{check}");
    assert!(check.contains("3 matching files"), "{check}");
    assert!(
        check.contains("for hash comparisons"),
        "compared by hash:\n{check}"
    );
    assert!(!check.contains("could not be checked"), "{check}");

    // A changed file is sent again, and only it.
    std::fs::write(tree.join("a.txt"), "changed!!!").expect("write");
    let third = rclone(&s, &config, &["sync", tree_arg, "dav:backup"]);
    assert_eq!(copied(&third), 1, "{third}");
    let check = rclone(&s, &config, &["check", tree_arg, "dav:backup"]);
    assert!(check.contains("0 differences found"), "{check}");
}

#[test]
fn checksums_are_checked_kept_with_their_etag_and_not_settable() {
    let s = TestServer::start();
    let checksums_of = |path: &str| {
        let body = r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:oc="http://owncloud.org/ns"><D:prop><oc:checksums/></D:prop></D:propfind>"#;
        s.propfind(path, "0", Some(body))
    };
    // "hello world": SHA-1 2aae6c35..., MD5 5eb63bbb...
    let wrong = s
        .request("PUT", "/f.txt")
        .header(
            "OC-Checksum",
            "SHA1:0000000000000000000000000000000000000000",
        )
        .body("hello world")
        .send();
    assert_eq!(wrong.status, 400, "{wrong:?}");
    assert!(wrong.body.contains("does not match"), "{wrong:?}");
    assert_eq!(s.get("/f.txt").status, 404, "nothing written");
    let right = s
        .request("PUT", "/f.txt")
        .header(
            "OC-Checksum",
            "SHA1:2aae6c35c94fcfb415dbe95f408b9ce91ee846ed",
        )
        .header("X-OC-Mtime", "1700000000")
        .body("hello world")
        .send();
    assert_eq!(right.status, 201, "{right:?}");
    assert_eq!(right.header("x-oc-mtime"), Some("accepted"));
    let r = checksums_of("/f.txt");
    assert!(
        r.body.contains(
            "SHA1:2aae6c35c94fcfb415dbe95f408b9ce91ee846ed MD5:5eb63bbbe01eeed093cb22bb8f5acdc3"
        ),
        "{r:?}"
    );
    assert!(
        s.get("/f.txt")
            .expect_header("last-modified")
            .contains("14 Nov 2023")
    );
    // Content-MD5 (RFC 1864, base64), as Terraform sends it: checked too.
    let md5 = |value: &str, body: &str| {
        let put = s.request("PUT", "/f.txt").header("Content-MD5", value);
        put.body(body).send()
    };
    let wrong = md5("XrY7u+Ae7tCTyyK7j1rNww==", "hello there");
    assert_eq!(wrong.status, 400, "{wrong:?}");
    assert!(wrong.body.contains("Content-MD5"), "{wrong:?}");
    assert_eq!(s.get("/f.txt").body, "hello world", "nothing replaced");
    let malformed = md5("5eb63bbbe01eeed093cb22bb8f5acdc3", "hello world");
    assert_eq!(malformed.status, 400, "hex is not base64: {malformed:?}");
    assert_eq!(md5("XrY7u+Ae7tCTyyK7j1rNww==", "hello world").status, 204);
    // Not a client's property: not settable, not listed.
    let patch = s.proppatch(
        "/f.txt",
        r#"<D:propertyupdate xmlns:D="DAV:" xmlns:oc="http://owncloud.org/ns"><D:set><D:prop><oc:checksums>forged</oc:checksums></D:prop></D:set></D:propertyupdate>"#,
    );
    assert_eq!(
        patch
            .multistatus()
            .response("/f.txt")
            .prop_status("http://owncloud.org/ns", "checksums"),
        Some(403)
    );
    let names = s.propfind(
        "/f.txt",
        "0",
        Some(r#"<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>"#),
    );
    assert!(!names.body.contains("x-deadbolt:internal"), "{names:?}");
    // Changed behind the server's back, or by a client that sends no sync
    // headers: no checksum rather than a wrong one.
    std::fs::write(s.root().join("f.txt"), "changed on disk").expect("write");
    let r = checksums_of("/f.txt");
    assert_eq!(
        r.multistatus()
            .response("/f.txt")
            .prop_status("http://owncloud.org/ns", "checksums"),
        Some(404)
    );
    assert_eq!(s.put("/f.txt", "plain").status, 204);
    let r = checksums_of("/f.txt");
    assert_eq!(
        r.multistatus()
            .response("/f.txt")
            .prop_status("http://owncloud.org/ns", "checksums"),
        Some(404)
    );
}

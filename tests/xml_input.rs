//! Hostile and malformed XML request bodies (RFC 4918 §8.2, §20.6 on entity
//! expansion): DOCTYPE/entities refused, size capped, malformed refused, namespaces
//! resolved. After every bad request the server still serves and the disk is unchanged.
mod support;

use support::{DAV, TestServer, read_prop, snapshot};

const NS: &str = "urn:deadbolt:test";
const SECRET: &str = "XML-SENTINEL-0b5e11";

fn server(args: &[&str]) -> TestServer {
    let s = TestServer::start_with(args);
    assert_eq!(s.put("/f.txt", "content").status, 201);
    assert_eq!(s.mkcol("/d/").status, 201);
    std::fs::write(s.tmp().join("outside-secret.txt"), SECRET).unwrap();
    s
}

/// The server is alive, the disk is as before and no dead property appeared.
fn assert_unharmed(s: &TestServer, before: &[(String, Option<Vec<u8>>)]) {
    let r = s.request("OPTIONS", "/").send();
    assert_eq!(
        r.status,
        200,
        "server stopped serving; stderr:\n{}",
        s.stderr()
    );
    assert_eq!(snapshot(&s.root()), before, "disk changed");
    assert_eq!(read_prop(s, "/f.txt", NS, "p").0, 404, "a property was set");
    assert_eq!(
        std::fs::read_to_string(s.tmp().join("outside-secret.txt")).unwrap(),
        SECRET
    );
}

fn patch(value: &str) -> String {
    format!(
        r#"<D:propertyupdate xmlns:D="DAV:" xmlns:Z="{NS}"><D:set><D:prop><Z:p>{value}</Z:p></D:prop></D:set></D:propertyupdate>"#
    )
}

#[test]
fn doctype_and_entity_declarations_are_400() {
    let s = server(&[]);
    let before = snapshot(&s.root());
    let secret_path = s.tmp().join("outside-secret.txt");
    let bodies = [
        // Internal entity.
        format!(
            r#"<?xml version="1.0"?><!DOCTYPE D:propertyupdate [<!ENTITY x "expanded">]>{}"#,
            patch("&x;")
        ),
        // External entity (XXE) reading a file outside the root.
        format!(
            r#"<?xml version="1.0"?><!DOCTYPE D:propertyupdate [<!ENTITY x SYSTEM "file://{}">]>{}"#,
            secret_path.display(),
            patch("&x;")
        ),
        // Billion laughs.
        format!(
            r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY a "lollollollollollollollollollol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>{}"#,
            patch("&d;")
        ),
        // A DOCTYPE alone, no entities.
        format!(
            r#"<?xml version="1.0"?><!DOCTYPE D:propertyupdate>{}"#,
            patch("v")
        ),
        // External DTD.
        format!(
            r#"<?xml version="1.0"?><!DOCTYPE D:propertyupdate SYSTEM "http://127.0.0.1:1/evil.dtd">{}"#,
            patch("v")
        ),
    ];
    for body in &bodies {
        let r = s.proppatch("/f.txt", body);
        assert_eq!(r.status, 400, "PROPPATCH {body}: {r:?}");
        assert!(!r.body.contains(SECRET), "secret leaked: {}", r.body);
        assert!(!r.body.contains("lollollol"), "entity expanded: {}", r.body);
    }
    let propfinds = [
        r#"<?xml version="1.0"?><!DOCTYPE D:propfind [<!ENTITY x "y">]><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#.to_string(),
        format!(
            r#"<?xml version="1.0"?><!DOCTYPE D:propfind [<!ENTITY x SYSTEM "file://{}">]><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"#,
            secret_path.display()
        ),
    ];
    for body in &propfinds {
        let r = s.propfind("/f.txt", "0", Some(body));
        assert_eq!(r.status, 400, "PROPFIND {body}: {r:?}");
        assert!(!r.body.contains(SECRET));
    }
    assert_unharmed(&s, &before);
}

#[test]
fn body_above_max_xml_body_is_413() {
    let s = server(&["--max-xml-body", "1024"]);
    let before = snapshot(&s.root());
    let padding: String = (0..100)
        .map(|i| format!("<Z:pad{i} xmlns:Z=\"{NS}\"/>"))
        .collect();
    let big_propfind = format!(
        r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>{padding}</D:prop></D:propfind>"#
    );
    assert!(big_propfind.len() > 2048);
    let r = s.propfind("/f.txt", "0", Some(&big_propfind));
    assert_eq!(
        r.status,
        413,
        "PROPFIND {} bytes: {r:?}",
        big_propfind.len()
    );

    let big_patch = patch(&"x".repeat(2000));
    let r = s.proppatch("/f.txt", &big_patch);
    assert_eq!(r.status, 413, "PROPPATCH {} bytes: {r:?}", big_patch.len());

    // Chunked, so the size is only known while reading (raw client, no Content-Length).
    let mut req = format!(
        "PROPPATCH /f.txt HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n",
        s.addr
    )
    .into_bytes();
    for chunk in big_patch.as_bytes().chunks(300) {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let r = s.raw(&req);
    assert_eq!(r.status, 413, "chunked PROPPATCH: {r:?}");

    // A small body is still fine on the same server.
    let r = s.propfind("/f.txt", "0", Some(support::ALLPROP));
    assert_eq!(r.status, 207, "{r:?}");
    assert_unharmed(&s, &before);
}

#[test]
fn malformed_xml_is_400_with_a_body() {
    let s = server(&[]);
    let before = snapshot(&s.root());
    let bad = [
        r#"<D:propfind xmlns:D="DAV:"><D:allprop></D:propfind>"#,
        r#"<D:propfind xmlns:D="DAV:"><D:allprop/>"#,
        "this is not xml",
        r#"<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind><extra/>"#,
        r#"<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind"#,
        r#"<D:propfind><D:allprop/></D:propfind>"#,
        "<?xml version=\"1.0\"?>\u{1}<D:propfind xmlns:D=\"DAV:\"/>",
        r#"<D:propfind xmlns:D="DAV:"><D:allprop/><D:propname/></D:propfind>"#,
        r#"<D:propfind xmlns:D="DAV:"></D:propfind>"#,
    ];
    for body in bad {
        let r = s.propfind("/f.txt", "0", Some(body));
        assert_eq!(r.status, 400, "PROPFIND {body:?}: {r:?}");
        assert!(!r.body.trim().is_empty(), "400 without a body for {body:?}");
    }
    let bad_patches = [
        patch("<unclosed>"),
        r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><Z:p>1</Z:p></D:prop></D:set></D:propertyupdate>"#.to_string(),
        r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><p xmlns="urn:x">1</p></D:prop></D:set>"#.to_string(),
        "not xml at all".to_string(),
        String::new(),
        "\u{FEFF}\u{FEFF}<".to_string(),
    ];
    for body in &bad_patches {
        let r = s.proppatch("/f.txt", body);
        assert_eq!(r.status, 400, "PROPPATCH {body:?}: {r:?}");
        assert!(!r.body.trim().is_empty(), "400 without a body for {body:?}");
    }
    // Invalid UTF-8 in the body.
    let r = s
        .request("PROPPATCH", "/f.txt")
        .header("Content-Type", "application/xml")
        .body(b"<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop><Z:p xmlns:Z=\"urn:deadbolt:test\">\xff\xfe</Z:p></D:prop></D:set></D:propertyupdate>")
        .send();
    assert_eq!(r.status, 400, "invalid UTF-8: {r:?}");
    assert_unharmed(&s, &before);
}

#[test]
fn right_local_names_in_the_wrong_namespace_are_not_dav() {
    // RFC 4918 §8.2 / XML Namespaces: an element is its namespace AND its local name.
    let s = server(&[]);
    let before = snapshot(&s.root());
    for body in [
        r#"<propfind xmlns="urn:not-dav"><allprop/></propfind>"#,
        r#"<propfind><allprop/></propfind>"#,
        r#"<D:propfind xmlns:D="dav:"><D:allprop/></D:propfind>"#,
        r#"<D:propfind xmlns:D="DAV"><D:allprop/></D:propfind>"#,
    ] {
        let r = s.propfind("/f.txt", "0", Some(body));
        assert_eq!(r.status, 400, "PROPFIND {body}: {r:?}");
    }
    for body in [
        format!(
            r#"<propertyupdate xmlns="urn:not-dav"><set><prop><p xmlns="{NS}">1</p></prop></set></propertyupdate>"#
        ),
        format!(
            r#"<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:not-dav"><X:set><D:prop><Z:p xmlns:Z="{NS}">1</Z:p></D:prop></X:set></D:propertyupdate>"#
        ),
    ] {
        let r = s.proppatch("/f.txt", &body);
        // An unknown element in the right place may be ignored (RFC 4918 §17) but must
        // never be acted upon as DAV:set; a wrong-namespace root is a 400.
        assert!(matches!(r.status, 400 | 207), "PROPPATCH {body}: {r:?}");
    }
    assert_unharmed(&s, &before);
}

#[test]
fn namespaces_are_resolved_whatever_the_prefix() {
    let s = server(&[]);
    for body in [
        r#"<X:propfind xmlns:X="DAV:"><X:prop><X:getcontentlength/></X:prop></X:propfind>"#,
        r#"<propfind xmlns="DAV:"><prop><getcontentlength/></prop></propfind>"#,
        r#"<?xml version="1.0" encoding="UTF-8"?>
            <a:propfind xmlns:a="urn:decoy" xmlns:b="DAV:"><b:prop xmlns:a="DAV:"><a:getcontentlength/></b:prop></a:propfind>"#,
    ] {
        let r = s.propfind("/f.txt", "0", Some(body));
        if body.contains("urn:decoy") {
            assert_eq!(
                r.status, 400,
                "root in urn:decoy is not DAV:propfind: {r:?}"
            );
            continue;
        }
        assert_eq!(r.status, 207, "PROPFIND {body}: {r:?}");
        let ms = r.multistatus();
        assert_eq!(
            ms.response("/f.txt")
                .ok_prop(DAV, "getcontentlength")
                .text(),
            "7"
        );
    }
    // A dead property under a default namespace declared on itself.
    let body = r#"<propertyupdate xmlns="DAV:"><set><prop><p xmlns="urn:deadbolt:test">v</p></prop></set></propertyupdate>"#;
    let r = s.proppatch("/d/", body);
    assert_eq!(r.status, 207, "{r:?}");
    assert_eq!(read_prop(&s, "/d/", NS, "p").1.text(), "v");
    // Unknown elements outside DAV: are ignored in PROPFIND (RFC 4918 §17).
    let body = r#"<D:propfind xmlns:D="DAV:" xmlns:E="urn:ext"><E:hint/><D:prop><D:getcontentlength/></D:prop></D:propfind>"#;
    let r = s.propfind("/f.txt", "0", Some(body));
    assert_eq!(r.status, 207, "{r:?}");
}

#[test]
fn many_bad_requests_in_a_row_leave_the_server_serving() {
    let s = server(&[]);
    let before = snapshot(&s.root());
    for i in 0..50 {
        let body = format!("<D:propfind xmlns:D=\"DAV:\"><D:prop><oops{i}></D:propfind>");
        assert_eq!(s.propfind("/f.txt", "0", Some(&body)).status, 400);
    }
    assert_eq!(s.get("/f.txt").body, "content");
    assert_unharmed(&s, &before);
}

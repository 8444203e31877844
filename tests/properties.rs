//! PROPFIND and PROPPATCH (RFC 4918 §9.1, §9.2, §15): allprop/propname/prop, Depth,
//! live properties, dead properties with namespaces, xml:lang and mixed content,
//! atomic PROPPATCH, durability across a restart.
mod support;

use support::xml::Node;
use support::{ALLPROP, DAV, PROPNAME, TestServer, propfind_dav_props, proppatch_set, read_prop};

const NS: &str = "urn:deadbolt:test";

/// /hello.txt ("hello world") and /dir/ with /dir/inner.txt and /dir/sub/deep.txt.
fn server_with_content(args: &[&str]) -> TestServer {
    let s = TestServer::start_with(args);
    assert_eq!(s.put("/hello.txt", "hello world").status, 201);
    assert_eq!(s.mkcol("/dir/").status, 201);
    assert_eq!(s.put("/dir/inner.txt", "in").status, 201);
    assert_eq!(s.mkcol("/dir/sub/").status, 201);
    assert_eq!(s.put("/dir/sub/deep.txt", "deep").status, 201);
    s
}

// ---------------------------------------------------------------- PROPFIND

#[test]
fn propfind_allprop_depth_0_on_file_returns_live_properties() {
    // RFC 4918 §15 (live properties), §9.1 (allprop)
    let s = server_with_content(&[]);
    let get = s.get("/hello.txt");
    let r = s.propfind("/hello.txt", "0", Some(ALLPROP));
    assert_eq!(r.status, 207, "{r:?}");
    let ct = r.expect_header("content-type");
    assert!(ct.contains("xml"), "multistatus Content-Type: {ct}");
    let ms = r.multistatus();
    assert_eq!(ms.responses.len(), 1, "hrefs: {:?}", ms.hrefs());
    let me = ms.response("/hello.txt");
    assert_eq!(me.href, "/hello.txt");
    assert_eq!(me.ok_prop(DAV, "getcontentlength").text(), "11");
    assert!(
        me.ok_prop(DAV, "getcontenttype")
            .text()
            .starts_with("text/plain")
    );
    assert_eq!(
        me.ok_prop(DAV, "getetag").text(),
        get.expect_header("etag"),
        "getetag equals the GET ETag"
    );
    let lm = me.ok_prop(DAV, "getlastmodified").text();
    assert_eq!(
        httpdate::parse_http_date(&lm).ok(),
        httpdate::parse_http_date(get.expect_header("last-modified")).ok(),
        "getlastmodified ({lm}) equals Last-Modified"
    );
    let cd = me.ok_prop(DAV, "creationdate").text();
    // RFC 4918 §15.1: RFC 3339 date-time, e.g. 2024-01-02T03:04:05Z
    assert!(
        cd.len() >= 20 && cd.as_bytes()[4] == b'-' && cd.as_bytes()[10] == b'T',
        "creationdate not RFC 3339: {cd}"
    );
    assert_eq!(me.ok_prop(DAV, "displayname").text(), "hello.txt");
    let rt = me.ok_prop(DAV, "resourcetype");
    assert!(
        rt.child(DAV, "collection").is_none(),
        "a file is not a collection"
    );
}

#[test]
fn propfind_depth_1_on_collection_lists_members_with_slash_hrefs() {
    // RFC 4918 §8.3 / §5.2: collection hrefs end with a slash.
    let s = server_with_content(&[]);
    for path in ["/dir/", "/dir"] {
        let r = s.propfind(path, "1", Some(ALLPROP));
        assert_eq!(r.status, 207, "PROPFIND {path}: {r:?}");
        let ms = r.multistatus();
        let mut hrefs = ms.hrefs();
        hrefs.sort();
        assert_eq!(
            hrefs,
            vec!["/dir/", "/dir/inner.txt", "/dir/sub/"],
            "PROPFIND {path} Depth 1"
        );
        let me = ms.response("/dir/");
        assert!(
            me.ok_prop(DAV, "resourcetype")
                .child(DAV, "collection")
                .is_some()
        );
        let sub = ms.response("/dir/sub/");
        assert!(
            sub.ok_prop(DAV, "resourcetype")
                .child(DAV, "collection")
                .is_some()
        );
        let inner = ms.response("/dir/inner.txt");
        assert_eq!(inner.ok_prop(DAV, "getcontentlength").text(), "2");
    }
}

#[test]
fn propfind_root_href_is_slash() {
    let s = server_with_content(&[]);
    let r = s.propfind("/", "1", None);
    assert_eq!(r.status, 207, "{r:?}");
    let ms = r.multistatus();
    assert!(ms.find("/").is_some(), "hrefs: {:?}", ms.hrefs());
    assert!(ms.find("/dir/").is_some(), "hrefs: {:?}", ms.hrefs());
    assert!(ms.find("/dir/inner.txt").is_none(), "Depth 1 went deeper");
}

#[test]
fn propfind_empty_body_is_allprop() {
    // RFC 4918 §9.1: no body means allprop.
    let s = server_with_content(&[]);
    let r = s.propfind("/hello.txt", "0", None);
    assert_eq!(r.status, 207, "{r:?}");
    let ms = r.multistatus();
    assert_eq!(
        ms.response("/hello.txt")
            .ok_prop(DAV, "getcontentlength")
            .text(),
        "11"
    );
}

#[test]
fn propfind_propname_lists_names_without_values() {
    let s = server_with_content(&[]);
    assert_eq!(
        s.proppatch("/hello.txt", &proppatch_set(NS, "colour", "red"))
            .status,
        207
    );
    let r = s.propfind("/hello.txt", "0", Some(PROPNAME));
    assert_eq!(r.status, 207, "{r:?}");
    let ms = r.multistatus();
    let me = ms.response("/hello.txt");
    for name in [
        "getcontentlength",
        "getetag",
        "getlastmodified",
        "resourcetype",
    ] {
        let el = me.ok_prop(DAV, name);
        assert!(
            el.children.is_empty(),
            "propname must not carry a value: {el:?}"
        );
    }
    let dead = me.ok_prop(NS, "colour");
    assert!(dead.children.is_empty(), "dead prop value leaked: {dead:?}");
}

#[test]
fn propfind_prop_returns_requested_and_404_for_unknown() {
    // RFC 4918 §9.1.2: a missing property is reported in a 404 propstat.
    let s = server_with_content(&[]);
    let body = r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:X="urn:nowhere"><D:prop><D:getcontentlength/><X:missing/></D:prop></D:propfind>"#;
    let r = s.propfind("/hello.txt", "0", Some(body));
    assert_eq!(r.status, 207, "{r:?}");
    let ms = r.multistatus();
    let me = ms.response("/hello.txt");
    assert_eq!(me.prop_status(DAV, "getcontentlength"), Some(200));
    assert_eq!(me.prop_status("urn:nowhere", "missing"), Some(404));
    assert!(
        me.prop(DAV, "getetag").is_none(),
        "unrequested property returned"
    );
}

#[test]
fn propfind_collection_has_no_content_length_but_has_resourcetype() {
    let s = server_with_content(&[]);
    let r = s.propfind(
        "/dir/",
        "0",
        Some(&propfind_dav_props(&["resourcetype", "displayname"])),
    );
    assert_eq!(r.status, 207, "{r:?}");
    let ms = r.multistatus();
    let me = ms.response("/dir/");
    assert!(
        me.ok_prop(DAV, "resourcetype")
            .child(DAV, "collection")
            .is_some()
    );
    assert_eq!(me.ok_prop(DAV, "displayname").text(), "dir");
}

#[test]
fn propfind_depth_infinity_is_403_propfind_finite_depth() {
    // RFC 4918 §9.1, §16: precondition DAV:propfind-finite-depth.
    let s = server_with_content(&[]);
    let r = s.propfind("/", "infinity", Some(ALLPROP));
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.contains("propfind-finite-depth"), "body: {}", r.body);
    let err = support::xml::parse(&r.body);
    assert!(err.is(DAV, "error"), "body is not DAV:error: {}", r.body);
    assert!(
        err.child(DAV, "propfind-finite-depth").is_some(),
        "{}",
        r.body
    );
}

#[test]
fn propfind_without_depth_header_means_infinity_and_is_refused() {
    // RFC 4918 §9.1: a missing Depth header is treated as infinity.
    let s = server_with_content(&[]);
    let r = s.request("PROPFIND", "/").xml(ALLPROP).send();
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.contains("propfind-finite-depth"), "body: {}", r.body);
}

#[test]
fn propfind_without_depth_on_a_file_is_depth_0() {
    // Issue 12: a file has no members, so infinity there walks no tree;
    // webdav4 sends exactly this before every download.
    let s = server_with_content(&[]);
    for depth in [None, Some("infinity")] {
        let mut req = s.request("PROPFIND", "/dir/sub/deep.txt").xml(ALLPROP);
        if let Some(depth) = depth {
            req = req.header("Depth", depth);
        }
        let r = req.send();
        assert_eq!(r.status, 207, "Depth {depth:?}: {r:?}");
        let ms = r.multistatus();
        assert_eq!(ms.hrefs(), ["/dir/sub/deep.txt"], "the file alone");
    }
}

#[test]
fn propfind_depth_infinity_allowed_with_flag_is_207() {
    let s = server_with_content(&["--allow-depth-infinity"]);
    let r = s.propfind("/", "infinity", Some(ALLPROP));
    assert_eq!(r.status, 207, "{r:?}");
    let ms = r.multistatus();
    assert!(
        ms.find("/dir/sub/deep.txt").is_some(),
        "hrefs: {:?}",
        ms.hrefs()
    );
    assert!(ms.find("/dir/sub/").is_some());
}

#[test]
fn propfind_missing_resource_is_404() {
    let s = server_with_content(&[]);
    assert_eq!(s.propfind("/nope", "0", None).status, 404);
}

// ---------------------------------------------------------------- PROPPATCH

#[test]
fn proppatch_sets_dead_property_with_namespace_and_reads_it_back() {
    // RFC 4918 §9.2
    let s = server_with_content(&[]);
    let r = s.proppatch("/hello.txt", &proppatch_set(NS, "author", "Ada &amp; Co"));
    assert_eq!(r.status, 207, "{r:?}");
    let ms = r.multistatus();
    assert_eq!(
        ms.response("/hello.txt").prop_status(NS, "author"),
        Some(200)
    );

    let (st, el) = read_prop(&s, "/hello.txt", NS, "author");
    assert_eq!(st, 200);
    assert_eq!(el.text(), "Ada & Co");
    // Same local name in another namespace is another property.
    let (st, _) = read_prop(&s, "/hello.txt", "urn:other", "author");
    assert_eq!(st, 404);
    // allprop includes dead properties (RFC 4918 §9.1).
    let r = s.propfind("/hello.txt", "0", Some(ALLPROP));
    assert_eq!(
        r.multistatus()
            .response("/hello.txt")
            .ok_prop(NS, "author")
            .text(),
        "Ada & Co"
    );
}

#[test]
fn proppatch_keeps_xml_lang() {
    // RFC 4918 §4.3: xml:lang must be preserved for dead properties.
    let s = server_with_content(&[]);
    let body = format!(
        r#"<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="{NS}"><D:set><D:prop><Z:title xml:lang="fr-CA">Bonjour</Z:title></D:prop></D:set></D:propertyupdate>"#
    );
    assert_eq!(s.proppatch("/hello.txt", &body).status, 207);
    let (st, el) = read_prop(&s, "/hello.txt", NS, "title");
    assert_eq!(st, 200);
    assert_eq!(el.text(), "Bonjour");
    assert_eq!(el.lang.as_deref(), Some("fr-CA"), "xml:lang lost: {el:?}");
}

#[test]
fn proppatch_keeps_mixed_content_and_child_namespaces() {
    // RFC 4918 §4.4: property values are well-formed XML, mixed content preserved.
    let s = server_with_content(&[]);
    let value = r#"Hello <Z:b>bold <Y:i xmlns:Y="urn:y" Y:kind="k">it</Y:i></Z:b> world"#;
    assert_eq!(
        s.proppatch("/hello.txt", &proppatch_set(NS, "rich", value))
            .status,
        207
    );
    let (st, el) = read_prop(&s, "/hello.txt", NS, "rich");
    assert_eq!(st, 200);
    assert_eq!(el.children.len(), 3, "mixed content shape: {el:?}");
    assert_eq!(el.children[0], Node::Text("Hello ".into()));
    let Node::Element(b) = &el.children[1] else {
        panic!("expected <b>: {el:?}")
    };
    assert!(b.is(NS, "b"), "{b:?}");
    assert_eq!(b.children[0], Node::Text("bold ".into()));
    let i = b
        .child("urn:y", "i")
        .unwrap_or_else(|| panic!("nested urn:y element lost: {b:?}"));
    assert_eq!(i.text(), "it");
    assert_eq!(el.children[2], Node::Text(" world".into()));
}

#[test]
fn proppatch_remove_deletes_and_set_remove_apply_in_document_order() {
    // RFC 4918 §9.2: instructions are processed in document order.
    let s = server_with_content(&[]);
    let body = format!(
        r#"<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="{NS}"><D:set><D:prop><Z:p>1</Z:p></D:prop></D:set><D:remove><D:prop><Z:p/></D:prop></D:remove></D:propertyupdate>"#
    );
    assert_eq!(s.proppatch("/hello.txt", &body).status, 207);
    assert_eq!(
        read_prop(&s, "/hello.txt", NS, "p").0,
        404,
        "set then remove → absent"
    );

    let body = format!(
        r#"<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="{NS}"><D:remove><D:prop><Z:q/></D:prop></D:remove><D:set><D:prop><Z:q>2</Z:q></D:prop></D:set></D:propertyupdate>"#
    );
    assert_eq!(s.proppatch("/hello.txt", &body).status, 207);
    let (st, el) = read_prop(&s, "/hello.txt", NS, "q");
    assert_eq!(
        (st, el.text().as_str()),
        (200, "2"),
        "remove then set → present"
    );
}

#[test]
fn proppatch_protected_property_fails_whole_request_403_and_424() {
    // RFC 4918 §9.2: atomic; the failing property 403, the others 424 Failed Dependency.
    let s = server_with_content(&[]);
    assert_eq!(
        s.proppatch("/hello.txt", &proppatch_set(NS, "keep", "old"))
            .status,
        207
    );
    let etag_before = s.get("/hello.txt").expect_header("etag").to_string();
    let body = format!(
        r#"<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="{NS}"><D:set><D:prop><Z:a>A</Z:a></D:prop></D:set><D:set><D:prop><D:getetag>"forged"</D:getetag></D:prop></D:set><D:remove><D:prop><Z:keep/></D:prop></D:remove><D:set><D:prop><Z:b>B</Z:b></D:prop></D:set></D:propertyupdate>"#
    );
    let r = s.proppatch("/hello.txt", &body);
    assert_eq!(r.status, 207, "{r:?}");
    let ms = r.multistatus();
    let me = ms.response("/hello.txt");
    assert_eq!(me.prop_status(DAV, "getetag"), Some(403), "{}", r.body);
    assert_eq!(me.prop_status(NS, "a"), Some(424), "{}", r.body);
    assert_eq!(me.prop_status(NS, "b"), Some(424), "{}", r.body);
    assert_eq!(me.prop_status(NS, "keep"), Some(424), "{}", r.body);

    assert_eq!(read_prop(&s, "/hello.txt", NS, "a").0, 404, "a was applied");
    assert_eq!(read_prop(&s, "/hello.txt", NS, "b").0, 404, "b was applied");
    let (st, el) = read_prop(&s, "/hello.txt", NS, "keep");
    assert_eq!(
        (st, el.text().as_str()),
        (200, "old"),
        "remove of keep was applied"
    );
    assert_eq!(s.get("/hello.txt").expect_header("etag"), etag_before);
}

#[test]
fn proppatch_protected_property_names_cannot_modify_protected_property() {
    // RFC 4918 §9.2.1 / §16: precondition DAV:cannot-modify-protected-property.
    let s = server_with_content(&[]);
    let body = r#"<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getcontentlength>5</D:getcontentlength></D:prop></D:set></D:propertyupdate>"#;
    let r = s.proppatch("/hello.txt", body);
    assert_eq!(r.status, 207, "{r:?}");
    assert_eq!(
        r.multistatus()
            .response("/hello.txt")
            .prop_status(DAV, "getcontentlength"),
        Some(403)
    );
    assert!(
        r.body.contains("cannot-modify-protected-property"),
        "{}",
        r.body
    );
    assert_eq!(s.get("/hello.txt").body, "hello world");
}

#[test]
fn proppatch_on_collection_with_and_without_slash() {
    let s = server_with_content(&[]);
    assert_eq!(
        s.proppatch("/dir", &proppatch_set(NS, "x", "1")).status,
        207
    );
    let (st, el) = read_prop(&s, "/dir/", NS, "x");
    assert_eq!((st, el.text().as_str()), (200, "1"));
    let r = s.proppatch("/dir/", &proppatch_set(NS, "y", "2"));
    assert_eq!(r.status, 207);
    let ms = r.multistatus();
    assert_eq!(ms.responses[0].href, "/dir/", "collection href ends with /");
    assert_eq!(read_prop(&s, "/dir", NS, "y").1.text(), "2");
}

#[test]
fn proppatch_missing_resource_is_404() {
    let s = server_with_content(&[]);
    assert_eq!(
        s.proppatch("/nope.txt", &proppatch_set(NS, "x", "1"))
            .status,
        404
    );
}

#[test]
fn dead_properties_survive_a_restart() {
    // Issue #2: dead properties live in SQLite in the state dir.
    let mut s = server_with_content(&[]);
    let body = format!(
        r#"<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="{NS}"><D:set><D:prop><Z:durable xml:lang="en">still <Z:here/> here</Z:durable></D:prop></D:set></D:propertyupdate>"#
    );
    assert_eq!(s.proppatch("/dir/inner.txt", &body).status, 207);
    s.restart();
    let (st, el) = read_prop(&s, "/dir/inner.txt", NS, "durable");
    assert_eq!(st, 200, "lost across restart; stderr:\n{}", s.stderr());
    assert_eq!(el.text(), "still  here");
    assert!(el.child(NS, "here").is_some());
    assert_eq!(el.lang.as_deref(), Some("en"));
}

#[test]
fn deleting_a_resource_drops_its_dead_properties() {
    let s = server_with_content(&[]);
    assert_eq!(
        s.proppatch("/hello.txt", &proppatch_set(NS, "gone", "soon"))
            .status,
        207
    );
    assert_eq!(s.delete("/hello.txt").status, 204);
    assert_eq!(s.put("/hello.txt", "again").status, 201);
    assert_eq!(read_prop(&s, "/hello.txt", NS, "gone").0, 404);
}

#[test]
fn propfind_invalid_depth_is_400() {
    // RFC 4918 §10.2: Depth = "0" | "1" | "infinity".
    let s = server_with_content(&[]);
    for depth in ["2", "one", ""] {
        let r = s.propfind("/dir/", depth, None);
        assert_eq!(r.status, 400, "Depth {depth:?}: {r:?}");
    }
}

#[test]
fn propfind_depth_1_on_a_file_returns_only_the_file() {
    let s = server_with_content(&[]);
    let r = s.propfind("/hello.txt", "1", None);
    assert_eq!(r.status, 207, "{r:?}");
    assert_eq!(r.multistatus().hrefs(), vec!["/hello.txt"]);
}

#[test]
fn dead_property_value_with_markup_characters_round_trips() {
    let s = server_with_content(&[]);
    let value = r#"1 &lt; 2 &amp;&amp; "q" <![CDATA[<raw> & ]]> done"#;
    assert_eq!(
        s.proppatch("/hello.txt", &proppatch_set(NS, "esc", value))
            .status,
        207
    );
    let (st, el) = read_prop(&s, "/hello.txt", NS, "esc");
    assert_eq!(st, 200);
    assert_eq!(el.text(), r#"1 < 2 && "q" <raw> &  done"#);
}

#[test]
fn quota_properties_report_the_filesystems_space_rfc_4331() {
    // Issue 12, item 2: Windows Explorer and macOS Finder show free space
    // from these; they are asked for by name, not by allprop.
    let s = server_with_content(&[]);
    let quota = propfind_dav_props(&["quota-available-bytes", "quota-used-bytes"]);
    let r = s.propfind("/", "1", Some(&quota));
    assert_eq!(r.status, 207, "{r:?}");
    let ms = r.multistatus();
    let number = |href: &str, name: &str| -> u64 {
        let text = ms.response(href).ok_prop(DAV, name).text();
        text.parse()
            .unwrap_or_else(|e| panic!("{href} {name} = {text:?}: {e}"))
    };
    let available = number("/", "quota-available-bytes");
    let used = number("/", "quota-used-bytes");
    assert!(used > 0, "a filesystem with files uses space");
    // What df says about the same filesystem, within what others write
    // meanwhile (1 GiB).
    let df = std::process::Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(s.root())
        .output()
        .expect("df");
    let df_avail: u64 = String::from_utf8_lossy(&df.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("df's figure");
    assert!(
        available.abs_diff(df_avail) < 1 << 30,
        "{available} vs df {df_avail}"
    );
    // A subcollection reports them too (read once for the answer); a file
    // does not have them.
    assert_eq!(number("/dir/", "quota-available-bytes"), available);
    let file = ms.response("/hello.txt");
    assert_eq!(file.prop_status(DAV, "quota-available-bytes"), Some(404));
    // allprop leaves them out; PROPPATCH cannot set them.
    let all = s.propfind("/", "0", Some(ALLPROP)).multistatus();
    assert!(
        all.response("/")
            .prop(DAV, "quota-available-bytes")
            .is_none()
    );
    let patch = s.proppatch(
        "/dir/",
        r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:quota-used-bytes>1</D:quota-used-bytes></D:prop></D:set></D:propertyupdate>"#,
    );
    assert_eq!(
        patch
            .multistatus()
            .response("/dir/")
            .prop_status(DAV, "quota-used-bytes"),
        Some(403)
    );
}

#[test]
fn windows_sets_the_modification_time_with_win32lastmodifiedtime() {
    // Issue 12, item 3: the Mini-Redirector PROPPATCHes it after a save.
    let s = server_with_content(&[]);
    let r = s.proppatch(
        "/hello.txt",
        r#"<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32LastModifiedTime>Thu, 01 Jan 2004 12:00:00 GMT</Z:Win32LastModifiedTime></D:prop></D:set></D:propertyupdate>"#,
    );
    assert_eq!(r.status, 207, "{r:?}");
    assert_eq!(
        r.multistatus()
            .response("/hello.txt")
            .prop_status("urn:schemas-microsoft-com:", "Win32LastModifiedTime"),
        Some(200)
    );
    assert_eq!(
        s.get("/hello.txt").expect_header("last-modified"),
        "Thu, 01 Jan 2004 12:00:00 GMT"
    );
    assert_eq!(s.get("/hello.txt").body, "hello world", "the content stays");
}

#[test]
fn a_quota_refuses_uploads_past_it_and_is_reported() {
    // Issue 12, item 2: `--quota` (bytes for the whole tree).
    let s = TestServer::start_with(&["--quota", "10000"]);
    assert_eq!(s.put("/a.bin", &"a".repeat(6000)).status, 201);
    // Announced too big: refused before the body is read.
    let r = s.put("/b.bin", &"b".repeat(5000));
    assert_eq!(r.status, 507, "{r:?}");
    assert!(r.body.contains("quota"), "{r:?}");
    assert_eq!(s.get("/b.bin").status, 404, "nothing written");
    // Not announced (chunked): refused once it passes the limit.
    let head = format!(
        "PUT /c.bin HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        s.addr
    );
    let mut body = Vec::new();
    for _ in 0..5 {
        body.extend_from_slice(b"3e8\r\n");
        body.extend_from_slice(&[b'c'; 1000]);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let (status, text) = support::raw_exchange(&s.addr, &head, &body);
    assert_eq!(status, 507, "{text}");
    assert_eq!(s.get("/c.bin").status, 404, "nothing written");
    // Replacing a file counts only the difference; what fits is written.
    assert_eq!(s.put("/a.bin", &"a".repeat(9000)).status, 204);
    assert_eq!(s.put("/big.txt", &"x".repeat(2000)).status, 507);
    assert_eq!(s.put("/small.txt", "0123456789").status, 201);
    let quota = propfind_dav_props(&["quota-available-bytes", "quota-used-bytes"]);
    let ms = s.propfind("/", "0", Some(&quota)).multistatus();
    let me = ms.response("/");
    assert_eq!(me.ok_prop(DAV, "quota-used-bytes").text(), "9010");
    assert_eq!(me.ok_prop(DAV, "quota-available-bytes").text(), "990");
    // Deleting frees the room (counted again within 30 s; a DELETE is not
    // counted byte by byte), and a bad setting stops the start.
    let (status, _, stderr) = support::Launch::new()
        .args(&["--quota", "0"])
        .run_to_exit(std::time::Duration::from_secs(20));
    assert!(!status.success() && stderr.contains("quota"), "{stderr}");
}

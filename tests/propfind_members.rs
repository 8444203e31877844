//! PROPFIND over a collection reads its members' dead properties in one go
//! (not one store read per member). These tests check that each member
//! still gets exactly its own properties: different ones on different
//! members, none on others (404 propstat), nothing from deeper descendants
//! or from look-alike siblings ("c-x" next to "c/").

mod support;

use support::xml::MsResponse;
use support::{ALLPROP, PROPNAME, TestServer, proppatch_set};

const NS: &str = "urn:example:members";

/// Sets `{NS}name` = `value` on `path`.
fn set(s: &TestServer, path: &str, name: &str, value: &str) {
    let r = s.proppatch(path, &proppatch_set(NS, name, value));
    assert_eq!(r.status, 207, "PROPPATCH {path}: {r:?}");
    let ms = r.multistatus();
    assert_eq!(
        ms.response(path).prop_status(NS, name),
        Some(200),
        "PROPPATCH {path} {name}: {r:?}"
    );
}

/// PROPFIND body asking for `{NS}color`, `{NS}size` and `DAV:getetag`.
fn propfind_color_size() -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:Z="{NS}"><D:prop><Z:color/><Z:size/><D:getetag/></D:prop></D:propfind>"#
    )
}

/// A collection `/c/` whose members differ in their dead properties:
///
/// | resource            | color      | size  |
/// |---------------------|------------|-------|
/// | /c/                 | collection | -     |
/// | /c/a.txt            | red        | 1     |
/// | /c/b.txt            | blue       | -     |
/// | /c/plain.txt        | -          | -     |
/// | /c/sub/             | -          | sub   |
/// | /c/sub/deep.txt     | deep       | -     |  (below a member)
/// | /c-x.txt            | lookalike  | -     |  (a sibling of /c/)
fn setup() -> TestServer {
    let s = TestServer::start_with(&["--allow-depth-infinity"]);
    assert_eq!(s.mkcol("/c/").status, 201);
    assert_eq!(s.mkcol("/c/sub/").status, 201);
    for path in [
        "/c/a.txt",
        "/c/b.txt",
        "/c/plain.txt",
        "/c/sub/deep.txt",
        "/c-x.txt",
    ] {
        assert_eq!(s.put(path, "x").status, 201, "PUT {path}");
    }
    set(&s, "/c/", "color", "collection");
    set(&s, "/c/a.txt", "color", "red");
    set(&s, "/c/a.txt", "size", "1");
    set(&s, "/c/b.txt", "color", "blue");
    set(&s, "/c/sub/", "size", "sub");
    set(&s, "/c/sub/deep.txt", "color", "deep");
    set(&s, "/c-x.txt", "color", "lookalike");
    s
}

/// The value of `{NS}name` in a 200 propstat, or `None` when it is reported
/// in a 404 propstat; panics when it is missing or has another status.
fn value(r: &MsResponse, name: &str) -> Option<String> {
    match r.prop(NS, name) {
        Some((200, e)) => Some(e.text()),
        Some((404, _)) => None,
        other => panic!("{{{NS}}}{name} of {}: got {other:?}", r.href),
    }
}

fn assert_values(r: &MsResponse, color: Option<&str>, size: Option<&str>) {
    assert_eq!(value(r, "color").as_deref(), color, "color of {}", r.href);
    assert_eq!(value(r, "size").as_deref(), size, "size of {}", r.href);
}

#[test]
fn depth_1_reports_each_members_own_dead_properties() {
    let s = setup();
    let r = s.propfind("/c/", "1", Some(&propfind_color_size()));
    assert_eq!(r.status, 207, "{r:?}");
    let ms = r.multistatus();
    let mut hrefs = ms.hrefs();
    hrefs.sort();
    assert_eq!(
        hrefs,
        ["/c/", "/c/a.txt", "/c/b.txt", "/c/plain.txt", "/c/sub/"],
        "Depth 1 lists the collection and its direct members only"
    );
    assert_values(ms.response("/c/"), Some("collection"), None);
    assert_values(ms.response("/c/a.txt"), Some("red"), Some("1"));
    assert_values(ms.response("/c/b.txt"), Some("blue"), None);
    assert_values(ms.response("/c/plain.txt"), None, None);
    assert_values(ms.response("/c/sub/"), None, Some("sub"));
    // Live properties are still answered next to the dead ones.
    for file in ["/c/a.txt", "/c/b.txt", "/c/plain.txt"] {
        assert_eq!(
            ms.response(file).prop_status("DAV:", "getetag"),
            Some(200),
            "{file}"
        );
    }
    assert_eq!(
        ms.response("/c/sub/").prop_status("DAV:", "getetag"),
        Some(404),
        "a collection has no getetag here"
    );
}

#[test]
fn depth_1_allprop_and_propname_list_each_members_own_dead_properties() {
    let s = setup();
    let ms = s.propfind("/c/", "1", Some(ALLPROP)).multistatus();
    let names = |r: &MsResponse| -> Vec<String> {
        let mut names: Vec<String> = r
            .propstats
            .iter()
            .filter(|ps| ps.status == 200)
            .flat_map(|ps| ps.props.iter())
            .filter(|p| p.ns == NS)
            .map(|p| format!("{}={}", p.name, p.text()))
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(ms.response("/c/")), ["color=collection"]);
    assert_eq!(names(ms.response("/c/a.txt")), ["color=red", "size=1"]);
    assert_eq!(names(ms.response("/c/b.txt")), ["color=blue"]);
    assert!(names(ms.response("/c/plain.txt")).is_empty());
    assert_eq!(names(ms.response("/c/sub/")), ["size=sub"]);
    assert!(
        ms.response("/c/plain.txt")
            .prop("DAV:", "getlastmodified")
            .is_some(),
        "allprop still has the live properties"
    );

    let ms = s.propfind("/c/", "1", Some(PROPNAME)).multistatus();
    let dead_names = |path: &str| -> Vec<String> {
        let mut names: Vec<String> = ms
            .response(path)
            .propstats
            .iter()
            .flat_map(|ps| ps.props.iter())
            .filter(|p| p.ns == NS)
            .map(|p| p.name.clone())
            .collect();
        names.sort();
        names
    };
    assert_eq!(dead_names("/c/a.txt"), ["color", "size"]);
    assert_eq!(dead_names("/c/b.txt"), ["color"]);
    assert!(dead_names("/c/plain.txt").is_empty());
    assert_eq!(dead_names("/c/sub/"), ["size"]);
}

#[test]
fn depth_infinity_reports_the_properties_of_every_level() {
    let s = setup();
    let r = s.propfind("/c/", "infinity", Some(&propfind_color_size()));
    assert_eq!(r.status, 207, "{r:?}");
    let ms = r.multistatus();
    assert_eq!(ms.responses.len(), 6, "{:?}", ms.hrefs());
    assert_values(ms.response("/c/a.txt"), Some("red"), Some("1"));
    assert_values(ms.response("/c/plain.txt"), None, None);
    assert_values(ms.response("/c/sub/"), None, Some("sub"));
    assert_values(ms.response("/c/sub/deep.txt"), Some("deep"), None);
}

#[test]
fn depth_1_on_the_root_keeps_the_roots_properties_apart_from_its_members() {
    let s = setup();
    set(&s, "/", "color", "root");
    let r = s.propfind("/", "1", Some(&propfind_color_size()));
    assert_eq!(r.status, 207, "{r:?}");
    let ms = r.multistatus();
    assert_values(ms.response("/"), Some("root"), None);
    assert_values(ms.response("/c/"), Some("collection"), None);
    assert_values(ms.response("/c-x.txt"), Some("lookalike"), None);
    assert!(ms.find("/c/a.txt").is_none(), "{:?}", ms.hrefs());
}

#[test]
fn removed_and_changed_properties_show_in_the_next_depth_1_answer() {
    let s = setup();
    let remove = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="{NS}"><D:remove><D:prop><Z:color/></D:prop></D:remove></D:propertyupdate>"#
    );
    assert_eq!(s.proppatch("/c/a.txt", &remove).status, 207);
    set(&s, "/c/b.txt", "color", "green");
    set(&s, "/c/plain.txt", "size", "2");
    let ms = s
        .propfind("/c/", "1", Some(&propfind_color_size()))
        .multistatus();
    assert_values(ms.response("/c/a.txt"), None, Some("1"));
    assert_values(ms.response("/c/b.txt"), Some("green"), None);
    assert_values(ms.response("/c/plain.txt"), None, Some("2"));
}

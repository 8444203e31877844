//! COPY and MOVE (RFC 4918 §9.8, §9.9): status codes, Depth, Overwrite, forbidden
//! destinations and dead properties travelling with the resource.
mod support;

use support::{DAV, TestServer, file_text, proppatch_set, read_prop, snapshot};

const NS: &str = "urn:deadbolt:test";

/// /src/ with a.txt and sub/b.txt, and /file.txt.
fn server_with_tree() -> TestServer {
    let s = TestServer::start();
    assert_eq!(s.mkcol("/src/").status, 201);
    assert_eq!(s.mkcol("/src/sub/").status, 201);
    assert_eq!(s.put("/src/a.txt", "A").status, 201);
    assert_eq!(s.put("/src/sub/b.txt", "B").status, 201);
    assert_eq!(s.put("/file.txt", "FILE").status, 201);
    s
}

#[test]
fn copy_file_to_new_is_201_and_to_existing_is_204() {
    // RFC 4918 §9.8.5
    let s = server_with_tree();
    let r = s.copy_move("COPY", "/file.txt", "/copy.txt", &[]);
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(file_text(&s, "copy.txt"), "FILE");
    assert_eq!(file_text(&s, "file.txt"), "FILE");

    assert_eq!(s.put("/file.txt", "NEW").status, 204);
    let r = s.copy_move("COPY", "/file.txt", "/copy.txt", &[]);
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(file_text(&s, "copy.txt"), "NEW");
}

#[test]
fn move_file_to_new_is_201_and_to_existing_is_204() {
    // RFC 4918 §9.9.4
    let s = server_with_tree();
    let r = s.copy_move("MOVE", "/file.txt", "/moved.txt", &[]);
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(file_text(&s, "moved.txt"), "FILE");
    assert!(!s.root().join("file.txt").exists());
    assert_eq!(s.get("/file.txt").status, 404);

    assert_eq!(s.put("/other.txt", "OTHER").status, 201);
    let r = s.copy_move("MOVE", "/other.txt", "/moved.txt", &[]);
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(file_text(&s, "moved.txt"), "OTHER");
    assert!(!s.root().join("other.txt").exists());
}

#[test]
fn copy_collection_depth_infinity_copies_the_tree() {
    let s = server_with_tree();
    let r = s.copy_move("COPY", "/src/", "/dst/", &[("Depth", "infinity")]);
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(file_text(&s, "dst/a.txt"), "A");
    assert_eq!(file_text(&s, "dst/sub/b.txt"), "B");
    assert_eq!(file_text(&s, "src/sub/b.txt"), "B");
}

#[test]
fn copy_collection_depth_0_copies_only_the_collection() {
    // RFC 4918 §9.8.3: Depth 0 copies the collection and its properties, not its members.
    let s = server_with_tree();
    let r = s.copy_move("COPY", "/src/", "/shallow/", &[("Depth", "0")]);
    assert_eq!(r.status, 201, "{r:?}");
    let dir = s.root().join("shallow");
    assert!(dir.is_dir());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "members were copied"
    );
}

#[test]
fn move_collection_moves_the_tree() {
    let s = server_with_tree();
    let r = s.copy_move("MOVE", "/src", "/renamed/", &[]);
    assert_eq!(r.status, 201, "{r:?}");
    assert!(!s.root().join("src").exists());
    assert_eq!(file_text(&s, "renamed/sub/b.txt"), "B");
}

#[test]
fn overwrite_f_on_existing_destination_is_412_and_changes_nothing() {
    // RFC 4918 §10.6, §9.8.5: Overwrite F and a mapped destination → 412.
    let s = server_with_tree();
    assert_eq!(s.put("/dest.txt", "DEST").status, 201);
    for method in ["COPY", "MOVE"] {
        let r = s.copy_move(method, "/file.txt", "/dest.txt", &[("Overwrite", "F")]);
        assert_eq!(r.status, 412, "{method}: {r:?}");
        assert_eq!(file_text(&s, "dest.txt"), "DEST");
        assert_eq!(file_text(&s, "file.txt"), "FILE");
    }
    let r = s.copy_move("COPY", "/file.txt", "/fresh.txt", &[("Overwrite", "F")]);
    assert_eq!(
        r.status, 201,
        "Overwrite F to an unmapped destination: {r:?}"
    );
}

#[test]
fn overwrite_t_replaces_a_collection_destination() {
    // RFC 4918 §9.8.4: with Overwrite T the destination is deleted first.
    let s = server_with_tree();
    assert_eq!(s.mkcol("/dst/").status, 201);
    assert_eq!(s.put("/dst/old.txt", "OLD").status, 201);
    let r = s.copy_move("COPY", "/src/", "/dst/", &[("Overwrite", "T")]);
    assert_eq!(r.status, 204, "{r:?}");
    assert!(
        !s.root().join("dst/old.txt").exists(),
        "old member survived"
    );
    assert_eq!(file_text(&s, "dst/a.txt"), "A");
}

#[test]
fn missing_destination_parent_is_409() {
    let s = server_with_tree();
    for method in ["COPY", "MOVE"] {
        let r = s.copy_move(method, "/file.txt", "/no/such/parent.txt", &[]);
        assert_eq!(r.status, 409, "{method}: {r:?}");
        assert_eq!(file_text(&s, "file.txt"), "FILE");
    }
}

#[test]
fn destination_on_another_host_is_502_or_400() {
    // RFC 4918 §9.8.5: 502 when the destination is on another server.
    let s = server_with_tree();
    let before = snapshot(&s.root());
    for method in ["COPY", "MOVE"] {
        let r = s
            .request(method, "/file.txt")
            .header("Destination", "http://elsewhere.example.com/file.txt")
            .send();
        assert!(r.status == 502 || r.status == 400, "{method}: {r:?}");
    }
    assert_eq!(snapshot(&s.root()), before);
}

#[test]
fn source_equal_to_destination_is_403() {
    // RFC 4918 §9.8.5
    let s = server_with_tree();
    for method in ["COPY", "MOVE"] {
        let r = s.copy_move(method, "/file.txt", "/file.txt", &[]);
        assert_eq!(r.status, 403, "{method} file onto itself: {r:?}");
        let r = s.copy_move(method, "/src/", "/src", &[]);
        assert_eq!(
            r.status, 403,
            "{method} collection onto itself (slash differs): {r:?}"
        );
    }
    assert_eq!(file_text(&s, "file.txt"), "FILE");
    assert_eq!(file_text(&s, "src/sub/b.txt"), "B");
}

#[test]
fn destination_inside_source_is_403() {
    let s = server_with_tree();
    let before = snapshot(&s.root());
    for method in ["COPY", "MOVE"] {
        let r = s.copy_move(method, "/src/", "/src/sub/inner/", &[]);
        assert_eq!(r.status, 403, "{method}: {r:?}");
        let r = s.copy_move(method, "/src", "/src/x", &[]);
        assert_eq!(r.status, 403, "{method} without slashes: {r:?}");
    }
    assert_eq!(snapshot(&s.root()), before);
}

#[test]
fn destination_may_be_an_absolute_path() {
    // RFC 4918 §10.3: Destination is an absolute-URI or an absolute path.
    let s = server_with_tree();
    let r = s
        .request("COPY", "/file.txt")
        .header("Destination", "/abs.txt")
        .send();
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(file_text(&s, "abs.txt"), "FILE");
}

#[test]
fn missing_destination_header_is_400() {
    let s = server_with_tree();
    let r = s.request("COPY", "/file.txt").send();
    assert_eq!(r.status, 400, "{r:?}");
}

#[test]
fn copy_of_missing_source_is_404() {
    let s = server_with_tree();
    assert_eq!(s.copy_move("COPY", "/nope.txt", "/x.txt", &[]).status, 404);
    assert_eq!(s.copy_move("MOVE", "/nope.txt", "/x.txt", &[]).status, 404);
}

#[test]
fn dead_properties_travel_with_copy_and_move() {
    // RFC 4918 §9.8.2 (COPY copies dead properties), §9.9.1 (MOVE moves them).
    let s = server_with_tree();
    let r = s.proppatch("/file.txt", &proppatch_set(NS, "colour", "blue"));
    assert_eq!(r.status, 207, "{r:?}");

    assert_eq!(
        s.copy_move("COPY", "/file.txt", "/copy.txt", &[]).status,
        201
    );
    let (st, el) = read_prop(&s, "/copy.txt", NS, "colour");
    assert_eq!((st, el.text().as_str()), (200, "blue"), "on the copy");
    let (st, el) = read_prop(&s, "/file.txt", NS, "colour");
    assert_eq!(
        (st, el.text().as_str()),
        (200, "blue"),
        "on the source after COPY"
    );

    assert_eq!(
        s.copy_move("MOVE", "/copy.txt", "/moved.txt", &[]).status,
        201
    );
    let (st, el) = read_prop(&s, "/moved.txt", NS, "colour");
    assert_eq!((st, el.text().as_str()), (200, "blue"), "after MOVE");

    // The old name must not keep the property: a new file there starts bare.
    assert_eq!(s.put("/copy.txt", "fresh").status, 201);
    let (st, _) = read_prop(&s, "/copy.txt", NS, "colour");
    assert_eq!(st, 404, "property left behind at the MOVE source");
}

#[test]
fn dead_properties_of_members_travel_with_collection_copy_and_move() {
    let s = server_with_tree();
    assert_eq!(
        s.proppatch("/src/", &proppatch_set(NS, "tag", "dir"))
            .status,
        207
    );
    assert_eq!(
        s.proppatch("/src/sub/b.txt", &proppatch_set(NS, "tag", "deep"))
            .status,
        207
    );

    assert_eq!(s.copy_move("COPY", "/src/", "/c/", &[]).status, 201);
    assert_eq!(read_prop(&s, "/c/", NS, "tag").1.text(), "dir");
    assert_eq!(read_prop(&s, "/c/sub/b.txt", NS, "tag").1.text(), "deep");

    assert_eq!(s.copy_move("MOVE", "/c/", "/m/", &[]).status, 201);
    assert_eq!(read_prop(&s, "/m/", NS, "tag").1.text(), "dir");
    assert_eq!(read_prop(&s, "/m/sub/b.txt", NS, "tag").1.text(), "deep");
}

#[test]
fn copy_depth_0_keeps_collection_properties() {
    let s = server_with_tree();
    assert_eq!(
        s.proppatch("/src/", &proppatch_set(NS, "tag", "dir"))
            .status,
        207
    );
    assert_eq!(
        s.copy_move("COPY", "/src/", "/shallow/", &[("Depth", "0")])
            .status,
        201
    );
    assert_eq!(read_prop(&s, "/shallow/", NS, "tag").1.text(), "dir");
}

#[test]
fn copy_with_depth_1_is_400() {
    // RFC 4918 §9.8.3: COPY of a collection accepts only Depth 0 or infinity.
    let s = server_with_tree();
    let r = s.copy_move("COPY", "/src/", "/d1/", &[("Depth", "1")]);
    assert_eq!(r.status, 400, "{r:?}");
    assert!(!s.root().join("d1").exists());
}

#[test]
fn copied_resource_reports_its_own_live_properties() {
    let s = server_with_tree();
    assert_eq!(s.copy_move("COPY", "/src/", "/dst", &[]).status, 201);
    let r = s.propfind("/dst", "1", None);
    assert_eq!(r.status, 207, "{r:?}");
    let ms = r.multistatus();
    let me = ms.response("/dst/");
    assert!(
        me.href.ends_with('/'),
        "collection href must end with /: {}",
        me.href
    );
    assert!(
        me.ok_prop(DAV, "resourcetype")
            .child(DAV, "collection")
            .is_some()
    );
    assert!(ms.find("/dst/a.txt").is_some(), "hrefs: {:?}", ms.hrefs());
}

#[test]
fn invalid_overwrite_header_is_400() {
    // RFC 4918 §10.6: Overwrite = "T" | "F".
    let s = server_with_tree();
    let r = s.copy_move("COPY", "/file.txt", "/x.txt", &[("Overwrite", "maybe")]);
    assert_eq!(r.status, 400, "{r:?}");
    assert!(!s.root().join("x.txt").exists());
}

#[test]
fn copy_file_over_a_collection_with_overwrite_t_replaces_it() {
    // RFC 4918 §9.8.4: the destination is deleted before the copy.
    let s = server_with_tree();
    let r = s.copy_move("COPY", "/file.txt", "/src", &[("Overwrite", "T")]);
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(file_text(&s, "src"), "FILE");
    let r = s.copy_move("MOVE", "/src", "/file.txt", &[]);
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(file_text(&s, "file.txt"), "FILE");
}

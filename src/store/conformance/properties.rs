//! Dead properties: patches in order, tree copies and moves, members.

use super::helpers::*;

pub(super) fn patch_applies_in_document_order(stores: &Stores) {
    let ops = [
        PatchOp::Set(prop("one", "1")),
        PatchOp::Remove(PropertyName::new("urn:x", "one")),
        PatchOp::Set(prop("two", "2")),
    ];
    stores
        .properties
        .patch(&permit_all(), &p("/a"), &ops)
        .unwrap();
    assert_eq!(locals(stores, "/a"), ["two"]);
    assert_eq!(
        stores.properties.all(&p("/a")).unwrap(),
        vec![prop("two", "2")]
    );
}

pub(super) fn tree_operations_touch_members_only(stores: &Stores) {
    let permit = permit_all();
    let props = &stores.properties;
    for path in ["/a", "/a/b", "/a-b", "/ab"] {
        props
            .patch(&permit, &p(path), &[PatchOp::Set(prop("k", "v"))])
            .unwrap();
    }
    props
        .copy(&permit, &p("/a"), &p("/c"), CopyDepth::Tree)
        .unwrap();
    assert_eq!(locals(stores, "/c/b"), ["k"]);
    props
        .copy(&permit, &p("/a"), &p("/d"), CopyDepth::ResourceOnly)
        .unwrap();
    assert_eq!(locals(stores, "/d"), ["k"]);
    assert!(locals(stores, "/d/b").is_empty());
    props.rename(&permit, &p("/a"), &p("/m")).unwrap();
    assert!(locals(stores, "/a/b").is_empty());
    assert_eq!(locals(stores, "/m/b"), ["k"]);
    assert_eq!(locals(stores, "/a-b"), ["k"]);
    props.forget(&permit, &[p("/c")]).unwrap();
    assert!(locals(stores, "/c").is_empty());
    assert_eq!(locals(stores, "/c/b"), ["k"], "forget leaves descendants");
    props.forget_tree(&permit, &p("/m")).unwrap();
    assert!(locals(stores, "/m").is_empty() && locals(stores, "/m/b").is_empty());
    assert_eq!(locals(stores, "/ab"), ["k"]);
    // A permit that does not cover the path is refused and changes nothing.
    let narrow = WritePermit::unchecked(WriteIntent::new().touches(&p("/x"), Reach::Resource));
    assert!(
        props
            .patch(
                &narrow,
                &p("/ab"),
                &[PatchOp::Remove(PropertyName::new("urn:x", "k"))]
            )
            .is_err()
    );
    assert_eq!(locals(stores, "/ab"), ["k"]);
}

pub(super) fn member_properties_are_direct_members_only(stores: &Stores) {
    let permit = permit_all();
    for (path, local) in [
        ("/", "root"),
        ("/a", "self"),
        ("/a/b", "one"),
        ("/a/b", "two"),
        ("/a/b/deep", "deep"),
        ("/a/b-c", "dash"),
        ("/a/b0", "zero"),
        ("/a/c/x", "below-c"),
        ("/a-b", "lookalike"),
    ] {
        stores
            .properties
            .patch(&permit, &p(path), &[PatchOp::Set(prop(local, "v"))])
            .unwrap();
    }
    let mut found: Vec<(String, String)> = stores
        .properties
        .of_members(&p("/a"))
        .unwrap()
        .into_iter()
        .flat_map(|(member, props)| {
            props
                .into_iter()
                .map(move |p| (member.clone(), p.name.local))
        })
        .collect();
    found.sort();
    let expected: Vec<(String, String)> =
        [("b", "one"), ("b", "two"), ("b-c", "dash"), ("b0", "zero")]
            .iter()
            .map(|(m, l)| ((*m).to_owned(), (*l).to_owned()))
            .collect();
    assert_eq!(found, expected);
    let root_members = stores.properties.of_members(&ResourcePath::root()).unwrap();
    let mut names: Vec<&String> = root_members.keys().collect();
    names.sort();
    assert_eq!(names, ["a", "a-b"]);
}

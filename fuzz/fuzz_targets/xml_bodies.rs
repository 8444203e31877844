//! The XML request bodies: PROPFIND (`dav::xml::propfind::parse`), PROPPATCH
//! (`dav::xml::proppatch::parse`) and LOCK (`dav::xml::lockinfo::parse`),
//! all three built on `dav::xml::dom::parse`.
//!
//! Every input goes to all three parsers (the root element decides which one
//! may accept it, so an input is simply a body, and what the fuzzer learns
//! for one body serves the others). For each:
//!
//! - It never panics, and when the document itself is refused, it refuses it
//!   with the very error `dom::parse` gives (only PROPFIND accepts a blank
//!   body, as allprop).
//! - It agrees, value or kind of error, with a plain reference model below
//!   that walks the element tree: PROPFIND needs exactly one of allprop,
//!   propname and prop, and `prop` lists exactly its child elements' names,
//!   in order; PROPPATCH gives one operation per property of every
//!   `set`/`remove`, in document order; LOCK takes the first scope of the
//!   first `lockscope`, needs `write` in the first `locktype` and keeps the
//!   first `owner`. At most one of the three accepts a non-blank body.
//! - What is stored is self-contained XML: a dead property's XML (PROPPATCH
//!   `set`) and the LOCK owner parse again, on their own, into the element
//!   the body held (same name, attributes, `xml:lang`, children and text).
//! - The tree keeps its own invariants: at most `MAX_DEPTH` deep, no two
//!   adjacent text nodes, and the whole root written with `to_xml` parses
//!   back to the same tree.
#![no_main]

use deadbolt::dav::xml::dom::{self, Attribute, Element, MAX_DEPTH, Node, XML_NS};
use deadbolt::dav::xml::lockinfo::{self, LockInfo};
use deadbolt::dav::xml::propfind::{self, PropfindRequest};
use deadbolt::dav::xml::{DAV_NS, XmlError, proppatch};
use deadbolt::locks::LockScope;
use deadbolt::store::{PatchOp, PropertyName};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let document = dom::parse(data);
    let blank = data.iter().all(u8::is_ascii_whitespace);

    let propfind = propfind::parse(data);
    let proppatch = proppatch::parse(data);
    let lockinfo = lockinfo::parse(data);
    for error in [
        propfind.as_ref().err(),
        proppatch.as_ref().err(),
        lockinfo.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    {
        // Every refusal can be told to the client.
        let _ = error.to_string();
    }

    let root = match &document {
        Err(error) => {
            if blank {
                assert_eq!(propfind, Ok(PropfindRequest::AllProp { include: vec![] }));
            } else {
                assert_eq!(propfind.as_ref(), Err(error), "PROPFIND {data:?}");
            }
            assert_eq!(proppatch.as_ref(), Err(error), "PROPPATCH {data:?}");
            assert_eq!(lockinfo.as_ref(), Err(error), "LOCK {data:?}");
            return;
        }
        Ok(root) => root,
    };
    assert!(!blank, "a blank body has no root element");

    check_tree(root, 1);
    assert_round_trip(root, &root.to_xml(), "the whole body");

    let accepted = [propfind.is_ok(), proppatch.is_ok(), lockinfo.is_ok()];
    assert!(
        accepted.iter().filter(|&&ok| ok).count() <= 1,
        "{accepted:?} for {data:?}"
    );

    check_propfind(root, propfind);
    check_proppatch(root, proppatch);
    check_lockinfo(root, lockinfo);
});

/// What a reference model expects instead of a value: the kind of refusal.
#[derive(Debug)]
enum Refusal {
    /// `XmlError::UnexpectedElement` with this `expected` (the root is wrong).
    Root(&'static str),
    /// `XmlError::Invalid`: the root is right, its content is not.
    Invalid,
}

fn assert_refusal<T: std::fmt::Debug>(got: Result<T, XmlError>, expected: Refusal, root: &Element) {
    match (expected, &got) {
        (Refusal::Root(name), Err(XmlError::UnexpectedElement { expected, found })) => {
            assert_eq!(*expected, name);
            assert_eq!(*found, root.display_name());
        }
        (Refusal::Invalid, Err(XmlError::Invalid(_))) => {}
        (expected, _) => panic!("expected {expected:?}, got {got:?} for {}", root.to_xml()),
    }
}

fn dav_children<'a>(parent: &'a Element, local: &'a str) -> impl Iterator<Item = &'a Element> {
    parent.child_elements().filter(move |e| e.is(DAV_NS, local))
}

fn names(parent: &Element) -> Vec<PropertyName> {
    parent
        .child_elements()
        .map(|e| PropertyName::new(e.namespace.clone(), e.local.clone()))
        .collect()
}

// PROPFIND (RFC 4918 §14.20): exactly one of allprop, propname, prop; any
// number of include; other DAV: elements and foreign ones are ignored.
fn check_propfind(root: &Element, got: Result<PropfindRequest, XmlError>) {
    if !root.is(DAV_NS, "propfind") {
        return assert_refusal(got, Refusal::Root("propfind"), root);
    }
    let kinds: Vec<&Element> = root
        .child_elements()
        .filter(|e| {
            e.namespace == DAV_NS && matches!(e.local.as_str(), "allprop" | "propname" | "prop")
        })
        .collect();
    let [kind] = kinds.as_slice() else {
        return assert_refusal(got, Refusal::Invalid, root);
    };
    let expected = match kind.local.as_str() {
        "allprop" => PropfindRequest::AllProp {
            include: dav_children(root, "include").flat_map(names).collect(),
        },
        "propname" => PropfindRequest::PropName,
        _ => PropfindRequest::Prop(names(kind)),
    };
    assert_eq!(got, Ok(expected), "{}", root.to_xml());
}

// PROPPATCH (§14.19): set and remove, each with DAV:prop elements whose
// children are the properties, all applied in document order.
fn check_proppatch(root: &Element, got: Result<Vec<PatchOp>, XmlError>) {
    if !root.is(DAV_NS, "propertyupdate") {
        return assert_refusal(got, Refusal::Root("propertyupdate"), root);
    }
    let mut expected: Vec<(bool, &Element)> = Vec::new();
    for instruction in root.child_elements() {
        let is_set = if instruction.is(DAV_NS, "set") {
            true
        } else if instruction.is(DAV_NS, "remove") {
            false
        } else {
            continue;
        };
        for prop in dav_children(instruction, "prop") {
            expected.extend(prop.child_elements().map(|e| (is_set, e)));
        }
    }
    if expected.is_empty() {
        return assert_refusal(got, Refusal::Invalid, root);
    }
    let ops = got.unwrap_or_else(|e| panic!("refused with {e:?}: {}", root.to_xml()));
    assert_eq!(ops.len(), expected.len());
    for (op, (is_set, element)) in ops.iter().zip(expected) {
        let name = PropertyName::new(element.namespace.clone(), element.local.clone());
        match op {
            PatchOp::Remove(removed) => {
                assert!(!is_set);
                assert_eq!(*removed, name);
            }
            PatchOp::Set(property) => {
                assert!(is_set);
                assert_eq!(property.name, name);
                assert_round_trip(element, &property.xml, "a dead property");
            }
        }
    }
}

// LOCK (§14.11): lockscope (exclusive or shared), locktype (write) and an
// optional owner, kept whole.
fn check_lockinfo(root: &Element, got: Result<LockInfo, XmlError>) {
    if !root.is(DAV_NS, "lockinfo") {
        return assert_refusal(got, Refusal::Root("lockinfo"), root);
    }
    let scope = dav_children(root, "lockscope").next().and_then(|s| {
        s.child_elements().find_map(|e| {
            if e.is(DAV_NS, "exclusive") {
                Some(LockScope::Exclusive)
            } else if e.is(DAV_NS, "shared") {
                Some(LockScope::Shared)
            } else {
                None
            }
        })
    });
    let write = dav_children(root, "locktype")
        .next()
        .is_some_and(|t| dav_children(t, "write").next().is_some());
    let (Some(scope), true) = (scope, write) else {
        return assert_refusal(got, Refusal::Invalid, root);
    };
    let info = got.unwrap_or_else(|e| panic!("refused with {e:?}: {}", root.to_xml()));
    assert_eq!(info.scope, scope);
    let owner = dav_children(root, "owner").next();
    assert_eq!(info.owner.is_some(), owner.is_some());
    if let (Some(owner), Some(xml)) = (owner, &info.owner) {
        assert_round_trip(owner, xml, "the lock owner");
    }
}

/// `xml`, written for `element`, parses on its own into the same element:
/// same names, attributes, language, children and text. Text is compared
/// after merging adjacent pieces and dropping empty ones (an empty CDATA
/// section leaves nothing to write), and an inherited `xml:lang` comes back
/// as an attribute of the element itself.
fn assert_round_trip(element: &Element, xml: &str, what: &str) {
    let again = dom::parse(xml.as_bytes())
        .unwrap_or_else(|e| panic!("{what} {xml:?} does not parse again: {e}"));
    assert_eq!(
        normalized(&again, true),
        normalized(element, true),
        "{what} written as {xml:?}"
    );
}

fn normalized(element: &Element, outermost: bool) -> Element {
    let mut attributes = element.attributes.clone();
    if outermost
        && let Some(lang) = &element.lang
        && !attributes
            .iter()
            .any(|a| a.namespace == XML_NS && a.local == "lang")
    {
        attributes.push(Attribute {
            namespace: XML_NS.to_owned(),
            local: "lang".to_owned(),
            value: lang.to_string(),
        });
    }
    let mut children: Vec<Node> = Vec::new();
    for child in &element.children {
        match child {
            Node::Text(text) if text.is_empty() => {}
            Node::Text(text) => match children.last_mut() {
                Some(Node::Text(previous)) => previous.push_str(text),
                _ => children.push(Node::Text(text.clone())),
            },
            Node::Element(child) => children.push(Node::Element(normalized(child, false))),
        }
    }
    Element {
        namespace: element.namespace.clone(),
        local: element.local.clone(),
        attributes,
        children,
        lang: element.lang.clone(),
    }
}

/// Depth is capped, adjacent text is merged, `lang` is inherited unless set.
/// Names are XML names without a colon (Namespaces in XML `NCName`), and
/// text, attribute values and namespace names hold only XML characters, so
/// that what is stored and given back to clients is well-formed XML.
fn check_tree(element: &Element, depth: usize) {
    assert!(depth <= MAX_DEPTH);
    assert!(
        is_ncname(&element.local),
        "element name {:?}",
        element.local
    );
    assert!(is_xml_text(&element.namespace), "{:?}", element.namespace);
    assert_ne!(element.namespace, XMLNS_NS);
    for attribute in &element.attributes {
        assert!(
            is_ncname(&attribute.local),
            "attribute {:?}",
            attribute.local
        );
        assert!(is_xml_text(&attribute.value), "{:?}", attribute.value);
        assert!(is_xml_text(&attribute.namespace));
        assert_ne!(attribute.namespace, XMLNS_NS);
    }
    let own_lang = element
        .attributes
        .iter()
        .rev()
        .find(|a| a.namespace == XML_NS && a.local == "lang");
    if let Some(lang) = own_lang {
        assert_eq!(element.lang.as_deref(), Some(lang.value.as_str()));
    }
    let mut previous_was_text = false;
    for child in &element.children {
        match child {
            Node::Text(text) => {
                assert!(is_xml_text(text), "text {text:?}");
                assert!(!previous_was_text, "adjacent text nodes");
                previous_was_text = true;
            }
            Node::Element(child) => {
                previous_was_text = false;
                if child
                    .attributes
                    .iter()
                    .all(|a| !(a.namespace == XML_NS && a.local == "lang"))
                {
                    assert_eq!(child.lang, element.lang, "inherited xml:lang");
                }
                check_tree(child, depth + 1);
            }
        }
    }
}

/// The namespace of `xmlns` declarations; no element or attribute is in it.
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// XML 1.0 `Char`, what a document may hold, even through a reference.
fn is_xml_text(text: &str) -> bool {
    text.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    })
}

/// Namespaces in XML 1.0 `NCName`: an XML 1.0 `Name` without ':'.
fn is_ncname(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start_char) && chars.all(is_name_char)
}

/// XML 1.0 (fifth edition) `NameStartChar`, without ':'.
fn is_name_start_char(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 `NameChar`, without ':'.
fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

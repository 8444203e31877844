//! A small, namespace-resolved element tree for request bodies.
//!
//! Bodies are size-capped before they get here, so holding them as a tree is
//! cheap, and it lets the typed parsers match on namespace AND local name.
//! `Element::to_xml` writes an element back as self-contained XML (every
//! namespace declared where it is used), which is how dead properties and
//! lock owners are stored and given back unchanged.

use std::collections::HashSet;
use std::sync::Arc;

use quick_xml::NsReader;
use quick_xml::escape::{escape, partial_escape, unescape};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use super::XmlError;

/// The namespace the `xml:` prefix is bound to.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// The namespace of `xmlns` declarations (never of an element or attribute).
pub const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Deeper nesting than this is refused (no legitimate body comes close).
pub const MAX_DEPTH: usize = 128;

/// More namespace declarations in scope at once than this are refused (real
/// clients declare a handful). The reader resolves every prefix by looking
/// through all declarations in scope, so without a bound a body of many
/// declarations and many prefixed names takes quadratic time.
pub const MAX_NAMESPACES: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub namespace: String,
    pub local: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Namespace URI; empty when the element is in no namespace.
    pub namespace: String,
    pub local: String,
    /// Attributes other than namespace declarations.
    pub attributes: Vec<Attribute>,
    pub children: Vec<Node>,
    /// The `xml:lang` in scope (from this element or an ancestor), shared
    /// with the elements that inherit it rather than copied into each.
    pub lang: Option<Arc<str>>,
}

impl Element {
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.namespace == namespace && self.local == local
    }

    pub fn child_elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// All the text inside the element, in document order.
    pub fn text_content(&self) -> String {
        let mut out = String::new();
        for child in &self.children {
            match child {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => out.push_str(&e.text_content()),
            }
        }
        out
    }

    /// True when the element has no child elements and only whitespace text.
    pub fn is_blank(&self) -> bool {
        self.children.iter().all(|n| match n {
            Node::Element(_) => false,
            Node::Text(t) => t.trim().is_empty(),
        })
    }

    fn has_attribute(&self, namespace: &str, local: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.namespace == namespace && a.local == local)
    }

    /// `namespace:local` for messages.
    pub fn display_name(&self) -> String {
        if self.namespace.is_empty() {
            self.local.clone()
        } else {
            format!("{{{}}}{}", self.namespace, self.local)
        }
    }

    /// This element as self-contained XML. When `lang` came from an ancestor
    /// it is written on the element itself, so the value keeps its language.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.write_xml(&mut out, true);
        out
    }

    fn write_xml(&self, out: &mut String, outermost: bool) {
        let mut declared: Vec<(&str, String)> = Vec::new();
        let element_name = qualified(&self.local, &self.namespace, &mut declared);
        out.push('<');
        out.push_str(&element_name);
        let mut attrs = String::new();
        for attr in &self.attributes {
            let name = qualified(&attr.local, &attr.namespace, &mut declared);
            attrs.push_str(&format!(" {name}=\"{}\"", escape(attr.value.as_str())));
        }
        if outermost && !self.has_attribute(XML_NS, "lang") {
            if let Some(lang) = &self.lang {
                attrs.push_str(&format!(" xml:lang=\"{}\"", escape(&**lang)));
            }
        }
        for (ns, prefix) in &declared {
            out.push_str(&format!(" xmlns:{prefix}=\"{}\"", escape(*ns)));
        }
        out.push_str(&attrs);
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for child in &self.children {
            match child {
                Node::Text(text) => out.push_str(&partial_escape(text.as_str())),
                Node::Element(e) => e.write_xml(out, false),
            }
        }
        out.push_str("</");
        out.push_str(&element_name);
        out.push('>');
    }
}

/// The prefixed name for `local` in `namespace`, declaring a prefix on the
/// element being written when needed. No namespace: the bare local name
/// (responses never declare a default namespace, so that stays correct).
fn qualified<'a>(local: &str, namespace: &'a str, declared: &mut Vec<(&'a str, String)>) -> String {
    if namespace.is_empty() {
        return local.to_owned();
    }
    if namespace == XML_NS {
        return format!("xml:{local}");
    }
    let prefix = match declared.iter().find(|(ns, _)| *ns == namespace) {
        Some((_, prefix)) => prefix.clone(),
        None => {
            let prefix = format!("ns{}", declared.len());
            declared.push((namespace, prefix.clone()));
            prefix
        }
    };
    format!("{prefix}:{local}")
}

/// Parses a whole document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| XmlError::Malformed("the body is not UTF-8".into()))?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().check_end_names = true;

    let mut stack: Vec<Element> = Vec::new();
    // Namespace declarations of each open element, and their sum.
    let mut declarations: Vec<usize> = Vec::new();
    let mut in_scope = 0;
    let mut root: Option<Element> = None;
    loop {
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        match event {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Start(start) => {
                if root.is_some() {
                    return Err(XmlError::Malformed("content after the root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep(MAX_DEPTH));
                }
                let declared = start
                    .attributes()
                    .with_checks(false)
                    .filter(|a| {
                        a.as_ref()
                            .is_ok_and(|a| a.key.as_namespace_binding().is_some())
                    })
                    .count();
                in_scope += declared;
                if in_scope > MAX_NAMESPACES {
                    return Err(XmlError::TooManyNamespaces(MAX_NAMESPACES));
                }
                declarations.push(declared);
                let inherited_lang = stack.last().and_then(|e| e.lang.clone());
                let namespace = namespace_of(resolved, "an element")?;
                let element = start_element(&reader, namespace, &start, inherited_lang)?;
                stack.push(element);
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("unbalanced end tag".into()))?;
                in_scope -= declarations.pop().unwrap_or(0);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(element)),
                    None => root = Some(element),
                }
            }
            Event::Text(t) => {
                let text = t
                    .unescape()
                    .map_err(|e| XmlError::Malformed(e.to_string()))?;
                check_chars(&text, "text")?;
                push_text(&mut stack, &text)?;
            }
            Event::CData(c) => {
                let text = std::str::from_utf8(&c)
                    .map_err(|_| XmlError::Malformed("CDATA is not UTF-8".into()))?;
                check_chars(text, "CDATA")?;
                push_text(&mut stack, text)?;
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::Empty(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed("unexpected end of document".into()));
    }
    root.ok_or_else(|| XmlError::Malformed("the document has no root element".into()))
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(element) => {
            // Merge adjacent text (text + CDATA) into one node.
            if let Some(Node::Text(previous)) = element.children.last_mut() {
                previous.push_str(text);
            } else {
                element.children.push(Node::Text(text.to_owned()));
            }
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlError::Malformed("text outside the root element".into())),
    }
}

fn namespace_of(resolved: ResolveResult, what: &str) -> Result<String, XmlError> {
    match resolved {
        // The resolver hands back the declaration's value as written; the
        // namespace name is that value unescaped (`&amp;` is `&`).
        ResolveResult::Bound(ns) => {
            let written = std::str::from_utf8(ns.as_ref())
                .map_err(|_| XmlError::Malformed("namespace is not UTF-8".into()))?;
            let name = unescape(written).map_err(|e| XmlError::Malformed(e.to_string()))?;
            check_chars(&name, "a namespace name")?;
            // Namespaces in XML 1.0 §3: only declarations are in it.
            if name == XMLNS_NS {
                return Err(XmlError::Malformed(format!(
                    "{what} is in the namespace reserved for xmlns declarations"
                )));
            }
            Ok(name.into_owned())
        }
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(prefix) => Err(XmlError::Malformed(format!(
            "undeclared namespace prefix '{}' on {what}",
            String::from_utf8_lossy(&prefix)
        ))),
    }
}

fn start_element(
    reader: &NsReader<&[u8]>,
    namespace: String,
    start: &BytesStart,
    inherited_lang: Option<Arc<str>>,
) -> Result<Element, XmlError> {
    check_qname(start.name().as_ref())?;
    let local = utf8(start.local_name().as_ref())?;
    let mut element = Element {
        namespace,
        local,
        attributes: Vec::new(),
        children: Vec::new(),
        lang: inherited_lang,
    };
    // Attribute names are unique as written (XML 1.0, Unique Att Spec) and
    // as expanded names (Namespaces in XML 1.0 §6.3: `p:a` and `q:a` with p
    // and q bound to one namespace are the same name). Checked here with
    // sets: the reader's own check compares each name with every earlier
    // one, quadratic in the number of attributes.
    let mut written = HashSet::new();
    let mut expanded = HashSet::new();
    for attr in start.attributes().with_checks(false) {
        let attr = attr.map_err(|e| XmlError::Malformed(e.to_string()))?;
        let key = attr.key;
        check_qname(key.as_ref())?;
        if !written.insert(key.into_inner()) {
            return Err(XmlError::Malformed(format!(
                "duplicated attribute '{}'",
                String::from_utf8_lossy(key.as_ref())
            )));
        }
        let value = attr
            .unescape_value()
            .map_err(|e| XmlError::Malformed(e.to_string()))?
            .into_owned();
        check_chars(&value, "an attribute value")?;
        if key.as_namespace_binding().is_some() {
            // XML Namespaces 1.0 §3: a prefix may not be bound to "".
            if key.as_ref() != b"xmlns" && value.is_empty() {
                return Err(XmlError::Malformed(format!(
                    "empty namespace name bound to prefix '{}'",
                    String::from_utf8_lossy(key.as_ref())
                )));
            }
            continue;
        }
        let (attr_resolved, attr_local) = reader.resolve_attribute(key);
        let attr_local = utf8(attr_local.as_ref())?;
        let namespace = namespace_of(attr_resolved, &attr_local)?;
        if !expanded.insert((namespace.clone(), attr_local.clone())) {
            return Err(XmlError::Malformed(format!(
                "two attributes named {{{namespace}}}{attr_local}"
            )));
        }
        if namespace == XML_NS && attr_local == "lang" {
            element.lang = Some(Arc::from(value.as_str()));
        }
        element.attributes.push(Attribute {
            namespace,
            local: attr_local,
            value,
        });
    }
    Ok(element)
}

/// XML 1.0 §2.2: a document holds only `Char`s, written or referenced
/// (`&#1;` is as wrong as a raw U+0001). The reader does not check; what it
/// let through would be stored and make every answer that gives it back
/// unreadable to clients.
fn check_chars(text: &str, what: &str) -> Result<(), XmlError> {
    match text.chars().find(|&c| !is_xml_char(c)) {
        None => Ok(()),
        Some(c) => Err(XmlError::Malformed(format!(
            "{what} holds U+{:04X}, which is not an XML character",
            u32::from(c)
        ))),
    }
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Namespaces in XML 1.0 `QName`: an `NCName`, or two joined by ':'. The
/// reader does not check names; without this, `<p:/>` or `<a}b>` would be
/// kept, stored as a dead property and written into every PROPFIND answer
/// that lists it, which then no client could parse.
fn check_qname(name: &[u8]) -> Result<(), XmlError> {
    let valid = std::str::from_utf8(name).is_ok_and(|name| match name.split_once(':') {
        Some((prefix, local)) => is_ncname(prefix) && is_ncname(local),
        None => is_ncname(name),
    });
    if valid {
        Ok(())
    } else {
        Err(XmlError::Malformed(format!(
            "{:?} is not an XML name",
            String::from_utf8_lossy(name)
        )))
    }
}

/// `NCName`: an XML 1.0 `Name` without ':'.
fn is_ncname(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start_char) && chars.all(is_name_char)
}

/// XML 1.0 (fifth edition) §2.3 `NameStartChar`, without ':'.
fn is_name_start_char(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 §2.3 `NameChar`, without ':'.
fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

fn utf8(bytes: &[u8]) -> Result<String, XmlError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| XmlError::Malformed("a name is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_resolved_to_namespace_and_local_name() {
        let root =
            parse(br#"<?xml version="1.0"?><D:a xmlns:D="DAV:"><b xmlns="urn:x"/></D:a>"#).unwrap();
        assert!(root.is("DAV:", "a"));
        let child = root.child_elements().next().unwrap();
        assert!(child.is("urn:x", "b"));
    }

    #[test]
    fn doctype_and_entities_are_refused() {
        let body = br#"<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "boom">]><a>&x;</a>"#;
        assert_eq!(parse(body), Err(XmlError::Doctype));
        assert!(matches!(parse(b"<a>&x;</a>"), Err(XmlError::Malformed(_))));
    }

    #[test]
    fn malformed_documents_are_refused() {
        for body in [
            &b"<a>"[..],
            b"<a></b>",
            b"",
            b"text",
            b"<a/><b/>",
            b"<p:a/>",
        ] {
            assert!(
                matches!(parse(body), Err(XmlError::Malformed(_))),
                "{body:?}"
            );
        }
        assert!(matches!(
            parse(br#"<a xmlns:bar=""/>"#),
            Err(XmlError::Malformed(_))
        ));
    }

    /// Fuzz finding (xml_bodies, crash-0dd5dc16, minimized to
    /// `<D:propfind xmlns:D="A"><D:prop xmlns:Z="\0"><Z:/></D:prop></D:propfind>`,
    /// then crash-26be6976): names were not checked, so an element could
    /// have an empty local name or one with NUL, `~` or `}` in it.
    #[test]
    fn element_and_attribute_names_must_be_xml_names() {
        for body in [
            &br#"<a xmlns:Z="urn:z"><Z:/></a>"#[..],
            b"<a\0b/>",
            b"<a~b/>",
            b"<1a/>",
            b"<-a/>",
            b"<:a/>",
            br#"<a:b:c xmlns:a="urn:a"/>"#,
            br#"<a b}c="1"/>"#,
            br#"<a xmlns:1="urn:a"/>"#,
            "<a\u{7f}/>".as_bytes(),
        ] {
            assert!(
                matches!(parse(body), Err(XmlError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        for body in [
            "<\u{e9}t\u{e9}-1.x_y\u{b7}z/>",
            r#"<p:a xmlns:p="urn:p" p:b="1" c="2" xml:lang="en"/>"#,
            "<_\u{10000}/>",
        ] {
            assert!(parse(body.as_bytes()).is_ok(), "{body:?}");
        }
    }

    /// Fuzz finding (xml_bodies, crash-e88999de): a namespace name of NUL
    /// characters was kept; text and attribute values took any character,
    /// written or referenced.
    #[test]
    fn only_xml_characters_are_accepted() {
        for body in [
            &b"<a xmlns=\"urn:\0\"/>"[..],
            b"<a xmlns=\"urn:&#1;\"/>",
            b"<a>\x01</a>",
            b"<a>&#0;</a>",
            b"<a>&#x1F;</a>",
            b"<a><![CDATA[\x02]]></a>",
            b"<a b=\"\x1b\"/>",
            b"<a b=\"&#8;\"/>",
            "<a>\u{FFFE}</a>".as_bytes(),
            b"<a>&#xFFFF;</a>",
        ] {
            assert!(
                matches!(parse(body), Err(XmlError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        let root = parse("<a b=\"&#9;&#13;\">\t\r\n&#x10FFFF;\u{E000}</a>".as_bytes()).unwrap();
        assert_eq!(root.attributes[0].value, "\t\r");
        assert_eq!(root.text_content(), "\t\r\n\u{10FFFF}\u{E000}");
    }

    /// Fuzz finding (xml_bodies, crash-2863c4aa, minimized to
    /// `<D:propfind xmlns:D="D">d><xmlns:p/></D:propfind>`): an element with
    /// the `xmlns` prefix was kept in the xmlns namespace, and `to_xml` then
    /// bound a prefix to that namespace, which no XML parser accepts.
    #[test]
    fn nothing_is_in_the_xmlns_namespace() {
        for body in [
            &b"<xmlns:p/>"[..],
            b"<a xmlns:p=\"http://www.w3.org/2000/xmlns/\"><p:b/></a>",
            b"<a xmlns=\"http://www.w3.org/2000/xmlns/\"/>",
            b"<a xmlns:p=\"http://www.w3.org/2000/xmlns/\" p:c=\"1\"/>",
        ] {
            assert!(
                matches!(parse(body), Err(XmlError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        let root = parse(br#"<a xmlns="urn:a" xmlns:p="urn:p" p:b="1"/>"#).unwrap();
        assert_eq!(root.attributes.len(), 1);
    }

    /// Found with the xml_bodies harness on a hand-written body (the
    /// fuzzer had not reached it): `p:x` and `q:x`, with p and q bound to
    /// one namespace, were both kept, and `to_xml` wrote `ns0:x` twice,
    /// which does not parse. The slow-input check found the other half: the
    /// reader's duplicate check was quadratic: about 13 s of CPU for one
    /// 1 MiB body of 105,000 attributes (release build). No timing
    /// assertion here; the old code took 18 s for this test in a debug
    /// build, now 0.2 s.
    #[test]
    fn attributes_are_unique_by_expanded_name_and_checked_in_linear_time() {
        for body in [
            &br#"<a xmlns:p="urn:u" xmlns:q="urn:u" p:x="1" q:x="2"/>"#[..],
            br#"<a xmlns:p="http://www.w3.org/XML/1998/namespace" xml:lang="en" p:lang="fr"/>"#,
            br#"<a b="1" b="2"/>"#,
            br#"<a xmlns:p="urn:u" xmlns:p="urn:v"/>"#,
        ] {
            assert!(
                matches!(parse(body), Err(XmlError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        let root = parse(br#"<a xmlns:p="urn:u" xmlns:q="urn:v" p:x="1" q:x="2" x="3"/>"#).unwrap();
        assert_eq!(root.attributes.len(), 3);
        assert_eq!(parse(root.to_xml().as_bytes()).as_ref(), Ok(&root));

        let many: String = (0..40_000).map(|i| format!(" a{i}=\"\"")).collect();
        let root = parse(format!("<a{many}/>").as_bytes()).unwrap();
        assert_eq!(root.attributes.len(), 40_000);
    }

    /// Found by the slow-input check: a prefix is resolved by looking
    /// through every declaration in scope, so 25,000 declarations followed
    /// by 50,000 prefixed elements (1 MiB) took about 3 s (release build).
    #[test]
    fn namespace_declarations_in_scope_are_capped() {
        let declare = |from: usize, n: usize| -> String {
            (from..from + n)
                .map(|i| format!(" xmlns:p{i}=\"urn:{i}\""))
                .collect()
        };
        let half = MAX_NAMESPACES / 2;
        let accepted = [
            format!("<a{}/>", declare(0, MAX_NAMESPACES)),
            format!("<a{}><b{}/></a>", declare(0, half), declare(half, half)),
            // Siblings' declarations go out of scope with them.
            format!(
                "<a{}><b{}/><c{}/></a>",
                declare(0, half),
                declare(half, half),
                declare(half, half)
            ),
        ];
        for body in accepted {
            assert!(parse(body.as_bytes()).is_ok(), "{body}");
        }
        let refused = [
            format!("<a{}/>", declare(0, MAX_NAMESPACES + 1)),
            format!("<a{}><b{}/></a>", declare(0, half), declare(half, half + 1)),
            format!("<a xmlns=\"urn:d\"{}/>", declare(0, MAX_NAMESPACES)),
        ];
        for body in refused {
            assert_eq!(
                parse(body.as_bytes()),
                Err(XmlError::TooManyNamespaces(MAX_NAMESPACES)),
                "{body}"
            );
        }
        let body = format!(
            "<a{}>{}</a>",
            declare(0, 20_000),
            (0..20_000)
                .map(|i| format!("<p{i}:b/>"))
                .collect::<String>()
        );
        assert_eq!(
            parse(body.as_bytes()),
            Err(XmlError::TooManyNamespaces(MAX_NAMESPACES))
        );
    }

    /// Found by reviewing the tree for the slow-input check: every element
    /// kept its own copy of the inherited `xml:lang`. A 256 KiB body (a
    /// 128 KiB `xml:lang`, then 32,000 empty elements) took 4.3 GB of
    /// memory; a 1 MiB body would take about 68 GB.
    #[test]
    fn inherited_language_is_shared_not_copied() {
        let lang = "a".repeat(4096);
        let body = format!("<a xml:lang=\"{lang}\">{}</a>", "<b><c/></b>".repeat(4096));
        let root = parse(body.as_bytes()).unwrap();
        let shared = root.lang.as_ref().unwrap();
        assert_eq!(&**shared, lang);
        for b in root.child_elements() {
            assert!(Arc::ptr_eq(b.lang.as_ref().unwrap(), shared));
            let c = b.child_elements().next().unwrap();
            assert!(Arc::ptr_eq(c.lang.as_ref().unwrap(), shared));
        }
        // An element's own xml:lang still wins.
        let root = parse(br#"<a xml:lang="en"><b xml:lang="fr"/></a>"#).unwrap();
        let b = root.child_elements().next().unwrap();
        assert_eq!(b.lang.as_deref(), Some("fr"));
    }

    #[test]
    fn nesting_is_capped() {
        let body = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(body.as_bytes()), Err(XmlError::TooDeep(MAX_DEPTH)));
    }

    /// Fuzz finding (xml_bodies, crash-71c08f7f): a namespace name is the
    /// declaration's value unescaped, like any attribute value. It was kept
    /// as written, so `urn:a&amp;b` named the namespace `urn:a&amp;b`, and
    /// each `to_xml` escaped it once more.
    #[test]
    fn escaped_namespace_names_are_unescaped_and_round_trip() {
        let body = br#"<a xmlns="urn:a&amp;b"><p:b xmlns:p="urn:&quot;q&#34;&lt;" p:c="1"/></a>"#;
        let root = parse(body).unwrap();
        assert_eq!(root.namespace, "urn:a&b");
        let child = root.child_elements().next().unwrap();
        assert_eq!(child.namespace, "urn:\"q\"<");
        assert_eq!(child.attributes[0].namespace, "urn:\"q\"<");
        for element in [&root, child] {
            assert_eq!(parse(element.to_xml().as_bytes()).as_ref(), Ok(element));
        }
        assert!(matches!(
            parse(br#"<a xmlns="urn:a&b"/>"#),
            Err(XmlError::Malformed(_))
        ));
    }

    #[test]
    fn to_xml_is_self_contained_and_keeps_lang_and_mixed_content() {
        let body = br#"<prop xmlns="urn:outer" xml:lang="en"><z:p xmlns:z="urn:z" z:attr="1">Hi <b>bold</b> &amp; more</z:p></prop>"#;
        let root = parse(body).unwrap();
        let p = root.child_elements().next().unwrap();
        let xml = p.to_xml();
        assert_eq!(
            xml,
            r#"<ns0:p xmlns:ns0="urn:z" ns0:attr="1" xml:lang="en">Hi <ns0:b xmlns:ns0="urn:outer">bold</ns0:b> &amp; more</ns0:p>"#
        );
        // Reparsing gives the same infoset.
        let again = parse(xml.as_bytes()).unwrap();
        assert_eq!(again.namespace, "urn:z");
        assert_eq!(again.lang.as_deref(), Some("en"));
        assert_eq!(again.children.len(), 3);
    }
}

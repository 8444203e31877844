//! A tiny namespace-aware DOM over quick-xml, and a `DAV:multistatus` reader, so that
//! assertions compare namespace + local name and never depend on the prefixes the
//! server chose (RFC 4918 §14: elements are identified by namespace and name).

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Element(Element),
    Text(String),
}

#[derive(Debug, Clone)]
pub struct Element {
    /// Namespace URI ("" when unbound).
    pub ns: String,
    pub name: String,
    /// Attributes by their qualified name as written (e.g. `xml:lang`).
    pub attrs: Vec<(String, String)>,
    /// The same attributes as `(namespace, local name, value)`, sorted, without
    /// namespace declarations: what the infoset says, whatever the prefixes.
    pub resolved_attrs: Vec<(String, String, String)>,
    /// Effective `xml:lang`: this element's own or the nearest ancestor's.
    pub lang: Option<String>,
    pub children: Vec<Node>,
}

/// Equal when the infosets are (§4.3, §14.17: a server may pick other
/// prefixes): namespace, local name, resolved attributes and children. The
/// prefixes written and the `lang` inherited from outside do not count.
impl PartialEq for Element {
    fn eq(&self, other: &Self) -> bool {
        self.ns == other.ns
            && self.name == other.name
            && self.resolved_attrs == other.resolved_attrs
            && self.children == other.children
    }
}

impl Element {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(ns, name))
    }

    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> {
        self.elements().filter(move |e| e.is(ns, name))
    }

    /// Every descendant (depth first) with this name.
    pub fn descendants(&self, ns: &str, name: &str) -> Vec<&Element> {
        let mut out = Vec::new();
        for e in self.elements() {
            if e.is(ns, name) {
                out.push(e);
            }
            out.extend(e.descendants(ns, name));
        }
        out
    }

    /// Concatenated text of this element and its descendants.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            match n {
                Node::Text(t) => s.push_str(t),
                Node::Element(e) => s.push_str(&e.text()),
            }
        }
        s
    }

    pub fn attr(&self, qname: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == qname)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a document into its root element; panics with the text if it is not well-formed.
/// Whitespace-only text nodes are dropped; other text is kept verbatim.
pub fn parse(text: &str) -> Element {
    try_parse(text).unwrap_or_else(|e| panic!("response is not well-formed XML ({e}):\n{text}"))
}

pub fn try_parse(text: &str) -> Result<Element, String> {
    read(text, false)
}

/// Like `parse`, but every character of text is kept, whitespace included,
/// and adjacent text (around CDATA or comments) is merged into one node: for
/// comparing XML a client sent with what the server gives back (`DAV:owner`).
pub fn parse_exact(text: &str) -> Element {
    read(text, true).unwrap_or_else(|e| panic!("not well-formed XML ({e}):\n{text}"))
}

fn read(text: &str, exact: bool) -> Result<Element, String> {
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(|e| e.to_string())?;
        match event {
            Event::Start(start) => {
                let ns = namespace(ns)?;
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                let mut attrs = Vec::new();
                let mut resolved_attrs = Vec::new();
                for a in start.attributes() {
                    let a = a.map_err(|e| e.to_string())?;
                    let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                    let value = a.unescape_value().map_err(|e| e.to_string())?.into_owned();
                    if a.key.as_namespace_binding().is_none() {
                        let (attr_ns, local) = reader.resolve_attribute(a.key);
                        let local = String::from_utf8_lossy(local.as_ref()).into_owned();
                        resolved_attrs.push((namespace(attr_ns)?, local, value.clone()));
                    }
                    attrs.push((key, value));
                }
                resolved_attrs.sort();
                let own_lang = attrs
                    .iter()
                    .find(|(k, _)| k == "xml:lang")
                    .map(|(_, v)| v.clone());
                let lang = own_lang.or_else(|| stack.last().and_then(|p| p.lang.clone()));
                stack.push(Element {
                    ns,
                    name,
                    attrs,
                    resolved_attrs,
                    lang,
                    children: Vec::new(),
                });
            }
            Event::End(_) => {
                let done = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(done)),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                let t = t.unescape().map_err(|e| e.to_string())?.into_owned();
                if let Some(parent) = stack.last_mut() {
                    if exact {
                        push_merged(parent, t);
                    } else if !t.trim().is_empty() {
                        parent.children.push(Node::Text(t));
                    }
                }
            }
            Event::CData(c) => {
                let t = String::from_utf8_lossy(&c.into_inner()).into_owned();
                if let Some(parent) = stack.last_mut() {
                    if exact {
                        push_merged(parent, t);
                    } else {
                        parent.children.push(Node::Text(t));
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    root.ok_or_else(|| "no root element".to_string())
}

fn namespace(r: ResolveResult) -> Result<String, String> {
    match r {
        ResolveResult::Bound(n) => Ok(String::from_utf8_lossy(n.as_ref()).into_owned()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(p) => Err(format!("unbound prefix {}", String::from_utf8_lossy(&p))),
    }
}

/// Appends text to the last text child, or as a new child when it is not empty.
fn push_merged(parent: &mut Element, t: String) {
    if let Some(Node::Text(prev)) = parent.children.last_mut() {
        prev.push_str(&t);
    } else if !t.is_empty() {
        parent.children.push(Node::Text(t));
    }
}

/// Status code from `HTTP/1.1 207 Multi-Status`.
pub fn status_code(line: &str) -> u16 {
    line.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a status line: {line:?}"))
}

/// `http://host:port/a/b` or `/a/b` → `/a/b` (as sent, still percent-encoded).
pub fn href_path(href: &str) -> String {
    let href = href.trim();
    if let Some(rest) = href
        .strip_prefix("http://")
        .or_else(|| href.strip_prefix("https://"))
    {
        match rest.find('/') {
            Some(i) => rest[i..].to_string(),
            None => "/".to_string(),
        }
    } else {
        href.to_string()
    }
}

/// Percent-decodes a path for comparisons.
pub fn decode(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned()
}

#[derive(Debug, Clone)]
pub struct PropStat {
    pub status: u16,
    pub props: Vec<Element>,
    pub error: Option<Element>,
}

#[derive(Debug, Clone)]
pub struct MsResponse {
    /// The href as sent, reduced to its path (still percent-encoded).
    pub href: String,
    /// `DAV:status` directly under `DAV:response` (non-propstat form).
    pub status: Option<u16>,
    pub propstats: Vec<PropStat>,
    pub error: Option<Element>,
}

impl MsResponse {
    /// The property and the status of the propstat that holds it.
    pub fn prop(&self, ns: &str, name: &str) -> Option<(u16, &Element)> {
        self.propstats.iter().find_map(|ps| {
            ps.props
                .iter()
                .find(|p| p.is(ns, name))
                .map(|p| (ps.status, p))
        })
    }

    pub fn prop_status(&self, ns: &str, name: &str) -> Option<u16> {
        self.prop(ns, name).map(|(s, _)| s)
    }

    /// A property that must be in a 200 propstat.
    pub fn ok_prop(&self, ns: &str, name: &str) -> &Element {
        match self.prop(ns, name) {
            Some((200, p)) => p,
            other => panic!(
                "{{{ns}}}{name} of {}: expected in a 200 propstat, got {other:?}",
                self.href
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Multistatus {
    pub root: Element,
    pub responses: Vec<MsResponse>,
}

impl Multistatus {
    pub fn parse(body: &str) -> Multistatus {
        let root = parse(body);
        assert!(
            root.is("DAV:", "multistatus"),
            "expected DAV:multistatus, got {{{}}}{}:\n{body}",
            root.ns,
            root.name
        );
        let responses = root
            .children_named("DAV:", "response")
            .map(|r| {
                let hrefs: Vec<_> = r.children_named("DAV:", "href").collect();
                assert!(!hrefs.is_empty(), "response without href:\n{body}");
                let propstats = r
                    .children_named("DAV:", "propstat")
                    .map(|ps| PropStat {
                        status: status_code(
                            &ps.child("DAV:", "status")
                                .unwrap_or_else(|| panic!("propstat without status:\n{body}"))
                                .text(),
                        ),
                        props: ps
                            .child("DAV:", "prop")
                            .map(|p| p.elements().cloned().collect())
                            .unwrap_or_default(),
                        error: ps.child("DAV:", "error").cloned(),
                    })
                    .collect();
                MsResponse {
                    href: href_path(&hrefs[0].text()),
                    status: r.child("DAV:", "status").map(|s| status_code(&s.text())),
                    propstats,
                    error: r.child("DAV:", "error").cloned(),
                }
            })
            .collect();
        Multistatus { root, responses }
    }

    /// The response whose href names `path` (compared percent-decoded).
    pub fn find(&self, path: &str) -> Option<&MsResponse> {
        let want = decode(path);
        self.responses.iter().find(|r| decode(&r.href) == want)
    }

    pub fn response(&self, path: &str) -> &MsResponse {
        self.find(path)
            .unwrap_or_else(|| panic!("no response for {path}; hrefs: {:?}", self.hrefs()))
    }

    pub fn hrefs(&self) -> Vec<String> {
        self.responses.iter().map(|r| r.href.clone()).collect()
    }
}

//! The PROPFIND request body (RFC 4918 §14.20): allprop, propname or prop.

use super::dom::{self, Element};
use super::{DAV_NS, XmlError};
use crate::store::PropertyName;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropfindRequest {
    /// All dead properties and the live ones, plus any `include`d names.
    AllProp { include: Vec<PropertyName> },
    /// The names of all properties, without values.
    PropName,
    /// The listed properties.
    Prop(Vec<PropertyName>),
}

/// Parses a PROPFIND body; an empty body means allprop (§9.1).
pub fn parse(body: &[u8]) -> Result<PropfindRequest, XmlError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(PropfindRequest::AllProp { include: vec![] });
    }
    let root = dom::parse(body)?;
    if !root.is(DAV_NS, "propfind") {
        return Err(XmlError::UnexpectedElement {
            expected: "propfind",
            found: root.display_name(),
        });
    }
    let mut request = None;
    let mut include = Vec::new();
    for child in root.child_elements().filter(|c| c.namespace == DAV_NS) {
        let parsed = match child.local.as_str() {
            "allprop" => PropfindRequest::AllProp { include: vec![] },
            "propname" => PropfindRequest::PropName,
            "prop" => PropfindRequest::Prop(names_in(child)),
            "include" => {
                include.extend(names_in(child));
                continue;
            }
            // Unknown DAV: elements are ignored for extensibility (§17).
            _ => continue,
        };
        if request.replace(parsed).is_some() {
            return Err(XmlError::Invalid(
                "propfind must contain exactly one of allprop, propname or prop".into(),
            ));
        }
    }
    match request {
        Some(PropfindRequest::AllProp { .. }) => Ok(PropfindRequest::AllProp { include }),
        Some(other) => Ok(other),
        None => Err(XmlError::Invalid(
            "propfind must contain allprop, propname or prop".into(),
        )),
    }
}

/// The property names listed as child elements of `prop` or `include`.
pub fn names_in(parent: &Element) -> Vec<PropertyName> {
    parent
        .child_elements()
        .map(|e| PropertyName::new(e.namespace.clone(), e.local.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_body_is_allprop() {
        assert_eq!(
            parse(b"").unwrap(),
            PropfindRequest::AllProp { include: vec![] }
        );
        assert_eq!(
            parse(b" \r\n").unwrap(),
            PropfindRequest::AllProp { include: vec![] }
        );
    }

    #[test]
    fn prop_lists_names_with_namespaces() {
        let body = br#"<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/><x:color xmlns:x="urn:x"/><plain xmlns=""/></prop></propfind>"#;
        assert_eq!(
            parse(body).unwrap(),
            PropfindRequest::Prop(vec![
                PropertyName::new("DAV:", "getetag"),
                PropertyName::new("urn:x", "color"),
                PropertyName::new("", "plain"),
            ])
        );
    }

    #[test]
    fn allprop_with_include_and_propname() {
        let body = br#"<D:propfind xmlns:D="DAV:"><D:allprop/><D:include><D:supportedlock/></D:include></D:propfind>"#;
        assert_eq!(
            parse(body).unwrap(),
            PropfindRequest::AllProp {
                include: vec![PropertyName::new("DAV:", "supportedlock")]
            }
        );
        let body = br#"<propfind xmlns="DAV:"><propname/></propfind>"#;
        assert_eq!(parse(body).unwrap(), PropfindRequest::PropName);
    }

    #[test]
    fn right_local_name_in_the_wrong_namespace_is_refused() {
        let body = br#"<propfind xmlns="urn:not-dav"><allprop/></propfind>"#;
        assert!(matches!(
            parse(body),
            Err(XmlError::UnexpectedElement { .. })
        ));
        let body = br#"<D:propfind xmlns:D="DAV:"><allprop xmlns="urn:x"/></D:propfind>"#;
        assert!(matches!(parse(body), Err(XmlError::Invalid(_))));
    }

    #[test]
    fn two_kinds_at_once_are_refused() {
        let body = br#"<propfind xmlns="DAV:"><allprop/><propname/></propfind>"#;
        assert!(matches!(parse(body), Err(XmlError::Invalid(_))));
    }
}

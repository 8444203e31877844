//! The PROPPATCH request body (RFC 4918 §14.19): set and remove, in order.

use super::dom;
use super::{DAV_NS, XmlError};
use crate::store::{DeadProperty, PatchOp, PropertyName};

/// Parses a `propertyupdate` into its instructions, in document order.
pub fn parse(body: &[u8]) -> Result<Vec<PatchOp>, XmlError> {
    let root = dom::parse(body)?;
    if !root.is(DAV_NS, "propertyupdate") {
        return Err(XmlError::UnexpectedElement {
            expected: "propertyupdate",
            found: root.display_name(),
        });
    }
    let mut ops = Vec::new();
    for instruction in root.child_elements().filter(|c| c.namespace == DAV_NS) {
        let is_set = match instruction.local.as_str() {
            "set" => true,
            "remove" => false,
            _ => continue,
        };
        for prop in instruction
            .child_elements()
            .filter(|e| e.is(DAV_NS, "prop"))
        {
            for element in prop.child_elements() {
                let name = PropertyName::new(element.namespace.clone(), element.local.clone());
                ops.push(if is_set {
                    PatchOp::Set(DeadProperty {
                        name,
                        xml: element.to_xml(),
                    })
                } else {
                    PatchOp::Remove(name)
                });
            }
        }
    }
    if ops.is_empty() {
        return Err(XmlError::Invalid(
            "propertyupdate names no property to set or remove".into(),
        ));
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_remove_keep_document_order_and_values() {
        let body = br#"<?xml version="1.0"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z">
  <D:remove><D:prop><Z:old/></D:prop></D:remove>
  <D:set><D:prop xml:lang="fr"><Z:title>Bonjour <b>monde</b></Z:title></D:prop></D:set>
</D:propertyupdate>"#;
        let ops = parse(body).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0], PatchOp::Remove(PropertyName::new("urn:z", "old")));
        let PatchOp::Set(prop) = &ops[1] else {
            panic!("expected a set, got {:?}", ops[1]);
        };
        assert_eq!(prop.name, PropertyName::new("urn:z", "title"));
        assert_eq!(
            prop.xml,
            r#"<ns0:title xmlns:ns0="urn:z" xml:lang="fr">Bonjour <b>monde</b></ns0:title>"#
        );
    }

    #[test]
    fn empty_or_foreign_updates_are_refused() {
        let body = br#"<D:propertyupdate xmlns:D="DAV:"></D:propertyupdate>"#;
        assert!(matches!(parse(body), Err(XmlError::Invalid(_))));
        let body = br#"<propertyupdate xmlns="urn:x"><set/></propertyupdate>"#;
        assert!(matches!(
            parse(body),
            Err(XmlError::UnexpectedElement { .. })
        ));
    }
}

//! The LOCK request body (RFC 4918 §14.11 lockinfo).

use super::dom;
use super::{DAV_NS, XmlError};
use crate::locks::LockScope;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    pub scope: LockScope,
    /// The whole `DAV:owner` element as self-contained XML (§14.17: kept as
    /// the client sent it).
    pub owner: Option<String>,
}

pub fn parse(body: &[u8]) -> Result<LockInfo, XmlError> {
    let root = dom::parse(body)?;
    if !root.is(DAV_NS, "lockinfo") {
        return Err(XmlError::UnexpectedElement {
            expected: "lockinfo",
            found: root.display_name(),
        });
    }
    let dav_child = |local: &str| root.child_elements().find(|e| e.is(DAV_NS, local));
    let scope_element = dav_child("lockscope")
        .ok_or_else(|| XmlError::Invalid("lockinfo needs a DAV:lockscope".into()))?;
    let scope = scope_element
        .child_elements()
        .find_map(|e| match (e.namespace.as_str(), e.local.as_str()) {
            (DAV_NS, "exclusive") => Some(LockScope::Exclusive),
            (DAV_NS, "shared") => Some(LockScope::Shared),
            _ => None,
        })
        .ok_or_else(|| XmlError::Invalid("lockscope must be DAV:exclusive or DAV:shared".into()))?;
    let locktype = dav_child("locktype")
        .ok_or_else(|| XmlError::Invalid("lockinfo needs a DAV:locktype".into()))?;
    if !locktype.child_elements().any(|e| e.is(DAV_NS, "write")) {
        return Err(XmlError::Invalid("only DAV:write locks exist".into()));
    }
    let owner = dav_child("owner").map(|e| e.to_xml());
    Ok(LockInfo { scope, owner })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_is_kept_with_namespaces_attributes_and_children_s14_17() {
        let body = br#"<?xml version="1.0"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>
<D:owner><D:href>mailto:ana@example.org</D:href><x:note xmlns:x="urn:x" x:lang="pt">Ola</x:note></D:owner></D:lockinfo>"#;
        let info = parse(body).unwrap();
        assert_eq!(info.scope, LockScope::Exclusive);
        assert_eq!(
            info.owner.as_deref(),
            Some(
                r#"<ns0:owner xmlns:ns0="DAV:"><ns0:href xmlns:ns0="DAV:">mailto:ana@example.org</ns0:href><ns0:note xmlns:ns0="urn:x" ns0:lang="pt">Ola</ns0:note></ns0:owner>"#
            )
        );
    }

    #[test]
    fn shared_without_owner() {
        let body = br#"<lockinfo xmlns="DAV:"><lockscope><shared/></lockscope><locktype><write/></locktype></lockinfo>"#;
        assert_eq!(
            parse(body).unwrap(),
            LockInfo {
                scope: LockScope::Shared,
                owner: None
            }
        );
    }

    #[test]
    fn wrong_namespace_or_missing_parts_are_refused() {
        let body = br#"<lockinfo xmlns="urn:x"><lockscope><shared/></lockscope><locktype><write/></locktype></lockinfo>"#;
        assert!(matches!(
            parse(body),
            Err(XmlError::UnexpectedElement { .. })
        ));
        let body = br#"<lockinfo xmlns="DAV:"><locktype><write/></locktype></lockinfo>"#;
        assert!(matches!(parse(body), Err(XmlError::Invalid(_))));
        let body = br#"<lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope><locktype><read/></locktype></lockinfo>"#;
        assert!(matches!(parse(body), Err(XmlError::Invalid(_))));
    }
}

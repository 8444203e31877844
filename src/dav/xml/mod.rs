//! XML request bodies and responses.
//!
//! Request bodies are parsed by `dom::parse` into a small element tree with
//! every name resolved to (namespace, local name); DOCTYPE and entity
//! declarations are refused outright. The typed parsers (`propfind`,
//! `proppatch`) read that tree; `render` writes responses.

pub mod dom;
pub mod lockinfo;
pub mod propfind;
pub mod proppatch;
pub mod render;

/// The WebDAV namespace.
pub const DAV_NS: &str = "DAV:";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("DOCTYPE and entity declarations are not accepted")]
    Doctype,
    #[error("XML nested deeper than {0} elements")]
    TooDeep(usize),
    #[error("more than {0} XML namespace declarations in scope")]
    TooManyNamespaces(usize),
    #[error("request body larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("expected a DAV:{expected} element, found {found}")]
    UnexpectedElement {
        expected: &'static str,
        found: String,
    },
    #[error("{0}")]
    Invalid(String),
}

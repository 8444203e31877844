//! HTTP plumbing every surface shares: the one body type, and the mapping
//! between request paths and `ResourcePath`s (decoding, normalising,
//! encoding hrefs). No surface logic lives here.

pub mod body;
pub mod path;

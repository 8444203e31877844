//! HTTP plumbing every surface shares: the one body type, and the mapping
//! between request paths and `ResourcePath`s (decoding, normalising,
//! encoding hrefs). No surface logic lives here.

/// The first path segment that is the server's own (admin page, APIs),
/// never a served file.
pub const RESERVED_PREFIX: &str = "_deadbolt";

pub mod body;
pub mod guard;
pub mod path;
pub mod prefer;

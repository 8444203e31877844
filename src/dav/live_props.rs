//! Live properties (RFC 4918 §15): computed from the resource, never stored.

use crate::authority::now;
use crate::dav::sync_clients;
use crate::dav::xml::DAV_NS;
use crate::dav::xml::propfind::PropfindRequest as Wanted;
use crate::dav::xml::render::{self, PropValue};
use crate::locks::LockTable;
use crate::locks::ResourcePath;
use crate::store::{Meta, PropertyName, Space};
use crate::web::path::href;

/// Live properties a client may never set or remove (§15, "protected").
pub const PROTECTED: &[&str] = &[
    "creationdate",
    "getcontentlength",
    "getetag",
    "getlastmodified",
    "resourcetype",
    "lockdiscovery",
    "supportedlock",
    "quota-available-bytes",
    "quota-used-bytes",
];

/// RFC 4331's quota properties: reported on collections when asked for by
/// name (never by allprop, which they would make costly), from the space
/// of the filesystem that holds the collection.
const QUOTA: [&str; 2] = ["quota-available-bytes", "quota-used-bytes"];

/// What live properties are computed from besides the resource itself,
/// read once for a whole PROPFIND answer.
pub struct Live<'a> {
    pub locks: &'a LockTable,
    /// The filesystem's space, when a quota property was asked for.
    pub space: Option<Space>,
}

/// Whether a PROPFIND asks for a quota property by name.
pub fn wants_space(wanted: &Wanted) -> bool {
    let named = |names: &[PropertyName]| {
        names
            .iter()
            .any(|n| n.namespace == DAV_NS && QUOTA.contains(&n.local.as_str()))
    };
    match wanted {
        Wanted::Prop(names) => named(names),
        Wanted::AllProp { include } => named(include),
        Wanted::PropName => false,
    }
}

pub fn is_protected(name: &PropertyName) -> bool {
    (name.namespace == DAV_NS && PROTECTED.contains(&name.local.as_str()))
        || sync_clients::is_checksums(name)
        || sync_clients::is_internal(name)
}

/// The live properties `meta` has, in the order allprop reports them.
pub fn names(meta: &Meta) -> &'static [&'static str] {
    if meta.is_collection() {
        &[
            "creationdate",
            "displayname",
            "getlastmodified",
            "resourcetype",
            "supportedlock",
            "lockdiscovery",
        ]
    } else {
        &[
            "creationdate",
            "displayname",
            "getcontentlength",
            "getcontenttype",
            "getetag",
            "getlastmodified",
            "resourcetype",
            "supportedlock",
            "lockdiscovery",
        ]
    }
}

/// A file's media type, guessed from its name's extension.
pub fn content_type(path: &ResourcePath) -> &'static str {
    mime_guess::from_path(path.name().unwrap_or(""))
        .first_raw()
        .unwrap_or("application/octet-stream")
}

/// The value of the live property `local` (in `DAV:`), if the resource has
/// it; `lockdiscovery` and the quota come from `live`, read once for the
/// whole answer.
pub fn value(local: &str, path: &ResourcePath, meta: &Meta, live: &Live<'_>) -> Option<PropValue> {
    let file = !meta.is_collection();
    let text = |name: &'static str, value: String| Some(PropValue::LiveText(name, value));
    let token = |name: &'static str, value: String| Some(PropValue::LiveToken(name, value));
    match local {
        "creationdate" => token(
            "creationdate",
            humantime::format_rfc3339_seconds(meta.created.unwrap_or(meta.modified)).to_string(),
        ),
        "displayname" => text("displayname", path.name().unwrap_or("").to_owned()),
        "getcontentlength" if file => token("getcontentlength", meta.len.to_string()),
        "getcontenttype" if file => token("getcontenttype", content_type(path).to_owned()),
        "getetag" if file => token("getetag", meta.etag.clone()),
        "getlastmodified" => token("getlastmodified", httpdate::fmt_http_date(meta.modified)),
        "resourcetype" => Some(PropValue::ResourceType {
            collection: meta.is_collection(),
        }),
        "supportedlock" => Some(PropValue::Static(render::SUPPORTED_LOCK)),
        "lockdiscovery" => {
            let now = now();
            let locks = live.locks.covering_locks(path, now);
            if locks.is_empty() {
                return Some(PropValue::Static(render::NO_LOCKS));
            }
            Some(PropValue::Xml(render::lockdiscovery(&locks, now, |lock| {
                href(&lock.root, lock.root_is_collection)
            })))
        }
        "quota-available-bytes" if !file => live
            .space
            .and_then(|s| token("quota-available-bytes", s.available.to_string())),
        "quota-used-bytes" if !file => live
            .space
            .and_then(|s| token("quota-used-bytes", s.used.to_string())),
        _ => None,
    }
}

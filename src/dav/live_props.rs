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
    // `Path::extension`'s rule: a name starting with its only dot has none.
    let extension = path
        .name()
        .and_then(|name| name.rsplit_once('.'))
        .filter(|(stem, _)| !stem.is_empty())
        .map(|(_, extension)| extension);
    let Some(extension) = extension else {
        return OCTET_STREAM;
    };
    // The guess searches a table of a thousand extensions, case-insensitively;
    // the members of a listing mostly share a few, so the last answer is kept.
    LAST_GUESS.with_borrow_mut(|(last, known)| match known {
        Some(media_type) if last == extension => media_type,
        _ => {
            let media_type = mime_guess::from_ext(extension)
                .first_raw()
                .unwrap_or(OCTET_STREAM);
            last.clear();
            last.push_str(extension);
            *known = Some(media_type);
            media_type
        }
    })
}

const OCTET_STREAM: &str = "application/octet-stream";

thread_local! {
    /// The last extension `content_type` looked up, and its media type.
    static LAST_GUESS: std::cell::RefCell<(String, Option<&'static str>)> =
        const { std::cell::RefCell::new((String::new(), None)) };
}

/// The value of the live property `local` (in `DAV:`), if the resource has
/// it; `lockdiscovery` and the quota come from `live`, read once for the
/// whole answer.
pub fn value<'a>(
    local: &str,
    path: &'a ResourcePath,
    meta: &'a Meta,
    live: &Live<'_>,
) -> Option<PropValue<'a>> {
    let file = !meta.is_collection();
    match local {
        "creationdate" => Some(PropValue::LiveRfc3339(
            "creationdate",
            meta.created.unwrap_or(meta.modified),
        )),
        "displayname" => Some(PropValue::LiveText(
            "displayname",
            path.name().unwrap_or(""),
        )),
        "getcontentlength" if file => Some(PropValue::LiveNumber("getcontentlength", meta.len)),
        "getcontenttype" if file => {
            Some(PropValue::LiveToken("getcontenttype", content_type(path)))
        }
        "getetag" if file => Some(PropValue::LiveToken("getetag", &meta.etag)),
        "getlastmodified" => Some(PropValue::LiveHttpDate("getlastmodified", meta.modified)),
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
            .map(|s| PropValue::LiveNumber("quota-available-bytes", s.available)),
        "quota-used-bytes" if !file => live
            .space
            .map(|s| PropValue::LiveNumber("quota-used-bytes", s.used)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::content_type;
    use crate::locks::ResourcePath;

    #[test]
    fn media_types_are_mime_guess_s_in_any_order() {
        let names = [
            "a.html",
            "b.html",
            "c.HTML",
            ".html",
            "..html",
            "notes",
            "file.",
            "a.tar.gz",
            "b.png",
            "a.html",
            "x.unknownext",
            "y.unknownext",
            "c.css",
            ".bashrc",
            "d.JPG",
        ];
        for name in names.iter().chain(names.iter().rev()) {
            let path = ResourcePath::root().join(*name).unwrap();
            let expected = mime_guess::from_path(name)
                .first_raw()
                .unwrap_or("application/octet-stream");
            assert_eq!(content_type(&path), expected, "{name}");
        }
    }
}

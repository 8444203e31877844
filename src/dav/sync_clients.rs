//! What sync clients (rclone, ownCloud and Nextcloud desktop) add to PUT
//! and PROPFIND so that a second sync of an unchanged tree transfers
//! nothing and verifies content by hash:
//! - `X-OC-Mtime: <seconds>` on PUT: the file gets the client's
//!   modification time (answered `X-OC-Mtime: accepted`), so its
//!   `getlastmodified` matches the client's copy;
//! - `OC-Checksum: SHA1:<hex>` (or `MD5:`) on PUT, and `Content-MD5`
//!   (RFC 1864, which Terraform sends with every state): checked against
//!   the bytes received (a mismatch is `400` and nothing is written);
//! - `oc:checksums` in PROPFIND: the SHA-1 and MD5 of the content, computed
//!   while such an upload streamed in and kept with the ETag they belong
//!   to, so a file changed since (on disk, or by a client that sends
//!   neither header) has none rather than a wrong one.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use http::HeaderMap;
use md5::Md5;
use sha1::{Digest, Sha1};

use crate::dav::error::DavError;
use crate::store::{DeadProperty, PropertyName};

/// The ownCloud namespace of `oc:checksums`.
pub const OC_NS: &str = "http://owncloud.org/ns";
/// Where deadbolt keeps what it computed about a resource, beside its dead
/// properties; never shown as one, never settable by PROPPATCH.
pub const INTERNAL_NS: &str = "urn:x-deadbolt:internal";
const CHECKSUMS: &str = "checksums";

/// The sync-client headers of a PUT.
#[derive(Debug, Clone, Default)]
pub struct SyncHeaders {
    pub mtime: Option<SystemTime>,
    /// The algorithm (`SHA1`, `MD5`) and the hex digest the client says.
    pub checksum: Option<(String, String)>,
    /// `Content-MD5` (RFC 1864; Terraform sends it with every state): as
    /// sent, and the digest in hex.
    pub content_md5: Option<(String, String)>,
}

impl SyncHeaders {
    pub fn parse(headers: &HeaderMap) -> Result<Self, DavError> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let mtime = match text("x-oc-mtime") {
            None => None,
            Some(value) => {
                let seconds: f64 = value.trim().parse().map_err(|_| {
                    DavError::BadRequest(format!("X-OC-Mtime {value:?} is not a number of seconds"))
                })?;
                if !(0.0..=1e11).contains(&seconds) {
                    return Err(DavError::BadRequest(format!(
                        "X-OC-Mtime {value:?} is out of range"
                    )));
                }
                Some(UNIX_EPOCH + Duration::from_secs_f64(seconds))
            }
        };
        // "SHA1:abc MD5:def": the first algorithm deadbolt knows.
        let checksum = text("oc-checksum").and_then(|value| {
            value.split_whitespace().find_map(|part| {
                let (algorithm, hex) = part.split_once(':')?;
                let algorithm = algorithm.to_ascii_uppercase();
                matches!(algorithm.as_str(), "SHA1" | "MD5")
                    .then(|| (algorithm, hex.to_ascii_lowercase()))
            })
        });
        let content_md5 = match text("content-md5") {
            None => None,
            Some(value) => {
                let digest = base64::engine::general_purpose::STANDARD
                    .decode(value.trim())
                    .ok()
                    .filter(|digest| digest.len() == 16)
                    .ok_or_else(|| {
                        DavError::BadRequest(format!(
                            "Content-MD5 {value:?} is not the base64 of an MD5 digest (RFC 1864)"
                        ))
                    })?;
                Some((value.trim().to_owned(), hex(&digest)))
            }
        };
        Ok(Self {
            mtime,
            checksum,
            content_md5,
        })
    }

    /// Whether the upload's digests are worth computing.
    pub fn wants_digests(&self) -> bool {
        self.mtime.is_some() || self.checksum.is_some() || self.content_md5.is_some()
    }

    /// Why the body received is not the one the client described, if it
    /// is not.
    pub fn mismatch(&self, sums: &Checksums) -> Option<String> {
        if let Some(claimed) = self.checksum.as_ref().filter(|c| !sums.matches(c)) {
            return Some(format!(
                "OC-Checksum {}:{} does not match the body received (SHA1:{} MD5:{})",
                claimed.0, claimed.1, sums.sha1, sums.md5
            ));
        }
        let (sent, hex) = self.content_md5.as_ref()?;
        (*hex != sums.md5).then(|| {
            format!(
                "Content-MD5 {sent} does not match the body received (MD5 {})",
                sums.md5
            )
        })
    }
}

/// SHA-1 and MD5 of an upload, as it streams in.
#[derive(Clone, Default)]
pub struct Digests {
    sha1: Sha1,
    md5: Md5,
}

/// The hex digests of a finished upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksums {
    pub sha1: String,
    pub md5: String,
}

impl Digests {
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha1.update(bytes);
        self.md5.update(bytes);
    }

    pub fn finish(self) -> Checksums {
        Checksums {
            sha1: hex(&self.sha1.finalize()),
            md5: hex(&self.md5.finalize()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Checksums {
    /// Whether the client's `OC-Checksum` matches.
    pub fn matches(&self, (algorithm, hex): &(String, String)) -> bool {
        match algorithm.as_str() {
            "SHA1" => &self.sha1 == hex,
            "MD5" => &self.md5 == hex,
            _ => true,
        }
    }

    /// Kept with the ETag of the content they describe.
    pub fn to_property(&self, etag: &str) -> DeadProperty {
        let etag = etag.replace('"', "&quot;");
        DeadProperty {
            name: internal_name(),
            xml: format!(
                "<d:{CHECKSUMS} xmlns:d=\"{INTERNAL_NS}\" etag=\"{etag}\" sha1=\"{}\" md5=\"{}\"/>",
                self.sha1, self.md5
            ),
        }
    }

    /// The checksums kept in `dead`, if they describe the content whose
    /// ETag is `etag`.
    pub fn of(dead: &[DeadProperty], etag: &str) -> Option<Self> {
        let kept = dead.iter().find(|d| d.name == internal_name())?;
        let attribute = |name: &str| {
            let start = kept.xml.find(&format!(" {name}=\""))? + name.len() + 3;
            let end = start + kept.xml[start..].find('"')?;
            Some(kept.xml[start..end].replace("&quot;", "\""))
        };
        (attribute("etag")? == etag).then_some(Self {
            sha1: attribute("sha1")?,
            md5: attribute("md5")?,
        })
    }

    /// The `oc:checksums` property.
    pub fn render(&self) -> String {
        format!(
            "<oc:checksums xmlns:oc=\"{OC_NS}\"><oc:checksum>SHA1:{} MD5:{}</oc:checksum></oc:checksums>",
            self.sha1, self.md5
        )
    }
}

/// The modification time Windows' Mini-Redirector sets with PROPPATCH
/// (`Win32LastModifiedTime`, an HTTP date), if `op` sets it.
pub fn win32_modified(op: &crate::store::PatchOp) -> Option<SystemTime> {
    let crate::store::PatchOp::Set(property) = op else {
        return None;
    };
    let name = &property.name;
    if name.namespace != "urn:schemas-microsoft-com:" || name.local != "Win32LastModifiedTime" {
        return None;
    }
    // The element's text: between the end of the start tag and `</`.
    let start = property.xml.find('>')? + 1;
    let end = start + property.xml[start..].find("</")?;
    httpdate::parse_http_date(property.xml[start..end].trim()).ok()
}

fn internal_name() -> PropertyName {
    PropertyName::new(INTERNAL_NS, CHECKSUMS)
}

/// True for `oc:checksums`.
pub fn is_checksums(name: &PropertyName) -> bool {
    name.namespace == OC_NS && name.local == CHECKSUMS
}

/// Whether a stored property is deadbolt's own, not the client's.
pub fn is_internal(name: &PropertyName) -> bool {
    name.namespace == INTERNAL_NS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_those_of_the_bytes_and_kept_with_their_etag() {
        let mut digests = Digests::default();
        digests.update(b"hello ");
        digests.update(b"world");
        let sums = digests.finish();
        assert_eq!(sums.sha1, "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed");
        assert_eq!(sums.md5, "5eb63bbbe01eeed093cb22bb8f5acdc3");
        let kept = sums.to_property("\"1-2-3\"");
        assert_eq!(
            Checksums::of(std::slice::from_ref(&kept), "\"1-2-3\""),
            Some(sums.clone())
        );
        assert_eq!(Checksums::of(&[kept], "\"changed\""), None);
        assert!(sums.matches(&("SHA1".into(), sums.sha1.clone())));
        assert!(!sums.matches(&("MD5".into(), "00".into())));
    }

    #[test]
    fn sync_headers_are_parsed_or_refused() {
        let mut headers = HeaderMap::new();
        headers.insert("x-oc-mtime", "1700000000".parse().unwrap());
        headers.insert("oc-checksum", "Adler32:x sha1:ABC".parse().unwrap());
        let sync = SyncHeaders::parse(&headers).unwrap();
        assert_eq!(
            sync.mtime,
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(sync.checksum, Some(("SHA1".into(), "abc".into())));
        assert_eq!(sync.content_md5, None);
        // "hello world"
        headers.insert("content-md5", "XrY7u+Ae7tCTyyK7j1rNww==".parse().unwrap());
        let sync = SyncHeaders::parse(&headers).unwrap();
        let md5 = "5eb63bbbe01eeed093cb22bb8f5acdc3";
        assert_eq!(sync.content_md5.map(|c| c.1).as_deref(), Some(md5));
        for bad in ["not base64!", "aGVsbG8=", ""] {
            headers.insert("content-md5", bad.parse().unwrap());
            assert!(SyncHeaders::parse(&headers).is_err(), "{bad:?}");
        }
        headers.remove("content-md5");
        headers.insert("x-oc-mtime", "yesterday".parse().unwrap());
        assert!(SyncHeaders::parse(&headers).is_err());
        headers.insert("x-oc-mtime", "-5".parse().unwrap());
        assert!(SyncHeaders::parse(&headers).is_err());
    }
}

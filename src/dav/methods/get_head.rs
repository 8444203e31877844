//! GET and HEAD (RFC 9110 §9.3.1-2): file content with Range support, and a
//! small HTML listing for collections.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode, header, request::Parts};
use quick_xml::escape::escape;

use crate::admin::{owner_text, rfc3339};
use crate::dav::DavState;
use crate::dav::body::{self, Body, BoxError};
use crate::dav::error::{DavError, Disclosure};
use crate::dav::path::href;
use crate::locks::{ActiveLock, LockScope, ResourcePath, Timestamp};
use crate::store::{DirEntry, Meta};

/// Files up to this size are read in one go instead of streamed.
const SMALL_FILE: u64 = 1024 * 1024;
/// Read size for streamed files.
const STREAM_CHUNK: usize = 256 * 1024;
/// Chunks in flight per streamed response (bounds its memory).
const STREAM_DEPTH: usize = 2;

/// The part of a file to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    Whole,
    /// Inclusive byte range, as in `Content-Range`.
    Range {
        first: u64,
        last: u64,
    },
}

pub async fn execute(
    state: &Arc<DavState>,
    parts: &Parts,
    path: ResourcePath,
    head: bool,
) -> Result<Response<Body>, DavError> {
    let range_header = range_request(&parts.headers);
    let opened = {
        let path = path.clone();
        state.blocking(move |s| Ok(s.content.open(&path)?)).await?
    };
    let (file, meta) = opened;
    if meta.is_collection() {
        drop(file);
        return listing(state, path, head).await;
    }
    let selection = match range_header {
        Some(spec) if if_range_allows(&parts.headers, &meta) => select(&spec, meta.len)?,
        _ => Selection::Whole,
    };
    let (status, first, len) = match selection {
        Selection::Whole => (StatusCode::OK, 0, meta.len),
        Selection::Range { first, last } => (StatusCode::PARTIAL_CONTENT, first, last - first + 1),
    };
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type(&path))
        .header(header::CONTENT_LENGTH, len)
        .header(header::ETAG, meta.etag.as_str())
        .header(
            header::LAST_MODIFIED,
            httpdate::fmt_http_date(meta.modified),
        )
        .header(header::ACCEPT_RANGES, "bytes");
    if let Selection::Range { first, last } = selection {
        builder = builder.header(
            header::CONTENT_RANGE,
            format!("bytes {first}-{last}/{}", meta.len),
        );
    }
    let body = if head || len == 0 {
        body::empty()
    } else if len <= SMALL_FILE {
        let bytes = state
            .blocking(move |_| read_exact_at(file, first, len, &path))
            .await?;
        body::full(bytes)
    } else {
        stream_file(file, first, len, &path)?
    };
    builder
        .body(body)
        .map_err(|e| DavError::Internal(e.to_string()))
}

fn content_type(path: &ResourcePath) -> String {
    let name = path.name().unwrap_or("");
    mime_guess::from_path(name)
        .first_or_octet_stream()
        .essence_str()
        .to_owned()
}

fn read_exact_at(
    mut file: std::fs::File,
    first: u64,
    len: u64,
    path: &ResourcePath,
) -> Result<Bytes, DavError> {
    let io = |e| DavError::Store(crate::store::StoreError::io(path, e));
    file.seek(SeekFrom::Start(first)).map_err(io)?;
    let mut buf = Vec::with_capacity(len as usize);
    file.take(len).read_to_end(&mut buf).map_err(io)?;
    if (buf.len() as u64) != len {
        return Err(DavError::Internal(format!(
            "{path} shrank while being read"
        )));
    }
    Ok(Bytes::from(buf))
}

/// Streams a large file from one blocking reader task through a small
/// channel: one hand-off per 256 KiB chunk instead of one per read, and at
/// most a few chunks in memory per response whatever the file size.
fn stream_file(
    file: std::fs::File,
    first: u64,
    len: u64,
    path: &ResourcePath,
) -> Result<Body, DavError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, BoxError>>(STREAM_DEPTH);
    let path = path.clone();
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        if let Err(e) = file.seek(SeekFrom::Start(first)) {
            let _ = tx.blocking_send(Err(e.into()));
            return;
        }
        let mut remaining = len;
        while remaining > 0 {
            let want = usize::try_from(remaining.min(STREAM_CHUNK as u64)).unwrap_or(STREAM_CHUNK);
            let mut chunk = vec![0u8; want];
            match file.read_exact(&mut chunk) {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(%path, error = %e, "file changed while being sent");
                    let _ = tx.blocking_send(Err(e.into()));
                    return;
                }
            }
            remaining -= want as u64;
            if tx.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                return; // The client went away.
            }
        }
    });
    Ok(body::stream(futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
    })))
}

/// The Range header when it asks for exactly one byte range. Several ranges
/// or an unknown unit are ignored, which RFC 9110 §14.2 allows.
fn range_request(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::RANGE)?.to_str().ok()?.trim();
    let spec = value.strip_prefix("bytes=")?.trim();
    (!spec.contains(',')).then(|| spec.to_owned())
}

/// If-Range (RFC 9110 §13.1.5): the range applies only to the same version.
fn if_range_allows(headers: &HeaderMap, meta: &Meta) -> bool {
    let Some(value) = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if value.starts_with('"') {
        return value == meta.etag;
    }
    httpdate::parse_http_date(value)
        .is_ok_and(|date| httpdate::fmt_http_date(meta.modified) == httpdate::fmt_http_date(date))
}

/// Resolves `first-last`, `first-` or `-suffix` against the file length.
fn select(spec: &str, len: u64) -> Result<Selection, DavError> {
    let Some((first, last)) = spec.split_once('-') else {
        return Ok(Selection::Whole);
    };
    let (first, last) = (first.trim(), last.trim());
    let unsatisfiable = DavError::RangeNotSatisfiable { len };
    if first.is_empty() {
        let Ok(suffix) = last.parse::<u64>() else {
            return Ok(Selection::Whole);
        };
        if suffix == 0 || len == 0 {
            return Err(unsatisfiable);
        }
        return Ok(Selection::Range {
            first: len.saturating_sub(suffix),
            last: len - 1,
        });
    }
    let Ok(first) = first.parse::<u64>() else {
        return Ok(Selection::Whole);
    };
    let last = if last.is_empty() {
        u64::MAX
    } else {
        match last.parse::<u64>() {
            Ok(last) if last >= first => last,
            _ => return Ok(Selection::Whole),
        }
    };
    if first >= len {
        return Err(unsatisfiable);
    }
    Ok(Selection::Range {
        first,
        last: last.min(len - 1),
    })
}

/// GET of a collection: a plain HTML page listing its members, with a
/// badge beside each member a lock covers.
async fn listing(
    state: &Arc<DavState>,
    path: ResourcePath,
    head: bool,
) -> Result<Response<Body>, DavError> {
    let html = {
        let path = path.clone();
        state
            .blocking(move |s| {
                let mut entries: Vec<DirEntry> = s.content.members(&path)?.collect();
                entries.sort_by(|a, b| {
                    (!a.meta.is_collection(), &a.name).cmp(&(!b.meta.is_collection(), &b.name))
                });
                let now = crate::dav::now();
                let mut members = Vec::with_capacity(entries.len());
                for entry in entries {
                    let locks = match path.join(entry.name.clone()) {
                        Ok(member_path) => s.covering_locks(&member_path, now)?,
                        Err(_) => Vec::new(),
                    };
                    members.push(Member { entry, locks });
                }
                let own_locks = s.covering_locks(&path, now)?;
                let page = Listing {
                    path: &path,
                    own_locks: &own_locks,
                    members: &members,
                    disclosure: s.config.disclosure,
                    now,
                };
                Ok(page.render())
            })
            .await?
    };
    let len = html.len();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CONTENT_LENGTH, len)
        .body(if head {
            body::empty()
        } else {
            body::full(html)
        })
        .map_err(|e| DavError::Internal(e.to_string()))
}

/// A member of a listed collection and the live locks covering it.
struct Member {
    entry: DirEntry,
    locks: Vec<ActiveLock>,
}

/// Everything the HTML listing of one collection shows.
struct Listing<'a> {
    path: &'a ResourcePath,
    /// Locks covering the collection itself.
    own_locks: &'a [ActiveLock],
    members: &'a [Member],
    /// `--hide-lock-owners` hides the holder here too, as in 423 answers.
    disclosure: Disclosure,
    now: Timestamp,
}

const LISTING_STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em}\
     table{border-collapse:collapse}th,td{padding:.2em .8em;text-align:left}\
     .lock{color:#8a4600;white-space:nowrap}";

impl Listing<'_> {
    fn render(&self) -> String {
        let title = escape(self.path.key()).into_owned();
        let mut rows = String::new();
        if let Some(parent) = self.path.parent() {
            rows.push_str(&format!(
                "<tr><td><a href=\"{}\">../</a></td><td></td><td></td><td></td></tr>\n",
                escape(href(&parent, true))
            ));
        }
        for Member { entry, locks } in self.members {
            let is_dir = entry.meta.is_collection();
            let Ok(member_path) = self.path.join(entry.name.clone()) else {
                continue;
            };
            let size = if is_dir {
                String::new()
            } else {
                entry.meta.len.to_string()
            };
            rows.push_str(&format!(
                "<tr><td><a href=\"{}\">{}{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                escape(href(&member_path, is_dir)),
                escape(entry.name.as_str()),
                if is_dir { "/" } else { "" },
                size,
                httpdate::fmt_http_date(entry.meta.modified),
                self.badges(locks),
            ));
        }
        let own = if self.own_locks.is_empty() {
            String::new()
        } else {
            format!("<p>{}</p>\n", self.badges(self.own_locks))
        };
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title>\
             <style>{LISTING_STYLE}</style></head>\n\
             <body><h1>Index of {title}</h1>\n{own}<table>\n\
             <tr><th>Name</th><th>Size</th><th>Modified</th><th>Lock</th></tr>\n\
             {rows}</table></body></html>\n"
        )
    }

    /// One badge per lock, e.g. "🔒 locked by alice since 10:02, until
    /// 11:02 UTC"; the full times are in the tooltip. Escaped.
    fn badges(&self, locks: &[ActiveLock]) -> String {
        let mut html = String::new();
        for lock in locks {
            if !html.is_empty() {
                html.push_str("<br>");
            }
            html.push_str(&format!(
                "<span class=\"lock\" title=\"{}\">{}</span>",
                escape(format!(
                    "{} lock, depth {}, {} to {}",
                    lock.scope.as_str(),
                    lock.depth.as_str(),
                    rfc3339(lock.created),
                    rfc3339(lock.expires),
                )),
                escape(badge_text(lock, self.disclosure, self.now)),
            ));
        }
        html
    }
}

/// "🔒 locked by alice since 10:02, until 11:02 UTC": the holder is the user
/// who took the lock, else the text of its DAV:owner. Unescaped.
fn badge_text(lock: &ActiveLock, disclosure: Disclosure, now: Timestamp) -> String {
    let what = match lock.scope {
        LockScope::Exclusive => "locked",
        LockScope::Shared => "shared lock",
    };
    let holder = match disclosure {
        Disclosure::HideHolder => None,
        Disclosure::ShowHolder => lock
            .principal
            .clone()
            .or_else(|| owner_text(lock.owner.as_deref())),
    };
    let by = holder.map(|h| format!(" by {h}")).unwrap_or_default();
    format!(
        "\u{1f512} {what}{by} since {}, until {} UTC",
        clock(lock.created, now),
        clock(lock.expires, now)
    )
}

/// `HH:MM` (UTC) on the day of `now`, `YYYY-MM-DD HH:MM` on another day.
fn clock(t: Timestamp, now: Timestamp) -> String {
    // 2026-01-02T10:02:03Z
    let at = rfc3339(t);
    let today = rfc3339(now);
    let (Some(date), Some(time)) = (at.get(..10), at.get(11..16)) else {
        return at;
    };
    if today.get(..10) == Some(date) {
        time.to_owned()
    } else {
        format!("{date} {time}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locks::LockDepth;

    #[test]
    fn single_ranges_resolve_against_the_length() {
        assert_eq!(
            select("0-9", 100).unwrap(),
            Selection::Range { first: 0, last: 9 }
        );
        assert_eq!(
            select("90-", 100).unwrap(),
            Selection::Range {
                first: 90,
                last: 99
            }
        );
        assert_eq!(
            select("-10", 100).unwrap(),
            Selection::Range {
                first: 90,
                last: 99
            }
        );
        assert_eq!(
            select("-500", 100).unwrap(),
            Selection::Range { first: 0, last: 99 }
        );
        assert_eq!(
            select("50-1000", 100).unwrap(),
            Selection::Range {
                first: 50,
                last: 99
            }
        );
    }

    #[test]
    fn unsatisfiable_and_invalid_ranges() {
        assert!(matches!(
            select("100-", 100),
            Err(DavError::RangeNotSatisfiable { len: 100 })
        ));
        assert!(matches!(
            select("-0", 100),
            Err(DavError::RangeNotSatisfiable { .. })
        ));
        assert!(matches!(
            select("0-", 0),
            Err(DavError::RangeNotSatisfiable { len: 0 })
        ));
        assert_eq!(
            select("9-1", 100).unwrap(),
            Selection::Whole,
            "invalid: ignored"
        );
        assert_eq!(select("abc", 100).unwrap(), Selection::Whole);
    }

    #[test]
    fn several_ranges_are_ignored() {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, "bytes=0-1,5-6".parse().unwrap());
        assert_eq!(range_request(&h), None);
        h.insert(header::RANGE, "bytes=0-1".parse().unwrap());
        assert_eq!(range_request(&h).as_deref(), Some("0-1"));
    }

    fn file(len: u64) -> Meta {
        Meta {
            kind: crate::store::ResourceKind::File,
            len,
            modified: std::time::UNIX_EPOCH,
            created: None,
            etag: "\"e\"".into(),
        }
    }

    /// 2026-03-04T10:02:00Z
    const T0: Timestamp = Timestamp(1_772_618_520_000);

    fn lock_on(name: &str, principal: Option<&str>, owner: Option<&str>) -> ActiveLock {
        ActiveLock {
            token: crate::locks::LockToken("urn:uuid:1".into()),
            root: ResourcePath::root().join(name).unwrap(),
            root_is_collection: false,
            scope: LockScope::Exclusive,
            depth: LockDepth::Zero,
            owner: owner.map(str::to_owned),
            principal: principal.map(str::to_owned),
            client: Default::default(),
            timeout_seconds: 3600,
            created: T0,
            expires: T0.plus_seconds(3600),
        }
    }

    fn render(members: &[Member], disclosure: Disclosure) -> String {
        Listing {
            path: &ResourcePath::root(),
            own_locks: &[],
            members,
            disclosure,
            now: T0.plus_seconds(60),
        }
        .render()
    }

    #[test]
    fn listing_escapes_names() {
        let html = render(
            &[Member {
                entry: DirEntry {
                    name: "<b>&.txt".into(),
                    meta: file(3),
                },
                locks: vec![],
            }],
            Disclosure::ShowHolder,
        );
        assert!(html.contains("&lt;b&gt;&amp;.txt"));
        assert!(html.contains("href=\"/%3Cb%3E%26.txt\""), "{html}");
        assert!(
            !html.contains("class=\"lock\""),
            "no lock, no badge: {html}"
        );
    }

    #[test]
    fn locked_members_get_a_badge_with_holder_and_times() {
        let html = render(
            &[
                Member {
                    entry: DirEntry {
                        name: "a.txt".into(),
                        meta: file(1),
                    },
                    locks: vec![lock_on(
                        "a.txt",
                        Some("alice"),
                        Some("<D:owner xmlns:D=\"DAV:\">Ana</D:owner>"),
                    )],
                },
                Member {
                    entry: DirEntry {
                        name: "b.txt".into(),
                        meta: file(1),
                    },
                    locks: vec![],
                },
            ],
            Disclosure::ShowHolder,
        );
        assert!(
            html.contains("\u{1f512} locked by alice since 10:02, until 11:02 UTC"),
            "{html}"
        );
        assert!(
            html.contains("2026-03-04T10:02:00Z to 2026-03-04T11:02:00Z"),
            "{html}"
        );
        assert_eq!(html.matches("class=\"lock\"").count(), 1, "{html}");
    }

    #[test]
    fn badge_falls_back_to_the_owner_text_and_escapes_it() {
        let owner = "<D:owner xmlns:D=\"DAV:\"><D:href>&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</D:href></D:owner>";
        let html = render(
            &[Member {
                entry: DirEntry {
                    name: "a.txt".into(),
                    meta: file(1),
                },
                locks: vec![lock_on("a.txt", None, Some(owner))],
            }],
            Disclosure::ShowHolder,
        );
        assert!(
            html.contains("locked by &lt;script&gt;alert(1)&lt;/script&gt; &amp; co since 10:02"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
    }

    #[test]
    fn hidden_holders_stay_hidden_in_the_badge() {
        let html = render(
            &[Member {
                entry: DirEntry {
                    name: "a.txt".into(),
                    meta: file(1),
                },
                locks: vec![lock_on("a.txt", Some("alice"), None)],
            }],
            Disclosure::HideHolder,
        );
        assert!(
            html.contains("\u{1f512} locked since 10:02, until 11:02 UTC"),
            "{html}"
        );
        assert!(!html.contains("alice"), "{html}");
    }

    #[test]
    fn times_on_another_day_carry_the_date() {
        assert_eq!(clock(T0, T0), "10:02");
        assert_eq!(clock(T0.plus_seconds(86_400), T0), "2026-03-05 10:02");
    }
}

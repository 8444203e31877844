//! GET and HEAD (RFC 9110 §9.3.1-2): file content with Range support, and a
//! small HTML listing for collections.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode, header, request::Parts};
use quick_xml::escape::escape;
use tokio_util::io::ReaderStream;

use crate::dav::DavState;
use crate::dav::body::{self, Body};
use crate::dav::error::DavError;
use crate::dav::path::href;
use crate::locks::ResourcePath;
use crate::store::{DirEntry, Meta};

/// Files up to this size are read in one go instead of streamed.
const SMALL_FILE: u64 = 64 * 1024;
/// Read size for streamed files.
const STREAM_CHUNK: usize = 64 * 1024;

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

fn stream_file(
    file: std::fs::File,
    first: u64,
    len: u64,
    path: &ResourcePath,
) -> Result<Body, DavError> {
    use tokio::io::AsyncReadExt;
    let mut file = file;
    if first > 0 {
        file.seek(SeekFrom::Start(first))
            .map_err(|e| DavError::Store(crate::store::StoreError::io(path, e)))?;
    }
    let reader = tokio::fs::File::from_std(file).take(len);
    let stream = ReaderStream::with_capacity(reader, STREAM_CHUNK);
    use futures_util::StreamExt;
    Ok(body::stream(stream.map(|chunk| chunk.map_err(Into::into))))
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

/// GET of a collection: a plain HTML page listing its members.
async fn listing(
    state: &Arc<DavState>,
    path: ResourcePath,
    head: bool,
) -> Result<Response<Body>, DavError> {
    let html = {
        let path = path.clone();
        state
            .blocking(move |s| {
                let mut members: Vec<DirEntry> = s.content.members(&path)?.collect();
                members.sort_by(|a, b| {
                    (!a.meta.is_collection(), &a.name).cmp(&(!b.meta.is_collection(), &b.name))
                });
                Ok(render_listing(&path, &members))
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

fn render_listing(path: &ResourcePath, members: &[DirEntry]) -> String {
    let title = escape(path.key()).into_owned();
    let mut rows = String::new();
    if let Some(parent) = path.parent() {
        rows.push_str(&format!(
            "<tr><td><a href=\"{}\">../</a></td><td></td><td></td></tr>\n",
            escape(href(&parent, true))
        ));
    }
    for member in members {
        let is_dir = member.meta.is_collection();
        let Ok(member_path) = path.join(member.name.clone()) else {
            continue;
        };
        let size = if is_dir {
            String::new()
        } else {
            member.meta.len.to_string()
        };
        rows.push_str(&format!(
            "<tr><td><a href=\"{}\">{}{}</a></td><td>{}</td><td>{}</td></tr>\n",
            escape(href(&member_path, is_dir)),
            escape(member.name.as_str()),
            if is_dir { "/" } else { "" },
            size,
            httpdate::fmt_http_date(member.meta.modified),
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title></head>\n\
         <body><h1>Index of {title}</h1>\n<table>\n<tr><th>Name</th><th>Size</th><th>Modified</th></tr>\n\
         {rows}</table></body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn listing_escapes_names() {
        let meta = Meta {
            kind: crate::store::ResourceKind::File,
            len: 3,
            modified: std::time::UNIX_EPOCH,
            created: None,
            etag: "\"e\"".into(),
        };
        let html = render_listing(
            &ResourcePath::root(),
            &[DirEntry {
                name: "<b>&.txt".into(),
                meta,
            }],
        );
        assert!(html.contains("&lt;b&gt;&amp;.txt"));
        assert!(html.contains("href=\"/%3Cb%3E%26.txt\""), "{html}");
    }
}

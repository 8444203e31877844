//! GET and HEAD (RFC 9110 §9.3.1-2): file content with Range support; a
//! collection gets its HTML listing (`listing.rs`).

use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode, header, request::Parts};

use crate::dav::DavState;
use crate::dav::error::DavError;
use crate::dav::live_props;
use crate::locks::ResourcePath;
use crate::store::Meta;
use crate::web::body::{self, Body, BoxError};

/// Files up to this size are read in one go, on the request's own task
/// (see `execute`); larger ones are streamed.
const INLINE_READ: u64 = 128 * 1024;
/// Read size for streamed files: a hand-off between threads per chunk,
/// and `STREAM_DEPTH` of them in memory per response (at 64 concurrent
/// downloads, 16 MiB at most).
const STREAM_CHUNK: usize = 128 * 1024;
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
    // Opening and small reads run on the request's task: they are answered
    // from the page cache in microseconds, less than a hop to the blocking
    // pool and back costs (which was half the CPU of serving small files).
    let (file, meta) = state.content.open(&path)?;
    if meta.is_collection() {
        drop(file);
        return super::listing::respond(state, path, head).await;
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
        .header(header::CONTENT_TYPE, live_props::content_type(&path))
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
    } else if len <= INLINE_READ {
        body::full(read_exact_at(file, first, len, &path)?)
    } else {
        stream_file(file, first, len, &path)?
    };
    builder
        .body(body)
        .map_err(|e| DavError::Internal(e.to_string()))
}

fn read_exact_at(
    file: std::fs::File,
    first: u64,
    len: u64,
    path: &ResourcePath,
) -> Result<Bytes, DavError> {
    use std::os::unix::fs::FileExt;
    let len = usize::try_from(len).map_err(|e| DavError::Internal(e.to_string()))?;
    let mut buf = vec![0u8; len];
    // One positioned read: no seek, and no second read to find the end.
    file.read_exact_at(&mut buf, first)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                DavError::Internal(format!("{path} shrank while being read"))
            }
            _ => DavError::Store(crate::store::StoreError::io(path, e)),
        })?;
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
            let mut chunk = Chunk::spare(want);
            match file.read_exact(&mut chunk.buf[..want]) {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(%path, error = %e, "file changed while being sent");
                    let _ = tx.blocking_send(Err(e.into()));
                    return;
                }
            }
            remaining -= want as u64;
            if tx.blocking_send(Ok(Bytes::from_owner(chunk))).is_err() {
                return; // The client went away.
            }
        }
    });
    Ok(body::stream(futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
    })))
}

/// Read buffers of streamed files that the client has been sent, kept for
/// the next chunk: a fresh 128 KiB buffer is zeroed and then faulted in
/// page by page, which was a quarter of a large GET's CPU.
static SPARE_CHUNKS: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
/// At most this many kept (2 MiB).
const SPARE_CHUNKS_MAX: usize = 16;

/// The first `len` bytes of `buf`, which goes back to `SPARE_CHUNKS` once
/// the response has sent them.
struct Chunk {
    buf: Vec<u8>,
    len: usize,
}

impl Chunk {
    fn spare(len: usize) -> Self {
        let spare = SPARE_CHUNKS.lock().ok().and_then(|mut spare| spare.pop());
        let buf = spare.unwrap_or_else(|| vec![0u8; STREAM_CHUNK]);
        Self { buf, len }
    }
}

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if let Ok(mut spare) = SPARE_CHUNKS.lock() {
            if spare.len() < SPARE_CHUNKS_MAX {
                spare.push(std::mem::take(&mut self.buf));
            }
        }
    }
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
}

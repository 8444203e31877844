//! The one body type used for requests and responses inside deadbolt.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Request, header};
use http_body::{Frame, SizeHint};
use http_body_util::{BodyExt, Empty, Full, StreamBody};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed HTTP body; hyper's `Incoming` is converted to it at the edge so
/// handlers (and in-process tests) never depend on the transport.
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A body fed by a stream of chunks (large files, big multistatus answers).
pub fn stream<S>(chunks: S) -> Body
where
    S: futures_util::Stream<Item = Result<Bytes, BoxError>> + Send + 'static,
{
    use futures_util::StreamExt;
    StreamBody::new(chunks.map(|chunk| chunk.map(http_body::Frame::data))).boxed_unsync()
}

/// Whether a request body was read to its end, as seen by `track_request_body`.
#[derive(Debug, Clone, Default)]
pub struct ReadToEnd(Arc<AtomicBool>);

impl ReadToEnd {
    pub fn is_done(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Whether a request comes with a body: Transfer-Encoding, or a non-zero
/// Content-Length.
pub fn announces_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

/// Wraps the body of a request that announces one, so that the server can
/// tell afterwards whether the rest of it may still be waiting on the
/// connection. `None`: the request has no body.
pub fn track_request_body(request: Request<Body>) -> (Request<Body>, Option<ReadToEnd>) {
    if !announces_body(request.headers()) {
        return (request, None);
    }
    let done = ReadToEnd::default();
    let request = request.map(|inner| {
        Tracked {
            inner,
            done: done.clone(),
        }
        .boxed_unsync()
    });
    (request, Some(done))
}

/// A body that sets its `ReadToEnd` once its last frame has been read.
struct Tracked {
    inner: Body,
    done: ReadToEnd,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        // The end is either "no more frames" or a frame after which the
        // body says it has ended (readers may stop there).
        let ended = match &polled {
            Poll::Ready(None) => true,
            Poll::Ready(Some(Ok(_))) => self.inner.is_end_stream(),
            _ => false,
        };
        if ended {
            self.done.0.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_length: &str, body: Body) -> Request<Body> {
        Request::builder()
            .header(header::CONTENT_LENGTH, content_length)
            .body(body)
            .expect("request")
    }

    fn two_chunks() -> Body {
        let chunks = [Bytes::from_static(b"ab"), Bytes::from_static(b"cd")];
        stream(futures_util::stream::iter(chunks.map(Ok)))
    }

    #[tokio::test]
    async fn a_body_counts_as_read_only_once_its_end_was_reached() {
        let (request, read) = track_request_body(request("4", two_chunks()));
        let read = read.expect("a body is announced");
        let mut body = request.into_body();
        assert!(!read.is_done(), "nothing read yet");
        assert!(body.frame().await.is_some());
        assert!(!read.is_done(), "one chunk of two");
        let rest = body.collect().await.expect("the rest").to_bytes();
        assert_eq!(&rest[..], b"cd");
        assert!(read.is_done());
    }

    #[tokio::test]
    async fn a_body_that_says_it_ended_counts_as_read_at_its_last_frame() {
        let (request, read) = track_request_body(request("2", full("ab")));
        let mut body = request.into_body();
        assert!(body.frame().await.is_some());
        assert!(read.expect("a body is announced").is_done());
    }

    #[test]
    fn requests_without_a_body_are_not_tracked() {
        assert!(track_request_body(request("0", empty())).1.is_none());
        let bare = Request::new(empty());
        assert!(track_request_body(bare).1.is_none());
    }
}

/// Why a bounded body read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("request body larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("reading the request body failed: {0}")]
    Body(String),
}

/// Reads a whole request body, refusing more than `limit` bytes (before
/// reading anything when the length is announced).
pub async fn read_limited(mut body: Body, limit: u64) -> Result<Bytes, ReadError> {
    if http_body::Body::size_hint(&body).lower() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    let mut collected = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ReadError::Body(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if (collected.len() + data.len()) as u64 > limit {
                return Err(ReadError::TooLarge { limit });
            }
            collected.extend_from_slice(&data);
        }
    }
    Ok(collected.freeze())
}

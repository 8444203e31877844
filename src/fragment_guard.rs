//! Finds request targets that carry a `#fragment`.
//!
//! A fragment is never part of an HTTP request target (RFC 9112 §3.2), so a
//! client that sends `DELETE /docs/#draft` is broken, and acting on
//! `/docs/` instead would delete the wrong thing. hyper's URI parser (the
//! `http` crate) silently drops the fragment, so the service cannot see it.
//! This module watches the bytes a connection reads, finds each request head
//! with the same framing rules hyper uses, and records every request line's
//! raw target in order; the server pairs them with hyper's requests and
//! answers 400 where the raw target had a fragment.
//!
//! It fails open: on anything it does not understand it stops watching that
//! connection, and a record is trusted only when its method and target agree
//! with what hyper parsed, so a mistake here can never refuse a good request.

use std::collections::VecDeque;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Request heads larger than this are not watched (hyper allows ~400 KiB).
const MAX_HEAD: usize = 64 * 1024;
/// Chunk-size and trailer lines longer than this are not watched.
const MAX_LINE: usize = 4 * 1024;
/// hyper refuses requests with more than 100 header fields.
const MAX_HEADERS: usize = 128;

/// One request line as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRequestLine {
    pub method: String,
    /// The target up to, not including, a `#`.
    pub target: String,
    /// The `#...` part, when the target had one.
    pub fragment: Option<String>,
}

/// Where the scanner is in the byte stream of one connection.
#[derive(Debug)]
enum Position {
    /// Collecting a request head.
    Head(Vec<u8>),
    /// Inside a body of known length.
    Body(u64),
    /// Collecting a chunk-size line.
    ChunkSize(Vec<u8>),
    /// Inside chunk data; the count includes the CRLF after it.
    ChunkData(u64),
    /// Collecting trailer lines after the last chunk.
    Trailers(Vec<u8>),
    /// Gave up on this connection.
    Lost,
}

/// Splits a connection's incoming bytes into request heads and bodies,
/// following hyper's framing: `Transfer-Encoding: chunked`, else
/// `Content-Length`, else no body. Pure: bytes in, request lines out.
#[derive(Debug)]
pub struct HeadScanner {
    position: Position,
}

impl Default for HeadScanner {
    fn default() -> Self {
        Self {
            position: Position::Head(Vec::new()),
        }
    }
}

impl HeadScanner {
    /// Whether the scanner gave up on this connection.
    pub fn is_lost(&self) -> bool {
        matches!(self.position, Position::Lost)
    }

    /// Consumes `bytes`, appending each complete request line to `out`.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut impl Extend<RawRequestLine>) {
        while !bytes.is_empty() {
            let position = std::mem::replace(&mut self.position, Position::Lost);
            let (next, used) = match position {
                Position::Lost => return,
                Position::Head(buf) => Self::head(buf, bytes, out),
                Position::Body(left) => skip(left, bytes.len(), Position::Body, || {
                    Position::Head(Vec::new())
                }),
                Position::ChunkSize(buf) => Self::chunk_size(buf, bytes),
                Position::ChunkData(left) => skip(left, bytes.len(), Position::ChunkData, || {
                    Position::ChunkSize(Vec::new())
                }),
                Position::Trailers(buf) => Self::trailers(buf, bytes),
            };
            self.position = next;
            bytes = &bytes[used..];
        }
    }

    fn head(
        mut buf: Vec<u8>,
        bytes: &[u8],
        out: &mut impl Extend<RawRequestLine>,
    ) -> (Position, usize) {
        let before = buf.len();
        let room = MAX_HEAD.saturating_sub(before);
        let take = bytes.len().min(room);
        // A head mostly arrives whole in one read: parsed where it lies,
        // it is never copied.
        let parsed = if before == 0 {
            parse_head(&bytes[..take], out)
        } else {
            buf.extend_from_slice(&bytes[..take]);
            parse_head(&buf, out)
        };
        match parsed {
            // Bytes after the head belong to the body or the next request.
            Some(Head::Complete(next, head_len)) => (next, head_len - before),
            Some(Head::Partial) if take == bytes.len() => {
                if before == 0 {
                    buf.extend_from_slice(&bytes[..take]);
                }
                (Position::Head(buf), take)
            }
            // Partial with no room left, or malformed: hyper answers those
            // itself and closes the connection.
            _ => (Position::Lost, bytes.len()),
        }
    }

    fn chunk_size(buf: Vec<u8>, bytes: &[u8]) -> (Position, usize) {
        match collect_line(buf, bytes) {
            Line::Partial(buf) => (Position::ChunkSize(buf), bytes.len()),
            Line::TooLong => (Position::Lost, bytes.len()),
            Line::Complete(line, used) => match httparse::parse_chunk_size(&line) {
                Ok(httparse::Status::Complete((_, 0))) => (Position::Trailers(Vec::new()), used),
                // The data is followed by a CRLF of its own.
                Ok(httparse::Status::Complete((_, size))) => match size.checked_add(2) {
                    Some(with_crlf) => (Position::ChunkData(with_crlf), used),
                    None => (Position::Lost, bytes.len()),
                },
                _ => (Position::Lost, bytes.len()),
            },
        }
    }

    fn trailers(buf: Vec<u8>, bytes: &[u8]) -> (Position, usize) {
        match collect_line(buf, bytes) {
            Line::Partial(buf) => (Position::Trailers(buf), bytes.len()),
            Line::TooLong => (Position::Lost, bytes.len()),
            // An empty line ends the trailers and with them the request.
            Line::Complete(line, used) if line == b"\r\n" || line == b"\n" => {
                (Position::Head(Vec::new()), used)
            }
            Line::Complete(_, used) => (Position::Trailers(Vec::new()), used),
        }
    }
}

enum Head {
    /// What follows the head, and the head's length.
    Complete(Position, usize),
    /// More bytes are needed.
    Partial,
}

/// Parses the head at the start of `buf`, appending its request line to
/// `out`; `None` when it is malformed.
fn parse_head(buf: &[u8], out: &mut impl Extend<RawRequestLine>) -> Option<Head> {
    // Left uninitialised: the parser writes the ones it uses.
    let mut headers = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut []);
    match request.parse_with_uninit_headers(buf, &mut headers) {
        Ok(httparse::Status::Complete(head_len)) => {
            let next = match (request.method, request.path) {
                (Some(method), Some(target)) => {
                    out.extend([split_fragment(method, target)]);
                    body_framing(method, request.headers)
                }
                _ => Position::Lost,
            };
            Some(Head::Complete(next, head_len))
        }
        Ok(httparse::Status::Partial) => Some(Head::Partial),
        Err(_) => None,
    }
}

enum Line {
    /// The line with its line end, and how many of the new bytes it used.
    Complete(Vec<u8>, usize),
    /// No line end yet; all new bytes were used.
    Partial(Vec<u8>),
    /// Longer than any real chunk-size or trailer line.
    TooLong,
}

/// Appends `bytes` up to the first line end to `buf`.
fn collect_line(mut buf: Vec<u8>, bytes: &[u8]) -> Line {
    let (take, complete) = match bytes.iter().position(|&b| b == b'\n') {
        Some(end) => (end + 1, true),
        None => (bytes.len(), false),
    };
    if buf.len() + take > MAX_LINE {
        return Line::TooLong;
    }
    buf.extend_from_slice(&bytes[..take]);
    if complete {
        Line::Complete(buf, take)
    } else {
        Line::Partial(buf)
    }
}

/// Passes over up to `left` counted bytes of `available`: `more` with what
/// is still to come, or `after` once they are all seen.
fn skip(
    left: u64,
    available: usize,
    more: fn(u64) -> Position,
    after: impl FnOnce() -> Position,
) -> (Position, usize) {
    let used = usize::try_from(left).map_or(available, |left| left.min(available));
    let rest = left - used as u64;
    let next = if rest == 0 { after() } else { more(rest) };
    (next, used)
}

fn split_fragment(method: &str, target: &str) -> RawRequestLine {
    let (target, fragment) = match target.find('#') {
        Some(at) => (&target[..at], Some(target[at..].to_owned())),
        None => (target, None),
    };
    RawRequestLine {
        method: method.to_owned(),
        target: target.to_owned(),
        fragment,
    }
}

/// What follows a head, by hyper's rules for requests.
fn body_framing(method: &str, headers: &[httparse::Header<'_>]) -> Position {
    if method.eq_ignore_ascii_case("CONNECT") {
        return Position::Lost;
    }
    let mut length: Option<u64> = None;
    let mut chunked = false;
    for header in headers {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            // Only the last coding decides; hyper refuses anything else.
            let last = header.value.rsplit(|&b| b == b',').next().unwrap_or(b"");
            chunked = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
            if !chunked {
                return Position::Lost;
            }
        } else if header.name.eq_ignore_ascii_case("content-length") {
            let parsed = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok());
            match (parsed, length) {
                (Some(v), None) => length = Some(v),
                (Some(v), Some(seen)) if v == seen => {}
                _ => return Position::Lost,
            }
        }
    }
    match (chunked, length) {
        (true, _) => Position::ChunkSize(Vec::new()),
        (false, Some(0) | None) => Position::Head(Vec::new()),
        (false, Some(n)) => Position::Body(n),
    }
}

/// The request lines one connection has read and hyper has not yet served.
#[derive(Debug, Default)]
pub struct RequestLines {
    inner: Mutex<Lines>,
}

#[derive(Debug, Default)]
struct Lines {
    scanner: HeadScanner,
    pending: VecDeque<RawRequestLine>,
    /// Set once a record disagreed with hyper: nothing is trusted after.
    lost: bool,
}

impl RequestLines {
    fn feed(&self, bytes: &[u8]) {
        let Ok(mut guard) = self.inner.lock() else {
            return;
        };
        let lines = &mut *guard;
        if lines.lost || lines.scanner.is_lost() {
            return;
        }
        lines.scanner.feed(bytes, &mut lines.pending);
    }

    /// The fragment of the request hyper parsed as `method` and `target`
    /// (origin or absolute form, as hyper's `Uri` prints it), if its raw
    /// request line had one. Call once per request, in order.
    pub fn fragment_of(&self, method: &str, target: &str) -> Option<String> {
        let mut lines = self.inner.lock().ok()?;
        if lines.lost {
            return None;
        }
        let line = lines.pending.pop_front();
        match line {
            Some(line) if line.method == method && line.target == target => line.fragment,
            _ => {
                // Out of step with hyper (a head we could not frame, say):
                // stop trusting this connection's records.
                lines.lost = true;
                lines.pending.clear();
                None
            }
        }
    }
}

/// A connection's stream that shows every byte read to a `RequestLines`.
pub struct Watched<S> {
    stream: S,
    lines: Arc<RequestLines>,
}

impl<S> Watched<S> {
    pub fn new(stream: S) -> (Self, Arc<RequestLines>) {
        let lines = Arc::new(RequestLines::default());
        let watched = Self {
            stream,
            lines: lines.clone(),
        };
        (watched, lines)
    }

    /// The stream, no longer watched (for closing it).
    pub fn into_inner(self) -> S {
        self.stream
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            this.lines.feed(&buf.filled()[before..]);
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_in_pieces(input: &[u8], piece: usize) -> (Vec<RawRequestLine>, bool) {
        let mut scanner = HeadScanner::default();
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            scanner.feed(chunk, &mut out);
        }
        (out, scanner.is_lost())
    }

    fn targets(lines: &[RawRequestLine]) -> Vec<(String, String, Option<String>)> {
        lines
            .iter()
            .map(|l| (l.method.clone(), l.target.clone(), l.fragment.clone()))
            .collect()
    }

    fn line(
        method: &str,
        target: &str,
        fragment: Option<&str>,
    ) -> (String, String, Option<String>) {
        (method.into(), target.into(), fragment.map(Into::into))
    }

    #[test]
    fn finds_the_fragment_litmus_sends() {
        let (lines, lost) = scan_in_pieces(
            b"DELETE /litmus/frag/#ment HTTP/1.1\r\nHost: x\r\n\r\n",
            1000,
        );
        assert!(!lost);
        assert_eq!(
            targets(&lines),
            vec![line("DELETE", "/litmus/frag/", Some("#ment"))]
        );
    }

    /// A body that looks like a request line is body, in every split.
    #[test]
    fn content_length_bodies_are_skipped_however_the_bytes_arrive() {
        let body = b"GET /inside#body HTTP/1.1\r\n\r\n";
        let mut input = format!(
            "PUT /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        input.extend_from_slice(body);
        input.extend_from_slice(b"GET /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
        for piece in 1..input.len() {
            let (lines, lost) = scan_in_pieces(&input, piece);
            assert!(!lost, "piece {piece}");
            assert_eq!(
                targets(&lines),
                vec![line("PUT", "/a.txt", None), line("GET", "/b?q=1", None)],
                "piece {piece}"
            );
        }
    }

    #[test]
    fn chunked_bodies_and_trailers_are_skipped_however_the_bytes_arrive() {
        let inner = b"GET /x#y HTTP/1.1\r\n\r\n";
        let mut input = b"PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
            5\r\nDEL #\r\n"
            .to_vec();
        input.extend_from_slice(format!("{:x};ext=1\r\n", inner.len()).as_bytes());
        input.extend_from_slice(inner);
        input.extend_from_slice(
            b"\r\n0\r\nTrailer: GET /t#u\r\n\r\n\
            MOVE /d#e HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        let input = &input[..];
        for piece in 1..input.len() {
            let (lines, lost) = scan_in_pieces(input, piece);
            assert!(!lost, "piece {piece}");
            assert_eq!(
                targets(&lines),
                vec![line("PUT", "/c", None), line("MOVE", "/d", Some("#e"))],
                "piece {piece}"
            );
        }
    }

    #[test]
    fn fragments_after_a_query_are_split_at_the_hash() {
        let (lines, _) = scan_in_pieces(b"GET /a?b=c#d?e HTTP/1.1\r\n\r\n", 4);
        assert_eq!(targets(&lines), vec![line("GET", "/a?b=c", Some("#d?e"))]);
    }

    #[test]
    fn what_hyper_would_refuse_stops_the_watch() {
        for input in [
            &b"PUT /a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"[..],
            b"PUT /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            b"PUT /a HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            b"CONNECT a:1 HTTP/1.1\r\n\r\n",
            b"\x01\x02 garbage\r\n\r\n",
            b"PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            let (_, lost) = scan_in_pieces(input, 7);
            assert!(lost, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn an_oversized_head_stops_the_watch() {
        let mut input = b"GET / HTTP/1.1\r\nX: ".to_vec();
        input.resize(MAX_HEAD + 10, b'a');
        let (lines, lost) = scan_in_pieces(&input, 4096);
        assert!(lines.is_empty());
        assert!(lost);
    }

    #[test]
    fn records_are_trusted_only_while_they_match_what_hyper_parsed() {
        let lines = RequestLines::default();
        lines.feed(
            b"DELETE /f/#m HTTP/1.1\r\n\r\nDELETE /g#h HTTP/1.1\r\n\r\nGET /i#j HTTP/1.1\r\n\r\n",
        );
        assert_eq!(lines.fragment_of("DELETE", "/f/").as_deref(), Some("#m"));
        // Out of step: this and every later record is ignored.
        assert_eq!(lines.fragment_of("DELETE", "/other"), None);
        assert_eq!(lines.fragment_of("GET", "/i"), None);
        lines.feed(b"GET /k#l HTTP/1.1\r\n\r\n");
        assert_eq!(lines.fragment_of("GET", "/k"), None);
    }
}

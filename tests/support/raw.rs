//! Raw HTTP/1.1 on a socket, for what a client library hides: responses
//! read until the server closes (`TestServer::raw`), an exchange that
//! survives a server answering before the body is sent, and a persistent
//! connection read one response at a time (keep-alive behaviour).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::{Response, TestServer};

/// Parses `HTTP/1.1 NNN ...\r\nheaders\r\n\r\nbody` (chunked or not).
pub fn parse_raw_response(buf: &[u8]) -> Option<Response> {
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let rest = &buf[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let bytes = if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        // A body cut short stays as it came, for the failure message.
        dechunk(rest).map_or_else(|| rest.to_vec(), |(body, _)| body)
    } else if let Some(len) = find("content-length").and_then(|v| v.parse::<usize>().ok()) {
        rest[..len.min(rest.len())].to_vec()
    } else {
        rest.to_vec()
    };
    let body = String::from_utf8_lossy(&bytes).into_owned();
    Some(Response {
        status,
        headers,
        bytes,
        body,
    })
}

/// Sends `head` (request line and headers, ending in an empty line; include
/// `Connection: close`) and `body` on a new connection, then reads the
/// answer. A server may answer early (e.g. 412/423 before reading a large
/// body) and close: write errors after the head are then ignored, and
/// whatever arrived is parsed. Returns the status and the raw answer.
pub fn raw_exchange(addr: &str, head: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream
        .write_all(head.as_bytes())
        .expect("send request head");
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // A reset after the answer arrived: keep what we have.
            Err(e) if !answer.is_empty() => {
                let _ = e;
                break;
            }
            Err(e) => panic!("no answer to {head:?}: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer to {head:?}: {text:?}"));
    (status, text)
}

/// One persistent connection, read one response at a time.
pub struct Connection {
    stream: TcpStream,
    host: String,
    /// Bytes read past the last response.
    buf: Vec<u8>,
}

/// Status, lower-cased head, and body of one response.
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Answer {
    /// The response says `Connection: close`.
    pub fn closes(&self) -> bool {
        self.head
            .lines()
            .filter_map(|l| l.strip_prefix("connection:"))
            .any(|v| v.split(',').any(|t| t.trim() == "close"))
    }
}

impl Connection {
    pub fn open(s: &TestServer) -> Self {
        let stream = TcpStream::connect(&s.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Self {
            stream,
            host: s.addr.clone(),
            buf: Vec::new(),
        }
    }

    /// Sends one keep-alive request (head and body in one write).
    pub fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.stream.write_all(req.as_bytes()).expect("send request");
    }

    /// Sends bytes as they are: part of a request, or several.
    pub fn write_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// The next response; `None` when the server closed the connection first.
    pub fn answer(&mut self) -> Option<Answer> {
        loop {
            if let Some((answer, used)) = parse_answer(&self.buf) {
                self.buf.drain(..used);
                return Some(answer);
            }
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Sends a request and reads its answer, which must come.
    pub fn exchange(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Answer {
        self.send(method, path, headers, body);
        self.answer().unwrap_or_else(|| {
            panic!("{method} {path}: the server closed the connection instead of answering")
        })
    }

    /// True when the server ends the connection (EOF or reset) before
    /// sending anything more.
    pub fn is_closed_by_server(&mut self) -> bool {
        let mut chunk = [0u8; 1024];
        matches!(self.stream.read(&mut chunk), Ok(0) | Err(_))
    }
}

/// One complete response at the start of `buf` and its length in bytes.
pub fn parse_answer(buf: &[u8]) -> Option<(Answer, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
    };
    let rest = &buf[end..];
    let (body, used) = if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        dechunk(rest)?
    } else {
        let len: usize = header("content-length:").map_or(Some(0), |v| v.parse().ok())?;
        (rest.get(..len)?.to_vec(), len)
    };
    let body = String::from_utf8_lossy(&body).into_owned();
    Some((Answer { status, head, body }, end + used))
}

/// A whole chunked body at the start of `data` (no trailers), decoded, and
/// its length on the wire.
fn dechunk(data: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let eol = data.get(at..)?.windows(2).position(|w| w == b"\r\n")? + at;
        let size_text = String::from_utf8_lossy(&data[at..eol]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at = eol + 2;
        if size == 0 {
            return (data.get(at..at + 2)? == b"\r\n").then_some((out, at + 2));
        }
        out.extend_from_slice(data.get(at..at + size)?);
        at += size + 2;
    }
}

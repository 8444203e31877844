//! An error answer closes the connection (`Connection: close`) only when the
//! request's body may still be unread on it. A request whose body was read
//! to the end (a LOCK that gets 423, a PROPPATCH that fails) leaves the
//! connection usable for the next request, so clients need not reconnect.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::TestServer;

const LOCKINFO: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>keep-alive test</D:owner></D:lockinfo>"#;

/// One persistent connection, read one response at a time.
struct Connection {
    stream: TcpStream,
    host: String,
    /// Bytes read past the last response.
    buf: Vec<u8>,
}

/// Status, lower-cased head, and body of one response.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn closes(&self) -> bool {
        self.head
            .lines()
            .filter_map(|l| l.strip_prefix("connection:"))
            .any(|v| v.split(',').any(|t| t.trim() == "close"))
    }
}

impl Connection {
    fn open(s: &TestServer) -> Self {
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
    fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) {
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

    /// The next response; `None` when the server closed the connection first.
    fn answer(&mut self) -> Option<Answer> {
        loop {
            if let Some((answer, used)) = parse(&self.buf) {
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
    fn exchange(
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
    fn is_closed_by_server(&mut self) -> bool {
        let mut chunk = [0u8; 1024];
        matches!(self.stream.read(&mut chunk), Ok(0) | Err(_))
    }
}

/// One complete response at the start of `buf` and its length in bytes.
fn parse(buf: &[u8]) -> Option<(Answer, usize)> {
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

/// `/f.txt` exists and is locked (exclusive) by someone else.
fn locked_file() -> TestServer {
    let s = TestServer::start();
    assert_eq!(s.put("/f.txt", "hello").status, 201);
    let r = s
        .request("LOCK", "/f.txt")
        .header("Timeout", "Second-600")
        .xml(LOCKINFO)
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    s
}

#[test]
fn errors_after_the_body_was_read_keep_the_connection() {
    let s = locked_file();
    assert_eq!(s.put("/free.txt", "free").status, 201);
    let xml = [("Content-Type", "application/xml; charset=utf-8")];
    let mut c = Connection::open(&s);

    let lock = c.exchange("LOCK", "/f.txt", &xml, LOCKINFO);
    assert_eq!(lock.status, 423, "a second exclusive LOCK: {}", lock.body);
    assert!(
        !lock.closes(),
        "LOCK 423 after its body was read:\n{}",
        lock.head
    );

    let proppatch = c.exchange(
        "PROPPATCH",
        "/f.txt",
        &xml,
        &support::proppatch_set("urn:x", "note", "n"),
    );
    assert_eq!(
        proppatch.status, 423,
        "PROPPATCH without the token: {}",
        proppatch.body
    );
    assert!(!proppatch.closes(), "PROPPATCH 423:\n{}", proppatch.head);

    let malformed = c.exchange("PROPPATCH", "/free.txt", &xml, "<D:propertyupdate xmlns:D=");
    assert_eq!(
        malformed.status, 400,
        "malformed PROPPATCH body: {}",
        malformed.body
    );
    assert!(!malformed.closes(), "PROPPATCH 400:\n{}", malformed.head);

    // The same connection still carries requests.
    let get = c.exchange("GET", "/f.txt", &[], "");
    assert_eq!(get.status, 200);
    assert_eq!(get.body, "hello");
}

#[test]
fn a_put_refused_before_its_body_was_read_closes_the_connection() {
    let s = locked_file();

    let mut c = Connection::open(&s);
    let locked = c.exchange("PUT", "/f.txt", &[], "new content");
    assert_eq!(locked.status, 423, "{}", locked.body);
    assert!(
        locked.closes(),
        "PUT 423 before its body was read:\n{}",
        locked.head
    );
    assert!(c.is_closed_by_server(), "the server closes as announced");

    let mut c = Connection::open(&s);
    let orphan = c.exchange("PUT", "/missing/x.txt", &[], "new content");
    assert_eq!(orphan.status, 409, "{}", orphan.body);
    assert!(
        orphan.closes(),
        "PUT 409 before its body was read:\n{}",
        orphan.head
    );
    assert!(c.is_closed_by_server(), "the server closes as announced");

    assert_eq!(s.get("/f.txt").body, "hello", "nothing was written");
}

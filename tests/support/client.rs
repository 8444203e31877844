//! The client side of a `TestServer`: the `Response` every client here
//! produces, the `Req` builder over the server's ureq agent, and
//! `TestServer`'s request shorthands (`get`, `put`, `propfind`, ..., and
//! `raw` for bytes sent verbatim).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::{Multistatus, TestServer, raw};

/// Upper bound for one HTTP exchange.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A response, whichever client produced it. Header names are lower case.
#[derive(Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub bytes: Vec<u8>,
    pub body: String,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const MAX: usize = 2000;
        let body = if self.body.len() > MAX {
            let mut end = MAX;
            while !self.body.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}… ({} bytes)", &self.body[..end], self.bytes.len())
        } else {
            self.body.clone()
        };
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &body)
            .finish()
    }
}

impl Response {
    /// First value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A header that must be present.
    pub fn expect_header(&self, name: &str) -> &str {
        self.header(name)
            .unwrap_or_else(|| panic!("missing header {name} in {self:#?}"))
    }

    /// Parses the body as a `DAV:multistatus`, panicking with the body if it is not one.
    pub fn multistatus(&self) -> Multistatus {
        Multistatus::parse(&self.body)
    }

    pub fn is_client_error(&self) -> bool {
        (400..500).contains(&self.status)
    }
}

pub(super) fn new_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .max_redirects(0)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .build()
        .into()
}

impl TestServer {
    /// A request through ureq; the body and extra headers are added with the builder.
    pub fn request<'a>(&'a self, method: &str, path: &str) -> Req<'a> {
        Req {
            server: self,
            method: method.to_string(),
            url: self.url(path),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path).send()
    }

    pub fn put(&self, path: &str, body: &str) -> Response {
        self.request("PUT", path).body(body).send()
    }

    pub fn mkcol(&self, path: &str) -> Response {
        self.request("MKCOL", path).send()
    }

    pub fn delete(&self, path: &str) -> Response {
        self.request("DELETE", path).send()
    }

    /// PROPFIND with a Depth header and an XML body (empty body when `None`).
    pub fn propfind(&self, path: &str, depth: &str, body: Option<&str>) -> Response {
        let req = self.request("PROPFIND", path).header("Depth", depth);
        match body {
            Some(b) => req.xml(b).send(),
            None => req.send(),
        }
    }

    pub fn proppatch(&self, path: &str, body: &str) -> Response {
        self.request("PROPPATCH", path).xml(body).send()
    }

    /// COPY or MOVE to `dest` (a path on this server) with extra headers.
    pub fn copy_move(
        &self,
        method: &str,
        src: &str,
        dest: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = self
            .request(method, src)
            .header("Destination", &self.url(dest));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    }

    /// Sends exactly these bytes on a new connection and reads the response until the
    /// server closes it (send `Connection: close`). For paths a client library would
    /// normalise.
    pub fn raw(&self, bytes: &[u8]) -> Response {
        let mut stream = TcpStream::connect(&self.addr).expect("connect");
        stream.set_read_timeout(Some(REQUEST_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(REQUEST_TIMEOUT)).unwrap();
        stream.write_all(bytes).expect("write raw request");
        let mut buf = Vec::new();
        // The server may close early (e.g. 413 before reading the body): keep what arrived.
        let _ = stream.read_to_end(&mut buf);
        raw::parse_raw_response(&buf).unwrap_or_else(|| {
            panic!(
                "no parsable HTTP response to raw request {:?}; got {:?}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&buf)
            )
        })
    }

    /// `METHOD TARGET HTTP/1.1` with the target sent verbatim, plus Host, Connection: close,
    /// the given headers and a Content-Length for the body when it is non-empty.
    pub fn raw_request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut req = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        )
        .into_bytes();
        for (k, v) in headers {
            req.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        if !body.is_empty() {
            req.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        }
        req.extend_from_slice(b"\r\n");
        req.extend_from_slice(body);
        self.raw(&req)
    }
}

/// Builder for one ureq request.
pub struct Req<'a> {
    server: &'a TestServer,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Req<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.body = Some(body.as_ref().to_vec());
        self
    }

    /// A connection of its own (`Connection: close`). When deadbolt refuses a
    /// request before reading its body (401, 403, 412, 423, ...), it closes
    /// the connection without announcing it, and the agent's pool would reuse
    /// it for the next request and fail at the transport level (see `auth_users.rs`,
    /// `a_request_refused_before_its_body_is_read_leaves_the_connection_usable`).
    /// One connection per such request keeps each test about what it tests.
    pub fn once(self) -> Self {
        self.header("Connection", "close")
    }

    /// An XML body with `Content-Type: application/xml; charset=utf-8`.
    pub fn xml(self, body: &str) -> Self {
        self.header("Content-Type", "application/xml; charset=utf-8")
            .body(body)
    }

    pub fn send(self) -> Response {
        let method = ureq::http::Method::from_bytes(self.method.as_bytes()).expect("method");
        let mut builder = ureq::http::Request::builder().method(method).uri(&self.url);
        for (k, v) in &self.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let result = match self.body {
            Some(body) => self.server.agent.run(builder.body(body).expect("request")),
            None => self.server.agent.run(builder.body(()).expect("request")),
        };
        let mut resp = result.unwrap_or_else(|e| {
            panic!(
                "{} {} failed at the transport level: {e}; server stderr:\n{}",
                self.method,
                self.url,
                self.server.stderr()
            )
        });
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .unwrap_or_else(|e| panic!("{} {}: reading body: {e}", self.method, self.url));
        let body = String::from_utf8_lossy(&bytes).into_owned();
        Response {
            status,
            headers,
            bytes,
            body,
        }
    }
}

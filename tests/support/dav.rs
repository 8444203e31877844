//! Request bodies and read-back helpers for WebDAV, and a disk snapshot.

use std::path::Path;
use std::time::Duration;

use super::{Element, Response, TestServer, poll};

/// Every file and directory under `dir` (relative paths, sorted) with file contents:
/// used to prove that bad requests leave the disk unchanged.
pub fn snapshot(dir: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Option<Vec<u8>>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map(|rd| rd.filter_map(Result::ok).collect())
            .unwrap_or_default();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.is_dir() {
                out.push((format!("{rel}/"), None));
                walk(base, &path, out);
            } else if meta.is_file() {
                out.push((rel, Some(std::fs::read(&path).expect("read"))));
            } else {
                out.push((format!("{rel}@"), None));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

/// The content of `/hello.txt` in `server_with_hello`.
pub const HELLO: &str = "hello world";

/// A default server holding `/hello.txt`.
pub fn server_with_hello() -> TestServer {
    let s = TestServer::start();
    let r = s.put("/hello.txt", HELLO);
    assert_eq!(r.status, 201, "PUT new file: {r:?}");
    s
}

/// The content of the file `rel` under the served root, read from disk.
pub fn file_text(s: &TestServer, rel: &str) -> String {
    std::fs::read_to_string(s.root().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// A `DAV:` namespace shorthand for the XML helpers.
pub const DAV: &str = "DAV:";

/// Body of a PROPFIND asking for named properties of the DAV: namespace.
pub fn propfind_dav_props(names: &[&str]) -> String {
    let props: String = names.iter().map(|n| format!("<D:{n}/>")).collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>{props}</D:prop></D:propfind>"#
    )
}

pub const ALLPROP: &str =
    r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#;

pub const PROPNAME: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>"#;

/// PROPPATCH body setting one dead property `<Z:name xmlns:Z="ns">value</Z:name>`
/// (value is inserted as raw XML).
pub fn proppatch_set(ns: &str, name: &str, value_xml: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="{ns}"><D:set><D:prop><Z:{name}>{value_xml}</Z:{name}></D:prop></D:set></D:propertyupdate>"#
    )
}

/// PROPFIND body asking for one property `{ns}name`.
pub fn propfind_one(ns: &str, name: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:Z="{ns}"><D:prop><Z:{name}/></D:prop></D:propfind>"#
    )
}

/// Reads back `{ns}name` on `path` with PROPFIND Depth 0: `(propstat status, element)`.
pub fn read_prop(server: &TestServer, path: &str, ns: &str, name: &str) -> (u16, Element) {
    let resp = server.propfind(path, "0", Some(&propfind_one(ns, name)));
    assert_eq!(resp.status, 207, "PROPFIND {path}: {}", resp.body);
    let ms = resp.multistatus();
    assert_eq!(
        ms.responses.len(),
        1,
        "Depth 0 gives one response: {}",
        resp.body
    );
    ms.responses[0]
        .prop(ns, name)
        .map(|(status, el)| (status, el.clone()))
        .unwrap_or_else(|| {
            panic!(
                "property {{{ns}}}{name} absent from every propstat: {}",
                resp.body
            )
        })
}

/// The hrefs and statuses of a 207 whose responses carry one status each
/// (DELETE, COPY, MOVE), sorted by href.
pub fn statuses_207(resp: &Response) -> Vec<(String, u16)> {
    assert_eq!(resp.status, 207, "expected 207 Multi-Status: {resp:?}");
    let ms = resp.multistatus();
    let mut out: Vec<(String, u16)> = ms
        .responses
        .iter()
        .map(|r| {
            (
                r.href.clone(),
                r.status
                    .unwrap_or_else(|| panic!("response without status: {}", resp.body)),
            )
        })
        .collect();
    out.sort();
    out
}

/// The current strong ETag of `path` (HEAD).
pub fn etag(s: &TestServer, path: &str) -> String {
    let r = s.request("HEAD", path).send();
    assert_eq!(r.status, 200, "HEAD {path}: {r:?}");
    r.expect_header("etag").to_string()
}

/// Waits (bounded, 20 s) until a PUT's temporary file in `dir` holds bytes:
/// the upload is being written. False if none did.
pub fn upload_reaches_disk(dir: &Path) -> bool {
    poll(Duration::from_secs(20), Duration::from_millis(50), || {
        std::fs::read_dir(dir)
            .ok()?
            .filter_map(Result::ok)
            .find(|e| {
                e.file_name().to_string_lossy().starts_with(".deadbolt-tmp")
                    && e.metadata().is_ok_and(|m| m.len() > 0)
            })
            .map(|_| ())
    })
    .is_some()
}

/// A PUT whose body is sent in two parts: the first quarter when it starts,
/// the rest on `finish`; meanwhile the server is in the middle of writing.
pub struct SlowUpload {
    stream: std::net::TcpStream,
    pub body: Vec<u8>,
}

impl SlowUpload {
    /// Starts a PUT of `len` patterned bytes to `path` on `s`.
    pub fn start(s: &TestServer, path: &str, len: usize) -> Self {
        use std::io::Write;
        let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut stream = std::net::TcpStream::connect(&s.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let head = format!(
            "PUT {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n",
            s.addr
        );
        stream.write_all(head.as_bytes()).expect("send head");
        stream.write_all(&body[..len / 4]).expect("send a quarter");
        stream.flush().expect("flush");
        Self { stream, body }
    }

    /// Sends the rest and returns the whole answer, which must be `status`.
    pub fn finish(mut self, status: u16) -> Vec<u8> {
        use std::io::{Read, Write};
        let rest = &self.body[self.body.len() / 4..];
        self.stream.write_all(rest).expect("send the rest");
        self.stream.flush().expect("flush");
        let mut answer = Vec::new();
        let _ = self.stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.starts_with(&format!("HTTP/1.1 {status}")),
            "the upload's answer: {text}"
        );
        self.body
    }
}

//! Request targets with a `#fragment` (RFC 9112 §3.2: never part of a
//! request target). hyper drops the fragment, so the server watches the raw
//! request lines (`src/fragment_guard.rs`) and refuses such requests with
//! 400 instead of acting on a different resource than the one named.
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::{TestServer, parse_answer};

/// Sends `bytes` on one connection and splits what comes back into
/// (status, body) pairs. Every answer here has a Content-Length.
fn pipeline(server: &TestServer, bytes: &[u8]) -> Vec<(u16, String)> {
    let mut stream = TcpStream::connect(&server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(bytes).expect("write");
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    let mut answers = Vec::new();
    let mut rest = &buf[..];
    while !rest.is_empty() {
        let (answer, used) = parse_answer(rest).unwrap_or_else(|| {
            panic!(
                "not a complete response: {:?}",
                String::from_utf8_lossy(rest)
            )
        });
        assert!(
            answer.head.contains("\r\ncontent-length:"),
            "no Content-Length in {}",
            answer.head
        );
        answers.push((answer.status, answer.body));
        rest = &rest[used..];
    }
    answers
}

#[test]
fn delete_with_a_fragment_is_refused_and_deletes_nothing() {
    let server = TestServer::start();
    assert_eq!(server.mkcol("/frag/").status, 201);
    let response =
        server.raw(b"DELETE /frag/#ment HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(response.status, 400);
    assert!(
        response.body.contains("#ment"),
        "the answer names the fragment: {}",
        response.body
    );
    assert!(
        server.root().join("frag").is_dir(),
        "the collection survived"
    );
}

#[test]
fn put_with_a_fragment_is_refused_before_its_body_and_writes_nothing() {
    let server = TestServer::start();
    let response =
        server.raw(b"PUT /notes.txt#draft HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    assert_eq!(response.status, 400);
    assert_eq!(response.header("connection"), Some("close"));
    assert!(!server.root().join("notes.txt").exists());
}

/// Bodies that look like request lines with fragments are body, whether
/// framed by Content-Length or chunked, and the records stay in step with
/// the requests across a pipelined connection.
#[test]
fn pipelined_bodies_that_look_like_request_lines_are_not_mistaken_for_them() {
    let server = TestServer::start();
    let fake = "DELETE /x#y HTTP/1.1\r\n\r\n";
    let chunk = "GET /z#w HTTP/1.1\r\n\r\n";
    let request = format!(
        "PUT /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{fake}\
         PUT /b.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{chunk}\r\n0\r\nX-Trailer: MOVE /t#u\r\n\r\n\
         DELETE /b.txt#frag HTTP/1.1\r\nHost: x\r\n\r\n\
         GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        fake.len(),
        chunk.len()
    );
    let answers = pipeline(&server, request.as_bytes());
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, vec![201, 201, 400, 200], "{answers:?}");
    assert_eq!(answers[3].1, fake);
    assert_eq!(
        std::fs::read_to_string(server.root().join("b.txt")).unwrap(),
        chunk,
        "the fragment DELETE did not delete b.txt"
    );
}

/// `#` in a name travels percent-encoded, and works.
#[test]
fn a_percent_encoded_hash_is_part_of_the_name() {
    let server = TestServer::start();
    assert_eq!(server.put("/a%23b.txt", "hash").status, 201);
    assert!(server.root().join("a#b.txt").is_file());
    assert_eq!(server.get("/a%23b.txt").body, "hash");
    assert_eq!(server.delete("/a%23b.txt").status, 204);
}

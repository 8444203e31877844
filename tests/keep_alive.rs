//! An error answer closes the connection (`Connection: close`) only when the
//! request's body may still be unread on it. A request whose body was read
//! to the end (a LOCK that gets 423, a PROPPATCH that fails) leaves the
//! connection usable for the next request, so clients need not reconnect.

mod support;

use support::lock::{Scope, lockinfo};
use support::{Connection, TestServer};

/// The body of every LOCK here: an exclusive write lock.
fn lock_body() -> String {
    lockinfo(Scope::Exclusive, Some("keep-alive test"))
}

/// `/f.txt` exists and is locked (exclusive) by someone else.
fn locked_file() -> TestServer {
    let s = TestServer::start();
    assert_eq!(s.put("/f.txt", "hello").status, 201);
    let r = s
        .request("LOCK", "/f.txt")
        .header("Timeout", "Second-600")
        .xml(&lock_body())
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

    let lock = c.exchange("LOCK", "/f.txt", &xml, &lock_body());
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

/// RFC 9112 section 9.6: a server that closes while the client is still
/// sending makes the kernel reset the connection, and a reset can destroy
/// the answer before the client reads it (a proxy in front then answers
/// 502). So after a refusal the server stops writing, reads and discards
/// the rest of the body, and only then closes: the client sends its whole
/// body, reads the 423 and then a clean end of stream.
#[test]
fn a_refused_put_is_read_to_its_end_before_the_connection_closes() {
    use std::io::{Read, Write};
    // More than loopback's socket buffers hold, so the server must read.
    const BODY: usize = 64 << 20;
    let s = locked_file();
    let mut stream = std::net::TcpStream::connect(&s.addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "PUT /f.txt HTTP/1.1\r\nHost: {}\r\nContent-Length: {BODY}\r\n\r\n",
        s.addr
    );
    stream.write_all(head.as_bytes()).expect("send the head");
    let mut writer = stream.try_clone().expect("clone the socket");
    let sender = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 << 10];
        (0..BODY / chunk.len()).try_for_each(|_| writer.write_all(&chunk))
    });
    let mut answer = Vec::new();
    let end = loop {
        let mut chunk = [0u8; 8192];
        match stream.read(&mut chunk) {
            Ok(0) => break Ok(()),
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) => break Err(e),
        }
    };
    let sent = sender.join().expect("the sending thread");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 423 "), "answer: {text:?}");
    assert!(
        end.is_ok(),
        "the connection ended with {end:?} instead of a clean close"
    );
    assert!(
        sent.is_ok(),
        "the server stopped reading the body: {sent:?}"
    );
    assert_eq!(s.get("/f.txt").body, "hello", "nothing was written");
}

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

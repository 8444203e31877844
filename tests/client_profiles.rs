//! Issue 12, item 4: client profiles. Each test is the request sequence a
//! real client sends, as its documentation and captures describe it: save,
//! lock, refused by another user, unlock. alice is the client's user, bob
//! the colleague.
mod support;

use support::lock::*;
use support::users::*;
use support::{Req, Response, TestServer};

/// A request as `user` with the client's own headers on it.
fn as_client<'a>(
    s: &'a TestServer,
    user: &str,
    headers: &[(&str, &str)],
    method: &str,
    path: &str,
) -> Req<'a> {
    let mut req = s.request(method, path).user(user);
    for (name, value) in headers {
        req = req.header(name, value);
    }
    req
}

fn lock_body(scope: &str, owner: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:{scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>{owner}</D:owner></D:lockinfo>"#
    )
}

fn status_ok(r: &Response, expected: &[u16], what: &str) {
    assert!(expected.contains(&r.status), "{what}: {r:?}");
}

// Windows Mini-Redirector (MS-WDV): every request carries `Translate: f`;
// a save of a new file is a 0-byte PUT, then LOCK with an href owner, then
// the PUT of the content and a PROPPATCH of the Win32 times with the token.
#[test]
fn windows_mini_redirector() {
    let s = start_team(&[]);
    let win = [
        ("User-Agent", "Microsoft-WebDAV-MiniRedir/10.0.19045"),
        ("Translate", "f"),
    ];
    let r = as_client(&s, "alice", &win, "OPTIONS", "/").send();
    assert!(r.header("dav").is_some_and(|d| d.contains('2')), "{r:?}");
    let r = as_client(&s, "alice", &win, "PROPFIND", "/")
        .header("Depth", "1")
        .xml(r#"<?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:"><D:prop xmlns:Z="urn:schemas-microsoft-com:"><D:getcontentlength/><D:getlastmodified/><D:resourcetype/><Z:Win32FileAttributes/><Z:Win32CreationTime/><Z:Win32LastModifiedTime/></D:prop></D:propfind>"#)
        .send();
    assert_eq!(r.status, 207, "{r:?}");
    let doc = "/Report.docx";
    status_ok(
        &as_client(&s, "alice", &win, "PUT", doc).body("").send(),
        &[201],
        "0-byte PUT",
    );
    let r = as_client(&s, "alice", &win, "LOCK", doc)
        .header("Timeout", "Second-3600")
        .header("Depth", "0")
        .xml(&lock_body("exclusive", r#"<D:href>CONTOSO\alice</D:href>"#))
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    let token = lock_token_header(&r);
    let if_token = format!("(<{token}>)");
    let r = as_client(&s, "alice", &win, "PUT", doc)
        .header("If", &if_token)
        .body("the report")
        .send();
    assert_eq!(r.status, 204, "{r:?}");
    let r = as_client(&s, "alice", &win, "PROPPATCH", doc)
        .header("If", &if_token)
        .xml(r#"<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32CreationTime>Mon, 07 Dec 2026 09:00:00 GMT</Z:Win32CreationTime><Z:Win32LastAccessTime>Mon, 07 Dec 2026 09:00:00 GMT</Z:Win32LastAccessTime><Z:Win32LastModifiedTime>Mon, 07 Dec 2026 09:00:00 GMT</Z:Win32LastModifiedTime><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>"#)
        .send();
    assert_eq!(r.status, 207, "{r:?}");
    assert!(
        !r.body.contains("HTTP/1.1 4"),
        "every property set: {}",
        r.body
    );
    // The colleague is refused, naming alice's lock.
    let r = as_client(&s, "bob", &win, "PUT", doc).body("bob's").send();
    assert_lock_token_submitted(&r, doc);
    let r = as_client(&s, "alice", &win, "UNLOCK", doc)
        .header("Lock-Token", &format!("<{token}>"))
        .send();
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(
        as_client(&s, "bob", &win, "GET", doc).send().body,
        "the report"
    );
}

// macOS Finder (webdavfs): chunked PUTs announcing the size in
// X-Expected-Entity-Length, `._` AppleDouble companions, a lock refreshed
// every few minutes with an empty LOCK.
#[test]
fn macos_finder() {
    let s = start_team(&[]);
    let mac = [(
        "User-Agent",
        "WebDAVFS/3.0.0 (03008000) Darwin/23.1.0 (arm64)",
    )];
    let doc = "/Budget.numbers";
    let r = as_client(&s, "alice", &mac, "LOCK", doc)
        .header("Timeout", "Second-600")
        .header("Depth", "0")
        .xml(&lock_body(
            "exclusive",
            "<D:href>http://www.apple.com/webdav_fs/</D:href>",
        ))
        .send();
    assert_eq!(r.status, 201, "a LOCK of a new name creates it: {r:?}");
    let token = lock_token_header(&r);
    let content = "x".repeat(100_000);
    let head = format!(
        "PUT {doc} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nUser-Agent: WebDAVFS/3.0.0\r\nIf: (<{token}>)\r\nX-Expected-Entity-Length: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        s.addr,
        basic("alice", &password("alice")),
        content.len()
    );
    let mut chunked = Vec::new();
    for piece in content.as_bytes().chunks(16_384) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, text) = support::raw_exchange(&s.addr, &head, &chunked);
    assert_eq!(status, 204, "{text}");
    // The AppleDouble companion is an ordinary file, outside the lock.
    let r = as_client(&s, "alice", &mac, "PUT", "/._Budget.numbers")
        .body("resource fork")
        .send();
    assert_eq!(r.status, 201, "{r:?}");
    // The periodic refresh: no body, the token in If.
    let r = as_client(&s, "alice", &mac, "LOCK", doc)
        .header("Timeout", "Second-600")
        .header("If", &format!("(<{token}>)"))
        .send();
    assert_eq!(r.status, 200, "refresh: {r:?}");
    assert_eq!(as_client(&s, "bob", &mac, "DELETE", doc).send().status, 423);
    let r = as_client(&s, "alice", &mac, "UNLOCK", doc)
        .header("Lock-Token", &format!("<{token}>"))
        .send();
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(
        s.request("GET", doc).user("bob").send().body.len(),
        content.len()
    );
}

// Microsoft Office (MS-WDVME): OPTIONS on the folder first; documents are
// locked exclusively with an href owner for editing, and opened read-only
// by others, who can see who has it.
#[test]
fn microsoft_office() {
    let s = start_team(&[]);
    let office = [
        ("User-Agent", "Microsoft Office Word 2014"),
        ("X-Office-Major-Version", "16"),
    ];
    assert_eq!(put_as(&s, Some("alice"), "/Plan.xlsx", "v1").status, 201);
    let r = as_client(&s, "alice", &office, "OPTIONS", "/").send();
    let allow = r.header("allow").unwrap_or("");
    assert!(allow.contains("LOCK") && allow.contains("UNLOCK"), "{r:?}");
    let r = as_client(&s, "alice", &office, "LOCK", "/Plan.xlsx")
        .header("Timeout", "Second-3600")
        .xml(&lock_body(
            "exclusive",
            "<D:href>alice@contoso.com</D:href>",
        ))
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    let token = lock_token_header(&r);
    // The colleague's Office asks for the lock, is refused, and reads who.
    let r = as_client(&s, "bob", &office, "LOCK", "/Plan.xlsx")
        .header("Timeout", "Second-3600")
        .xml(&lock_body("exclusive", "<D:href>bob@contoso.com</D:href>"))
        .send();
    assert_conflict(&r, "/Plan.xlsx");
    let r = as_client(&s, "bob", &office, "PROPFIND", "/Plan.xlsx")
        .header("Depth", "0")
        .xml(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>"#)
        .send();
    assert!(r.body.contains("alice@contoso.com"), "who has it: {r:?}");
    // Saving: the tagged If form Office sends.
    let tagged_if = format!("<{}> (<{token}>)", s.url("/Plan.xlsx"));
    let r = as_client(&s, "alice", &office, "PUT", "/Plan.xlsx")
        .header("If", &tagged_if)
        .body("v2")
        .send();
    assert_eq!(r.status, 204, "{r:?}");
    let r = as_client(&s, "alice", &office, "UNLOCK", "/Plan.xlsx")
        .header("Lock-Token", &format!("<{token}>"))
        .send();
    assert_eq!(r.status, 204, "{r:?}");
    // Shared locks: two readers may both hold one; an exclusive lock waits.
    let shared = |user: &str| {
        as_client(&s, user, &office, "LOCK", "/Plan.xlsx")
            .header("Timeout", "Second-600")
            .xml(&lock_body(
                "shared",
                &format!("<D:href>{user}@contoso.com</D:href>"),
            ))
            .send()
    };
    assert_eq!(shared("alice").status, 200);
    assert_eq!(shared("bob").status, 200);
    let r = as_client(&s, "root", &office, "LOCK", "/Plan.xlsx")
        .xml(&lock_body("exclusive", "<D:href>root@contoso.com</D:href>"))
        .send();
    assert_conflict(&r, "/Plan.xlsx");
}

// LibreOffice: a short lock refreshed while the document is open, the
// owner a plain name, saves with the token, UNLOCK on close.
#[test]
fn libreoffice() {
    let s = start_team(&[]);
    let lo = [("User-Agent", "LibreOffice")];
    assert_eq!(put_as(&s, Some("alice"), "/Notes.odt", "v1").status, 201);
    let r = as_client(&s, "alice", &lo, "PROPFIND", "/Notes.odt")
        .header("Depth", "0")
        .xml(r#"<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop><resourcetype/><IsReadOnly xmlns="http://ucb.openoffice.org/dav/props/"/><getcontenttype/><supportedlock/><lockdiscovery/></prop></propfind>"#)
        .send();
    assert_eq!(r.status, 207, "{r:?}");
    assert!(r.body.contains("supportedlock"), "{r:?}");
    let r = as_client(&s, "alice", &lo, "LOCK", "/Notes.odt")
        .header("Timeout", "Second-180")
        .header("Depth", "0")
        .xml(&lock_body("exclusive", "LibreOffice - Alice"))
        .send();
    assert_eq!(r.status, 200, "{r:?}");
    let token = lock_token_header(&r);
    for _ in 0..2 {
        let r = as_client(&s, "alice", &lo, "LOCK", "/Notes.odt")
            .header("Timeout", "Second-180")
            .header("If", &format!("<{}> (<{token}>)", s.url("/Notes.odt")))
            .send();
        assert_eq!(r.status, 200, "refresh: {r:?}");
    }
    let r = as_client(&s, "alice", &lo, "PUT", "/Notes.odt")
        .header("If", &format!("(<{token}>)"))
        .body("v2")
        .send();
    assert_eq!(r.status, 204, "{r:?}");
    let r = as_client(&s, "bob", &lo, "LOCK", "/Notes.odt")
        .header("Timeout", "Second-180")
        .xml(&lock_body("exclusive", "LibreOffice - Bob"))
        .send();
    assert_conflict(&r, "/Notes.odt");
    assert!(r.body.contains("alice"), "bob is told who: {r:?}");
    let r = as_client(&s, "alice", &lo, "UNLOCK", "/Notes.odt")
        .header("Lock-Token", &format!("<{token}>"))
        .send();
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(
        as_client(&s, "bob", &lo, "LOCK", "/Notes.odt")
            .xml(&lock_body("exclusive", "LibreOffice - Bob"))
            .send()
            .status,
        200
    );
}

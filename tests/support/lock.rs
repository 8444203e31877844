//! Locking helpers (RFC 4918 §6, §9.10, §9.11): LOCK bodies and requests,
//! anonymous or as a user, requests carrying lock tokens, reading
//! `DAV:lockdiscovery` back, and the `DAV:error` answers of refused
//! requests (§16).

use super::users::req_as;
use super::xml::{self, Element, href_path};
use super::{DAV, Response, TestServer, propfind_dav_props, proppatch_set, sorted};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Exclusive,
    Shared,
}

impl Scope {
    pub fn element(self) -> &'static str {
        match self {
            Scope::Exclusive => "exclusive",
            Scope::Shared => "shared",
        }
    }
}

/// A `DAV:lockinfo` body (§14.11) for a write lock, with an optional owner
/// given as raw XML content of `D:owner`.
pub fn lockinfo(scope: Scope, owner: Option<&str>) -> String {
    let owner = owner
        .map(|o| format!("<D:owner>{o}</D:owner>"))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:{}/></D:lockscope><D:locktype><D:write/></D:locktype>{owner}</D:lockinfo>"#,
        scope.element()
    )
}

/// The owner every anonymous test LOCK carries (`lock_request`).
const TEST_OWNER: &str = "<D:href>mailto:test@example.org</D:href>";

/// Sends a LOCK (creation) with `Depth` (None: no header), extra headers and
/// `TEST_OWNER`.
pub fn lock_request(
    s: &TestServer,
    path: &str,
    scope: Scope,
    depth: Option<&str>,
    headers: &[(&str, &str)],
) -> Response {
    let mut req = s.request("LOCK", path);
    if let Some(depth) = depth {
        req = req.header("Depth", depth);
    }
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req.xml(&lockinfo(scope, Some(TEST_OWNER))).send()
}

/// A LOCK creation with `Depth` and the server's default timeout; the answer
/// may be a refusal.
pub fn lock(s: &TestServer, path: &str, scope: Scope, depth: &str) -> Response {
    lock_request(s, path, scope, Some(depth), &[])
}

/// An exclusive LOCK creation asking for `timeout` (`Second-N`, `Infinite`).
pub fn lock_with_timeout(s: &TestServer, path: &str, depth: &str, timeout: &str) -> Response {
    lock_request(
        s,
        path,
        Scope::Exclusive,
        Some(depth),
        &[("Timeout", timeout)],
    )
}

/// Takes a lock that must be granted (200 or 201), returning its token.
pub fn lock_ok(s: &TestServer, path: &str, scope: Scope, depth: &str) -> String {
    let r = lock_request(s, path, scope, Some(depth), &[("Timeout", "Second-3600")]);
    granted_token(&r, format_args!("LOCK {path} ({scope:?}, depth {depth})"))
}

/// An exclusive LOCK as `user` (None: without credentials, see `req_as`) with
/// Depth and a one-hour timeout.
pub fn lock_as(
    s: &TestServer,
    user: Option<&str>,
    path: &str,
    depth: &str,
    owner: Option<&str>,
) -> Response {
    req_as(s, user, "LOCK", path)
        .header("Depth", depth)
        .header("Timeout", "Second-3600")
        .xml(&lockinfo(Scope::Exclusive, owner))
        .send()
}

/// `lock_as` without an owner, which must be granted; returns the token.
pub fn lock_ok_as(s: &TestServer, user: Option<&str>, path: &str, depth: &str) -> String {
    let r = lock_as(s, user, path, depth, None);
    granted_token(&r, format_args!("LOCK {path} as {user:?}"))
}

/// The token of a LOCK answer that must grant the lock (200 or 201).
fn granted_token(r: &Response, what: std::fmt::Arguments) -> String {
    assert!(
        r.status == 200 || r.status == 201,
        "{what} must be granted: {r:?}"
    );
    lock_token_header(r)
}

/// The token of a `Lock-Token: <urn:uuid:...>` response header, without brackets.
pub fn lock_token_header(resp: &Response) -> String {
    let raw = resp.expect_header("lock-token").trim();
    let inner = raw
        .strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or_else(|| panic!("Lock-Token is not a Coded-URL <...>: {raw:?}"));
    inner.to_string()
}

/// `(<token>)`: an untagged If header submitting one token (§10.4).
pub fn if_token(token: &str) -> String {
    format!("(<{token}>)")
}

/// `<path> (<token>)` tagged lists, one per pair (§10.4.2).
pub fn tagged(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(p, t)| format!("<{p}> (<{t}>)"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A request with an `If` header.
pub fn with_if(
    s: &TestServer,
    method: &str,
    path: &str,
    if_header: &str,
    body: Option<&str>,
) -> Response {
    let req = s.request(method, path).header("If", if_header);
    match body {
        Some(b) => req.body(b).send(),
        None => req.send(),
    }
}

/// PROPPATCH with an `If` header.
pub fn proppatch_if(s: &TestServer, path: &str, body: &str, if_header: &str) -> Response {
    s.request("PROPPATCH", path)
        .header("If", if_header)
        .xml(body)
        .send()
}

/// COPY or MOVE with an `If` header.
pub fn copy_move_if(
    s: &TestServer,
    method: &str,
    src: &str,
    dest: &str,
    if_header: &str,
) -> Response {
    s.copy_move(method, src, dest, &[("If", if_header)])
}

/// The namespace of the dead property `p` that `set_p` writes.
pub const NS: &str = "urn:deadbolt:test";

/// PROPPATCH setting the dead property `{NS}p` to `v`: a write that needs
/// the lock token like any other (§7).
pub fn set_p(s: &TestServer, path: &str) -> Response {
    s.proppatch(path, &proppatch_set(NS, "p", "v"))
}

/// Asserts that a PROPPATCH of `{NS}p` on `path` succeeded (207, 200 for p).
pub fn proppatch_ok(resp: &Response, path: &str) {
    assert_eq!(resp.status, 207, "PROPPATCH {path}: {resp:?}");
    let ms = resp.multistatus();
    assert_eq!(
        ms.responses[0].prop_status(NS, "p"),
        Some(200),
        "PROPPATCH {path} must succeed: {}",
        resp.body
    );
}

/// Sets `{NS}p` on `path` with this If header; it must succeed.
pub fn assert_set_p_with_if(s: &TestServer, path: &str, if_header: &str) {
    proppatch_ok(
        &proppatch_if(s, path, &proppatch_set(NS, "p", "v"), if_header),
        path,
    );
}

/// PUT on a connection of its own: deadbolt may refuse a PUT (423, 412, 400)
/// before reading its body (see `Req::once`).
pub fn put(s: &TestServer, path: &str, body: &str) -> Response {
    s.request("PUT", path).once().body(body).send()
}

/// PUT with an `If` header (on its own connection, like `put`).
pub fn put_if(s: &TestServer, path: &str, body: &str, if_header: &str) -> Response {
    s.request("PUT", path)
        .header("If", if_header)
        .once()
        .body(body)
        .send()
}

/// PUT submitting one lock token: `If: (<token>)`.
pub fn put_with_token(s: &TestServer, path: &str, body: &str, token: &str) -> Response {
    put_if(s, path, body, &if_token(token))
}

/// PUT as `user` submitting one lock token.
pub fn put_as_if(
    s: &TestServer,
    user: Option<&str>,
    path: &str,
    body: &str,
    token: &str,
) -> Response {
    req_as(s, user, "PUT", path)
        .header("If", &if_token(token))
        .body(body)
        .send()
}

/// UNLOCK with `Lock-Token: <token>`.
pub fn unlock(s: &TestServer, path: &str, token: &str) -> Response {
    s.request("UNLOCK", path)
        .header("Lock-Token", &format!("<{token}>"))
        .send()
}

/// UNLOCK as `user`.
pub fn unlock_as(s: &TestServer, user: Option<&str>, path: &str, token: &str) -> Response {
    req_as(s, user, "UNLOCK", path)
        .header("Lock-Token", &format!("<{token}>"))
        .send()
}

/// A refresh (§9.10.2): LOCK without a body, If naming the token.
pub fn refresh(s: &TestServer, path: &str, token: &str, timeout: Option<&str>) -> Response {
    refresh_if(s, path, &if_token(token), timeout)
}

/// A refresh whose If header is given whole (tagged lists, ETags, Not).
pub fn refresh_if(s: &TestServer, path: &str, if_header: &str, timeout: Option<&str>) -> Response {
    let mut req = s.request("LOCK", path).header("If", if_header);
    if let Some(t) = timeout {
        req = req.header("Timeout", t);
    }
    req.send()
}

/// One `DAV:activelock`, as read back.
#[derive(Debug, Clone)]
pub struct ActiveLockView {
    pub scope: String,
    pub locktype: String,
    pub depth: String,
    pub owner: Option<Element>,
    pub timeout: Option<String>,
    pub token: Option<String>,
    pub root: Option<String>,
    pub element: Element,
}

impl ActiveLockView {
    /// Seconds in a `Second-N` timeout.
    pub fn timeout_seconds(&self) -> u64 {
        let t = self
            .timeout
            .as_deref()
            .unwrap_or_else(|| panic!("activelock without timeout: {self:?}"));
        t.strip_prefix("Second-")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("timeout is not Second-N: {t:?}"))
    }

    pub fn token(&self) -> &str {
        self.token.as_deref().expect("activelock has a locktoken")
    }

    pub fn root(&self) -> &str {
        self.root.as_deref().expect("activelock has a lockroot")
    }
}

fn only_child_name(el: &Element, what: &str) -> String {
    let kids: Vec<&Element> = el.elements().collect();
    assert_eq!(kids.len(), 1, "{what} must hold one element: {el:?}");
    assert_eq!(kids[0].ns, DAV, "{what} child must be in DAV:: {el:?}");
    kids[0].name.clone()
}

/// Parses every `DAV:activelock` under a `DAV:lockdiscovery` element.
pub fn parse_activelocks(lockdiscovery: &Element) -> Vec<ActiveLockView> {
    assert!(
        lockdiscovery.is(DAV, "lockdiscovery"),
        "not a lockdiscovery: {lockdiscovery:?}"
    );
    lockdiscovery
        .elements()
        .map(|al| {
            assert!(
                al.is(DAV, "activelock"),
                "lockdiscovery holds only activelock elements (§15.8): {al:?}"
            );
            let child = |name: &str| al.child(DAV, name);
            let href_of = |name: &str| {
                child(name).map(|c| {
                    c.child(DAV, "href")
                        .unwrap_or_else(|| panic!("{name} without href: {al:?}"))
                        .text()
                        .trim()
                        .to_string()
                })
            };
            ActiveLockView {
                scope: only_child_name(
                    child("lockscope").expect("activelock has lockscope (§14.1)"),
                    "lockscope",
                ),
                locktype: only_child_name(
                    child("locktype").expect("activelock has locktype (§14.1)"),
                    "locktype",
                ),
                depth: child("depth")
                    .expect("activelock has depth (§14.1)")
                    .text()
                    .trim()
                    .to_string(),
                owner: child("owner").cloned(),
                timeout: child("timeout").map(|t| t.text().trim().to_string()),
                token: href_of("locktoken"),
                root: href_of("lockroot").map(|h| href_path(&h)),
                element: al.clone(),
            }
        })
        .collect()
}

/// The active locks PROPFIND (Depth 0, prop lockdiscovery) reports on `path`.
pub fn active_locks(s: &TestServer, path: &str) -> Vec<ActiveLockView> {
    let resp = s.propfind(path, "0", Some(&propfind_dav_props(&["lockdiscovery"])));
    assert_eq!(resp.status, 207, "PROPFIND {path}: {resp:?}");
    let ms = resp.multistatus();
    assert_eq!(ms.responses.len(), 1, "Depth 0: {}", resp.body);
    parse_activelocks(ms.responses[0].ok_prop(DAV, "lockdiscovery"))
}

/// The tokens of these locks, sorted.
pub fn tokens_of(locks: &[ActiveLockView]) -> Vec<String> {
    sorted(locks.iter().map(|l| l.token().to_string()).collect())
}

/// The active locks in a LOCK response body (`<D:prop><D:lockdiscovery>`).
pub fn locks_in_lock_response(resp: &Response) -> Vec<ActiveLockView> {
    let root = xml::parse(&resp.body);
    assert!(
        root.is(DAV, "prop"),
        "LOCK response body must be DAV:prop (§9.10.1): {}",
        resp.body
    );
    let ld = root
        .child(DAV, "lockdiscovery")
        .unwrap_or_else(|| panic!("no lockdiscovery in LOCK response: {}", resp.body));
    parse_activelocks(ld)
}

/// Parses `resp` as a `DAV:error` body, which is XML (§16); returns its root.
pub fn dav_error(resp: &Response) -> Element {
    let ct = resp.header("content-type").unwrap_or("");
    assert!(
        ct.starts_with("application/xml") || ct.starts_with("text/xml"),
        "DAV:error bodies are XML (§16), got Content-Type {ct:?}: {resp:?}"
    );
    let root = xml::parse(&resp.body);
    assert!(root.is(DAV, "error"), "expected DAV:error: {}", resp.body);
    root
}

/// The `DAV:responsedescription` of a `DAV:error` body.
pub fn error_description(root: &Element) -> String {
    root.child(DAV, "responsedescription")
        .map(Element::text)
        .unwrap_or_default()
}

/// Asserts a `status` answer whose `DAV:error` holds the precondition
/// `name`; returns the hrefs inside it.
pub fn assert_dav_error(resp: &Response, status: u16, name: &str) -> Vec<String> {
    assert_eq!(resp.status, status, "expected {status} + {name}: {resp:?}");
    let root = dav_error(resp);
    let cond = root
        .child(DAV, name)
        .unwrap_or_else(|| panic!("DAV:error without DAV:{name}: {}", resp.body));
    cond.children_named(DAV, "href")
        .map(|h| href_path(&h.text()))
        .collect()
}

/// Asserts `lock-token-matches-request-uri` (§16): the submitted token names
/// no lock on this URL. `status` is 409 for UNLOCK, 412 for a refresh.
pub fn assert_token_mismatch(resp: &Response, status: u16) {
    assert_dav_error(resp, status, "lock-token-matches-request-uri");
}

/// A path without its trailing slash (the root stays `/`): for comparisons
/// where only the resource matters, not how a collection's URL is spelled.
/// The spelling is checked exactly by dedicated tests.
pub fn slashless(href: &str) -> String {
    let t = href.trim_end_matches('/');
    if t.is_empty() { "/".into() } else { t.into() }
}

/// Asserts a 423 whose precondition `name` names the one lock root
/// `root_href` (slash-insensitive).
fn assert_423_naming_root(resp: &Response, name: &str, root_href: &str, which_lock: &str) {
    let hrefs = assert_dav_error(resp, 423, name);
    assert_eq!(
        hrefs.iter().map(|h| slashless(h)).collect::<Vec<_>>(),
        vec![slashless(root_href)],
        "{name} must name the root of the {which_lock} lock ({root_href}): {resp:?}"
    );
}

/// 423 with `lock-token-submitted` naming `root_href` (§9.10.6, §16).
/// A collection's href is compared without its trailing slash here;
/// `lock_token_submitted_names_a_collection_root_with_its_slash_s16_s8_3`
/// in `lock_tokens_required.rs` is exact.
pub fn assert_locked(resp: &Response, root_href: &str) {
    assert_423_naming_root(resp, "lock-token-submitted", root_href, "blocking");
}

/// 423 with `lock-token-submitted` naming exactly `root_href`, as spelled;
/// returns the description (which names the holder).
pub fn assert_lock_token_submitted(resp: &Response, root_href: &str) -> String {
    let hrefs = assert_dav_error(resp, 423, "lock-token-submitted");
    assert_eq!(
        hrefs,
        vec![root_href.to_string()],
        "lock-token-submitted names the lock root: {resp:?}"
    );
    error_description(&dav_error(resp))
}

/// 423 with `lock-token-submitted` naming one of `roots` (the RFC asks for
/// at least one of the locked resources that blocked the request, §9.6.1/§16).
pub fn assert_locked_one_of(resp: &Response, roots: &[&str]) {
    let hrefs = assert_dav_error(resp, 423, "lock-token-submitted");
    let want: Vec<String> = roots.iter().map(|r| slashless(r)).collect();
    assert!(
        !hrefs.is_empty() && hrefs.iter().all(|h| want.contains(&slashless(h))),
        "lock-token-submitted must name blocking lock roots among {roots:?}: {resp:?}"
    );
}

/// 423 with `no-conflicting-lock` naming `root_href` (slash-insensitive, as above).
pub fn assert_conflict(resp: &Response, root_href: &str) {
    assert_423_naming_root(resp, "no-conflicting-lock", root_href, "conflicting");
}

/// `urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (RFC 4122 string form).
pub fn is_urn_uuid(token: &str) -> bool {
    let Some(uuid) = token.strip_prefix("urn:uuid:") else {
        return false;
    };
    let groups: Vec<&str> = uuid.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A LOCK creation with Depth and nothing more: no owner, no Timeout.
pub fn bare_lock(s: &TestServer, path: &str, scope: Scope, depth: &str) -> Response {
    s.request("LOCK", path)
        .header("Depth", depth)
        .xml(&lockinfo(scope, None))
        .send()
}

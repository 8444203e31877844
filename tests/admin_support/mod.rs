//! Helpers shared by the issue #4 tests (`auth.rs`, `admin_api.rs`,
//! `admin_cli.rs`, `holds.rs`): htpasswd files with bcrypt entries, HTTP
//! Basic credentials, authenticated requests, LOCK as a user, the admin
//! commands (`deadbolt locks ...`, `deadbolt hold ...`) run to completion,
//! JSON and `DAV:error` read-back.
//!
//! Each test file includes `mod support;` and `mod admin_support;`.
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::Value;

use crate::support::xml::{self, Element, href_path};
use crate::support::{DAV, Launch, Req, Response, TestServer};

/// deadbolt's own XML namespace (the `maintenance-hold` element lives in it).
pub const DEADBOLT_NS: &str = "urn:x-deadbolt:";

/// A User-Agent the tests send, so the audit trail can be checked for it.
pub const AGENT: &str = "deadbolt-issue4-tests/1.0";

/// How long one admin command may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(30);

/// Every test user's password is derived from the name.
pub fn password(user: &str) -> String {
    format!("{user}-secret")
}

/// `Basic base64(user:password)` (RFC 7617).
pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// An htpasswd file body: one bcrypt entry per user (cost 4 keeps tests fast).
/// The first user gets a `$2y$` hash, as `htpasswd -B` writes them; the
/// others `$2b$`, as most other tools do.
pub fn htpasswd_text(users: &[&str]) -> String {
    let mut text = String::from("# made by the deadbolt tests\n");
    for (i, user) in users.iter().enumerate() {
        let parts = bcrypt::hash_with_result(password(user), 4).expect("bcrypt");
        let version = if i == 0 {
            bcrypt::Version::TwoY
        } else {
            bcrypt::Version::TwoB
        };
        text.push_str(&format!("{user}:{}\n", parts.format_for_version(version)));
    }
    text
}

/// `Launch::new()` (explicit state dir) plus `--htpasswd` naming a file with
/// bcrypt entries for `users`.
pub fn launch_with_users(users: &[&str]) -> Launch {
    let launch = Launch::new();
    let file = launch.write_file("htpasswd", &htpasswd_text(users));
    launch.arg("--htpasswd").arg(file)
}

/// alice and bob read and write; carol only reads; root is an administrator.
pub const USERS: &[&str] = &["alice", "bob", "carol", "root"];

/// A server with `USERS`, carol read-only and root an administrator.
pub fn start_team(extra: &[&str]) -> TestServer {
    launch_with_users(USERS)
        .args(&["--read-only-users", "carol", "--admins", "root"])
        .args(extra)
        .start()
}

/// Adds credentials to a request.
///
/// Every request made through these helpers says `Connection: close`, so
/// it gets a connection of its own: when deadbolt refuses a request before
/// reading its body (401, 403, 423, ...), the server cannot reuse the
/// connection (see `auth.rs`,
/// `a_request_refused_before_its_body_is_read_leaves_the_connection_usable`);
/// one connection per request keeps each test about what it means to test,
/// whatever a refusal does to the connection it came on.
pub trait AsUser: Sized {
    /// The user's right password.
    fn user(self, name: &str) -> Self;
    /// An arbitrary `Authorization` value.
    fn auth(self, value: &str) -> Self;
    /// A connection of its own (`Connection: close`).
    fn once(self) -> Self;
}

impl AsUser for Req<'_> {
    fn user(self, name: &str) -> Self {
        self.header("Authorization", &basic(name, &password(name)))
            .once()
    }

    fn auth(self, value: &str) -> Self {
        self.header("Authorization", value).once()
    }

    fn once(self) -> Self {
        self.header("Connection", "close")
    }
}

/// A `DAV:lockinfo` body for an exclusive write lock, with an optional
/// `DAV:owner` given as raw XML content.
pub fn lockinfo(owner: Option<&str>) -> String {
    lockinfo_scope("exclusive", owner)
}

pub fn lockinfo_scope(scope: &str, owner: Option<&str>) -> String {
    let owner = owner
        .map(|o| format!("<D:owner>{o}</D:owner>"))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:{scope}/></D:lockscope><D:locktype><D:write/></D:locktype>{owner}</D:lockinfo>"#
    )
}

/// LOCK as `user` (None: without credentials) with Depth and a one-hour timeout.
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
        .xml(&lockinfo(owner))
        .send()
}

/// A LOCK that must be granted (200 or 201); returns the token.
pub fn lock_ok(s: &TestServer, user: Option<&str>, path: &str, depth: &str) -> String {
    let r = lock_as(s, user, path, depth, None);
    assert!(
        r.status == 200 || r.status == 201,
        "LOCK {path} as {user:?} must be granted: {r:?}"
    );
    lock_token(&r)
}

/// The token of a `Lock-Token: <urn:uuid:...>` response header.
pub fn lock_token(resp: &Response) -> String {
    let raw = resp.expect_header("lock-token").trim();
    raw.strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or_else(|| panic!("Lock-Token is not a Coded-URL: {raw:?}"))
        .to_string()
}

/// `(<token>)`: an untagged If header submitting one token (§10.4).
pub fn if_token(token: &str) -> String {
    format!("(<{token}>)")
}

/// A request as `user` (None: no credentials), with `User-Agent: AGENT`.
pub fn req_as<'a>(s: &'a TestServer, user: Option<&str>, method: &str, path: &str) -> Req<'a> {
    let req = s.request(method, path).header("User-Agent", AGENT);
    match user {
        Some(u) => req.user(u),
        None => req.once(),
    }
}

pub fn put_as(s: &TestServer, user: Option<&str>, path: &str, body: &str) -> Response {
    req_as(s, user, "PUT", path).body(body).send()
}

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

pub fn unlock_as(s: &TestServer, user: Option<&str>, path: &str, token: &str) -> Response {
    req_as(s, user, "UNLOCK", path)
        .header("Lock-Token", &format!("<{token}>"))
        .send()
}

/// Asserts a write succeeded: 201 (created) or 204 (replaced).
pub fn assert_written(resp: &Response, what: &str) {
    assert!(
        resp.status == 201 || resp.status == 204,
        "{what} must succeed (201/204): {resp:?}"
    );
}

/// Asserts a 401 that asks for Basic credentials in realm "deadbolt"
/// (RFC 7235 §3.1, RFC 7617 §2).
pub fn assert_unauthorized(resp: &Response, what: &str) {
    assert_eq!(resp.status, 401, "{what} must be 401: {resp:?}");
    let challenge = resp
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("{what}: 401 without WWW-Authenticate: {resp:?}"));
    assert!(
        challenge.starts_with("Basic realm=\"deadbolt\""),
        "{what}: WWW-Authenticate must be a Basic challenge for realm \"deadbolt\": {challenge:?}"
    );
}

/// Parses `resp` as a `DAV:error` body; returns the root element.
pub fn dav_error(resp: &Response) -> Element {
    let ct = resp.header("content-type").unwrap_or("");
    assert!(
        ct.starts_with("application/xml") || ct.starts_with("text/xml"),
        "a DAV:error body is XML, got Content-Type {ct:?}: {resp:?}"
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

/// Asserts a 423 with `DAV:lock-token-submitted` naming `root_href`;
/// returns the human-readable description.
pub fn assert_lock_token_submitted(resp: &Response, root_href: &str) -> String {
    assert_eq!(resp.status, 423, "expected 423 Locked: {resp:?}");
    let root = dav_error(resp);
    let cond = root
        .child(DAV, "lock-token-submitted")
        .unwrap_or_else(|| panic!("DAV:error without lock-token-submitted: {}", resp.body));
    let hrefs: Vec<String> = cond
        .children_named(DAV, "href")
        .map(|h| href_path(&h.text()))
        .collect();
    assert_eq!(
        hrefs,
        vec![root_href.to_string()],
        "lock-token-submitted names the lock root: {resp:?}"
    );
    error_description(&root)
}

/// Asserts a 423 whose `DAV:error` holds deadbolt's `maintenance-hold`
/// naming `held_href` and whose description carries `reason`.
pub fn assert_held(resp: &Response, held_href: &str, reason: &str, what: &str) {
    assert_eq!(
        resp.status, 423,
        "{what} must be 423 under a hold: {resp:?}"
    );
    let root = dav_error(resp);
    let cond = root
        .child(DEADBOLT_NS, "maintenance-hold")
        .unwrap_or_else(|| {
            panic!("{what}: DAV:error without {{{DEADBOLT_NS}}}maintenance-hold: {resp:?}")
        });
    let hrefs: Vec<String> = cond
        .children_named(DAV, "href")
        .map(|h| href_path(&h.text()).trim_end_matches('/').to_string())
        .collect();
    assert_eq!(
        hrefs,
        vec![held_href.trim_end_matches('/').to_string()],
        "{what}: maintenance-hold names the held tree: {resp:?}"
    );
    let description = error_description(&root);
    assert!(
        description.contains(reason),
        "{what}: the 423 must carry the hold's reason {reason:?}: {resp:?}"
    );
}

/// The body as JSON, after checking `Content-Type: application/json`.
pub fn json(resp: &Response) -> Value {
    let ct = resp.header("content-type").unwrap_or("");
    assert!(
        ct.starts_with("application/json"),
        "expected a JSON answer, got Content-Type {ct:?}: {resp:?}"
    );
    serde_json::from_str(&resp.body).unwrap_or_else(|e| panic!("invalid JSON ({e}): {resp:?}"))
}

/// Asserts an API error: the status and a JSON `{"error": "..."}` body;
/// returns the message.
pub fn assert_api_error(resp: &Response, status: u16, what: &str) -> String {
    assert_eq!(resp.status, status, "{what}: {resp:?}");
    let v = json(resp);
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: error body without an \"error\" string: {resp:?}"))
        .to_string()
}

/// A JSON array member, panicking with the document when absent.
pub fn array<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no array {key:?} in {v:#}"))
}

/// The `token` strings of a JSON list of locks, sorted.
pub fn tokens(locks: &[Value]) -> Vec<String> {
    let mut t: Vec<String> = locks
        .iter()
        .map(|l| l["token"].as_str().expect("token").to_string())
        .collect();
    t.sort();
    t
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Seconds since the epoch of an RFC 3339 time as the server prints it.
pub fn epoch_seconds(rfc3339: &str) -> u64 {
    humantime::parse_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("not an RFC 3339 time {rfc3339:?}: {e}"))
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs()
}

pub fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

/// What an admin command printed, and how it ended.
#[derive(Debug)]
pub struct CliOutput {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    /// Asserts success; returns stdout.
    pub fn ok(&self) -> &str {
        assert!(self.success, "the command must succeed: {self:#?}");
        &self.stdout
    }

    /// Asserts a failure (non-zero exit) whose stderr says something; returns stderr.
    pub fn failed(&self) -> &str {
        assert!(!self.success, "the command must fail: {self:#?}");
        assert_ne!(self.code, Some(0), "{self:#?}");
        assert!(
            !self.stderr.trim().is_empty(),
            "a failing command must say why on stderr: {self:#?}"
        );
        &self.stderr
    }

    /// Stdout as JSON (for `--json`).
    pub fn json(&self) -> Value {
        let out = self.ok();
        serde_json::from_str(out.trim())
            .unwrap_or_else(|e| panic!("--json output is not JSON ({e}): {self:#?}"))
    }
}

/// Runs `deadbolt ARGS...` to completion (bounded), in a scratch directory,
/// without the developer's `DEADBOLT_*` variables.
pub fn cli<S: Into<OsString> + Clone>(args: &[S]) -> CliOutput {
    cli_env(args, &[])
}

/// `cli` with extra environment variables.
pub fn cli_env<S: Into<OsString> + Clone>(args: &[S], envs: &[(&str, &str)]) -> CliOutput {
    let mut launch = Launch::bare().args(args);
    for (k, v) in envs {
        launch = launch.env(k, v);
    }
    let (status, stdout, stderr) = launch.run_to_exit(CLI_TIMEOUT);
    CliOutput {
        success: status.success(),
        code: status.code(),
        stdout,
        stderr,
    }
}

/// `[args..., "--state-dir", dir]`.
pub fn with_state(args: &[&str], dir: &Path) -> Vec<OsString> {
    let mut v: Vec<OsString> = args.iter().map(OsString::from).collect();
    v.push("--state-dir".into());
    v.push(dir.as_os_str().to_owned());
    v
}

/// Runs an admin command on `s`'s state directory.
pub fn cli_on(s: &TestServer, args: &[&str]) -> CliOutput {
    cli(&with_state(args, &s.state_dir()))
}

/// Polls `probe` every 50 ms until it returns `Some`, for at most `limit`.
pub fn poll<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A directory outside every server's tree, for "no state here" checks.
pub fn scratch_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("deadbolt-test-scratch-")
        .tempdir()
        .expect("temp dir")
}

/// The served directory of a `Launch` (before it starts).
pub fn launch_root(launch: &Launch) -> PathBuf {
    launch.tmp().join("root")
}

/// GET an admin API path as `user`, expecting 200 JSON.
pub fn api_get(s: &TestServer, user: &str, path: &str) -> Value {
    let r = s.request("GET", path).user(user).send();
    assert_eq!(r.status, 200, "GET {path} as {user}: {r:?}");
    json(&r)
}

/// The audit trail from the API (newest first).
pub fn api_history(s: &TestServer, admin: &str, query: &str) -> Vec<Value> {
    let v = api_get(s, admin, &format!("/_deadbolt/api/history{query}"));
    array(&v, "events").clone()
}

/// Events of one kind (and token, when given).
pub fn events_of<'a>(events: &'a [Value], kind: &str, token: Option<&str>) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["kind"] == kind && token.is_none_or(|t| e["token"] == t))
        .collect()
}

//! The admin side (issue #4): `deadbolt locks ...` and `deadbolt hold ...`
//! run to completion, the admin API's JSON, the audit trail, the 423 of a
//! maintenance hold, and the tree the hold tests place their holds on.

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::lock::{dav_error, error_description};
use super::users::{put_as, req_as};
use super::xml::href_path;
use super::{DAV, Launch, Response, TestServer, sorted, temp_dir};

/// deadbolt's own XML namespace (the `maintenance-hold` element lives in it).
pub const DEADBOLT_NS: &str = "urn:x-deadbolt:";

/// How long one admin command may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(30);

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

/// The reason the hold tests give when they place a hold.
pub const REASON: &str = "migration to the new NAS";

/// `/tree/{a.txt, sub/b.txt}`, `/outside/o.txt`, made by `user`.
pub fn tree(s: &TestServer, user: Option<&str>) {
    for dir in ["/tree/", "/tree/sub/", "/outside/"] {
        assert_eq!(
            req_as(s, user, "MKCOL", dir).send().status,
            201,
            "MKCOL {dir}"
        );
    }
    for (file, body) in [
        ("/tree/a.txt", "A"),
        ("/tree/sub/b.txt", "B"),
        ("/outside/o.txt", "O"),
    ] {
        assert_eq!(put_as(s, user, file, body).status, 201, "PUT {file}");
    }
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
    sorted(
        locks
            .iter()
            .map(|l| l["token"].as_str().expect("token").to_string())
            .collect(),
    )
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
    now_millis() / 1000
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

/// A directory outside every server's tree, for "no state here" checks.
pub fn scratch_dir() -> tempfile::TempDir {
    temp_dir("deadbolt-test-scratch-")
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

/// `(kind, path)` of each event, in the order given: the shape of a history.
pub fn kinds_and_paths(events: &[Value]) -> Vec<(&str, &str)> {
    events
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["path"].as_str().unwrap()))
        .collect()
}

/// Events of one kind (and token, when given).
pub fn events_of<'a>(events: &'a [Value], kind: &str, token: Option<&str>) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["kind"] == kind && token.is_none_or(|t| e["token"] == t))
        .collect()
}

//! Users (issue #4): htpasswd files with bcrypt entries, HTTP Basic
//! credentials, and requests made as a user.

use base64::Engine;

use super::{Launch, Req, Response, TestServer};

/// A User-Agent the tests send, so the audit trail can be checked for it.
pub const AGENT: &str = "deadbolt-issue4-tests/1.0";

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

/// Credentials on a request. Each also asks for a connection of its own
/// (`Req::once`): refusals (401, 403, 423, ...) often come before the body
/// is read.
impl Req<'_> {
    /// The user's right password.
    pub fn user(self, name: &str) -> Self {
        self.header("Authorization", &basic(name, &password(name)))
            .once()
    }

    /// An arbitrary `Authorization` value.
    pub fn auth(self, value: &str) -> Self {
        self.header("Authorization", value).once()
    }
}

/// A request as `user` (None: no credentials), with `User-Agent: AGENT`, on
/// a connection of its own.
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

//! Who is asking: users from an htpasswd file (bcrypt entries), HTTP Basic
//! authentication, and roles.
//!
//! bcrypt is deliberately slow (tens of milliseconds per check), so a
//! successful check is remembered as a SHA-256 of the credentials: later
//! requests with the same password cost a hash, not a bcrypt round.
//! Wrong passwords are what cost: `throttle` backs off clients and user
//! names that keep sending them.

pub mod file;
pub mod throttle;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::locks::LockClient;

/// What a principal may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads only: every modifying method is 403.
    ReadOnly,
    ReadWrite,
    /// Read-write, and may break anyone's lock and manage holds.
    Admin,
}

/// An authenticated user (or the anonymous reader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Who sent a request, and from where: authenticated once per request by
/// the app, then passed to whichever surface serves it.
#[derive(Debug, Clone, Default)]
pub struct Requester {
    /// `None` without authentication, or for an anonymous reader.
    pub principal: Option<Principal>,
    pub client: LockClient,
}

impl Requester {
    pub fn name(&self) -> Option<&str> {
        self.principal.as_ref().map(|p| p.name.as_str())
    }

    pub fn is_admin(&self) -> bool {
        self.principal.as_ref().is_some_and(Principal::is_admin)
    }

    /// Whether this requester may change anything on a server with users:
    /// an anonymous reader must log in (`Missing`, 401), a read-only user
    /// may not (`ReadOnly`, 403). Every surface asks this one question.
    pub fn may_write(&self) -> Result<(), WriteDenied> {
        match &self.principal {
            None => Err(WriteDenied::Anonymous),
            Some(p) if p.role == Role::ReadOnly => Err(WriteDenied::ReadOnly(p.name.clone())),
            Some(_) => Ok(()),
        }
    }

    /// A command-line user (`cli:<os user>`), who administers the state
    /// directory directly.
    pub fn command_line() -> Self {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Self {
            principal: Some(Principal {
                name: format!("cli:{user}"),
                role: Role::Admin,
            }),
            client: LockClient::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("cannot read the htpasswd file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "htpasswd line {line} (user {user:?}): only bcrypt entries are supported; create them with `htpasswd -B`"
    )]
    UnsupportedScheme { line: usize, user: String },
    #[error("htpasswd line {line}: expected user:hash")]
    Malformed { line: usize },
    #[error("user {0:?} is given a role but is not in the htpasswd file")]
    UnknownUser(String),
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required")]
    Missing,
    #[error("wrong user name or password")]
    Invalid,
}

/// Why a requester may not change anything (`Requester::may_write`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteDenied {
    /// Not logged in: 401, with a challenge.
    Anonymous,
    /// Logged in as this read-only user: 403.
    ReadOnly(String),
}

impl WriteDenied {
    /// The reason for a 403, for a read-only user.
    pub fn read_only_reason(name: &str) -> String {
        format!("{name} may only read on this server")
    }
}

/// Basic credentials, decoded.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: String,
    password: String,
}

/// What the credentials prove without a bcrypt check.
#[derive(Debug)]
pub enum Check {
    /// Proven (no credentials and anonymous reading on, or a password that
    /// passed bcrypt before).
    Done(Option<Principal>),
    /// A known user's password that needs a bcrypt check (`Users::verify`).
    Verify(Credentials),
}

/// The users of the server.
#[derive(Debug)]
pub struct Users {
    hashes: HashMap<String, String>,
    roles: HashMap<String, Role>,
    anonymous_read: bool,
    /// user -> SHA-256 of the last password that passed bcrypt.
    verified: Mutex<HashMap<String, [u8; 32]>>,
}

impl Users {
    /// Reads an htpasswd file; `admins` and `read_only` name users with
    /// those roles (everyone else is read-write).
    pub fn load(
        htpasswd: &Path,
        admins: &[String],
        read_only: &[String],
        anonymous_read: bool,
    ) -> Result<Self, UsersError> {
        let text = std::fs::read_to_string(htpasswd).map_err(|source| UsersError::Read {
            path: htpasswd.display().to_string(),
            source,
        })?;
        Self::parse(&text, admins, read_only, anonymous_read)
    }

    pub fn parse(
        text: &str,
        admins: &[String],
        read_only: &[String],
        anonymous_read: bool,
    ) -> Result<Self, UsersError> {
        let mut hashes = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, hash) = line
                .split_once(':')
                .ok_or(UsersError::Malformed { line: n + 1 })?;
            if !["$2y$", "$2a$", "$2b$"].iter().any(|p| hash.starts_with(p)) {
                return Err(UsersError::UnsupportedScheme {
                    line: n + 1,
                    user: user.to_owned(),
                });
            }
            hashes.insert(user.to_owned(), hash.to_owned());
        }
        let mut roles = HashMap::new();
        for (names, role) in [(read_only, Role::ReadOnly), (admins, Role::Admin)] {
            for name in names {
                if !hashes.contains_key(name) {
                    return Err(UsersError::UnknownUser(name.clone()));
                }
                roles.insert(name.clone(), role);
            }
        }
        Ok(Self {
            hashes,
            roles,
            anonymous_read,
            verified: Mutex::new(HashMap::new()),
        })
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    pub fn role_of(&self, user: &str) -> Role {
        self.roles.get(user).copied().unwrap_or(Role::ReadWrite)
    }

    /// The principal an `Authorization` header value proves, or why not.
    /// `Ok(None)` is an anonymous reader (no credentials, and
    /// `--anonymous-read` allows it): it may read, never write.
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<Option<Principal>, AuthError> {
        match self.check(authorization)? {
            Check::Done(principal) => Ok(principal),
            Check::Verify(credentials) => self.verify(&credentials).map(Some),
        }
    }

    /// The cheap part of `authenticate`: everything but a bcrypt check.
    pub fn check(&self, authorization: Option<&str>) -> Result<Check, AuthError> {
        let Some(value) = authorization else {
            return if self.anonymous_read {
                Ok(Check::Done(None))
            } else {
                Err(AuthError::Missing)
            };
        };
        let (scheme, encoded) = value.trim().split_once(' ').ok_or(AuthError::Invalid)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(AuthError::Invalid);
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| AuthError::Invalid)?;
        let decoded = String::from_utf8(decoded).map_err(|_| AuthError::Invalid)?;
        let (user, password) = decoded.split_once(':').ok_or(AuthError::Invalid)?;
        if !self.hashes.contains_key(user) {
            return Err(AuthError::Invalid);
        }
        let remembered = {
            let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
            verified.get(user) == Some(&fingerprint(user, password))
        };
        if remembered {
            return Ok(Check::Done(Some(self.principal(user))));
        }
        Ok(Check::Verify(Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        }))
    }

    /// The bcrypt check; a password that passes is remembered.
    pub fn verify(&self, credentials: &Credentials) -> Result<Principal, AuthError> {
        let Credentials { user, password } = credentials;
        let hash = self.hashes.get(user).ok_or(AuthError::Invalid)?;
        if !bcrypt::verify(password, hash).unwrap_or(false) {
            return Err(AuthError::Invalid);
        }
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(user.to_owned(), fingerprint(user, password));
        Ok(self.principal(user))
    }

    fn principal(&self, user: &str) -> Principal {
        Principal {
            name: user.to_owned(),
            role: self.role_of(user),
        }
    }
}

fn fingerprint(user: &str, password: &str) -> [u8; 32] {
    Sha256::digest(format!("{user}\0{password}").as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    fn users(anonymous_read: bool) -> Users {
        // Low cost keeps the test fast; the server accepts any bcrypt cost.
        let alice = bcrypt::hash_with_result("wonderland", 4)
            .unwrap()
            .format_for_version(bcrypt::Version::TwoY);
        let bob = bcrypt::hash("builder", 4).unwrap();
        let text = format!("# comment\nalice:{alice}\nbob:{bob}\n");
        Users::parse(&text, &["alice".into()], &[], anonymous_read).unwrap()
    }

    #[test]
    fn bcrypt_users_authenticate_with_their_role() {
        let u = users(false);
        let alice = u
            .authenticate(Some(&basic("alice", "wonderland")))
            .unwrap()
            .unwrap();
        assert_eq!(
            alice,
            Principal {
                name: "alice".into(),
                role: Role::Admin
            }
        );
        // The second time comes from the cache and still checks the password.
        assert!(u.authenticate(Some(&basic("alice", "wonderland"))).is_ok());
        assert_eq!(
            u.authenticate(Some(&basic("alice", "wrong"))),
            Err(AuthError::Invalid)
        );
        let bob = u
            .authenticate(Some(&basic("bob", "builder")))
            .unwrap()
            .unwrap();
        assert_eq!(bob.role, Role::ReadWrite);
    }

    #[test]
    fn missing_or_broken_credentials_are_refused() {
        let u = users(false);
        assert_eq!(u.authenticate(None), Err(AuthError::Missing));
        assert_eq!(u.authenticate(Some("Basic !!!")), Err(AuthError::Invalid));
        assert_eq!(u.authenticate(Some("Bearer x")), Err(AuthError::Invalid));
        assert_eq!(
            u.authenticate(Some(&basic("nobody", "x"))),
            Err(AuthError::Invalid)
        );
        assert_eq!(users(true).authenticate(None), Ok(None));
    }

    #[test]
    fn other_hash_schemes_are_refused_at_load() {
        let err = Users::parse("carol:$apr1$abc$def\n", &[], &[], false).unwrap_err();
        assert!(err.to_string().contains("htpasswd -B"), "{err}");
        let err = Users::parse("dave:{SHA}xyz=\n", &[], &[], false).unwrap_err();
        assert!(matches!(err, UsersError::UnsupportedScheme { line: 1, .. }));
        assert!(matches!(
            Users::parse("nocolon\n", &[], &[], false),
            Err(UsersError::Malformed { line: 1 })
        ));
    }

    #[test]
    fn roles_must_name_known_users() {
        let hash = bcrypt::hash("x", 4).unwrap();
        let err = Users::parse(&format!("a:{hash}\n"), &["b".into()], &[], false).unwrap_err();
        assert!(matches!(err, UsersError::UnknownUser(name) if name == "b"));
    }
}

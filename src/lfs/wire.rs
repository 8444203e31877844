//! What goes over the wire: the request bodies, the lock object, lock ids,
//! cursors, and the repository paths clients send.
//!
//! Everything here is parsed from untrusted input and never panics on it:
//! a path that could leave its repository, a malformed id or cursor is an
//! `InputError` (400) or simply matches no lock.

use serde::{Deserialize, Serialize};

use crate::auth::Requester;
use crate::authority::view::{owner_text, rfc3339};
use crate::locks::{ActiveLock, LockToken, ResourcePath};

/// Why something a client sent is not understood (400).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("invalid path {0:?}: {1}")]
    Path(String, String),
    #[error("invalid cursor {0:?}: use the next_cursor of an earlier answer")]
    Cursor(String),
    #[error("invalid limit {0:?}: use a whole number")]
    Limit(String),
    #[error("invalid JSON body: {0}")]
    Json(String),
}

// Every body may carry a `ref` (`{"name": "refs/heads/main"}`). A lock in
// deadbolt holds on every branch (the API's single-branch locking), so the
// bodies leave it out, and serde ignores it like any other unknown field.

/// `POST .../locks`
#[derive(Debug, Deserialize)]
pub struct CreateBody {
    pub path: String,
}

/// `POST .../locks/verify`
#[derive(Debug, Default, Deserialize)]
pub struct VerifyBody {
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// `POST .../locks/{id}/unlock`
#[derive(Debug, Default, Deserialize)]
pub struct UnlockBody {
    #[serde(default)]
    pub force: bool,
}

/// A body that may be empty (then the defaults), or else must be JSON.
pub fn parse_body<T: Default + for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, InputError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_json(body)
}

pub fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, InputError> {
    serde_json::from_slice(body).map_err(|e| InputError::Json(e.to_string()))
}

/// The lock object of the API.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LockJson {
    pub id: String,
    pub path: String,
    pub locked_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Owner {
    pub name: String,
}

/// The URN prefix of every token the authority grants.
const TOKEN_PREFIX: &str = "urn:uuid:";

/// A lock's LFS id: the uuid of its token `urn:uuid:<uuid>`, which is
/// URL-safe (hex digits and '-') and maps back with `token_of`.
pub fn lock_id(token: &LockToken) -> String {
    let text = token.as_str();
    text.strip_prefix(TOKEN_PREFIX).unwrap_or(text).to_owned()
}

/// The token an id names: `None` unless the id is a uuid in the form
/// `lock_id` gives (lower-case, hyphenated), so each lock has one id.
pub fn token_of(id: &str) -> Option<LockToken> {
    let uuid = uuid::Uuid::try_parse(id).ok()?;
    let canonical = uuid.hyphenated().to_string();
    (canonical == id).then(|| LockToken(format!("{TOKEN_PREFIX}{canonical}")))
}

/// The repository a request is about: a served path whose files the LFS
/// paths name, relative to it.
#[derive(Debug, Clone)]
pub struct Repository {
    pub root: ResourcePath,
}

impl Repository {
    /// The served path of an LFS path (`assets/hero.psd`): relative,
    /// '/'-separated, no empty, `.` or `..` segment, not a directory.
    pub fn resolve(&self, text: &str) -> Result<ResourcePath, InputError> {
        let bad = |why: &str| InputError::Path(text.to_owned(), why.to_owned());
        if text.is_empty() {
            return Err(bad("a lock needs the path of a file"));
        }
        if text.starts_with('/') {
            return Err(bad(
                "give it relative to the repository root, without a leading '/'",
            ));
        }
        if text.ends_with('/') {
            return Err(bad("that names a directory; Git LFS locks files"));
        }
        let segments = self.root.segments().iter().map(String::as_str);
        ResourcePath::from_segments(segments.chain(text.split('/')))
            .map_err(|e| bad(&e.to_string()))
    }

    /// The LFS path of a served path strictly inside the repository.
    pub fn relative(&self, path: &ResourcePath) -> Option<String> {
        if !path.is_descendant_of(&self.root) {
            return None;
        }
        Some(path.segments()[self.root.segments().len()..].join("/"))
    }

    /// Whether a lock rooted at `path` belongs to this repository's listing.
    pub fn contains(&self, path: &ResourcePath) -> bool {
        path.is_descendant_of(&self.root)
    }
}

/// How locks read to one requester on one repository.
pub struct Viewer<'a> {
    pub repository: &'a Repository,
    pub requester: &'a Requester,
    /// `--hide-lock-owners`: other users' names are left out.
    pub hide_owners: bool,
}

impl Viewer<'_> {
    /// A path as the client sees it: relative inside the repository; a lock
    /// rooted at or above the repository (a WebDAV lock on a whole tree)
    /// keeps its absolute served path.
    pub fn path(&self, path: &ResourcePath) -> String {
        self.repository.relative(path).unwrap_or_else(|| path.key())
    }

    /// Whether the requester may unlock `lock` without `force`: the same
    /// rule as the authority's (a lock without a principal is anyone's).
    pub fn owns(&self, lock: &ActiveLock) -> bool {
        lock.principal.is_none() || lock.principal.as_deref() == self.requester.name()
    }

    /// The holder's name: the principal, else the WebDAV owner text.
    fn owner_name(&self, lock: &ActiveLock) -> Option<String> {
        if self.hide_owners && !self.owns(lock) {
            return None;
        }
        lock.principal
            .clone()
            .or_else(|| owner_text(lock.owner.as_deref()))
    }

    pub fn lock(&self, lock: &ActiveLock) -> LockJson {
        LockJson {
            id: lock_id(&lock.token),
            path: self.path(&lock.root),
            locked_at: rfc3339(lock.created),
            owner: self.owner_name(lock).map(|name| Owner { name }),
        }
    }

    /// "bob (Bob's laptop)", "you", or "another user".
    pub fn holder(&self, lock: &ActiveLock) -> String {
        if lock.principal.is_some() && self.owns(lock) {
            return "you".to_owned();
        }
        if self.hide_owners {
            return "another user".to_owned();
        }
        match (&lock.principal, owner_text(lock.owner.as_deref())) {
            (Some(user), Some(owner)) => format!("{user} ({owner})"),
            (Some(user), None) => user.clone(),
            (None, Some(owner)) => owner,
            (None, None) => "an anonymous user".to_owned(),
        }
    }
}

/// Where a page starts: the position of its first lock in the listing
/// order (newest first, then by id). A cursor names a position, not a lock,
/// so it stays valid when that lock is unlocked meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    created: std::cmp::Reverse<u64>,
    token: String,
}

impl Cursor {
    pub fn of(lock: &ActiveLock) -> Self {
        Self {
            created: std::cmp::Reverse(lock.created.0),
            token: lock.token.0.clone(),
        }
    }

    /// `<milliseconds since the epoch>.<lock id>`: URL-safe as it is.
    pub fn encode(&self) -> String {
        let id = lock_id(&LockToken(self.token.clone()));
        format!("{}.{id}", self.created.0)
    }

    pub fn decode(text: &str) -> Result<Self, InputError> {
        let bad = || InputError::Cursor(text.to_owned());
        let (millis, id) = text.split_once('.').ok_or_else(bad)?;
        let millis: u64 = millis.parse().map_err(|_| bad())?;
        let token = token_of(id).ok_or_else(bad)?;
        Ok(Self {
            created: std::cmp::Reverse(millis),
            token: token.0,
        })
    }
}

/// How many locks a page holds when the client does not say, and at most.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// One page of `locks` from `cursor`, at most `limit` (0: the default,
/// larger than the most: the most), and the cursor of the next page.
pub fn page(
    mut locks: Vec<ActiveLock>,
    cursor: Option<&Cursor>,
    limit: u64,
) -> (Vec<ActiveLock>, Option<String>) {
    let limit = match usize::try_from(limit) {
        Ok(0) => DEFAULT_LIMIT,
        Ok(n) => n.min(MAX_LIMIT),
        Err(_) => MAX_LIMIT,
    };
    locks.sort_by_cached_key(Cursor::of);
    if let Some(cursor) = cursor {
        locks.retain(|l| Cursor::of(l) >= *cursor);
    }
    let next = locks.get(limit).map(|l| Cursor::of(l).encode());
    locks.truncate(limit);
    (locks, next)
}

/// The `limit` query value; absent is 0 (the default).
pub fn parse_limit(text: Option<&str>) -> Result<u64, InputError> {
    text.map_or(Ok(0), |t| {
        t.parse().map_err(|_| InputError::Limit(t.to_owned()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locks::{LockClient, LockDepth, LockScope, Timestamp};

    fn repo(path: &[&str]) -> Repository {
        Repository {
            root: ResourcePath::from_segments(path.iter().copied()).unwrap(),
        }
    }

    fn lock(id: u128, created: u64) -> ActiveLock {
        ActiveLock {
            token: LockToken(format!(
                "urn:uuid:{}",
                uuid::Uuid::from_u128(id).hyphenated()
            )),
            root: ResourcePath::from_segments(["r", "f"]).unwrap(),
            root_is_collection: false,
            scope: LockScope::Exclusive,
            depth: LockDepth::Zero,
            owner: None,
            principal: Some("alice".into()),
            client: LockClient::default(),
            timeout_seconds: 60,
            created: Timestamp(created),
            expires: Timestamp(created + 60_000),
            fencing: 1,
        }
    }

    #[test]
    fn paths_stay_inside_their_repository() {
        let r = repo(&["projects", "game"]);
        let ok = r.resolve("assets/hero.psd").unwrap();
        assert_eq!(ok.key(), "/projects/game/assets/hero.psd");
        assert_eq!(r.relative(&ok).as_deref(), Some("assets/hero.psd"));
        for bad in [
            "",
            "/etc/passwd",
            "../other/x",
            "a/../../x",
            "a/./b",
            "a//b",
            "dir/",
            "a\\b",
            "a\0b",
        ] {
            assert!(r.resolve(bad).is_err(), "{bad:?} must be refused");
        }
        // Names that merely contain dots or percent signs are names.
        assert_eq!(
            r.resolve("..a/b%2e%2e").unwrap().key(),
            "/projects/game/..a/b%2e%2e"
        );
        assert_eq!(
            r.relative(&r.root),
            None,
            "the root itself is no file in it"
        );
        assert_eq!(
            r.relative(&ResourcePath::from_segments(["projects"]).unwrap()),
            None
        );
    }

    #[test]
    fn ids_map_back_to_their_tokens_and_nothing_else() {
        let token = LockToken("urn:uuid:6f0c9a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6".into());
        let id = lock_id(&token);
        assert_eq!(id, "6f0c9a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6");
        assert_eq!(token_of(&id), Some(token));
        for bad in [
            "",
            "6F0C9A1E-2B3C-4D5E-8F90-A1B2C3D4E5F6",
            "6f0c9a1e2b3c4d5e8f90a1b2c3d4e5f6",
            "../x",
            "urn:uuid:6f0c9a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6",
        ] {
            assert_eq!(token_of(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn pages_are_newest_first_and_cursors_survive_removals() {
        let locks: Vec<ActiveLock> = (1..=5).map(|i| lock(i, 1000 * i as u64)).collect();
        let (first, next) = page(locks.clone(), None, 2);
        assert_eq!(first, vec![locks[4].clone(), locks[3].clone()]);
        let cursor = Cursor::decode(&next.unwrap()).unwrap();
        // The lock the cursor points at goes away before the next page.
        let rest: Vec<ActiveLock> = locks.iter().filter(|l| l != &&locks[2]).cloned().collect();
        let (second, next) = page(rest, Some(&cursor), 2);
        assert_eq!(second, vec![locks[1].clone(), locks[0].clone()]);
        assert_eq!(next, None);
        assert_eq!(page(locks.clone(), None, 0).0.len(), 5, "0 is the default");
        for bad in [
            "",
            "12",
            "x.6f0c9a1e-2b3c-4d5e-8f90-a1b2c3d4e5f6",
            "12.nope",
        ] {
            assert!(Cursor::decode(bad).is_err(), "{bad:?}");
        }
        assert!(parse_limit(Some("-1")).is_err());
        assert_eq!(parse_limit(None).unwrap(), 0);
    }
}

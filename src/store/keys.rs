//! How the database engines key paths and times: a path is its text key
//! (`/a/b`, the root `/`), a tree is the key range `[key/, key0)` ('0'
//! follows '/', so the range holds exactly the descendants), and a time is
//! milliseconds since the Unix epoch.

use super::{LockSelection, StoreError};
use crate::locks::{ResourcePath, Timestamp};

/// The key prefix that members of `path` start with (`""` for the served
/// root, whose range `[/, 0)` leaves out the record keys, `#/...`).
pub(crate) fn member_prefix(path: &ResourcePath) -> String {
    if path.is_root() {
        String::new()
    } else {
        path.key()
    }
}

/// Bounds of the member range of `path`: `[prefix/, prefix0)`.
pub(crate) fn member_range(path: &ResourcePath) -> (String, String) {
    let prefix = member_prefix(path);
    (format!("{prefix}/"), format!("{prefix}0"))
}

/// The keys of every selected path and its ancestors (up to the root of
/// its realm), without repeats.
pub(crate) fn ancestor_keys(selections: &[LockSelection]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for selection in selections {
        let path = &selection.path;
        for key in path.ancestors().map(|a| a.key()).chain([path.key()]) {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// The path a stored key names.
pub(crate) fn path_from_key(key: &str) -> Result<ResourcePath, StoreError> {
    ResourcePath::from_key(key)
        .map_err(|e| StoreError::Corrupt(format!("stored path {key:?} is invalid: {e}")))
}

pub(crate) fn millis(t: Timestamp) -> i64 {
    i64::try_from(t.0).unwrap_or(i64::MAX)
}

pub(crate) fn timestamp(ms: i64) -> Timestamp {
    Timestamp(u64::try_from(ms).unwrap_or(0))
}

/// The columns of an audit event, in the order both engines' row readers
/// take them.
pub(crate) const EVENT_COLUMNS: &str =
    "id, at_ms, kind, path, token, holder, actor, client_address, user_agent, reason";

/// The text key and member range of an optional path filter of the audit
/// trail (a `None`/`NULL` key matches everything in the engines' queries).
pub(crate) fn path_filter(path: Option<&ResourcePath>) -> (Option<String>, String, String) {
    match path {
        Some(path) => {
            let (lo, hi) = member_range(path);
            (Some(path.key()), lo, hi)
        }
        None => (None, String::new(), String::new()),
    }
}

/// A count or limit as an SQL integer (saturating).
pub(crate) fn sql_int(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

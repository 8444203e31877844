//! Locks and holds as people see them (CLI tables, JSON API, admin page),
//! and the paths and times people type.

use serde::Serialize;

use crate::authority::view::{owner_text, rfc3339};
use crate::locks::{ActiveLock, Hold, ResourcePath, Timestamp};
use crate::web::path::parse_request_path;

/// Why a value typed by a person is not understood.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("invalid path {0:?}: {1}")]
    BadPath(String, String),
    #[error("invalid time {0:?}: use RFC 3339 (2026-12-01T18:00:00Z) or a duration (2h, 30m)")]
    BadTime(String),
}

/// A lock as people see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LockView {
    /// The served path (`/a/b`), or `key orders/42` for a record.
    pub path: String,
    /// The record key, for a lock taken on one through the lock API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub token: String,
    pub fencing_token: u64,
    pub scope: &'static str,
    pub depth: &'static str,
    /// Who took it (the authenticated user), when known.
    pub holder: Option<String>,
    /// The text of the client's DAV:owner element (often a name or mailto).
    pub owner: Option<String>,
    pub created: String,
    pub expires: String,
    pub seconds_left: u64,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
}

impl LockView {
    pub fn new(lock: &ActiveLock, now: Timestamp) -> Self {
        Self {
            path: lock.root.to_string(),
            key: lock.root.record_key(),
            token: lock.token.to_string(),
            fencing_token: lock.fencing,
            scope: lock.scope.as_str(),
            depth: lock.depth.as_str(),
            holder: lock.principal.clone(),
            owner: owner_text(lock.owner.as_deref()),
            created: rfc3339(lock.created),
            expires: rfc3339(lock.expires),
            seconds_left: now.seconds_until(lock.expires),
            client_address: lock.client.address.clone(),
            user_agent: lock.client.user_agent.clone(),
        }
    }
}

/// A maintenance hold as people see it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HoldView {
    pub path: String,
    pub reason: String,
    pub until: Option<String>,
    pub created: String,
    pub created_by: Option<String>,
}

impl From<&Hold> for HoldView {
    fn from(hold: &Hold) -> Self {
        Self {
            path: hold.path.key(),
            reason: hold.reason.clone(),
            until: hold.until.map(rfc3339),
            created: rfc3339(hold.created),
            created_by: hold.created_by.clone(),
        }
    }
}

/// Parses a path given by a person: `/a/b`, `a/b/`, percent-encoded or not.
pub fn parse_path(text: &str) -> Result<ResourcePath, InputError> {
    let absolute = if text.starts_with('/') {
        text.to_owned()
    } else {
        format!("/{text}")
    };
    parse_request_path(&absolute)
        .map(|p| p.path)
        .map_err(|e| InputError::BadPath(text.to_owned(), e.to_string()))
}

/// Parses `--until`/`--since`: RFC 3339, or a duration from `now` (`2h`).
/// `future` decides the direction of a duration.
pub fn parse_time(text: &str, now: Timestamp, future: bool) -> Result<Timestamp, InputError> {
    if let Ok(at) = humantime::parse_rfc3339_weak(text) {
        let ms = at
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| InputError::BadTime(text.to_owned()))?
            .as_millis();
        return Ok(Timestamp(u64::try_from(ms).unwrap_or(u64::MAX)));
    }
    let span = humantime::parse_duration(text).map_err(|_| InputError::BadTime(text.to_owned()))?;
    let ms = u64::try_from(span.as_millis()).unwrap_or(u64::MAX);
    Ok(if future {
        Timestamp(now.0.saturating_add(ms))
    } else {
        Timestamp(now.0.saturating_sub(ms))
    })
}

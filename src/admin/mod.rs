//! Administration of locks and holds: listing who holds what, breaking
//! locks, maintenance holds and the audit trail. The CLI (`deadbolt locks`,
//! `deadbolt hold`) and the admin JSON API both call these, and they go
//! through the same store and lock core as WebDAV requests, so the server
//! sees every change on its next request.

pub mod api;
pub mod commands;
pub mod page;

use std::sync::Arc;

use serde::Serialize;

use crate::dav::xml::dom;
use crate::locks::{ActiveLock, Hold, LockManager, LockToken, ResourcePath, Timestamp};
use crate::store::{
    EventContext, HistoryFilter, LockEvent, LockSelection, LockStore, Removal, StoreError,
};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no live lock has the token {0}")]
    NoSuchLock(String),
    #[error("no lock covers {0}")]
    NothingLockedAt(String),
    #[error("the hold's end (--until) has already passed")]
    HoldAlreadyOver,
    #[error("no maintenance hold at {0}")]
    NoSuchHold(String),
    #[error("invalid path {0:?}: {1}")]
    BadPath(String, String),
    #[error("invalid time {0:?}: use RFC 3339 (2026-12-01T18:00:00Z) or a duration (2h, 30m)")]
    BadTime(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A lock as people see it (CLI table, JSON API, admin page).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LockView {
    pub path: String,
    pub token: String,
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
            path: lock.root.key(),
            token: lock.token.to_string(),
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

/// The text content of a stored DAV:owner element.
pub fn owner_text(owner_xml: Option<&str>) -> Option<String> {
    let element = dom::parse(owner_xml?.as_bytes()).ok()?;
    let text = element.text_content();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

pub fn rfc3339(t: Timestamp) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(t.0);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Parses a path given by a person: `/a/b`, `a/b/`, percent-encoded or not.
pub fn parse_path(text: &str) -> Result<ResourcePath, AdminError> {
    let absolute = if text.starts_with('/') {
        text.to_owned()
    } else {
        format!("/{text}")
    };
    crate::dav::path::parse_request_path(&absolute)
        .map(|p| p.path)
        .map_err(|e| AdminError::BadPath(text.to_owned(), e.to_string()))
}

/// Parses `--until`/`--since`: RFC 3339, or a duration from `now` (`2h`).
/// `future` decides the direction of a duration.
pub fn parse_time(text: &str, now: Timestamp, future: bool) -> Result<Timestamp, AdminError> {
    if let Ok(at) = humantime::parse_rfc3339_weak(text) {
        let ms = at
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| AdminError::BadTime(text.to_owned()))?
            .as_millis();
        return Ok(Timestamp(u64::try_from(ms).unwrap_or(u64::MAX)));
    }
    let span = humantime::parse_duration(text).map_err(|_| AdminError::BadTime(text.to_owned()))?;
    let ms = u64::try_from(span.as_millis()).unwrap_or(u64::MAX);
    Ok(if future {
        Timestamp(now.0.saturating_add(ms))
    } else {
        Timestamp(now.0.saturating_sub(ms))
    })
}

/// Which locks to list.
#[derive(Debug, Clone, Default)]
pub struct LockFilter {
    /// Locks rooted at this path or below it, or covering it.
    pub path: Option<ResourcePath>,
    pub holder: Option<String>,
}

/// Lock and hold administration over a lock store.
#[derive(Clone)]
pub struct Admin {
    store: Arc<dyn LockStore>,
    locks: Arc<LockManager>,
}

impl Admin {
    pub fn new(store: Arc<dyn LockStore>, locks: Arc<LockManager>) -> Self {
        Self { store, locks }
    }

    pub fn locks(
        &self,
        filter: &LockFilter,
        now: Timestamp,
    ) -> Result<Vec<ActiveLock>, AdminError> {
        let mut locks = self.store.all_locks(now)?;
        if let Some(path) = &filter.path {
            locks.retain(|l| l.root.starts_with(path) || l.covers(path));
        }
        if let Some(holder) = &filter.holder {
            locks.retain(|l| l.principal.as_deref() == Some(holder.as_str()));
        }
        Ok(locks)
    }

    /// The locks `filter` selects and every hold, as people see them.
    pub fn overview(
        &self,
        filter: &LockFilter,
        now: Timestamp,
    ) -> Result<(Vec<LockView>, Vec<HoldView>), AdminError> {
        let locks = self
            .locks(filter, now)?
            .iter()
            .map(|l| LockView::new(l, now))
            .collect();
        let holds = self.holds(now)?.iter().map(HoldView::from).collect();
        Ok((locks, holds))
    }

    pub fn lock(&self, token: &str, now: Timestamp) -> Result<ActiveLock, AdminError> {
        self.store
            .find_lock(&LockToken(token.to_owned()), now)?
            .ok_or_else(|| AdminError::NoSuchLock(token.to_owned()))
    }

    /// Breaks one lock whatever its holder; recorded as `broken` by `actor`.
    pub fn break_lock(
        &self,
        token: &str,
        context: &EventContext,
        now: Timestamp,
    ) -> Result<ActiveLock, AdminError> {
        let lock = self.lock(token, now)?;
        let context = EventContext {
            removal: Removal::Broken,
            ..context.clone()
        };
        let selection = LockSelection {
            path: lock.root.clone(),
            with_members: false,
        };
        let mut broken = None;
        self.store
            .transact(&[selection], now, &context, &mut |table| {
                broken = self.locks.break_lock(table, &lock.token, now);
                broken.is_some()
            })?;
        broken.ok_or_else(|| AdminError::NoSuchLock(token.to_owned()))
    }

    /// Breaks every lock that covers `path` or is rooted below it.
    pub fn break_locks_at(
        &self,
        path: &ResourcePath,
        context: &EventContext,
        now: Timestamp,
    ) -> Result<Vec<ActiveLock>, AdminError> {
        // Rooted at or below `path`: a lock on an ancestor that merely
        // covers it is someone else's, on a bigger tree, and stays.
        let targets: Vec<ActiveLock> = self
            .store
            .all_locks(now)?
            .into_iter()
            .filter(|l| l.root.starts_with(path))
            .collect();
        if targets.is_empty() {
            return Err(AdminError::NothingLockedAt(path.key()));
        }
        let mut broken = Vec::new();
        for lock in targets {
            match self.break_lock(lock.token.as_str(), context, now) {
                Ok(lock) => broken.push(lock),
                // Gone meanwhile (unlocked, expired): nothing left to break.
                Err(AdminError::NoSuchLock(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(broken)
    }

    pub fn set_hold(&self, hold: &Hold, context: &EventContext) -> Result<(), AdminError> {
        if !hold.is_active(hold.created) {
            return Err(AdminError::HoldAlreadyOver);
        }
        Ok(self.store.set_hold(hold, context)?)
    }

    pub fn release_hold(
        &self,
        path: &ResourcePath,
        context: &EventContext,
        now: Timestamp,
    ) -> Result<(), AdminError> {
        if self.store.release_hold(path, now, context)? {
            Ok(())
        } else {
            Err(AdminError::NoSuchHold(path.key()))
        }
    }

    pub fn holds(&self, now: Timestamp) -> Result<Vec<Hold>, AdminError> {
        Ok(self.store.all_holds(now)?)
    }

    pub fn history(&self, filter: &HistoryFilter) -> Result<Vec<LockEvent>, AdminError> {
        Ok(self.store.history(filter)?)
    }
}

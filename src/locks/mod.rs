//! The lock core: pure decisions about who may change what.
//!
//! No I/O and no clock: `now` is an argument, and persistence is the
//! caller's job (the DAV layer writes every change through to the
//! `LockStore` before answering). `tests/architecture.rs` enforces the
//! purity. The invariants are numbered in `docs/locking.md`.

pub mod model;
pub mod table;
pub mod write_intent;

use std::sync::Arc;

pub use model::{
    ActiveLock, LockDepth, LockScope, LockToken, ResourcePath, SegmentError, TimeoutPolicy,
    TimeoutRequest, Timestamp,
};
pub use write_intent::{Reach, WriteIntent, WriteLatches, WritePermit};

use table::LockTable;

/// Why the core refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// A write touches a resource locked by a lock whose token was not
    /// submitted (423 + lock-token-submitted).
    #[error("{lock_root} is locked")]
    Locked { lock_root: ResourcePath },
    /// A tree operation would change members locked by others; the request
    /// URI itself is not locked (207 naming each member with 423).
    #[error("members of the tree are locked")]
    LockedMembers { roots: Vec<ResourcePath> },
    /// A LOCK conflicts with an existing lock (423 + no-conflicting-lock).
    #[error("{lock_root} already holds a conflicting lock")]
    Conflict { lock_root: ResourcePath },
    /// Another request is writing this resource right now.
    #[error("{path} is being written by another request; try again shortly")]
    BeingWritten { path: ResourcePath },
    /// The token names no live lock, or one that does not cover the URL.
    #[error("the lock token does not match a lock on this resource")]
    TokenMismatch,
    /// The lock belongs to another principal.
    #[error("the lock belongs to another user")]
    NotOwner,
}

/// A LOCK request as the core sees it.
#[derive(Debug, Clone)]
pub struct LockRequest {
    /// A fresh token (made by the caller, which owns the randomness).
    pub token: LockToken,
    pub root: ResourcePath,
    pub scope: LockScope,
    pub depth: LockDepth,
    pub owner: Option<String>,
    pub principal: Option<String>,
    pub timeout: Vec<TimeoutRequest>,
}

/// The lock table plus the rules that govern it.
#[derive(Debug)]
pub struct LockManager {
    table: LockTable,
    latches: Arc<WriteLatches>,
    policy: TimeoutPolicy,
}

impl Default for LockManager {
    fn default() -> Self {
        Self::new(TimeoutPolicy {
            default_seconds: 3600,
            max_seconds: 7 * 24 * 3600,
        })
    }
}

impl LockManager {
    pub fn new(policy: TimeoutPolicy) -> Self {
        Self {
            table: LockTable::default(),
            latches: Arc::new(WriteLatches::default()),
            policy,
        }
    }

    pub fn policy(&self) -> TimeoutPolicy {
        self.policy
    }

    /// Adds locks read back from storage (expired ones are dropped later).
    pub fn restore(&mut self, locks: impl IntoIterator<Item = ActiveLock>) {
        for lock in locks {
            self.table.insert(lock);
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// A live lock by token.
    pub fn get(&self, token: &LockToken, now: Timestamp) -> Option<&ActiveLock> {
        self.table.get(token).filter(|l| !l.is_expired(now))
    }

    /// Live locks that cover `path` (for lockdiscovery and the If header).
    pub fn covering(&self, path: &ResourcePath, now: Timestamp) -> Vec<ActiveLock> {
        self.table.covering(path, now).cloned().collect()
    }

    /// Grants a new lock, or names the lock it conflicts with (§6.1, §9.10).
    pub fn acquire(
        &mut self,
        request: LockRequest,
        now: Timestamp,
    ) -> Result<ActiveLock, LockError> {
        let compatible = |existing: &ActiveLock| {
            existing.scope == LockScope::Shared && request.scope == LockScope::Shared
        };
        if let Some(existing) = self
            .table
            .covering(&request.root, now)
            .find(|l| !compatible(l))
        {
            return Err(LockError::Conflict {
                lock_root: existing.root.clone(),
            });
        }
        if request.depth == LockDepth::Infinity {
            if let Some(existing) = self
                .table
                .below(&request.root, now)
                .find(|l| !compatible(l))
            {
                return Err(LockError::Conflict {
                    lock_root: existing.root.clone(),
                });
            }
        }
        let reach = match request.depth {
            LockDepth::Zero => Reach::Resource,
            LockDepth::Infinity => Reach::Subtree,
        };
        if let Some(path) = self.latches.busy(&request.root, reach) {
            return Err(LockError::BeingWritten { path });
        }
        let timeout_seconds = self.policy.grant(&request.timeout);
        let lock = ActiveLock {
            token: request.token,
            root: request.root,
            scope: request.scope,
            depth: request.depth,
            owner: request.owner,
            principal: request.principal,
            timeout_seconds,
            created: now,
            expires: now.plus_seconds(timeout_seconds),
        };
        self.table.insert(lock.clone());
        Ok(lock)
    }

    /// Restarts a lock's timer (§9.10.2); `path` must be in the lock's scope.
    pub fn refresh(
        &mut self,
        token: &LockToken,
        path: &ResourcePath,
        timeout: &[TimeoutRequest],
        principal: Option<&str>,
        now: Timestamp,
    ) -> Result<ActiveLock, LockError> {
        self.owned_lock_covering(token, path, principal, now)?;
        let seconds = self.policy.grant(timeout);
        self.table
            .set_expiry(token, seconds, now.plus_seconds(seconds))
            .cloned()
            .ok_or(LockError::TokenMismatch)
    }

    /// Removes a whole lock by token from any URL in its scope (§9.11).
    pub fn release(
        &mut self,
        token: &LockToken,
        path: &ResourcePath,
        principal: Option<&str>,
        now: Timestamp,
    ) -> Result<ActiveLock, LockError> {
        self.owned_lock_covering(token, path, principal, now)?;
        self.table.remove(token).ok_or(LockError::TokenMismatch)
    }

    fn owned_lock_covering(
        &self,
        token: &LockToken,
        path: &ResourcePath,
        principal: Option<&str>,
        now: Timestamp,
    ) -> Result<&ActiveLock, LockError> {
        let lock = self
            .get(token, now)
            .filter(|l| l.covers(path))
            .ok_or(LockError::TokenMismatch)?;
        if lock.principal.is_some() && lock.principal.as_deref() != principal {
            return Err(LockError::NotOwner);
        }
        Ok(lock)
    }

    /// Removes a lock whatever its owner (an administrator breaking it).
    pub fn break_lock(&mut self, token: &LockToken) -> Option<ActiveLock> {
        self.table.remove(token)
    }

    /// Removes the locks rooted at `path` or below: their resources were
    /// deleted or moved away (§6.1 item 8, §9.6, §9.9).
    pub fn forget_tree(&mut self, path: &ResourcePath) -> Vec<ActiveLock> {
        let tokens = self.table.rooted_in_tree(path);
        tokens.iter().filter_map(|t| self.table.remove(t)).collect()
    }

    /// Removes expired locks, returning them (for storage and the audit).
    pub fn expire(&mut self, now: Timestamp) -> Vec<ActiveLock> {
        self.table.remove_expired(now)
    }

    pub fn next_expiry(&self) -> Option<Timestamp> {
        self.table.next_expiry()
    }

    pub fn all(&self, now: Timestamp) -> Vec<ActiveLock> {
        self.table
            .all()
            .filter(|l| !l.is_expired(now))
            .cloned()
            .collect()
    }

    /// The write gate (§7, §7.4): every lock covering a target must be
    /// matched by a submitted token of its principal (for shared locks one
    /// suffices), and for subtree targets so must every lock below. Then
    /// the targets are latched for the duration of the write.
    pub fn check_write(
        &self,
        intent: WriteIntent,
        submitted: &[LockToken],
        principal: Option<&str>,
        now: Timestamp,
    ) -> Result<WritePermit, LockError> {
        let may_use = |lock: &ActiveLock| {
            submitted.contains(&lock.token)
                && (lock.principal.is_none() || lock.principal.as_deref() == principal)
        };
        let mut locked_members: Vec<ResourcePath> = Vec::new();
        for (path, reach) in intent.targets() {
            let covering: Vec<&ActiveLock> = self.table.covering(path, now).collect();
            if !covering.is_empty() && !covering.iter().any(|l| may_use(l)) {
                return Err(LockError::Locked {
                    lock_root: covering[0].root.clone(),
                });
            }
            if *reach == Reach::Subtree {
                for lock in self.table.below(path, now) {
                    let member_ok = self.table.covering(&lock.root, now).any(may_use);
                    if !member_ok && !locked_members.contains(&lock.root) {
                        locked_members.push(lock.root.clone());
                    }
                }
            }
        }
        if !locked_members.is_empty() {
            return Err(LockError::LockedMembers {
                roots: locked_members,
            });
        }
        let latch = self
            .latches
            .try_latch(&intent)
            .map_err(|path| LockError::BeingWritten { path })?;
        Ok(WritePermit::grant(intent, Some(latch)))
    }
}

#[cfg(test)]
mod tests;

//! The lock core: pure decisions about who may change what.
//!
//! No I/O and no clock: `now` is an argument. Decisions run on a
//! `LockTable` that the store loads and writes back inside one transaction
//! (`LockStore::transact`): decide in the core, commit in the store. `tests/architecture.rs` enforces the
//! purity. The invariants are numbered in `docs/locking.md`.

pub mod model;
pub mod table;
pub mod write_intent;

use std::sync::Arc;

pub use model::{
    ActiveLock, Hold, LockClient, LockCounts, LockDepth, LockLimits, LockScope, LockToken,
    ResourcePath, SegmentError, TimeoutPolicy, TimeoutRequest, Timestamp,
};
pub use write_intent::{Reach, WriteIntent, WriteLatches, WritePermit};

pub use table::{LockChange, LockTable};

/// Why the core refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// A write touches a resource locked by a lock whose token was not
    /// submitted (423 + lock-token-submitted); `lock` is the one in the way.
    #[error("{} is locked", lock.root)]
    Locked { lock: Box<ActiveLock> },
    /// A tree operation would change members locked by others; the request
    /// URI itself is not locked (207 naming each member with 423).
    #[error("members of the tree are locked")]
    LockedMembers { locks: Vec<ActiveLock> },
    /// A LOCK conflicts with an existing lock (423 + no-conflicting-lock).
    #[error("{} already holds a conflicting lock", lock.root)]
    Conflict { lock: Box<ActiveLock> },
    /// A maintenance hold covers the resource (423, whoever asks).
    #[error("{} is held for maintenance: {}", hold.path, hold.reason)]
    Held { hold: Box<Hold> },
    /// Another request is writing this resource right now.
    #[error("{path} is being written by another request; try again shortly")]
    BeingWritten { path: ResourcePath },
    /// The token names no live lock, or one that does not cover the URL.
    #[error("the lock token does not match a lock on this resource")]
    TokenMismatch,
    /// The lock belongs to another principal.
    #[error("the lock belongs to another user")]
    NotOwner,
    /// Storage holds as many live locks as allowed, in all or for this user.
    #[error("{}", limit_message(*.limit, *.per_user))]
    TooManyLocks { limit: u64, per_user: bool },
}

fn limit_message(limit: u64, per_user: bool) -> String {
    if per_user {
        format!(
            "you hold {limit} locks, the most one user may hold (--max-locks-per-user); unlock some first"
        )
    } else {
        format!("the server holds {limit} locks, the most it keeps (--max-locks); try again later")
    }
}

impl LockError {
    /// The root of the lock that refused the request, if one did.
    pub fn blocking_root(&self) -> Option<&ResourcePath> {
        match self {
            Self::Locked { lock } | Self::Conflict { lock } => Some(&lock.root),
            _ => None,
        }
    }
}

/// A LOCK request as the core sees it.
#[derive(Debug, Clone)]
pub struct LockRequest {
    /// A fresh token (made by the caller, which owns the randomness).
    pub token: LockToken,
    pub root: ResourcePath,
    pub root_is_collection: bool,
    pub scope: LockScope,
    pub depth: LockDepth,
    pub owner: Option<String>,
    pub principal: Option<String>,
    pub client: LockClient,
    pub timeout: Vec<TimeoutRequest>,
}

/// The rules of locking, applied to a `LockTable` (the whole table or the
/// part of it a decision needs), plus the latches of writes in progress.
#[derive(Debug)]
pub struct LockManager {
    latches: Arc<WriteLatches>,
    policy: TimeoutPolicy,
    limits: LockLimits,
}

impl Default for LockManager {
    fn default() -> Self {
        let policy = TimeoutPolicy {
            default_seconds: 3600,
            max_seconds: 7 * 24 * 3600,
        };
        Self::new(policy, LockLimits::UNLIMITED)
    }
}

impl LockManager {
    pub fn new(policy: TimeoutPolicy, limits: LockLimits) -> Self {
        Self {
            latches: Arc::new(WriteLatches::default()),
            policy,
            limits,
        }
    }

    pub fn policy(&self) -> TimeoutPolicy {
        self.policy
    }

    /// Grants a new lock, or names the lock it conflicts with (§6.1, §9.10).
    pub fn acquire(
        &self,
        table: &mut LockTable,
        request: LockRequest,
        now: Timestamp,
    ) -> Result<ActiveLock, LockError> {
        let below = request.depth == LockDepth::Infinity;
        if let Some(hold) = table.hold_over(&request.root, below, now) {
            return Err(LockError::Held {
                hold: Box::new(hold.clone()),
            });
        }
        let compatible = |existing: &ActiveLock| {
            existing.scope == LockScope::Shared && request.scope == LockScope::Shared
        };
        let conflict = |existing: &ActiveLock| LockError::Conflict {
            lock: Box::new(existing.clone()),
        };
        if let Some(existing) = table.covering(&request.root, now).find(|l| !compatible(l)) {
            return Err(conflict(existing));
        }
        if below {
            if let Some(existing) = table.below(&request.root, now).find(|l| !compatible(l)) {
                return Err(conflict(existing));
            }
        }
        let reach = match request.depth {
            LockDepth::Zero => Reach::Resource,
            LockDepth::Infinity => Reach::Subtree,
        };
        if let Some(path) = self.latches.busy(&request.root, reach) {
            return Err(LockError::BeingWritten { path });
        }
        self.check_limits(table.counts(), request.principal.is_some())?;
        let timeout_seconds = self.policy.grant(&request.timeout);
        let lock = ActiveLock {
            token: request.token,
            root: request.root,
            root_is_collection: request.root_is_collection,
            scope: request.scope,
            depth: request.depth,
            owner: request.owner,
            principal: request.principal,
            client: request.client,
            timeout_seconds,
            created: now,
            expires: now.plus_seconds(timeout_seconds),
        };
        table.insert(lock.clone());
        Ok(lock)
    }

    /// Room for one more lock, given what storage held when the decision
    /// started (conflicts are reported first: they say more).
    fn check_limits(
        &self,
        counts: Option<LockCounts>,
        authenticated: bool,
    ) -> Result<(), LockError> {
        let Some(counts) = counts else {
            return Ok(());
        };
        if counts.total >= self.limits.max_locks {
            return Err(LockError::TooManyLocks {
                limit: self.limits.max_locks,
                per_user: false,
            });
        }
        if authenticated && counts.of_user >= self.limits.max_locks_per_user {
            return Err(LockError::TooManyLocks {
                limit: self.limits.max_locks_per_user,
                per_user: true,
            });
        }
        Ok(())
    }

    /// Restarts a lock's timer (§9.10.2); `path` must be in the lock's scope.
    pub fn refresh(
        &self,
        table: &mut LockTable,
        token: &LockToken,
        path: &ResourcePath,
        timeout: &[TimeoutRequest],
        principal: Option<&str>,
        now: Timestamp,
    ) -> Result<ActiveLock, LockError> {
        let lock = owned_lock_covering(table, token, path, principal, now)?;
        // No Timeout header: restart the lock's own timeout (§6.6), not the default.
        let seconds = if timeout.is_empty() {
            lock.timeout_seconds.min(self.policy.max_seconds)
        } else {
            self.policy.grant(timeout)
        };
        table
            .set_expiry(token, seconds, now.plus_seconds(seconds))
            .cloned()
            .ok_or(LockError::TokenMismatch)
    }

    /// Removes a lock whatever its owner: an administrator breaking it
    /// (§6.4: privileged users may destroy others' locks).
    pub fn break_lock(
        &self,
        table: &mut LockTable,
        token: &LockToken,
        now: Timestamp,
    ) -> Option<ActiveLock> {
        table.get(token).filter(|l| !l.is_expired(now))?;
        table.remove(token)
    }

    /// Removes a whole lock by token from any URL in its scope (§9.11).
    pub fn release(
        &self,
        table: &mut LockTable,
        token: &LockToken,
        path: &ResourcePath,
        principal: Option<&str>,
        now: Timestamp,
    ) -> Result<ActiveLock, LockError> {
        owned_lock_covering(table, token, path, principal, now)?;
        table.remove(token).ok_or(LockError::TokenMismatch)
    }

    /// The write gate (§7, §7.4): every lock covering a target must be
    /// matched by a submitted token of its principal (for shared locks one
    /// suffices), and for subtree targets so must every lock below. Then
    /// the targets are latched for the duration of the write.
    pub fn check_write(
        &self,
        table: &LockTable,
        intent: WriteIntent,
        submitted: &[LockToken],
        principal: Option<&str>,
        now: Timestamp,
    ) -> Result<WritePermit, LockError> {
        let may_use = |lock: &ActiveLock| {
            submitted.contains(&lock.token)
                && (lock.principal.is_none() || lock.principal.as_deref() == principal)
        };
        let mut locked_members: Vec<ActiveLock> = Vec::new();
        for (path, reach) in intent.targets() {
            // A hold on the collection whose member list changes applies
            // too: nothing is added to or removed from a held tree.
            if let Some(hold) = table.hold_over(path, *reach == Reach::Subtree, now) {
                return Err(LockError::Held {
                    hold: Box::new(hold.clone()),
                });
            }
            let covering: Vec<&ActiveLock> = table.covering(path, now).collect();
            if !covering.is_empty() && !covering.iter().any(|l| may_use(l)) {
                return Err(LockError::Locked {
                    lock: Box::new(covering[0].clone()),
                });
            }
            if *reach == Reach::Subtree {
                for lock in table.below(path, now) {
                    let member_ok = table.covering(&lock.root, now).any(may_use);
                    if !member_ok && !locked_members.iter().any(|l| l.root == lock.root) {
                        locked_members.push(lock.clone());
                    }
                }
            }
        }
        if !locked_members.is_empty() {
            return Err(LockError::LockedMembers {
                locks: locked_members,
            });
        }
        let latch = self
            .latches
            .try_latch(&intent)
            .map_err(|path| LockError::BeingWritten { path })?;
        Ok(WritePermit::grant(intent, Some(latch)))
    }
}

fn owned_lock_covering<'a>(
    table: &'a LockTable,
    token: &LockToken,
    path: &ResourcePath,
    principal: Option<&str>,
    now: Timestamp,
) -> Result<&'a ActiveLock, LockError> {
    let lock = table
        .get(token)
        .filter(|l| !l.is_expired(now) && l.covers(path))
        .ok_or(LockError::TokenMismatch)?;
    if lock.principal.is_some() && lock.principal.as_deref() != principal {
        return Err(LockError::NotOwner);
    }
    Ok(lock)
}

#[cfg(test)]
mod tests;

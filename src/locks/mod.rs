//! The lock core: pure decisions about who may change what.
//!
//! No I/O, no clock (`now` is an argument), no locks of its own, no
//! permits. Decisions run on a `LockTable` that the store loads and writes
//! back inside one transaction (`LockStore::transact`): decide in the core,
//! commit in the store, both driven by the lock authority (`authority`).
//! `tests/architecture.rs` enforces the purity. The invariants are numbered
//! in `docs/locking.md`.

pub mod model;
pub mod path;
pub mod table;
pub mod write_intent;

pub use model::{
    ActiveLock, Hold, LockClient, LockCounts, LockDepth, LockLimits, LockScope, LockToken,
    ResourcePath, SegmentError, TimeoutPolicy, TimeoutRequest, Timestamp,
};
pub use table::{LockChange, LockTable, Removal};
pub use write_intent::{LatchId, LatchLease, Reach, WriteIntent, WriteLatch};

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
    /// Requests waiting for a lock on this resource came first (I18): the
    /// authority's wait queue, not the table, refused.
    #[error(
        "{waiting} earlier request(s) wait for a lock on {path}; wait too (Prefer: wait=N) or try again shortly"
    )]
    Queued { path: ResourcePath, waiting: usize },
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

/// The rules of locking, applied to a `LockTable` (the part of the lock
/// table a decision needs, with the holds and write latches near it). Each
/// method is one decision: it reads the table, changes it (the changes are
/// journaled for the store) or says why not. Deciding twice on equal
/// tables gives equal answers, so a store may re-run a decision.
#[derive(Debug, Clone, Copy)]
pub struct LockRules {
    policy: TimeoutPolicy,
    limits: LockLimits,
}

impl Default for LockRules {
    fn default() -> Self {
        let policy = TimeoutPolicy {
            default_seconds: 3600,
            max_seconds: 7 * 24 * 3600,
        };
        Self::new(policy, LockLimits::UNLIMITED)
    }
}

/// What `LockRules::admit` decided for a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// Whether the write latched paths (and so must release its latch).
    pub latched: bool,
}

impl LockRules {
    pub fn new(policy: TimeoutPolicy, limits: LockLimits) -> Self {
        Self { policy, limits }
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
        if let Some(latch) = table.latch_over(&request.root, reach, now) {
            return Err(LockError::BeingWritten {
                path: latch.path.clone(),
            });
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
            fencing: 0,
        };
        Ok(table.insert(lock))
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
        table.remove(token, Removal::Broken)
    }

    /// Breaks every live lock rooted at `path` or below it. A lock on an
    /// ancestor that merely covers `path` is someone else's, on a bigger
    /// tree, and stays.
    pub fn break_tree(
        &self,
        table: &mut LockTable,
        path: &ResourcePath,
        now: Timestamp,
    ) -> Vec<ActiveLock> {
        let live: Vec<LockToken> = table
            .rooted_in_tree(path)
            .into_iter()
            .filter(|t| table.get(t).is_some_and(|l| !l.is_expired(now)))
            .collect();
        live.iter()
            .filter_map(|t| table.remove(t, Removal::Broken))
            .collect()
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
        table
            .remove(token, Removal::Released)
            .ok_or(LockError::TokenMismatch)
    }

    /// Takes back a lock granted moments ago whose resource could not be
    /// created (LOCK on an unmapped URL, §7.3).
    pub fn withdraw(&self, table: &mut LockTable, token: &LockToken) -> Option<ActiveLock> {
        table.remove(token, Removal::Released)
    }

    /// Removes the locks rooted at `path` or below: their resources were
    /// deleted or moved away (§6.1 item 8, §9.6, §9.9).
    pub fn forget_tree(&self, table: &mut LockTable, path: &ResourcePath) -> Vec<ActiveLock> {
        table.remove_tree(path, Removal::ResourceGone)
    }

    /// Places a maintenance hold (replacing one at the same path); false
    /// when it would already be over.
    pub fn place_hold(&self, table: &mut LockTable, hold: Hold, now: Timestamp) -> bool {
        if !hold.is_active(now) {
            return false;
        }
        table.set_hold(hold);
        true
    }

    /// Releases the active hold at exactly `path`.
    pub fn lift_hold(
        &self,
        table: &mut LockTable,
        path: &ResourcePath,
        now: Timestamp,
    ) -> Option<Hold> {
        table.hold_at(path, now)?;
        table.lift_hold(path)
    }

    /// The write gate (§7, §7.4): every lock covering a target must be
    /// matched by a submitted token of its principal (for shared locks one
    /// suffices), and for subtree targets so must every lock below. No hold
    /// may cover a target and no other write may be latched on it. Then
    /// the latching targets are latched under `lease`.
    pub fn admit(
        &self,
        table: &mut LockTable,
        intent: &WriteIntent,
        submitted: &[LockToken],
        principal: Option<&str>,
        lease: &LatchLease,
        now: Timestamp,
    ) -> Result<Admission, LockError> {
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
        let latching = || intent.targets().iter().filter(|(_, r)| r.latches());
        for (path, reach) in latching() {
            if let Some(latch) = table.latch_over(path, *reach, now) {
                return Err(LockError::BeingWritten {
                    path: latch.path.clone(),
                });
            }
        }
        let mut latched = false;
        for (path, reach) in latching() {
            table.add_latch(WriteLatch {
                id: lease.id.clone(),
                path: path.clone(),
                reach: *reach,
                holder: lease.holder.clone(),
                expires: lease.expires,
            });
            latched = true;
        }
        Ok(Admission { latched })
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
mod model_check;
#[cfg(test)]
mod tests;

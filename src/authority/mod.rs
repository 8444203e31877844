//! The lock authority: the one place that decides and commits changes to
//! the lock table, and the only minter of `WritePermit`s.
//!
//! Every surface (WebDAV, the admin API and page, the CLI) and every
//! process sharing the state goes through `LockService`. Each operation is
//! one decision of the pure core (`locks::LockRules`) inside one
//! `LockStore::transact`: the store loads what the decision needs (locks,
//! holds, write latches), the core decides, the store writes the changes
//! and their audit events and commits. Nothing is cached between requests,
//! so what another process committed is seen at once.

mod follow;
mod latches;
pub mod permit;
mod plan;
mod queue;
mod sweeper;
pub mod view;
mod waiting;

use std::sync::Arc;
use std::time::Duration;

pub use self::follow::{Batch, Follower};
pub use self::permit::WritePermit;
/// This machine's clock (for showing times; decisions use `LockService::now`).
pub use crate::store::system_now as now;

use self::latches::LatchKeeper;
use self::permit::LatchRelease;
use self::queue::WaitQueue;
use crate::auth::Requester;
use crate::locks::{
    ActiveLock, Hold, LockDepth, LockError, LockRules, LockScope, LockTable, LockToken, Removal,
    ResourcePath, TimeoutRequest, Timestamp, WriteIntent,
};
use crate::store::{
    AuditStore, DeadProperty, EventContext, HistoryFilter, LockEvent, LockSelection, LockStats,
    LockStore, Needs, StoreError, Stores,
};

/// Why the authority said no.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    /// The lock rules refused (locked, conflict, held, being written, ...).
    #[error(transparent)]
    Refused(#[from] LockError),
    #[error("no live lock has the token {0}")]
    NoSuchLock(String),
    #[error("no lock is rooted at or below {0}")]
    NothingLockedAt(String),
    #[error("the hold's end (--until) has already passed")]
    HoldAlreadyOver,
    #[error("no maintenance hold at {0}")]
    NoSuchHold(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new lock as a surface asks for it; the authority adds the token, the
/// principal and the client.
#[derive(Debug, Clone)]
pub struct NewLock {
    pub root: ResourcePath,
    pub root_is_collection: bool,
    pub scope: LockScope,
    pub depth: LockDepth,
    /// The client's `DAV:owner` XML, kept verbatim.
    pub owner: Option<String>,
    pub timeout: Vec<TimeoutRequest>,
    /// Why, for the audit trail.
    pub reason: Option<String>,
}

/// A granted lock; with `create`, the permit to create its (unmapped)
/// resource, admitted in the same decision.
#[derive(Debug)]
pub struct Grant {
    pub lock: ActiveLock,
    pub create: Option<WritePermit>,
}

/// Which locks to list.
#[derive(Debug, Clone, Default)]
pub struct LockFilter {
    /// Locks rooted at this path or below it, or covering it.
    pub path: Option<ResourcePath>,
    pub holder: Option<String>,
}

/// Settings of the authority.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthorityConfig {
    pub rules: LockRules,
    /// Audit events older than this are pruned; `None` keeps them all.
    pub audit_retention: Option<Duration>,
}

pub struct LockService {
    locks: Arc<dyn LockStore>,
    audit: Arc<dyn AuditStore>,
    config: AuthorityConfig,
    latches: Arc<LatchKeeper>,
    waits: Arc<WaitQueue>,
    /// Bumped after every committed change to locks or holds in this
    /// process: followers of the audit trail read it at once instead of at
    /// their next poll (`follow.rs`).
    changes: tokio::sync::watch::Sender<u64>,
}

/// The audit context of a change `requester` makes.
fn context(requester: &Requester, reason: Option<String>) -> EventContext {
    EventContext {
        actor: requester.name().map(str::to_owned),
        client: requester.client.clone(),
        reason,
    }
}

fn selection(path: &ResourcePath, with_members: bool) -> LockSelection {
    LockSelection::of(path, with_members)
}

impl LockService {
    pub fn new(stores: &Stores, config: AuthorityConfig) -> Self {
        Self {
            locks: Arc::clone(&stores.locks),
            audit: Arc::clone(&stores.audit),
            latches: Arc::new(LatchKeeper::new(Arc::clone(&stores.locks))),
            waits: Arc::default(),
            changes: tokio::sync::watch::Sender::new(0),
            config,
        }
    }

    /// Now, by the lock table's clock (the database's, when several hosts
    /// share one): every decision, lease and expiry is measured with it.
    pub fn now(&self) -> Timestamp {
        self.locks.now()
    }

    /// Runs one decision in one store transaction; its changes commit only
    /// when it returns `Ok`. `decide` may run again on a fresh table (the
    /// store retries a transaction that lost a race), so it derives its
    /// answer from the table alone.
    fn decide<T>(
        &self,
        needs: Needs,
        now: Timestamp,
        context: &EventContext,
        mut decide: impl FnMut(&LockRules, &mut LockTable) -> Result<T, AuthorityError>,
    ) -> Result<T, AuthorityError> {
        let mut outcome = None;
        self.locks.transact(&needs, now, context, &mut |table| {
            let result = decide(&self.config.rules, table);
            let commit = result.is_ok();
            outcome = Some(result);
            commit
        })?;
        self.decided(outcome, needs.writes)
    }

    /// The write gate: a permit for `intent`, or why not (`423` and its
    /// kin). The permit latches the intent's paths until it is dropped.
    pub fn admit(
        &self,
        intent: WriteIntent,
        submitted: &[LockToken],
        requester: &Requester,
    ) -> Result<WritePermit, AuthorityError> {
        let (plan, latch) = self.admit_plan(intent.clone(), submitted, requester);
        let latched = self.decide_plan(plan)?;
        Ok(self.permit(intent, latched.then_some(latch)))
    }

    fn permit(&self, intent: WriteIntent, latch: Option<crate::locks::LatchId>) -> WritePermit {
        let latch = latch.map(|id| {
            self.latches.track(id.clone());
            let release: Arc<dyn LatchRelease> = self.latches.clone();
            (id, release)
        });
        WritePermit::mint(intent, latch)
    }

    /// Grants a lock (§9.10), or says at once why not. With `create`, the
    /// lock's root does not exist yet: the permit to create it is admitted
    /// in the same decision, with the new lock's token counting as
    /// submitted (§7.3). `acquire_waiting` waits instead of refusing.
    pub fn acquire(
        &self,
        new: NewLock,
        create: Option<WriteIntent>,
        submitted: &[LockToken],
        requester: &Requester,
    ) -> Result<Grant, AuthorityError> {
        self.acquire_in_turn(new, create, submitted, requester, None)
    }

    /// `acquire` for the waiter with `ticket` (`None`: one that does not
    /// wait): refused while earlier waiters want an overlapping lock.
    fn acquire_in_turn(
        &self,
        new: NewLock,
        create: Option<WriteIntent>,
        submitted: &[LockToken],
        requester: &Requester,
        ticket: Option<u64>,
    ) -> Result<Grant, AuthorityError> {
        let (plan, pending) = self.acquire_plan(new, create, submitted, requester, ticket)?;
        let decided = self.decide_plan(plan)?;
        Ok(self.granted(decided, pending))
    }

    /// Takes back a lock whose resource could not be created after all.
    pub fn withdraw(&self, lock: &ActiveLock, requester: &Requester) -> Result<(), AuthorityError> {
        let needs = Needs {
            selections: vec![selection(&lock.root, false)],
            ..Needs::default()
        };
        let reason = Some("the locked resource could not be created".to_owned());
        self.decide(
            needs,
            self.now(),
            &context(requester, reason),
            |rules, table| {
                rules.withdraw(table, &lock.token);
                Ok(())
            },
        )?;
        self.freed(std::slice::from_ref(lock));
        Ok(())
    }

    /// Wakes the waiters that the removal of `locks` may let through.
    fn freed(&self, locks: &[ActiveLock]) {
        for lock in locks {
            self.waits.wake(&lock.root, lock.depth);
        }
    }

    /// Restarts a lock's timer from any URL in its scope (§9.10.2).
    pub fn refresh(
        &self,
        token: &LockToken,
        path: &ResourcePath,
        timeout: &[TimeoutRequest],
        requester: &Requester,
    ) -> Result<ActiveLock, AuthorityError> {
        self.decide_plan(self.refresh_plan(token, path, timeout, requester))
    }

    /// UNLOCK (§9.11): removes the lock `token` names from any URL in its
    /// scope. An administrator may remove anyone's lock (§6.4); that is
    /// recorded as broken.
    pub fn release(
        &self,
        token: &LockToken,
        path: &ResourcePath,
        requester: &Requester,
    ) -> Result<(ActiveLock, Removal), AuthorityError> {
        let released = self.decide_plan(self.release_plan(token, path, requester))?;
        self.freed(std::slice::from_ref(&released.0));
        Ok(released)
    }

    /// Breaks one lock whatever its holder; recorded as broken by `requester`.
    pub fn break_lock(
        &self,
        token: &str,
        requester: &Requester,
        reason: Option<String>,
    ) -> Result<ActiveLock, AuthorityError> {
        let now = self.now();
        let lock = self.lock(token)?;
        let needs = Needs {
            selections: vec![selection(&lock.root, false)],
            ..Needs::default()
        };
        let broken = self.decide(needs, now, &context(requester, reason), |rules, table| {
            rules
                .break_lock(table, &lock.token, now)
                .ok_or_else(|| AuthorityError::NoSuchLock(token.to_owned()))
        })?;
        self.freed(std::slice::from_ref(&broken));
        Ok(broken)
    }

    /// Breaks every lock rooted at `path` or below it, in one decision.
    pub fn break_locks_at(
        &self,
        path: &ResourcePath,
        requester: &Requester,
        reason: Option<String>,
    ) -> Result<Vec<ActiveLock>, AuthorityError> {
        let now = self.now();
        let needs = Needs {
            selections: vec![selection(path, true)],
            ..Needs::default()
        };
        let broken = self.decide(needs, now, &context(requester, reason), |rules, table| {
            let broken = rules.break_tree(table, path, now);
            if broken.is_empty() {
                return Err(AuthorityError::NothingLockedAt(path.key()));
            }
            Ok(broken)
        })?;
        self.freed(&broken);
        Ok(broken)
    }

    /// Drops the locks rooted at `path` or below: the permitted write
    /// deleted or moved their resources away (§6.1 item 8, §7.6).
    pub fn forget_tree(
        &self,
        permit: &WritePermit,
        path: &ResourcePath,
        requester: &Requester,
    ) -> Result<Vec<ActiveLock>, AuthorityError> {
        if !permit.covers(path) {
            return Err(StoreError::NotPermitted(path.clone()).into());
        }
        let needs = Needs {
            selections: vec![selection(path, true)],
            ..Needs::default()
        };
        let forgotten = self.decide(
            needs,
            self.now(),
            &context(requester, None),
            |rules, table| Ok(rules.forget_tree(table, path)),
        )?;
        self.freed(&forgotten);
        Ok(forgotten)
    }

    /// Places (or replaces) a maintenance hold.
    pub fn set_hold(&self, hold: Hold, requester: &Requester) -> Result<(), AuthorityError> {
        let now = self.now();
        let needs = Needs {
            selections: vec![selection(&hold.path, false)],
            ..Needs::default()
        };
        let reason = Some(hold.reason.clone());
        self.decide(needs, now, &context(requester, reason), |rules, table| {
            if rules.place_hold(table, hold.clone(), now) {
                Ok(())
            } else {
                Err(AuthorityError::HoldAlreadyOver)
            }
        })
    }

    /// Releases the hold at exactly `path`.
    pub fn release_hold(
        &self,
        path: &ResourcePath,
        requester: &Requester,
    ) -> Result<Hold, AuthorityError> {
        let now = self.now();
        let needs = Needs {
            selections: vec![selection(path, false)],
            ..Needs::default()
        };
        let hold = self.decide(needs, now, &context(requester, None), |rules, table| {
            rules
                .lift_hold(table, path, now)
                .ok_or_else(|| AuthorityError::NoSuchHold(path.key()))
        })?;
        self.waits.wake(path, LockDepth::Infinity);
        Ok(hold)
    }

    /// Live locks covering `path` (lockdiscovery, the If header).
    pub fn covering_locks(&self, path: &ResourcePath) -> Result<Vec<ActiveLock>, AuthorityError> {
        let now = self.now();
        Ok(self
            .locks
            .view(&[selection(path, false)], now)?
            .covering_locks(path, now))
    }

    /// The live locks covering `path`.
    pub fn view_path(&self, path: &ResourcePath) -> Result<LockTable, AuthorityError> {
        Ok(self.locks.view(&[selection(path, false)], self.now())?)
    }

    /// The live locks covering `path`, and its dead properties, read
    /// together (PROPFIND of one resource).
    pub fn view_path_with_properties(
        &self,
        path: &ResourcePath,
    ) -> Result<(LockTable, Vec<DeadProperty>), AuthorityError> {
        let selection = selection(path, false);
        Ok(self.locks.view_with_properties(&selection, self.now())?)
    }

    /// The live locks covering `collection` or its direct members.
    pub fn view_children(&self, collection: &ResourcePath) -> Result<LockTable, AuthorityError> {
        Ok(self.locks.view_children(collection, self.now())?)
    }

    /// The live locks covering `path` or anywhere below it.
    pub fn view_tree(&self, path: &ResourcePath) -> Result<LockTable, AuthorityError> {
        Ok(self.locks.view(&[selection(path, true)], self.now())?)
    }

    /// Live locks, filtered by path (at, above or below it) and holder.
    pub fn locks(&self, filter: &LockFilter) -> Result<Vec<ActiveLock>, AuthorityError> {
        let mut locks = self.locks.all_locks(self.now())?;
        if let Some(path) = &filter.path {
            locks.retain(|l| l.root.starts_with(path) || l.covers(path));
        }
        if let Some(holder) = &filter.holder {
            locks.retain(|l| l.principal.as_deref() == Some(holder.as_str()));
        }
        Ok(locks)
    }

    /// One live lock by its token.
    pub fn lock(&self, token: &str) -> Result<ActiveLock, AuthorityError> {
        self.locks
            .find_lock(&LockToken(token.to_owned()), self.now())?
            .ok_or_else(|| AuthorityError::NoSuchLock(token.to_owned()))
    }

    pub fn holds(&self) -> Result<Vec<Hold>, AuthorityError> {
        Ok(self.audit.holds(self.now())?)
    }

    pub fn history(&self, filter: &HistoryFilter) -> Result<Vec<LockEvent>, AuthorityError> {
        Ok(self.audit.history(filter)?)
    }

    pub fn stats(&self) -> Result<LockStats, AuthorityError> {
        Ok(self.audit.stats(self.now())?)
    }
}

#[cfg(test)]
mod tests;

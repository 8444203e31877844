//! Decisions as owned plans, so that one decision can be run either from a
//! blocking thread (`decide_plan`, through `LockStore::transact`) or from
//! an async worker (`decide_async`, through `LockStore::submit`, which a
//! store with a writer thread answers without any blocking thread).
//!
//! The async operations are the ones requests make most: admitting a
//! write, taking a lock on an existing resource, refreshing and releasing
//! a lock. Each builds the same plan as its synchronous twin.

use std::sync::{Arc, Mutex, PoisonError};

use super::{AuthorityError, Grant, LockService, NewLock, context, selection};
use crate::auth::Requester;
use crate::authority::permit::WritePermit;
use crate::locks::{
    ActiveLock, LatchId, LockDepth, LockError, LockRequest, LockRules, LockTable, LockToken, Reach,
    Removal, ResourcePath, TimeoutRequest, Timestamp, WriteIntent,
};
use crate::store::{Decision, EventContext, LockSelection, Needs, StoreError, Writes};

type Decide<T> = dyn FnMut(&LockRules, &mut LockTable) -> Result<T, AuthorityError> + Send;

/// One decision: what the store loads for it, and the rules' verdict on
/// the loaded table (which may be asked more than once, see `decide`).
pub(super) struct Plan<T> {
    needs: Needs,
    now: Timestamp,
    context: EventContext,
    decide: Box<Decide<T>>,
}

impl<T> Plan<T> {
    pub(super) fn new(
        needs: Needs,
        now: Timestamp,
        context: EventContext,
        decide: impl FnMut(&LockRules, &mut LockTable) -> Result<T, AuthorityError> + Send + 'static,
    ) -> Self {
        Self {
            needs,
            now,
            context,
            decide: Box::new(decide),
        }
    }
}

/// What a grant still needs once its decision is made: the latch and the
/// intent of a lock that creates its resource.
pub(super) struct PendingGrant {
    pub(super) latch: Option<LatchId>,
    pub(super) create: Option<WriteIntent>,
}

/// The plans of the operations that have an async twin.
impl LockService {
    /// The decision of `admit`: whether the write latches paths, and the
    /// latch it takes if so.
    pub(super) fn admit_plan(
        &self,
        intent: WriteIntent,
        submitted: &[LockToken],
        requester: &Requester,
    ) -> (Plan<bool>, crate::locks::LatchId) {
        let now = self.now();
        let needs = Needs {
            selections: intent
                .targets()
                .iter()
                .map(|(path, reach)| match reach {
                    // Only checked: writers of other members may run beside.
                    Reach::MemberList => LockSelection::checked(path),
                    _ => selection(path, *reach == Reach::Subtree),
                })
                .collect(),
            latches: true,
            // Admitting a write never changes locks: other processes' lock
            // decisions need not wait for it.
            writes: Writes::LatchesOnly,
            counts: false,
            fencing: false,
        };
        let lease = self.latches.lease(now);
        let latch = lease.id.clone();
        let (submitted, principal) = (submitted.to_vec(), requester.name().map(str::to_owned));
        // Latches record no audit events: no context to build.
        let plan = Plan::new(needs, now, EventContext::default(), move |rules, table| {
            let principal = principal.as_deref();
            let admission = rules.admit(table, &intent, &submitted, principal, &lease, now)?;
            Ok(admission.latched)
        });
        (plan, latch)
    }

    /// The decision of `acquire_in_turn`: the lock and whether its resource
    /// was latched for creating, and what the grant needs after.
    pub(super) fn acquire_plan(
        &self,
        new: NewLock,
        create: Option<WriteIntent>,
        submitted: &[LockToken],
        requester: &Requester,
        ticket: Option<u64>,
    ) -> Result<(Plan<(ActiveLock, bool)>, PendingGrant), AuthorityError> {
        let waiting = self.waits.ahead_of(&new.root, new.depth, ticket);
        if waiting > 0 {
            return Err(LockError::Queued {
                path: new.root,
                waiting,
            }
            .into());
        }
        let now = self.now();
        let mut selections = vec![selection(&new.root, new.depth == LockDepth::Infinity)];
        if let Some(parent) = new.root.parent() {
            selections.push(LockSelection::checked(&parent));
        }
        let needs = Needs {
            selections,
            counts: true,
            latches: true,
            fencing: true,
            writes: Writes::Locks,
        };
        let request = LockRequest {
            token: LockToken(format!("urn:uuid:{}", uuid::Uuid::new_v4())),
            root: new.root,
            root_is_collection: new.root_is_collection,
            scope: new.scope,
            depth: new.depth,
            owner: new.owner,
            principal: requester.name().map(str::to_owned),
            client: requester.client.clone(),
            timeout: new.timeout,
        };
        // A lease (and its id) only for a lock that creates its resource.
        let lease = create.as_ref().map(|_| self.latches.lease(now));
        let pending = PendingGrant {
            latch: lease.as_ref().map(|lease| lease.id.clone()),
            create: create.clone(),
        };
        let context = context(requester, new.reason);
        let submitted = submitted.to_vec();
        let plan = Plan::new(needs, now, context, move |rules, table| {
            let lock = rules.acquire(table, request.clone(), now)?;
            let latched = match (&create, &lease) {
                (Some(intent), Some(lease)) => {
                    let mut tokens = submitted.clone();
                    tokens.push(lock.token.clone());
                    let principal = request.principal.as_deref();
                    rules
                        .admit(table, intent, &tokens, principal, lease, now)?
                        .latched
                }
                _ => false,
            };
            Ok((lock, latched))
        });
        Ok((plan, pending))
    }

    /// The grant of a decided `acquire_plan`.
    pub(super) fn granted(
        &self,
        (lock, latched): (ActiveLock, bool),
        pending: PendingGrant,
    ) -> Grant {
        let latch = pending.latch.filter(|_| latched);
        let create = pending.create.map(|intent| self.permit(intent, latch));
        Grant { lock, create }
    }

    pub(super) fn refresh_plan(
        &self,
        token: &LockToken,
        path: &ResourcePath,
        timeout: &[TimeoutRequest],
        requester: &Requester,
    ) -> Plan<ActiveLock> {
        let now = self.now();
        let needs = Needs {
            selections: vec![selection(path, false)],
            ..Needs::default()
        };
        let (token, path, timeout) = (token.clone(), path.clone(), timeout.to_vec());
        let principal = requester.name().map(str::to_owned);
        Plan::new(needs, now, context(requester, None), move |rules, table| {
            let principal = principal.as_deref();
            Ok(rules.refresh(table, &token, &path, &timeout, principal, now)?)
        })
    }

    pub(super) fn release_plan(
        &self,
        token: &LockToken,
        path: &ResourcePath,
        requester: &Requester,
    ) -> Plan<(ActiveLock, Removal)> {
        let now = self.now();
        let needs = Needs {
            selections: vec![selection(path, false)],
            ..Needs::default()
        };
        let (token, path) = (token.clone(), path.clone());
        let (principal, admin) = (requester.name().map(str::to_owned), requester.is_admin());
        Plan::new(
            needs,
            now,
            context(requester, None),
            move |rules, table| match rules.release(table, &token, &path, principal.as_deref(), now)
            {
                Ok(lock) => Ok((lock, Removal::Released)),
                Err(LockError::NotOwner) if admin => rules
                    .break_lock(table, &token, now)
                    .map(|lock| (lock, Removal::Broken))
                    .ok_or(LockError::TokenMismatch.into()),
                Err(e) => Err(e.into()),
            },
        )
    }
}

impl LockService {
    /// Runs `plan` from a blocking thread.
    pub(super) fn decide_plan<T>(&self, plan: Plan<T>) -> Result<T, AuthorityError> {
        let Plan {
            needs,
            now,
            context,
            mut decide,
        } = plan;
        self.decide(needs, now, &context, |rules, table| decide(rules, table))
    }

    /// Runs `plan` from an async worker; the answer is kept in a slot the
    /// store's decision fills each time it runs.
    async fn decide_async<T: Send + 'static>(&self, plan: Plan<T>) -> Result<T, AuthorityError> {
        let Plan {
            needs,
            now,
            context,
            mut decide,
        } = plan;
        let writes = needs.writes;
        let slot = Arc::new(Mutex::new(None));
        let answer = Arc::clone(&slot);
        let rules = self.config.rules;
        let decision = Decision {
            needs,
            now,
            context,
            decide: Box::new(move |table| {
                let result = decide(&rules, table);
                let commit = result.is_ok();
                *answer.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
                commit
            }),
        };
        Arc::clone(&self.locks).submit(decision).await?;
        let outcome = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        self.decided(outcome, writes)
    }

    /// `admit`, from an async worker. The decision and the permit are a
    /// task of their own: a request that goes away meanwhile drops the
    /// permit, which frees its latch, instead of leaving it to lapse.
    pub async fn admit_async(
        self: &Arc<Self>,
        intent: WriteIntent,
        submitted: &[LockToken],
        requester: &Requester,
    ) -> Result<WritePermit, AuthorityError> {
        let (plan, latch) = self.admit_plan(intent.clone(), submitted, requester);
        let service = Arc::clone(self);
        tokio::spawn(async move {
            let latched = service.decide_async(plan).await?;
            Ok(service.permit(intent, latched.then_some(latch)))
        })
        .await
        .map_err(|e| StoreError::database(format!("admitting the write failed: {e}")))?
    }

    /// `acquire` of a lock on an existing resource, from an async worker.
    pub async fn acquire_async(
        &self,
        new: NewLock,
        submitted: &[LockToken],
        requester: &Requester,
    ) -> Result<Grant, AuthorityError> {
        let (plan, pending) = self.acquire_plan(new, None, submitted, requester, None)?;
        let decided = self.decide_async(plan).await?;
        Ok(self.granted(decided, pending))
    }

    /// `refresh`, from an async worker.
    pub async fn refresh_async(
        &self,
        token: &LockToken,
        path: &ResourcePath,
        timeout: &[TimeoutRequest],
        requester: &Requester,
    ) -> Result<ActiveLock, AuthorityError> {
        let plan = self.refresh_plan(token, path, timeout, requester);
        self.decide_async(plan).await
    }

    /// `release`, from an async worker.
    pub async fn release_async(
        &self,
        token: &LockToken,
        path: &ResourcePath,
        requester: &Requester,
    ) -> Result<(ActiveLock, Removal), AuthorityError> {
        let plan = self.release_plan(token, path, requester);
        let released = self.decide_async(plan).await?;
        self.freed(std::slice::from_ref(&released.0));
        Ok(released)
    }

    /// The outcome of a decision that ran (`None`: the store never ran it).
    pub(super) fn decided<T>(
        &self,
        outcome: Option<Result<T, AuthorityError>>,
        writes: Writes,
    ) -> Result<T, AuthorityError> {
        let outcome = outcome.unwrap_or_else(|| {
            Err(StoreError::database("the lock transaction did not run its decision").into())
        });
        // Admitting a write changes latches only, which the trail never records.
        if outcome.is_ok() && writes != Writes::LatchesOnly {
            self.changed();
        }
        outcome
    }
}

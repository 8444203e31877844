//! Waiting for a lock instead of polling: `LockService::acquire_waiting`
//! takes a ticket in the queue (`queue.rs`, I18) and tries again each time
//! it may have a chance, until it is granted or its wait is over.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::queue::RECHECK;
use super::{AuthorityError, Grant, LockService, NewLock};
use crate::auth::Requester;
use crate::locks::{LockError, LockToken, WriteIntent};
use crate::store::StoreError;

/// Refusals that end when a lock, hold, write or earlier waiter goes away.
fn worth_waiting(refusal: &LockError) -> bool {
    matches!(
        refusal,
        LockError::Conflict { .. }
            | LockError::Held { .. }
            | LockError::BeingWritten { .. }
            | LockError::Queued { .. }
    )
}

impl LockService {
    /// `acquire`, but a conflicting request waits up to `wait` in the queue
    /// and is granted the moment it is its turn and the lock is free. When
    /// the wait is over, the last refusal is the answer.
    pub async fn acquire_waiting(
        self: &Arc<Self>,
        new: NewLock,
        create: Option<WriteIntent>,
        submitted: Vec<LockToken>,
        requester: Requester,
        wait: Duration,
    ) -> Result<Grant, AuthorityError> {
        let deadline = tokio::time::Instant::now() + wait;
        let ticket = self.waits.enter(&new.root, new.depth);
        loop {
            let (answer, outcome) = oneshot::channel();
            let service = Arc::clone(self);
            let (new, create) = (new.clone(), create.clone());
            let (submitted, requester) = (submitted.clone(), requester.clone());
            let id = ticket.id();
            tokio::task::spawn_blocking(move || {
                let outcome =
                    service.acquire_in_turn(new, create, &submitted, &requester, Some(id));
                // The client went away while the lock was granted: give it
                // back rather than leave it held until it times out.
                if let Err(Ok(grant)) = answer.send(outcome) {
                    if let Err(e) = service.withdraw(&grant.lock, &requester) {
                        tracing::warn!(error = %e, "could not give back a lock nobody waits for");
                    }
                }
            });
            let outcome = outcome.await.map_err(|e| {
                StoreError::database(format!("the lock decision did not answer: {e}"))
            })?;
            match outcome {
                Err(AuthorityError::Refused(refusal)) if worth_waiting(&refusal) => {
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    if left.is_zero() {
                        return Err(refusal.into());
                    }
                    tokio::select! {
                        _ = ticket.woken() => {}
                        _ = tokio::time::sleep(RECHECK.min(left)) => {}
                    }
                }
                other => return other,
            }
        }
    }
}

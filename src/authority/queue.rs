//! The queue of requests waiting for a lock (`Prefer: wait=N`, the lock
//! API's `wait_seconds`): first come, first served per resource. The
//! waiting itself is `LockService::acquire_waiting` (`waiting.rs`).
//!
//! Every request that waits takes a ticket in arrival order. Only a waiter
//! with no earlier waiter on an overlapping path may try to take the lock,
//! and a request that does not wait is refused while anyone waits for its
//! resource, so nobody overtakes a waiter (I18). A waiter tries again when
//! this process removes a lock it may be waiting for (release, break,
//! expiry, the resource deleted), when the waiter ahead of it leaves, and
//! at least every `RECHECK` for what other processes changed: each waiter
//! has its own `Notify`, which keeps a wake-up that comes before its
//! waiter sleeps, so none is lost.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use crate::locks::{LockDepth, ResourcePath};

/// How often a waiter looks again without being woken: what another
/// process or node released is seen within this.
pub const RECHECK: Duration = Duration::from_millis(200);

/// The waiters of this process, in arrival order.
#[derive(Default)]
pub struct WaitQueue {
    state: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    next_id: u64,
    /// Oldest first.
    waiters: Vec<Waiter>,
}

struct Waiter {
    id: u64,
    root: ResourcePath,
    depth: LockDepth,
    wake: Arc<Notify>,
}

/// Whether a lock on `a` and one on `b` could be in each other's way.
fn overlap(a: (&ResourcePath, LockDepth), b: (&ResourcePath, LockDepth)) -> bool {
    a.0 == b.0
        || (a.1 == LockDepth::Infinity && b.0.is_descendant_of(a.0))
        || (b.1 == LockDepth::Infinity && a.0.is_descendant_of(b.0))
}

impl WaitQueue {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // Every change is whole under the lock: a poisoned queue is intact.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Joins the queue for a lock on `root` with `depth`.
    pub fn enter(self: &Arc<Self>, root: &ResourcePath, depth: LockDepth) -> Ticket {
        let mut queue = self.queue();
        queue.next_id += 1;
        let id = queue.next_id;
        let wake = Arc::new(Notify::new());
        queue.waiters.push(Waiter {
            id,
            root: root.clone(),
            depth,
            wake: Arc::clone(&wake),
        });
        Ticket {
            queue: Arc::clone(self),
            id,
            wake,
        }
    }

    /// How many waiters a lock request on `root` would have to let go
    /// first: those that arrived before `ticket` (all, without one) and
    /// want an overlapping path.
    pub fn ahead_of(&self, root: &ResourcePath, depth: LockDepth, ticket: Option<u64>) -> usize {
        self.queue()
            .waiters
            .iter()
            .take_while(|w| Some(w.id) != ticket)
            .filter(|w| overlap((&w.root, w.depth), (root, depth)))
            .count()
    }

    /// Wakes the waiters whose lock a change at `root` (with `depth`) may
    /// have let through.
    pub fn wake(&self, root: &ResourcePath, depth: LockDepth) {
        for waiter in &self.queue().waiters {
            if overlap((&waiter.root, waiter.depth), (root, depth)) {
                waiter.wake.notify_one();
            }
        }
    }

    fn leave(&self, id: u64) {
        let mut queue = self.queue();
        let Some(at) = queue.waiters.iter().position(|w| w.id == id) else {
            return;
        };
        let gone = queue.waiters.remove(at);
        // The next waiter for the same resource may be first now.
        for waiter in &queue.waiters[at..] {
            if overlap((&waiter.root, waiter.depth), (&gone.root, gone.depth)) {
                waiter.wake.notify_one();
            }
        }
    }
}

/// A place in the queue; dropping it leaves the queue.
pub struct Ticket {
    queue: Arc<WaitQueue>,
    id: u64,
    wake: Arc<Notify>,
}

impl Ticket {
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Resolves when this waiter may have a chance (or at once, when a
    /// wake-up came since it last slept).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.queue.leave(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(key: &str) -> ResourcePath {
        ResourcePath::from_key(key).unwrap()
    }

    #[test]
    fn waiters_are_served_in_arrival_order_per_resource() {
        let queue = Arc::new(WaitQueue::default());
        let a = path("/a");
        let first = queue.enter(&a, LockDepth::Zero);
        let second = queue.enter(&a, LockDepth::Zero);
        let elsewhere = queue.enter(&path("/b"), LockDepth::Zero);
        assert_eq!(queue.ahead_of(&a, LockDepth::Zero, Some(first.id())), 0);
        assert_eq!(queue.ahead_of(&a, LockDepth::Zero, Some(second.id())), 1);
        assert_eq!(
            queue.ahead_of(&path("/b"), LockDepth::Zero, Some(elsewhere.id())),
            0
        );
        // A request that does not wait lets every waiter go first.
        assert_eq!(queue.ahead_of(&a, LockDepth::Zero, None), 2);
        // A tree lock waits for the waiters below it.
        assert_eq!(
            queue.ahead_of(&ResourcePath::root(), LockDepth::Infinity, None),
            3
        );
        drop(first);
        assert_eq!(queue.ahead_of(&a, LockDepth::Zero, Some(second.id())), 0);
    }

    #[tokio::test]
    async fn a_wake_up_before_the_waiter_sleeps_is_kept() {
        let queue = Arc::new(WaitQueue::default());
        let a = path("#/orders/42");
        let first = queue.enter(&a, LockDepth::Zero);
        let second = queue.enter(&a, LockDepth::Zero);
        queue.wake(&a, LockDepth::Zero);
        tokio::time::timeout(Duration::from_secs(5), first.woken())
            .await
            .expect("woken by the release");
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), second.woken())
            .await
            .expect("woken when the waiter ahead left");
        let unrelated = queue.enter(&path("#/orders/7"), LockDepth::Zero);
        queue.wake(&a, LockDepth::Zero);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), unrelated.woken())
                .await
                .is_err(),
            "another resource's release wakes nobody here"
        );
    }
}

//! This process's writes in progress: their latches live in the lock table
//! (so every process sharing it sees them), each with a short lease that a
//! background thread renews while the write runs. When this process dies,
//! nobody renews them and they stop counting within one lease.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::Duration;

use super::permit::LatchRelease;
use crate::locks::{LatchId, LatchLease, Timestamp};
use crate::store::LockStore;

/// How long a latch holds after its last renewal: the longest a crashed
/// process's write keeps others out.
const LATCH_LEASE: Duration = Duration::from_secs(10);

/// How often live latches are renewed (several times per lease, so a busy
/// moment does not let one lapse).
const RENEW_EVERY: Duration = Duration::from_secs(2);

pub(super) struct LatchKeeper {
    store: Arc<dyn LockStore>,
    /// This process, as named in the latch rows.
    holder: String,
    /// Latches of writes still running here.
    live: Mutex<HashSet<LatchId>>,
    /// Releases that failed (database busy or down): retried at each renewal.
    unreleased: Mutex<Vec<LatchId>>,
    renewer: OnceLock<()>,
}

fn guard<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section leaves the set whole, so a poisoned one is fine.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LatchKeeper {
    pub(super) fn new(store: Arc<dyn LockStore>) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        Self {
            store,
            holder: format!("{host}:{}", std::process::id()),
            live: Mutex::default(),
            unreleased: Mutex::default(),
            renewer: OnceLock::new(),
        }
    }

    /// A fresh lease for one write, starting `now`.
    pub(super) fn lease(&self, now: Timestamp) -> LatchLease {
        LatchLease {
            id: LatchId(uuid::Uuid::new_v4().to_string()),
            holder: self.holder.clone(),
            expires: Timestamp(now.0.saturating_add(LATCH_LEASE.as_millis() as u64)),
        }
    }

    /// Keeps `id` renewed until it is released.
    pub(super) fn track(self: &Arc<Self>, id: LatchId) {
        guard(&self.live).insert(id);
        self.renewer
            .get_or_init(|| spawn_renewer(Arc::downgrade(self)));
    }

    fn renew(&self) {
        let failed: Vec<LatchId> = std::mem::take(&mut *guard(&self.unreleased));
        for id in failed {
            self.release(&id);
        }
        let live: Vec<LatchId> = guard(&self.live).iter().cloned().collect();
        let expires = Timestamp(
            self.store
                .now()
                .0
                .saturating_add(LATCH_LEASE.as_millis() as u64),
        );
        if let Err(e) = self.store.renew_latches(&live, expires) {
            tracing::warn!(error = %e, latches = live.len(), "renewing write latches failed");
        }
    }
}

impl LatchRelease for LatchKeeper {
    fn release(&self, id: &LatchId) {
        guard(&self.live).remove(id);
        if let Err(e) = self.store.release_latch(id) {
            // Not renewed any more, so it lapses within a lease anyway.
            tracing::warn!(error = %e, latch = %id, "releasing a write latch failed; retrying");
            guard(&self.unreleased).push(id.clone());
        }
    }
}

/// A thread of its own, not a task: renewals must go on when every async
/// worker is busy, or a long upload would lose its latch.
fn spawn_renewer(keeper: Weak<LatchKeeper>) {
    let spawned = std::thread::Builder::new()
        .name("deadbolt-latches".into())
        .spawn(move || {
            loop {
                std::thread::sleep(RENEW_EVERY);
                match keeper.upgrade() {
                    Some(keeper) => keeper.renew(),
                    None => return,
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the latch renewer; long writes may lose their latches");
    }
}

//! `WritePermit`: proof that the lock authority admitted a write.
//!
//! Its constructor is private to `authority`, and every mutating store
//! method demands a permit that covers the paths it touches: writing around
//! the authority is a compile error, and writing outside the admitted paths
//! a runtime refusal (`StoreError::NotPermitted`). This file depends on the
//! lock core only, so the stores can name the type without depending on
//! the rest of the authority.

use std::sync::Arc;

use crate::locks::{LatchId, ResourcePath, WriteIntent};

/// Lets go of a write's latches when its permit is dropped.
pub(super) trait LatchRelease: Send + Sync {
    fn release(&self, id: &LatchId);
}

/// Releases one write's latches when dropped (the write is over, whether
/// it succeeded, failed or its client went away).
struct LatchGuard {
    id: LatchId,
    latches: Arc<dyn LatchRelease>,
}

impl Drop for LatchGuard {
    fn drop(&mut self) {
        self.latches.release(&self.id);
    }
}

/// Admits the writes of one intent. Dropping it ends the write.
pub struct WritePermit {
    intent: WriteIntent,
    _latch: Option<LatchGuard>,
}

impl std::fmt::Debug for WritePermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WritePermit")
            .field("intent", &self.intent)
            .field("latched", &self._latch.as_ref().map(|l| &l.id))
            .finish()
    }
}

impl WritePermit {
    /// Only the authority mints permits.
    pub(super) fn mint(
        intent: WriteIntent,
        latch: Option<(LatchId, Arc<dyn LatchRelease>)>,
    ) -> Self {
        Self {
            intent,
            _latch: latch.map(|(id, latches)| LatchGuard { id, latches }),
        }
    }

    /// True when the permit admits a change to `path`.
    pub fn covers(&self, path: &ResourcePath) -> bool {
        self.intent.covers(path)
    }

    /// A permit for store tests, which test storage, not admission (never
    /// in a release build).
    #[cfg(any(test, feature = "test-support"))]
    #[doc(hidden)]
    pub fn unchecked(intent: WriteIntent) -> Self {
        Self::mint(intent, None)
    }
}

//! The lock core: pure decisions about who may change what.
//!
//! This module does no I/O and never reads the clock (`now` is an argument
//! once timeouts exist); `tests/architecture.rs` enforces that. Today the
//! manager admits every write: deadbolt serves WebDAV Class 1 and the lock
//! table arrives with Class 2. The gate is already in place so that every
//! write path goes through it from the first day.

pub mod model;
pub mod write_intent;

pub use model::{ResourcePath, SegmentError};
pub use write_intent::{Reach, WriteIntent, WritePermit};

/// Why the gate refused a write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// The resource at `lock_root` is locked and its token was not submitted.
    #[error("{lock_root} is locked")]
    Locked { lock_root: ResourcePath },
}

/// Decides whether a request may change the paths it names.
#[derive(Debug, Default)]
pub struct LockManager {}

impl LockManager {
    pub fn new() -> Self {
        Self::default()
    }

    /// The write gate: admits `intent` or names the lock that blocks it.
    pub fn check_write(&self, intent: WriteIntent) -> Result<WritePermit, LockError> {
        Ok(WritePermit::grant(intent))
    }
}

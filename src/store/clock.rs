//! This machine's wall clock, as the lock core counts time. Lock tables on
//! this machine use it; a shared database brings its own (`LockStore::now`).
//! The lock core never reads a clock: `now` is always an argument.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::locks::Timestamp;

/// The wall clock as the lock core counts it.
pub fn system_now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    Timestamp(u64::try_from(millis).unwrap_or(u64::MAX))
}

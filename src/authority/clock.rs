//! The wall clock, read by the authority (never by the lock core, which
//! takes `now` as an argument).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::locks::Timestamp;

/// The wall clock as the lock core counts it.
pub fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    Timestamp(u64::try_from(millis).unwrap_or(u64::MAX))
}

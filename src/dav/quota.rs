//! `--quota BYTES`: how much the served tree may hold. Uploads that would
//! pass it are refused with `507 Insufficient Storage` (before the body is
//! read when its length is announced, as soon as it passes the limit when
//! it is not), and RFC 4331's quota properties report against it.
//!
//! The bytes in use are counted by walking the tree, again when the count
//! is older than `REMEASURE`; uploads in between add what they wrote. So
//! changes made behind the server's back (or by COPY, DELETE and MOVE,
//! which are not counted one by one) are seen within `REMEASURE`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use crate::locks::ResourcePath;
use crate::store::{ContentStore, Space};

/// How old a count of the bytes in use may be.
const REMEASURE: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Quota {
    limit: u64,
    used: AtomicU64,
    /// When the tree was last walked; `None` before the first walk.
    measured: Mutex<Option<Instant>>,
    /// Whether `used` holds a count (the first walk is over).
    counted: AtomicBool,
}

impl Quota {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            used: AtomicU64::new(0),
            measured: Mutex::new(None),
            counted: AtomicBool::new(false),
        }
    }

    /// Bytes in use, walking the tree when the count is stale. Blocking.
    pub fn used(&self, content: &dyn ContentStore) -> u64 {
        let mut measured = match self.measured.try_lock() {
            Ok(measured) => measured,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            // Another request is walking: the count as it is will do, once
            // there is one at all.
            Err(TryLockError::WouldBlock) if self.counted.load(Ordering::Acquire) => {
                return self.used.load(Ordering::Relaxed);
            }
            Err(TryLockError::WouldBlock) => {
                self.measured.lock().unwrap_or_else(PoisonError::into_inner)
            }
        };
        if measured.is_none_or(|at| at.elapsed() >= REMEASURE) {
            let size = tree_size(content, &ResourcePath::root());
            self.used.store(size, Ordering::Relaxed);
            self.counted.store(true, Ordering::Release);
            *measured = Some(Instant::now());
        }
        self.used.load(Ordering::Relaxed)
    }

    /// Bytes that may still be written.
    pub fn room(&self, content: &dyn ContentStore) -> u64 {
        self.limit.saturating_sub(self.used(content))
    }

    /// An upload replaced `old` bytes with `new`.
    pub fn wrote(&self, old: u64, new: u64) {
        if new >= old {
            self.used.fetch_add(new - old, Ordering::Relaxed);
        } else {
            let freed = old - new;
            let _ = self
                .used
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                    Some(u.saturating_sub(freed))
                });
        }
    }

    /// The quota properties: what is left of the quota (no more than the
    /// filesystem has free) and what the tree uses.
    pub fn space(&self, content: &dyn ContentStore, filesystem: Option<Space>) -> Space {
        let used = self.used(content);
        let left = self.limit.saturating_sub(used);
        Space {
            available: filesystem.map_or(left, |fs| fs.available.min(left)),
            used,
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }
}

/// Bytes in the files at and below `path`, as clients see them.
fn tree_size(content: &dyn ContentStore, path: &ResourcePath) -> u64 {
    let mut total = 0u64;
    let mut pending = vec![path.clone()];
    while let Some(collection) = pending.pop() {
        let Ok(members) = content.members(&collection) else {
            continue;
        };
        for member in members {
            if member.meta.is_collection() {
                pending.push(member.path);
            } else {
                total = total.saturating_add(member.meta.len);
            }
        }
    }
    total
}

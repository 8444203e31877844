//! Vocabulary shared by the lock core, the parsers and the stores: times,
//! tokens, scopes, depths, timeouts, limits, holds and granted locks. The
//! path type is in `path.rs`.

use std::fmt;

pub use super::path::{ResourcePath, SegmentError};

/// Milliseconds since the Unix epoch. The core never reads the clock: the
/// caller passes `now`, which keeps every decision testable and repeatable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub fn plus_seconds(self, seconds: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    /// Whole seconds from `self` until `later` (0 when `later` has passed).
    pub fn seconds_until(self, later: Timestamp) -> u64 {
        later.0.saturating_sub(self.0).div_ceil(1000)
    }
}

/// A lock token, as a URI (`urn:uuid:...`), unique for all time (§6.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LockToken(pub String);

impl LockToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LockToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockScope {
    Exclusive,
    Shared,
}

impl LockScope {
    /// The name used in storage, the admin API and listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exclusive => "exclusive",
            Self::Shared => "shared",
        }
    }

    /// The scope `as_str` names.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Exclusive, Self::Shared]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockDepth {
    /// The root alone (for a collection: its properties and member list).
    Zero,
    /// The root and every present and future descendant.
    Infinity,
}

impl LockDepth {
    /// The Depth header value (§10.2), also used in storage and listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zero => "0",
            Self::Infinity => "infinity",
        }
    }

    /// The depth `as_str` names.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Zero, Self::Infinity]
            .into_iter()
            .find(|d| d.as_str() == text)
    }
}

/// One value of the `Timeout` request header (§10.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutRequest {
    Seconds(u64),
    Infinite,
}

/// How long locks last when clients ask for nothing, and at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutPolicy {
    pub default_seconds: u64,
    pub max_seconds: u64,
}

impl TimeoutPolicy {
    /// The first requested value, capped; `Infinite` becomes the maximum.
    pub fn grant(&self, requested: &[TimeoutRequest]) -> u64 {
        let wanted = match requested.first() {
            None => self.default_seconds,
            Some(TimeoutRequest::Infinite) => self.max_seconds,
            Some(TimeoutRequest::Seconds(s)) => *s,
        };
        wanted.clamp(1, self.max_seconds.max(1))
    }
}

/// How many live locks storage may hold: in all, and per authenticated
/// user (anonymous locks count only towards the total). Without limits one
/// runaway client could fill the lock table for everybody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockLimits {
    pub max_locks: u64,
    pub max_locks_per_user: u64,
}

impl LockLimits {
    pub const UNLIMITED: Self = Self {
        max_locks: u64::MAX,
        max_locks_per_user: u64::MAX,
    };
}

/// Live locks in storage when a decision starts (the `LockTable` a store
/// loads holds only the locks near the paths involved).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockCounts {
    pub total: u64,
    /// Those of the user the decision is for (0 when anonymous).
    pub of_user: u64,
}

/// A maintenance hold: every modifying request at or below `path` is
/// refused, whoever sends it and whatever tokens it carries, until the hold
/// is released or `until` passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub path: ResourcePath,
    pub reason: String,
    pub until: Option<Timestamp>,
    pub created: Timestamp,
    pub created_by: Option<String>,
}

impl Hold {
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

/// Where a lock request came from, shown to people who ask "who has it?".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockClient {
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

/// A granted lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveLock {
    pub token: LockToken,
    /// The resource the lock was taken on (§14.12 lockroot).
    pub root: ResourcePath,
    /// Whether the root was a collection when locked (its href ends in `/`).
    pub root_is_collection: bool,
    pub scope: LockScope,
    pub depth: LockDepth,
    /// The client's `DAV:owner` element as self-contained XML, kept verbatim.
    pub owner: Option<String>,
    /// Who took the lock (`None` while the server has no authentication).
    pub principal: Option<String>,
    pub client: LockClient,
    /// The granted timeout in seconds (what a refresh restarts).
    pub timeout_seconds: u64,
    pub created: Timestamp,
    pub expires: Timestamp,
    /// The fencing token: larger than that of every lock granted before
    /// this one, on every node (0 for locks granted before deadbolt had
    /// them). A refresh keeps it; only a new grant gets a new one (I17).
    pub fencing: u64,
}

impl ActiveLock {
    /// True when this lock covers `path` (§6.1: its root, and with depth
    /// infinity every descendant).
    pub fn covers(&self, path: &ResourcePath) -> bool {
        match self.depth {
            LockDepth::Zero => &self.root == path,
            LockDepth::Infinity => path.starts_with(&self.root),
        }
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_and_depth_names_round_trip() {
        for scope in [LockScope::Exclusive, LockScope::Shared] {
            assert_eq!(LockScope::parse(scope.as_str()), Some(scope));
        }
        for depth in [LockDepth::Zero, LockDepth::Infinity] {
            assert_eq!(LockDepth::parse(depth.as_str()), Some(depth));
        }
        assert_eq!(LockScope::parse("Shared"), None);
        assert_eq!(LockDepth::parse("1"), None);
    }
}

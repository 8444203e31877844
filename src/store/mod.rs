//! Storage behind small traits: content (the served directory) and dead
//! properties (SQLite). Stores know paths and bytes, never HTTP.
//!
//! Every mutating method takes a `WritePermit`, which only the write gate
//! (`LockManager::check_write`) can make; a permit that does not cover the
//! path is refused with `StoreError::NotPermitted`.
//!
//! The traits are synchronous: file and SQLite calls block, so the DAV layer
//! runs them on tokio's blocking pool.

pub mod fs;
pub mod sqlite;

use std::collections::HashMap;
use std::time::SystemTime;

use crate::locks::{
    ActiveLock, Hold, LockClient, LockTable, LockToken, ResourcePath, Timestamp, WritePermit,
};

/// Errors of the storage layer; `dav::error` maps them to statuses.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} does not exist")]
    NotFound(ResourcePath),
    #[error("the parent collection of {0} does not exist")]
    ParentMissing(ResourcePath),
    #[error("{0} already exists")]
    AlreadyExists(ResourcePath),
    #[error("{0} is a collection")]
    IsCollection(ResourcePath),
    #[error("{0} is reserved for the server")]
    Reserved(ResourcePath),
    #[error("{0} is outside the served tree")]
    OutsideRoot(ResourcePath),
    #[error("internal error: the write permit does not cover {0}")]
    NotPermitted(ResourcePath),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: ResourcePath,
        #[source]
        source: std::io::Error,
    },
    #[error("property database error: {0}")]
    Database(String),
}

impl StoreError {
    pub fn io(path: &ResourcePath, source: std::io::Error) -> Self {
        match source.kind() {
            // A file in the middle of the path: nothing exists below it.
            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => {
                Self::NotFound(path.clone())
            }
            _ => Self::Io {
                path: path.clone(),
                source,
            },
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.to_string())
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        Self::Database(e.to_string())
    }
}

/// Refuses a mutation the permit does not admit.
pub(crate) fn ensure_permitted(
    permit: &WritePermit,
    path: &ResourcePath,
) -> Result<(), StoreError> {
    if permit.covers(path) {
        Ok(())
    } else {
        Err(StoreError::NotPermitted(path.clone()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    File,
    Collection,
}

/// What a resource looks like now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub kind: ResourceKind,
    pub len: u64,
    pub modified: SystemTime,
    pub created: Option<SystemTime>,
    /// Strong entity tag, quoted; changes whenever the content changes.
    pub etag: String,
}

impl Meta {
    pub fn is_collection(&self) -> bool {
        self.kind == ResourceKind::Collection
    }
}

/// One member of a collection.
#[derive(Debug, Clone)]
pub struct DirEntry {
    pub name: String,
    pub meta: Meta,
}

/// How much of a tree a COPY takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyDepth {
    /// The resource alone (a collection without its members).
    ResourceOnly,
    /// The resource and all its members.
    Tree,
}

/// What a tree operation did: the paths it changed and those it could not.
#[derive(Debug, Default)]
pub struct TreeOutcome {
    pub done: Vec<ResourcePath>,
    pub failed: Vec<(ResourcePath, StoreError)>,
}

/// An upload in progress: a temporary file beside the target. Dropping it
/// without `commit` removes the temporary, so an aborted upload leaves the
/// old content in place.
pub trait PendingWrite: Send {
    /// True when the commit will replace an existing resource.
    fn replaces_existing(&self) -> bool;
    fn write_chunk(&mut self, bytes: &[u8]) -> Result<(), StoreError>;
    /// Flushes to disk and atomically replaces the target.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// The served content.
pub trait ContentStore: Send + Sync {
    fn metadata(&self, path: &ResourcePath) -> Result<Meta, StoreError>;
    /// The members of a collection, lazily (collections may be huge).
    fn members(
        &self,
        path: &ResourcePath,
    ) -> Result<Box<dyn Iterator<Item = DirEntry> + Send>, StoreError>;
    /// Opens a resource for reading, with the metadata of the opened handle
    /// (so length and ETag describe exactly the bytes that will be read).
    fn open(&self, path: &ResourcePath) -> Result<(std::fs::File, Meta), StoreError>;

    fn begin_write(
        &self,
        permit: &WritePermit,
        path: &ResourcePath,
    ) -> Result<Box<dyn PendingWrite>, StoreError>;
    fn create_collection(
        &self,
        permit: &WritePermit,
        path: &ResourcePath,
    ) -> Result<(), StoreError>;
    /// Removes a resource or a whole tree, going on past members that fail.
    fn remove(&self, permit: &WritePermit, path: &ResourcePath) -> TreeOutcome;
    /// Copies to a destination that does not exist, going on past failures.
    fn copy(
        &self,
        permit: &WritePermit,
        from: &ResourcePath,
        to: &ResourcePath,
        depth: CopyDepth,
    ) -> TreeOutcome;
    /// Renames to a destination that does not exist.
    fn rename(
        &self,
        permit: &WritePermit,
        from: &ResourcePath,
        to: &ResourcePath,
    ) -> Result<(), StoreError>;
}

/// A property name: namespace URI (empty for none) and local name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PropertyName {
    pub namespace: String,
    pub local: String,
}

impl PropertyName {
    pub fn new(namespace: impl Into<String>, local: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            local: local.into(),
        }
    }
}

/// A dead property: its name and the whole element as self-contained XML
/// (namespaces declared, `xml:lang` kept), so it is given back as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadProperty {
    pub name: PropertyName,
    pub xml: String,
}

/// One instruction of a PROPPATCH, applied in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchOp {
    Set(DeadProperty),
    Remove(PropertyName),
}

/// The dead properties of a collection's direct members, by member name.
/// Members without any are absent, so the map is no bigger than the
/// properties themselves.
pub type MemberProperties = HashMap<String, Vec<DeadProperty>>;

/// Dead properties, keyed by resource path.
pub trait PropertyStore: Send + Sync {
    fn all(&self, path: &ResourcePath) -> Result<Vec<DeadProperty>, StoreError>;
    /// The dead properties of every direct member of `collection`, in one
    /// read (PROPFIND Depth 1 would otherwise read once per member).
    fn of_members(&self, collection: &ResourcePath) -> Result<MemberProperties, StoreError>;
    /// Applies every op in order, all or nothing.
    fn patch(
        &self,
        permit: &WritePermit,
        path: &ResourcePath,
        ops: &[PatchOp],
    ) -> Result<(), StoreError>;
    /// Copies the properties of `from` (and, for `Tree`, its descendants).
    fn copy(
        &self,
        permit: &WritePermit,
        from: &ResourcePath,
        to: &ResourcePath,
        depth: CopyDepth,
    ) -> Result<(), StoreError>;
    /// Moves the properties of a whole tree.
    fn rename(
        &self,
        permit: &WritePermit,
        from: &ResourcePath,
        to: &ResourcePath,
    ) -> Result<(), StoreError>;
    /// Forgets the properties of the listed resources (not their descendants).
    fn forget(&self, permit: &WritePermit, paths: &[ResourcePath]) -> Result<(), StoreError>;
    /// Forgets the properties of a whole tree.
    fn forget_tree(&self, permit: &WritePermit, path: &ResourcePath) -> Result<(), StoreError>;
}

/// Which locks a decision needs: those covering `path` (rooted at it or at
/// an ancestor) and, with `with_members`, those rooted below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockSelection {
    pub path: ResourcePath,
    pub with_members: bool,
}

/// Durable lock storage, and the source of truth for locks: every decision
/// reads the locks it needs from here, so a second process sharing the state
/// (the CLI, another node) is seen at once.
pub trait LockStore: Send + Sync {
    /// The live locks that cover `collection` or any of its direct members
    /// (PROPFIND Depth 1 reads them once, not once per member).
    fn view_children(
        &self,
        collection: &ResourcePath,
        now: Timestamp,
    ) -> Result<LockTable, StoreError>;
    /// The live locks selected, as a table the lock core can query.
    fn view(&self, selections: &[LockSelection], now: Timestamp) -> Result<LockTable, StoreError>;
    /// Decide in the core, commit in the store: in one transaction, loads
    /// the selected live locks (and maintenance holds), runs `decide` on them
    /// and, if it returns true, writes the table's journaled changes, one
    /// audit event per change (described by `context`), and commits.
    fn transact(
        &self,
        selections: &[LockSelection],
        now: Timestamp,
        context: &EventContext,
        decide: &mut dyn FnMut(&mut LockTable) -> bool,
    ) -> Result<(), StoreError>;
    /// Deletes expired locks (recording an `expired` event each); returns them.
    fn remove_expired(&self, now: Timestamp) -> Result<Vec<ActiveLock>, StoreError>;
    /// The earliest expiry of any stored lock.
    fn next_expiry(&self) -> Result<Option<Timestamp>, StoreError>;
    /// Every live lock (administration, start-up report).
    fn all_locks(&self, now: Timestamp) -> Result<Vec<ActiveLock>, StoreError>;
    /// Counts for the metrics endpoint.
    fn stats(&self, now: Timestamp) -> Result<LockStats, StoreError>;
    /// One live lock by its token.
    fn find_lock(
        &self,
        token: &LockToken,
        now: Timestamp,
    ) -> Result<Option<ActiveLock>, StoreError>;
    /// Places (or replaces) a maintenance hold.
    fn set_hold(&self, hold: &Hold, context: &EventContext) -> Result<(), StoreError>;
    /// Releases the hold at exactly `path`; false when there was none.
    fn release_hold(
        &self,
        path: &ResourcePath,
        now: Timestamp,
        context: &EventContext,
    ) -> Result<bool, StoreError>;
    /// Active holds.
    fn all_holds(&self, now: Timestamp) -> Result<Vec<Hold>, StoreError>;
    /// The audit trail, newest first.
    fn history(&self, filter: &HistoryFilter) -> Result<Vec<LockEvent>, StoreError>;
}

/// Lock counts, read when metrics are scraped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockStats {
    /// Live locks by scope ("exclusive", "shared").
    pub held_by_scope: Vec<(String, u64)>,
    /// Audit events by kind, since the state directory was created.
    pub events_by_kind: Vec<(String, u64)>,
}

/// Why locks are removed in a transaction, for the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Removal {
    /// UNLOCK by the holder.
    #[default]
    Released,
    /// Removed by an administrator (or the CLI) regardless of its holder.
    Broken,
    /// The locked resource was deleted or moved away.
    ResourceGone,
}

/// Who caused a lock change, from where, and why.
#[derive(Debug, Clone, Default)]
pub struct EventContext {
    pub actor: Option<String>,
    pub client: LockClient,
    pub removal: Removal,
    pub reason: Option<String>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LockEvent {
    pub at_ms: u64,
    /// acquired, refreshed, released, broken, removed-with-resource,
    /// expired, hold-set, hold-released.
    pub kind: String,
    pub path: String,
    pub token: Option<String>,
    /// Who held the lock.
    pub holder: Option<String>,
    /// Who made the change (the admin who broke a lock, the user who set a hold).
    pub actor: Option<String>,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
    pub reason: Option<String>,
}

/// Which audit events to list.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    /// Events at this path or below it.
    pub path: Option<ResourcePath>,
    pub since: Option<Timestamp>,
    pub limit: usize,
}

//! Storage behind small traits: content (the served directory), dead
//! properties, and the lock table with its holds, write latches and audit
//! trail. Stores know paths and bytes, never HTTP.
//!
//! Every mutating content or property method takes a `WritePermit`, which
//! only the lock authority can make; a permit that does not cover the path
//! is refused with `StoreError::NotPermitted`. Lock-table writes happen in
//! `LockStore::transact` (and the latch lease calls), which only the
//! authority calls.
//!
//! The traits are synchronous: file and database calls block, so callers
//! run them off the async workers; the one exception is
//! `LockStore::submit`, which hands an owned decision to the store's own
//! writer and resolves when it is committed. `open` picks the engine;
//! `conformance` (tests) is the suite every engine passes.

mod beneath;
mod clock;
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod conformance;
mod dir_sync;
pub mod fs;
mod keys;
mod members;
pub mod memory;
mod open;
pub mod postgres;
pub mod sqlite;
mod stat;

pub use self::clock::system_now;
pub use self::open::{Durability, StateLocation, Stores, open};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use crate::authority::permit::WritePermit;
use crate::locks::{
    ActiveLock, Hold, LatchId, LockClient, LockTable, LockToken, ResourcePath, Timestamp,
};

/// Any error, kept as the source of a database failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Errors of the storage layer; each surface maps them to its statuses.
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
    /// The database is busy (another writer holds it, a transaction lost a
    /// serialization race, the pool is exhausted) and stayed busy through
    /// the store's retries: the request may succeed if sent again.
    #[error("the state database is busy: {source}")]
    Busy {
        #[source]
        source: BoxError,
    },
    /// The database cannot be reached (down, restarting, refusing
    /// connections): the request may succeed later.
    #[error("the state database is unavailable: {source}")]
    Unavailable {
        #[source]
        source: BoxError,
    },
    /// The settings for the state are wrong (a bad database URL).
    #[error("{0}")]
    Config(String),
    /// The database failed: a real error, not worth retrying.
    #[error("state database error: {source}")]
    Database {
        #[source]
        source: BoxError,
    },
    /// A stored value is not what deadbolt writes (a damaged database).
    #[error("the state database holds an invalid value: {0}")]
    Corrupt(String),
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

    pub fn database(source: impl Into<BoxError>) -> Self {
        Self::Database {
            source: source.into(),
        }
    }

    pub fn busy(source: impl Into<BoxError>) -> Self {
        Self::Busy {
            source: source.into(),
        }
    }

    pub fn unavailable(source: impl Into<BoxError>) -> Self {
        Self::Unavailable {
            source: source.into(),
        }
    }

    /// Whether retrying the same operation may succeed.
    pub fn is_busy(&self) -> bool {
        matches!(self, Self::Busy { .. })
    }
}

/// Refuses a mutation the permit does not admit.
/// `LockStore::view_with_properties` as two reads, for a store that gains
/// nothing by making them one.
pub(crate) fn view_then_properties<S: LockStore + PropertyStore>(
    store: &S,
    selection: &LockSelection,
    now: Timestamp,
) -> Result<(LockTable, Vec<DeadProperty>), StoreError> {
    let table = store.view(std::slice::from_ref(selection), now)?;
    Ok((table, store.all(&selection.path)?))
}

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
    pub path: ResourcePath,
    pub meta: Meta,
}

impl DirEntry {
    /// The member's name in its collection.
    pub fn name(&self) -> &str {
        self.path.name().unwrap_or("")
    }
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
    /// The modification time the resource gets (a sync client's own).
    fn set_modified(&mut self, at: SystemTime) -> Result<(), StoreError>;
    /// Flushes to disk and atomically replaces the target.
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Storage space where a resource lives (RFC 4331's quota properties).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Bytes that may still be written (free to unprivileged users).
    pub available: u64,
    /// Bytes in use.
    pub used: u64,
}

/// The served content.
pub trait ContentStore: Send + Sync {
    fn metadata(&self, path: &ResourcePath) -> Result<Meta, StoreError>;
    /// The space of the filesystem that holds `path`.
    fn space(&self, path: &ResourcePath) -> Result<Space, StoreError>;
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
    /// Sets a resource's modification time (Windows' Win32LastModifiedTime).
    fn set_modified(
        &self,
        permit: &WritePermit,
        path: &ResourcePath,
        at: SystemTime,
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

/// The paths a decision is about: the locks, holds and write latches
/// covering `path` (at it or at an ancestor) and, with `with_members`,
/// those below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockSelection {
    pub path: ResourcePath,
    pub with_members: bool,
    /// The decision only reads what is at `path` (a member list to check),
    /// and changes nothing there: decisions that do the same may run beside
    /// it (a store that claims paths claims this one shared).
    pub shared: bool,
}

impl LockSelection {
    /// A path the decision may change (and, `with_members`, below it).
    pub fn of(path: &ResourcePath, with_members: bool) -> Self {
        Self {
            path: path.clone(),
            with_members,
            shared: false,
        }
    }

    /// A path the decision only checks.
    pub fn checked(path: &ResourcePath) -> Self {
        Self {
            path: path.clone(),
            with_members: false,
            shared: true,
        }
    }
}

/// What a decision needs loaded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Needs {
    pub selections: Vec<LockSelection>,
    /// The live lock counts (in all and of the actor), for lock limits.
    pub counts: bool,
    /// The live write latches (writes in progress), for decisions that a
    /// write in progress must hold off: admitting a write, granting a lock.
    pub latches: bool,
    /// A fencing token for a lock the decision may grant (I17): the next
    /// number of a counter shared by every process and node.
    pub fencing: bool,
    /// What the decision may change.
    pub writes: Writes,
}

/// What a decision may change, so that a store locks no more than that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Writes {
    /// Locks and holds (and latches, with `Needs::latches`).
    #[default]
    Locks,
    /// Write latches only: admitting a write. Such a decision reads the
    /// locks and holds but never changes them.
    LatchesOnly,
}

/// One decision owned whole, to hand to a writer (`LockStore::submit`):
/// what `transact` takes by reference.
pub struct Decision {
    pub needs: Needs,
    pub now: Timestamp,
    pub context: EventContext,
    /// Returns true to commit its table's changes; may run more than once.
    pub decide: Box<dyn FnMut(&mut LockTable) -> bool + Send>,
}

/// A submitted decision: done when committed (or refused, or failed).
pub type Submitted =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send>>;

/// The lock table: the source of truth for locks, holds and writes in
/// progress. Every decision reads what it needs from here, so another
/// process sharing the state (the CLI, a second server) is seen at once.
pub trait LockStore: Send + Sync + 'static {
    /// Now, by this lock table's clock: the local clock for a table on this
    /// machine, the database server's for one that several hosts share.
    fn now(&self) -> Timestamp {
        system_now()
    }
    /// Decide in the core, commit in the store: in one transaction, loads
    /// what `needs` selects (live locks, active holds, and the latches and
    /// counts when asked) into a `LockTable`, runs `decide` on it and, if it
    /// returns true, writes the table's journaled changes with one audit
    /// event per lock or hold change (described by `context`) and commits.
    /// `decide` may run more than once (a store retries a transaction that
    /// lost a race), each time on a freshly loaded table.
    fn transact(
        &self,
        needs: &Needs,
        now: Timestamp,
        context: &EventContext,
        decide: &mut dyn FnMut(&mut LockTable) -> bool,
    ) -> Result<(), StoreError>;
    /// `transact` for a caller on an async worker, with an owned decision:
    /// resolves once the decision has run and its changes (if any) are
    /// committed. This default runs `transact` on the blocking pool; a store
    /// with a writer of its own queues the decision there instead, so the
    /// request never leaves the async workers.
    fn submit(self: Arc<Self>, decision: Decision) -> Submitted {
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let Decision {
                    needs,
                    now,
                    context,
                    mut decide,
                } = decision;
                self.transact(&needs, now, &context, &mut *decide)
            })
            .await
            .map_err(|e| StoreError::database(format!("the lock decision did not run: {e}")))?
        })
    }
    /// The live locks and active holds selected, to read (no latches).
    fn view(&self, selections: &[LockSelection], now: Timestamp) -> Result<LockTable, StoreError>;
    /// `view` of one selection and the dead properties at its path, read
    /// together (PROPFIND of one resource wants both: a store may answer
    /// from one read transaction instead of two).
    fn view_with_properties(
        &self,
        selection: &LockSelection,
        now: Timestamp,
    ) -> Result<(LockTable, Vec<DeadProperty>), StoreError>;
    /// The live locks that cover `collection` or any of its direct members
    /// (PROPFIND Depth 1 reads them once, not once per member).
    fn view_children(
        &self,
        collection: &ResourcePath,
        now: Timestamp,
    ) -> Result<LockTable, StoreError>;
    /// One live lock by its token.
    fn find_lock(
        &self,
        token: &LockToken,
        now: Timestamp,
    ) -> Result<Option<ActiveLock>, StoreError>;
    /// Every live lock, ordered by root.
    fn all_locks(&self, now: Timestamp) -> Result<Vec<ActiveLock>, StoreError>;
    /// The earliest expiry of any stored lock.
    fn next_expiry(&self) -> Result<Option<Timestamp>, StoreError>;
    /// Deletes expired locks (recording an `expired` event each), latches
    /// whose lease ran out and holds that ended; returns the expired locks.
    fn remove_expired(&self, now: Timestamp) -> Result<Vec<ActiveLock>, StoreError>;
    /// Extends the leases of these latches (their writes are still running).
    fn renew_latches(&self, ids: &[LatchId], expires: Timestamp) -> Result<(), StoreError>;
    /// Deletes a write's latches (the write is over).
    fn release_latch(&self, id: &LatchId) -> Result<(), StoreError>;
}

/// What administrators read: holds, the audit trail, counts.
pub trait AuditStore: Send + Sync {
    /// Active holds, ordered by path.
    fn holds(&self, now: Timestamp) -> Result<Vec<Hold>, StoreError>;
    /// The audit trail, newest first.
    fn history(&self, filter: &HistoryFilter) -> Result<Vec<LockEvent>, StoreError>;
    /// Counts for the metrics endpoint.
    fn stats(&self, now: Timestamp) -> Result<LockStats, StoreError>;
    /// Deletes audit events older than `before`; returns how many.
    fn prune_history(&self, before: Timestamp) -> Result<u64, StoreError>;
    /// The events of `range`, lowest id first: what a follower of the
    /// trail (the event stream) reads next.
    fn events_after(&self, range: &EventRange) -> Result<Vec<LockEvent>, StoreError>;
    /// The ids of the events after `after`, whatever their path, ascending,
    /// at most `limit`: a follower finds in them the ids not visible yet.
    fn event_ids_after(&self, after: u64, limit: usize) -> Result<Vec<u64>, StoreError>;
    /// The highest id of a stored event (0 when there is none).
    fn last_event_id(&self) -> Result<u64, StoreError>;
    /// How long an event id may stay invisible while a higher one is
    /// visible: ids are drawn when an event is written and seen when its
    /// transaction commits, and concurrent transactions may commit out of
    /// order. Zero for an engine whose writers commit one after the other
    /// (a gap in the ids is then for good: a pruned event).
    fn event_id_grace(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

/// Lock counts, read when metrics are scraped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockStats {
    /// Live locks by scope ("exclusive", "shared").
    pub held_by_scope: Vec<(String, u64)>,
    /// Audit events by kind since the state was created (kept by a
    /// counter, so pruning the trail does not lower it).
    pub events_by_kind: Vec<(String, u64)>,
}

/// Who caused a lock change, from where, and why.
#[derive(Debug, Clone, Default)]
pub struct EventContext {
    pub actor: Option<String>,
    pub client: LockClient,
    pub reason: Option<String>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LockEvent {
    /// Increases with every event (a cursor for readers that resume).
    pub id: u64,
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
    /// At most this many (0: the store's default, 1000).
    pub limit: usize,
}

/// The most events one history read returns when the filter says 0.
pub const DEFAULT_HISTORY_LIMIT: usize = 1000;

/// A slice of the audit trail by id, for followers: the events with
/// `after < id <= up_to` (at `path` or below it, when given). Ids are never
/// given twice, so a follower resumes from the last id it saw.
#[derive(Debug, Clone)]
pub struct EventRange {
    pub after: u64,
    pub up_to: u64,
    /// Events at this path or below it; `None`: every event.
    pub path: Option<ResourcePath>,
    /// At most this many (0: `DEFAULT_HISTORY_LIMIT`).
    pub limit: usize,
}

impl EventRange {
    /// The limit, with 0 meaning the default.
    pub fn limit(&self) -> usize {
        if self.limit == 0 {
            DEFAULT_HISTORY_LIMIT
        } else {
            self.limit
        }
    }
}

/// The audit event kind of a change, and the lock or hold it concerns.
pub fn event_kind(change: &crate::locks::LockChange) -> Option<&'static str> {
    use crate::locks::LockChange;
    match change {
        LockChange::Insert(_) => Some("acquired"),
        LockChange::Update(_) => Some("refreshed"),
        LockChange::Remove(_, why) => Some(why.as_str()),
        LockChange::HoldSet(_) => Some("hold-set"),
        LockChange::HoldLifted(_) => Some("hold-released"),
        LockChange::Latch(_) => None,
    }
}

//! The embedded state database: SQLite (bundled), WAL mode, in the state
//! directory. Locks, holds, write latches and the audit trail (`locks.rs`,
//! `audit.rs`) and dead properties (`properties.rs`) share one file, so
//! several processes on one state directory act as one server.
//!
//! A tree is the rows whose path is the tree's key or starts with `key/`,
//! queried as a range (`key/` <= path < `key0`, since '0' follows '/'), so
//! tree operations use the primary key index instead of scanning.

mod audit;
mod group;
mod locks;
mod properties;
mod rows;
mod schema;
#[cfg(test)]
mod tests;
mod writer_thread;

use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError, mpsc};
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::ErrorCode;

use crate::store::{Durability, StoreError};

/// The state database file inside the state directory.
pub const DATABASE_FILE: &str = "deadbolt.sqlite3";

/// The write latches' database beside it (see `schema::LATCHES`).
pub const LATCH_FILE: &str = "latches.sqlite3";

/// How long a statement waits for another writer (process) before SQLite
/// reports the database busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Attempts of one write transaction that finds the database busy.
const WRITE_ATTEMPTS: u32 = 3;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::busy(e),
            _ => StoreError::database(e),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    /// The pool hands out no connection in time: every one is in use.
    fn from(e: r2d2::Error) -> Self {
        StoreError::busy(e)
    }
}

pub struct SqliteStore {
    pool: r2d2::Pool<SqliteConnectionManager>,
    /// The one connection this process writes with. Writers take turns
    /// on it before asking SQLite for its write lock: waiting on a mutex
    /// wakes at once, while SQLite's busy handler sleeps and polls (up to
    /// 100 ms a turn); and one connection keeps its page cache warm, where
    /// writers on several would each find theirs invalidated by the others'
    /// commits. Other processes are still kept out by SQLite's lock.
    writer: Mutex<Writer>,
    /// Decisions waiting for the writer: while there are, the one deciding
    /// leaves its group open for them (`group.rs`).
    queued: AtomicUsize,
    /// Signalled when a group of decisions has ended.
    group_ended: Condvar,
    /// Decisions submitted from async workers, for the writer thread
    /// (`writer_thread.rs`), which starts with the first.
    queue: OnceLock<mpsc::Sender<writer_thread::Queued>>,
}

/// The connections this process writes with: the lock table, and the
/// write latches' database beside it (see `schema::LATCHES`).
struct Writer {
    main: rusqlite::Connection,
    latches: rusqlite::Connection,
    /// The group of decisions committing together.
    group: group::Group,
}

impl SqliteStore {
    /// Opens (creating if needed) the databases in `state_dir`.
    pub fn open(state_dir: &Path, durability: Durability) -> Result<Self, StoreError> {
        let file = state_dir.join(DATABASE_FILE);
        let latch_file = state_dir.join(LATCH_FILE);
        // WAL mode is a property of the file: set it once, on one connection,
        // before the pool opens several (which would race for the lock).
        let mut main = rusqlite::Connection::open(&file)?;
        main.busy_timeout(BUSY_TIMEOUT)?;
        main.execute_batch("PRAGMA journal_mode = WAL;")?;
        schema::migrate(&mut main)?;
        prepare_connection(&mut main)?;
        if durability == Durability::Full {
            // Every commit synced before it returns: a decision survives a
            // power loss. Group commit shares one sync among concurrent ones.
            main.execute_batch("PRAGMA synchronous = FULL;")?;
        }
        let latches = rusqlite::Connection::open(&latch_file)?;
        latches.busy_timeout(BUSY_TIMEOUT)?;
        latches.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        latches.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")?;
        latches.execute_batch(schema::LATCHES)?;
        let manager = SqliteConnectionManager::file(file).with_init(prepare_connection);
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .build(manager)
            .map_err(StoreError::database)?;
        Ok(Self {
            pool,
            writer: Mutex::new(Writer {
                main,
                latches,
                group: group::Group::default(),
            }),
            queued: AtomicUsize::new(0),
            group_ended: Condvar::new(),
            queue: OnceLock::new(),
        })
    }

    /// This process's write connections, once the writers before are done
    /// and the open group of decisions has committed.
    fn writer(&self) -> MutexGuard<'_, Writer> {
        // A panic mid-transaction rolls it back before the guard goes (a
        // `Transaction`'s drop; for a decision, `decide_in_group`), so a
        // poisoned connection is as good as new.
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if writer.finish_group() {
            self.group_ended.notify_all();
        }
        writer
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>, StoreError> {
        Ok(self.pool.get()?)
    }

    /// Runs `work` in a `BEGIN IMMEDIATE` transaction on the lock table
    /// (the write lock is taken first, so nothing changes between its reads
    /// and its writes) and keeps its changes when it returns `Ok(Some(_))`;
    /// `Ok(None)` rolls them back. The transaction may be shared with other
    /// decisions (group commit, `group.rs`); either way this returns once
    /// the changes are committed. A busy database is retried: `work` must
    /// be re-runnable.
    fn write<T>(
        &self,
        mut work: impl FnMut(&rusqlite::Connection) -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.write_with(Locking::LockTable, |tx, _| work(tx))
    }

    /// `write` with the latch database locked as `locking` says; `work`
    /// gets its connection too (`None` for `Locking::LockTable`).
    ///
    /// The order is what keeps decisions serialised across processes: a
    /// transaction that changes the lock table and reads latches holds
    /// both write locks and commits the lock table first, so a latch-only
    /// decision, which takes the latch database's lock before it reads the
    /// lock table, always reads every lock such a transaction made. (In a
    /// group both are write locks, taken lock table first.)
    fn write_with<T>(
        &self,
        locking: Locking,
        mut work: impl FnMut(
            &rusqlite::Connection,
            Option<&rusqlite::Connection>,
        ) -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut attempt = 1;
        loop {
            match self.decide_in_group(locking, &mut work) {
                Err(e) if e.is_busy() && attempt < WRITE_ATTEMPTS => {
                    tracing::debug!(error = %e, attempt, "state database busy; retrying");
                    std::thread::sleep(Duration::from_millis(20 * u64::from(attempt)));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// A read transaction begun and ended by cached statements (rusqlite's
/// `Transaction` parses its BEGIN and COMMIT anew each time): its reads see
/// one snapshot and take the database's read lock once. Dropped unended
/// (an error on the way), it is rolled back, so the pooled connection goes
/// back with no transaction open.
pub(super) struct Reading<'c> {
    conn: &'c rusqlite::Connection,
    open: bool,
}

impl<'c> Reading<'c> {
    pub(super) fn begin(conn: &'c rusqlite::Connection) -> Result<Self, StoreError> {
        conn.prepare_cached("BEGIN")?.execute([])?;
        Ok(Self { conn, open: true })
    }

    pub(super) fn end(mut self) -> Result<(), StoreError> {
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Reading<'_> {
    type Target = rusqlite::Connection;

    fn deref(&self) -> &rusqlite::Connection {
        self.conn
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Which write locks a transaction takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Locking {
    /// The lock table's only.
    LockTable,
    /// The lock table's, then the latch database's.
    Both,
    /// The latch database's only (the lock table is read).
    LatchesOnly,
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

/// Settings of every connection to the lock table, reader or writer.
fn prepare_connection(c: &mut rusqlite::Connection) -> rusqlite::Result<()> {
    // busy_timeout first, so the other pragmas wait instead of failing.
    // NORMAL in WAL mode: a commit survives the process dying (kill -9);
    // only a power loss may take the last transactions.
    c.busy_timeout(BUSY_TIMEOUT)?;
    // Room for every statement a connection runs (rusqlite keeps 16 by
    // default; a lock decision alone uses about that many, and paths of
    // each depth have a lookup statement of their own).
    c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // 1 MiB of page cache per connection (SQLite's default is 2): enough
    // for the upper levels of the indexes a decision walks, and the
    // kernel's page cache holds the rest for every connection at once.
    // Temporary tables and statement journals in memory: a group's
    // savepoints would otherwise spill to a file created per transaction.
    c.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -1024; PRAGMA temp_store = MEMORY;",
    )
}

/// Rows at `?1` or in the range `[?2, ?3)`.
const IN_TREE: &str = "(path = ?1 OR (path >= ?2 AND path < ?3))";

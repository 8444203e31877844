//! The embedded state database: SQLite (bundled), WAL mode, in the state
//! directory. Locks, holds, write latches and the audit trail (`locks.rs`,
//! `audit.rs`) and dead properties (`properties.rs`) share one file, so
//! several processes on one state directory act as one server.
//!
//! A tree is the rows whose path is the tree's key or starts with `key/`,
//! queried as a range (`key/` <= path < `key0`, since '0' follows '/'), so
//! tree operations use the primary key index instead of scanning.

mod audit;
mod locks;
mod properties;
mod rows;
mod schema;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{ErrorCode, TransactionBehavior};

use crate::store::StoreError;

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
}

/// The connections this process writes with: the lock table, and the
/// write latches' database beside it (see `schema::LATCHES`).
struct Writer {
    main: rusqlite::Connection,
    latches: rusqlite::Connection,
}

impl SqliteStore {
    /// Opens (creating if needed) the databases in `state_dir`.
    pub fn open(state_dir: &Path) -> Result<Self, StoreError> {
        let file = state_dir.join(DATABASE_FILE);
        let latch_file = state_dir.join(LATCH_FILE);
        // WAL mode is a property of the file: set it once, on one connection,
        // before the pool opens several (which would race for the lock).
        let mut main = rusqlite::Connection::open(&file)?;
        main.busy_timeout(BUSY_TIMEOUT)?;
        main.execute_batch("PRAGMA journal_mode = WAL;")?;
        schema::migrate(&mut main)?;
        prepare_connection(&mut main)?;
        let latches = rusqlite::Connection::open(&latch_file)?;
        latches.busy_timeout(BUSY_TIMEOUT)?;
        latches.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")?;
        latches.execute_batch(schema::LATCHES)?;
        let manager = SqliteConnectionManager::file(file).with_init(prepare_connection);
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .build(manager)
            .map_err(StoreError::database)?;
        Ok(Self {
            pool,
            writer: Mutex::new(Writer { main, latches }),
        })
    }

    /// This process's write connections, once the writers before are done.
    fn writer(&self) -> MutexGuard<'_, Writer> {
        // A panic mid-transaction drops (rolls back) its transaction before
        // the guard, so a poisoned connection is as good as new.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn connection(&self) -> Result<r2d2::PooledConnection<SqliteConnectionManager>, StoreError> {
        Ok(self.pool.get()?)
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction on the lock table
    /// (the write lock is taken first, so nothing changes between its reads
    /// and its writes) and commits when it returns `Ok(Some(_))`; `Ok(None)`
    /// rolls back. A busy database is retried: `work` must be re-runnable.
    fn write<T>(
        &self,
        mut work: impl FnMut(&rusqlite::Transaction<'_>) -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.write_with(Locking::LockTable, |tx, _| work(tx))
    }

    /// `write` with the latch database locked as `locking` says; `work`
    /// gets its transaction too (`None` for `Locking::LockTable`).
    ///
    /// The order is what keeps decisions serialised across processes: a
    /// transaction that changes the lock table and reads latches holds
    /// both write locks and commits the lock table first, so a latch-only
    /// decision, which takes the latch database's lock before it reads the
    /// lock table, always reads every lock such a transaction made.
    fn write_with<T>(
        &self,
        locking: Locking,
        mut work: impl FnMut(
            &rusqlite::Transaction<'_>,
            Option<&rusqlite::Transaction<'_>>,
        ) -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut attempt = 1;
        loop {
            let result = (|| -> Result<Option<T>, StoreError> {
                let mut writer = self.writer();
                let Writer { main, latches } = &mut *writer;
                let (main_tx, latch_tx) = match locking {
                    Locking::LockTable => (
                        main.transaction_with_behavior(TransactionBehavior::Immediate)?,
                        None,
                    ),
                    Locking::Both => {
                        let main_tx =
                            main.transaction_with_behavior(TransactionBehavior::Immediate)?;
                        let latch_tx =
                            latches.transaction_with_behavior(TransactionBehavior::Immediate)?;
                        (main_tx, Some(latch_tx))
                    }
                    Locking::LatchesOnly => {
                        let latch_tx =
                            latches.transaction_with_behavior(TransactionBehavior::Immediate)?;
                        // A read of the lock table that starts after the
                        // latch lock is held.
                        let main_tx =
                            main.transaction_with_behavior(TransactionBehavior::Deferred)?;
                        (main_tx, Some(latch_tx))
                    }
                };
                let outcome = work(&main_tx, latch_tx.as_ref())?;
                if outcome.is_some() {
                    main_tx.commit()?;
                    if let Some(latch_tx) = latch_tx {
                        latch_tx.commit()?;
                    }
                }
                Ok(outcome)
            })();
            match result {
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

/// Which write locks a transaction takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Locking {
    /// The lock table's only.
    LockTable,
    /// The lock table's, then the latch database's.
    Both,
    /// The latch database's only (the lock table is read).
    LatchesOnly,
}

/// Settings of every connection to the lock table, reader or writer.
fn prepare_connection(c: &mut rusqlite::Connection) -> rusqlite::Result<()> {
    // busy_timeout first, so the other pragmas wait instead of failing.
    // NORMAL in WAL mode: a commit survives the process dying (kill -9);
    // only a power loss may take the last transactions.
    c.busy_timeout(BUSY_TIMEOUT)?;
    c.execute_batch("PRAGMA synchronous = NORMAL;")
}

/// Rows at `?1` or in the range `[?2, ?3)`.
const IN_TREE: &str = "(path = ?1 OR (path >= ?2 AND path < ?3))";

/// `?2, ?3, ...` for `n` values after `?1`.
fn placeholders(n: usize) -> String {
    (2..n + 2)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

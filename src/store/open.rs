//! Opening the state: the one way the server and the CLI reach it, whatever
//! the engine.

use std::path::PathBuf;
use std::sync::Arc;

use super::memory::MemoryStore;
use super::postgres::PostgresStore;
use super::sqlite::SqliteStore;
use super::{AuditStore, LockStore, PropertyStore, StoreError};

/// The stores of one server: content is opened apart (it is the served
/// directory); these three share one state database.
#[derive(Clone)]
pub struct Stores {
    pub locks: Arc<dyn LockStore>,
    pub audit: Arc<dyn AuditStore>,
    pub properties: Arc<dyn PropertyStore>,
}

/// Where the server's state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    /// SQLite in this directory (the embedded default); several processes
    /// on one directory share it.
    Directory(PathBuf),
    /// A PostgreSQL database (a `postgres://` URL), which several hosts
    /// share.
    Postgres(String),
    /// This process's memory: gone when it exits (tests, throwaway servers).
    Memory,
}

/// What an acknowledged change survives (`--durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The process dying (`kill -9`, a crash): uploaded content is synced
    /// before it replaces the old, lock decisions are in the database's
    /// log before the answer; a power loss may take the last ones.
    Normal,
    /// A power loss too: the directory entries an upload, MKCOL, MOVE,
    /// COPY or DELETE changed are synced, and every lock decision's commit
    /// is synced (once for a group of concurrent ones) before the answer.
    Full,
}

/// Opens (creating if needed) the state at `location`: the one way the
/// server and the CLI reach it. PostgreSQL's durability is its own
/// (`synchronous_commit`), whatever `durability` says.
pub fn open(location: &StateLocation, durability: Durability) -> Result<Stores, StoreError> {
    match location {
        StateLocation::Directory(dir) => {
            let store = Arc::new(SqliteStore::open(dir, durability)?);
            Ok(Stores {
                locks: store.clone(),
                audit: store.clone(),
                properties: store,
            })
        }
        StateLocation::Postgres(url) => {
            let store = Arc::new(PostgresStore::open(url)?);
            Ok(Stores {
                locks: store.clone(),
                audit: store.clone(),
                properties: store,
            })
        }
        StateLocation::Memory => {
            let store = Arc::new(MemoryStore::default());
            Ok(Stores {
                locks: store.clone(),
                audit: store.clone(),
                properties: store,
            })
        }
    }
}

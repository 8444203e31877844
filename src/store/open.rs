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

/// Opens (creating if needed) the state at `location`: the one way the
/// server and the CLI reach it.
pub fn open(location: &StateLocation) -> Result<Stores, StoreError> {
    match location {
        StateLocation::Directory(dir) => {
            let store = Arc::new(SqliteStore::open(dir)?);
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

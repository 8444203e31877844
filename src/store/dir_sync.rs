//! Syncing directory entries under `--durability full`.
//!
//! Syncing a file makes its bytes durable, not its name: after a power
//! loss a file renamed into place, a new directory or a removal can be
//! undone unless the directory that holds the entry is synced as well.

use std::fs::File;
use std::io;
use std::path::Path;

use super::Durability;

/// Whether changed directories are synced.
#[derive(Debug, Clone, Copy)]
pub struct DirSync {
    enabled: bool,
}

impl DirSync {
    pub fn new(durability: Durability) -> Self {
        Self {
            enabled: durability == Durability::Full,
        }
    }

    /// Makes the entries of `dir` durable, when syncing is enabled.
    pub fn sync(&self, dir: &Path) -> io::Result<()> {
        match self.enabled {
            true => File::open(dir)?.sync_all(),
            false => Ok(()),
        }
    }

    /// Syncs the directory holding `path`.
    pub fn sync_parent(&self, path: &Path) -> io::Result<()> {
        match path.parent() {
            Some(dir) => self.sync(dir),
            None => Ok(()),
        }
    }
}

//! The htpasswd file as the server's source of users, re-read when it
//! changes (its modification time or size) or on SIGHUP, without a
//! restart. A file that does not load (a typo, a half-written copy) leaves
//! the users as they were, and says why in the log.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use super::{Users, UsersError};

/// The users of a server and the file they come from.
#[derive(Debug)]
pub struct UserFile {
    path: PathBuf,
    admins: Vec<String>,
    read_only: Vec<String>,
    anonymous_read: bool,
    current: RwLock<Arc<Users>>,
    /// Modification time and size of the file as last loaded.
    loaded: Mutex<Option<(SystemTime, u64)>>,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl UserFile {
    pub fn load(
        path: &Path,
        admins: &[String],
        read_only: &[String],
        anonymous_read: bool,
    ) -> Result<Self, UsersError> {
        let before = stamp(path);
        let users = Users::load(path, admins, read_only, anonymous_read)?;
        Ok(Self {
            path: path.to_owned(),
            admins: admins.to_vec(),
            read_only: read_only.to_vec(),
            anonymous_read,
            current: RwLock::new(Arc::new(users)),
            loaded: Mutex::new(before),
        })
    }

    /// The users now.
    pub fn users(&self) -> Arc<Users> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Re-reads the file if it changed since it was loaded (or, with
    /// `force`, in any case). `Ok(Some(n))`: now `n` users; `Ok(None)`:
    /// unchanged; `Err`: it does not load, and the users stay as they were.
    pub fn reload(&self, force: bool) -> Result<Option<usize>, UsersError> {
        let now = stamp(&self.path);
        {
            let loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
            if !force && *loaded == now {
                return Ok(None);
            }
        }
        // Remember the attempt even when it fails: a broken file is
        // reported once, not every few seconds, until it changes again.
        *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) = now;
        let users = Users::load(
            &self.path,
            &self.admins,
            &self.read_only,
            self.anonymous_read,
        )?;
        let count = users.len();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(users);
        Ok(Some(count))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

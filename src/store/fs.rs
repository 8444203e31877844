//! Content on the local filesystem, in the served directory's own layout.
//!
//! Two rules make it safe to serve: every path is resolved through
//! `FsStore::resolve`, which refuses reserved names and anything whose real
//! location (after symlinks) is outside the root; and a PUT goes to a
//! temporary file beside the target that is fsynced and renamed into place,
//! so a crash leaves the old or the new content, never a torn file.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::beneath::{Beneath, Opened, Purpose};
use super::dir_sync::DirSync;
use super::members::{Members, Screen};
use super::{
    ContentStore, CopyDepth, DirEntry, Durability, Meta, PendingWrite, Space, StoreError,
    TreeOutcome, ensure_permitted, stat,
};
use crate::authority::permit::WritePermit;
use crate::locks::ResourcePath;

/// Names starting with this are uploads in progress: never listed or served.
pub const TEMP_PREFIX: &str = ".deadbolt-tmp-";

/// The served directory.
#[derive(Debug, Clone)]
pub struct FsStore {
    /// Canonical (symlink-free) path of the served directory.
    root: PathBuf,
    /// Paths inside the root that belong to the server (the state directory).
    reserved: Vec<ResourcePath>,
    /// Reads open below the root's descriptor in one system call.
    beneath: Beneath,
    /// `--durability full`: directories synced after their entries change.
    dirs: DirSync,
}

impl FsStore {
    /// Serves `root` (which must exist), hiding `reserved` paths below it.
    pub fn new(
        root: &Path,
        reserved: Vec<ResourcePath>,
        durability: Durability,
    ) -> io::Result<Self> {
        let root = fs::canonicalize(root)?;
        Ok(Self {
            dirs: DirSync::new(durability),
            beneath: Beneath::new(&root)?,
            root,
            reserved,
        })
    }

    /// True for paths clients may never see: temporaries and server state.
    pub fn is_reserved(&self, path: &ResourcePath) -> bool {
        path.segments().iter().any(|s| s.starts_with(TEMP_PREFIX))
            || self.reserved.iter().any(|r| path.starts_with(r))
    }

    /// Opens `path` to read it or its metadata: beneath the root in one
    /// system call where the kernel can, else through `resolve`.
    fn open_below(
        &self,
        path: &ResourcePath,
        purpose: Purpose,
    ) -> Result<Option<File>, StoreError> {
        if self.is_reserved(path) {
            return Err(StoreError::Reserved(path.clone()));
        }
        match self.beneath.open(path, purpose) {
            Opened::File(file) => Ok(Some(file)),
            Opened::Failed(e) => Err(StoreError::io(path, e)),
            Opened::Undecided => Ok(None),
        }
    }

    /// The filesystem path for `path`, refusing reserved names and symlinks
    /// that lead out of the root.
    fn resolve(&self, path: &ResourcePath) -> Result<PathBuf, StoreError> {
        if self.is_reserved(path) {
            return Err(StoreError::Reserved(path.clone()));
        }
        let mut full = self.root.clone();
        full.extend(path.segments());
        // The deepest existing ancestor decides where the path really leads.
        let mut probe = full.as_path();
        loop {
            match fs::canonicalize(probe) {
                Ok(real) if self.reserved_real(&real) => {
                    return Err(StoreError::Reserved(path.clone()));
                }
                Ok(real) if real.starts_with(&self.root) => return Ok(full),
                Ok(_) => return Err(StoreError::OutsideRoot(path.clone())),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                    ) =>
                {
                    match probe.parent() {
                        Some(parent) if parent.starts_with(&self.root) => probe = parent,
                        _ => return Err(StoreError::OutsideRoot(path.clone())),
                    }
                }
                Err(e) => return Err(StoreError::io(path, e)),
            }
        }
    }

    /// Checks that a member found while walking a tree may be served.
    fn member_is_visible(&self, full: &Path, member: &ResourcePath, is_symlink: bool) -> bool {
        if self.is_reserved(member) {
            return false;
        }
        !is_symlink
            || fs::canonicalize(full)
                .is_ok_and(|real| real.starts_with(&self.root) && !self.reserved_real(&real))
    }

    /// Whether a real (symlink-free) location is a reserved path or below
    /// one: a symlink in the tree must not lead into the state directory.
    fn reserved_real(&self, real: &Path) -> bool {
        self.reserved.iter().any(|r| {
            let mut location = self.root.clone();
            location.extend(r.segments());
            real.starts_with(location)
        })
    }

    fn parent_dir(&self, path: &ResourcePath) -> Result<PathBuf, StoreError> {
        let parent = path
            .parent()
            .ok_or_else(|| StoreError::Reserved(path.clone()))?;
        let dir = self.resolve(&parent)?;
        match fs::metadata(&dir) {
            Ok(m) if m.is_dir() => Ok(dir),
            Ok(_) => Err(StoreError::ParentMissing(path.clone())),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                Err(StoreError::ParentMissing(path.clone()))
            }
            Err(e) => Err(StoreError::io(path, e)),
        }
    }

    fn remove_tree(&self, dir: &Path, path: &ResourcePath, outcome: &mut TreeOutcome) -> bool {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                outcome.failed.push((path.clone(), StoreError::io(path, e)));
                return false;
            }
        };
        let mut all_removed = true;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(member) = path.join(name) else {
                continue;
            };
            let full = entry.path();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            let removed = if is_dir {
                self.remove_tree(&full, &member, outcome)
            } else {
                match fs::remove_file(&full) {
                    Ok(()) => {
                        outcome.done.push(member);
                        true
                    }
                    Err(e) => {
                        outcome
                            .failed
                            .push((member.clone(), StoreError::io(&member, e)));
                        false
                    }
                }
            };
            all_removed &= removed;
        }
        // A member that stayed keeps its ancestors; only the member is reported.
        if !all_removed {
            return false;
        }
        match fs::remove_dir(dir) {
            Ok(()) => {
                outcome.done.push(path.clone());
                true
            }
            Err(e) => {
                outcome.failed.push((path.clone(), StoreError::io(path, e)));
                false
            }
        }
    }

    fn copy_tree(
        &self,
        src: &Path,
        dst: &Path,
        to: &ResourcePath,
        depth: CopyDepth,
        outcome: &mut TreeOutcome,
    ) {
        if let Err(e) = fs::create_dir(dst) {
            outcome.failed.push((to.clone(), StoreError::io(to, e)));
            return;
        }
        outcome.done.push(to.clone());
        if depth == CopyDepth::ResourceOnly {
            return;
        }
        let entries = match fs::read_dir(src) {
            Ok(entries) => entries,
            Err(e) => {
                outcome.failed.push((to.clone(), StoreError::io(to, e)));
                return;
            }
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Ok(member) = to.join(name.clone()) else {
                continue;
            };
            let full = entry.path();
            let is_symlink = entry.file_type().is_ok_and(|t| t.is_symlink());
            if !self.member_is_visible(&full, &member, is_symlink) {
                continue;
            }
            let target = dst.join(&name);
            match fs::metadata(&full) {
                Ok(m) if m.is_dir() => self.copy_tree(&full, &target, &member, depth, outcome),
                Ok(_) => match copy_file_atomically(&full, &target) {
                    Ok(()) => outcome.done.push(member),
                    Err(e) => outcome
                        .failed
                        .push((member.clone(), StoreError::io(&member, e))),
                },
                Err(e) => outcome
                    .failed
                    .push((member.clone(), StoreError::io(&member, e))),
            }
        }
        if let Err(e) = self.dirs.sync(dst) {
            outcome.failed.push((to.clone(), StoreError::io(to, e)));
        }
    }
}

impl Screen for FsStore {
    fn is_reserved(&self, path: &ResourcePath) -> bool {
        FsStore::is_reserved(self, path)
    }

    /// Where the member leads, checked the slow way.
    fn linked_member(&self, member: &ResourcePath) -> Option<Meta> {
        let mut full = self.root.clone();
        full.extend(member.segments());
        if !self.member_is_visible(&full, member, true) {
            return None;
        }
        fs::metadata(&full).ok().map(|m| stat::from_metadata(&m))
    }
}

fn temp_path_beside(dir: &Path) -> PathBuf {
    dir.join(format!("{TEMP_PREFIX}{}", uuid::Uuid::new_v4().simple()))
}

/// Copies through a temporary so the destination appears whole or not at all.
fn copy_file_atomically(src: &Path, dst: &Path) -> io::Result<()> {
    let dir = dst.parent().unwrap_or(Path::new("/"));
    let temp = temp_path_beside(dir);
    let result = fs::copy(src, &temp)
        .and_then(|_| File::open(&temp)?.sync_all())
        .and_then(|()| fs::rename(&temp, dst));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

impl ContentStore for FsStore {
    fn metadata(&self, path: &ResourcePath) -> Result<Meta, StoreError> {
        let meta = match self.open_below(path, Purpose::Metadata)? {
            Some(file) => file.metadata(),
            None => fs::metadata(self.resolve(path)?),
        };
        meta.map(|m| stat::from_metadata(&m))
            .map_err(|e| StoreError::io(path, e))
    }

    fn set_modified(
        &self,
        permit: &WritePermit,
        path: &ResourcePath,
        at: std::time::SystemTime,
    ) -> Result<(), StoreError> {
        ensure_permitted(permit, path)?;
        let full = self.resolve(path)?;
        // A directory opens read-only; setting times needs no write access.
        File::open(&full)
            .and_then(|f| f.set_modified(at))
            .map_err(|e| StoreError::io(path, e))
    }

    fn space(&self, path: &ResourcePath) -> Result<Space, StoreError> {
        let full = self.resolve(path)?;
        let stats = rustix::fs::statvfs(&full).map_err(|e| StoreError::io(path, e.into()))?;
        let block = stats.f_frsize;
        Ok(Space {
            available: stats.f_bavail.saturating_mul(block),
            used: stats
                .f_blocks
                .saturating_sub(stats.f_bfree)
                .saturating_mul(block),
        })
    }

    fn members(
        &self,
        path: &ResourcePath,
    ) -> Result<Box<dyn Iterator<Item = DirEntry> + Send>, StoreError> {
        let dir = match self.open_below(path, Purpose::Read)? {
            Some(dir) => dir,
            None => File::open(self.resolve(path)?).map_err(|e| StoreError::io(path, e))?,
        };
        let dir = rustix::fs::Dir::new(dir).map_err(|e| StoreError::io(path, e.into()))?;
        Ok(Box::new(Members::new(dir, self.clone(), path.clone())))
    }

    fn open(&self, path: &ResourcePath) -> Result<(File, Meta), StoreError> {
        let file = match self.open_below(path, Purpose::Read)? {
            Some(file) => file,
            None => File::options()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(self.resolve(path)?)
                .map_err(|e| StoreError::io(path, e))?,
        };
        let meta = file.metadata().map_err(|e| StoreError::io(path, e))?;
        Ok((file, stat::from_metadata(&meta)))
    }

    fn begin_write(
        &self,
        permit: &WritePermit,
        path: &ResourcePath,
    ) -> Result<Box<dyn PendingWrite>, StoreError> {
        ensure_permitted(permit, path)?;
        let dir = self.parent_dir(path)?;
        let target = self.resolve(path)?;
        let existing = match fs::metadata(&target) {
            Ok(m) if m.is_dir() => return Err(StoreError::IsCollection(path.clone())),
            Ok(m) => Some(m.permissions()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(StoreError::io(path, e)),
        };
        let temp = temp_path_beside(&dir);
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| StoreError::io(path, e))?;
        let replaces_existing = existing.is_some();
        let dirs = self.dirs;
        if let Some(permissions) = existing {
            // Editing a file keeps its mode.
            let _ = file.set_permissions(permissions);
        }
        Ok(Box::new(FsPendingWrite {
            replaces_existing,
            file: Some(file),
            temp,
            target,
            path: path.clone(),
            dirs,
        }))
    }

    fn create_collection(
        &self,
        permit: &WritePermit,
        path: &ResourcePath,
    ) -> Result<(), StoreError> {
        ensure_permitted(permit, path)?;
        self.parent_dir(path)?;
        let full = self.resolve(path)?;
        fs::create_dir(&full).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => StoreError::AlreadyExists(path.clone()),
            _ => StoreError::io(path, e),
        })?;
        self.dirs
            .sync_parent(&full)
            .map_err(|e| StoreError::io(path, e))
    }

    fn remove(&self, permit: &WritePermit, path: &ResourcePath) -> TreeOutcome {
        let mut outcome = TreeOutcome::default();
        let full = match ensure_permitted(permit, path).and_then(|()| self.resolve(path)) {
            Ok(full) => full,
            Err(e) => {
                outcome.failed.push((path.clone(), e));
                return outcome;
            }
        };
        match fs::symlink_metadata(&full) {
            Ok(m) if m.is_dir() => {
                self.remove_tree(&full, path, &mut outcome);
            }
            Ok(_) => match fs::remove_file(&full) {
                Ok(()) => outcome.done.push(path.clone()),
                Err(e) => outcome.failed.push((path.clone(), StoreError::io(path, e))),
            },
            Err(e) => outcome.failed.push((path.clone(), StoreError::io(path, e))),
        }
        if let Err(e) = self.dirs.sync_parent(&full) {
            outcome.failed.push((path.clone(), StoreError::io(path, e)));
        }
        outcome
    }

    fn copy(
        &self,
        permit: &WritePermit,
        from: &ResourcePath,
        to: &ResourcePath,
        depth: CopyDepth,
    ) -> TreeOutcome {
        let mut outcome = TreeOutcome::default();
        let resolved = ensure_permitted(permit, to)
            .and_then(|()| self.parent_dir(to))
            .and_then(|_| Ok((self.resolve(from)?, self.resolve(to)?)));
        let (src, dst) = match resolved {
            Ok(pair) => pair,
            Err(e) => {
                outcome.failed.push((to.clone(), e));
                return outcome;
            }
        };
        match fs::metadata(&src) {
            Ok(m) if m.is_dir() => self.copy_tree(&src, &dst, to, depth, &mut outcome),
            Ok(_) => match copy_file_atomically(&src, &dst) {
                Ok(()) => outcome.done.push(to.clone()),
                Err(e) => outcome.failed.push((to.clone(), StoreError::io(to, e))),
            },
            Err(e) => outcome.failed.push((from.clone(), StoreError::io(from, e))),
        }
        if let Err(e) = self.dirs.sync_parent(&dst) {
            outcome.failed.push((to.clone(), StoreError::io(to, e)));
        }
        outcome
    }

    fn rename(
        &self,
        permit: &WritePermit,
        from: &ResourcePath,
        to: &ResourcePath,
    ) -> Result<(), StoreError> {
        ensure_permitted(permit, from)?;
        ensure_permitted(permit, to)?;
        self.parent_dir(to)?;
        let src = self.resolve(from)?;
        let dst = self.resolve(to)?;
        fs::rename(&src, &dst).map_err(|e| StoreError::io(from, e))?;
        // The new name first: until the old one's removal is durable too,
        // a power loss leaves both, never neither.
        self.dirs
            .sync_parent(&dst)
            .map_err(|e| StoreError::io(to, e))?;
        if src.parent() != dst.parent() {
            self.dirs
                .sync_parent(&src)
                .map_err(|e| StoreError::io(from, e))?;
        }
        Ok(())
    }
}

/// A PUT in progress (see `PendingWrite`).
struct FsPendingWrite {
    replaces_existing: bool,
    file: Option<File>,
    temp: PathBuf,
    target: PathBuf,
    path: ResourcePath,
    dirs: DirSync,
}

impl PendingWrite for FsPendingWrite {
    fn replaces_existing(&self) -> bool {
        self.replaces_existing
    }

    fn write_chunk(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        match self.file.as_mut() {
            Some(file) => file
                .write_all(bytes)
                .map_err(|e| StoreError::io(&self.path, e)),
            None => Err(StoreError::NotFound(self.path.clone())),
        }
    }

    fn set_modified(&mut self, at: std::time::SystemTime) -> Result<(), StoreError> {
        match self.file.as_mut() {
            Some(file) => file
                .set_modified(at)
                .map_err(|e| StoreError::io(&self.path, e)),
            None => Err(StoreError::NotFound(self.path.clone())),
        }
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let file = self
            .file
            .take()
            .ok_or_else(|| StoreError::NotFound(self.path.clone()))?;
        // fsync before rename: after a crash the target holds old or new bytes.
        file.sync_all().map_err(|e| StoreError::io(&self.path, e))?;
        drop(file);
        fs::rename(&self.temp, &self.target).map_err(|e| StoreError::io(&self.path, e))?;
        self.dirs
            .sync_parent(&self.target)
            .map_err(|e| StoreError::io(&self.path, e))
    }
}

impl Drop for FsPendingWrite {
    fn drop(&mut self) {
        // Still holding the file means commit never ran (or failed before the
        // rename): the temporary must not linger.
        if self.file.is_some() || self.temp.exists() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
#[path = "fs_tests.rs"]
mod tests;

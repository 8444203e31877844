//! Listing a directory: entries read from one descriptor, each statted
//! relative to it. A member costs a one-component lookup instead of a walk
//! from `/` down to it; PROPFIND Depth 1 of a big collection is mostly this.

use rustix::fs::{AtFlags, Dir, statx};
use rustix::io::Errno;

use super::{DirEntry, Meta, stat};
use crate::locks::ResourcePath;

/// What a listing asks of the store whose directory it reads.
pub(super) trait Screen: Send {
    /// True for paths clients may never see.
    fn is_reserved(&self, path: &ResourcePath) -> bool;
    /// The metadata of a member that is a symlink (or that `statx` could
    /// not read), if it may be served.
    fn linked_member(&self, path: &ResourcePath) -> Option<Meta>;
}

pub(super) struct Members<S> {
    dir: Dir,
    store: S,
    parent: ResourcePath,
}

impl<S: Screen> Members<S> {
    pub(super) fn new(dir: Dir, store: S, parent: ResourcePath) -> Self {
        Self { dir, store, parent }
    }

    /// The member called `name`, if it may be served.
    fn member(&self, name: &str) -> Option<DirEntry> {
        let path = self.parent.join(name).ok()?;
        if self.store.is_reserved(&path) {
            return None;
        }
        let fd = self.dir.fd().ok()?;
        // Not following symlinks: one is served only where it leads inside
        // the root and outside its reserved paths, which the slow way checks.
        let meta = match statx(fd, name, AtFlags::SYMLINK_NOFOLLOW, stat::wanted()) {
            Ok(s) if !stat::is_symlink(&s) => stat::from_statx(&s),
            // Gone since the directory was read.
            Err(Errno::NOENT) => return None,
            // A symlink, or a kernel without `statx`.
            _ => self.store.linked_member(&path)?,
        };
        Some(DirEntry { path, meta })
    }
}

impl<S: Screen> Iterator for Members<S> {
    type Item = DirEntry;

    fn next(&mut self) -> Option<DirEntry> {
        loop {
            // A directory that cannot be read further ends the listing.
            let entry = self.dir.read()?.ok()?;
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if name == "." || name == ".." {
                continue;
            }
            if let Some(member) = self.member(name) {
                return Some(member);
            }
        }
    }
}

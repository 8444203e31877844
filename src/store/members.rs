//! Listing a directory: entries read from one descriptor, each statted
//! relative to it. A member costs a one-component lookup instead of a walk
//! from `/` down to it; PROPFIND Depth 1 of a big collection is mostly this.

use rustix::fs::{AtFlags, Dir, statx};
use rustix::io::Errno;

use super::fs::FsStore;
use super::{DirEntry, stat};
use crate::locks::ResourcePath;

pub(super) struct Members {
    dir: Dir,
    store: FsStore,
    parent: ResourcePath,
}

impl Members {
    pub(super) fn new(dir: Dir, store: FsStore, parent: ResourcePath) -> Self {
        Self { dir, store, parent }
    }

    /// The member called `name`, if it may be served.
    fn member(&self, name: &str) -> Option<DirEntry> {
        let path = self.parent.join(name.to_owned()).ok()?;
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
        Some(DirEntry {
            name: name.to_owned(),
            meta,
        })
    }
}

impl Iterator for Members {
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
            let name = name.to_owned();
            if let Some(member) = self.member(&name) {
                return Some(member);
            }
        }
    }
}

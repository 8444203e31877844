//! Opening a path below the served directory in one system call.
//!
//! `openat2` with `RESOLVE_BENEATH` on a descriptor of the root resolves
//! every component, symlinks included, and refuses to leave the root while
//! doing it: no `canonicalize` (a `readlink` per component) before each
//! open, and no window between the check and the use. Paths with a
//! symlink on the way are left to the slow way (which also keeps symlinks
//! out of the reserved paths), as are old kernels (before 5.6) and seccomp
//! filters that refuse the call itself.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::locks::ResourcePath;

/// A descriptor of the root, and whether the kernel has `openat2`.
#[derive(Debug, Clone)]
pub struct Beneath {
    root: Arc<OwnedFd>,
    available: Arc<AtomicBool>,
}

/// What an open below the root came to.
pub enum Opened {
    File(File),
    /// The kernel did not resolve it (a symlink on the way, or no
    /// `openat2`): ask the slow way.
    Undecided,
    Failed(io::Error),
}

/// How a path is opened.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    /// For reading its content (a file) or members (a directory).
    Read,
    /// Only to read its metadata: needs no read permission.
    Metadata,
}

impl Beneath {
    pub fn new(root: &Path) -> io::Result<Self> {
        let root = rustix::fs::open(
            root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Self {
            root: Arc::new(root),
            available: Arc::new(AtomicBool::new(true)),
        })
    }

    /// Opens `path` (already checked against reserved names) below the root.
    pub fn open(&self, path: &ResourcePath, purpose: Purpose) -> Opened {
        if !self.available.load(Ordering::Relaxed) {
            return Opened::Undecided;
        }
        let relative = match path.segments() {
            [] => ".".to_owned(),
            segments => segments.join("/"),
        };
        let flags = match purpose {
            // Non-blocking: a FIFO under the root must not stall the
            // request's thread in `open` (regular files ignore the flag).
            Purpose::Read => OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Purpose::Metadata => OFlags::PATH | OFlags::CLOEXEC,
        };
        // No symlinks either: one could lead into a reserved path (the
        // state directory) under the root, which only the slow way checks.
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS;
        match rustix::fs::openat2(
            &*self.root,
            relative.as_str(),
            flags,
            Mode::empty(),
            resolve,
        ) {
            Ok(fd) => Opened::File(File::from(fd)),
            // XDEV: it would leave the root; LOOP: a symlink on the way.
            Err(rustix::io::Errno::XDEV | rustix::io::Errno::LOOP) => Opened::Undecided,
            Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => {
                // Not this kernel, or a sandbox that forbids it: from now
                // on every open takes the slow way.
                self.available.store(false, Ordering::Relaxed);
                Opened::Undecided
            }
            Err(e) => Opened::Failed(e.into()),
        }
    }
}

//! Tests of the served directory's store (`fs.rs`).
use super::*;
use crate::locks::{Reach, WriteIntent};

fn p(segments: &[&str]) -> ResourcePath {
    ResourcePath::from_segments(segments.iter().copied()).unwrap()
}

fn permit_all() -> WritePermit {
    WritePermit::unchecked(WriteIntent::new().touches(&ResourcePath::root(), Reach::Subtree))
}

#[test]
fn aborted_write_leaves_old_content_and_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("f.txt"), b"old").unwrap();
    let store = FsStore::new(dir.path(), vec![], Durability::Full).unwrap();
    let mut pending = store.begin_write(&permit_all(), &p(&["f.txt"])).unwrap();
    pending.write_chunk(b"half of the new").unwrap();
    drop(pending);
    assert_eq!(fs::read(dir.path().join("f.txt")).unwrap(), b"old");
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temporary removed"
    );
}

#[test]
fn committed_write_replaces_content() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path(), vec![], Durability::Full).unwrap();
    let mut pending = store.begin_write(&permit_all(), &p(&["f.txt"])).unwrap();
    pending.write_chunk(b"new").unwrap();
    pending.commit().unwrap();
    assert_eq!(fs::read(dir.path().join("f.txt")).unwrap(), b"new");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn permit_that_does_not_cover_the_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path(), vec![], Durability::Full).unwrap();
    let permit = WritePermit::unchecked(WriteIntent::new().touches(&p(&["a"]), Reach::Resource));
    let err = store.create_collection(&permit, &p(&["b"])).unwrap_err();
    assert!(matches!(err, StoreError::NotPermitted(_)), "{err:?}");
    assert!(!dir.path().join("b").exists());
}

#[test]
fn symlink_out_of_root_is_not_resolved_nor_listed() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), b"s").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).unwrap();
    let store = FsStore::new(dir.path(), vec![], Durability::Full).unwrap();
    let err = store.metadata(&p(&["out", "secret"])).unwrap_err();
    assert!(matches!(err, StoreError::OutsideRoot(_)), "{err:?}");
    assert_eq!(store.members(&ResourcePath::root()).unwrap().count(), 0);
}

#[test]
fn reserved_paths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path(), vec![p(&[".deadbolt"])], Durability::Normal).unwrap();
    assert!(matches!(
        store.metadata(&p(&[".deadbolt", "db"])),
        Err(StoreError::Reserved(_))
    ));
    assert!(matches!(
        store.metadata(&p(&[".deadbolt-tmp-x"])),
        Err(StoreError::Reserved(_))
    ));
}

/// Opening runs on the request's task: a FIFO under the root (made by
/// someone on the machine) must not stall it until a writer appears.
#[test]
fn opening_a_fifo_does_not_block() {
    let dir = tempfile::tempdir().unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    let store = FsStore::new(dir.path(), vec![], Durability::Normal).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let opened = store.open(&p(&["pipe"])).map(|(_, meta)| meta.len);
        let _ = tx.send(opened.map_err(|e| e.to_string()));
    });
    let opened = rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("open must return at once, not wait for a writer");
    assert_eq!(opened, Ok(0), "a FIFO opens, with nothing to read");
}

/// A symlink in the tree that leads into a reserved path (the state
/// directory under the root) is neither served nor listed.
#[test]
fn symlink_into_a_reserved_path_is_not_resolved_nor_listed() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join(".deadbolt")).unwrap();
    fs::write(dir.path().join(".deadbolt/deadbolt.sqlite3"), b"state").unwrap();
    std::os::unix::fs::symlink(".deadbolt", dir.path().join("peek")).unwrap();
    std::os::unix::fs::symlink(
        dir.path().join(".deadbolt/deadbolt.sqlite3"),
        dir.path().join("db"),
    )
    .unwrap();
    fs::write(dir.path().join("plain.txt"), b"ok").unwrap();
    let store = FsStore::new(dir.path(), vec![p(&[".deadbolt"])], Durability::Normal).unwrap();
    for path in [p(&["peek", "deadbolt.sqlite3"]), p(&["db"]), p(&["peek"])] {
        let err = store.open(&path).map(|_| ()).unwrap_err();
        assert!(matches!(err, StoreError::Reserved(_)), "{path}: {err:?}");
        let err = store.metadata(&path).map(|_| ()).unwrap_err();
        assert!(matches!(err, StoreError::Reserved(_)), "{path}: {err:?}");
    }
    let listed: Vec<String> = store
        .members(&ResourcePath::root())
        .unwrap()
        .map(|m| m.name().to_owned())
        .collect();
    assert_eq!(listed, vec!["plain.txt".to_owned()]);
    assert!(store.open(&p(&["plain.txt"])).is_ok());
}

/// A listing stats each member relative to its directory, `metadata` and
/// `open` by other calls: all three describe a member alike, entity tag
/// included, and a symlink that stays inside the root is listed as what it
/// leads to.
#[test]
fn a_listing_describes_members_as_metadata_and_open_do() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("docs")).unwrap();
    fs::write(dir.path().join("docs/a.txt"), b"some text").unwrap();
    fs::create_dir(dir.path().join("docs/sub")).unwrap();
    std::os::unix::fs::symlink("a.txt", dir.path().join("docs/link")).unwrap();
    let store = FsStore::new(dir.path(), vec![], Durability::Normal).unwrap();
    let mut listed: Vec<DirEntry> = store.members(&p(&["docs"])).unwrap().collect();
    listed.sort_by(|a, b| a.name().cmp(b.name()));
    let names: Vec<&str> = listed.iter().map(|m| m.name()).collect();
    assert_eq!(names, ["a.txt", "link", "sub"]);
    for member in &listed {
        let path = p(&["docs", member.name()]);
        assert_eq!(
            member.meta,
            store.metadata(&path).unwrap(),
            "{}",
            member.name()
        );
        if !member.meta.is_collection() {
            assert_eq!(
                member.meta,
                store.open(&path).unwrap().1,
                "{}",
                member.name()
            );
        }
    }
    assert_eq!(listed[1].meta, listed[0].meta, "the link is its target");
    assert_eq!(listed[0].meta.len, 9);
    assert!(listed[2].meta.is_collection());
}

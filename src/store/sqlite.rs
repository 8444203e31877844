//! Dead properties in SQLite (bundled), WAL mode, in the state directory.
//!
//! A tree is the rows whose path is the tree's key or starts with `key/`,
//! queried as a range (`key/` <= path < `key0`, since '0' follows '/'), so
//! tree operations use the primary key index instead of scanning.

use std::path::Path;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::params;

use super::{
    CopyDepth, DeadProperty, PatchOp, PropertyName, PropertyStore, StoreError, ensure_permitted,
};
use crate::locks::{ResourcePath, WritePermit};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS dead_property (
    path      TEXT NOT NULL,
    namespace TEXT NOT NULL,
    local     TEXT NOT NULL,
    xml       TEXT NOT NULL,
    PRIMARY KEY (path, namespace, local)
) WITHOUT ROWID;
";

/// The state database file inside the state directory.
pub const DATABASE_FILE: &str = "deadbolt.sqlite3";

pub struct SqlitePropertyStore {
    pool: r2d2::Pool<SqliteConnectionManager>,
}

impl SqlitePropertyStore {
    /// Opens (creating if needed) the database in `state_dir`.
    pub fn open(state_dir: &Path) -> Result<Self, StoreError> {
        let manager = SqliteConnectionManager::file(state_dir.join(DATABASE_FILE)).with_init(|c| {
            // NORMAL in WAL mode: a commit survives the process dying (kill -9);
            // only a power loss may take the last transactions.
            c.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;",
            )
        });
        let pool = r2d2::Pool::builder().max_size(8).build(manager)?;
        pool.get()?.execute_batch(SCHEMA)?;
        Ok(Self { pool })
    }
}

/// The key prefix that members of `path` start with (`""` for the root).
fn member_prefix(path: &ResourcePath) -> String {
    if path.is_root() {
        String::new()
    } else {
        path.key()
    }
}

/// Bounds of the member range of `path`: `[prefix/, prefix0)`.
fn member_range(path: &ResourcePath) -> (String, String) {
    let prefix = member_prefix(path);
    (format!("{prefix}/"), format!("{prefix}0"))
}

const IN_TREE: &str = "(path = ?1 OR (path >= ?2 AND path < ?3))";

impl PropertyStore for SqlitePropertyStore {
    fn all(&self, path: &ResourcePath) -> Result<Vec<DeadProperty>, StoreError> {
        let conn = self.pool.get()?;
        let mut stmt = conn.prepare_cached(
            "SELECT namespace, local, xml FROM dead_property WHERE path = ?1 ORDER BY namespace, local",
        )?;
        let rows = stmt.query_map([path.key()], |row| {
            Ok(DeadProperty {
                name: PropertyName::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?),
                xml: row.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn patch(
        &self,
        permit: &WritePermit,
        path: &ResourcePath,
        ops: &[PatchOp],
    ) -> Result<(), StoreError> {
        ensure_permitted(permit, path)?;
        let mut conn = self.pool.get()?;
        let tx = conn.transaction()?;
        let key = path.key();
        for op in ops {
            match op {
                PatchOp::Set(prop) => {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO dead_property (path, namespace, local, xml) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![key, prop.name.namespace, prop.name.local, prop.xml])?;
                }
                PatchOp::Remove(name) => {
                    tx.prepare_cached(
                        "DELETE FROM dead_property WHERE path = ?1 AND namespace = ?2 AND local = ?3",
                    )?
                    .execute(params![key, name.namespace, name.local])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn copy(
        &self,
        permit: &WritePermit,
        from: &ResourcePath,
        to: &ResourcePath,
        depth: CopyDepth,
    ) -> Result<(), StoreError> {
        ensure_permitted(permit, to)?;
        let conn = self.pool.get()?;
        let (lo, hi) = member_range(from);
        // Rows of the root itself and, for a tree copy, of every member.
        let (lo, hi) = match depth {
            CopyDepth::Tree => (lo, hi),
            CopyDepth::ResourceOnly => (String::new(), String::new()),
        };
        conn.prepare_cached(&format!(
            "INSERT OR REPLACE INTO dead_property (path, namespace, local, xml)
             SELECT ?4 || substr(path, length(?5) + 1), namespace, local, xml
             FROM dead_property WHERE {IN_TREE}"
        ))?
        .execute(params![
            from.key(),
            lo,
            hi,
            member_prefix(to),
            member_prefix(from)
        ])?;
        Ok(())
    }

    fn rename(
        &self,
        permit: &WritePermit,
        from: &ResourcePath,
        to: &ResourcePath,
    ) -> Result<(), StoreError> {
        ensure_permitted(permit, from)?;
        ensure_permitted(permit, to)?;
        let conn = self.pool.get()?;
        let (lo, hi) = member_range(from);
        conn.prepare_cached(&format!(
            "UPDATE OR REPLACE dead_property SET path = ?4 || substr(path, length(?5) + 1) WHERE {IN_TREE}"
        ))?
        .execute(params![from.key(), lo, hi, member_prefix(to), member_prefix(from)])?;
        Ok(())
    }

    fn forget(&self, permit: &WritePermit, paths: &[ResourcePath]) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        let tx = conn.transaction()?;
        for path in paths {
            ensure_permitted(permit, path)?;
            tx.prepare_cached("DELETE FROM dead_property WHERE path = ?1")?
                .execute([path.key()])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn forget_tree(&self, permit: &WritePermit, path: &ResourcePath) -> Result<(), StoreError> {
        ensure_permitted(permit, path)?;
        let conn = self.pool.get()?;
        let (lo, hi) = member_range(path);
        conn.prepare_cached(&format!("DELETE FROM dead_property WHERE {IN_TREE}"))?
            .execute(params![path.key(), lo, hi])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locks::{LockManager, Reach, WriteIntent};

    fn p(segments: &[&str]) -> ResourcePath {
        ResourcePath::from_segments(segments.iter().copied()).unwrap()
    }

    fn permit_all() -> WritePermit {
        LockManager::new()
            .check_write(WriteIntent::new().touches(&ResourcePath::root(), Reach::Subtree))
            .unwrap()
    }

    fn prop(local: &str, value: &str) -> DeadProperty {
        DeadProperty {
            name: PropertyName::new("urn:x", local),
            xml: format!("<x:{local} xmlns:x=\"urn:x\">{value}</x:{local}>"),
        }
    }

    fn locals(store: &SqlitePropertyStore, path: &ResourcePath) -> Vec<String> {
        store
            .all(path)
            .unwrap()
            .into_iter()
            .map(|p| p.name.local)
            .collect()
    }

    #[test]
    fn patch_applies_in_document_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlitePropertyStore::open(dir.path()).unwrap();
        let a = p(&["a"]);
        let ops = [
            PatchOp::Set(prop("one", "1")),
            PatchOp::Remove(PropertyName::new("urn:x", "one")),
            PatchOp::Set(prop("two", "2")),
        ];
        store.patch(&permit_all(), &a, &ops).unwrap();
        assert_eq!(locals(&store, &a), ["two"]);
    }

    #[test]
    fn tree_operations_touch_members_but_not_lookalike_siblings() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlitePropertyStore::open(dir.path()).unwrap();
        let permit = permit_all();
        for path in [p(&["a"]), p(&["a", "b"]), p(&["a-b"]), p(&["ab"])] {
            store
                .patch(&permit, &path, &[PatchOp::Set(prop("k", "v"))])
                .unwrap();
        }
        store
            .copy(&permit, &p(&["a"]), &p(&["c"]), CopyDepth::Tree)
            .unwrap();
        assert_eq!(locals(&store, &p(&["c", "b"])), ["k"]);
        store
            .copy(&permit, &p(&["a"]), &p(&["d"]), CopyDepth::ResourceOnly)
            .unwrap();
        assert_eq!(locals(&store, &p(&["d"])), ["k"]);
        assert!(locals(&store, &p(&["d", "b"])).is_empty());

        store.rename(&permit, &p(&["a"]), &p(&["m"])).unwrap();
        assert!(locals(&store, &p(&["a", "b"])).is_empty());
        assert_eq!(locals(&store, &p(&["m", "b"])), ["k"]);
        assert_eq!(locals(&store, &p(&["a-b"])), ["k"]);

        store.forget_tree(&permit, &p(&["m"])).unwrap();
        assert!(locals(&store, &p(&["m"])).is_empty());
        assert!(locals(&store, &p(&["m", "b"])).is_empty());
        assert_eq!(locals(&store, &p(&["ab"])), ["k"]);
    }

    #[test]
    fn properties_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let a = p(&["a"]);
        {
            let store = SqlitePropertyStore::open(dir.path()).unwrap();
            store
                .patch(&permit_all(), &a, &[PatchOp::Set(prop("k", "v"))])
                .unwrap();
        }
        let store = SqlitePropertyStore::open(dir.path()).unwrap();
        assert_eq!(store.all(&a).unwrap(), vec![prop("k", "v")]);
    }
}

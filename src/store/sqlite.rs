//! Dead properties in SQLite (bundled), WAL mode, in the state directory.
//!
//! A tree is the rows whose path is the tree's key or starts with `key/`,
//! queried as a range (`key/` <= path < `key0`, since '0' follows '/'), so
//! tree operations use the primary key index instead of scanning.

use std::path::Path;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::params;

use super::{
    CopyDepth, DeadProperty, LockStore, PatchOp, PropertyName, PropertyStore, StoreError,
    ensure_permitted,
};
use crate::locks::{
    ActiveLock, LockDepth, LockScope, LockToken, ResourcePath, Timestamp, WritePermit,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS dead_property (
    path      TEXT NOT NULL,
    namespace TEXT NOT NULL,
    local     TEXT NOT NULL,
    xml       TEXT NOT NULL,
    PRIMARY KEY (path, namespace, local)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS active_lock (
    token           TEXT PRIMARY KEY,
    root            TEXT NOT NULL,
    scope           TEXT NOT NULL CHECK (scope IN ('exclusive', 'shared')),
    depth           TEXT NOT NULL CHECK (depth IN ('0', 'infinity')),
    owner           TEXT,
    principal       TEXT,
    timeout_seconds INTEGER NOT NULL,
    created_ms      INTEGER NOT NULL,
    expires_ms      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS active_lock_root ON active_lock (root);
";

/// The state database file inside the state directory.
pub const DATABASE_FILE: &str = "deadbolt.sqlite3";

pub struct SqliteStore {
    pool: r2d2::Pool<SqliteConnectionManager>,
}

impl SqliteStore {
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

impl PropertyStore for SqliteStore {
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

fn path_from_key(key: &str) -> Result<ResourcePath, StoreError> {
    ResourcePath::from_segments(key.split('/').filter(|s| !s.is_empty()))
        .map_err(|e| StoreError::Database(format!("stored lock root {key:?} is invalid: {e}")))
}

fn millis(t: Timestamp) -> i64 {
    i64::try_from(t.0).unwrap_or(i64::MAX)
}

impl LockStore for SqliteStore {
    fn load(&self) -> Result<Vec<ActiveLock>, StoreError> {
        let conn = self.pool.get()?;
        let mut stmt = conn.prepare(
            "SELECT token, root, scope, depth, owner, principal, timeout_seconds, created_ms, expires_ms
             FROM active_lock",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, Option<String>>(5)?,
                row.get::<_, i64>(6)?,
                row.get::<_, i64>(7)?,
                row.get::<_, i64>(8)?,
            ))
        })?;
        let mut locks = Vec::new();
        for row in rows {
            let (token, root, scope, depth, owner, principal, timeout, created, expires) = row?;
            locks.push(ActiveLock {
                token: LockToken(token),
                root: path_from_key(&root)?,
                scope: if scope == "shared" {
                    LockScope::Shared
                } else {
                    LockScope::Exclusive
                },
                depth: if depth == "0" {
                    LockDepth::Zero
                } else {
                    LockDepth::Infinity
                },
                owner,
                principal,
                timeout_seconds: u64::try_from(timeout).unwrap_or(0),
                created: Timestamp(u64::try_from(created).unwrap_or(0)),
                expires: Timestamp(u64::try_from(expires).unwrap_or(0)),
            });
        }
        Ok(locks)
    }

    fn insert(&self, lock: &ActiveLock) -> Result<(), StoreError> {
        let conn = self.pool.get()?;
        conn.prepare_cached(
            "INSERT OR REPLACE INTO active_lock
             (token, root, scope, depth, owner, principal, timeout_seconds, created_ms, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            lock.token.as_str(),
            lock.root.key(),
            match lock.scope {
                LockScope::Exclusive => "exclusive",
                LockScope::Shared => "shared",
            },
            match lock.depth {
                LockDepth::Zero => "0",
                LockDepth::Infinity => "infinity",
            },
            lock.owner,
            lock.principal,
            i64::try_from(lock.timeout_seconds).unwrap_or(i64::MAX),
            millis(lock.created),
            millis(lock.expires),
        ])?;
        Ok(())
    }

    fn update_expiry(&self, lock: &ActiveLock) -> Result<(), StoreError> {
        let conn = self.pool.get()?;
        conn.prepare_cached(
            "UPDATE active_lock SET timeout_seconds = ?2, expires_ms = ?3 WHERE token = ?1",
        )?
        .execute(params![
            lock.token.as_str(),
            i64::try_from(lock.timeout_seconds).unwrap_or(i64::MAX),
            millis(lock.expires),
        ])?;
        Ok(())
    }

    fn remove(&self, tokens: &[LockToken]) -> Result<(), StoreError> {
        if tokens.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.get()?;
        let tx = conn.transaction()?;
        for token in tokens {
            tx.prepare_cached("DELETE FROM active_lock WHERE token = ?1")?
                .execute([token.as_str()])?;
        }
        tx.commit()?;
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
        LockManager::default()
            .check_write(
                WriteIntent::new().touches(&ResourcePath::root(), Reach::Subtree),
                &[],
                None,
                crate::locks::Timestamp(0),
            )
            .unwrap()
    }

    fn prop(local: &str, value: &str) -> DeadProperty {
        DeadProperty {
            name: PropertyName::new("urn:x", local),
            xml: format!("<x:{local} xmlns:x=\"urn:x\">{value}</x:{local}>"),
        }
    }

    fn locals(store: &SqliteStore, path: &ResourcePath) -> Vec<String> {
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
        let store = SqliteStore::open(dir.path()).unwrap();
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
        let store = SqliteStore::open(dir.path()).unwrap();
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
    fn locks_survive_reopening_with_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let lock = ActiveLock {
            token: LockToken("urn:uuid:1".into()),
            root: p(&["a", "b c"]),
            scope: LockScope::Shared,
            depth: LockDepth::Zero,
            owner: Some("<ns0:owner xmlns:ns0=\"DAV:\">me</ns0:owner>".into()),
            principal: Some("alice".into()),
            timeout_seconds: 60,
            created: Timestamp(1_000),
            expires: Timestamp(61_000),
        };
        {
            let store = SqliteStore::open(dir.path()).unwrap();
            store.insert(&lock).unwrap();
            store
                .insert(&ActiveLock {
                    token: LockToken("urn:uuid:2".into()),
                    ..lock.clone()
                })
                .unwrap();
            store.remove(&[LockToken("urn:uuid:2".into())]).unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.load().unwrap(), vec![lock.clone()]);
        let refreshed = ActiveLock {
            timeout_seconds: 120,
            expires: Timestamp(200_000),
            ..lock
        };
        store.update_expiry(&refreshed).unwrap();
        assert_eq!(store.load().unwrap(), vec![refreshed]);
    }

    #[test]
    fn properties_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let a = p(&["a"]);
        {
            let store = SqliteStore::open(dir.path()).unwrap();
            store
                .patch(&permit_all(), &a, &[PatchOp::Set(prop("k", "v"))])
                .unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.all(&a).unwrap(), vec![prop("k", "v")]);
    }
}

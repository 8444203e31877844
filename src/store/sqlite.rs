//! Dead properties in SQLite (bundled), WAL mode, in the state directory.
//!
//! A tree is the rows whose path is the tree's key or starts with `key/`,
//! queried as a range (`key/` <= path < `key0`, since '0' follows '/'), so
//! tree operations use the primary key index instead of scanning.

use std::path::Path;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{TransactionBehavior, params};

use super::{
    CopyDepth, DeadProperty, EventContext, HistoryFilter, LockEvent, LockSelection, LockStats,
    LockStore, MemberProperties, PatchOp, PropertyName, PropertyStore, Removal, StoreError,
    ensure_permitted,
};
use crate::locks::{
    ActiveLock, Hold, LockChange, LockClient, LockCounts, LockDepth, LockScope, LockTable,
    LockToken, ResourcePath, Timestamp, WritePermit,
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
    expires_ms      INTEGER NOT NULL,
    client_address  TEXT,
    user_agent      TEXT,
    root_is_collection INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS active_lock_root ON active_lock (root);
CREATE INDEX IF NOT EXISTS active_lock_expiry ON active_lock (expires_ms);

CREATE TABLE IF NOT EXISTS hold (
    path       TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    until_ms   INTEGER,
    created_ms INTEGER NOT NULL,
    created_by TEXT
);

CREATE TABLE IF NOT EXISTS lock_event (
    id             INTEGER PRIMARY KEY,
    at_ms          INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    path           TEXT NOT NULL,
    token          TEXT,
    holder         TEXT,
    actor          TEXT,
    client_address TEXT,
    user_agent     TEXT,
    reason         TEXT
);
CREATE INDEX IF NOT EXISTS lock_event_path ON lock_event (path);
CREATE INDEX IF NOT EXISTS lock_event_at ON lock_event (at_ms);
";

/// Live locks per principal ('' for anonymous), kept by triggers so that
/// every writer (server, CLI, another node) keeps it right, and lock limits
/// need no count over the lock table. Counts expired locks until the
/// sweeper removes them.
const LOCK_COUNT_SCHEMA: &str = "
CREATE TABLE lock_count (
    principal TEXT PRIMARY KEY,
    live      INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO lock_count (principal, live)
    SELECT coalesce(principal, ''), COUNT(*) FROM active_lock GROUP BY 1;
CREATE TRIGGER lock_count_insert AFTER INSERT ON active_lock BEGIN
    INSERT INTO lock_count (principal, live) VALUES (coalesce(NEW.principal, ''), 1)
        ON CONFLICT (principal) DO UPDATE SET live = live + 1;
END;
CREATE TRIGGER lock_count_delete AFTER DELETE ON active_lock BEGIN
    UPDATE lock_count SET live = live - 1 WHERE principal = coalesce(OLD.principal, '');
END;
";

/// `PRAGMA user_version` once `LOCK_COUNT_SCHEMA` is in place.
const WITH_LOCK_COUNT: i64 = 1;

/// Creates what is missing, in one transaction so that a second server
/// starting at the same moment cannot add the counters twice.
fn migrate(conn: &mut rusqlite::Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version < WITH_LOCK_COUNT {
        tx.execute_batch(LOCK_COUNT_SCHEMA)?;
        tx.execute_batch(&format!("PRAGMA user_version = {WITH_LOCK_COUNT}"))?;
    }
    tx.commit()?;
    Ok(())
}

/// The state database file inside the state directory.
pub const DATABASE_FILE: &str = "deadbolt.sqlite3";

pub struct SqliteStore {
    pool: r2d2::Pool<SqliteConnectionManager>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `state_dir`.
    pub fn open(state_dir: &Path) -> Result<Self, StoreError> {
        let file = state_dir.join(DATABASE_FILE);
        // WAL mode is a property of the file: set it once, on one connection,
        // before the pool opens several (which would race for the lock).
        {
            let mut conn = rusqlite::Connection::open(&file)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            conn.execute_batch("PRAGMA journal_mode = WAL;")?;
            migrate(&mut conn)?;
        }
        let manager = SqliteConnectionManager::file(file).with_init(|c| {
            // busy_timeout first, so the other pragmas wait instead of failing.
            // NORMAL in WAL mode: a commit survives the process dying (kill -9);
            // only a power loss may take the last transactions.
            c.execute_batch("PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;")
        });
        let pool = r2d2::Pool::builder().max_size(8).build(manager)?;
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

/// A property from the columns `namespace, local, xml` starting at `first`.
fn property_from_row(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<DeadProperty> {
    Ok(DeadProperty {
        name: PropertyName::new(
            row.get::<_, String>(first)?,
            row.get::<_, String>(first + 1)?,
        ),
        xml: row.get(first + 2)?,
    })
}

/// Adds the rows of direct members (keys `prefix` + name) from `from` on to
/// `members`. At the first row of a deeper descendant it stops and returns
/// where to go on: just past that member's subtree (`prefix` + name + `0`),
/// so a deep tree costs one index seek per member, not one row per descendant.
fn scan_members(
    stmt: &mut rusqlite::Statement<'_>,
    prefix: &str,
    from: &str,
    below: &str,
    members: &mut MemberProperties,
) -> Result<Option<String>, StoreError> {
    let mut rows = stmt.query(params![from, below])?;
    while let Some(row) = rows.next()? {
        let path: String = row.get(0)?;
        let Some(name) = path.strip_prefix(prefix) else {
            continue;
        };
        if let Some((member, _)) = name.split_once('/') {
            return Ok(Some(format!("{prefix}{member}0")));
        }
        // The root's own key, "/", is in the root's member range.
        if !name.is_empty() {
            let property = property_from_row(row, 1)?;
            members.entry(name.to_owned()).or_default().push(property);
        }
    }
    Ok(None)
}

impl PropertyStore for SqliteStore {
    fn all(&self, path: &ResourcePath) -> Result<Vec<DeadProperty>, StoreError> {
        let conn = self.pool.get()?;
        let mut stmt = conn.prepare_cached(
            "SELECT namespace, local, xml FROM dead_property WHERE path = ?1 ORDER BY namespace, local",
        )?;
        let rows = stmt.query_map([path.key()], |row| property_from_row(row, 0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn of_members(&self, collection: &ResourcePath) -> Result<MemberProperties, StoreError> {
        // One connection for the whole read: the pool is small and shared
        // by every request being answered.
        let conn = self.pool.get()?;
        let mut stmt = conn.prepare_cached(
            "SELECT path, namespace, local, xml FROM dead_property
             WHERE path >= ?1 AND path < ?2 ORDER BY path, namespace, local",
        )?;
        let (prefix, below) = member_range(collection);
        let mut members = MemberProperties::new();
        let mut from = prefix.clone();
        while let Some(next) = scan_members(&mut stmt, &prefix, &from, &below, &mut members)? {
            from = next;
        }
        Ok(members)
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

const LOCK_COLUMNS: &str = "token, root, scope, depth, owner, principal, timeout_seconds, created_ms, expires_ms, client_address, user_agent, root_is_collection";

fn lock_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(ActiveLock, String)> {
    let root: String = row.get(1)?;
    let scope: String = row.get(2)?;
    let depth: String = row.get(3)?;
    let lock = ActiveLock {
        token: LockToken(row.get(0)?),
        // Replaced by the parsed root below; kept simple for the row mapper.
        root: ResourcePath::root(),
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
        owner: row.get(4)?,
        principal: row.get(5)?,
        timeout_seconds: u64::try_from(row.get::<_, i64>(6)?).unwrap_or(0),
        created: Timestamp(u64::try_from(row.get::<_, i64>(7)?).unwrap_or(0)),
        expires: Timestamp(u64::try_from(row.get::<_, i64>(8)?).unwrap_or(0)),
        client: LockClient {
            address: row.get(9)?,
            user_agent: row.get(10)?,
        },
        root_is_collection: row.get::<_, i64>(11)? != 0,
    };
    Ok((lock, root))
}

fn query_locks(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    out: &mut Vec<ActiveLock>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, lock_from_row)?;
    for row in rows {
        let (mut lock, root) = row?;
        lock.root = path_from_key(&root)?;
        out.push(lock);
    }
    Ok(())
}

/// Loads the live locks the selections need (§6.1 coverage: the path and its
/// ancestors; with members, the ordered range of roots below the path).
/// Live locks in all, and those of `user`.
fn lock_counts(conn: &rusqlite::Connection, user: Option<&str>) -> Result<LockCounts, StoreError> {
    let (total, of_user): (i64, i64) = conn
        .prepare_cached(
            "SELECT coalesce(sum(live), 0), coalesce(sum(live) FILTER (WHERE principal = ?1), 0) FROM lock_count",
        )?
        .query_row(params![user.unwrap_or("")], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(LockCounts {
        total: u64::try_from(total).unwrap_or(0),
        of_user: user.map_or(0, |_| u64::try_from(of_user).unwrap_or(0)),
    })
}

fn load_selected(
    conn: &rusqlite::Connection,
    selections: &[LockSelection],
    now: Timestamp,
) -> Result<LockTable, StoreError> {
    let keys = ancestor_keys(selections);
    let mut locks = Vec::new();
    let mut holds = Vec::new();
    if !keys.is_empty() {
        // One indexed lookup for all ancestors of all selected paths.
        let params = with_now(now, &keys);
        let placeholders = placeholders(keys.len());
        query_locks(
            conn,
            &format!(
                "SELECT {LOCK_COLUMNS} FROM active_lock WHERE expires_ms > ?1 AND root IN ({placeholders})"
            ),
            rusqlite::params_from_iter(params.iter()),
            &mut locks,
        )?;
        query_holds(
            conn,
            &format!(
                "SELECT {HOLD_COLUMNS} FROM hold WHERE (until_ms IS NULL OR until_ms > ?1) AND path IN ({placeholders})"
            ),
            rusqlite::params_from_iter(params.iter()),
            &mut holds,
        )?;
    }
    for selection in selections.iter().filter(|s| s.with_members) {
        let (lo, hi) = member_range(&selection.path);
        query_locks(
            conn,
            &format!(
                "SELECT {LOCK_COLUMNS} FROM active_lock WHERE root >= ?1 AND root < ?2 AND expires_ms > ?3"
            ),
            params![lo, hi, millis(now)],
            &mut locks,
        )?;
        query_holds(
            conn,
            &format!(
                "SELECT {HOLD_COLUMNS} FROM hold WHERE path >= ?1 AND path < ?2 AND (until_ms IS NULL OR until_ms > ?3)"
            ),
            params![lo, hi, millis(now)],
            &mut holds,
        )?;
    }
    let mut table = LockTable::default();
    for lock in locks {
        table.load(lock);
    }
    for hold in holds {
        table.load_hold(hold);
    }
    Ok(table)
}

/// The keys of every selected path and its ancestors, without repeats,
/// built one segment at a time.
fn ancestor_keys(selections: &[LockSelection]) -> Vec<String> {
    let mut keys: Vec<String> = vec!["/".to_owned()];
    for selection in selections {
        let mut key = String::new();
        for segment in selection.path.segments() {
            key.push('/');
            key.push_str(segment);
            if !keys.contains(&key) {
                keys.push(key.clone());
            }
        }
    }
    keys
}

/// `?2, ?3, ...` for `n` values after `?1`.
fn placeholders(n: usize) -> String {
    (2..n + 2)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn with_now(now: Timestamp, keys: &[String]) -> Vec<rusqlite::types::Value> {
    let mut values = vec![rusqlite::types::Value::Integer(millis(now))];
    values.extend(keys.iter().map(|k| rusqlite::types::Value::Text(k.clone())));
    values
}

const HOLD_COLUMNS: &str = "path, reason, until_ms, created_ms, created_by";

fn query_holds(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    out: &mut Vec<Hold>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, Option<i64>>(2)?,
            row.get::<_, i64>(3)?,
            row.get::<_, Option<String>>(4)?,
        ))
    })?;
    for row in rows {
        let (path, reason, until, created, created_by) = row?;
        out.push(Hold {
            path: path_from_key(&path)?,
            reason,
            until: until.map(|ms| Timestamp(u64::try_from(ms).unwrap_or(0))),
            created: Timestamp(u64::try_from(created).unwrap_or(0)),
            created_by,
        });
    }
    Ok(())
}

/// Appends one audit event.
#[allow(clippy::too_many_arguments)]
fn record_event(
    conn: &rusqlite::Connection,
    now: Timestamp,
    kind: &str,
    path: &ResourcePath,
    token: Option<&LockToken>,
    holder: Option<&str>,
    context: &EventContext,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO lock_event (at_ms, kind, path, token, holder, actor, client_address, user_agent, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        millis(now),
        kind,
        path.key(),
        token.map(LockToken::as_str),
        holder,
        context.actor,
        context.client.address,
        context.client.user_agent,
        context.reason,
    ])?;
    Ok(())
}

fn apply(
    tx: &rusqlite::Transaction<'_>,
    change: &LockChange,
    now: Timestamp,
    context: &EventContext,
) -> Result<(), StoreError> {
    let (kind, lock) = match change {
        LockChange::Insert(lock) => ("acquired", lock),
        LockChange::Update(lock) => ("refreshed", lock),
        LockChange::Remove(lock) => (
            match context.removal {
                Removal::Released => "released",
                Removal::Broken => "broken",
                Removal::ResourceGone => "removed-with-resource",
            },
            lock,
        ),
    };
    record_event(
        tx,
        now,
        kind,
        &lock.root,
        Some(&lock.token),
        lock.principal.as_deref(),
        context,
    )?;
    match change {
        LockChange::Insert(lock) => {
            tx.prepare_cached(&format!(
                "INSERT INTO active_lock ({LOCK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ))?
            .execute(params![
                lock.token.as_str(),
                lock.root.key(),
                lock.scope.as_str(),
                lock.depth.as_str(),
                lock.owner,
                lock.principal,
                i64::try_from(lock.timeout_seconds).unwrap_or(i64::MAX),
                millis(lock.created),
                millis(lock.expires),
                lock.client.address,
                lock.client.user_agent,
                i64::from(lock.root_is_collection),
            ])?;
        }
        LockChange::Update(lock) => {
            tx.prepare_cached(
                "UPDATE active_lock SET timeout_seconds = ?2, expires_ms = ?3 WHERE token = ?1",
            )?
            .execute(params![
                lock.token.as_str(),
                i64::try_from(lock.timeout_seconds).unwrap_or(i64::MAX),
                millis(lock.expires),
            ])?;
        }
        LockChange::Remove(lock) => {
            tx.prepare_cached("DELETE FROM active_lock WHERE token = ?1")?
                .execute([lock.token.as_str()])?;
        }
    }
    Ok(())
}

impl LockStore for SqliteStore {
    fn view_children(
        &self,
        collection: &ResourcePath,
        now: Timestamp,
    ) -> Result<LockTable, StoreError> {
        let conn = self.pool.get()?;
        let selection = LockSelection {
            path: collection.clone(),
            with_members: false,
        };
        let mut table = load_selected(&conn, &[selection], now)?;
        // Roots one level below: in the member range, with no further '/'.
        let (lo, hi) = member_range(collection);
        let mut locks = Vec::new();
        query_locks(
            &conn,
            &format!(
                "SELECT {LOCK_COLUMNS} FROM active_lock
                 WHERE root >= ?1 AND root < ?2 AND expires_ms > ?3
                   AND instr(substr(root, length(?1) + 1), '/') = 0"
            ),
            params![lo, hi, millis(now)],
            &mut locks,
        )?;
        for lock in locks {
            table.load(lock);
        }
        Ok(table)
    }

    fn view(&self, selections: &[LockSelection], now: Timestamp) -> Result<LockTable, StoreError> {
        let conn = self.pool.get()?;
        load_selected(&conn, selections, now)
    }

    fn transact(
        &self,
        selections: &[LockSelection],
        now: Timestamp,
        context: &EventContext,
        decide: &mut dyn FnMut(&mut LockTable) -> bool,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        // IMMEDIATE takes the write lock first: no other writer (process or
        // node on this database) can change the locks between load and commit.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut table = load_selected(&tx, selections, now)?;
        table.set_counts(lock_counts(&tx, context.actor.as_deref())?);
        if !decide(&mut table) {
            return Ok(()); // dropping `tx` rolls back
        }
        for change in table.take_changes() {
            apply(&tx, &change, now, context)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn remove_expired(&self, now: Timestamp) -> Result<Vec<ActiveLock>, StoreError> {
        let mut conn = self.pool.get()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut expired = Vec::new();
        query_locks(
            &tx,
            &format!("DELETE FROM active_lock WHERE expires_ms <= ?1 RETURNING {LOCK_COLUMNS}"),
            params![millis(now)],
            &mut expired,
        )?;
        let context = EventContext::default();
        for lock in &expired {
            record_event(
                &tx,
                lock.expires,
                "expired",
                &lock.root,
                Some(&lock.token),
                lock.principal.as_deref(),
                &context,
            )?;
        }
        tx.commit()?;
        Ok(expired)
    }

    fn set_hold(&self, hold: &Hold, context: &EventContext) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(&format!(
            "INSERT OR REPLACE INTO hold ({HOLD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
        ))?
        .execute(params![
            hold.path.key(),
            hold.reason,
            hold.until.map(millis),
            millis(hold.created),
            hold.created_by,
        ])?;
        let context = EventContext {
            reason: Some(hold.reason.clone()),
            ..context.clone()
        };
        record_event(
            &tx,
            hold.created,
            "hold-set",
            &hold.path,
            None,
            None,
            &context,
        )?;
        tx.commit()?;
        Ok(())
    }

    fn release_hold(
        &self,
        path: &ResourcePath,
        now: Timestamp,
        context: &EventContext,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.get()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let removed = tx
            .prepare_cached("DELETE FROM hold WHERE path = ?1")?
            .execute([path.key()])?;
        if removed > 0 {
            record_event(&tx, now, "hold-released", path, None, None, context)?;
        }
        tx.commit()?;
        Ok(removed > 0)
    }

    fn all_holds(&self, now: Timestamp) -> Result<Vec<Hold>, StoreError> {
        let conn = self.pool.get()?;
        let mut holds = Vec::new();
        query_holds(
            &conn,
            &format!(
                "SELECT {HOLD_COLUMNS} FROM hold WHERE until_ms IS NULL OR until_ms > ?1 ORDER BY path"
            ),
            params![millis(now)],
            &mut holds,
        )?;
        Ok(holds)
    }

    fn history(&self, filter: &HistoryFilter) -> Result<Vec<LockEvent>, StoreError> {
        let conn = self.pool.get()?;
        let (key, lo, hi) = match &filter.path {
            Some(path) => {
                let (lo, hi) = member_range(path);
                (Some(path.key()), lo, hi)
            }
            None => (None, String::new(), String::new()),
        };
        let mut stmt = conn.prepare_cached(
            "SELECT at_ms, kind, path, token, holder, actor, client_address, user_agent, reason
             FROM lock_event
             WHERE (?1 IS NULL OR path = ?1 OR (path >= ?2 AND path < ?3)) AND at_ms >= ?4
             ORDER BY at_ms DESC, id DESC LIMIT ?5",
        )?;
        let limit = if filter.limit == 0 {
            1000
        } else {
            filter.limit
        };
        let rows = stmt.query_map(
            params![
                key,
                lo,
                hi,
                filter.since.map_or(0, millis),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |row| {
                Ok(LockEvent {
                    at_ms: u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0),
                    kind: row.get(1)?,
                    path: row.get(2)?,
                    token: row.get(3)?,
                    holder: row.get(4)?,
                    actor: row.get(5)?,
                    client_address: row.get(6)?,
                    user_agent: row.get(7)?,
                    reason: row.get(8)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn next_expiry(&self) -> Result<Option<Timestamp>, StoreError> {
        let conn = self.pool.get()?;
        let next: Option<i64> =
            conn.query_row("SELECT min(expires_ms) FROM active_lock", [], |row| {
                row.get(0)
            })?;
        Ok(next.map(|ms| Timestamp(u64::try_from(ms).unwrap_or(0))))
    }

    fn all_locks(&self, now: Timestamp) -> Result<Vec<ActiveLock>, StoreError> {
        let conn = self.pool.get()?;
        let mut locks = Vec::new();
        query_locks(
            &conn,
            &format!("SELECT {LOCK_COLUMNS} FROM active_lock WHERE expires_ms > ?1 ORDER BY root"),
            params![millis(now)],
            &mut locks,
        )?;
        Ok(locks)
    }

    fn stats(&self, now: Timestamp) -> Result<LockStats, StoreError> {
        let conn = self.pool.get()?;
        let counts = |sql: &str,
                      params: &[&dyn rusqlite::ToSql]|
         -> Result<Vec<(String, u64)>, StoreError> {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params, |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
                ))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        Ok(LockStats {
            held_by_scope: counts(
                "SELECT scope, count(*) FROM active_lock WHERE expires_ms > ?1 GROUP BY scope",
                &[&millis(now)],
            )?,
            events_by_kind: counts("SELECT kind, count(*) FROM lock_event GROUP BY kind", &[])?,
        })
    }

    fn find_lock(
        &self,
        token: &LockToken,
        now: Timestamp,
    ) -> Result<Option<ActiveLock>, StoreError> {
        let conn = self.pool.get()?;
        let mut locks = Vec::new();
        query_locks(
            &conn,
            &format!("SELECT {LOCK_COLUMNS} FROM active_lock WHERE token = ?1 AND expires_ms > ?2"),
            params![token.as_str(), millis(now)],
            &mut locks,
        )?;
        Ok(locks.pop())
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
                &crate::locks::LockTable::default(),
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

    fn member_locals(store: &SqliteStore, collection: &ResourcePath) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = store
            .of_members(collection)
            .unwrap()
            .into_iter()
            .flat_map(|(member, props)| {
                props
                    .into_iter()
                    .map(move |p| (member.clone(), p.name.local))
            })
            .collect();
        found.sort();
        found
    }

    #[test]
    fn member_properties_are_those_of_direct_members_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let permit = permit_all();
        let set = |path: &[&str], local: &str| {
            store
                .patch(&permit, &p(path), &[PatchOp::Set(prop(local, "v"))])
                .unwrap();
        };
        set(&[], "root");
        set(&["a"], "self");
        set(&["a", "b"], "one");
        set(&["a", "b"], "two");
        set(&["a", "b", "deep"], "deep");
        set(&["a", "b", "deep", "deeper"], "deeper");
        set(&["a", "b-c"], "dash");
        set(&["a", "b0"], "zero");
        set(&["a", "c", "x"], "below-c");
        set(&["a", "d"], "d");
        set(&["a-b"], "lookalike");
        set(&["ab"], "lookalike");
        let pairs = |items: &[(&str, &str)]| -> Vec<(String, String)> {
            items
                .iter()
                .map(|(m, l)| ((*m).to_owned(), (*l).to_owned()))
                .collect()
        };
        assert_eq!(
            member_locals(&store, &p(&["a"])),
            pairs(&[
                ("b", "one"),
                ("b", "two"),
                ("b-c", "dash"),
                ("b0", "zero"),
                ("d", "d")
            ])
        );
        assert_eq!(
            member_locals(&store, &ResourcePath::root()),
            pairs(&[("a", "self"), ("a-b", "lookalike"), ("ab", "lookalike")])
        );
        assert!(member_locals(&store, &p(&["a", "d"])).is_empty());
    }

    fn lock(token: &str, root: &[&str], expires: u64) -> ActiveLock {
        ActiveLock {
            token: LockToken(token.into()),
            root: p(root),
            root_is_collection: false,
            scope: LockScope::Shared,
            depth: LockDepth::Zero,
            owner: Some("<ns0:owner xmlns:ns0=\"DAV:\">me</ns0:owner>".into()),
            principal: Some("alice".into()),
            client: LockClient {
                address: Some("127.0.0.1:5000".into()),
                user_agent: Some("test/1".into()),
            },
            timeout_seconds: 60,
            created: Timestamp(1_000),
            expires: Timestamp(expires),
        }
    }

    fn insert(store: &SqliteStore, l: &ActiveLock) {
        let mut inserted = false;
        store
            .transact(&[], Timestamp(0), &EventContext::default(), &mut |table| {
                table.insert(l.clone());
                inserted = true;
                true
            })
            .unwrap();
        assert!(inserted);
    }

    #[test]
    fn locks_survive_reopening_with_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let a = lock("urn:uuid:1", &["a", "b c"], 61_000);
        {
            let store = SqliteStore::open(dir.path()).unwrap();
            insert(&store, &a);
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.all_locks(Timestamp(2_000)).unwrap(), vec![a.clone()]);
        assert!(
            store.all_locks(Timestamp(61_000)).unwrap().is_empty(),
            "expired at its expiry"
        );
    }

    #[test]
    fn views_select_ancestors_and_members_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        for (token, root) in [
            ("t-root", &[][..]),
            ("t-a", &["a"][..]),
            ("t-ab", &["a", "b"][..]),
            ("t-abc", &["a", "b", "c"][..]),
            ("t-x", &["x"][..]),
            ("t-ab2", &["ab"][..]),
        ] {
            insert(&store, &lock(token, root, 100_000));
        }
        let tokens = |with_members| {
            let table = store
                .view(
                    &[LockSelection {
                        path: p(&["a", "b"]),
                        with_members,
                    }],
                    Timestamp(0),
                )
                .unwrap();
            let mut t: Vec<String> = table.all().map(|l| l.token.0.clone()).collect();
            t.sort();
            t
        };
        assert_eq!(tokens(false), ["t-a", "t-ab", "t-root"]);
        assert_eq!(tokens(true), ["t-a", "t-ab", "t-abc", "t-root"]);
    }

    #[test]
    fn a_declined_transaction_writes_nothing_and_changes_are_written_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let a = lock("urn:uuid:1", &["a"], 100_000);
        store
            .transact(&[], Timestamp(0), &EventContext::default(), &mut |table| {
                table.insert(a.clone());
                false
            })
            .unwrap();
        assert!(store.all_locks(Timestamp(0)).unwrap().is_empty());
        insert(&store, &a);
        let selection = [LockSelection {
            path: p(&["a"]),
            with_members: false,
        }];
        store
            .transact(
                &selection,
                Timestamp(0),
                &EventContext::default(),
                &mut |table| {
                    table
                        .set_expiry(&a.token, 120, Timestamp(200_000))
                        .is_some()
                },
            )
            .unwrap();
        assert_eq!(
            store.all_locks(Timestamp(0)).unwrap()[0].expires,
            Timestamp(200_000)
        );
        assert_eq!(store.next_expiry().unwrap(), Some(Timestamp(200_000)));
        let expired = store.remove_expired(Timestamp(200_000)).unwrap();
        assert_eq!(expired.len(), 1);
        assert!(store.all_locks(Timestamp(0)).unwrap().is_empty());
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

    /// The counts lock limits read, as a transaction by `user` sees them.
    fn counts_for(store: &SqliteStore, user: Option<&str>) -> LockCounts {
        let context = EventContext {
            actor: user.map(str::to_owned),
            ..EventContext::default()
        };
        let mut seen = None;
        store
            .transact(&[], Timestamp(0), &context, &mut |table| {
                seen = table.counts();
                false
            })
            .unwrap();
        seen.expect("transactions carry lock counts")
    }

    /// One committed lock transaction over the locks at `path`.
    fn change_at(store: &SqliteStore, path: &[&str], change: impl Fn(&mut LockTable) -> bool) {
        let selection = [LockSelection {
            path: p(path),
            with_members: false,
        }];
        store
            .transact(
                &selection,
                Timestamp(0),
                &EventContext::default(),
                &mut |table| change(table),
            )
            .unwrap();
    }

    #[test]
    fn lock_counts_follow_every_insert_update_and_removal() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let mut anonymous = lock("urn:uuid:anon", &["n"], 100_000);
        anonymous.principal = None;
        insert(&store, &anonymous);
        insert(&store, &lock("urn:uuid:1", &["a"], 100_000));
        insert(&store, &lock("urn:uuid:2", &["b"], 300_000));
        let mut bob = lock("urn:uuid:3", &["c"], 300_000);
        bob.principal = Some("bob".into());
        insert(&store, &bob);
        let counts = |user| {
            let c = counts_for(&store, user);
            (c.total, c.of_user)
        };
        assert_eq!(counts(Some("alice")), (4, 2));
        assert_eq!(counts(Some("bob")), (4, 1));
        assert_eq!(counts(None), (4, 0));
        // A refresh changes nothing.
        change_at(&store, &["a"], |table| {
            let token = LockToken("urn:uuid:1".into());
            table.set_expiry(&token, 60, Timestamp(150_000)).is_some()
        });
        assert_eq!(counts(Some("alice")), (4, 2));
        // Release one, expire two (alice's refreshed one and the anonymous one).
        change_at(&store, &["b"], |table| {
            table.remove(&LockToken("urn:uuid:2".into())).is_some()
        });
        assert_eq!(store.remove_expired(Timestamp(200_000)).unwrap().len(), 2);
        assert_eq!(counts(Some("alice")), (1, 0));
        assert_eq!(counts(Some("bob")), (1, 1));
    }

    /// A database from before the counters gets them, counted from its locks.
    #[test]
    fn an_older_database_gets_its_locks_counted_on_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SqliteStore::open(dir.path()).unwrap();
            insert(&store, &lock("urn:uuid:1", &["a"], 100_000));
            insert(&store, &lock("urn:uuid:2", &["b"], 100_000));
        }
        {
            let conn = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
            conn.execute_batch(
                "DROP TRIGGER lock_count_insert; DROP TRIGGER lock_count_delete;
                 DROP TABLE lock_count; PRAGMA user_version = 0;",
            )
            .unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(
            counts_for(&store, Some("alice")),
            LockCounts {
                total: 2,
                of_user: 2
            }
        );
        insert(&store, &lock("urn:uuid:3", &["c"], 100_000));
        assert_eq!(
            counts_for(&store, Some("alice")),
            LockCounts {
                total: 3,
                of_user: 3
            }
        );
    }
}

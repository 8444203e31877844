//! The SQLite schema and its versioned migrations.
//!
//! `PRAGMA user_version` says which migrations a database has had. Each
//! runs once, inside the `BEGIN IMMEDIATE` transaction that checks the
//! version, so several servers starting on one state directory at the same
//! moment cannot apply one twice.

use rusqlite::TransactionBehavior;

use crate::store::StoreError;

/// The tables of the first release (version 0), created if missing.
const BASE: &str = "
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

/// Migrations after `BASE`, in order: migration `i` brings a database to
/// `user_version` `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: live locks per principal ('' for anonymous), kept by triggers so
    // that every writer (server, CLI, another process) keeps it right and
    // lock limits need no count over the lock table. Counts expired locks
    // until the sweeper removes them.
    "
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
    ",
    // 2: audit events counted per kind, for the metrics: `stats` folds the
    // events after `lock_event_counted.id` into `lock_event_count` (and so
    // does pruning, before it deletes), so a scrape reads only new events
    // and recording an event costs nothing more.
    "
    CREATE TABLE lock_event_count (
        kind TEXT PRIMARY KEY,
        n    INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE lock_event_counted (id INTEGER NOT NULL);
    INSERT INTO lock_event_count (kind, n) SELECT kind, COUNT(*) FROM lock_event GROUP BY kind;
    INSERT INTO lock_event_counted (id) SELECT coalesce(max(id), 0) FROM lock_event;
    ",
    // 3: fencing tokens (docs/locking.md I17): each lock keeps the one it
    // was granted with; `fencing.last` is the last one handed out, never
    // lowered (locks granted before have 0).
    "
    ALTER TABLE active_lock ADD COLUMN fencing INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE fencing (last INTEGER NOT NULL);
    INSERT INTO fencing (last) VALUES (0);
    ",
    // 4: audit event ids are never given twice (AUTOINCREMENT): a plain
    // rowid restarts below a pruned maximum once the trail is empty, and
    // followers of the event stream resume from the last id they saw. The
    // sequence starts above every id given so far, counted ones included.
    "
    CREATE TABLE lock_event_v4 (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
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
    INSERT INTO lock_event_v4 (id, at_ms, kind, path, token, holder, actor, client_address,
                               user_agent, reason)
        SELECT id, at_ms, kind, path, token, holder, actor, client_address, user_agent, reason
        FROM lock_event;
    DROP TABLE lock_event;
    ALTER TABLE lock_event_v4 RENAME TO lock_event;
    CREATE INDEX lock_event_path ON lock_event (path);
    CREATE INDEX lock_event_at ON lock_event (at_ms);
    DELETE FROM sqlite_sequence WHERE name = 'lock_event';
    INSERT INTO sqlite_sequence (name, seq)
        SELECT 'lock_event', max(coalesce((SELECT max(id) FROM lock_event), 0),
                                 (SELECT id FROM lock_event_counted));
    ",
    // 5: `lock_count` is kept by the statements that insert and delete
    // locks (`locks.rs`, `count_locks`) instead of triggers: with a trigger
    // on a table SQLite keeps a statement journal for every insert and
    // delete there, about a tenth of a lock decision's work. The counts
    // are recounted from the locks held. Processes of an older version
    // must not run beside a newer one on the same state directory: their
    // writes would no longer be counted (the README says so).
    "
    DROP TRIGGER IF EXISTS lock_count_insert;
    DROP TRIGGER IF EXISTS lock_count_delete;
    DELETE FROM lock_count;
    INSERT INTO lock_count (principal, live)
        SELECT coalesce(principal, ''), COUNT(*) FROM active_lock GROUP BY 1;
    ",
];

/// The version a fully migrated database has.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Creates what is missing and applies the migrations a database lacks.
pub fn migrate(conn: &mut rusqlite::Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(BASE)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > CURRENT_VERSION {
        return Err(StoreError::Corrupt(format!(
            "the state database has schema version {version}; this deadbolt knows up to \
             {CURRENT_VERSION} (a newer deadbolt wrote it)"
        )));
    }
    for (done, migration) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        tx.execute_batch(migration)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", done + 1))?;
    }
    tx.commit()?;
    Ok(())
}

/// Writes in progress, in a database of their own (`latches.sqlite3`,
/// attached as `latch`): a row per latched path, with a lease its process
/// renews. They need no durability (a crash ends every write, and a lapsed
/// lease counts for nothing), so that file runs with `synchronous = OFF`:
/// a write's latch costs no fsync, neither at commit nor at checkpoint, and
/// never forces a checkpoint of the lock table. Keyed by path alone (one
/// b-tree to write per latch): decisions look latches up by path, while
/// release and renewal by id scan a table that holds only the writes in
/// progress.
pub const LATCHES: &str = "
CREATE TABLE IF NOT EXISTS write_latch (
    path       TEXT NOT NULL,
    id         TEXT NOT NULL,
    reach      TEXT NOT NULL,
    holder     TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (path, id)
) WITHOUT ROWID;
";

//! The lock table in SQLite: live locks, maintenance holds and write
//! latches, loaded for one decision and written back in one transaction.

use std::sync::{Arc, LazyLock};

use rusqlite::params;

use super::rows::{
    HOLD_COLUMNS, LATCH_COLUMNS, LOCK_COLUMNS, query_holds, query_latches, query_locks,
    record_event,
};
use super::{Locking, Reading, SqliteStore, properties};
use crate::locks::{
    ActiveLock, LatchId, LockChange, LockCounts, LockTable, LockToken, ResourcePath, Timestamp,
    WriteLatch,
};
use crate::store::keys::{ancestor_keys, member_range, millis, timestamp};
use crate::store::{
    DeadProperty, Decision, EventContext, LockSelection, LockStore, Needs, StoreError, Submitted,
    Writes, event_kind,
};

/// Live locks in all, and those of `user`.
fn lock_counts(conn: &rusqlite::Connection, user: Option<&str>) -> Result<LockCounts, StoreError> {
    let (total, of_user): (i64, i64) = conn
        .prepare_cached(
            "SELECT coalesce(sum(live), 0), coalesce(sum(live) FILTER (WHERE principal = ?1), 0) \
             FROM lock_count",
        )?
        .query_row(params![user.unwrap_or("")], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    Ok(LockCounts {
        total: u64::try_from(total).unwrap_or(0),
        of_user: user.map_or(0, |_| u64::try_from(of_user).unwrap_or(0)),
    })
}

/// The statements a decision loads with, built once. Each ancestor is
/// looked up by an index lookup of its own: an `IN (...)` list would cost
/// SQLite an ephemeral table per statement, more than the lookups it saves.
/// The lookups of up to `KEYS_AT_ONCE` paths' locks go in one statement
/// (`UNION ALL`, no ephemeral table), each statement being a round of
/// the statement cache, binding and resetting.
struct Loads {
    /// `locks_at[n - 1]`: the live locks rooted at any of `n` paths
    /// (`?1` the time, `?2`... the keys).
    locks_at: Vec<String>,
    holds_at: String,
    latches_at: String,
    locks_below: String,
    holds_below: String,
    latches_below: String,
}

/// Paths whose locks one statement looks up at most (a path two levels
/// deep has three: the root, its parent and itself).
const KEYS_AT_ONCE: usize = 8;

static LOADS: LazyLock<Loads> = LazyLock::new(|| Loads {
    locks_at: (1..=KEYS_AT_ONCE)
        .map(|n| {
            (2..n + 2)
                .map(|key| {
                    format!(
                        "SELECT {LOCK_COLUMNS} FROM active_lock \
                         WHERE root = ?{key} AND expires_ms > ?1"
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ")
        })
        .collect(),
    holds_at: format!(
        "SELECT {HOLD_COLUMNS} FROM hold WHERE path = ?1 AND (until_ms IS NULL OR until_ms > ?2)"
    ),
    latches_at: format!(
        "SELECT {LATCH_COLUMNS} FROM write_latch WHERE path = ?1 AND expires_ms > ?2"
    ),
    locks_below: format!(
        "SELECT {LOCK_COLUMNS} FROM active_lock WHERE root >= ?1 AND root < ?2 AND expires_ms > ?3"
    ),
    holds_below: format!(
        "SELECT {HOLD_COLUMNS} FROM hold \
         WHERE path >= ?1 AND path < ?2 AND (until_ms IS NULL OR until_ms > ?3)"
    ),
    latches_below: format!(
        "SELECT {LATCH_COLUMNS} FROM write_latch WHERE path >= ?1 AND path < ?2 AND expires_ms > ?3"
    ),
});

/// Loads the live locks and active holds the selections need (§6.1
/// coverage: the path and its ancestors; with members, the ordered range
/// below the path).
fn load_selected(
    conn: &rusqlite::Connection,
    selections: &[LockSelection],
    now: Timestamp,
) -> Result<LockTable, StoreError> {
    let loads = &*LOADS;
    let mut locks = Vec::new();
    let mut holds = Vec::new();
    // Holds are rare: when the table has none, one look says so and the
    // lookups per ancestor are skipped (a path two levels deep saves two).
    let any_holds = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM hold)")?
        .query_row([], |row| row.get::<_, bool>(0))?;
    let keys = ancestor_keys(selections);
    let at = millis(now);
    for some in keys.chunks(KEYS_AT_ONCE) {
        let values = std::iter::once(&at as &dyn rusqlite::ToSql)
            .chain(some.iter().map(|key| key as &dyn rusqlite::ToSql));
        let sql = &loads.locks_at[some.len() - 1];
        query_locks(conn, sql, rusqlite::params_from_iter(values), &mut locks)?;
    }
    if any_holds {
        for key in &keys {
            query_holds(conn, &loads.holds_at, params![key, at], &mut holds)?;
        }
    }
    for selection in selections.iter().filter(|s| s.with_members) {
        let (lo, hi) = member_range(&selection.path);
        let range = params![lo, hi, millis(now)];
        query_locks(conn, &loads.locks_below, range, &mut locks)?;
        if any_holds {
            query_holds(conn, &loads.holds_below, range, &mut holds)?;
        }
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

/// Adds the live write latches at the selected paths, their ancestors and
/// (with members) below them, read from the latch database.
fn load_latches(
    latches: &rusqlite::Connection,
    selections: &[LockSelection],
    now: Timestamp,
    table: &mut LockTable,
) -> Result<(), StoreError> {
    let loads = &*LOADS;
    let mut found = Vec::new();
    for key in ancestor_keys(selections) {
        let at = params![key, millis(now)];
        query_latches(latches, &loads.latches_at, at, &mut found)?;
    }
    for selection in selections.iter().filter(|s| s.with_members) {
        let (lo, hi) = member_range(&selection.path);
        let range = params![lo, hi, millis(now)];
        query_latches(latches, &loads.latches_below, range, &mut found)?;
    }
    for latch in found {
        table.load_latch(latch);
    }
    Ok(())
}

/// Records a write's latches (in the latch database's transaction).
fn insert_latches(latches: &rusqlite::Connection, rows: &[WriteLatch]) -> Result<(), StoreError> {
    let mut stmt = latches.prepare_cached(&format!(
        "INSERT OR REPLACE INTO write_latch ({LATCH_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
    ))?;
    for latch in rows {
        stmt.execute(params![
            latch.id.0,
            latch.path.key(),
            latch.reach.as_str(),
            latch.holder,
            millis(latch.expires),
        ])?;
    }
    Ok(())
}

fn delete_latches(latches: &rusqlite::Connection, id: &LatchId) -> Result<(), StoreError> {
    latches
        .prepare_cached("DELETE FROM write_latch WHERE id = ?1")?
        .execute([&id.0])?;
    Ok(())
}

/// Writes one journaled change, with its audit event.
fn apply(
    tx: &rusqlite::Connection,
    change: &LockChange,
    now: Timestamp,
    context: &EventContext,
) -> Result<(), StoreError> {
    if let Some(kind) = event_kind(change) {
        let (path, token, holder, context) = match change {
            LockChange::Insert(lock) | LockChange::Update(lock) | LockChange::Remove(lock, _) => (
                &lock.root,
                Some(&lock.token),
                lock.principal.as_deref(),
                context.clone(),
            ),
            LockChange::HoldSet(hold) => (
                &hold.path,
                None,
                None,
                EventContext {
                    reason: Some(hold.reason.clone()),
                    ..context.clone()
                },
            ),
            LockChange::HoldLifted(hold) => (&hold.path, None, None, context.clone()),
            LockChange::Latch(latch) => (&latch.path, None, None, context.clone()),
        };
        record_event(tx, now, kind, path, token, holder, &context)?;
    }
    match change {
        LockChange::Insert(lock) => {
            tx.prepare_cached(&format!(
                "INSERT INTO active_lock ({LOCK_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
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
                i64::try_from(lock.fencing).unwrap_or(i64::MAX),
            ])?;
            count_locks(tx, lock.principal.as_deref(), 1)?;
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
        LockChange::Remove(lock, _) => {
            let removed = tx
                .prepare_cached("DELETE FROM active_lock WHERE token = ?1")?
                .execute([lock.token.as_str()])?;
            count_locks(tx, lock.principal.as_deref(), -(removed as i64))?;
        }
        LockChange::HoldSet(hold) => {
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
        }
        LockChange::HoldLifted(hold) => {
            tx.prepare_cached("DELETE FROM hold WHERE path = ?1")?
                .execute([hold.path.key()])?;
        }
        // Written to the latch database by `transact`.
        LockChange::Latch(_) => {}
    }
    Ok(())
}

/// Keeps `lock_count` (live locks per principal, `''` for anonymous)
/// right: every insert and delete of a lock row calls it in the same
/// transaction. Triggers did this before (schema version 5 dropped them):
/// a table with a trigger makes SQLite keep a statement journal for every
/// insert and delete, about a tenth of a lock decision's work.
fn count_locks(
    tx: &rusqlite::Connection,
    principal: Option<&str>,
    by: i64,
) -> Result<(), StoreError> {
    match by {
        0 => {}
        1.. => {
            tx.prepare_cached(
                "INSERT INTO lock_count (principal, live) VALUES (coalesce(?1, ''), ?2) \
                 ON CONFLICT (principal) DO UPDATE SET live = live + ?2",
            )?
            .execute(params![principal, by])?;
        }
        _ => {
            tx.prepare_cached(
                "UPDATE lock_count SET live = live + ?2 WHERE principal = coalesce(?1, '')",
            )?
            .execute(params![principal, by])?;
        }
    }
    Ok(())
}

/// Which write locks a decision with these needs takes.
pub(super) fn locking_of(needs: &Needs) -> Locking {
    match (needs.writes, needs.latches) {
        (Writes::LatchesOnly, _) => Locking::LatchesOnly,
        (Writes::Locks, true) => Locking::Both,
        (Writes::Locks, false) => Locking::LockTable,
    }
}

/// A decision's work inside its transaction (see `LockStore::transact`):
/// load, decide, write the changes; `Ok(None)` when `decide` refused.
pub(super) fn decision_work<'a>(
    needs: &'a Needs,
    now: Timestamp,
    context: &'a EventContext,
    decide: &'a mut dyn FnMut(&mut LockTable) -> bool,
) -> impl FnMut(&rusqlite::Connection, Option<&rusqlite::Connection>) -> Result<Option<()>, StoreError>
+ 'a {
    let locking = locking_of(needs);
    move |tx, latches| {
        let mut table = load_selected(tx, &needs.selections, now)?;
        if let Some(latches) = latches {
            load_latches(latches, &needs.selections, now, &mut table)?;
        }
        if needs.counts {
            table.set_counts(lock_counts(tx, context.actor.as_deref())?);
        }
        if needs.fencing {
            // Inside the write transaction: a refused decision rolls
            // the counter back with everything else.
            // Reserved here, taken below only by a grant: the write lock
            // is held, so nobody draws the same number meanwhile.
            let last: i64 = tx
                .prepare_cached("SELECT last FROM fencing")?
                .query_row([], |row| row.get(0))?;
            table.set_fencing(u64::try_from(last).unwrap_or(0) + 1);
        }
        // Nothing is written before this point, so a refused decision
        // leaves nothing to undo (the writer thread relies on it).
        if !decide(&mut table) {
            return Ok(None);
        }
        let mut new_latches = Vec::new();
        for change in table.take_changes() {
            match change {
                LockChange::Latch(latch) => new_latches.push(latch),
                _ if locking == Locking::LatchesOnly => {
                    return Err(StoreError::database(
                        "a latch-only decision changed locks or holds",
                    ));
                }
                other => {
                    if let LockChange::Insert(lock) = &other {
                        tx.prepare_cached("UPDATE fencing SET last = max(last, ?1)")?
                            .execute([i64::try_from(lock.fencing).unwrap_or(i64::MAX)])?;
                    }
                    apply(tx, &other, now, context)?
                }
            }
        }
        match latches {
            Some(latches) => insert_latches(latches, &new_latches)?,
            None if new_latches.is_empty() => {}
            None => {
                return Err(StoreError::database(
                    "a decision latched paths without loading latches",
                ));
            }
        }
        Ok(Some(()))
    }
}

impl LockStore for SqliteStore {
    fn transact(
        &self,
        needs: &Needs,
        now: Timestamp,
        context: &EventContext,
        decide: &mut dyn FnMut(&mut LockTable) -> bool,
    ) -> Result<(), StoreError> {
        let work = decision_work(needs, now, context, decide);
        self.write_with(locking_of(needs), work).map(|_| ())
    }

    fn submit(self: Arc<Self>, decision: Decision) -> Submitted {
        self.enqueue(decision)
    }

    fn view(&self, selections: &[LockSelection], now: Timestamp) -> Result<LockTable, StoreError> {
        // One read transaction for all the lookups: each statement would
        // otherwise take and drop the database's read lock by itself.
        let conn = self.connection()?;
        let reading = Reading::begin(&conn)?;
        let table = load_selected(&reading, selections, now)?;
        reading.end()?;
        Ok(table)
    }

    fn view_with_properties(
        &self,
        selection: &LockSelection,
        now: Timestamp,
    ) -> Result<(LockTable, Vec<DeadProperty>), StoreError> {
        let conn = self.connection()?;
        let reading = Reading::begin(&conn)?;
        let table = load_selected(&reading, std::slice::from_ref(selection), now)?;
        let properties = properties::read_all(&reading, &selection.path)?;
        reading.end()?;
        Ok((table, properties))
    }

    fn view_children(
        &self,
        collection: &ResourcePath,
        now: Timestamp,
    ) -> Result<LockTable, StoreError> {
        let pooled = self.connection()?;
        let conn = Reading::begin(&pooled)?;
        let selection = LockSelection::of(collection, false);
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
        conn.end()?;
        Ok(table)
    }

    fn find_lock(
        &self,
        token: &LockToken,
        now: Timestamp,
    ) -> Result<Option<ActiveLock>, StoreError> {
        let mut locks = Vec::new();
        query_locks(
            &*self.connection()?,
            &format!("SELECT {LOCK_COLUMNS} FROM active_lock WHERE token = ?1 AND expires_ms > ?2"),
            params![token.as_str(), millis(now)],
            &mut locks,
        )?;
        Ok(locks.pop())
    }

    fn all_locks(&self, now: Timestamp) -> Result<Vec<ActiveLock>, StoreError> {
        let mut locks = Vec::new();
        query_locks(
            &*self.connection()?,
            &format!("SELECT {LOCK_COLUMNS} FROM active_lock WHERE expires_ms > ?1 ORDER BY root"),
            params![millis(now)],
            &mut locks,
        )?;
        Ok(locks)
    }

    fn next_expiry(&self) -> Result<Option<Timestamp>, StoreError> {
        let next: Option<i64> =
            self.connection()?
                .query_row("SELECT min(expires_ms) FROM active_lock", [], |row| {
                    row.get(0)
                })?;
        Ok(next.map(timestamp))
    }

    fn remove_expired(&self, now: Timestamp) -> Result<Vec<ActiveLock>, StoreError> {
        let expired = self.write_with(Locking::Both, |tx, latches| {
            let mut expired = Vec::new();
            query_locks(
                tx,
                &format!("DELETE FROM active_lock WHERE expires_ms <= ?1 RETURNING {LOCK_COLUMNS}"),
                params![millis(now)],
                &mut expired,
            )?;
            let mut per_principal: std::collections::BTreeMap<Option<&str>, i64> =
                Default::default();
            for lock in &expired {
                *per_principal.entry(lock.principal.as_deref()).or_default() += 1;
            }
            for (principal, removed) in per_principal {
                count_locks(tx, principal, -removed)?;
            }
            let context = EventContext::default();
            for lock in &expired {
                record_event(
                    tx,
                    lock.expires,
                    "expired",
                    &lock.root,
                    Some(&lock.token),
                    lock.principal.as_deref(),
                    &context,
                )?;
            }
            if let Some(latches) = latches {
                latches
                    .prepare_cached("DELETE FROM write_latch WHERE expires_ms <= ?1")?
                    .execute([millis(now)])?;
            }
            tx.prepare_cached("DELETE FROM hold WHERE until_ms <= ?1")?
                .execute([millis(now)])?;
            Ok(Some(expired))
        })?;
        Ok(expired.unwrap_or_default())
    }

    fn renew_latches(&self, ids: &[LatchId], expires: Timestamp) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        // The latch database alone: no decision waits for a renewal.
        let writer = self.writer();
        let tx = writer.latches.unchecked_transaction()?;
        {
            let mut stmt =
                tx.prepare_cached("UPDATE write_latch SET expires_ms = ?2 WHERE id = ?1")?;
            for id in ids {
                stmt.execute(params![id.0, millis(expires)])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn release_latch(&self, id: &LatchId) -> Result<(), StoreError> {
        // The latch database alone: no decision waits for a release.
        delete_latches(&self.writer().latches, id)
    }
}

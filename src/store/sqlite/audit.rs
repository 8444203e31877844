//! The audit trail and what administrators read: holds, history, counts.

use rusqlite::params;

use super::SqliteStore;
use super::rows::{HOLD_COLUMNS, query_holds};
use crate::locks::{Hold, Timestamp};
use crate::store::keys::{EVENT_COLUMNS, millis, path_filter, sql_int};
use crate::store::{
    AuditStore, DEFAULT_HISTORY_LIMIT, EventRange, HistoryFilter, LockEvent, LockStats, StoreError,
};

fn event_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LockEvent> {
    Ok(LockEvent {
        id: u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0),
        at_ms: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
        kind: row.get(2)?,
        path: row.get(3)?,
        token: row.get(4)?,
        holder: row.get(5)?,
        actor: row.get(6)?,
        client_address: row.get(7)?,
        user_agent: row.get(8)?,
        reason: row.get(9)?,
    })
}

/// Adds the events recorded since the last count to the per-kind counters
/// (inside a write transaction).
fn fold_event_counts(tx: &rusqlite::Connection) -> Result<(), StoreError> {
    tx.execute_batch(
        "INSERT INTO lock_event_count (kind, n)
             SELECT kind, COUNT(*) FROM lock_event
             WHERE id > (SELECT id FROM lock_event_counted) GROUP BY kind
             ON CONFLICT (kind) DO UPDATE SET n = n + excluded.n;
         UPDATE lock_event_counted SET id = coalesce((SELECT max(id) FROM lock_event), id);",
    )?;
    Ok(())
}

/// Audit events deleted per transaction when pruning.
const PRUNE_BATCH: usize = 10_000;

impl AuditStore for SqliteStore {
    fn holds(&self, now: Timestamp) -> Result<Vec<Hold>, StoreError> {
        let mut holds = Vec::new();
        query_holds(
            &*self.connection()?,
            &format!(
                "SELECT {HOLD_COLUMNS} FROM hold WHERE until_ms IS NULL OR until_ms > ?1 ORDER BY path"
            ),
            params![millis(now)],
            &mut holds,
        )?;
        Ok(holds)
    }

    fn history(&self, filter: &HistoryFilter) -> Result<Vec<LockEvent>, StoreError> {
        let conn = self.connection()?;
        let (key, lo, hi) = path_filter(filter.path.as_ref());
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM lock_event
             WHERE (?1 IS NULL OR path = ?1 OR (path >= ?2 AND path < ?3)) AND at_ms >= ?4
             ORDER BY at_ms DESC, id DESC LIMIT ?5"
        ))?;
        let limit = if filter.limit == 0 {
            DEFAULT_HISTORY_LIMIT
        } else {
            filter.limit
        };
        let rows = stmt.query_map(
            params![key, lo, hi, filter.since.map_or(0, millis), sql_int(limit)],
            event_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn events_after(&self, range: &EventRange) -> Result<Vec<LockEvent>, StoreError> {
        let conn = self.connection()?;
        let (key, lo, hi) = path_filter(range.path.as_ref());
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM lock_event
             WHERE id > ?1 AND id <= ?2
               AND (?3 IS NULL OR path = ?3 OR (path >= ?4 AND path < ?5))
             ORDER BY id LIMIT ?6"
        ))?;
        let rows = stmt.query_map(
            params![
                sql_int(range.after),
                sql_int(range.up_to),
                key,
                lo,
                hi,
                sql_int(range.limit())
            ],
            event_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn event_ids_after(&self, after: u64, limit: usize) -> Result<Vec<u64>, StoreError> {
        let conn = self.connection()?;
        let mut stmt =
            conn.prepare_cached("SELECT id FROM lock_event WHERE id > ?1 ORDER BY id LIMIT ?2")?;
        let rows = stmt.query_map(params![sql_int(after), sql_int(limit)], |row| {
            Ok(u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn last_event_id(&self) -> Result<u64, StoreError> {
        let id: i64 = self.connection()?.query_row(
            "SELECT coalesce(max(id), 0) FROM lock_event",
            [],
            |row| row.get(0),
        )?;
        Ok(u64::try_from(id).unwrap_or(0))
    }

    fn stats(&self, now: Timestamp) -> Result<LockStats, StoreError> {
        let stats = self.write(|tx| {
            fold_event_counts(tx)?;
            let counts = |sql: &str,
                          params: &[&dyn rusqlite::ToSql]|
             -> Result<Vec<(String, u64)>, StoreError> {
                let mut stmt = tx.prepare_cached(sql)?;
                let rows = stmt.query_map(params, |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
                    ))
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            };
            Ok(Some(LockStats {
                held_by_scope: counts(
                    "SELECT scope, count(*) FROM active_lock WHERE expires_ms > ?1 GROUP BY scope",
                    &[&millis(now)],
                )?,
                events_by_kind: counts("SELECT kind, n FROM lock_event_count ORDER BY kind", &[])?,
            }))
        })?;
        Ok(stats.unwrap_or_default())
    }

    fn prune_history(&self, before: Timestamp) -> Result<u64, StoreError> {
        // In batches: one huge delete would hold the write lock (and every
        // lock decision of every process) for as long as it runs.
        let mut pruned = 0;
        loop {
            let batch = self
                .write(|tx| {
                    // Counted first: pruning never lowers the counters.
                    fold_event_counts(tx)?;
                    let n = tx
                        .prepare_cached(
                            "DELETE FROM lock_event WHERE id IN \
                             (SELECT id FROM lock_event WHERE at_ms < ?1 LIMIT ?2)",
                        )?
                        .execute(params![millis(before), PRUNE_BATCH])?;
                    Ok(Some(n))
                })?
                .unwrap_or(0);
            pruned += batch as u64;
            if batch < PRUNE_BATCH {
                return Ok(pruned);
            }
        }
    }
}

//! The audit trail and what administrators read: holds, history, counts.

use super::PostgresStore;
use super::rows::{HOLD_COLUMNS, query_holds};
use std::time::Duration;

use crate::locks::{Hold, Timestamp};
use crate::store::keys::{EVENT_COLUMNS, millis, path_filter, sql_int};
use crate::store::{
    AuditStore, DEFAULT_HISTORY_LIMIT, EventRange, HistoryFilter, LockEvent, LockStats, StoreError,
};

/// Audit events deleted per transaction when pruning.
const PRUNE_BATCH: i64 = 10_000;

/// How long a follower of the trail waits for an id below a visible one.
/// An event's id is drawn from the `bigserial` when the decision writes it,
/// at the end of its transaction, and becomes visible at the commit a few
/// milliseconds later; concurrent decisions on several connections or nodes
/// commit in any order, and one that rolls back (a lost race, run again)
/// leaves its ids unused for good. docs/locking.md, "Following the trail".
const EVENT_ID_GRACE: Duration = Duration::from_secs(2);

fn event_from_row(row: &tokio_postgres::Row) -> Result<LockEvent, StoreError> {
    Ok(LockEvent {
        id: u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0),
        at_ms: u64::try_from(row.try_get::<_, i64>(1)?).unwrap_or(0),
        kind: row.try_get(2)?,
        path: row.try_get(3)?,
        token: row.try_get(4)?,
        holder: row.try_get(5)?,
        actor: row.try_get(6)?,
        client_address: row.try_get(7)?,
        user_agent: row.try_get(8)?,
        reason: row.try_get(9)?,
    })
}

impl AuditStore for PostgresStore {
    fn holds(&self, now: Timestamp) -> Result<Vec<Hold>, StoreError> {
        self.block(async {
            let client = self.pool.get().await?;
            let sql = format!(
                "SELECT {HOLD_COLUMNS} FROM hold WHERE until_ms IS NULL OR until_ms > $1 ORDER BY path"
            );
            query_holds(&client, &sql, &[&millis(now)]).await
        })
    }

    fn history(&self, filter: &HistoryFilter) -> Result<Vec<LockEvent>, StoreError> {
        let (key, lo, hi) = path_filter(filter.path.as_ref());
        let limit = if filter.limit == 0 {
            DEFAULT_HISTORY_LIMIT
        } else {
            filter.limit
        };
        let limit = sql_int(limit);
        let since = filter.since.map_or(0, millis);
        self.block(async {
            let client = self.pool.get().await?;
            let statement = client
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM lock_event \
                     WHERE ($1::text IS NULL OR path = $1 OR (path >= $2 AND path < $3)) \
                       AND at_ms >= $4 \
                     ORDER BY at_ms DESC, id DESC LIMIT $5"
                ))
                .await?;
            let rows = client
                .query(&statement, &[&key, &lo, &hi, &since, &limit])
                .await?;
            rows.iter().map(event_from_row).collect()
        })
    }

    fn events_after(&self, range: &EventRange) -> Result<Vec<LockEvent>, StoreError> {
        let (key, lo, hi) = path_filter(range.path.as_ref());
        let (after, up_to, limit) = (
            sql_int(range.after),
            sql_int(range.up_to),
            sql_int(range.limit()),
        );
        self.block(async {
            let client = self.pool.get().await?;
            let statement = client
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM lock_event \
                     WHERE id > $1 AND id <= $2 \
                       AND ($3::text IS NULL OR path = $3 OR (path >= $4 AND path < $5)) \
                     ORDER BY id LIMIT $6"
                ))
                .await?;
            let rows = client
                .query(&statement, &[&after, &up_to, &key, &lo, &hi, &limit])
                .await?;
            rows.iter().map(event_from_row).collect()
        })
    }

    fn event_ids_after(&self, after: u64, limit: usize) -> Result<Vec<u64>, StoreError> {
        let (after, limit) = (sql_int(after), sql_int(limit));
        self.block(async {
            let client = self.pool.get().await?;
            let statement = client
                .prepare_cached("SELECT id FROM lock_event WHERE id > $1 ORDER BY id LIMIT $2")
                .await?;
            let rows = client.query(&statement, &[&after, &limit]).await?;
            rows.iter()
                .map(|row| Ok(u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0)))
                .collect()
        })
    }

    fn last_event_id(&self) -> Result<u64, StoreError> {
        self.block(async {
            let client = self.pool.get().await?;
            let row = client
                .query_one("SELECT coalesce(max(id), 0) FROM lock_event", &[])
                .await?;
            Ok(u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0))
        })
    }

    fn event_id_grace(&self) -> Duration {
        EVENT_ID_GRACE
    }

    fn stats(&self, now: Timestamp) -> Result<LockStats, StoreError> {
        self.block(async {
            let client = self.pool.get().await?;
            let counts =
                |rows: Vec<tokio_postgres::Row>| -> Result<Vec<(String, u64)>, StoreError> {
                    rows.iter()
                        .map(|row| {
                            let n: i64 = row.try_get(1)?;
                            Ok((row.try_get(0)?, u64::try_from(n).unwrap_or(0)))
                        })
                        .collect()
                };
            let held = client
                .query(
                    "SELECT scope, count(*) FROM active_lock WHERE expires_ms > $1 \
                     GROUP BY scope ORDER BY scope",
                    &[&millis(now)],
                )
                .await?;
            let events = client
                .query(
                    "SELECT kind, sum(n)::bigint FROM lock_event_count GROUP BY kind ORDER BY kind",
                    &[],
                )
                .await?;
            Ok(LockStats {
                held_by_scope: counts(held)?,
                events_by_kind: counts(events)?,
            })
        })
    }

    fn prune_history(&self, before: Timestamp) -> Result<u64, StoreError> {
        // In batches, each its own transaction: one huge delete would hold
        // its locks (and the table's vacuum) for as long as it runs.
        self.block(async {
            let client = self.pool.get().await?;
            let mut pruned = 0;
            loop {
                let batch = client
                    .execute(
                        "DELETE FROM lock_event WHERE id IN \
                         (SELECT id FROM lock_event WHERE at_ms < $1 LIMIT $2)",
                        &[&millis(before), &PRUNE_BATCH],
                    )
                    .await?;
                pruned += batch;
                if batch < PRUNE_BATCH as u64 {
                    return Ok(pruned);
                }
            }
        })
    }
}

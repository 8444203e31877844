//! The lock table in PostgreSQL: live locks, holds and write latches,
//! loaded for one decision (after its claims, I14) and written back in the
//! same READ COMMITTED transaction.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use deadpool_postgres::{GenericClient, Pool};
use futures_util::future::try_join_all;
use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;

use super::rows::{
    Events, HOLD_COLUMNS, LATCH_COLUMNS, LOCK_COLUMNS, query_holds, query_latches, query_locks,
};
use super::{DECISION_ATTEMPTS, PostgresStore, begin, properties, retry_pause};
use crate::locks::{
    ActiveLock, Hold, LatchId, LockChange, LockCounts, LockTable, LockToken, ResourcePath,
    Timestamp, WriteLatch,
};
use crate::store::keys::{ancestor_keys, member_range, millis, timestamp};
use crate::store::{
    DeadProperty, Decision, EventContext, LockSelection, LockStore, Needs, StoreError, Submitted,
    Writes, event_kind,
};

/// The advisory lock key of a path: the first 8 bytes of its SHA-256.
/// Two paths may share a key; then their decisions wait for each other,
/// which costs time, never correctness.
fn claim_key(path_key: &str) -> i64 {
    let digest = Sha256::digest(path_key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// What a decision claims (I14): every ancestor of a selected path shared,
/// the path itself exclusive (shared when the selection only checks it),
/// sorted by key so that claims are always taken in one order.
fn claims(selections: &[LockSelection]) -> (Vec<i64>, Vec<bool>) {
    let mut claims: BTreeMap<i64, bool> = BTreeMap::new();
    for selection in selections {
        for ancestor in selection.path.ancestors() {
            claims.entry(claim_key(&ancestor.key())).or_insert(false);
        }
        let own = claims
            .entry(claim_key(&selection.path.key()))
            .or_insert(false);
        *own |= !selection.shared;
    }
    claims.into_iter().unzip()
}

/// The statements a decision reads with, built once.
struct Loads {
    locks_at: String,
    holds_at: String,
    latches_at: String,
    locks_below: String,
    holds_below: String,
    latches_below: String,
}

static LOADS: LazyLock<Loads> = LazyLock::new(|| {
    const LOCK_LIVE: &str = "expires_ms > $NOW";
    const HOLD_LIVE: &str = "(until_ms IS NULL OR until_ms > $NOW)";
    let at_keys = |columns: &str, table: &str, column: &str, live: &str| {
        format!("SELECT {columns} FROM {table} WHERE {column} = ANY($1) AND {live}")
            .replace("$NOW", "$2")
    };
    let in_range = |columns: &str, table: &str, column: &str, live: &str| {
        format!("SELECT {columns} FROM {table} WHERE {column} >= $1 AND {column} < $2 AND {live}")
            .replace("$NOW", "$3")
    };
    Loads {
        locks_at: at_keys(LOCK_COLUMNS, "active_lock", "root", LOCK_LIVE),
        holds_at: at_keys(HOLD_COLUMNS, "hold", "path", HOLD_LIVE),
        latches_at: at_keys(LATCH_COLUMNS, "write_latch", "path", LOCK_LIVE),
        locks_below: in_range(LOCK_COLUMNS, "active_lock", "root", LOCK_LIVE),
        holds_below: in_range(HOLD_COLUMNS, "hold", "path", HOLD_LIVE),
        latches_below: in_range(LATCH_COLUMNS, "write_latch", "path", LOCK_LIVE),
    }
});

/// What one read of the lock tables found.
type Found = (Vec<ActiveLock>, Vec<Hold>, Vec<WriteLatch>);

/// Locks, holds and (with `latches`) latches by the three queries `sql`,
/// sent together.
async fn find(
    client: &impl GenericClient,
    [locks, holds, latches_sql]: [&String; 3],
    params: &[&(dyn ToSql + Sync)],
    latches: bool,
) -> Result<Found, StoreError> {
    tokio::try_join!(
        query_locks(client, locks, params),
        query_holds(client, holds, params),
        async {
            match latches {
                true => query_latches(client, latches_sql, params).await,
                false => Ok(Vec::new()),
            }
        },
    )
}

/// The live locks and active holds the selections need (§6.1 coverage:
/// the paths and their ancestors; with members, the range below), and
/// the live latches with `latches`. The queries are awaited together, so
/// tokio-postgres sends them in one go: one round trip, not one each.
async fn load_selected(
    client: &impl GenericClient,
    selections: &[LockSelection],
    now: Timestamp,
    latches: bool,
) -> Result<LockTable, StoreError> {
    let keys = ancestor_keys(selections);
    let now = millis(now);
    let loads = &*LOADS;
    let at_keys = async {
        let params: [&(dyn ToSql + Sync); 2] = [&keys, &now];
        let sql = [&loads.locks_at, &loads.holds_at, &loads.latches_at];
        find(client, sql, &params, latches).await
    };
    let below = selections
        .iter()
        .filter(|s| s.with_members)
        .map(|selection| async {
            let (lo, hi) = member_range(&selection.path);
            let params: [&(dyn ToSql + Sync); 3] = [&lo, &hi, &now];
            let sql = [&loads.locks_below, &loads.holds_below, &loads.latches_below];
            find(client, sql, &params, latches).await
        });
    let (first, rest): (Found, Vec<Found>) = tokio::try_join!(at_keys, try_join_all(below))?;
    let mut table = LockTable::default();
    for (locks, holds, latches) in std::iter::once(first).chain(rest) {
        locks.into_iter().for_each(|lock| table.load(lock));
        holds.into_iter().for_each(|hold| table.load_hold(hold));
        latches
            .into_iter()
            .for_each(|latch| table.load_latch(latch));
    }
    Ok(table)
}

/// The statement that writes one journaled change, and its parameters.
fn change_statement(change: &LockChange) -> (String, Vec<Box<dyn ToSql + Sync + Send>>) {
    match change {
        LockChange::Insert(lock) => (
            format!(
                "INSERT INTO active_lock ({LOCK_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            vec![
                Box::new(lock.token.0.clone()),
                Box::new(lock.root.key()),
                Box::new(lock.scope.as_str()),
                Box::new(lock.depth.as_str()),
                Box::new(lock.owner.clone()),
                Box::new(lock.principal.clone()),
                Box::new(i64::try_from(lock.timeout_seconds).unwrap_or(i64::MAX)),
                Box::new(millis(lock.created)),
                Box::new(millis(lock.expires)),
                Box::new(lock.client.address.clone()),
                Box::new(lock.client.user_agent.clone()),
                Box::new(lock.root_is_collection),
                Box::new(i64::try_from(lock.fencing).unwrap_or(i64::MAX)),
            ],
        ),
        LockChange::Update(lock) => (
            "UPDATE active_lock SET timeout_seconds = $2, expires_ms = $3 WHERE token = $1"
                .to_owned(),
            vec![
                Box::new(lock.token.0.clone()),
                Box::new(i64::try_from(lock.timeout_seconds).unwrap_or(i64::MAX)),
                Box::new(millis(lock.expires)),
            ],
        ),
        LockChange::Remove(lock, _) => (
            "DELETE FROM active_lock WHERE token = $1".to_owned(),
            vec![Box::new(lock.token.0.clone())],
        ),
        LockChange::HoldSet(hold) => (
            format!(
                "INSERT INTO hold ({HOLD_COLUMNS}) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (path) DO UPDATE SET reason = $2, until_ms = $3, \
                     created_ms = $4, created_by = $5"
            ),
            vec![
                Box::new(hold.path.key()),
                Box::new(hold.reason.clone()),
                Box::new(hold.until.map(millis)),
                Box::new(millis(hold.created)),
                Box::new(hold.created_by.clone()),
            ],
        ),
        LockChange::HoldLifted(hold) => (
            "DELETE FROM hold WHERE path = $1".to_owned(),
            vec![Box::new(hold.path.key())],
        ),
        LockChange::Latch(latch) => (
            format!(
                "INSERT INTO write_latch ({LATCH_COLUMNS}) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (path, id) DO UPDATE SET expires_ms = $5"
            ),
            vec![
                Box::new(latch.id.0.clone()),
                Box::new(latch.path.key()),
                Box::new(latch.reach.as_str()),
                Box::new(latch.holder.clone()),
                Box::new(millis(latch.expires)),
            ],
        ),
    }
}

/// Writes a decision's changes and their audit events. The changes are
/// prepared first, then all are sent together (one round trip), the
/// events' one statement right behind them (its preparation, on a
/// connection's first use, comes after the changes too): PostgreSQL runs
/// them in the order sent. A change that waited for another
/// decision's row so gets a later event id: ids follow the order in which
/// changes took effect.
async fn write_changes(
    tx: &impl GenericClient,
    changes: &[LockChange],
    now: Timestamp,
    context: &EventContext,
) -> Result<(), StoreError> {
    let mut statements = Vec::with_capacity(changes.len());
    let mut events = Events::default();
    // Removals in a row (a broken or forgotten tree) are one statement, so
    // the lock counters' trigger runs once for them (migration 5).
    let removals = |a: &LockChange, b: &LockChange| {
        matches!((a, b), (LockChange::Remove(..), LockChange::Remove(..)))
    };
    for run in changes.chunk_by(removals) {
        let (sql, params) = match run {
            [change] => change_statement(change),
            removed => {
                let tokens: Vec<String> = removed.iter().filter_map(removed_token).collect();
                let params: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(tokens)];
                (
                    "DELETE FROM active_lock WHERE token = ANY($1)".to_owned(),
                    params,
                )
            }
        };
        // A refresh or UNLOCK from another URL in a lock's scope claims
        // other paths than one at its root: if the row changed since it
        // was read, the decision was taken on stale state. It runs again
        // (its events go with the rollback).
        let expected = match run {
            [
                LockChange::Update(_) | LockChange::Remove(..) | LockChange::HoldLifted(_),
                ..,
            ] => Some(run.len() as u64),
            _ => None,
        };
        statements.push((tx.prepare_cached(&sql).await?, params, expected));
        for change in run {
            push_event(&mut events, change, now);
        }
    }
    let writes = statements
        .iter()
        .map(|(statement, params, expected)| async move {
            let refs: Vec<&(dyn ToSql + Sync)> = params
                .iter()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let changed = tx.execute(statement, &refs).await?;
            if expected.is_some_and(|n| n != changed) {
                return Err(StoreError::busy(
                    "the lock table changed under the decision; deciding again",
                ));
            }
            Ok(())
        });
    tokio::try_join!(try_join_all(writes), events.record(tx, context))?;
    Ok(())
}

fn removed_token(change: &LockChange) -> Option<String> {
    match change {
        LockChange::Remove(lock, _) => Some(lock.token.0.clone()),
        _ => None,
    }
}

/// The audit event of a change, if it has one.
fn push_event(events: &mut Events, change: &LockChange, now: Timestamp) {
    let Some(kind) = event_kind(change) else {
        return;
    };
    match change {
        LockChange::Insert(lock) | LockChange::Update(lock) | LockChange::Remove(lock, _) => {
            let holder = lock.principal.as_deref();
            events.push(now, kind, &lock.root, Some(&lock.token), holder, None);
        }
        LockChange::HoldSet(hold) => {
            events.push(now, kind, &hold.path, None, None, Some(&hold.reason));
        }
        LockChange::HoldLifted(hold) => events.push(now, kind, &hold.path, None, None, None),
        LockChange::Latch(_) => {}
    }
}

/// Live locks in all, and those of `user`, as committed when the count
/// runs: nothing claims the whole table (that would make every LOCK wait
/// for every other), so on PostgreSQL a limit can be passed by LOCKs on
/// different paths decided at the same moment. Read from the counters the
/// triggers keep (migration 5): a few rows, however many locks are held.
async fn lock_counts(
    client: &impl GenericClient,
    user: Option<&str>,
) -> Result<LockCounts, StoreError> {
    let statement = client
        .prepare_cached(
            "SELECT (SELECT coalesce(sum(n), 0) FROM lock_total)::bigint, \
                    (SELECT coalesce(sum(n), 0) FROM lock_count WHERE principal = $1)::bigint",
        )
        .await?;
    let row = client.query_one(&statement, &[&user]).await?;
    let (total, of_user): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    Ok(LockCounts {
        total: u64::try_from(total).unwrap_or(0),
        of_user: u64::try_from(of_user).unwrap_or(0),
    })
}

/// The next fencing number: a sequence, so every node's next value is
/// larger than every value handed out before (I17). A refused or retried
/// decision leaves a gap, never a repeat.
async fn next_fencing(client: &impl GenericClient) -> Result<u64, StoreError> {
    let statement = client
        .prepare_cached("SELECT nextval('deadbolt_fencing')")
        .await?;
    let next: i64 = client.query_one(&statement, &[]).await?.try_get(0)?;
    Ok(u64::try_from(next).unwrap_or(0))
}

/// One decision (`LockStore::transact`) in one transaction, tried again
/// when it loses a race (see `in_decision`; written out here, without a
/// closure, so that the future can move to the store's runtime).
async fn decide_in_database<D>(
    pool: &Pool,
    needs: &Needs,
    now: Timestamp,
    context: &EventContext,
    decide: &mut D,
) -> Result<(), StoreError>
where
    D: FnMut(&mut LockTable) -> bool + ?Sized,
{
    let mut attempt = 1;
    loop {
        let result = async {
            let mut client = pool.get().await?;
            let tx = begin(&mut client).await?;
            if decide_once(&tx, needs, now, context, decide).await? {
                tx.commit().await?;
            }
            Ok::<(), StoreError>(())
        }
        .await;
        match result {
            Err(e) if e.is_busy() && attempt < DECISION_ATTEMPTS => {
                retry_pause(&mut attempt).await;
            }
            other => return other,
        }
    }
}

/// Claims the paths, reads what the decision needs (in one round trip),
/// decides and writes; true when there is something to commit.
async fn decide_once<D>(
    tx: &deadpool_postgres::Transaction<'_>,
    needs: &Needs,
    now: Timestamp,
    context: &EventContext,
    decide: &mut D,
) -> Result<bool, StoreError>
where
    D: FnMut(&mut LockTable) -> bool + ?Sized,
{
    let latches = needs.latches || needs.writes == Writes::LatchesOnly;
    let (keys, exclusive) = claims(&needs.selections);
    // The claims first, alone: what is read after them is what no
    // conflicting decision can change until this one commits.
    let claim = tx.prepare_cached("SELECT deadbolt_claim($1, $2)").await?;
    tx.execute(&claim, &[&keys, &exclusive]).await?;
    let (mut table, counts, fencing) = tokio::try_join!(
        load_selected(tx, &needs.selections, now, latches),
        async {
            match needs.counts {
                true => lock_counts(tx, context.actor.as_deref()).await.map(Some),
                false => Ok(None),
            }
        },
        async {
            match needs.fencing {
                true => next_fencing(tx).await.map(Some),
                false => Ok(None),
            }
        },
    )?;
    if let Some(counts) = counts {
        table.set_counts(counts);
    }
    if let Some(fencing) = fencing {
        table.set_fencing(fencing);
    }
    if !decide(&mut table) {
        return Ok(false);
    }
    let changes = table.take_changes();
    let latches_only = changes.iter().all(|c| matches!(c, LockChange::Latch(_)));
    if needs.writes == Writes::LatchesOnly && !latches_only {
        return Err(StoreError::database(
            "a latch-only decision changed locks or holds",
        ));
    }
    write_changes(tx, &changes, now, context).await?;
    Ok(true)
}

impl LockStore for PostgresStore {
    fn now(&self) -> Timestamp {
        self.database_now()
    }

    fn transact(
        &self,
        needs: &Needs,
        now: Timestamp,
        context: &EventContext,
        decide: &mut dyn FnMut(&mut LockTable) -> bool,
    ) -> Result<(), StoreError> {
        self.block(decide_in_database(&self.pool, needs, now, context, decide))
    }

    /// On the store's own runtime, from any async worker: no thread waits
    /// for the database meanwhile. The task holds the pool, not the store,
    /// so the runtime is never dropped by one of its own tasks.
    fn submit(self: Arc<Self>, decision: Decision) -> Submitted {
        let pool = self.pool.clone();
        let task = self.runtime.spawn(async move {
            let Decision {
                needs,
                now,
                context,
                mut decide,
            } = decision;
            decide_in_database(&pool, &needs, now, &context, &mut *decide).await
        });
        Box::pin(async move {
            task.await.map_err(|e| {
                StoreError::database(format!("the lock decision did not finish: {e}"))
            })?
        })
    }

    fn view(&self, selections: &[LockSelection], now: Timestamp) -> Result<LockTable, StoreError> {
        self.block(async {
            let client = self.pool.get().await?;
            load_selected(&client, selections, now, false).await
        })
    }

    fn view_with_properties(
        &self,
        selection: &LockSelection,
        now: Timestamp,
    ) -> Result<(LockTable, Vec<DeadProperty>), StoreError> {
        // Both statements go out on one connection before either answer
        // is read: one round trip instead of two.
        self.block(async {
            let client = self.pool.get().await?;
            let selections = std::slice::from_ref(selection);
            tokio::try_join!(
                load_selected(&client, selections, now, false),
                properties::read_all(&client, &selection.path),
            )
        })
    }

    fn view_children(
        &self,
        collection: &ResourcePath,
        now: Timestamp,
    ) -> Result<LockTable, StoreError> {
        self.block(async {
            let client = self.pool.get().await?;
            let selection = LockSelection::of(collection, false);
            let mut table = load_selected(&client, &[selection], now, false).await?;
            let (lo, hi) = member_range(collection);
            let sql = format!(
                "SELECT {LOCK_COLUMNS} FROM active_lock WHERE root >= $1 AND root < $2 \
                 AND expires_ms > $3 AND strpos(substr(root, length($1) + 1), '/') = 0"
            );
            for lock in query_locks(&client, &sql, &[&lo, &hi, &millis(now)]).await? {
                table.load(lock);
            }
            Ok(table)
        })
    }

    fn find_lock(
        &self,
        token: &LockToken,
        now: Timestamp,
    ) -> Result<Option<ActiveLock>, StoreError> {
        self.block(async {
            let client = self.pool.get().await?;
            let sql = format!(
                "SELECT {LOCK_COLUMNS} FROM active_lock WHERE token = $1 AND expires_ms > $2"
            );
            let mut found = query_locks(&client, &sql, &[&token.0, &millis(now)]).await?;
            Ok(found.pop())
        })
    }

    fn all_locks(&self, now: Timestamp) -> Result<Vec<ActiveLock>, StoreError> {
        self.block(async {
            let client = self.pool.get().await?;
            let sql = format!(
                "SELECT {LOCK_COLUMNS} FROM active_lock WHERE expires_ms > $1 ORDER BY root"
            );
            query_locks(&client, &sql, &[&millis(now)]).await
        })
    }

    fn next_expiry(&self) -> Result<Option<Timestamp>, StoreError> {
        self.block(async {
            let client = self.pool.get().await?;
            let next: Option<i64> = client
                .query_one("SELECT min(expires_ms) FROM active_lock", &[])
                .await?
                .get(0);
            Ok(next.map(timestamp))
        })
    }

    fn remove_expired(&self, now: Timestamp) -> Result<Vec<ActiveLock>, StoreError> {
        let expired = self.decision(async |tx| {
            // One node sweeps at a time; the others find the work done.
            let sweeping: bool = tx
                .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&SWEEP_LOCK])
                .await?
                .get(0);
            if !sweeping {
                return Ok(Some(Vec::new()));
            }
            let sql =
                format!("DELETE FROM active_lock WHERE expires_ms <= $1 RETURNING {LOCK_COLUMNS}");
            let expired = query_locks(tx, &sql, &[&millis(now)]).await?;
            let mut events = Events::default();
            for lock in &expired {
                let holder = lock.principal.as_deref();
                let token = Some(&lock.token);
                events.push(lock.expires, "expired", &lock.root, token, holder, None);
            }
            events.record(tx, &EventContext::default()).await?;
            tx.execute(
                "DELETE FROM write_latch WHERE expires_ms <= $1",
                &[&millis(now)],
            )
            .await?;
            tx.execute("DELETE FROM hold WHERE until_ms <= $1", &[&millis(now)])
                .await?;
            Ok(Some(expired))
        })?;
        Ok(expired.unwrap_or_default())
    }

    fn renew_latches(&self, ids: &[LatchId], expires: Timestamp) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = ids.iter().map(|id| id.0.clone()).collect();
        self.block(async {
            let client = self.pool.get().await?;
            client
                .execute(
                    "UPDATE write_latch SET expires_ms = $2 WHERE id = ANY($1)",
                    &[&ids, &millis(expires)],
                )
                .await?;
            Ok(())
        })
    }

    fn release_latch(&self, id: &LatchId) -> Result<(), StoreError> {
        self.block(async {
            let client = self.pool.get().await?;
            client
                .execute("DELETE FROM write_latch WHERE id = $1", &[&id.0])
                .await?;
            Ok(())
        })
    }
}

/// The advisory lock key of sweeping ("sweeping" in ASCII, as a number).
const SWEEP_LOCK: i64 = 0x7377_6565_7069_6e67;

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &str) -> ResourcePath {
        ResourcePath::from_segments(path.split('/').filter(|s| !s.is_empty())).unwrap()
    }

    #[test]
    fn claims_are_shared_on_ancestors_exclusive_on_targets_and_sorted() {
        let selections = [
            LockSelection::of(&p("/a/f"), false),
            LockSelection::checked(&p("/a")),
        ];
        let (keys, exclusive) = claims(&selections);
        let mode = |path: &str| {
            let at = keys
                .iter()
                .position(|k| *k == claim_key(path))
                .expect("claimed");
            exclusive[at]
        };
        assert_eq!(keys.len(), 3, "/, /a and /a/f, once each");
        assert!(
            !mode("/") && !mode("/a"),
            "ancestors and checked paths are shared"
        );
        assert!(mode("/a/f"), "the path a decision may change is exclusive");
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "taken in one order");
        // A path changed by one selection and checked by another: exclusive.
        let (_, exclusive) = claims(&[
            LockSelection::checked(&p("/a")),
            LockSelection::of(&p("/a"), true),
        ]);
        assert_eq!(exclusive.iter().filter(|e| **e).count(), 1);
    }
}

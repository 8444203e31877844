//! Rows of the lock tables to values and back, and the audit events' insert.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use crate::locks::{
    ActiveLock, Hold, LatchId, LockClient, LockDepth, LockScope, LockToken, Reach, ResourcePath,
    Timestamp, WriteLatch,
};
use crate::store::keys::{millis, path_from_key, timestamp};
use crate::store::{EventContext, StoreError};

pub const LOCK_COLUMNS: &str = "token, root, scope, depth, owner, principal, timeout_seconds, \
     created_ms, expires_ms, client_address, user_agent, root_is_collection, fencing";

pub const HOLD_COLUMNS: &str = "path, reason, until_ms, created_ms, created_by";

pub const LATCH_COLUMNS: &str = "id, path, reach, holder, expires_ms";

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub async fn query_locks(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<ActiveLock>, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    let mut locks = Vec::new();
    for row in client.query(&statement, params).await? {
        let scope: &str = row.try_get(2)?;
        let depth: &str = row.try_get(3)?;
        locks.push(ActiveLock {
            token: LockToken(row.try_get(0)?),
            root: path_from_key(row.try_get(1)?)?,
            // The schema allows only the names `as_str` writes.
            scope: LockScope::parse(scope).unwrap_or(LockScope::Exclusive),
            depth: LockDepth::parse(depth).unwrap_or(LockDepth::Infinity),
            owner: row.try_get(4)?,
            principal: row.try_get(5)?,
            timeout_seconds: u64::try_from(row.try_get::<_, i64>(6)?).unwrap_or(0),
            created: timestamp(row.try_get(7)?),
            expires: timestamp(row.try_get(8)?),
            client: LockClient {
                address: row.try_get(9)?,
                user_agent: row.try_get(10)?,
            },
            root_is_collection: row.try_get(11)?,
            fencing: u64::try_from(row.try_get::<_, i64>(12)?).unwrap_or(0),
        });
    }
    Ok(locks)
}

pub async fn query_holds(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Hold>, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    let mut holds = Vec::new();
    for row in client.query(&statement, params).await? {
        holds.push(Hold {
            path: path_from_key(row.try_get(0)?)?,
            reason: row.try_get(1)?,
            until: row.try_get::<_, Option<i64>>(2)?.map(timestamp),
            created: timestamp(row.try_get(3)?),
            created_by: row.try_get(4)?,
        });
    }
    Ok(holds)
}

pub async fn query_latches(
    client: &impl GenericClient,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<WriteLatch>, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    let mut latches = Vec::new();
    for row in client.query(&statement, params).await? {
        let reach: &str = row.try_get(2)?;
        latches.push(WriteLatch {
            id: LatchId(row.try_get(0)?),
            path: path_from_key(row.try_get(1)?)?,
            reach: Reach::parse(reach)
                .ok_or_else(|| StoreError::Corrupt(format!("latch reach {reach:?}")))?,
            holder: row.try_get(3)?,
            expires: timestamp(row.try_get(4)?),
        });
    }
    Ok(latches)
}

/// Audit events gathered for one statement: a decision's, or a sweep's.
/// One `INSERT` for all of them, so the counters' trigger runs once
/// (migration 4), and ids follow the order in which they were added.
#[derive(Default)]
pub struct Events {
    at_ms: Vec<i64>,
    kinds: Vec<&'static str>,
    paths: Vec<String>,
    tokens: Vec<Option<String>>,
    holders: Vec<Option<String>>,
    /// A hold's own reason; the others take the context's.
    reasons: Vec<Option<String>>,
}

/// The events' insert: the context's columns once, the rest as arrays.
const EVENTS_INSERT: &str = "INSERT INTO lock_event (at_ms, kind, path, token, holder, actor, \
     client_address, user_agent, reason) \
     SELECT e.at_ms, e.kind, e.path, e.token, e.holder, $7, $8, $9, coalesce(e.reason, $10) \
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) \
     WITH ORDINALITY AS e(at_ms, kind, path, token, holder, reason, n) ORDER BY e.n";

impl Events {
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    pub fn push(
        &mut self,
        at: Timestamp,
        kind: &'static str,
        path: &ResourcePath,
        token: Option<&LockToken>,
        holder: Option<&str>,
        reason: Option<&str>,
    ) {
        self.at_ms.push(millis(at));
        self.kinds.push(kind);
        self.paths.push(path.key());
        self.tokens.push(token.map(|t| t.0.clone()));
        self.holders.push(holder.map(str::to_owned));
        self.reasons.push(reason.map(str::to_owned));
    }

    /// Appends the events (nothing when there are none).
    pub async fn record(
        &self,
        client: &impl GenericClient,
        context: &EventContext,
    ) -> Result<(), StoreError> {
        if self.is_empty() {
            return Ok(());
        }
        let statement = client.prepare_cached(EVENTS_INSERT).await?;
        client
            .execute(
                &statement,
                &[
                    &self.at_ms,
                    &self.kinds,
                    &self.paths,
                    &self.tokens,
                    &self.holders,
                    &self.reasons,
                    &context.actor,
                    &context.client.address,
                    &context.client.user_agent,
                    &context.reason,
                ],
            )
            .await?;
        Ok(())
    }
}

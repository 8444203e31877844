//! Rows of the lock tables to values and back, and the audit event insert.

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

/// Appends one audit event.
/// The audit event insert (prepared ahead by writers that pipeline it).
pub const EVENT_INSERT: &str = "INSERT INTO lock_event (at_ms, kind, path, token, holder, actor, \
     client_address, user_agent, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub async fn record_event(
    client: &impl GenericClient,
    at: Timestamp,
    kind: &str,
    path: &ResourcePath,
    token: Option<&LockToken>,
    holder: Option<&str>,
    context: &EventContext,
) -> Result<(), StoreError> {
    let statement = client.prepare_cached(EVENT_INSERT).await?;
    client
        .execute(
            &statement,
            &[
                &millis(at),
                &kind,
                &path.key(),
                &token.map(LockToken::as_str),
                &holder,
                &context.actor,
                &context.client.address,
                &context.client.user_agent,
                &context.reason,
            ],
        )
        .await?;
    Ok(())
}

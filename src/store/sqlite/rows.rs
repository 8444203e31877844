//! Rows of the lock tables to values and back: the column lists, the
//! queries that read them, and the audit event insert.

use rusqlite::params;

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

fn lock_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(ActiveLock, String)> {
    let root: String = row.get(1)?;
    let scope: String = row.get(2)?;
    let depth: String = row.get(3)?;
    let lock = ActiveLock {
        token: LockToken(row.get(0)?),
        // Replaced by the parsed root (the row mapper cannot fail with ours).
        root: ResourcePath::root(),
        // The schema allows only the names `as_str` writes.
        scope: LockScope::parse(&scope).unwrap_or(LockScope::Exclusive),
        depth: LockDepth::parse(&depth).unwrap_or(LockDepth::Infinity),
        owner: row.get(4)?,
        principal: row.get(5)?,
        timeout_seconds: u64::try_from(row.get::<_, i64>(6)?).unwrap_or(0),
        created: timestamp(row.get(7)?),
        expires: timestamp(row.get(8)?),
        client: LockClient {
            address: row.get(9)?,
            user_agent: row.get(10)?,
        },
        root_is_collection: row.get::<_, i64>(11)? != 0,
        fencing: u64::try_from(row.get::<_, i64>(12)?).unwrap_or(0),
    };
    Ok((lock, root))
}

pub fn query_locks(
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

pub fn query_holds(
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
            until: until.map(timestamp),
            created: timestamp(created),
            created_by,
        });
    }
    Ok(())
}

pub fn query_latches(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    out: &mut Vec<WriteLatch>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, i64>(4)?,
        ))
    })?;
    for row in rows {
        let (id, path, reach, holder, expires) = row?;
        out.push(WriteLatch {
            id: LatchId(id),
            path: path_from_key(&path)?,
            reach: Reach::parse(&reach)
                .ok_or_else(|| StoreError::Corrupt(format!("latch reach {reach:?}")))?,
            holder,
            expires: timestamp(expires),
        });
    }
    Ok(())
}

/// Appends one audit event.
pub fn record_event(
    conn: &rusqlite::Connection,
    at: Timestamp,
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
        millis(at),
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

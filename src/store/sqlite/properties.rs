//! Dead properties: one row per (path, property), the whole element kept
//! as self-contained XML.

use rusqlite::params;

use super::{IN_TREE, SqliteStore};
use crate::authority::permit::WritePermit;
use crate::locks::ResourcePath;
use crate::store::keys::{member_prefix, member_range};
use crate::store::{
    CopyDepth, DeadProperty, MemberProperties, PatchOp, PropertyName, PropertyStore, StoreError,
    ensure_permitted,
};

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

/// The dead properties at `path`, read on `conn` (in its transaction, if
/// one is open).
pub(super) fn read_all(
    conn: &rusqlite::Connection,
    path: &ResourcePath,
) -> Result<Vec<DeadProperty>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT namespace, local, xml FROM dead_property WHERE path = ?1 ORDER BY namespace, local",
    )?;
    let rows = stmt.query_map([path.key()], |row| property_from_row(row, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl PropertyStore for SqliteStore {
    fn all(&self, path: &ResourcePath) -> Result<Vec<DeadProperty>, StoreError> {
        read_all(&*self.connection()?, path)
    }

    fn of_members(&self, collection: &ResourcePath) -> Result<MemberProperties, StoreError> {
        // One connection for the whole read: the pool is small and shared
        // by every request being answered.
        let conn = self.connection()?;
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
        let mut writer = self.writer();
        let conn = &mut writer.main;
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
        let writer = self.writer();
        let conn = &writer.main;
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
        let writer = self.writer();
        let conn = &writer.main;
        let (lo, hi) = member_range(from);
        conn.prepare_cached(&format!(
            "UPDATE OR REPLACE dead_property SET path = ?4 || substr(path, length(?5) + 1) WHERE {IN_TREE}"
        ))?
        .execute(params![from.key(), lo, hi, member_prefix(to), member_prefix(from)])?;
        Ok(())
    }

    fn forget(&self, permit: &WritePermit, paths: &[ResourcePath]) -> Result<(), StoreError> {
        let mut writer = self.writer();
        let conn = &mut writer.main;
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
        let writer = self.writer();
        let conn = &writer.main;
        let (lo, hi) = member_range(path);
        conn.prepare_cached(&format!("DELETE FROM dead_property WHERE {IN_TREE}"))?
            .execute(params![path.key(), lo, hi])?;
        Ok(())
    }
}

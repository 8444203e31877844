//! Dead properties: one row per (path, property), the whole element kept
//! as self-contained XML.

use deadpool_postgres::GenericClient;

use super::PostgresStore;
use crate::authority::permit::WritePermit;
use crate::locks::ResourcePath;
use crate::store::keys::{member_prefix, member_range};
use crate::store::{
    CopyDepth, DeadProperty, MemberProperties, PatchOp, PropertyName, PropertyStore, StoreError,
    ensure_permitted,
};

/// Rows at `$1` or in the range `[$2, $3)`.
const IN_TREE: &str = "(path = $1 OR (path >= $2 AND path < $3))";

fn property(row: &tokio_postgres::Row, first: usize) -> Result<DeadProperty, StoreError> {
    Ok(DeadProperty {
        name: PropertyName::new(
            row.try_get::<_, String>(first)?,
            row.try_get::<_, String>(first + 1)?,
        ),
        xml: row.try_get(first + 2)?,
    })
}

/// The dead properties at `path`, read on `client`.
pub(super) async fn read_all(
    client: &impl GenericClient,
    path: &ResourcePath,
) -> Result<Vec<DeadProperty>, StoreError> {
    let rows = client
        .query(
            "SELECT namespace, local, xml FROM dead_property WHERE path = $1 \
             ORDER BY namespace, local",
            &[&path.key()],
        )
        .await?;
    rows.iter().map(|row| property(row, 0)).collect()
}

impl PropertyStore for PostgresStore {
    fn all(&self, path: &ResourcePath) -> Result<Vec<DeadProperty>, StoreError> {
        self.block(async {
            let client = self.pool.get().await?;
            read_all(&client, path).await
        })
    }

    fn of_members(&self, collection: &ResourcePath) -> Result<MemberProperties, StoreError> {
        let (lo, hi) = member_range(collection);
        self.block(async {
            let client = self.pool.get().await?;
            let rows = client
                .query(
                    "SELECT substr(path, length($1) + 1), namespace, local, xml \
                     FROM dead_property WHERE path >= $1 AND path < $2 \
                       AND strpos(substr(path, length($1) + 1), '/') = 0 \
                     ORDER BY path, namespace, local",
                    &[&lo, &hi],
                )
                .await?;
            let mut members = MemberProperties::new();
            for row in &rows {
                let name: String = row.try_get(0)?;
                if !name.is_empty() {
                    members.entry(name).or_default().push(property(row, 1)?);
                }
            }
            Ok(members)
        })
    }

    fn patch(
        &self,
        permit: &WritePermit,
        path: &ResourcePath,
        ops: &[PatchOp],
    ) -> Result<(), StoreError> {
        ensure_permitted(permit, path)?;
        let key = path.key();
        self.block(async {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            for op in ops {
                match op {
                    PatchOp::Set(prop) => {
                        tx.execute(
                            "INSERT INTO dead_property (path, namespace, local, xml) \
                             VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (path, namespace, local) DO UPDATE SET xml = $4",
                            &[&key, &prop.name.namespace, &prop.name.local, &prop.xml],
                        )
                        .await?;
                    }
                    PatchOp::Remove(name) => {
                        tx.execute(
                            "DELETE FROM dead_property \
                             WHERE path = $1 AND namespace = $2 AND local = $3",
                            &[&key, &name.namespace, &name.local],
                        )
                        .await?;
                    }
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn copy(
        &self,
        permit: &WritePermit,
        from: &ResourcePath,
        to: &ResourcePath,
        depth: CopyDepth,
    ) -> Result<(), StoreError> {
        ensure_permitted(permit, to)?;
        let (lo, hi) = match depth {
            CopyDepth::Tree => member_range(from),
            CopyDepth::ResourceOnly => (String::new(), String::new()),
        };
        let (from_key, to_prefix, from_prefix) =
            (from.key(), member_prefix(to), member_prefix(from));
        self.block(async {
            let client = self.pool.get().await?;
            client
                .execute(
                    &format!(
                        "INSERT INTO dead_property (path, namespace, local, xml) \
                         SELECT $4 || substr(path, length($5) + 1), namespace, local, xml \
                         FROM dead_property WHERE {IN_TREE} \
                         ON CONFLICT (path, namespace, local) DO UPDATE SET xml = excluded.xml"
                    ),
                    &[&from_key, &lo, &hi, &to_prefix, &from_prefix],
                )
                .await?;
            Ok(())
        })
    }

    fn rename(
        &self,
        permit: &WritePermit,
        from: &ResourcePath,
        to: &ResourcePath,
    ) -> Result<(), StoreError> {
        ensure_permitted(permit, from)?;
        ensure_permitted(permit, to)?;
        let (lo, hi) = member_range(from);
        let (from_key, to_prefix, from_prefix) =
            (from.key(), member_prefix(to), member_prefix(from));
        self.block(async {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            // What is at the destination gives way, as UPDATE OR REPLACE
            // does in SQLite.
            tx.execute(
                "DELETE FROM dead_property d USING dead_property s \
                 WHERE (s.path = $1 OR (s.path >= $2 AND s.path < $3)) \
                   AND d.path = $4 || substr(s.path, length($5) + 1) \
                   AND d.namespace = s.namespace AND d.local = s.local",
                &[&from_key, &lo, &hi, &to_prefix, &from_prefix],
            )
            .await?;
            tx.execute(
                &format!(
                    "UPDATE dead_property SET path = $4 || substr(path, length($5) + 1) \
                     WHERE {IN_TREE}"
                ),
                &[&from_key, &lo, &hi, &to_prefix, &from_prefix],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn forget(&self, permit: &WritePermit, paths: &[ResourcePath]) -> Result<(), StoreError> {
        for path in paths {
            ensure_permitted(permit, path)?;
        }
        let keys: Vec<String> = paths.iter().map(ResourcePath::key).collect();
        self.block(async {
            let client = self.pool.get().await?;
            client
                .execute("DELETE FROM dead_property WHERE path = ANY($1)", &[&keys])
                .await?;
            Ok(())
        })
    }

    fn forget_tree(&self, permit: &WritePermit, path: &ResourcePath) -> Result<(), StoreError> {
        ensure_permitted(permit, path)?;
        let (lo, hi) = member_range(path);
        let key = path.key();
        self.block(async {
            let client = self.pool.get().await?;
            client
                .execute(
                    &format!("DELETE FROM dead_property WHERE {IN_TREE}"),
                    &[&key, &lo, &hi],
                )
                .await?;
            Ok(())
        })
    }
}

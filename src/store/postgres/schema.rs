//! The PostgreSQL schema and its versioned migrations.
//!
//! `deadbolt_schema.version` says which migrations a database has had.
//! They run in one transaction that first takes a transaction-level
//! advisory lock, so nodes starting at the same moment apply each migration
//! once: the others wait, then find the version already current.
//!
//! Paths are `COLLATE "C"`: a tree is the byte range `[key/, key0)`, which
//! only holds in byte order, whatever the database's default collation.

use crate::store::StoreError;

/// The advisory lock key of migrations ("deadbolt" in ASCII, as a number).
const MIGRATION_LOCK: i64 = 0x6465_6164_626f_6c74;

/// Migration `i` brings a database to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the tables.
    r#"
    CREATE TABLE dead_property (
        path      text COLLATE "C" NOT NULL,
        namespace text NOT NULL,
        local     text NOT NULL,
        xml       text NOT NULL,
        PRIMARY KEY (path, namespace, local)
    );

    CREATE TABLE active_lock (
        token              text PRIMARY KEY,
        root               text COLLATE "C" NOT NULL,
        scope              text NOT NULL CHECK (scope IN ('exclusive', 'shared')),
        depth              text NOT NULL CHECK (depth IN ('0', 'infinity')),
        owner              text,
        principal          text,
        timeout_seconds    bigint NOT NULL,
        created_ms         bigint NOT NULL,
        expires_ms         bigint NOT NULL,
        client_address     text,
        user_agent         text,
        root_is_collection boolean NOT NULL DEFAULT false
    );
    CREATE INDEX active_lock_root ON active_lock (root);
    CREATE INDEX active_lock_expiry ON active_lock (expires_ms);
    CREATE INDEX active_lock_principal ON active_lock (principal);

    CREATE TABLE hold (
        path       text COLLATE "C" PRIMARY KEY,
        reason     text NOT NULL,
        until_ms   bigint,
        created_ms bigint NOT NULL,
        created_by text
    );

    CREATE TABLE lock_event (
        id             bigserial PRIMARY KEY,
        at_ms          bigint NOT NULL,
        kind           text NOT NULL,
        path           text COLLATE "C" NOT NULL,
        token          text,
        holder         text,
        actor          text,
        client_address text,
        user_agent     text,
        reason         text
    );
    CREATE INDEX lock_event_path ON lock_event (path);
    CREATE INDEX lock_event_at ON lock_event (at_ms);

    -- Events per kind for the metrics, in shards (by backend) so that
    -- concurrent decisions on different connections update different rows.
    CREATE TABLE lock_event_count (
        kind  text NOT NULL,
        shard integer NOT NULL,
        n     bigint NOT NULL,
        PRIMARY KEY (kind, shard)
    );
    CREATE FUNCTION deadbolt_count_event() RETURNS trigger AS $$
    BEGIN
        INSERT INTO lock_event_count (kind, shard, n)
            VALUES (NEW.kind, pg_backend_pid() % 64, 1)
            ON CONFLICT (kind, shard) DO UPDATE SET n = lock_event_count.n + 1;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql;
    CREATE TRIGGER lock_event_counted AFTER INSERT ON lock_event
        FOR EACH ROW EXECUTE FUNCTION deadbolt_count_event();

    -- Writes in progress: no durability needed (a lapsed lease counts for
    -- nothing), so not logged.
    CREATE UNLOGGED TABLE write_latch (
        path       text COLLATE "C" NOT NULL,
        id         text NOT NULL,
        reach      text NOT NULL,
        holder     text NOT NULL,
        expires_ms bigint NOT NULL,
        PRIMARY KEY (path, id)
    );
    CREATE INDEX write_latch_id ON write_latch (id);
    "#,
    // 2: claims on paths (docs/locking.md I14): transaction-level advisory
    // locks, taken in the order given (the caller sorts them), so that two
    // decisions never wait for each other in a circle.
    r#"
    CREATE FUNCTION deadbolt_claim(keys bigint[], exclusive boolean[]) RETURNS void AS $$
    BEGIN
        FOR i IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
            IF exclusive[i] THEN
                PERFORM pg_advisory_xact_lock(keys[i]);
            ELSE
                PERFORM pg_advisory_xact_lock_shared(keys[i]);
            END IF;
        END LOOP;
    END
    $$ LANGUAGE plpgsql;
    "#,
    // 3: fencing tokens (docs/locking.md I17): each lock keeps the one it
    // was granted with, from one sequence every node draws on.
    r#"
    ALTER TABLE active_lock ADD COLUMN fencing bigint NOT NULL DEFAULT 0;
    CREATE SEQUENCE deadbolt_fencing;
    "#,
    // 4: events counted once per statement. A row trigger updated the same
    // counter row once per event, and each update of a row within one
    // transaction makes the next lookup walk one more version: a sweep or
    // a broken tree of N locks took O(N^2) (20,000 events: 2.4 s). Writers
    // insert a decision's events in one statement.
    r#"
    DROP TRIGGER lock_event_counted ON lock_event;
    DROP FUNCTION deadbolt_count_event();
    CREATE FUNCTION deadbolt_count_events() RETURNS trigger AS $$
    BEGIN
        INSERT INTO lock_event_count (kind, shard, n)
            SELECT kind, pg_backend_pid() % 64, count(*) FROM added GROUP BY kind
            ON CONFLICT (kind, shard) DO UPDATE SET n = lock_event_count.n + EXCLUDED.n;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql;
    CREATE TRIGGER lock_event_counted AFTER INSERT ON lock_event
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION deadbolt_count_events();
    "#,
    // 5: live locks counted, in all and per principal, for the lock limits
    // (a `count(*)` per LOCK read the whole table). Kept by statement-level
    // triggers in shards by backend, like the event counts; writers delete
    // a decision's locks in one statement. The triggers come first: they
    // lock the table against writes until the counts below are committed.
    r#"
    CREATE TABLE lock_total (
        shard integer PRIMARY KEY,
        n     bigint NOT NULL
    );
    CREATE TABLE lock_count (
        principal text NOT NULL,
        shard     integer NOT NULL,
        n         bigint NOT NULL,
        PRIMARY KEY (principal, shard)
    );
    CREATE FUNCTION deadbolt_locks_added() RETURNS trigger AS $$
    BEGIN
        INSERT INTO lock_total (shard, n) SELECT pg_backend_pid() % 64, count(*) FROM added
            ON CONFLICT (shard) DO UPDATE SET n = lock_total.n + EXCLUDED.n;
        INSERT INTO lock_count (principal, shard, n)
            SELECT principal, pg_backend_pid() % 64, count(*) FROM added
            WHERE principal IS NOT NULL GROUP BY principal ORDER BY principal
            ON CONFLICT (principal, shard) DO UPDATE SET n = lock_count.n + EXCLUDED.n;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql;
    CREATE FUNCTION deadbolt_locks_removed() RETURNS trigger AS $$
    BEGIN
        INSERT INTO lock_total (shard, n) SELECT pg_backend_pid() % 64, -count(*) FROM removed
            ON CONFLICT (shard) DO UPDATE SET n = lock_total.n + EXCLUDED.n;
        INSERT INTO lock_count (principal, shard, n)
            SELECT principal, pg_backend_pid() % 64, -count(*) FROM removed
            WHERE principal IS NOT NULL GROUP BY principal ORDER BY principal
            ON CONFLICT (principal, shard) DO UPDATE SET n = lock_count.n + EXCLUDED.n;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql;
    CREATE TRIGGER active_lock_added AFTER INSERT ON active_lock
        REFERENCING NEW TABLE AS added
        FOR EACH STATEMENT EXECUTE FUNCTION deadbolt_locks_added();
    CREATE TRIGGER active_lock_removed AFTER DELETE ON active_lock
        REFERENCING OLD TABLE AS removed
        FOR EACH STATEMENT EXECUTE FUNCTION deadbolt_locks_removed();
    INSERT INTO lock_total (shard, n) SELECT 0, count(*) FROM active_lock;
    INSERT INTO lock_count (principal, shard, n)
        SELECT principal, 0, count(*) FROM active_lock
        WHERE principal IS NOT NULL GROUP BY principal;
    "#,
];

/// The version a fully migrated database has.
pub const CURRENT_VERSION: i32 = MIGRATIONS.len() as i32;

/// Creates what is missing and applies the migrations a database lacks.
pub async fn migrate(client: &mut deadpool_postgres::Client) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS deadbolt_schema (version integer NOT NULL)")
        .await?;
    let version: i32 = match tx
        .query_opt("SELECT version FROM deadbolt_schema", &[])
        .await?
    {
        Some(row) => row.get(0),
        None => {
            tx.execute("INSERT INTO deadbolt_schema (version) VALUES (0)", &[])
                .await?;
            0
        }
    };
    if version > CURRENT_VERSION {
        return Err(StoreError::Corrupt(format!(
            "the database has deadbolt schema version {version}; this deadbolt knows up to \
             {CURRENT_VERSION} (a newer deadbolt wrote it)"
        )));
    }
    for (done, migration) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        tx.batch_execute(migration).await?;
        let version = i32::try_from(done + 1).unwrap_or(i32::MAX);
        tx.execute("UPDATE deadbolt_schema SET version = $1", &[&version])
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

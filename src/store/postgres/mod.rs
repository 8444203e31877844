//! The lock table, holds, latches, the audit trail and dead properties in
//! PostgreSQL, for several deadbolt nodes that act as one server.
//!
//! One lock decision is one transaction: it first claims the paths it is
//! about (advisory locks: shared on their ancestors, exclusive on each path
//! it may change), then reads what the decision needs (locks, holds,
//! latches near the paths), the core decides, the changes are written and
//! committed. Decisions that could see each other's changes claim a common
//! path in conflicting modes, so they run one after the other; the others
//! run side by side (docs/locking.md, I14, which also says why not
//! SERIALIZABLE). Time is the database server's: the offset
//! between this host's clock and it is measured when the store opens and
//! again now and then (`now`).
//!
//! The driver is tokio-postgres with a deadpool pool, on a small runtime of
//! the store's own: the store traits are synchronous (callers run them off
//! the async workers), and `block` waits for the database from any thread.

mod audit;
mod locks;
mod properties;
mod rows;
mod schema;
mod tls;

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::IsolationLevel;
use tokio_postgres::error::SqlState;

use crate::locks::Timestamp;
use crate::store::{StoreError, system_now};

/// Connections each node keeps to the database.
const POOL_SIZE: usize = 16;

/// How long a request waits for a free connection, or for a new one.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Attempts of one decision that loses serialization races.
const DECISION_ATTEMPTS: u32 = 12;

/// How often the offset to the database's clock is measured again.
const CLOCK_CHECK: Duration = Duration::from_secs(60);

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            // Lost a race with another decision: running it again decides
            // on the new state.
            Some(code)
                if *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || *code == SqlState::T_R_DEADLOCK_DETECTED
                    || *code == SqlState::LOCK_NOT_AVAILABLE =>
            {
                StoreError::busy(e)
            }
            // The server is going away or refuses connections.
            Some(code)
                if *code == SqlState::ADMIN_SHUTDOWN
                    || *code == SqlState::CRASH_SHUTDOWN
                    || *code == SqlState::CANNOT_CONNECT_NOW
                    || *code == SqlState::TOO_MANY_CONNECTIONS =>
            {
                StoreError::unavailable(e)
            }
            Some(_) => StoreError::database(e),
            // No SQLSTATE: the connection itself failed.
            None => StoreError::unavailable(e),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => StoreError::unavailable(other),
        }
    }
}

pub struct PostgresStore {
    pool: Pool,
    runtime: tokio::runtime::Runtime,
    /// The database's clock minus this host's, in milliseconds.
    clock_offset: AtomicI64,
    /// When the offset was last measured.
    clock_checked: std::sync::Mutex<Instant>,
}

/// The connection settings of `url` (`postgres://` or `postgresql://`, or
/// libpq's `key=value` form), with the password from `PGPASSWORD` when the
/// URL has none, and its TLS settings (`tls.rs`).
fn config_from(url: &str) -> Result<(tokio_postgres::Config, tls::TlsSettings), StoreError> {
    let (url, tls) = tls::split(url)?;
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Config(format!("invalid database URL: {e}")))?;
    if config.get_password().is_none() {
        if let Ok(password) = std::env::var("PGPASSWORD") {
            config.password(password);
        }
    }
    if config.get_user().is_none() {
        if let Ok(user) = std::env::var("PGUSER") {
            config.user(user);
        }
    }
    config.connect_timeout(CONNECT_TIMEOUT);
    Ok((config, tls))
}

impl PostgresStore {
    /// Connects to the database at `url`, creates or migrates the schema
    /// (safe when several nodes start at once) and measures its clock.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let (config, tls) = config_from(url)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("deadbolt-postgres")
            .enable_all()
            .build()
            .map_err(StoreError::database)?;
        let manager = Manager::from_config(
            config,
            tls::connector(&tls)?,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(StoreError::database)?;
        let store = Self {
            pool,
            runtime,
            clock_offset: AtomicI64::new(0),
            clock_checked: std::sync::Mutex::new(Instant::now()),
        };
        store.block(async {
            let mut client = store.pool.get().await?;
            schema::migrate(&mut client).await
        })?;
        store.measure_clock()?;
        Ok(store)
    }

    /// Runs `work` against the database and waits for it, from any thread:
    /// an async worker (the wait moves its other tasks elsewhere), a
    /// blocking-pool thread or a plain thread.
    fn block<F: Future>(&self, work: F) -> F::Output {
        let in_worker = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if in_worker {
            tokio::task::block_in_place(|| self.runtime.block_on(work))
        } else {
            self.runtime.block_on(work)
        }
    }

    fn measure_clock(&self) -> Result<(), StoreError> {
        let database = self.block(async {
            let client = self.pool.get().await?;
            let row = client
                .query_one(
                    "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint",
                    &[],
                )
                .await?;
            Ok::<i64, StoreError>(row.get(0))
        })?;
        let local = i64::try_from(system_now().0).unwrap_or(i64::MAX);
        self.clock_offset.store(database - local, Ordering::Relaxed);
        *self
            .clock_checked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
        Ok(())
    }

    /// The database's clock: this host's plus the measured offset, which is
    /// measured again every `CLOCK_CHECK`.
    fn database_now(&self) -> Timestamp {
        let due = self
            .clock_checked
            .lock()
            .map(|at| at.elapsed() >= CLOCK_CHECK)
            .unwrap_or(true);
        if due {
            if let Err(e) = self.measure_clock() {
                tracing::warn!(error = %e, "measuring the database's clock failed");
            }
        }
        let offset = self.clock_offset.load(Ordering::Relaxed);
        Timestamp(
            u64::try_from(i64::try_from(system_now().0).unwrap_or(i64::MAX) + offset).unwrap_or(0),
        )
    }

    /// Runs `work` in one transaction (see `in_decision`), from any thread.
    fn decision<T>(
        &self,
        work: impl AsyncFnMut(&deadpool_postgres::Transaction<'_>) -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.block(in_decision(&self.pool, work))
    }
}

/// Runs `work` in one transaction, committing when it returns `Ok(Some(_))`;
/// when the database reports a lost race (a deadlock, or `work` found a row
/// changed under it) it runs `work` again, so `work` must be re-runnable.
async fn in_decision<T>(
    pool: &Pool,
    mut work: impl AsyncFnMut(&deadpool_postgres::Transaction<'_>) -> Result<Option<T>, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut attempt = 1;
    loop {
        let result = async {
            let mut client = pool.get().await?;
            let tx = begin(&mut client).await?;
            let outcome = work(&tx).await?;
            if outcome.is_some() {
                tx.commit().await?;
            }
            Ok::<Option<T>, StoreError>(outcome)
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

/// Starts a decision's transaction: READ COMMITTED, since claims, not
/// snapshots, serialise decisions that could see each other (I14).
pub(super) async fn begin(
    client: &mut deadpool_postgres::Client,
) -> Result<deadpool_postgres::Transaction<'_>, StoreError> {
    Ok(client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await?)
}

/// Waits before the next attempt of a decision that lost a race, spread
/// so that the same racers do not meet again.
async fn retry_pause(attempt: &mut u32) {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8);
    let wait = Duration::from_millis(2 * u64::from(*attempt) + jitter);
    tokio::time::sleep(wait).await;
    *attempt += 1;
}

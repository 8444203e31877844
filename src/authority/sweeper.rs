//! Housekeeping for as long as the server runs: removes expired locks,
//! lapsed latches and ended holds, and prunes the audit trail. Expired
//! things are already ignored by every decision; this only frees them (and
//! records each lock's expiry in the audit trail). Several processes may
//! sweep one table: whoever comes first removes a row, the others find
//! nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{AuthorityError, LockService};
use crate::locks::Timestamp;

/// The longest the sweeper sleeps.
const SWEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The most time between two prunings of the audit trail.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

impl LockService {
    /// Removes what expired; returns the number of expired locks.
    pub fn sweep(&self) -> Result<usize, AuthorityError> {
        let expired = self.locks.remove_expired(self.now())?;
        if !expired.is_empty() {
            self.changed();
        }
        self.freed(&expired);
        Ok(expired.len())
    }

    /// Deletes audit events older than the retention (none without one).
    pub fn prune_history(&self) -> Result<u64, AuthorityError> {
        let Some(retention) = self.config.audit_retention else {
            return Ok(0);
        };
        let keep_ms = u64::try_from(retention.as_millis()).unwrap_or(u64::MAX);
        let before = Timestamp(self.now().0.saturating_sub(keep_ms));
        Ok(self.audit.prune_history(before)?)
    }

    /// How long the sweeper may sleep now.
    fn sweep_wait(&self) -> Duration {
        match self.locks.next_expiry() {
            Ok(next) => next.map_or(SWEEP_INTERVAL, |at| {
                Duration::from_millis(at.0.saturating_sub(self.now().0))
                    .clamp(Duration::from_millis(50), SWEEP_INTERVAL)
            }),
            Err(e) => {
                tracing::warn!(error = %e, "reading the next lock expiry failed");
                SWEEP_INTERVAL
            }
        }
    }

    /// Sweeps and prunes until the task is dropped.
    pub async fn run_sweeper(self: Arc<Self>) {
        let prune_every = self.config.audit_retention.map_or(PRUNE_INTERVAL, |r| {
            (r / 2).clamp(Duration::from_secs(1), PRUNE_INTERVAL)
        });
        let mut last_prune: Option<Instant> = None;
        loop {
            let service = Arc::clone(&self);
            let prune_due = last_prune.is_none_or(|at| at.elapsed() >= prune_every);
            let work = tokio::task::spawn_blocking(move || {
                let wait = service.sweep_wait();
                (wait, service)
            });
            let Ok((wait, service)) = work.await else {
                return;
            };
            tokio::time::sleep(wait).await;
            let swept = tokio::task::spawn_blocking(move || {
                let expired = service.sweep();
                let pruned = prune_due.then(|| service.prune_history());
                (expired, pruned)
            })
            .await;
            let Ok((expired, pruned)) = swept else {
                return;
            };
            match expired {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "removed expired locks"),
                Err(e) => tracing::warn!(error = %e, "sweeping expired locks failed"),
            }
            match pruned {
                None => {}
                Some(Ok(n)) => {
                    last_prune = Some(Instant::now());
                    if n > 0 {
                        tracing::info!(events = n, "pruned the audit trail");
                    }
                }
                Some(Err(e)) => tracing::warn!(error = %e, "pruning the audit trail failed"),
            }
        }
    }
}

//! Prometheus metrics, served at `/_deadbolt/metrics`.
//!
//! Request counts and durations are recorded as requests finish. Lock
//! figures are read from the state database at scrape time, so they also
//! count what the CLI and other processes did: `deadbolt_locks_held` (live
//! locks by scope) and `deadbolt_lock_events_total` (audit events by kind,
//! since the state directory was created).

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::LockStats;

type Labels = Vec<(String, String)>;

fn request_histogram() -> Histogram {
    // 0.25 ms .. ~8 s
    Histogram::new(exponential_buckets(0.00025, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    responses: Family<Labels, Counter>,
    durations: Family<Labels, Histogram, fn() -> Histogram>,
    locks_held: Family<Labels, Gauge>,
    lock_events: Family<Labels, Counter>,
    /// Serialises scrapes (the event counters are advanced to the stored totals).
    scrape: Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Methods get their own label; anything else is "other", so clients
/// cannot blow up the number of series.
fn method_label(method: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "OPTIONS",
        "GET",
        "HEAD",
        "PUT",
        "POST",
        "DELETE",
        "MKCOL",
        "COPY",
        "MOVE",
        "PROPFIND",
        "PROPPATCH",
        "LOCK",
        "UNLOCK",
    ];
    KNOWN
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("other")
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("deadbolt");
        let responses = Family::<Labels, Counter>::default();
        registry.register(
            "responses",
            "HTTP responses by status code",
            responses.clone(),
        );
        let durations =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(request_histogram);
        registry.register(
            "request_duration_seconds",
            "Time from request head to response head, by method",
            durations.clone(),
        );
        let locks_held = Family::<Labels, Gauge>::default();
        registry.register("locks_held", "Live locks by scope", locks_held.clone());
        let lock_events = Family::<Labels, Counter>::default();
        registry.register(
            "lock_events",
            "Lock events by kind (acquired, refreshed, released, expired, broken, removed-with-resource, hold-set, hold-released)",
            lock_events.clone(),
        );
        Self {
            registry,
            responses,
            durations,
            locks_held,
            lock_events,
            scrape: Mutex::new(()),
        }
    }

    /// Records one finished request.
    pub fn observe(&self, method: &str, status: u16, elapsed: Duration) {
        self.responses
            .get_or_create(&vec![("status".to_owned(), status.to_string())])
            .inc();
        self.durations
            .get_or_create(&vec![(
                "method".to_owned(),
                method_label(method).to_owned(),
            )])
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition, with lock figures from `stats`.
    pub fn render(&self, stats: &LockStats) -> String {
        let _scrape = self
            .scrape
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for scope in ["exclusive", "shared"] {
            let held = stats
                .held_by_scope
                .iter()
                .find(|(s, _)| s == scope)
                .map_or(0, |(_, n)| *n);
            self.locks_held
                .get_or_create(&vec![("scope".to_owned(), scope.to_owned())])
                .set(i64::try_from(held).unwrap_or(i64::MAX));
        }
        for (kind, total) in &stats.events_by_kind {
            let counter = self
                .lock_events
                .get_or_create(&vec![("kind".to_owned(), kind.clone())]);
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            tracing::error!("encoding metrics failed");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_requests_and_lock_figures() {
        let metrics = Metrics::new();
        metrics.observe("PUT", 423, Duration::from_millis(3));
        metrics.observe("BREW", 501, Duration::from_millis(1));
        let stats = LockStats {
            held_by_scope: vec![("exclusive".into(), 2)],
            events_by_kind: vec![("acquired".into(), 5), ("broken".into(), 1)],
        };
        let text = metrics.render(&stats);
        assert!(
            text.contains("deadbolt_responses_total{status=\"423\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("deadbolt_request_duration_seconds_count{method=\"PUT\"} 1"),
            "{text}"
        );
        assert!(text.contains("method=\"other\""), "{text}");
        assert!(
            text.contains("deadbolt_locks_held{scope=\"exclusive\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("deadbolt_locks_held{scope=\"shared\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("deadbolt_lock_events_total{kind=\"acquired\"} 5"),
            "{text}"
        );
        // A second scrape with higher totals advances the counters to them.
        let stats = LockStats {
            held_by_scope: vec![],
            events_by_kind: vec![("acquired".into(), 7)],
        };
        let text = metrics.render(&stats);
        assert!(
            text.contains("deadbolt_lock_events_total{kind=\"acquired\"} 7"),
            "{text}"
        );
    }
}

//! Telling systemd how the server is doing (`Type=notify`, see
//! `contrib/deadbolt.service`): ready once it listens, alive while its
//! event loop runs (the watchdog), stopping when it drains. Without
//! `NOTIFY_SOCKET` (not started by systemd) every call does nothing.

use std::time::Duration;

use sd_notify::NotifyState;

/// The server listens and serves.
pub fn ready(address: &str) {
    let status = format!("serving on {address}");
    notify(&[NotifyState::Ready, NotifyState::Status(&status)]);
}

/// The server stops taking requests and finishes those it has.
pub fn stopping() {
    notify(&[NotifyState::Stopping]);
}

/// With `WatchdogSec=` set, pings systemd at half the interval for as long
/// as the async event loop runs: a server stuck so that this task cannot
/// run is restarted by systemd.
pub fn spawn_watchdog() -> Option<tokio::task::JoinHandle<()>> {
    let interval = sd_notify::watchdog_enabled()?;
    let every = (interval / 2).max(Duration::from_millis(10));
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            ticks.tick().await;
            notify(&[NotifyState::Watchdog]);
        }
    }))
}

fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "could not notify systemd");
    }
}

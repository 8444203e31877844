//! Backing off password guessing. Every wrong password costs a bcrypt
//! check (a quarter of a second of CPU at cost 12), so a client address or
//! a user name that keeps failing is refused for a while (`429` with
//! `Retry-After`) before any check: the first few (`--login-failures`, 5
//! by default) are free, then each failure doubles the pause, up to
//! `MAX_PAUSE`. A success
//! forgets the address's and the user's failures.
//!
//! A signed-in user whose password passed before is never held up: that
//! password is remembered and checked without bcrypt, before this.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The longest pause.
pub const MAX_PAUSE: Duration = Duration::from_secs(300);
/// Failures older than this are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Records kept before old ones are swept (each is a few dozen bytes).
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    User(String),
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    paused_until: Option<Instant>,
}

/// The failure records of one server.
#[derive(Debug)]
pub struct Throttle {
    /// Failures of one address or user name before the pauses start.
    free_failures: u32,
    records: Mutex<HashMap<Key, Record>>,
}

/// Why a check may not be tried now, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paused {
    pub retry_after: Duration,
    /// "the address 10.0.0.7" or "the user alice".
    pub who: String,
}

fn keys(address: Option<IpAddr>, user: &str) -> Vec<Key> {
    let mut keys = vec![Key::User(user.to_owned())];
    keys.extend(address.map(Key::Address));
    keys
}

fn describe(key: &Key) -> String {
    match key {
        Key::Address(ip) => format!("the address {ip}"),
        Key::User(user) => format!("the user {user}"),
    }
}

/// The pause after `failures` failures, `free` of them free.
fn pause(failures: u32, free: u32) -> Option<Duration> {
    let over = failures.checked_sub(free)?;
    let seconds = 1u64.checked_shl(over).unwrap_or(u64::MAX);
    Some(Duration::from_secs(seconds).min(MAX_PAUSE))
}

impl Throttle {
    pub fn new(free_failures: u32) -> Self {
        Self {
            free_failures,
            records: Mutex::default(),
        }
    }

    fn records(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Record>> {
        // Each change is whole under the lock: a poisoned map is intact.
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Err` while `address` or `user` is paused.
    pub fn check(&self, address: Option<IpAddr>, user: &str, now: Instant) -> Result<(), Paused> {
        let records = self.records();
        for key in keys(address, user) {
            let until = records.get(&key).and_then(|r| r.paused_until);
            if let Some(until) = until.filter(|until| *until > now) {
                return Err(Paused {
                    retry_after: until - now,
                    who: describe(&key),
                });
            }
        }
        Ok(())
    }

    /// Records a wrong password; returns the pause it starts, if any.
    pub fn failed(&self, address: Option<IpAddr>, user: &str, now: Instant) -> Option<Paused> {
        let mut records = self.records();
        if records.len() > SWEEP_ABOVE {
            records.retain(|_, r| now.duration_since(r.last) < FORGET_AFTER);
        }
        let mut started = None;
        for key in keys(address, user) {
            let record = records.entry(key.clone()).or_insert(Record {
                failures: 0,
                last: now,
                paused_until: None,
            });
            if now.duration_since(record.last) >= FORGET_AFTER {
                record.failures = 0;
            }
            record.failures = record.failures.saturating_add(1);
            record.last = now;
            if let Some(pause) = pause(record.failures, self.free_failures) {
                record.paused_until = Some(now + pause);
                let longer = started
                    .as_ref()
                    .is_none_or(|p: &Paused| p.retry_after < pause);
                if longer {
                    started = Some(Paused {
                        retry_after: pause,
                        who: describe(&key),
                    });
                }
            }
        }
        started
    }

    /// A password passed: the address and the user start afresh.
    pub fn succeeded(&self, address: Option<IpAddr>, user: &str) {
        let mut records = self.records();
        for key in keys(address, user) {
            records.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    const FREE_FAILURES: u32 = 5;

    #[test]
    fn pauses_start_after_the_free_failures_and_double() {
        let t = Throttle::new(FREE_FAILURES);
        let now = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            assert_eq!(t.failed(IP, "bob", now), None);
            assert!(t.check(IP, "bob", now).is_ok());
        }
        let first = t.failed(IP, "bob", now).expect("paused");
        assert_eq!(first.retry_after, Duration::from_secs(1));
        assert!(t.check(IP, "bob", now).is_err());
        assert!(t.check(IP, "carol", now).is_err(), "the address is paused");
        assert!(
            t.check(None, "carol", now).is_ok(),
            "elsewhere carol is not"
        );
        let later = now + Duration::from_secs(1);
        assert!(t.check(IP, "bob", later).is_ok(), "the pause ends");
        let second = t.failed(IP, "bob", later).expect("paused");
        assert_eq!(second.retry_after, Duration::from_secs(2));
        for _ in 0..20 {
            t.failed(IP, "bob", later);
        }
        assert_eq!(
            t.check(IP, "bob", later).unwrap_err().retry_after,
            MAX_PAUSE
        );
        t.succeeded(IP, "bob");
        assert!(t.check(IP, "bob", later).is_ok(), "a success forgets");
    }

    #[test]
    fn old_failures_are_forgotten() {
        let t = Throttle::new(FREE_FAILURES);
        let now = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            t.failed(IP, "bob", now);
        }
        let much_later = now + FORGET_AFTER;
        assert_eq!(t.failed(IP, "bob", much_later), None, "counted afresh");
    }
}

//! Following the audit trail by id, for the lock event stream: what was
//! recorded after a cursor, oldest first, from this process or any other
//! sharing the state, with nothing skipped and nothing twice.
//!
//! A follower reads the events after its cursor up to a **horizon**: the
//! highest id below which every id is either visible or given up on. Ids
//! are drawn when an event is written and become visible when its
//! transaction commits; where writers commit one after the other (SQLite,
//! memory) a visible id means every lower one is visible too, but on
//! PostgreSQL concurrent transactions commit in any order, so id 7 may be
//! visible while 6 is still on its way (or was rolled back and never
//! comes). A missing id holds the horizon back until it appears or for the
//! store's `event_id_grace`, whichever comes first, so an event that
//! commits late is still delivered in order, and a rolled-back id delays
//! followers once by the grace (docs/locking.md, "Following the trail").
//! Without gaps, the horizon is simply the highest id visible.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{AuthorityError, LockService};
use crate::locks::ResourcePath;
use crate::store::{EventRange, LockEvent};

/// The most events (and ids) one read takes.
const BATCH: usize = 500;

/// Where a stream of lock events stands: the last id it has dealt with.
#[derive(Debug)]
pub struct Follower {
    /// Every id up to here was delivered, filtered out or given up on.
    cursor: u64,
    /// Events at this path or below it; `None`: all of them.
    path: Option<ResourcePath>,
    /// The first id of each gap waited for, and when it was first missed.
    gaps: BTreeMap<u64, Instant>,
}

/// What one read found.
#[derive(Debug, Default)]
pub struct Batch {
    /// In id order.
    pub events: Vec<LockEvent>,
    /// There is more to read at once (a read took a whole batch).
    pub more: bool,
    /// An id below a visible one is being waited for: read again soon.
    pub waiting: bool,
}

impl Follower {
    /// A follower of the events after `after` at `path` (and below it).
    pub fn new(after: u64, path: Option<ResourcePath>) -> Self {
        Self {
            cursor: after,
            path,
            gaps: BTreeMap::new(),
        }
    }

    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Reads what is new (blocking store calls). `now` is when the missing
    /// ids are timed from.
    pub fn next(&mut self, authority: &LockService, now: Instant) -> Result<Batch, AuthorityError> {
        let ids = authority.audit.event_ids_after(self.cursor, BATCH)?;
        let horizon = self.horizon(&ids, authority.audit.event_id_grace(), now);
        let mut batch = Batch {
            more: ids.len() == BATCH,
            ..Batch::default()
        };
        if horizon > self.cursor {
            batch.events = authority.audit.events_after(&EventRange {
                after: self.cursor,
                up_to: horizon,
                path: self.path.clone(),
                limit: BATCH,
            })?;
            match batch.events.last() {
                // A whole batch: the events after it up to the horizon are next.
                Some(last) if batch.events.len() == BATCH => {
                    self.cursor = last.id;
                    batch.more = true;
                }
                _ => self.cursor = horizon,
            }
            self.gaps = self.gaps.split_off(&self.cursor.saturating_add(1));
        }
        batch.waiting = !self.gaps.is_empty();
        Ok(batch)
    }

    /// The highest id up to which `ids` (the visible ids after the cursor,
    /// ascending) leave no gap still worth waiting for. Times every gap
    /// seen from the first time it is seen.
    fn horizon(&mut self, ids: &[u64], grace: Duration, now: Instant) -> u64 {
        let mut horizon = self.cursor;
        let mut expected = self.cursor.saturating_add(1);
        let mut blocked = false;
        for &id in ids {
            if id > expected {
                let since = *self.gaps.entry(expected).or_insert(now);
                blocked |= now.saturating_duration_since(since) < grace;
            }
            if !blocked {
                horizon = id;
            }
            expected = id.saturating_add(1);
        }
        horizon
    }
}

impl LockService {
    /// The id of the newest audit event: a stream that starts now follows
    /// from there.
    pub fn last_event_id(&self) -> Result<u64, AuthorityError> {
        Ok(self.audit.last_event_id()?)
    }

    /// A receiver that changes after every committed change of locks or
    /// holds made through this process (other processes are polled).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Tells this process's followers that the trail has grown.
    pub(super) fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: Duration = Duration::from_secs(2);

    #[test]
    fn without_gaps_the_horizon_is_the_highest_visible_id() {
        let mut f = Follower::new(4, None);
        assert_eq!(f.horizon(&[5, 6, 7], GRACE, Instant::now()), 7);
        assert_eq!(f.horizon(&[], GRACE, Instant::now()), 4);
        assert!(f.gaps.is_empty());
    }

    #[test]
    fn a_gap_holds_the_horizon_back_for_the_grace_only() {
        let t0 = Instant::now();
        let mut f = Follower::new(4, None);
        // 6 is not visible yet while 7 is.
        assert_eq!(f.horizon(&[5, 7, 8], GRACE, t0), 5);
        assert_eq!(f.horizon(&[5, 7, 8], GRACE, t0 + GRACE / 2), 5);
        // It comes: nothing was skipped.
        assert_eq!(f.horizon(&[5, 6, 7, 8], GRACE, t0 + GRACE / 2), 8);
        // It never comes (rolled back): given up on after the grace.
        let mut f = Follower::new(4, None);
        assert_eq!(f.horizon(&[5, 7], GRACE, t0), 5);
        assert_eq!(f.horizon(&[5, 7], GRACE, t0 + GRACE), 7);
    }

    #[test]
    fn without_a_grace_gaps_are_pruned_events_and_skipped_at_once() {
        let mut f = Follower::new(4, None);
        assert_eq!(f.horizon(&[90, 91], Duration::ZERO, Instant::now()), 91);
    }

    #[test]
    fn any_cursor_is_safe() {
        let mut f = Follower::new(u64::MAX, None);
        assert_eq!(f.horizon(&[], GRACE, Instant::now()), u64::MAX);
    }

    #[test]
    fn each_gap_is_timed_from_when_it_was_first_missed() {
        let t0 = Instant::now();
        let mut f = Follower::new(0, None);
        assert_eq!(f.horizon(&[2], GRACE, t0), 0);
        // A second gap appears later; the first is given up on first.
        assert_eq!(f.horizon(&[2, 4], GRACE, t0 + GRACE / 2), 0);
        assert_eq!(f.horizon(&[2, 4], GRACE, t0 + GRACE), 2);
        assert_eq!(f.horizon(&[2, 4], GRACE, t0 + GRACE * 3 / 2), 4);
    }
}

//! The writer thread: decisions submitted from the async workers
//! (`LockStore::submit`) queue here, and one thread runs them as groups
//! (`group.rs`) on the writer connections, answering each through a
//! oneshot once its group has committed.
//!
//! A request thus never occupies a blocking-pool thread nor waits in line
//! for the writer mutex (before, most of a LOCK's CPU went to threads
//! waking each other). The queue forms the groups by itself: whatever
//! arrived while one group ran is the next. Synchronous callers
//! (`transact`) still group among themselves on the same mutex; the
//! thread takes it per group, so the two never share a transaction.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Weak, mpsc};
use std::time::Duration;

use tokio::sync::oneshot;

use super::group::{GROUP_LIMIT, shared_failure};
use super::locks::{decision_work, locking_of};
use super::{SqliteStore, WRITE_ATTEMPTS};
use crate::store::{Decision, StoreError, Submitted};

/// A decision waiting for the writer thread.
pub(super) struct Queued {
    decision: Decision,
    answer: oneshot::Sender<Result<(), StoreError>>,
    /// Runs so far that found the database busy.
    attempt: u32,
}

impl SqliteStore {
    /// Queues `decision` for the writer thread (started on first use).
    pub(super) fn enqueue(self: Arc<Self>, decision: Decision) -> Submitted {
        let (answer, outcome) = oneshot::channel();
        let queue = self.queue.get_or_init(|| start(Arc::downgrade(&self)));
        let sent = queue.send(Queued {
            decision,
            answer,
            attempt: 1,
        });
        Box::pin(async move {
            if sent.is_err() {
                return Err(StoreError::database(
                    "the lock table's writer thread is gone",
                ));
            }
            outcome.await.unwrap_or_else(|_| {
                Err(StoreError::database(
                    "the lock decision failed midway (it panicked) and was rolled back",
                ))
            })
        })
    }

    /// Runs one group of queued decisions and answers them; returns those
    /// to run again (in the next group), and whether the database was busy.
    ///
    /// Decisions run without savepoints: a refused one has written nothing
    /// (`decision_work`), and one that fails midway (or panics) rolls the
    /// group back; the members before it then run again, first and in
    /// their order (decisions may run more than once).
    fn run_group(&self, group: Vec<Queued>) -> (Vec<Queued>, bool) {
        let mut writer = self.writer();
        let mut pending: VecDeque<Queued> = group.into();
        let mut members: Vec<(Queued, Result<Option<()>, StoreError>)> = Vec::new();
        let mut retry = Vec::new();
        let mut busy = false;
        while let Some(mut job) = pending.pop_front() {
            let Decision {
                needs,
                now,
                context,
                decide,
            } = &mut job.decision;
            let locking = locking_of(needs);
            let mut work = decision_work(needs, *now, context, &mut **decide);
            let decided = catch_unwind(AssertUnwindSafe(|| {
                writer.decide(locking, false, &mut work)
            }));
            drop(work);
            let failed_midway = decided.as_ref().map_or(true, |d| d.broken);
            if failed_midway {
                // Nothing of the group stays: its members run again.
                let _ = writer.end_group(false, 0);
                for (member, _) in members.drain(..).rev() {
                    pending.push_front(member);
                }
            }
            let Ok(decided) = decided else {
                // Its answer is dropped, which its receiver reports.
                tracing::error!("a lock decision panicked; its group was rolled back");
                continue;
            };
            match decided.outcome {
                Err(e) if e.is_busy() && job.attempt < WRITE_ATTEMPTS => {
                    job.attempt += 1;
                    busy = true;
                    retry.push(job);
                }
                outcome if decided.joined && !failed_midway => members.push((job, outcome)),
                outcome => {
                    let _ = job.answer.send(outcome.map(|_| ()));
                }
            }
        }
        let ended = writer.end_group(true, 0);
        drop(writer);
        answer_all(members.into_iter(), &ended);
        (retry, busy)
    }
}

/// Answers the members of an ended group: their own outcome if it
/// committed, the group's failure if not.
fn answer_all(
    members: impl Iterator<Item = (Queued, Result<Option<()>, StoreError>)>,
    ended: &Result<(), StoreError>,
) {
    for (job, outcome) in members {
        let answer = match ended {
            Ok(()) => outcome.map(|_| ()),
            Err(e) => Err(shared_failure(e)),
        };
        let _ = job.answer.send(answer);
    }
}

/// Starts the writer thread; it ends when the store is dropped (the queue's
/// sender goes with it).
fn start(store: Weak<SqliteStore>) -> mpsc::Sender<Queued> {
    let (sender, queue) = mpsc::channel();
    let started = std::thread::Builder::new()
        .name("deadbolt-lock-writer".into())
        .spawn(move || run(&store, &queue));
    if let Err(e) = started {
        // The receiver is gone with the closure: every send fails and
        // `enqueue` says so.
        tracing::error!(error = %e, "could not start the lock table's writer thread");
    }
    sender
}

fn run(store: &Weak<SqliteStore>, queue: &mpsc::Receiver<Queued>) {
    let mut retry: Vec<Queued> = Vec::new();
    loop {
        let mut group = std::mem::take(&mut retry);
        if group.is_empty() {
            match queue.recv() {
                Ok(first) => group.push(first),
                Err(_) => return,
            }
        }
        while group.len() < GROUP_LIMIT {
            match queue.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let Some(store) = store.upgrade() else { return };
        let busy;
        (retry, busy) = store.run_group(group);
        drop(store);
        if busy {
            // Another process holds the database: give it a moment.
            let attempt = retry.iter().map(|job| job.attempt).max().unwrap_or(1);
            std::thread::sleep(Duration::from_millis(20 * u64::from(attempt)));
        }
    }
}

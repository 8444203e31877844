//! Group commit: decisions that reach the writer while another is being
//! decided run one after another in one open transaction, each in a
//! savepoint of its own, and commit together.
//!
//! A commit is most of a decision's cost (every page it dirtied is written
//! to the WAL again, then a checkpoint now and then), and concurrent
//! decisions touch the same pages: the lock table's and the audit trail's
//! index pages. So a decision that finds others queued behind it leaves
//! the transaction open for them; the last of a group, or the one that
//! fills it, commits; every member waits for that commit before it
//! answers, because what it decided may rest on an earlier member's
//! change. A refused or failed decision rolls back to its savepoint and
//! leaves the group's other changes alone.
//!
//! Decisions submitted from async workers are grouped the same way by the
//! writer thread (`writer_thread.rs`), which takes the writer per group.
//!
//! Only decisions join groups. Anything else that writes (dead
//! properties, latch renewals) commits the open group before it starts
//! (`SqliteStore::writer`), so it always finds the connections idle.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use rusqlite::Connection;

use super::{Locking, SqliteStore, Writer};
use crate::store::StoreError;

/// Decisions in one group at most: bounds how long other processes wait
/// for the database's write lock.
pub(super) const GROUP_LIMIT: usize = 64;

/// The open group, if any, and how the groups before it ended.
#[derive(Debug)]
pub(super) struct Group {
    /// A transaction is open on the lock table (always `IMMEDIATE`).
    open: bool,
    /// ... and on the latch database.
    latches_open: bool,
    /// Decisions in the open group.
    members: usize,
    /// Number of the open (or next) group; groups end in this order.
    number: u64,
    /// Number of the last group that ended.
    ended: u64,
    /// Groups that failed, with how many waiting members have yet to learn it.
    failures: Vec<(u64, Failure, usize)>,
}

impl Default for Group {
    fn default() -> Self {
        Self {
            open: false,
            latches_open: false,
            members: 0,
            number: 1,
            ended: 0,
            failures: Vec::new(),
        }
    }
}

/// Why a group's commit failed, for every member.
#[derive(Debug, Clone)]
struct Failure {
    busy: bool,
    message: String,
}

impl Failure {
    fn of(e: &StoreError) -> Self {
        Self {
            busy: e.is_busy(),
            message: e.to_string(),
        }
    }

    fn error(&self) -> StoreError {
        let message = format!("the group commit failed: {}", self.message);
        match self.busy {
            true => StoreError::busy(message),
            false => StoreError::database(message),
        }
    }
}

/// How one decision went in its group.
pub(super) struct Decided<T> {
    pub(super) outcome: Result<Option<T>, StoreError>,
    /// It is a member: its answer waits for the group's commit.
    pub(super) joined: bool,
    /// A savepoint could not be released or rolled back: the group's
    /// transaction is not to be built on or committed.
    pub(super) broken: bool,
}

/// A group's failure as each of its members reports it.
pub(super) fn shared_failure(e: &StoreError) -> StoreError {
    Failure::of(e).error()
}

impl Writer {
    /// Ends the open group, if any: commits it (lock table first: see
    /// `SqliteStore::write_with`), or rolls it all back when `commit` is
    /// false; a failure is kept for the members waiting, `waiting` of them.
    pub(super) fn end_group(&mut self, commit: bool, waiting: usize) -> Result<(), StoreError> {
        if !self.group.open {
            return Ok(());
        }
        let mut result = match commit {
            true => run(&self.main, "COMMIT"),
            false => Err(StoreError::database(
                "a decision of the group failed midway; the group was rolled back",
            )),
        };
        if result.is_ok() && self.group.latches_open {
            result = run(&self.latches, "COMMIT");
        }
        if let Err(e) = &result {
            // Whatever did not commit is gone: nothing of the group stays.
            if !self.main.is_autocommit() {
                let _ = self.main.execute_batch("ROLLBACK");
            }
            if !self.latches.is_autocommit() {
                let _ = self.latches.execute_batch("ROLLBACK");
            }
            if waiting > 0 {
                self.group
                    .failures
                    .push((self.group.number, Failure::of(e), waiting));
            }
        }
        self.group.ended = self.group.number;
        self.group.number += 1;
        self.group.open = false;
        self.group.latches_open = false;
        self.group.members = 0;
        result
    }

    /// Commits the open group, for writes that are not decisions; true
    /// when there was one (its members are to be woken).
    pub(super) fn finish_group(&mut self) -> bool {
        if !self.group.open {
            return false;
        }
        let waiting = self.group.members;
        if let Err(e) = self.end_group(true, waiting) {
            tracing::warn!(error = %e, "a group of lock decisions failed to commit");
        }
        true
    }

    /// Joins (opening if needed) the group's transaction and runs `work` in
    /// a savepoint: kept on `Ok(Some(_))`, rolled back otherwise. Without
    /// `savepoint`, a refusal (`Ok(None)`) must have written nothing, and
    /// an error leaves the group `broken`: the caller rolls it all back.
    pub(super) fn decide<T>(
        &mut self,
        locking: Locking,
        savepoint: bool,
        work: &mut impl FnMut(&Connection, Option<&Connection>) -> Result<Option<T>, StoreError>,
    ) -> Decided<T> {
        let refused = |e: StoreError| Decided {
            outcome: Err(e),
            joined: false,
            broken: false,
        };
        if !self.group.open {
            if let Err(e) = run(&self.main, "BEGIN IMMEDIATE") {
                return refused(e);
            }
            self.group.open = true;
        }
        let wants_latches = locking != Locking::LockTable;
        if wants_latches && !self.group.latches_open {
            // After the lock table's lock, as every decision takes them.
            if let Err(e) = run(&self.latches, "BEGIN IMMEDIATE") {
                return refused(e);
            }
            self.group.latches_open = true;
        }
        if !savepoint {
            self.group.members += 1;
            let outcome = work(&self.main, wants_latches.then_some(&self.latches));
            let broken = outcome.is_err();
            return Decided {
                outcome,
                joined: true,
                broken,
            };
        }
        let connections = [
            Some(&self.main),
            self.group.latches_open.then_some(&self.latches),
        ];
        for connection in connections.into_iter().flatten() {
            if let Err(e) = run(connection, "SAVEPOINT decision") {
                // Nothing of this decision ran; a savepoint left open is
                // undone with the rest of the group.
                return Decided {
                    outcome: Err(e),
                    joined: false,
                    broken: true,
                };
            }
        }
        self.group.members += 1;
        let outcome = work(&self.main, wants_latches.then_some(&self.latches));
        let ending: &[&str] = match outcome {
            Ok(Some(_)) => &["RELEASE decision"],
            _ => &["ROLLBACK TO decision", "RELEASE decision"],
        };
        let broken = connections
            .into_iter()
            .flatten()
            .any(|c| ending.iter().any(|sql| run(c, sql).is_err()));
        Decided {
            outcome,
            joined: true,
            broken,
        }
    }
}

impl SqliteStore {
    /// Runs `work` as one decision of a group and returns once the group
    /// has committed (see the module's comment).
    pub(super) fn decide_in_group<T>(
        &self,
        locking: Locking,
        work: &mut impl FnMut(&Connection, Option<&Connection>) -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let decided = match catch_unwind(AssertUnwindSafe(|| writer.decide(locking, true, work))) {
            Ok(decided) => decided,
            Err(panic) => {
                // Its half-done changes must not be committed with the
                // others, and the members waiting must not wait forever.
                let waiting = writer.group.members.saturating_sub(1);
                let _ = writer.end_group(false, waiting);
                self.group_ended.notify_all();
                drop(writer);
                resume_unwind(panic);
            }
        };
        let number = writer.group.number;
        if !writer.group.open {
            return decided.outcome;
        }
        let last = self.queued.load(Ordering::SeqCst) == 0 || writer.group.members >= GROUP_LIMIT;
        if last || decided.broken {
            let waiting = writer.group.members - usize::from(decided.joined);
            let ended = writer.end_group(!decided.broken, waiting);
            self.group_ended.notify_all();
            return match (ended, decided.joined) {
                (Err(e), true) => Err(e),
                _ => decided.outcome,
            };
        }
        if !decided.joined {
            return decided.outcome;
        }
        // Another decision is on its way to the writer: it, or one after
        // it, commits this group.
        while writer.group.ended < number {
            writer = self
                .group_ended
                .wait(writer)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let failures = &mut writer.group.failures;
        match failures.iter().position(|(n, ..)| *n == number) {
            Some(i) => {
                let error = failures[i].1.error();
                failures[i].2 -= 1;
                if failures[i].2 == 0 {
                    failures.swap_remove(i);
                }
                Err(error)
            }
            None => decided.outcome,
        }
    }
}

/// Runs a statement of the group's bookkeeping, parsed once per connection.
fn run(connection: &Connection, sql: &str) -> Result<(), StoreError> {
    connection.prepare_cached(sql)?.execute([])?;
    Ok(())
}

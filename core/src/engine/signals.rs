//! In-process wake-ups: idle fetchers wake on an enqueue, result waiters on their job's end, and
//! running tasks on their cancellation, without waiting for a poll. Work written by another
//! process arrives through the store's event feed where it has one (`relay.rs`), else by polling
//! at the configured interval.

use crate::job::Job;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{watch, Notify};

/// Where the waiters of one job wait, and where its end is handed to them when it happens in
/// this process, so that they need not read it back from the store.
#[derive(Default)]
pub(crate) struct WaitSlot {
    pub(crate) notify: Notify,
    pub(crate) job: Mutex<Option<Job>>,
}

impl WaitSlot {
    /// The finished job, when this process saw it finish.
    pub(crate) fn take_finished(&self) -> Option<Job> {
        self.job.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[derive(Default)]
pub(crate) struct Signals {
    /// Woken whenever a job may have become claimable in this process.
    pub(crate) job_available: Notify,
    /// Woken when a schedule of this process was declared or changed, or this node became
    /// leader: the scheduler looks again at once.
    pub(crate) schedules_changed: Notify,
    /// Waiters of a job's end, by job id.
    finished: Mutex<HashMap<String, Arc<WaitSlot>>>,
    /// The cancel switch of the task holding each job in this process, by job id, with the lease
    /// it belongs to (a job rescued and claimed again replaces an older lease's switch).
    running: Mutex<HashMap<String, (i64, watch::Sender<bool>)>>,
}

impl Signals {
    /// The notifier for `job_id`'s end; pair with [`Signals::unwatch`].
    pub(crate) fn watch(&self, job_id: &str) -> Arc<WaitSlot> {
        let mut map = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(job_id.to_string()).or_default().clone()
    }

    /// Drops the caller's interest; the entry goes with its last waiter.
    pub(crate) fn unwatch(&self, job_id: &str, notify: Arc<WaitSlot>) {
        let mut map = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        drop(notify);
        if map.get(job_id).is_some_and(|n| Arc::strong_count(n) == 1) {
            map.remove(job_id);
        }
    }

    /// How many jobs have waiters (a leak check for tests).
    #[cfg(test)]
    pub(crate) fn watched(&self) -> usize {
        self.finished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Wakes the waiters of `job_id`, handing them the finished job when the caller has it.
    pub(crate) fn finished(&self, job_id: &str, job: Option<&Job>) {
        let map = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = map.get(job_id) {
            if let Some(job) = job {
                *slot.job.lock().unwrap_or_else(|p| p.into_inner()) = Some(job.clone());
            }
            slot.notify.notify_waiters();
        }
    }

    /// Wakes every result waiter, to read its job again (events may have been missed).
    pub(crate) fn wake_all_waiters(&self) {
        let map = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        for slot in map.values() {
            slot.notify.notify_waiters();
        }
    }

    /// Registers a task's cancel switch; returns the receiving end for the task.
    pub(crate) fn track_running(&self, job_id: &str, lease: i64) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        let old = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(job_id.to_string(), (lease, tx));
        // An older lease of the same job is lost by definition: tell its task.
        if let Some((_, old)) = old {
            let _ = old.send(true);
        }
        rx
    }

    /// Forgets a task's cancel switch once its worker let go of it; a newer lease's stays.
    pub(crate) fn untrack_running(&self, job_id: &str, lease: i64) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.get(job_id).is_some_and(|(l, _)| *l == lease) {
            running.remove(job_id);
        }
    }

    /// Tells the task holding `job_id` under `lease` in this process, if it still does, that its
    /// lease is gone; a newer lease's task is left alone.
    pub(crate) fn cancel_lease(&self, job_id: &str, lease: i64) {
        if let Some((l, tx)) = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(job_id)
        {
            if *l == lease {
                let _ = tx.send(true);
            }
        }
    }

    /// Tells the task holding `job_id` in this process, if any, that it was cancelled.
    pub(crate) fn cancel_running(&self, job_id: &str) {
        if let Some(tx) = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(job_id)
        {
            let _ = tx.1.send(true);
        }
    }
}

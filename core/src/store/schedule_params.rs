//! The params and results of the schedule calls of [`super::Store`], one struct per call.

use super::JobInsertParams;
use crate::job::EnqueueOptions;
use crate::schedule::{MissedPolicy, OverlapPolicy, Schedule, ScheduleStatus};

/// [`super::Store::schedule_upsert`]: a declaration, by name.
#[derive(Debug, Clone)]
pub struct ScheduleUpsertParams {
    /// The id a new schedule gets (ignored when the name exists).
    pub id: String,
    /// The unique name.
    pub name: String,
    /// The function its jobs run.
    pub function: String,
    /// The cron expression (already checked).
    pub cron: String,
    /// The time zone (already checked).
    pub timezone: String,
    /// Its jobs' args.
    pub args: Vec<u8>,
    /// Its jobs' options (already checked).
    pub options: EnqueueOptions,
    /// Missed-tick policy.
    pub missed: MissedPolicy,
    /// Overlap policy.
    pub overlap: OverlapPolicy,
    /// The first tick after `now_ms` under this expression and zone. An existing schedule keeps
    /// its stored next tick when neither its expression nor its zone changes.
    pub next_run_at: i64,
    /// Declaration time.
    pub now_ms: i64,
}

/// What [`super::Store::schedule_upsert`] did.
#[derive(Debug, Clone)]
pub struct ScheduleUpsertResult {
    /// The schedule after the call.
    pub schedule: Schedule,
    /// True when the name was new.
    pub created: bool,
}

/// [`super::Store::schedule_get`].
#[derive(Debug, Clone)]
pub struct ScheduleGetParams {
    /// An id, or else a name.
    pub id_or_name: String,
}

/// [`super::Store::schedule_list`].
#[derive(Debug, Clone)]
pub struct ScheduleListParams {
    /// Only these statuses; `None` lists all.
    pub status: Option<ScheduleStatus>,
    /// Page size, 1 to 1000.
    pub limit: u32,
    /// Rows skipped, ordered by name.
    pub offset: u32,
}

impl Default for ScheduleListParams {
    fn default() -> Self {
        ScheduleListParams {
            status: None,
            limit: 100,
            offset: 0,
        }
    }
}

/// A page of schedules with the total number of matches.
#[derive(Debug, Clone)]
pub struct ScheduleListResult {
    /// The page, ordered by name.
    pub schedules: Vec<Schedule>,
    /// Every match, across pages.
    pub total: u64,
}

/// [`super::Store::schedule_update`]: the whole new definition of one schedule, applied only if
/// the schedule is still at the version it was read at.
#[derive(Debug, Clone)]
pub struct ScheduleUpdateParams {
    /// The schedule's id.
    pub id: String,
    /// The version the caller read; a schedule written since is a Conflict.
    pub expected_version: i64,
    /// The cron expression (already checked).
    pub cron: String,
    /// The time zone (already checked).
    pub timezone: String,
    /// Its jobs' args.
    pub args: Vec<u8>,
    /// Its jobs' options (already checked).
    pub options: EnqueueOptions,
    /// Missed-tick policy.
    pub missed: MissedPolicy,
    /// Overlap policy.
    pub overlap: OverlapPolicy,
    /// Active or paused.
    pub status: ScheduleStatus,
    /// A new next tick, or `None` to keep the stored one.
    pub next_run_at: Option<i64>,
    /// Update time.
    pub now_ms: i64,
}

/// [`super::Store::schedule_due`].
#[derive(Debug, Clone)]
pub struct ScheduleDueParams {
    /// Active schedules whose next tick is at or before this are due.
    pub now_ms: i64,
    /// The most returned, earliest tick first.
    pub limit: u32,
}

/// [`super::Store::schedule_fire`]: one tick of one schedule, applied only if the schedule is
/// still active and still expects that tick.
#[derive(Debug, Clone)]
pub struct ScheduleFireParams {
    /// The schedule.
    pub schedule_id: String,
    /// The tick the caller read as due (the stored next tick): the guard against a second firing.
    pub expected_next_run_at: i64,
    /// The version the caller read: a schedule changed since (its function, args, options or
    /// policies) is not fired from the stale copy; the next pass reads it again.
    pub expected_version: i64,
    /// The tick after this firing.
    pub next_run_at: i64,
    /// The job to start, with the tick's idempotency key; `None` when the tick starts nothing
    /// (a skipped missed tick).
    pub job: Option<JobInsertParams>,
    /// The tick the job stands for (stored as the last run).
    pub run_tick: i64,
    /// Skip the job while the schedule's previous job is PENDING, RUNNING or FAILED.
    pub skip_if_running: bool,
}

/// What [`super::Store::schedule_fire`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleFireResult {
    /// False when the schedule moved on, was paused or deleted meanwhile: nothing was written.
    pub applied: bool,
    /// The job the tick started (an existing one if its key was used already).
    pub job_id: Option<String>,
    /// True when the job was inserted by this call (not found by its key).
    pub job_created: bool,
    /// True when the overlap policy skipped the job.
    pub skipped_overlap: bool,
}

//! The storage seam. A [`Store`] persists jobs, attempts and engine instances ("nodes"); the
//! engine above it owns wake-ups, leases in memory and maintenance schedules.
//!
//! Calls are named entity + verb and take one params struct each, so that a backend's SQL sits
//! beside a single, self-describing call. A store never reads the clock (`now_ms` is a param) and
//! never picks a status itself: it applies the decisions of [`crate::job::Transition`].
//!
//! Every backend must pass [`conformance`]: the same suite runs against SQLite and PostgreSQL.

pub mod conformance;
mod params;
#[cfg(feature = "postgres")]
pub mod postgres;
pub(crate) mod rules;
mod schedule_params;
pub mod sqlite;
mod step_params;

pub use params::*;
pub use schedule_params::*;
pub use step_params::*;

use crate::error::Result;
use crate::job::{Attempt, ClaimedJob, Job, Step, StepWaitOutcome};
use crate::schedule::Schedule;
use async_trait::async_trait;

/// The persistence of the engine.
///
/// All methods may be called concurrently from any task; a backend serialises writes as it must.
/// Every write is durable (per the configured durability mode) when its future resolves. Errors:
/// NotFound for an unknown job id, Conflict for a state the transition table refuses or a stale
/// lease, Unavailable when the storage is busy or unreachable, Internal for anything else. A call
/// that fails changes nothing.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Inserts a job, or returns the existing one with the same (name, idempotency key).
    /// Deduplication is enforced by a unique index, so it holds across threads and processes.
    /// With `claim` set, a new job that is due is also claimed, in the same transaction.
    async fn job_insert(&self, params: JobInsertParams) -> Result<JobInsertResult>;

    /// Reads one job. NotFound if the id is unknown.
    async fn job_get(&self, params: JobGetParams) -> Result<Job>;

    /// Lists jobs by filter with a total count of matches. `search` matches a job id or an
    /// idempotency key exactly.
    async fn job_list(&self, params: JobListParams) -> Result<JobListResult>;

    /// Claims up to `limit` due jobs (PENDING or FAILED with `run_at <= now`), highest priority
    /// first, then oldest `run_at`: each becomes RUNNING under a new lease and gets an attempt row.
    async fn job_claim_available(&self, params: JobClaimParams) -> Result<Vec<ClaimedJob>>;

    /// Applies a worker's outcome if the token still holds the job; otherwise Conflict, and nothing
    /// changes.
    async fn job_complete(&self, params: JobCompleteParams) -> Result<JobCompleteResult>;

    /// Extends the lease of a held job to `now + timeout`. Reports a cancelled job as such; any
    /// other loss of the lease is a Conflict.
    async fn job_heartbeat(&self, params: JobHeartbeatParams) -> Result<JobHeartbeatResult>;

    /// Hands a held job back: RUNNING to PENDING, due now, the attempt not counted.
    async fn job_release(&self, params: JobReleaseParams) -> Result<()>;

    /// Cancels a PENDING, FAILED or RUNNING job.
    async fn job_cancel(&self, params: JobCancelParams) -> Result<Job>;

    /// Puts a DEAD or CANCELLED job back to PENDING with its attempts reset.
    async fn job_retry(&self, params: JobRetryParams) -> Result<Job>;

    /// Fails every RUNNING job whose lease expired or whose node is listed as dead, as a lost
    /// attempt, following the retry policy.
    async fn job_rescue(&self, params: JobRescueParams) -> Result<Vec<JobRescued>>;

    /// Deletes finished jobs (and their attempts) completed before a time; returns how many.
    async fn job_prune(&self, params: JobPruneParams) -> Result<u64>;

    /// Jobs by status (every status) and the jobs that finished (SUCCESS, DEAD, CANCELLED) in
    /// each bucket of a window, by their completion time. Cheap on a large table: SQLite keeps
    /// the counts in a table maintained by triggers; the window reads the finished-jobs index.
    async fn job_stats(&self, params: JobStatsParams) -> Result<JobStats>;

    /// Every attempt of a job, oldest first.
    async fn attempt_list(&self, params: AttemptListParams) -> Result<Vec<Attempt>>;

    /// Registers an engine instance, or refreshes its heartbeat.
    async fn node_heartbeat(&self, params: NodeHeartbeatParams) -> Result<()>;

    /// Lists the registered engine instances.
    async fn node_list(&self) -> Result<Vec<Node>>;

    /// Removes engine instances (after their jobs were rescued).
    async fn node_delete(&self, params: NodeDeleteParams) -> Result<()>;

    /// Elects `node_id` leader, or renews its term, if there is no leader, the leader's term
    /// lapsed, the leader is among the dead nodes, or it is `node_id` already; otherwise leaves
    /// the leader be. One row, one statement: two nodes electing at once cannot both win.
    /// Returns the leader after the call.
    async fn leader_elect(&self, params: LeaderElectParams) -> Result<Leader>;

    /// The current leader, if any node holds the (possibly lapsed) term.
    async fn leader_get(&self) -> Result<Option<Leader>>;

    /// Ends `node_id`'s term, if it leads (a clean shutdown hands over at once).
    async fn leader_resign(&self, node_id: &str) -> Result<()>;

    /// Declares a schedule by name: inserts it, or updates the existing one's definition (its
    /// status, id and history are kept; its next tick too, unless the expression or the zone
    /// changed). The caller has checked the expression, zone and options.
    async fn schedule_upsert(&self, params: ScheduleUpsertParams) -> Result<ScheduleUpsertResult>;

    /// Reads a schedule by id, or else by name. NotFound if neither matches.
    async fn schedule_get(&self, params: ScheduleGetParams) -> Result<Schedule>;

    /// Lists schedules by name with a total count. InvalidArgument for a limit outside 1 to 1000.
    async fn schedule_list(&self, params: ScheduleListParams) -> Result<ScheduleListResult>;

    /// Writes a schedule's whole definition and status if it is still at `expected_version`.
    /// NotFound for an unknown id; Conflict when it was written since (nothing changes).
    async fn schedule_update(&self, params: ScheduleUpdateParams) -> Result<Schedule>;

    /// Deletes a schedule by id (the jobs it started stay). NotFound for an unknown id.
    async fn schedule_delete(&self, params: ScheduleGetParams) -> Result<()>;

    /// Active schedules whose next tick is due, earliest first.
    async fn schedule_due(&self, params: ScheduleDueParams) -> Result<Vec<Schedule>>;

    /// The earliest next tick of any active schedule, if there is one.
    async fn schedule_next_due(&self) -> Result<Option<i64>>;

    /// Fires one tick in one transaction: if the schedule is active, still at `expected_version`
    /// and its next tick is still `expected_next_run_at`, inserts the tick's job (deduplicated by its key; skipped by the
    /// overlap rule) and moves the schedule to `next_run_at`. Otherwise changes nothing and
    /// reports `applied: false`, which is how two firings of one tick cannot both apply.
    async fn schedule_fire(&self, params: ScheduleFireParams) -> Result<ScheduleFireResult>;

    /// Every recorded step of a job, in call order. Empty for an unknown job.
    async fn step_list(&self, params: StepListParams) -> Result<Vec<Step>>;

    /// Records the outcome of a run step, if the token still holds the job. If the place is
    /// taken by a finished step of the same name and kind, returns that one unchanged (the first
    /// record wins); a waiting step of the same name is overwritten. Conflict for a stale token,
    /// and for a place recorded under another name or kind (the steps changed order).
    async fn step_record(&self, params: StepRecordParams) -> Result<Step>;

    /// A wait step, in one transaction: if the token still holds the job, records the step as
    /// waiting (or keeps the recorded wait), then checks it. If the wait is over (the sleep
    /// ended, the event was sent, the deadline passed, the child finished) the step is finished
    /// and returned as `Done`. Otherwise the job is suspended: PENDING with `run_at` at the
    /// wake time ([`crate::job::WAKE_NEVER_MS`] if only a wake-up can resume it), the attempt
    /// ended as `suspended` and not counted, the lease cleared. Conflict as for `step_record`.
    async fn step_wait(&self, params: StepWaitParams) -> Result<StepWaitOutcome>;

    /// Stores an event under its key (a later send replaces the payload) and makes every job
    /// suspended on a wait for the key due now.
    async fn event_send(&self, params: EventSendParams) -> Result<EventSendResult>;

    /// Closes the store: pending writes finish, later calls fail with ShutDown. Idempotent.
    async fn close(&self);

    /// What other processes change, as the backend learns of it (PostgreSQL: LISTEN/NOTIFY),
    /// so that idle workers and result waiters wake without polling. None when the backend has
    /// no such feed (SQLite: other processes are seen by polling). Each call is a new receiver.
    fn events(&self) -> Option<tokio::sync::broadcast::Receiver<StoreEvent>> {
        None
    }
}

/// A change a backend reports from any process sharing the store (see [`Store::events`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreEvent {
    /// A job may have become claimable.
    JobAvailable,
    /// The job reached SUCCESS, DEAD or CANCELLED.
    JobFinished(String),
    /// The holder of this lease of the job lost it (cancelled or rescued): it must stop.
    LeaseLost {
        /// The job.
        job_id: String,
        /// The lost lease's fencing counter.
        lease: i64,
    },
    /// The feed was interrupted (a lost connection) and events may have been missed: wake
    /// everything and let it look.
    Resync,
}

impl StoreEvent {
    /// Parses a notification payload as the PostgreSQL store writes it; None for an unknown one.
    pub fn parse(payload: &str) -> Option<StoreEvent> {
        if payload == "a" {
            return Some(StoreEvent::JobAvailable);
        }
        if let Some(id) = payload.strip_prefix("f:") {
            return Some(StoreEvent::JobFinished(id.to_string()));
        }
        let rest = payload.strip_prefix("c:")?;
        let (id, lease) = rest.rsplit_once(':')?;
        Some(StoreEvent::LeaseLost {
            job_id: id.to_string(),
            lease: lease.parse().ok()?,
        })
    }
}

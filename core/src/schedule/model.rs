//! A schedule as callers declare it and as it is stored, its status and its policies.

use crate::error::{Error, Result};
use crate::job::EnqueueOptions;

/// Whether a schedule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScheduleStatus {
    /// Fires at every due tick.
    Active,
    /// Fires nothing until resumed; resuming continues from the first tick after the resume.
    Paused,
}

impl ScheduleStatus {
    /// The stored and wire spelling: `ACTIVE`, `PAUSED`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleStatus::Active => "ACTIVE",
            ScheduleStatus::Paused => "PAUSED",
        }
    }
}

impl std::str::FromStr for ScheduleStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_uppercase().as_str() {
            "ACTIVE" => Ok(ScheduleStatus::Active),
            "PAUSED" => Ok(ScheduleStatus::Paused),
            _ => Err(Error::invalid(format!(
                "schedule status must be 'active' or 'paused', got '{s}'"
            ))),
        }
    }
}

/// What happens to ticks that passed while no leader was running (every process was down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MissedPolicy {
    /// One catch-up job for the most recent missed tick; the older ones start nothing.
    #[default]
    RunLatest,
    /// A tick found more than [`MISSED_GRACE_MS`] late starts no job.
    Skip,
}

/// How late a tick may fire and still count as on time under [`MissedPolicy::Skip`].
pub const MISSED_GRACE_MS: i64 = 60_000;

impl MissedPolicy {
    /// The stored and wire spelling: `run_latest`, `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            MissedPolicy::RunLatest => "run_latest",
            MissedPolicy::Skip => "skip",
        }
    }
}

impl std::str::FromStr for MissedPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "" | "run_latest" => Ok(MissedPolicy::RunLatest),
            "skip" => Ok(MissedPolicy::Skip),
            _ => Err(Error::invalid(format!(
                "missed must be 'run_latest' or 'skip', got '{s}'"
            ))),
        }
    }
}

/// What a tick does while the job of the previous tick has not finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OverlapPolicy {
    /// Start the tick's job anyway.
    #[default]
    Allow,
    /// Start nothing while the previous job is PENDING, RUNNING or FAILED (awaiting a retry).
    Skip,
}

impl OverlapPolicy {
    /// The stored and wire spelling: `allow`, `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            OverlapPolicy::Allow => "allow",
            OverlapPolicy::Skip => "skip",
        }
    }
}

impl std::str::FromStr for OverlapPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "" | "allow" => Ok(OverlapPolicy::Allow),
            "skip" => Ok(OverlapPolicy::Skip),
            _ => Err(Error::invalid(format!(
                "overlap must be 'allow' or 'skip', got '{s}'"
            ))),
        }
    }
}

/// A schedule as a caller declares it (see `Engine::schedule_declare`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScheduleSpec {
    /// The schedule's unique name; empty means the function's name.
    pub name: String,
    /// The durable function its jobs run.
    pub function: String,
    /// The cron expression: 5 fields, 6 with seconds first, or a macro such as `@daily`.
    pub cron: String,
    /// An IANA time zone; `None` is UTC.
    pub timezone: Option<String>,
    /// The args of every job it starts (a UTF-8 JSON array by the SDKs' convention); empty is `[]`.
    pub args: Vec<u8>,
    /// The options of every job it starts. The idempotency key, delay and run time are the
    /// schedule's to set and must be `None`.
    pub options: EnqueueOptions,
    /// The missed-tick policy.
    pub missed: MissedPolicy,
    /// The overlap policy.
    pub overlap: OverlapPolicy,
}

/// A change to a schedule; `None` keeps the current value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScheduleChange {
    /// A new cron expression.
    pub cron: Option<String>,
    /// A new time zone.
    pub timezone: Option<String>,
    /// New args.
    pub args: Option<Vec<u8>>,
    /// New job options (replacing the old ones whole).
    pub options: Option<EnqueueOptions>,
    /// A new missed-tick policy.
    pub missed: Option<MissedPolicy>,
    /// A new overlap policy.
    pub overlap: Option<OverlapPolicy>,
}

/// A stored schedule. Times are Unix ms.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Its id (a UUIDv7).
    pub id: String,
    /// Its unique name.
    pub name: String,
    /// The durable function its jobs run.
    pub function: String,
    /// The cron expression as declared.
    pub cron: String,
    /// The IANA time zone.
    pub timezone: String,
    /// Active or paused.
    pub status: ScheduleStatus,
    /// The args of its jobs.
    pub args: Vec<u8>,
    /// The options of its jobs (no idempotency key, delay or run time).
    pub options: EnqueueOptions,
    /// The missed-tick policy.
    pub missed: MissedPolicy,
    /// The overlap policy.
    pub overlap: OverlapPolicy,
    /// The next tick it will fire (while active).
    pub next_run_at: i64,
    /// The tick of the last job it started, if any.
    pub last_run_at: Option<i64>,
    /// The last job it started, if any.
    pub last_job_id: Option<String>,
    /// When it was first declared.
    pub created_at: i64,
    /// When its definition or status last changed.
    pub updated_at: i64,
    /// Bumped by every write (declaration, update, firing): the guard that makes a write computed
    /// from a stale read apply nothing. 0 when read over gRPC (the wire does not carry it).
    pub version: i64,
}

impl Schedule {
    /// The idempotency key of the job of the tick at `tick_ms`: one job per (schedule, tick),
    /// whichever node fires it and however often.
    pub fn tick_key(&self, tick_ms: i64) -> String {
        format!("schedule:{}:{tick_ms}", self.id)
    }
}

/// Checks the job options a schedule carries: the same limits as an enqueue, and none of the
/// options that only a single call can mean. Errors: InvalidArgument naming the option.
pub fn validate_job_options(options: &EnqueueOptions, now_ms: i64) -> Result<()> {
    for (set, field) in [
        (options.idempotency_key.is_some(), "idempotency_key"),
        (options.delay_ms.is_some(), "delay_ms"),
        (options.run_at_ms.is_some(), "run_at_ms"),
    ] {
        if set {
            return Err(Error::invalid(format!(
                "a schedule's job options cannot set {field}: the schedule sets it for each tick"
            )));
        }
    }
    options.resolve(now_ms).map(|_| ())
}

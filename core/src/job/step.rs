//! Durable steps: the journal of a job's function. Each step call inside a handler (run a closure,
//! sleep, wait for an event, await a child job) has a place `seq` in call order and a name; the
//! first run records its outcome, and every later run of the job (a retry, a crash, a resume after
//! a sleep) gets the recorded outcome back instead of running it again.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// A far-future wake time, Unix ms (9999-12-31): a job that waits for an event without a timeout,
/// or for a child, is PENDING with this `run_at` until the event or the child wakes it.
pub const WAKE_NEVER_MS: i64 = 253_402_300_799_000;

/// What kind of call a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepKind {
    /// Runs code in the handler's process; its result or final error is recorded.
    Run,
    /// A durable sleep until a time.
    Sleep,
    /// A wait for an event by key, with an optional deadline.
    Event,
    /// A wait for another job (a child) to finish.
    Child,
}

impl StepKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Run => "run",
            StepKind::Sleep => "sleep",
            StepKind::Event => "event",
            StepKind::Child => "child",
        }
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StepKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        [
            StepKind::Run,
            StepKind::Sleep,
            StepKind::Event,
            StepKind::Child,
        ]
        .into_iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| {
            Error::invalid(format!(
                "step kind must be one of run, sleep, event, child; got '{s}'"
            ))
        })
    }
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepStatus {
    /// A sleep, event or child the job is suspended on.
    Waiting,
    /// Finished; `result` holds its value.
    Success,
    /// Finished with an error (after the step's own retries, or an event wait that timed out, or
    /// a child that ended DEAD or CANCELLED); `error` holds it.
    Failed,
}

impl StepStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Waiting => "WAITING",
            StepStatus::Success => "SUCCESS",
            StepStatus::Failed => "FAILED",
        }
    }
    /// SUCCESS or FAILED: a re-run returns the recorded outcome.
    pub fn is_finished(self) -> bool {
        !matches!(self, StepStatus::Waiting)
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StepStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        [StepStatus::Waiting, StepStatus::Success, StepStatus::Failed]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "step status must be one of WAITING, SUCCESS, FAILED; got '{s}'"
                ))
            })
    }
}

/// One recorded step of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The job.
    pub job_id: String,
    /// Its place in the function's call order, from 0.
    pub seq: u32,
    /// The name the function gave it.
    pub name: String,
    /// What kind of call it is.
    pub kind: StepKind,
    /// Where it is.
    pub status: StepStatus,
    /// The value of a SUCCESS step (opaque bytes; an event's payload, a child's result).
    pub result: Option<Vec<u8>>,
    /// The error of a FAILED step.
    pub error: Option<String>,
    /// How many times a run step's code ran before its outcome was recorded.
    pub attempts: u32,
    /// When the step was first reached, Unix ms.
    pub started_at: i64,
    /// When it finished.
    pub completed_at: Option<i64>,
    /// What a waiting step waits for: the event key, or the child job id.
    pub wait_key: Option<String>,
    /// When a waiting step wakes by itself: the sleep's end or the event wait's deadline.
    pub wake_at: Option<i64>,
}

/// The outcome a run step records.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// The code returned this value.
    Success(Vec<u8>),
    /// The code failed, after the step's own retries.
    Failure(String),
}

/// What a waiting step waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum StepWait {
    /// Until a time, Unix ms.
    Sleep {
        /// The end of the sleep.
        until_ms: i64,
    },
    /// Until an event with this key is sent, or the deadline passes.
    Event {
        /// The event's key.
        key: String,
        /// When to give up (the step fails with a timeout error); None waits forever.
        timeout_at_ms: Option<i64>,
    },
    /// Until another job reaches SUCCESS, DEAD or CANCELLED.
    Child {
        /// The child job's id.
        job_id: String,
    },
}

impl StepWait {
    /// The kind of step this wait is.
    pub fn kind(&self) -> StepKind {
        match self {
            StepWait::Sleep { .. } => StepKind::Sleep,
            StepWait::Event { .. } => StepKind::Event,
            StepWait::Child { .. } => StepKind::Child,
        }
    }
}

/// How a wait ended for the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum StepWaitOutcome {
    /// The wait is over (now or earlier): the step is finished; carry on with its outcome.
    Done(Step),
    /// The job was suspended: it is PENDING again until `wake_at` (or until woken), its attempt
    /// ended without counting, and the lease is gone. The handler must stop at once and report
    /// [`crate::Outcome::Suspended`] to free its slot.
    Suspended {
        /// When the job runs again by itself ([`WAKE_NEVER_MS`] when only a wake-up can resume it).
        wake_at: i64,
    },
}

/// The error a step call reports when the function called its steps in another order than the
/// recorded history. The text starts with `step order changed` in every language.
pub fn order_changed(job_id: &str, seq: u32, recorded: &str, called: &str) -> Error {
    Error::conflict(format!(
        "step order changed in job '{job_id}': step {seq} was recorded as '{recorded}' but this run calls '{called}' there; \
         a durable function must call its steps in the same order on every run"
    ))
}

/// The error message of an event wait that timed out.
pub fn event_timeout_message(key: &str) -> String {
    format!("timed out waiting for event '{key}'")
}

/// A run step's outcome as a worker reports it (see `Engine::step_record`).
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    /// The step's place in call order, from 0.
    pub seq: u32,
    /// The step's name.
    pub name: String,
    /// What the code returned, or its final error.
    pub outcome: StepOutcome,
    /// How many times the code ran (at least 1).
    pub attempts: u32,
    /// When its first try started, Unix ms.
    pub started_at: i64,
}

/// The error a step call reports when its place holds a step of another name or kind.
pub(crate) fn check_same_step(job_id: &str, step: &Step, name: &str, kind: StepKind) -> Result<()> {
    if step.name == name && step.kind == kind {
        return Ok(());
    }
    Err(order_changed(
        job_id,
        step.seq,
        &format!("{} ({})", step.name, step.kind),
        &format!("{name} ({kind})"),
    ))
}

//! Decisions every backend makes the same way, kept here so that the backends differ only in SQL:
//! refusing a stale lease token, naming a lost attempt, spreading rescue jitter, building step rows
//! and deciding how a wait ended.

use crate::error::{Error, Result};
use crate::job::{
    AttemptOutcome, JobStatus, Step, StepKind, StepOutcome, StepStatus, StepWait, WAKE_NEVER_MS,
};
use crate::store::{StepRecordParams, StepWaitParams};

/// Refuses a token that no longer holds the job (`status` and `held_lease` as stored, read under
/// the write lock), saying what happened to it. Conflict; nothing is changed.
pub(crate) fn check_lease(id: &str, status: JobStatus, held_lease: i64, lease: i64) -> Result<()> {
    if status == JobStatus::Running && held_lease == lease {
        return Ok(());
    }
    let why = if held_lease != lease {
        format!(
            "the job was claimed again since (lease {held_lease} now, the token is for lease {lease})"
        )
    } else {
        format!("the job is {status} now")
    };
    Err(Error::conflict(format!(
        "stale lease token for job '{id}': {why}; nothing was changed"
    )))
}

/// Who may write a job's journal: the lease that holds it (Ok(false)), or the lease whose wait
/// just suspended it (Ok(true)): a step running in parallel with that wait finishes after the
/// suspension, and its record (or its own wait's deadline) must not be lost. Such a job is
/// PENDING and still carries that lease, since every claim takes a new one. Anything else is a
/// stale token, refused as [`check_lease`] refuses it.
pub(crate) fn check_step_lease(
    id: &str,
    status: JobStatus,
    held_lease: i64,
    lease: i64,
) -> Result<bool> {
    if status == JobStatus::Pending && held_lease == lease && lease > 0 {
        return Ok(true);
    }
    check_lease(id, status, held_lease, lease).map(|()| false)
}

/// How a rescued attempt ended and the error stored for it: its process died (`dead_node`) or
/// its lease lapsed.
pub(crate) fn lost_attempt(
    attempt: u32,
    dead_node: Option<&str>,
    timeout_ms: i64,
) -> (AttemptOutcome, String) {
    match dead_node {
        Some(node) => (
            AttemptOutcome::WorkerLost,
            format!("attempt {attempt} lost: the process running it (node {node}) died"),
        ),
        None => (
            AttemptOutcome::TimedOut,
            format!(
                "attempt {attempt} timed out: no completion or heartbeat within {timeout_ms} ms"
            ),
        ),
    }
}

/// A per-job jitter sample from the call's one sample, so that the jobs of one dead node do not
/// all retry at the same instant. Deterministic for a given (sample, id).
pub(crate) fn spread_sample(sample: f64, id: &str) -> f64 {
    let h = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    let unit = ((sample + 1.0) / 2.0 + (h % 10_000) as f64 / 10_000.0).fract();
    unit * 2.0 - 1.0
}

/// Refuses a page size outside 1 to 1000 (InvalidArgument naming the value).
pub(crate) fn check_list_limit(limit: u32) -> Result<()> {
    if limit == 0 || limit > 1000 {
        return Err(Error::invalid(format!(
            "limit must be between 1 and 1000, got {limit}"
        )));
    }
    Ok(())
}

/// Refuses a stats window a backend should not compute (InvalidArgument naming the value).
pub(crate) fn check_stats(p: &super::JobStatsParams) -> Result<()> {
    if p.bucket_ms <= 0 || p.buckets == 0 || p.buckets > 1440 {
        return Err(Error::invalid(format!(
            "stats need a bucket of at least 1 ms and 1 to 1440 buckets, got {} ms and {}",
            p.bucket_ms, p.buckets
        )));
    }
    Ok(())
}

/// The row of a run step finished with `p`'s outcome.
pub(crate) fn finished_run_step(p: StepRecordParams) -> Step {
    let mut step = Step {
        job_id: p.job_id,
        seq: p.seq,
        name: p.name,
        kind: StepKind::Run,
        status: StepStatus::Waiting,
        result: None,
        error: None,
        attempts: p.attempts,
        started_at: p.started_at,
        completed_at: None,
        wait_key: None,
        wake_at: None,
    };
    finish_step(&mut step, p.outcome, p.now_ms);
    step
}

/// The row of a wait step, waiting.
pub(crate) fn waiting_step(p: &StepWaitParams, wait: &StepWait, started_at: i64) -> Step {
    let (wait_key, wake_at) = match wait {
        StepWait::Sleep { until_ms } => (None, Some(*until_ms)),
        StepWait::Event { key, timeout_at_ms } => (Some(key.clone()), *timeout_at_ms),
        StepWait::Child { job_id } => (Some(job_id.clone()), None),
    };
    Step {
        job_id: p.job_id.clone(),
        seq: p.seq,
        name: p.name.clone(),
        kind: wait.kind(),
        status: StepStatus::Waiting,
        result: None,
        error: None,
        attempts: 1,
        started_at,
        completed_at: None,
        wait_key,
        wake_at,
    }
}

/// Marks a step finished with an outcome.
pub(crate) fn finish_step(step: &mut Step, outcome: StepOutcome, now_ms: i64) {
    match outcome {
        StepOutcome::Success(v) => {
            step.status = StepStatus::Success;
            step.result = Some(v);
        }
        StepOutcome::Failure(e) => {
            step.status = StepStatus::Failed;
            step.error = Some(e);
        }
    }
    step.completed_at = Some(now_ms);
}

/// When a job suspended on `wait` becomes due by itself.
pub(crate) fn wake_at(wait: &StepWait) -> i64 {
    match wait {
        StepWait::Sleep { until_ms } => *until_ms,
        StepWait::Event { timeout_at_ms, .. } => timeout_at_ms.unwrap_or(WAKE_NEVER_MS),
        StepWait::Child { .. } => WAKE_NEVER_MS,
    }
}

/// The outcome of a wait for a child job in this state, if it finished.
pub(crate) fn child_outcome(
    id: &str,
    status: JobStatus,
    result: Option<Vec<u8>>,
    error: Option<String>,
) -> Option<StepOutcome> {
    match status {
        JobStatus::Success => Some(StepOutcome::Success(result.unwrap_or_default())),
        JobStatus::Dead => Some(StepOutcome::Failure(format!(
            "child job '{id}' failed: {}",
            error.unwrap_or_else(|| "no error recorded".into())
        ))),
        JobStatus::Cancelled => Some(StepOutcome::Failure(format!(
            "child job '{id}' was cancelled"
        ))),
        _ => None,
    }
}

/// The wait a recorded waiting step stands for (its key and deadline as first recorded).
pub(crate) fn recorded_wait(s: &Step) -> Result<StepWait> {
    let key = || {
        s.wait_key.clone().ok_or_else(|| {
            Error::internal(format!(
                "step {} of job '{}' has no wait key",
                s.seq, s.job_id
            ))
        })
    };
    Ok(match s.kind {
        StepKind::Sleep => StepWait::Sleep {
            until_ms: s.wake_at.unwrap_or(0),
        },
        StepKind::Event => StepWait::Event {
            key: key()?,
            timeout_at_ms: s.wake_at,
        },
        StepKind::Child => StepWait::Child { job_id: key()? },
        StepKind::Run => {
            return Err(Error::internal(format!(
                "step {} of job '{}' is a run step recorded as waiting",
                s.seq, s.job_id
            )))
        }
    })
}

/// Where a wait stands before its check: already finished, or to be checked (the wait that
/// counts, the step row to write, and whether that row is recorded already).
pub(crate) enum WaitStart {
    /// The place holds the finished step: return it.
    Done(Step),
    /// Check `wait`; `step` is the WAITING row (recorded already when `recorded`).
    Check {
        wait: StepWait,
        step: Step,
        recorded: bool,
    },
}

/// The first half of a wait, the same on every backend: refuses an order change, returns a
/// finished step, and keeps the wait as first recorded (a re-run does not move its deadline).
pub(crate) fn wait_start(p: &StepWaitParams, existing: Option<Step>) -> Result<WaitStart> {
    let Some(s) = existing else {
        return Ok(WaitStart::Check {
            wait: p.wait.clone(),
            step: waiting_step(p, &p.wait, p.now_ms),
            recorded: false,
        });
    };
    crate::job::check_same_step(&p.job_id, &s, &p.name, p.wait.kind())?;
    if s.status.is_finished() {
        return Ok(WaitStart::Done(s));
    }
    let wait = recorded_wait(&s)?;
    Ok(WaitStart::Check {
        step: waiting_step(p, &wait, s.started_at),
        wait,
        recorded: true,
    })
}

/// The outcome of a wait for event `key` given its stored payload, if it is over: the payload,
/// or a timeout failure once the deadline passed.
pub(crate) fn event_outcome(
    key: &str,
    payload: Option<Vec<u8>>,
    timeout_at_ms: Option<i64>,
    now_ms: i64,
) -> Option<StepOutcome> {
    match payload {
        Some(p) => Some(StepOutcome::Success(p)),
        None if timeout_at_ms.is_some_and(|t| now_ms >= t) => {
            Some(StepOutcome::Failure(crate::job::event_timeout_message(key)))
        }
        None => None,
    }
}

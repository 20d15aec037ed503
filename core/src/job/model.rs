//! The records the engine hands out: a job as stored, a claimed job, its lease token, an attempt.

use super::state::JobStatus;
use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// A job as stored. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The job id (a UUIDv7 string, time-ordered).
    pub id: String,
    /// The durable function's name.
    pub name: String,
    /// Opaque args (by SDK convention a UTF-8 JSON array).
    pub args: Vec<u8>,
    /// Current status.
    pub status: JobStatus,
    /// Claim priority; higher first.
    pub priority: i32,
    /// Attempts started so far (the current one while RUNNING); 0 before the first.
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// The retry policy.
    pub retry: super::RetryPolicy,
    /// Per-attempt timeout in ms.
    pub timeout_ms: u64,
    /// The idempotency key given at enqueue, if any.
    pub idempotency_key: Option<String>,
    /// The result of the successful attempt.
    pub result: Option<Vec<u8>>,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: i64,
    /// When the next attempt is due (PENDING, FAILED) or the current one became due.
    pub run_at: i64,
    /// When the latest attempt started.
    pub started_at: Option<i64>,
    /// When it reached SUCCESS, DEAD or CANCELLED.
    pub completed_at: Option<i64>,
    /// While RUNNING: when the lease lapses unless heartbeated.
    pub lease_expires_at: Option<i64>,
    /// While RUNNING: the worker holding it.
    pub worker_id: Option<String>,
}

/// Proof that a worker holds a job: the job id and the fencing counter of the claim. Every claim
/// of a job increments the counter, so a token from an earlier claim (lease lost, job rescued and
/// claimed again, job cancelled) never matches again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseToken {
    /// The job held.
    pub job_id: String,
    /// The fencing counter of the claim.
    pub lease: i64,
}

impl fmt::Display for LeaseToken {
    /// `<job_id>/<lease>`: the form the bindings pass around.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.job_id, self.lease)
    }
}

impl FromStr for LeaseToken {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(format!(
                "lease token must look like '<job_id>/<lease>', got '{s}'"
            ))
        };
        let (id, lease) = s.rsplit_once('/').ok_or_else(bad)?;
        let lease = lease.parse::<i64>().map_err(|_| bad())?;
        if id.is_empty() {
            return Err(bad());
        }
        Ok(LeaseToken {
            job_id: id.to_string(),
            lease,
        })
    }
}

/// A job claimed by a worker: what the handler needs, and the token to complete it with.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    /// The token to complete or heartbeat with.
    pub token: LeaseToken,
    /// The durable function's name.
    pub name: String,
    /// Opaque args.
    pub args: Vec<u8>,
    /// This attempt's number, 1-based.
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Per-attempt timeout in ms.
    pub timeout_ms: u64,
    /// When the lease lapses unless heartbeated, Unix ms.
    pub deadline_ms: i64,
    /// When the job was enqueued.
    pub created_at: i64,
    /// When this attempt became due (for queue-wait figures).
    pub run_at: i64,
}

/// How a worker reports an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The handler returned; the result is stored.
    Success(Vec<u8>),
    /// The handler failed. With `retryable: false` the job goes straight to DEAD.
    Failure {
        /// The error message kept as `last_error`.
        error: String,
        /// Whether another attempt may follow.
        retryable: bool,
    },
    /// The handler stopped because a step wait suspended the job (see
    /// [`crate::job::StepWaitOutcome::Suspended`]): the job was already handed back by that
    /// call, so this only frees the worker's slot. Nothing is written.
    Suspended,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The handler returned.
    Success,
    /// The handler failed.
    Failure,
    /// Nobody completed or heartbeated before the deadline.
    TimedOut,
    /// The worker's process died while holding it.
    WorkerLost,
    /// The job was cancelled while running.
    Cancelled,
    /// The worker shut down and handed the job back unrun or unfinished.
    Released,
    /// The handler suspended the job on a step wait (a sleep, an event, a child job).
    Suspended,
}

impl AttemptOutcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Success => "success",
            AttemptOutcome::Failure => "failure",
            AttemptOutcome::TimedOut => "timed_out",
            AttemptOutcome::WorkerLost => "worker_lost",
            AttemptOutcome::Cancelled => "cancelled",
            AttemptOutcome::Released => "released",
            AttemptOutcome::Suspended => "suspended",
        }
    }
    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            AttemptOutcome::Success,
            AttemptOutcome::Failure,
            AttemptOutcome::TimedOut,
            AttemptOutcome::WorkerLost,
            AttemptOutcome::Cancelled,
            AttemptOutcome::Released,
            AttemptOutcome::Suspended,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// One attempt of a job, kept as history.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The job.
    pub job_id: String,
    /// The attempt's number, 1-based.
    pub attempt: u32,
    /// The claim's fencing counter.
    pub lease: i64,
    /// The worker that claimed it.
    pub worker_id: String,
    /// The engine instance (process) that claimed it.
    pub node_id: String,
    /// When it started.
    pub started_at: i64,
    /// When it ended; `None` while running.
    pub finished_at: Option<i64>,
    /// How it ended; `None` while running.
    pub outcome: Option<AttemptOutcome>,
    /// The error, for failures.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_tokens_round_trip_and_reject_garbage() {
        let t = LeaseToken {
            job_id: "0190-abc".into(),
            lease: 7,
        };
        assert_eq!(t.to_string().parse::<LeaseToken>().unwrap(), t);
        for bad in ["", "abc", "/3", "abc/x"] {
            assert!(bad.parse::<LeaseToken>().is_err(), "{bad}");
        }
    }
}

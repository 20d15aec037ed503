//! The job state table. This module is the only place that decides which status a job moves to;
//! the stores execute its decisions and never pick a status themselves.
//!
//! ```text
//!   enqueue ──► PENDING ──claim──► RUNNING ──success──► SUCCESS
//!                 ▲  ▲              │ │ │
//!   release (shutdown)┘             │ │ └─failure or lost lease, attempts left──► FAILED ──claim──► RUNNING
//!                 │                 │ └───failure not retryable, or attempts exhausted──► DEAD
//!                 │                 └─────cancel (also from PENDING and FAILED)──────────► CANCELLED
//!                 └──────────── explicit retry (from DEAD or CANCELLED) ◄──────────────────┘
//! ```
//! A step wait that suspends (a durable sleep, an event wait, a child wait) takes the release edge
//! too: the job is PENDING with `run_at` at its wake time. See `docs/state-machine.md` for the same table in prose.

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// Where a job is in its life. Stored as its upper-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting; eligible once `run_at <= now`.
    Pending,
    /// Claimed by one worker under a lease.
    Running,
    /// An attempt failed; the next one is due at `run_at`.
    Failed,
    /// Done; the result is stored. Terminal.
    Success,
    /// Attempts exhausted or the error was not retryable. Terminal until an explicit retry.
    Dead,
    /// Cancelled before it finished. Terminal until an explicit retry.
    Cancelled,
}

impl JobStatus {
    /// Every status, in the order of the wire enum.
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Pending,
        JobStatus::Running,
        JobStatus::Success,
        JobStatus::Failed,
        JobStatus::Dead,
        JobStatus::Cancelled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "PENDING",
            JobStatus::Running => "RUNNING",
            JobStatus::Failed => "FAILED",
            JobStatus::Success => "SUCCESS",
            JobStatus::Dead => "DEAD",
            JobStatus::Cancelled => "CANCELLED",
        }
    }

    /// SUCCESS, DEAD and CANCELLED: an awaited result resolves here.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Success | JobStatus::Dead | JobStatus::Cancelled
        )
    }

    /// PENDING and FAILED: a worker may claim the job once it is due.
    pub fn is_claimable(self) -> bool {
        matches!(self, JobStatus::Pending | JobStatus::Failed)
    }

    /// Whether the table allows `self -> to`.
    pub fn can_move_to(self, to: JobStatus) -> bool {
        use JobStatus::*;
        matches!(
            (self, to),
            (Pending, Running)
                | (Pending, Cancelled)
                | (Failed, Running)
                | (Failed, Cancelled)
                | (Running, Success)
                | (Running, Failed)
                | (Running, Dead)
                | (Running, Cancelled)
                // a lease handed back on shutdown
                | (Running, Pending)
                | (Dead, Pending)
                | (Cancelled, Pending)
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        JobStatus::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "status must be one of PENDING, RUNNING, FAILED, SUCCESS, DEAD, CANCELLED; got '{s}'"
                ))
            })
    }
}

/// Why a running attempt ended without success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The handler failed and may be retried.
    Retryable,
    /// The handler failed and said not to retry.
    NotRetryable,
    /// Nobody completed or heartbeated before the lease expired, or the worker's process died.
    LeaseLost,
}

/// A decision of the state table: the status to write and, for a retry, the delay before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The new status.
    pub to: JobStatus,
    /// For FAILED, the milliseconds until the next attempt is due.
    pub retry_in_ms: Option<u64>,
}

impl Transition {
    /// A running attempt succeeded.
    pub fn on_success() -> Transition {
        Transition {
            to: JobStatus::Success,
            retry_in_ms: None,
        }
    }

    /// A running attempt (number `attempt`, 1-based) failed. `delay_ms` is the backoff the policy
    /// gives for this attempt; it is used only when the job goes to FAILED.
    pub fn on_failure(
        attempt: u32,
        max_attempts: u32,
        kind: FailureKind,
        delay_ms: u64,
    ) -> Transition {
        let exhausted = attempt >= max_attempts;
        if kind == FailureKind::NotRetryable || exhausted {
            Transition {
                to: JobStatus::Dead,
                retry_in_ms: None,
            }
        } else {
            Transition {
                to: JobStatus::Failed,
                retry_in_ms: Some(delay_ms),
            }
        }
    }

    /// A cancel request for a job in `from`. PENDING, FAILED and RUNNING jobs are cancelled; a
    /// finished job is a Conflict.
    pub fn on_cancel(id: &str, from: JobStatus) -> Result<Transition> {
        if from.can_move_to(JobStatus::Cancelled) {
            Ok(Transition {
                to: JobStatus::Cancelled,
                retry_in_ms: None,
            })
        } else {
            Err(Error::conflict(format!(
                "job '{id}' is {from}; only PENDING, FAILED or RUNNING jobs can be cancelled"
            )))
        }
    }

    /// A running attempt handed back without failing: on shutdown (due now) or suspended on a
    /// step wait (sleep, event, child; due at its wake time). PENDING, the attempt not counted.
    pub fn on_suspend() -> Transition {
        Transition {
            to: JobStatus::Pending,
            retry_in_ms: None,
        }
    }

    /// An explicit retry of a job in `from`: DEAD and CANCELLED go back to PENDING.
    pub fn on_retry(id: &str, from: JobStatus) -> Result<Transition> {
        if matches!(from, JobStatus::Dead | JobStatus::Cancelled) {
            Ok(Transition {
                to: JobStatus::Pending,
                retry_in_ms: None,
            })
        } else {
            Err(Error::conflict(format!(
                "job '{id}' is {from}; only DEAD or CANCELLED jobs can be retried"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobStatus::*;

    #[test]
    fn terminal_and_claimable_partition_the_states() {
        for s in JobStatus::ALL {
            assert!(!(s.is_terminal() && s.is_claimable()), "{s}");
        }
        assert!(Success.is_terminal() && Dead.is_terminal() && Cancelled.is_terminal());
        assert!(Pending.is_claimable() && Failed.is_claimable());
        assert!(!Running.is_terminal() && !Running.is_claimable());
    }

    #[test]
    fn success_is_final() {
        for to in JobStatus::ALL {
            assert!(!Success.can_move_to(to), "SUCCESS -> {to} must be refused");
        }
    }

    #[test]
    fn failure_retries_until_attempts_are_exhausted() {
        let t = Transition::on_failure(1, 3, FailureKind::Retryable, 500);
        assert_eq!(t.to, Failed);
        assert_eq!(t.retry_in_ms, Some(500));
        let t = Transition::on_failure(2, 3, FailureKind::LeaseLost, 900);
        assert_eq!(t.to, Failed);
        let t = Transition::on_failure(3, 3, FailureKind::Retryable, 500);
        assert_eq!(t.to, Dead);
        assert_eq!(t.retry_in_ms, None);
    }

    #[test]
    fn not_retryable_goes_straight_to_dead() {
        let t = Transition::on_failure(1, 10, FailureKind::NotRetryable, 500);
        assert_eq!(t.to, Dead);
    }

    #[test]
    fn cancel_and_retry_follow_the_table() {
        for from in [Pending, Failed, Running] {
            assert_eq!(Transition::on_cancel("j", from).unwrap().to, Cancelled);
        }
        for from in [Success, Dead, Cancelled] {
            let e = Transition::on_cancel("j", from).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Conflict);
            assert!(e.message().contains(from.as_str()));
        }
        for from in [Dead, Cancelled] {
            assert_eq!(Transition::on_retry("j", from).unwrap().to, Pending);
        }
        for from in [Pending, Running, Failed, Success] {
            assert!(Transition::on_retry("j", from).is_err(), "{from}");
        }
    }

    #[test]
    fn status_names_round_trip() {
        for s in JobStatus::ALL {
            assert_eq!(s.as_str().parse::<JobStatus>().unwrap(), s);
        }
        let e = "DONE".parse::<JobStatus>().unwrap_err();
        assert!(e.message().contains("DONE"));
    }
}

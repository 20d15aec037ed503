//! Decisions every backend makes the same way, kept here so that the backends differ only in SQL:
//! refusing a stale lease token, naming a lost attempt, spreading rescue jitter.

use crate::error::{Error, Result};
use crate::job::{AttemptOutcome, JobStatus};

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

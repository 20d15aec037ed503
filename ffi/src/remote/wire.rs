//! Wire messages to engine types, and gRPC statuses back to engine errors, so that a remote
//! caller sees exactly what an embedded one would.

use reseolio_core::{
    job::AttemptOutcome, Attempt, Backoff, ClaimedJob, Error, ErrorKind, Job, JobStatus, Result,
};
use reseolio_proto as pb;
use tonic::{Code, Status};

/// The error kind the sidecar put in the metadata, or one derived from the status code.
pub(crate) fn error(s: Status) -> Error {
    let from_meta = s
        .metadata()
        .get("reseolio-error-kind")
        .and_then(|v| v.to_str().ok())
        .and_then(ErrorKind::parse);
    let kind = from_meta.unwrap_or(match s.code() {
        Code::InvalidArgument | Code::OutOfRange => ErrorKind::InvalidArgument,
        Code::NotFound => ErrorKind::NotFound,
        Code::AlreadyExists => ErrorKind::AlreadyExists,
        Code::FailedPrecondition | Code::Aborted => ErrorKind::Conflict,
        Code::DeadlineExceeded => ErrorKind::Timeout,
        Code::Unavailable | Code::ResourceExhausted | Code::Cancelled => ErrorKind::Unavailable,
        Code::Unauthenticated | Code::PermissionDenied => ErrorKind::InvalidArgument,
        _ => ErrorKind::Internal,
    });
    let message = match s.code() {
        Code::Unauthenticated => format!("the sidecar refused the call: {}", s.message()),
        Code::Unavailable if from_meta.is_none() => {
            format!("the sidecar is unreachable: {}", s.message())
        }
        _ => s.message().to_string(),
    };
    Error::new(kind, message)
}

pub(crate) fn status(v: i32) -> Result<JobStatus> {
    reseolio_proto::job_status(v)
        .ok_or_else(|| Error::internal(format!("the sidecar sent job status {v}")))
}

fn opt(v: i64) -> Option<i64> {
    (v != 0).then_some(v)
}

fn opt_str(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

pub(crate) fn job(j: pb::Job) -> Result<Job> {
    let status = status(j.status)?;
    Ok(Job {
        id: j.id,
        name: j.name,
        args: j.args,
        status,
        priority: j.priority,
        attempt: j.attempt.max(0) as u32,
        max_attempts: j.max_attempts.max(0) as u32,
        retry: reseolio_core::job::RetryPolicy {
            backoff: j.backoff.parse::<Backoff>().unwrap_or_default(),
            initial_delay_ms: j.initial_delay_ms.max(0) as u64,
            max_delay_ms: j.max_delay_ms.max(0) as u64,
            jitter: j.jitter,
        },
        timeout_ms: j.timeout_ms.max(0) as u64,
        idempotency_key: opt_str(j.idempotency_key),
        result: (status == JobStatus::Success).then_some(j.result),
        last_error: opt_str(j.error),
        created_at: j.created_at,
        run_at: j.scheduled_at,
        started_at: opt(j.started_at),
        completed_at: opt(j.completed_at),
        lease_expires_at: (status == JobStatus::Running).then_some(j.deadline_ms),
        worker_id: opt_str(j.worker_id),
    })
}

/// A GetLeader answer; `has_leader` tells "no leader yet" from a leader whose fields are empty.
pub(crate) fn leader(r: pb::GetLeaderResponse) -> crate::LeaderInfo {
    crate::LeaderInfo {
        leader: r.has_leader.then_some(reseolio_core::store::Leader {
            node_id: r.leader_node_id,
            elected_at: r.elected_at,
            expires_at: r.expires_at,
        }),
        node_id: r.node_id,
    }
}

pub(crate) fn claimed(j: pb::Job) -> Result<ClaimedJob> {
    Ok(ClaimedJob {
        token: j.lease_token.parse()?,
        name: j.name,
        args: j.args,
        attempt: j.attempt.max(0) as u32,
        max_attempts: j.max_attempts.max(0) as u32,
        timeout_ms: j.timeout_ms.max(0) as u64,
        deadline_ms: j.deadline_ms,
        created_at: j.created_at,
        run_at: j.scheduled_at,
    })
}

pub(crate) fn attempt(a: pb::Attempt) -> Attempt {
    Attempt {
        job_id: a.job_id,
        attempt: a.attempt.max(0) as u32,
        lease: a.lease,
        worker_id: a.worker_id,
        node_id: a.node_id,
        started_at: a.started_at,
        finished_at: opt(a.finished_at),
        outcome: AttemptOutcome::parse(&a.outcome),
        error: opt_str(a.error),
    }
}

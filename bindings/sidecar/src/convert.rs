//! Engine types to and from wire messages, and engine errors to gRPC statuses.

use reseolio_core::{ClaimedJob, Error, ErrorKind, Job, JobStatus, Result};
use reseolio_proto as pb;
use tonic::{Code, Status};

/// The metadata key that carries the engine's error kind, so that a remote client raises the
/// same error kind as the embedded engine would.
pub const ERROR_KIND_KEY: &str = "reseolio-error-kind";

/// Maps an engine error to the matching gRPC status, with the kind in the metadata.
pub fn status(e: Error) -> Status {
    let code = match e.kind() {
        ErrorKind::InvalidArgument => Code::InvalidArgument,
        ErrorKind::NotFound => Code::NotFound,
        ErrorKind::AlreadyExists => Code::AlreadyExists,
        ErrorKind::Conflict => Code::FailedPrecondition,
        ErrorKind::Unavailable | ErrorKind::ShutDown => Code::Unavailable,
        ErrorKind::Timeout => Code::DeadlineExceeded,
        ErrorKind::Internal => Code::Internal,
    };
    let mut s = Status::new(code, e.message().to_string());
    if let Ok(v) = e.kind().as_str().parse() {
        s.metadata_mut().insert(ERROR_KIND_KEY, v);
    }
    s
}

/// A wire status filter value. Errors: InvalidArgument for UNSPECIFIED or an unknown number.
pub fn status_from_wire(v: i32) -> Result<JobStatus> {
    reseolio_proto::job_status(v)
        .ok_or_else(|| Error::invalid(format!("statuses: {v} is not a job status")))
}

pub fn job_to_wire(j: &Job) -> pb::Job {
    pb::Job {
        id: j.id.clone(),
        name: j.name.clone(),
        args: j.args.clone(),
        attempt: j.attempt as i32,
        deadline_ms: j.lease_expires_at.unwrap_or(0),
        status: pb::JobStatus::from(j.status) as i32,
        error: j.last_error.clone().unwrap_or_default(),
        result: j.result.clone().unwrap_or_default(),
        created_at: j.created_at,
        scheduled_at: j.run_at,
        started_at: j.started_at.unwrap_or(0),
        completed_at: j.completed_at.unwrap_or(0),
        max_attempts: j.max_attempts as i32,
        lease_token: String::new(),
        priority: j.priority,
        idempotency_key: j.idempotency_key.clone().unwrap_or_default(),
        timeout_ms: j.timeout_ms as i64,
        backoff: j.retry.backoff.as_str().to_string(),
        initial_delay_ms: j.retry.initial_delay_ms as i64,
        max_delay_ms: j.retry.max_delay_ms as i64,
        jitter: j.retry.jitter,
        worker_id: j.worker_id.clone().unwrap_or_default(),
    }
}

pub fn attempt_to_wire(a: &reseolio_core::Attempt) -> pb::Attempt {
    pb::Attempt {
        job_id: a.job_id.clone(),
        attempt: a.attempt as i32,
        lease: a.lease,
        worker_id: a.worker_id.clone(),
        node_id: a.node_id.clone(),
        started_at: a.started_at,
        finished_at: a.finished_at.unwrap_or(0),
        outcome: a
            .outcome
            .map(|o| o.as_str().to_string())
            .unwrap_or_default(),
        error: a.error.clone().unwrap_or_default(),
    }
}

/// The GetLeader answer of the sidecar whose engine is `node_id`.
pub fn leader_to_wire(
    node_id: &str,
    leader: Option<&reseolio_core::store::Leader>,
) -> pb::GetLeaderResponse {
    pb::GetLeaderResponse {
        leader_node_id: leader.map(|l| l.node_id.clone()).unwrap_or_default(),
        elected_at: leader.map_or(0, |l| l.elected_at),
        expires_at: leader.map_or(0, |l| l.expires_at),
        node_id: node_id.to_string(),
        has_leader: leader.is_some(),
    }
}

pub fn claimed_to_wire(c: &ClaimedJob) -> pb::Job {
    pb::Job {
        id: c.token.job_id.clone(),
        name: c.name.clone(),
        args: c.args.clone(),
        attempt: c.attempt as i32,
        deadline_ms: c.deadline_ms,
        status: pb::JobStatus::Running as i32,
        created_at: c.created_at,
        scheduled_at: c.run_at,
        started_at: c.deadline_ms - c.timeout_ms as i64,
        max_attempts: c.max_attempts as i32,
        lease_token: c.token.to_string(),
        timeout_ms: c.timeout_ms as i64,
        ..Default::default()
    }
}

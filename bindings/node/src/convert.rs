//! JS values to engine types and engine records to JS objects. Times are Unix milliseconds.
//! JS numbers carry integers exactly up to 2^53, far beyond any time or count stored here.

use crate::error::{invalid, to_js};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use reseolio_ffi::{Backoff, EnqueueOptions, JobStatus};

/// Job options as the TypeScript package passes them; every field optional (engine defaults).
#[napi(object)]
pub struct JobOptions {
    pub max_attempts: Option<i64>,
    /// `fixed`, `linear` or `exponential`.
    pub backoff: Option<String>,
    pub initial_delay_ms: Option<i64>,
    pub max_delay_ms: Option<i64>,
    pub jitter: Option<f64>,
    pub timeout_ms: Option<i64>,
    pub delay_ms: Option<i64>,
    pub run_at_ms: Option<i64>,
    pub priority: Option<i32>,
    pub idempotency_key: Option<String>,
}

impl JobOptions {
    pub(crate) fn into_engine(self) -> napi::Result<EnqueueOptions> {
        let backoff = match self.backoff {
            None => None,
            Some(b) => Some(b.parse::<Backoff>().map_err(to_js)?),
        };
        Ok(EnqueueOptions {
            max_attempts: self.max_attempts,
            backoff,
            initial_delay_ms: self.initial_delay_ms,
            max_delay_ms: self.max_delay_ms,
            jitter: self.jitter,
            timeout_ms: self.timeout_ms,
            delay_ms: self.delay_ms,
            run_at_ms: self.run_at_ms,
            priority: self.priority,
            idempotency_key: self.idempotency_key,
        })
    }
}

/// Options of `connect`.
#[napi(object)]
pub struct ConnectOptions {
    /// How often an idle worker looks for due jobs when no wake-up came (default 1000).
    pub poll_interval_ms: Option<i64>,
    /// The largest args, result or error accepted, in bytes.
    pub max_payload_bytes: Option<i64>,
    /// How long finished jobs are kept before pruning, in seconds.
    pub retention_secs: Option<i64>,
    /// The bearer token a sidecar requires.
    pub token: Option<String>,
}

fn non_negative(field: &str, v: Option<i64>) -> napi::Result<Option<u64>> {
    match v {
        None => Ok(None),
        Some(n) if n >= 0 => Ok(Some(n as u64)),
        Some(n) => Err(invalid(format!("{field} must be >= 0, got {n}"))),
    }
}

impl ConnectOptions {
    pub(crate) fn into_ffi(self) -> napi::Result<reseolio_ffi::ConnectOptions> {
        Ok(reseolio_ffi::ConnectOptions {
            poll_interval_ms: non_negative("pollIntervalMs", self.poll_interval_ms)?,
            max_payload_bytes: non_negative("maxPayloadBytes", self.max_payload_bytes)?
                .map(|n| n as usize),
            retention_secs: non_negative("retentionSecs", self.retention_secs)?,
            token: self.token,
        })
    }
}

pub(crate) fn statuses(v: Vec<String>) -> napi::Result<Vec<JobStatus>> {
    v.iter()
        .map(|s| s.to_ascii_uppercase().parse::<JobStatus>().map_err(to_js))
        .collect()
}

/// The answer to an enqueue.
#[napi(object)]
pub struct Enqueued {
    pub job_id: String,
    /// True when the idempotency key matched an existing job, whose id this is.
    pub deduplicated: bool,
}

/// A job as stored.
#[napi(object)]
pub struct Job {
    pub id: String,
    pub name: String,
    /// PENDING, RUNNING, SUCCESS, FAILED, DEAD or CANCELLED.
    pub status: String,
    pub priority: i32,
    pub attempt: u32,
    pub max_attempts: u32,
    pub backoff: String,
    pub initial_delay_ms: i64,
    pub max_delay_ms: i64,
    pub jitter: f64,
    pub timeout_ms: i64,
    pub idempotency_key: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub run_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub lease_expires_at: Option<i64>,
    pub worker_id: Option<String>,
    /// The args as stored (by convention a UTF-8 JSON array).
    pub args: Buffer,
    /// The result of the successful attempt (by convention UTF-8 JSON).
    pub result: Option<Buffer>,
}

impl From<reseolio_ffi::Job> for Job {
    fn from(j: reseolio_ffi::Job) -> Self {
        Job {
            id: j.id,
            name: j.name,
            status: j.status.as_str().to_string(),
            priority: j.priority,
            attempt: j.attempt,
            max_attempts: j.max_attempts,
            backoff: j.retry.backoff.as_str().to_string(),
            initial_delay_ms: j.retry.initial_delay_ms as i64,
            max_delay_ms: j.retry.max_delay_ms as i64,
            jitter: j.retry.jitter,
            timeout_ms: j.timeout_ms as i64,
            idempotency_key: j.idempotency_key,
            last_error: j.last_error,
            created_at: j.created_at,
            run_at: j.run_at,
            started_at: j.started_at,
            completed_at: j.completed_at,
            lease_expires_at: j.lease_expires_at,
            worker_id: j.worker_id,
            args: j.args.into(),
            result: j.result.map(Buffer::from),
        }
    }
}

/// A page of jobs.
#[napi(object)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// Jobs matching the filter, over all pages.
    pub total: i64,
}

/// One attempt of a job.
#[napi(object)]
pub struct Attempt {
    pub job_id: String,
    pub attempt: u32,
    pub lease: i64,
    pub worker_id: String,
    pub node_id: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// `success`, `failure`, `timeout`, ... (the engine's outcome names), absent while running.
    pub outcome: Option<String>,
    pub error: Option<String>,
}

impl From<reseolio_ffi::Attempt> for Attempt {
    fn from(a: reseolio_ffi::Attempt) -> Self {
        Attempt {
            job_id: a.job_id,
            attempt: a.attempt,
            lease: a.lease,
            worker_id: a.worker_id,
            node_id: a.node_id,
            started_at: a.started_at,
            finished_at: a.finished_at,
            outcome: a.outcome.map(|o| o.as_str().to_string()),
            error: a.error,
        }
    }
}

/// Who leads the store's nodes (runs the rescuer, the pruner and the scheduler for all), and the
/// node this client talks to (the embedded engine's, or the sidecar's). The leader fields are
/// absent before the first election; times are Unix ms; the term may have lapsed (a dead leader)
/// until another node takes over.
#[napi(object)]
pub struct LeaderInfo {
    pub node_id: String,
    pub leader_node_id: Option<String>,
    pub elected_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub is_leader: bool,
}

impl From<reseolio_ffi::LeaderInfo> for LeaderInfo {
    fn from(i: reseolio_ffi::LeaderInfo) -> Self {
        let is_leader = i.is_leader();
        LeaderInfo {
            leader_node_id: i.leader.as_ref().map(|l| l.node_id.clone()),
            elected_at: i.leader.as_ref().map(|l| l.elected_at),
            expires_at: i.leader.as_ref().map(|l| l.expires_at),
            node_id: i.node_id,
            is_leader,
        }
    }
}

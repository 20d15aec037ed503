//! The params and results of the [`super::Store`] calls.

use crate::job::{FailureKind, JobStatus, Outcome, ResolvedOptions};

/// For [`super::Store::job_insert`].
#[derive(Debug, Clone)]
pub struct JobInsertParams {
    /// The new job's id (the engine makes it).
    pub id: String,
    /// Function name, validated.
    pub name: String,
    /// Args, validated.
    pub args: Vec<u8>,
    /// Resolved options.
    pub options: ResolvedOptions,
    /// Enqueue time.
    pub now_ms: i64,
    /// When set, a new job that is due now is claimed in the same transaction for this worker
    /// (the engine passes it when a worker of this process has a free slot for the name).
    pub claim: Option<InsertClaim>,
}

/// The worker that claims a job at insert, see [`JobInsertParams::claim`].
#[derive(Debug, Clone)]
pub struct InsertClaim {
    /// The claiming worker.
    pub worker_id: String,
    /// The claiming engine instance.
    pub node_id: String,
}

/// The answer of [`super::Store::job_insert`].
#[derive(Debug, Clone, PartialEq)]
pub struct JobInsertResult {
    /// The id of the job: the new one, or the existing one when deduplicated.
    pub job_id: String,
    /// True when an existing job with the same (name, idempotency key) was returned.
    pub deduplicated: bool,
    /// The claim, when [`JobInsertParams::claim`] was set and the new job was due.
    pub claimed: Option<crate::job::ClaimedJob>,
}

/// For [`super::Store::job_get`].
#[derive(Debug, Clone)]
pub struct JobGetParams {
    /// The job id.
    pub id: String,
}

/// Sort key of [`JobListParams`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobOrder {
    /// By enqueue time.
    #[default]
    CreatedAt,
    /// By due time.
    RunAt,
}

/// For [`super::Store::job_list`]. Empty filters match everything.
#[derive(Debug, Clone)]
pub struct JobListParams {
    /// Only these statuses.
    pub statuses: Vec<JobStatus>,
    /// Only these function names.
    pub names: Vec<String>,
    /// At most this many rows (1 to 1000).
    pub limit: u32,
    /// Rows to skip.
    pub offset: u32,
    /// Sort key.
    pub order: JobOrder,
    /// Oldest first when true.
    pub ascending: bool,
    /// Only the job with this id or this idempotency key (exact match; any function).
    pub search: Option<String>,
}

impl Default for JobListParams {
    fn default() -> Self {
        JobListParams {
            statuses: vec![],
            names: vec![],
            limit: 100,
            offset: 0,
            order: JobOrder::CreatedAt,
            ascending: false,
            search: None,
        }
    }
}

/// For `Engine::stats`: the throughput window and its bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsParams {
    /// How far back the throughput goes, in ms (default 15 minutes).
    pub window_ms: i64,
    /// The width of one throughput bucket, in ms (default 60 s).
    pub bucket_ms: i64,
}

impl Default for StatsParams {
    fn default() -> Self {
        StatsParams {
            window_ms: 15 * 60_000,
            bucket_ms: 60_000,
        }
    }
}

/// For [`super::Store::job_stats`].
#[derive(Debug, Clone, Copy)]
pub struct JobStatsParams {
    /// The end of the window.
    pub now_ms: i64,
    /// The first bucket starts at this time (aligned by the caller).
    pub first_bucket_ms: i64,
    /// The width of one bucket, > 0.
    pub bucket_ms: i64,
    /// Buckets in the window, 1 to 1440.
    pub buckets: u32,
}

/// How many jobs are in one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCount {
    /// The status.
    pub status: crate::job::JobStatus,
    /// Jobs in it now.
    pub count: u64,
}

/// The jobs that finished in one bucket of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThroughputBucket {
    /// The bucket's start, Unix ms.
    pub start_ms: i64,
    /// Jobs that reached SUCCESS in it.
    pub succeeded: u64,
    /// Jobs that reached DEAD in it.
    pub dead: u64,
    /// Jobs that were CANCELLED in it.
    pub cancelled: u64,
}

/// The answer of [`super::Store::job_stats`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStats {
    /// The time the figures are for.
    pub now_ms: i64,
    /// Every status, zeros included, in the order of [`crate::job::JobStatus::ALL`].
    pub counts: Vec<StatusCount>,
    /// Every bucket of the window, oldest first (an empty bucket is all zeros).
    pub throughput: Vec<ThroughputBucket>,
}

impl JobStats {
    /// Assembles the answer from per-status counts and per-(bucket index, status) finished
    /// counts, so that backends differ only in their SQL.
    pub(crate) fn assemble(
        p: &JobStatsParams,
        counts: impl IntoIterator<Item = (crate::job::JobStatus, u64)>,
        finished: impl IntoIterator<Item = (i64, crate::job::JobStatus, u64)>,
    ) -> JobStats {
        use crate::job::JobStatus;
        let mut by_status: std::collections::HashMap<JobStatus, u64> = Default::default();
        for (s, n) in counts {
            *by_status.entry(s).or_default() += n;
        }
        let mut throughput: Vec<ThroughputBucket> = (0..p.buckets as i64)
            .map(|i| ThroughputBucket {
                start_ms: p.first_bucket_ms + i * p.bucket_ms,
                ..Default::default()
            })
            .collect();
        for (b, s, n) in finished {
            let Some(bucket) = usize::try_from(b).ok().and_then(|b| throughput.get_mut(b)) else {
                continue;
            };
            match s {
                JobStatus::Success => bucket.succeeded += n,
                JobStatus::Dead => bucket.dead += n,
                JobStatus::Cancelled => bucket.cancelled += n,
                _ => {}
            }
        }
        JobStats {
            now_ms: p.now_ms,
            counts: JobStatus::ALL
                .iter()
                .map(|s| StatusCount {
                    status: *s,
                    count: by_status.get(s).copied().unwrap_or(0),
                })
                .collect(),
            throughput,
        }
    }
}

/// The answer of [`super::Store::job_list`].
#[derive(Debug, Clone)]
pub struct JobListResult {
    /// The page.
    pub jobs: Vec<crate::job::Job>,
    /// Matches in all pages.
    pub total: u64,
}

/// For [`super::Store::job_claim_available`].
#[derive(Debug, Clone)]
pub struct JobClaimParams {
    /// Only these function names; empty claims any.
    pub names: Vec<String>,
    /// At most this many jobs.
    pub limit: u32,
    /// The claiming worker.
    pub worker_id: String,
    /// The claiming engine instance.
    pub node_id: String,
    /// Claim time.
    pub now_ms: i64,
}

/// For [`super::Store::job_complete`].
#[derive(Debug, Clone)]
pub struct JobCompleteParams {
    /// The job.
    pub job_id: String,
    /// The fencing counter from the token.
    pub lease: i64,
    /// What the handler did.
    pub outcome: Outcome,
    /// A uniform sample in [-1, 1] for the backoff jitter.
    pub jitter_sample: f64,
    /// Completion time.
    pub now_ms: i64,
}

/// The answer of [`super::Store::job_complete`].
#[derive(Debug, Clone, PartialEq)]
pub struct JobCompleteResult {
    /// The job's status now.
    pub status: JobStatus,
    /// The number the next attempt will have, when one is scheduled.
    pub next_attempt: Option<u32>,
    /// When the next attempt is due, when one is scheduled.
    pub next_run_at: Option<i64>,
    /// The job as stored after this call, when it reached SUCCESS or DEAD (so that waiters in
    /// this process get it without reading it back).
    pub job: Option<crate::job::Job>,
}

/// For [`super::Store::job_heartbeat`].
#[derive(Debug, Clone)]
pub struct JobHeartbeatParams {
    /// The job.
    pub job_id: String,
    /// The fencing counter from the token.
    pub lease: i64,
    /// Heartbeat time.
    pub now_ms: i64,
}

/// The answer of [`super::Store::job_heartbeat`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobHeartbeatResult {
    /// The lease is held and now lapses at this time.
    Extended {
        /// The new deadline, Unix ms.
        lease_expires_at: i64,
    },
    /// The job was cancelled while running: stop the handler; its completion will be refused.
    Cancelled,
}

/// For [`super::Store::job_release`].
#[derive(Debug, Clone)]
pub struct JobReleaseParams {
    /// The job.
    pub job_id: String,
    /// The fencing counter from the token.
    pub lease: i64,
    /// Release time.
    pub now_ms: i64,
}

/// For [`super::Store::job_cancel`].
#[derive(Debug, Clone)]
pub struct JobCancelParams {
    /// The job.
    pub id: String,
    /// Cancel time.
    pub now_ms: i64,
}

/// For [`super::Store::job_retry`].
#[derive(Debug, Clone)]
pub struct JobRetryParams {
    /// The job.
    pub id: String,
    /// Retry time (the job is due at once).
    pub now_ms: i64,
}

/// For [`super::Store::job_rescue`].
#[derive(Debug, Clone)]
pub struct JobRescueParams {
    /// Rescue time: leases that expired before it are lost.
    pub now_ms: i64,
    /// Engine instances known to be gone: their jobs are lost whatever their leases say.
    pub dead_node_ids: Vec<String>,
    /// A uniform sample in [-1, 1] for the backoff jitter.
    pub jitter_sample: f64,
}

/// One job moved by [`super::Store::job_rescue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRescued {
    /// The job.
    pub job_id: String,
    /// Why its attempt was lost.
    pub kind: FailureKind,
    /// The status it went to (FAILED or DEAD).
    pub status: JobStatus,
}

/// For [`super::Store::job_prune`].
#[derive(Debug, Clone)]
pub struct JobPruneParams {
    /// Finished jobs completed before this time are deleted.
    pub completed_before_ms: i64,
    /// At most this many per call, to keep write transactions short.
    pub limit: u32,
}

/// For [`super::Store::attempt_list`].
#[derive(Debug, Clone)]
pub struct AttemptListParams {
    /// The job.
    pub job_id: String,
}

/// An engine instance as registered in the store, for liveness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The instance id.
    pub id: String,
    /// Host name of its machine.
    pub hostname: String,
    /// Its process id.
    pub pid: i64,
    /// Its process start time as the OS reports it (0 when unknown), to tell a reused pid apart.
    pub process_start: i64,
    /// Its last heartbeat.
    pub heartbeat_at: i64,
}

/// For [`super::Store::node_heartbeat`].
#[derive(Debug, Clone)]
pub struct NodeHeartbeatParams {
    /// The instance.
    pub node: Node,
}

/// For [`super::Store::node_delete`].
#[derive(Debug, Clone)]
pub struct NodeDeleteParams {
    /// Instances to delete.
    pub ids: Vec<String>,
}

/// For [`super::Store::leader_elect`].
#[derive(Debug, Clone)]
pub struct LeaderElectParams {
    /// The node asking to lead (or to renew its term).
    pub node_id: String,
    /// Election time.
    pub now_ms: i64,
    /// The term: the leader's lease lapses at `now_ms + ttl_ms` unless renewed.
    pub ttl_ms: i64,
    /// Nodes known dead: a leader among them is replaced at once, whatever its term says.
    pub dead_node_ids: Vec<String>,
}

/// The node that runs the cluster-wide maintenance (rescuer, pruner, scheduler).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leader {
    /// The leading node.
    pub node_id: String,
    /// When its current term began (kept across renewals).
    pub elected_at: i64,
    /// When its term lapses unless renewed.
    pub expires_at: i64,
}

//! Group commit for the common completion: successes whose token still holds the job, from any
//! number of callers, applied together in one statement (one commit, one WAL flush) by a task of
//! their own. A caller's success waits only for the batch that is being written when it arrives.
//! What the batch does not apply (a stale token, a duplicate in the same batch) goes back to its
//! caller as None, for the one-by-one path that says why.

use super::error::pool_error;
use super::jobs::{job_from_row, JOB_COLUMNS};
use crate::error::{Error, Result};
use crate::job::{AttemptOutcome, JobStatus, StepKind};
use crate::store::{JobCompleteParams, JobCompleteResult};
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};
use tokio::sync::{mpsc, oneshot};

type Reply = oneshot::Sender<Result<Option<JobCompleteResult>>>;

/// The sending side; the task ends when every sender is gone.
#[derive(Clone)]
pub(crate) struct Completions {
    tx: mpsc::UnboundedSender<(JobCompleteParams, Vec<u8>, Reply)>,
}

/// The most completions written in one statement.
const MAX_BATCH: usize = 256;

impl Completions {
    pub(crate) fn start(pool: PgPool, channel: String) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(pool, channel, rx));
        Completions { tx }
    }

    /// Applies a success if its token holds the job: Some(result), or None for the caller's
    /// one-by-one path. Errors: Unavailable and the like, for the whole batch.
    pub(crate) async fn success(
        &self,
        p: JobCompleteParams,
        result: Vec<u8>,
    ) -> Result<Option<JobCompleteResult>> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((p, result, reply))
            .map_err(|_| Error::shut_down("the PostgreSQL store was closed"))?;
        answer
            .await
            .map_err(|_| Error::shut_down("the PostgreSQL store was closed"))?
    }
}

async fn run(
    pool: PgPool,
    channel: String,
    mut rx: mpsc::UnboundedReceiver<(JobCompleteParams, Vec<u8>, Reply)>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        // One row per (job, lease): a second completion of the same token goes one by one.
        let mut seen = HashSet::new();
        let (mut unique, mut repeated) = (Vec::new(), Vec::new());
        for item in batch {
            if seen.insert((item.0.job_id.clone(), item.0.lease)) {
                unique.push(item);
            } else {
                repeated.push(item);
            }
        }
        for (_, _, reply) in repeated {
            let _ = reply.send(Ok(None));
        }
        match write(&pool, &channel, &unique).await {
            Ok(mut applied) => {
                for (p, _, reply) in unique {
                    let _ = reply.send(Ok(applied.remove(&p.job_id)));
                }
            }
            Err(e) => {
                for (_, _, reply) in unique {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Writes a batch in one statement: the jobs, their attempts, the `f:ID` notifications, and the
/// wake-up of the parents suspended on a wait for any of them. The wake-up is a branch of the
/// same statement but runs in `reseolio_wake_waiters`, whose fresh snapshot (taken after the
/// UPDATE locked the children's rows, since it aggregates the UPDATE's output) sees a parent
/// that suspended while holding a child's row FOR SHARE: a plain branch would read the
/// statement's snapshot, taken before that parent committed, and miss it.
async fn write(
    pool: &PgPool,
    channel: &str,
    batch: &[(JobCompleteParams, Vec<u8>, Reply)],
) -> Result<HashMap<String, JobCompleteResult>> {
    let ids: Vec<&str> = batch.iter().map(|(p, _, _)| p.job_id.as_str()).collect();
    let leases: Vec<i64> = batch.iter().map(|(p, _, _)| p.lease).collect();
    let results: Vec<&[u8]> = batch.iter().map(|(_, r, _)| r.as_slice()).collect();
    let times: Vec<i64> = batch.iter().map(|(p, _, _)| p.now_ms).collect();
    let columns = JOB_COLUMNS
        .split(", ")
        .map(|c| format!("j.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "WITH input AS ( \
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bigint[]) \
                AS t(id, lease, result, now_ms)), \
         j AS ( \
            UPDATE reseolio_jobs r SET status = 'SUCCESS', result = input.result, \
                completed_at = input.now_ms, lease_expires_at = NULL, worker_id = NULL \
            FROM input WHERE r.id = input.id AND r.lease = input.lease AND r.status = 'RUNNING' \
            RETURNING r.*, input.now_ms AS finished_at), \
         a AS ( \
            UPDATE reseolio_attempts t SET finished_at = j.finished_at, outcome = $5 \
            FROM j WHERE t.job_id = j.id AND t.lease = j.lease), \
         n AS (SELECT pg_notify($6, 'f:' || j.id) FROM j), \
         w AS (SELECT reseolio_wake_waiters($7, array_agg(j.id), max(j.finished_at), $6) \
            AS woken FROM j) \
         SELECT {columns}, (SELECT count(*) FROM n), (SELECT woken FROM w) FROM j"
    ))
    .bind(&ids)
    .bind(&leases)
    .bind(&results)
    .bind(&times)
    .bind(AttemptOutcome::Success.as_str())
    .bind(channel)
    .bind(StepKind::Child.as_str())
    .fetch_all(pool)
    .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => return Err(pool_error(pool, e).await),
    };
    let mut applied = HashMap::with_capacity(rows.len());
    for row in &rows {
        let job = job_from_row(row)?;
        applied.insert(
            job.id.clone(),
            JobCompleteResult {
                status: JobStatus::Success,
                next_attempt: None,
                next_run_at: None,
                job: Some(job),
            },
        );
    }
    Ok(applied)
}

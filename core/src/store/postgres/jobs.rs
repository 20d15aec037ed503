//! The SQL of every store call on PostgreSQL, one function per call, each run on a connection
//! (reads) or inside the call's transaction (writes). Rows a transition reads are locked with
//! `FOR UPDATE`, so that a completion, a cancel and a rescue of one job are serialised across
//! nodes; claims skip locked rows instead of waiting for them.

use super::error::map_pg;
use super::steps;
use crate::error::{Error, Result};
use crate::job::{
    backoff_delay_ms, Attempt, AttemptOutcome, Backoff, ClaimedJob, FailureKind, Job, JobStatus,
    LeaseToken, Outcome, RetryPolicy, Transition,
};
use crate::store::rules;
use crate::store::*;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

pub(crate) const JOB_COLUMNS: &str =
    "id, name, args, status, priority, attempt, max_attempts, backoff, \
    initial_delay_ms, max_delay_ms, jitter, timeout_ms, idempotency_key, result, last_error, \
    created_at, run_at, started_at, completed_at, lease_expires_at, worker_id";

const CLAIMED_COLUMNS: &str = "j.id, j.name, j.args, j.attempt, j.max_attempts, j.timeout_ms, \
    j.lease, j.lease_expires_at, j.created_at, j.run_at, j.priority";

/// Tells every listening node what changed, when (and only if) the transaction commits: `a` a
/// job may be claimable, `f:ID` a job finished, `c:ID:LEASE` the holder of that lease must stop.
/// PostgreSQL folds identical payloads of one transaction into one.
async fn notify(c: &mut PgConnection, channel: &str, payloads: &[String]) -> Result<()> {
    if payloads.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p")
        .bind(channel)
        .bind(payloads)
        .execute(&mut *c)
        .await
        .map_err(map_pg)?;
    Ok(())
}

pub(crate) fn job_from_row(r: &PgRow) -> Result<Job> {
    let status: String = r.try_get(3).map_err(map_pg)?;
    let backoff: String = r.try_get(7).map_err(map_pg)?;
    Ok(Job {
        id: r.try_get(0).map_err(map_pg)?,
        name: r.try_get(1).map_err(map_pg)?,
        args: r.try_get(2).map_err(map_pg)?,
        status: status.parse()?,
        priority: r.try_get(4).map_err(map_pg)?,
        attempt: r.try_get::<i32, _>(5).map_err(map_pg)? as u32,
        max_attempts: r.try_get::<i32, _>(6).map_err(map_pg)? as u32,
        retry: RetryPolicy {
            backoff: backoff.parse::<Backoff>()?,
            initial_delay_ms: r.try_get::<i64, _>(8).map_err(map_pg)? as u64,
            max_delay_ms: r.try_get::<i64, _>(9).map_err(map_pg)? as u64,
            jitter: r.try_get(10).map_err(map_pg)?,
        },
        timeout_ms: r.try_get::<i64, _>(11).map_err(map_pg)? as u64,
        idempotency_key: r.try_get(12).map_err(map_pg)?,
        result: r.try_get(13).map_err(map_pg)?,
        last_error: r.try_get(14).map_err(map_pg)?,
        created_at: r.try_get(15).map_err(map_pg)?,
        run_at: r.try_get(16).map_err(map_pg)?,
        started_at: r.try_get(17).map_err(map_pg)?,
        completed_at: r.try_get(18).map_err(map_pg)?,
        lease_expires_at: r.try_get(19).map_err(map_pg)?,
        worker_id: r.try_get(20).map_err(map_pg)?,
    })
}

fn claimed_from_row(r: &PgRow) -> Result<(i32, ClaimedJob)> {
    Ok((
        r.try_get(10).map_err(map_pg)?,
        ClaimedJob {
            token: LeaseToken {
                job_id: r.try_get(0).map_err(map_pg)?,
                lease: r.try_get(6).map_err(map_pg)?,
            },
            name: r.try_get(1).map_err(map_pg)?,
            args: r.try_get(2).map_err(map_pg)?,
            attempt: r.try_get::<i32, _>(3).map_err(map_pg)? as u32,
            max_attempts: r.try_get::<i32, _>(4).map_err(map_pg)? as u32,
            timeout_ms: r.try_get::<i64, _>(5).map_err(map_pg)? as u64,
            deadline_ms: r.try_get(7).map_err(map_pg)?,
            created_at: r.try_get(8).map_err(map_pg)?,
            run_at: r.try_get(9).map_err(map_pg)?,
        },
    ))
}

/// Inserts the job row unless its (name, idempotency key) exists: true when inserted. With
/// `notify_channel`, a due job also wakes the workers of every node, in the same statement.
/// DO NOTHING on the unique index: the index, not a read before the write, makes two racing
/// enqueues with one key (on any nodes) produce one job; the second waits for the first's
/// transaction, then does nothing.
async fn insert_row(
    c: &mut PgConnection,
    p: &JobInsertParams,
    notify_channel: Option<&str>,
) -> Result<bool> {
    let o = &p.options;
    let inserted: Option<String> = sqlx::query_scalar(
        "WITH i AS ( \
            INSERT INTO reseolio_jobs (id, name, args, status, priority, attempt, max_attempts, \
                backoff, initial_delay_ms, max_delay_ms, jitter, timeout_ms, idempotency_key, \
                created_at, run_at) \
            VALUES ($1, $2, $3, 'PENDING', $4, 0, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
            ON CONFLICT DO NOTHING RETURNING id, run_at), \
         n AS (SELECT pg_notify($14, 'a') FROM i WHERE $14 IS NOT NULL AND i.run_at <= $12) \
         SELECT id FROM i WHERE (SELECT count(*) FROM n) >= 0",
    )
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.args)
    .bind(o.priority)
    .bind(o.max_attempts as i32)
    .bind(o.retry.backoff.as_str())
    .bind(o.retry.initial_delay_ms as i64)
    .bind(o.retry.max_delay_ms as i64)
    .bind(o.retry.jitter)
    .bind(o.timeout_ms as i64)
    .bind(&o.idempotency_key)
    .bind(p.now_ms)
    .bind(o.run_at_ms)
    .bind(notify_channel)
    .fetch_optional(&mut *c)
    .await
    .map_err(map_pg)?;
    Ok(inserted.is_some())
}

/// An insert nobody claims at once, in one statement that needs no transaction around it (one
/// round trip instead of four): the row and, when it is due, the notification that wakes
/// workers. A duplicate idempotency key inserts nothing and reads the first job's id.
pub(crate) async fn job_insert_unclaimed(
    c: &mut PgConnection,
    channel: &str,
    p: &JobInsertParams,
) -> Result<JobInsertResult> {
    if insert_row(c, p, Some(channel)).await? {
        return Ok(JobInsertResult {
            job_id: p.id.clone(),
            deduplicated: false,
            claimed: None,
        });
    }
    existing(c, p).await
}

/// The job an insert collided with: the first one of its (name, idempotency key).
async fn existing(c: &mut PgConnection, p: &JobInsertParams) -> Result<JobInsertResult> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM reseolio_jobs WHERE name = $1 AND idempotency_key = $2")
            .bind(&p.name)
            .bind(&p.options.idempotency_key)
            .fetch_optional(&mut *c)
            .await
            .map_err(map_pg)?;
    match found {
        Some(job_id) => Ok(JobInsertResult {
            job_id,
            deduplicated: true,
            claimed: None,
        }),
        None => Err(Error::internal(format!(
            "job id '{}' collided with an existing job",
            p.id
        ))),
    }
}

pub(crate) async fn job_insert(
    c: &mut PgConnection,
    channel: &str,
    p: JobInsertParams,
) -> Result<JobInsertResult> {
    let o = &p.options;
    if insert_row(c, &p, None).await? {
        // Handed straight to an idle worker of this node, in the same transaction.
        let claimed = match &p.claim {
            Some(cl) if o.run_at_ms <= p.now_ms => {
                claim(c, Pick::Id(&p.id), &cl.worker_id, &cl.node_id, p.now_ms)
                    .await?
                    .pop()
                    .map(|(_, job)| job)
            }
            _ => None,
        };
        if claimed.is_none() && o.run_at_ms <= p.now_ms {
            notify(c, channel, &["a".into()]).await?;
        }
        return Ok(JobInsertResult {
            job_id: p.id,
            deduplicated: false,
            claimed,
        });
    }
    existing(c, &p).await
}

pub(crate) async fn job_get(c: &mut PgConnection, id: &str) -> Result<Job> {
    let row = sqlx::query(&format!(
        "SELECT {JOB_COLUMNS} FROM reseolio_jobs WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *c)
    .await
    .map_err(map_pg)?
    .ok_or_else(|| Error::job_not_found(id))?;
    job_from_row(&row)
}

pub(crate) async fn job_list(c: &mut PgConnection, p: JobListParams) -> Result<JobListResult> {
    let statuses: Vec<String> = p.statuses.iter().map(|s| s.as_str().to_string()).collect();
    // Filters are bound arrays; an empty one matches everything.
    // The search is $3 in the count and $5 in the page (after its LIMIT and OFFSET).
    let filter = |search: u8| {
        format!(
            "WHERE (cardinality($1::text[]) = 0 OR status = ANY($1)) \
             AND (cardinality($2::text[]) = 0 OR name = ANY($2)) \
             AND (${search}::text IS NULL OR id = ${search} OR idempotency_key = ${search})"
        )
    };
    let total: i64 =
        sqlx::query_scalar(&format!("SELECT count(*) FROM reseolio_jobs {}", filter(3)))
            .bind(&statuses)
            .bind(&p.names)
            .bind(&p.search)
            .fetch_one(&mut *c)
            .await
            .map_err(map_pg)?;
    // Column and direction come from enums, never from the caller's text.
    let col = match p.order {
        JobOrder::CreatedAt => "created_at",
        JobOrder::RunAt => "run_at",
    };
    let dir = if p.ascending { "ASC" } else { "DESC" };
    let rows = sqlx::query(&format!(
        "SELECT {JOB_COLUMNS} FROM reseolio_jobs {} ORDER BY {col} {dir}, id {dir} \
         LIMIT $3 OFFSET $4",
        filter(5)
    ))
    .bind(&statuses)
    .bind(&p.names)
    .bind(p.limit as i64)
    .bind(p.offset as i64)
    .bind(&p.search)
    .fetch_all(&mut *c)
    .await
    .map_err(map_pg)?;
    Ok(JobListResult {
        jobs: rows.iter().map(job_from_row).collect::<Result<_>>()?,
        total: total as u64,
    })
}

pub(crate) async fn job_claim_available(
    c: &mut PgConnection,
    p: JobClaimParams,
) -> Result<Vec<ClaimedJob>> {
    let pick = Pick::Due {
        names: &p.names,
        limit: p.limit as i64,
    };
    let mut claimed = claim(c, pick, &p.worker_id, &p.node_id, p.now_ms).await?;
    claimed.sort_by(|(pa, a), (pb, b)| {
        pb.cmp(pa)
            .then(a.run_at.cmp(&b.run_at))
            .then(a.token.job_id.cmp(&b.token.job_id))
    });
    Ok(claimed.into_iter().map(|(_, c)| c).collect())
}

/// Which rows a claim takes.
enum Pick<'a> {
    /// One new job, by id (a claim at insert).
    Id(&'a str),
    /// Due jobs of these names (any name when empty), at most `limit`.
    Due { names: &'a [String], limit: i64 },
}

/// Claims the rows `pick` names: each becomes RUNNING under a new lease and gets an attempt row.
/// Returns each claimed job with its priority.
async fn claim(
    c: &mut PgConnection,
    pick: Pick<'_>,
    worker_id: &str,
    node_id: &str,
    now_ms: i64,
) -> Result<Vec<(i32, ClaimedJob)>> {
    // $1 = now, $2 = worker, $3 = node, then the pick's own parameters from $4. SKIP LOCKED:
    // rows another node is claiming right now are passed over, not waited for.
    let select = match pick {
        Pick::Id(_) => "SELECT id FROM reseolio_jobs WHERE id = $4 FOR UPDATE",
        Pick::Due { names: [], .. } => {
            "SELECT id FROM reseolio_jobs WHERE status IN ('PENDING', 'FAILED') AND run_at <= $1 \
             ORDER BY priority DESC, run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED"
        }
        Pick::Due { .. } => {
            "SELECT id FROM reseolio_jobs WHERE status IN ('PENDING', 'FAILED') AND run_at <= $1 \
             AND name = ANY($5) ORDER BY priority DESC, run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED"
        }
    };
    // One statement: the claim and its attempt rows (a data-modifying CTE) commit together
    // without a BEGIN/COMMIT round trip around them.
    let sql = format!(
        "WITH picked AS ({select}), \
         claimed AS ( \
            UPDATE reseolio_jobs j SET status = 'RUNNING', attempt = j.attempt + 1, \
                lease = j.lease + 1, started_at = $1, lease_expires_at = $1 + j.timeout_ms, \
                worker_id = $2, node_id = $3 \
            FROM picked WHERE j.id = picked.id \
            RETURNING {CLAIMED_COLUMNS}), \
         attempts AS ( \
            INSERT INTO reseolio_attempts (job_id, attempt, lease, worker_id, node_id, started_at) \
            SELECT id, attempt, lease, $2, $3, $1 FROM claimed) \
         SELECT * FROM claimed"
    );
    let q = sqlx::query(&sql).bind(now_ms).bind(worker_id).bind(node_id);
    let q = match pick {
        Pick::Id(id) => q.bind(id),
        Pick::Due { names: [], limit } => q.bind(limit),
        Pick::Due { names, limit } => q.bind(limit).bind(names),
    };
    let rows = q.fetch_all(&mut *c).await.map_err(map_pg)?;
    let claimed: Vec<(i32, ClaimedJob)> =
        rows.iter().map(claimed_from_row).collect::<Result<_>>()?;
    Ok(claimed)
}

/// The columns a transition needs, read and locked inside the write transaction.
struct Held {
    status: JobStatus,
    lease: i64,
    attempt: u32,
    max_attempts: u32,
    timeout_ms: i64,
    policy: RetryPolicy,
}

async fn held(c: &mut PgConnection, id: &str) -> Result<Held> {
    let r = sqlx::query(
        "SELECT status, lease, attempt, max_attempts, timeout_ms, backoff, initial_delay_ms, \
         max_delay_ms, jitter FROM reseolio_jobs WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await
    .map_err(map_pg)?
    .ok_or_else(|| Error::job_not_found(id))?;
    let status: String = r.try_get(0).map_err(map_pg)?;
    let backoff: String = r.try_get(5).map_err(map_pg)?;
    Ok(Held {
        status: status.parse()?,
        lease: r.try_get(1).map_err(map_pg)?,
        attempt: r.try_get::<i32, _>(2).map_err(map_pg)? as u32,
        max_attempts: r.try_get::<i32, _>(3).map_err(map_pg)? as u32,
        timeout_ms: r.try_get(4).map_err(map_pg)?,
        policy: RetryPolicy {
            backoff: backoff.parse()?,
            initial_delay_ms: r.try_get::<i64, _>(6).map_err(map_pg)? as u64,
            max_delay_ms: r.try_get::<i64, _>(7).map_err(map_pg)? as u64,
            jitter: r.try_get(8).map_err(map_pg)?,
        },
    })
}

pub(super) async fn finish_attempt(
    c: &mut PgConnection,
    id: &str,
    lease: i64,
    now_ms: i64,
    outcome: AttemptOutcome,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE reseolio_attempts SET finished_at = $3, outcome = $4, error = $5 \
         WHERE job_id = $1 AND lease = $2",
    )
    .bind(id)
    .bind(lease)
    .bind(now_ms)
    .bind(outcome.as_str())
    .bind(error)
    .execute(&mut *c)
    .await
    .map_err(map_pg)?;
    Ok(())
}

/// Writes a failed attempt's transition (FAILED with its next run, or DEAD), and its steps'
/// part: a DEAD job wakes its waiting parents, a FAILED one forgets its failed steps so that the
/// next attempt runs them again.
#[allow(clippy::too_many_arguments)]
async fn fail(
    c: &mut PgConnection,
    channel: &str,
    id: &str,
    h: &Held,
    kind: FailureKind,
    error: &str,
    jitter_sample: f64,
    now_ms: i64,
) -> Result<Transition> {
    let delay = backoff_delay_ms(&h.policy, h.attempt, jitter_sample);
    let t = Transition::on_failure(h.attempt, h.max_attempts, kind, delay);
    let run_at = t.retry_in_ms.map(|d| now_ms.saturating_add(d as i64));
    let completed_at = (t.to == JobStatus::Dead).then_some(now_ms);
    sqlx::query(
        "UPDATE reseolio_jobs SET status = $2, last_error = $3, run_at = coalesce($4, run_at), \
         completed_at = $5, lease_expires_at = NULL, worker_id = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(t.to.as_str())
    .bind(error)
    .bind(run_at)
    .bind(completed_at)
    .execute(&mut *c)
    .await
    .map_err(map_pg)?;
    match t.to {
        JobStatus::Dead => steps::on_job_finished(c, channel, id, now_ms).await?,
        _ => steps::forget_failed_steps(c, id).await?,
    }
    Ok(t)
}

pub(crate) async fn job_complete(
    c: &mut PgConnection,
    channel: &str,
    p: JobCompleteParams,
) -> Result<JobCompleteResult> {
    let h = held(c, &p.job_id).await?;
    rules::check_lease(&p.job_id, h.status, h.lease, p.lease)?;
    match &p.outcome {
        Outcome::Success(result) => {
            let t = Transition::on_success();
            sqlx::query(
                "UPDATE reseolio_jobs SET status = $2, result = $3, completed_at = $4, \
                 lease_expires_at = NULL, worker_id = NULL WHERE id = $1",
            )
            .bind(&p.job_id)
            .bind(t.to.as_str())
            .bind(result)
            .bind(p.now_ms)
            .execute(&mut *c)
            .await
            .map_err(map_pg)?;
            steps::on_job_finished(c, channel, &p.job_id, p.now_ms).await?;
            finish_attempt(
                c,
                &p.job_id,
                p.lease,
                p.now_ms,
                AttemptOutcome::Success,
                None,
            )
            .await?;
            notify(c, channel, &[format!("f:{}", p.job_id)]).await?;
            Ok(JobCompleteResult {
                status: t.to,
                next_attempt: None,
                next_run_at: None,
                job: Some(job_get(c, &p.job_id).await?),
            })
        }
        Outcome::Suspended => Err(Error::invalid(
            "a suspended outcome is not written: the step wait already handed the job back",
        )),
        Outcome::Failure { error, retryable } => {
            let kind = if *retryable {
                FailureKind::Retryable
            } else {
                FailureKind::NotRetryable
            };
            let t = fail(
                c,
                channel,
                &p.job_id,
                &h,
                kind,
                error,
                p.jitter_sample,
                p.now_ms,
            )
            .await?;
            finish_attempt(
                c,
                &p.job_id,
                p.lease,
                p.now_ms,
                AttemptOutcome::Failure,
                Some(error),
            )
            .await?;
            let job = if t.to.is_terminal() {
                notify(c, channel, &[format!("f:{}", p.job_id)]).await?;
                Some(job_get(c, &p.job_id).await?)
            } else {
                if t.retry_in_ms == Some(0) {
                    notify(c, channel, &["a".into()]).await?;
                }
                None
            };
            Ok(JobCompleteResult {
                status: t.to,
                next_attempt: t.retry_in_ms.map(|_| h.attempt + 1),
                next_run_at: t.retry_in_ms.map(|d| p.now_ms.saturating_add(d as i64)),
                job,
            })
        }
    }
}

pub(crate) async fn job_heartbeat(
    c: &mut PgConnection,
    p: JobHeartbeatParams,
) -> Result<JobHeartbeatResult> {
    let h = held(c, &p.job_id).await?;
    if h.status == JobStatus::Cancelled && h.lease == p.lease {
        return Ok(JobHeartbeatResult::Cancelled);
    }
    rules::check_lease(&p.job_id, h.status, h.lease, p.lease)?;
    let expires = p.now_ms.saturating_add(h.timeout_ms);
    sqlx::query("UPDATE reseolio_jobs SET lease_expires_at = $2 WHERE id = $1")
        .bind(&p.job_id)
        .bind(expires)
        .execute(&mut *c)
        .await
        .map_err(map_pg)?;
    Ok(JobHeartbeatResult::Extended {
        lease_expires_at: expires,
    })
}

pub(crate) async fn job_release(
    c: &mut PgConnection,
    channel: &str,
    p: JobReleaseParams,
) -> Result<()> {
    let h = held(c, &p.job_id).await?;
    rules::check_lease(&p.job_id, h.status, h.lease, p.lease)?;
    hand_back(
        c,
        &p.job_id,
        p.lease,
        p.now_ms,
        p.now_ms,
        AttemptOutcome::Released,
    )
    .await?;
    notify(c, channel, &["a".into()]).await
}

/// A held job goes back to PENDING, due at `run_at`, its attempt ended as `outcome` and not
/// counted: the handler did not fail (a hand-back on shutdown, a suspension on a step wait).
/// The caller has checked the lease.
pub(super) async fn hand_back(
    c: &mut PgConnection,
    job_id: &str,
    lease: i64,
    run_at: i64,
    now_ms: i64,
    outcome: AttemptOutcome,
) -> Result<()> {
    let t = Transition::on_suspend();
    sqlx::query(
        "UPDATE reseolio_jobs SET status = $2, attempt = attempt - 1, run_at = $3, \
         lease_expires_at = NULL, worker_id = NULL WHERE id = $1",
    )
    .bind(job_id)
    .bind(t.to.as_str())
    .bind(run_at)
    .execute(&mut *c)
    .await
    .map_err(map_pg)?;
    finish_attempt(c, job_id, lease, now_ms, outcome, None).await
}

pub(crate) async fn job_cancel(
    c: &mut PgConnection,
    channel: &str,
    p: JobCancelParams,
) -> Result<Job> {
    let h = held(c, &p.id).await?;
    let t = Transition::on_cancel(&p.id, h.status)?;
    sqlx::query(
        "UPDATE reseolio_jobs SET status = $2, completed_at = $3, lease_expires_at = NULL, \
         worker_id = NULL WHERE id = $1",
    )
    .bind(&p.id)
    .bind(t.to.as_str())
    .bind(p.now_ms)
    .execute(&mut *c)
    .await
    .map_err(map_pg)?;
    steps::on_job_finished(c, channel, &p.id, p.now_ms).await?;
    let mut events = vec![format!("f:{}", p.id)];
    if h.status == JobStatus::Running {
        finish_attempt(c, &p.id, h.lease, p.now_ms, AttemptOutcome::Cancelled, None).await?;
        events.push(format!("c:{}:{}", p.id, h.lease));
    }
    notify(c, channel, &events).await?;
    job_get(c, &p.id).await
}

pub(crate) async fn job_retry(
    c: &mut PgConnection,
    channel: &str,
    p: JobRetryParams,
) -> Result<Job> {
    let h = held(c, &p.id).await?;
    let t = Transition::on_retry(&p.id, h.status)?;
    sqlx::query(
        "UPDATE reseolio_jobs SET status = $2, attempt = 0, run_at = $3, result = NULL, \
         completed_at = NULL WHERE id = $1",
    )
    .bind(&p.id)
    .bind(t.to.as_str())
    .bind(p.now_ms)
    .execute(&mut *c)
    .await
    .map_err(map_pg)?;
    steps::forget_failed_steps(c, &p.id).await?;
    notify(c, channel, &["a".into()]).await?;
    job_get(c, &p.id).await
}

pub(crate) async fn job_rescue(
    c: &mut PgConnection,
    channel: &str,
    p: JobRescueParams,
) -> Result<Vec<JobRescued>> {
    // SKIP LOCKED: a job whose completion holds its row right now is that completion's to decide.
    let lost: Vec<(String, i64, Option<String>, i64)> = sqlx::query_as(
        "SELECT id, lease, node_id, timeout_ms FROM reseolio_jobs \
         WHERE status = 'RUNNING' AND (lease_expires_at < $1 OR node_id = ANY($2)) \
         FOR UPDATE SKIP LOCKED",
    )
    .bind(p.now_ms)
    .bind(&p.dead_node_ids)
    .fetch_all(&mut *c)
    .await
    .map_err(map_pg)?;
    let mut rescued = Vec::with_capacity(lost.len());
    let mut events = Vec::new();
    for (id, lease, node, timeout_ms) in lost {
        let h = held(c, &id).await?;
        let dead = node
            .as_deref()
            .filter(|n| p.dead_node_ids.iter().any(|d| d == n));
        let (outcome, error) = rules::lost_attempt(h.attempt, dead, timeout_ms);
        let t = fail(
            c,
            channel,
            &id,
            &h,
            FailureKind::LeaseLost,
            &error,
            rules::spread_sample(p.jitter_sample, &id),
            p.now_ms,
        )
        .await?;
        finish_attempt(c, &id, lease, p.now_ms, outcome, Some(&error)).await?;
        // The lost lease's holder (a live node that stopped heartbeating) must stop.
        events.push(format!("c:{id}:{lease}"));
        events.push(if t.to == JobStatus::Dead {
            format!("f:{id}")
        } else {
            "a".into()
        });
        rescued.push(JobRescued {
            job_id: id,
            kind: FailureKind::LeaseLost,
            status: t.to,
        });
    }
    notify(c, channel, &events).await?;
    Ok(rescued)
}

pub(crate) async fn job_prune(c: &mut PgConnection, p: JobPruneParams) -> Result<u64> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM reseolio_jobs WHERE status IN ('SUCCESS', 'DEAD', 'CANCELLED') \
         AND completed_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(p.completed_before_ms)
    .bind(p.limit as i64)
    .fetch_all(&mut *c)
    .await
    .map_err(map_pg)?;
    if ids.is_empty() {
        return Ok(0);
    }
    sqlx::query("DELETE FROM reseolio_attempts WHERE job_id = ANY($1)")
        .bind(&ids)
        .execute(&mut *c)
        .await
        .map_err(map_pg)?;
    steps::delete_steps(c, &ids).await?;
    sqlx::query("DELETE FROM reseolio_jobs WHERE id = ANY($1)")
        .bind(&ids)
        .execute(&mut *c)
        .await
        .map_err(map_pg)?;
    Ok(ids.len() as u64)
}

pub(crate) async fn attempt_list(
    c: &mut PgConnection,
    p: AttemptListParams,
) -> Result<Vec<Attempt>> {
    let rows = sqlx::query(
        "SELECT job_id, attempt, lease, worker_id, node_id, started_at, finished_at, outcome, error \
         FROM reseolio_attempts WHERE job_id = $1 ORDER BY lease",
    )
    .bind(&p.job_id)
    .fetch_all(&mut *c)
    .await
    .map_err(map_pg)?;
    rows.iter()
        .map(|r| {
            let outcome: Option<String> = r.try_get(7).map_err(map_pg)?;
            Ok(Attempt {
                job_id: r.try_get(0).map_err(map_pg)?,
                attempt: r.try_get::<i32, _>(1).map_err(map_pg)? as u32,
                lease: r.try_get(2).map_err(map_pg)?,
                worker_id: r.try_get(3).map_err(map_pg)?,
                node_id: r.try_get(4).map_err(map_pg)?,
                started_at: r.try_get(5).map_err(map_pg)?,
                finished_at: r.try_get(6).map_err(map_pg)?,
                outcome: outcome.as_deref().and_then(AttemptOutcome::parse),
                error: r.try_get(8).map_err(map_pg)?,
            })
        })
        .collect()
}

pub(crate) async fn node_heartbeat(c: &mut PgConnection, p: NodeHeartbeatParams) -> Result<()> {
    let n = p.node;
    sqlx::query(
        "INSERT INTO reseolio_nodes (id, hostname, pid, process_start, heartbeat_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
    )
    .bind(&n.id)
    .bind(&n.hostname)
    .bind(n.pid)
    .bind(n.process_start)
    .bind(n.heartbeat_at)
    .execute(&mut *c)
    .await
    .map_err(map_pg)?;
    Ok(())
}

pub(crate) async fn node_list(c: &mut PgConnection) -> Result<Vec<Node>> {
    let rows: Vec<(String, String, i64, i64, i64)> =
        sqlx::query_as("SELECT id, hostname, pid, process_start, heartbeat_at FROM reseolio_nodes")
            .fetch_all(&mut *c)
            .await
            .map_err(map_pg)?;
    Ok(rows
        .into_iter()
        .map(|(id, hostname, pid, process_start, heartbeat_at)| Node {
            id,
            hostname,
            pid,
            process_start,
            heartbeat_at,
        })
        .collect())
}

pub(crate) async fn node_delete(c: &mut PgConnection, p: NodeDeleteParams) -> Result<()> {
    sqlx::query("DELETE FROM reseolio_nodes WHERE id = ANY($1)")
        .bind(&p.ids)
        .execute(&mut *c)
        .await
        .map_err(map_pg)?;
    Ok(())
}

pub(crate) async fn leader_elect(c: &mut PgConnection, p: LeaderElectParams) -> Result<Leader> {
    // The upsert's WHERE decides: the same node renews (keeping elected_at), anyone else takes
    // over only from a lapsed or dead leader. Concurrent elections serialise on the one row.
    sqlx::query(
        "INSERT INTO reseolio_leader AS l (id, node_id, elected_at, expires_at) \
         VALUES (1, $1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET node_id = excluded.node_id, \
            expires_at = excluded.expires_at, \
            elected_at = CASE WHEN l.node_id = excluded.node_id THEN l.elected_at \
                ELSE excluded.elected_at END \
         WHERE l.node_id = excluded.node_id OR l.expires_at < $2 OR l.node_id = ANY($4)",
    )
    .bind(&p.node_id)
    .bind(p.now_ms)
    .bind(p.now_ms.saturating_add(p.ttl_ms))
    .bind(&p.dead_node_ids)
    .execute(&mut *c)
    .await
    .map_err(map_pg)?;
    leader_get(c)
        .await?
        .ok_or_else(|| Error::internal("the leader row is missing after an election"))
}

pub(crate) async fn leader_get(c: &mut PgConnection) -> Result<Option<Leader>> {
    let row: Option<(String, i64, i64)> =
        sqlx::query_as("SELECT node_id, elected_at, expires_at FROM reseolio_leader WHERE id = 1")
            .fetch_optional(&mut *c)
            .await
            .map_err(map_pg)?;
    Ok(row.map(|(node_id, elected_at, expires_at)| Leader {
        node_id,
        elected_at,
        expires_at,
    }))
}

pub(crate) async fn leader_resign(c: &mut PgConnection, node_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM reseolio_leader WHERE node_id = $1")
        .bind(node_id)
        .execute(&mut *c)
        .await
        .map_err(map_pg)?;
    Ok(())
}

pub(crate) async fn job_stats(c: &mut PgConnection, p: JobStatsParams) -> Result<JobStats> {
    let counts: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM reseolio_jobs GROUP BY status")
            .fetch_all(&mut *c)
            .await
            .map_err(map_pg)?;
    let counts = counts
        .into_iter()
        .map(|(s, n)| Ok((s.parse::<JobStatus>()?, n as u64)))
        .collect::<Result<Vec<_>>>()?;
    let finished: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT (completed_at - $1) / $2, status, count(*) FROM reseolio_jobs \
         WHERE status IN ('SUCCESS', 'DEAD', 'CANCELLED') AND completed_at >= $1 \
         GROUP BY 1, 2",
    )
    .bind(p.first_bucket_ms)
    .bind(p.bucket_ms)
    .fetch_all(&mut *c)
    .await
    .map_err(map_pg)?;
    let finished = finished
        .into_iter()
        .map(|(b, s, n)| Ok((b, s.parse::<JobStatus>()?, n as u64)))
        .collect::<Result<Vec<_>>>()?;
    Ok(JobStats::assemble(&p, counts, finished))
}

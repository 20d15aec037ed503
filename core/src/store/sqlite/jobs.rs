//! The SQL of every store call, one function per call, each run on a connection handed in by the
//! writer (writes, inside the group transaction) or the read pool (reads).

use super::error::map_sqlite;
use super::steps;
use crate::error::{Error, Result};
use crate::job::{
    backoff_delay_ms, Attempt, AttemptOutcome, Backoff, ClaimedJob, FailureKind, Job, JobStatus,
    LeaseToken, Outcome, RetryPolicy, Transition,
};
use crate::store::rules;
use crate::store::*;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

const JOB_COLUMNS: &str = "id, name, args, status, priority, attempt, max_attempts, backoff, \
    initial_delay_ms, max_delay_ms, jitter, timeout_ms, idempotency_key, result, last_error, \
    created_at, run_at, started_at, completed_at, lease_expires_at, worker_id";

pub(crate) fn bad_column(i: usize, e: Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
}

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<Job> {
    let status: String = r.get(3)?;
    let backoff: String = r.get(7)?;
    Ok(Job {
        id: r.get(0)?,
        name: r.get(1)?,
        args: r.get(2)?,
        status: status.parse().map_err(|e| bad_column(3, e))?,
        priority: r.get(4)?,
        attempt: r.get(5)?,
        max_attempts: r.get(6)?,
        retry: RetryPolicy {
            backoff: backoff.parse::<Backoff>().map_err(|e| bad_column(7, e))?,
            initial_delay_ms: r.get::<_, i64>(8)? as u64,
            max_delay_ms: r.get::<_, i64>(9)? as u64,
            jitter: r.get(10)?,
        },
        timeout_ms: r.get::<_, i64>(11)? as u64,
        idempotency_key: r.get(12)?,
        result: r.get(13)?,
        last_error: r.get(14)?,
        created_at: r.get(15)?,
        run_at: r.get(16)?,
        started_at: r.get(17)?,
        completed_at: r.get(18)?,
        lease_expires_at: r.get(19)?,
        worker_id: r.get(20)?,
    })
}

pub(crate) fn job_insert(conn: &Connection, p: JobInsertParams) -> Result<JobInsertResult> {
    let o = &p.options;
    // DO NOTHING on the unique (name, idempotency_key) index: the index, not a read before the
    // write, is what makes two racing enqueues with one key produce one job.
    let inserted = conn
        .prepare_cached(
            "INSERT INTO reseolio_jobs (id, name, args, status, priority, attempt, max_attempts, \
             backoff, initial_delay_ms, max_delay_ms, jitter, timeout_ms, idempotency_key, \
             created_at, run_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
             ON CONFLICT DO NOTHING",
        )
        .and_then(|mut s| {
            s.execute(params![
                p.id,
                p.name,
                p.args,
                JobStatus::Pending.as_str(),
                o.priority,
                o.max_attempts,
                o.retry.backoff.as_str(),
                o.retry.initial_delay_ms as i64,
                o.retry.max_delay_ms as i64,
                o.retry.jitter,
                o.timeout_ms as i64,
                o.idempotency_key,
                p.now_ms,
                o.run_at_ms,
            ])
        })
        .map_err(map_sqlite)?;
    if inserted == 1 {
        // Handed straight to an idle worker of this process, in the same transaction: one
        // commit instead of two, and no fetcher round trip.
        let claimed = match &p.claim {
            Some(c) if o.run_at_ms <= p.now_ms => claim_where(
                conn,
                "id = ?4",
                vec![Value::Text(p.id.clone())],
                &c.worker_id,
                &c.node_id,
                p.now_ms,
            )?
            .pop()
            .map(|(_, job)| job),
            _ => None,
        };
        return Ok(JobInsertResult {
            job_id: p.id,
            deduplicated: false,
            claimed,
        });
    }
    let existing: Option<String> = conn
        .prepare_cached("SELECT id FROM reseolio_jobs WHERE name = ?1 AND idempotency_key = ?2")
        .and_then(|mut s| {
            s.query_row(params![p.name, o.idempotency_key], |r| r.get(0))
                .optional()
        })
        .map_err(map_sqlite)?;
    match existing {
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

pub(crate) fn job_get(conn: &Connection, p: JobGetParams) -> Result<Job> {
    conn.prepare_cached(&format!(
        "SELECT {JOB_COLUMNS} FROM reseolio_jobs WHERE id = ?1"
    ))
    .and_then(|mut s| s.query_row([&p.id], job_from_row).optional())
    .map_err(map_sqlite)?
    .ok_or_else(|| Error::job_not_found(&p.id))
}

pub(crate) fn job_list(conn: &Connection, p: JobListParams) -> Result<JobListResult> {
    let mut clauses = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if !p.statuses.is_empty() {
        let marks = vec!["?"; p.statuses.len()].join(",");
        clauses.push(format!("status IN ({marks})"));
        args.extend(p.statuses.iter().map(|s| Value::Text(s.as_str().into())));
    }
    if !p.names.is_empty() {
        let marks = vec!["?"; p.names.len()].join(",");
        clauses.push(format!("name IN ({marks})"));
        args.extend(p.names.iter().map(|n| Value::Text(n.clone())));
    }
    // Without a search the filters are the count table's own columns: the total is a sum over
    // a few rows of it instead of a count over the matching jobs.
    let counted = if clauses.is_empty() {
        "SELECT coalesce(sum(n), 0) FROM reseolio_job_counts".to_string()
    } else {
        format!(
            "SELECT coalesce(sum(n), 0) FROM reseolio_job_counts WHERE {}",
            clauses.join(" AND ")
        )
    };
    if let Some(q) = &p.search {
        clauses.push("(id = ? OR idempotency_key = ?)".into());
        args.push(Value::Text(q.clone()));
        args.push(Value::Text(q.clone()));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let total_sql = match p.search {
        Some(_) => format!("SELECT count(*) FROM reseolio_jobs {filter}"),
        None => counted,
    };
    let total: i64 = conn
        .prepare_cached(&total_sql)
        .and_then(|mut s| s.query_row(params_from_iter(args.iter()), |r| r.get(0)))
        .map_err(map_sqlite)?;
    let col = match p.order {
        JobOrder::CreatedAt => "created_at",
        JobOrder::RunAt => "run_at",
    };
    let dir = if p.ascending { "ASC" } else { "DESC" };
    args.push(Value::Integer(p.limit as i64));
    args.push(Value::Integer(p.offset as i64));
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM reseolio_jobs {filter} ORDER BY {col} {dir}, id {dir} LIMIT ? OFFSET ?"
    );
    let jobs = conn
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_map(params_from_iter(args.iter()), job_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(map_sqlite)?;
    Ok(JobListResult {
        jobs,
        total: total as u64,
    })
}

pub(crate) fn job_claim_available(conn: &Connection, p: JobClaimParams) -> Result<Vec<ClaimedJob>> {
    if p.limit == 0 {
        return Ok(vec![]);
    }
    let mut args: Vec<Value> = vec![Value::Integer(p.limit as i64)];
    // The claim must walk a partial index of claimable rows only: left to itself, the planner
    // picks the by-name list index for a name filter and scans every finished job of that name.
    // The status literals must match the index's WHERE for SQLite to use it.
    let (index, names) = if p.names.is_empty() {
        ("reseolio_jobs_claimable", String::new())
    } else {
        // Numbered after the fixed parameters (?1 to ?4): a bare `?` would reuse a number.
        let marks: Vec<String> = (0..p.names.len()).map(|i| format!("?{}", i + 5)).collect();
        args.extend(p.names.iter().map(|n| Value::Text(n.clone())));
        (
            "reseolio_jobs_claimable_by_name",
            format!("AND name IN ({})", marks.join(",")),
        )
    };
    let filter = format!(
        "id IN (SELECT id FROM reseolio_jobs INDEXED BY {index} WHERE status IN ('PENDING', 'FAILED') \
         AND run_at <= ?1 {names} ORDER BY priority DESC, run_at, id LIMIT ?4)"
    );
    let mut claimed = claim_where(conn, &filter, args, &p.worker_id, &p.node_id, p.now_ms)?;
    claimed.sort_by(|(pa, a), (pb, b)| {
        pb.cmp(pa)
            .then(a.run_at.cmp(&b.run_at))
            .then(a.token.job_id.cmp(&b.token.job_id))
    });
    Ok(claimed.into_iter().map(|(_, c)| c).collect())
}

/// Claims the rows matching `filter` (SQL over ?1 = now, ?2 = worker, ?3 = node, then `args`
/// from ?4 on): each becomes RUNNING under a new lease and gets an attempt row. Returns each
/// claimed job with its priority.
fn claim_where(
    conn: &Connection,
    filter: &str,
    args: Vec<Value>,
    worker_id: &str,
    node_id: &str,
    now_ms: i64,
) -> Result<Vec<(i32, ClaimedJob)>> {
    let mut all: Vec<Value> = vec![
        Value::Integer(now_ms),
        Value::Text(worker_id.to_string()),
        Value::Text(node_id.to_string()),
    ];
    all.extend(args);
    let sql = format!(
        "UPDATE reseolio_jobs SET status = 'RUNNING', attempt = attempt + 1, lease = lease + 1, \
         started_at = ?1, lease_expires_at = ?1 + timeout_ms, worker_id = ?2, node_id = ?3 \
         WHERE {filter} \
         RETURNING id, name, args, attempt, max_attempts, timeout_ms, lease, lease_expires_at, \
            created_at, run_at, priority"
    );
    let claimed: Vec<(i32, ClaimedJob)> = conn
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_map(params_from_iter(all.iter()), |r| {
                Ok((
                    r.get::<_, i32>(10)?,
                    ClaimedJob {
                        token: LeaseToken {
                            job_id: r.get(0)?,
                            lease: r.get(6)?,
                        },
                        name: r.get(1)?,
                        args: r.get(2)?,
                        attempt: r.get(3)?,
                        max_attempts: r.get(4)?,
                        timeout_ms: r.get::<_, i64>(5)? as u64,
                        deadline_ms: r.get(7)?,
                        created_at: r.get(8)?,
                        run_at: r.get(9)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(map_sqlite)?;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO reseolio_attempts (job_id, attempt, lease, worker_id, node_id, started_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(map_sqlite)?;
    for (_, c) in &claimed {
        insert
            .execute(params![
                c.token.job_id,
                c.attempt,
                c.token.lease,
                worker_id,
                node_id,
                now_ms
            ])
            .map_err(map_sqlite)?;
    }
    Ok(claimed)
}

/// The columns a transition needs, read inside the write transaction.
pub(crate) struct Held {
    pub(crate) status: JobStatus,
    pub(crate) lease: i64,
    attempt: u32,
    max_attempts: u32,
    timeout_ms: i64,
    policy: RetryPolicy,
}

pub(crate) fn held(conn: &Connection, id: &str) -> Result<Held> {
    conn.prepare_cached(
        "SELECT status, lease, attempt, max_attempts, timeout_ms, backoff, initial_delay_ms, \
         max_delay_ms, jitter FROM reseolio_jobs WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.query_row([id], |r| {
            let status: String = r.get(0)?;
            let backoff: String = r.get(5)?;
            Ok(Held {
                status: status.parse().map_err(|e| bad_column(0, e))?,
                lease: r.get(1)?,
                attempt: r.get(2)?,
                max_attempts: r.get(3)?,
                timeout_ms: r.get(4)?,
                policy: RetryPolicy {
                    backoff: backoff.parse().map_err(|e| bad_column(5, e))?,
                    initial_delay_ms: r.get::<_, i64>(6)? as u64,
                    max_delay_ms: r.get::<_, i64>(7)? as u64,
                    jitter: r.get(8)?,
                },
            })
        })
        .optional()
    })
    .map_err(map_sqlite)?
    .ok_or_else(|| Error::job_not_found(id))
}

pub(crate) fn finish_attempt(
    conn: &Connection,
    id: &str,
    lease: i64,
    now_ms: i64,
    outcome: AttemptOutcome,
    error: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE reseolio_attempts SET finished_at = ?3, outcome = ?4, error = ?5 \
         WHERE job_id = ?1 AND lease = ?2",
    )
    .and_then(|mut s| s.execute(params![id, lease, now_ms, outcome.as_str(), error]))
    .map_err(map_sqlite)?;
    Ok(())
}

/// Writes a failed attempt's transition (FAILED with its next run, or DEAD).
fn fail(
    conn: &Connection,
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
    conn.prepare_cached(
        "UPDATE reseolio_jobs SET status = ?2, last_error = ?3, run_at = coalesce(?4, run_at), \
         completed_at = ?5, lease_expires_at = NULL, worker_id = NULL WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![id, t.to.as_str(), error, run_at, completed_at]))
    .map_err(map_sqlite)?;
    match t.to {
        JobStatus::Dead => steps::on_job_finished(conn, id, now_ms)?,
        _ => steps::forget_failed_steps(conn, id)?,
    }
    Ok(t)
}

pub(crate) fn job_complete(conn: &Connection, p: JobCompleteParams) -> Result<JobCompleteResult> {
    let h = held(conn, &p.job_id)?;
    rules::check_lease(&p.job_id, h.status, h.lease, p.lease)?;
    match &p.outcome {
        Outcome::Success(result) => {
            let t = Transition::on_success();
            conn.prepare_cached(
                "UPDATE reseolio_jobs SET status = ?2, result = ?3, completed_at = ?4, \
                 lease_expires_at = NULL, worker_id = NULL WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![p.job_id, t.to.as_str(), result, p.now_ms]))
            .map_err(map_sqlite)?;
            steps::on_job_finished(conn, &p.job_id, p.now_ms)?;
            finish_attempt(
                conn,
                &p.job_id,
                p.lease,
                p.now_ms,
                AttemptOutcome::Success,
                None,
            )?;
            Ok(JobCompleteResult {
                status: t.to,
                next_attempt: None,
                next_run_at: None,
                job: Some(job_get(conn, JobGetParams { id: p.job_id })?),
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
            let t = fail(conn, &p.job_id, &h, kind, error, p.jitter_sample, p.now_ms)?;
            finish_attempt(
                conn,
                &p.job_id,
                p.lease,
                p.now_ms,
                AttemptOutcome::Failure,
                Some(error),
            )?;
            let job = if t.to.is_terminal() {
                Some(job_get(
                    conn,
                    JobGetParams {
                        id: p.job_id.clone(),
                    },
                )?)
            } else {
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

pub(crate) fn job_heartbeat(
    conn: &Connection,
    p: JobHeartbeatParams,
) -> Result<JobHeartbeatResult> {
    let h = held(conn, &p.job_id)?;
    if h.status == JobStatus::Cancelled && h.lease == p.lease {
        return Ok(JobHeartbeatResult::Cancelled);
    }
    rules::check_lease(&p.job_id, h.status, h.lease, p.lease)?;
    let expires = p.now_ms.saturating_add(h.timeout_ms);
    conn.prepare_cached("UPDATE reseolio_jobs SET lease_expires_at = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![p.job_id, expires]))
        .map_err(map_sqlite)?;
    Ok(JobHeartbeatResult::Extended {
        lease_expires_at: expires,
    })
}

pub(crate) fn job_release(conn: &Connection, p: JobReleaseParams) -> Result<()> {
    let h = held(conn, &p.job_id)?;
    rules::check_lease(&p.job_id, h.status, h.lease, p.lease)?;
    hand_back(
        conn,
        &p.job_id,
        p.lease,
        p.now_ms,
        p.now_ms,
        AttemptOutcome::Released,
    )
}

/// A held job goes back to PENDING, due at `run_at`, its attempt ended as `outcome` and not
/// counted: the handler did not fail (a hand-back on shutdown, a suspension on a step wait).
/// The caller has checked the lease.
pub(crate) fn hand_back(
    conn: &Connection,
    job_id: &str,
    lease: i64,
    run_at: i64,
    now_ms: i64,
    outcome: AttemptOutcome,
) -> Result<()> {
    let t = Transition::on_suspend();
    conn.prepare_cached(
        "UPDATE reseolio_jobs SET status = ?2, attempt = attempt - 1, run_at = ?3, \
         lease_expires_at = NULL, worker_id = NULL WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![job_id, t.to.as_str(), run_at]))
    .map_err(map_sqlite)?;
    finish_attempt(conn, job_id, lease, now_ms, outcome, None)
}

pub(crate) fn job_cancel(conn: &Connection, p: JobCancelParams) -> Result<Job> {
    let h = held(conn, &p.id)?;
    let t = Transition::on_cancel(&p.id, h.status)?;
    conn.prepare_cached(
        "UPDATE reseolio_jobs SET status = ?2, completed_at = ?3, lease_expires_at = NULL, \
         worker_id = NULL WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![p.id, t.to.as_str(), p.now_ms]))
    .map_err(map_sqlite)?;
    steps::on_job_finished(conn, &p.id, p.now_ms)?;
    if h.status == JobStatus::Running {
        finish_attempt(
            conn,
            &p.id,
            h.lease,
            p.now_ms,
            AttemptOutcome::Cancelled,
            None,
        )?;
    }
    job_get(conn, JobGetParams { id: p.id })
}

pub(crate) fn job_retry(conn: &Connection, p: JobRetryParams) -> Result<Job> {
    let h = held(conn, &p.id)?;
    let t = Transition::on_retry(&p.id, h.status)?;
    conn.prepare_cached(
        "UPDATE reseolio_jobs SET status = ?2, attempt = 0, run_at = ?3, result = NULL, \
         completed_at = NULL WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![p.id, t.to.as_str(), p.now_ms]))
    .map_err(map_sqlite)?;
    steps::forget_failed_steps(conn, &p.id)?;
    job_get(conn, JobGetParams { id: p.id })
}

pub(crate) fn job_rescue(conn: &Connection, p: JobRescueParams) -> Result<Vec<JobRescued>> {
    let mut args: Vec<Value> = vec![Value::Integer(p.now_ms)];
    let dead = if p.dead_node_ids.is_empty() {
        String::new()
    } else {
        args.extend(p.dead_node_ids.iter().map(|n| Value::Text(n.clone())));
        format!(
            "OR node_id IN ({})",
            vec!["?"; p.dead_node_ids.len()].join(",")
        )
    };
    // Named, as the claim's: left to itself the planner takes (status, created_at) for
    // `status = 'RUNNING'` and reads every RUNNING row each pass instead of the expired ones.
    let lost: Vec<(String, i64, Option<String>, i64)> = conn
        .prepare_cached(&format!(
            "SELECT id, lease, node_id, timeout_ms FROM reseolio_jobs \
             INDEXED BY reseolio_jobs_running \
             WHERE status = 'RUNNING' AND (lease_expires_at < ?1 {dead})"
        ))
        .and_then(|mut s| {
            s.query_map(params_from_iter(args.iter()), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect()
        })
        .map_err(map_sqlite)?;
    let mut rescued = Vec::with_capacity(lost.len());
    for (id, lease, node, timeout_ms) in lost {
        let h = held(conn, &id)?;
        let dead = node
            .as_deref()
            .filter(|n| p.dead_node_ids.iter().any(|d| d == n));
        let (outcome, error) = rules::lost_attempt(h.attempt, dead, timeout_ms);
        let t = fail(
            conn,
            &id,
            &h,
            FailureKind::LeaseLost,
            &error,
            rules::spread_sample(p.jitter_sample, &id),
            p.now_ms,
        )?;
        finish_attempt(conn, &id, lease, p.now_ms, outcome, Some(&error))?;
        rescued.push(JobRescued {
            job_id: id,
            kind: FailureKind::LeaseLost,
            status: t.to,
        });
    }
    Ok(rescued)
}

pub(crate) fn job_prune(conn: &Connection, p: JobPruneParams) -> Result<u64> {
    // Named: left to itself the planner takes (status, created_at) for the status list and
    // reads every finished job (~0.3 s at a million rows, on the writer) to find none to prune.
    let ids: Vec<String> = conn
        .prepare_cached(
            "SELECT id FROM reseolio_jobs INDEXED BY reseolio_jobs_finished \
             WHERE status IN ('SUCCESS', 'DEAD', 'CANCELLED') AND completed_at < ?1 LIMIT ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![p.completed_before_ms, p.limit], |r| r.get(0))?
                .collect()
        })
        .map_err(map_sqlite)?;
    for id in &ids {
        conn.prepare_cached("DELETE FROM reseolio_attempts WHERE job_id = ?1")
            .and_then(|mut s| s.execute([id]))
            .map_err(map_sqlite)?;
        steps::delete_steps(conn, id)?;
        conn.prepare_cached("DELETE FROM reseolio_jobs WHERE id = ?1")
            .and_then(|mut s| s.execute([id]))
            .map_err(map_sqlite)?;
    }
    Ok(ids.len() as u64)
}

pub(crate) fn attempt_list(conn: &Connection, p: AttemptListParams) -> Result<Vec<Attempt>> {
    conn.prepare_cached(
        "SELECT job_id, attempt, lease, worker_id, node_id, started_at, finished_at, outcome, error \
         FROM reseolio_attempts WHERE job_id = ?1 ORDER BY lease",
    )
    .and_then(|mut s| {
        s.query_map([&p.job_id], |r| {
            let outcome: Option<String> = r.get(7)?;
            Ok(Attempt {
                job_id: r.get(0)?,
                attempt: r.get(1)?,
                lease: r.get(2)?,
                worker_id: r.get(3)?,
                node_id: r.get(4)?,
                started_at: r.get(5)?,
                finished_at: r.get(6)?,
                outcome: outcome.as_deref().and_then(AttemptOutcome::parse),
                error: r.get(8)?,
            })
        })?
        .collect()
    })
    .map_err(map_sqlite)
}

pub(crate) fn node_heartbeat(conn: &Connection, p: NodeHeartbeatParams) -> Result<()> {
    let n = p.node;
    conn.prepare_cached(
        "INSERT INTO reseolio_nodes (id, hostname, pid, process_start, heartbeat_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
    )
    .and_then(|mut s| s.execute(params![n.id, n.hostname, n.pid, n.process_start, n.heartbeat_at]))
    .map_err(map_sqlite)?;
    Ok(())
}

pub(crate) fn node_list(conn: &Connection) -> Result<Vec<Node>> {
    conn.prepare_cached("SELECT id, hostname, pid, process_start, heartbeat_at FROM reseolio_nodes")
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(Node {
                    id: r.get(0)?,
                    hostname: r.get(1)?,
                    pid: r.get(2)?,
                    process_start: r.get(3)?,
                    heartbeat_at: r.get(4)?,
                })
            })?
            .collect()
        })
        .map_err(map_sqlite)
}

pub(crate) fn node_delete(conn: &Connection, p: NodeDeleteParams) -> Result<()> {
    for id in &p.ids {
        conn.prepare_cached("DELETE FROM reseolio_nodes WHERE id = ?1")
            .and_then(|mut s| s.execute([id]))
            .map_err(map_sqlite)?;
    }
    Ok(())
}

pub(crate) fn leader_elect(conn: &Connection, p: LeaderElectParams) -> Result<Leader> {
    let mut args: Vec<Value> = vec![
        Value::Text(p.node_id),
        Value::Integer(p.now_ms),
        Value::Integer(p.now_ms.saturating_add(p.ttl_ms)),
    ];
    let dead = if p.dead_node_ids.is_empty() {
        String::new()
    } else {
        let marks: Vec<String> = (0..p.dead_node_ids.len())
            .map(|i| format!("?{}", i + 4))
            .collect();
        args.extend(p.dead_node_ids.into_iter().map(Value::Text));
        format!("OR reseolio_leader.node_id IN ({})", marks.join(","))
    };
    // The upsert's WHERE decides: the same node renews (keeping elected_at), anyone else takes
    // over only from a lapsed or dead leader.
    conn.prepare_cached(&format!(
        "INSERT INTO reseolio_leader (id, node_id, elected_at, expires_at) VALUES (1, ?1, ?2, ?3) \
         ON CONFLICT (id) DO UPDATE SET node_id = excluded.node_id, expires_at = excluded.expires_at, \
            elected_at = CASE WHEN reseolio_leader.node_id = excluded.node_id \
                THEN reseolio_leader.elected_at ELSE excluded.elected_at END \
         WHERE reseolio_leader.node_id = excluded.node_id OR reseolio_leader.expires_at < ?2 {dead}"
    ))
    .and_then(|mut s| s.execute(params_from_iter(args.iter())))
    .map_err(map_sqlite)?;
    leader_get(conn)?.ok_or_else(|| Error::internal("the leader row is missing after an election"))
}

pub(crate) fn leader_get(conn: &Connection) -> Result<Option<Leader>> {
    conn.prepare_cached("SELECT node_id, elected_at, expires_at FROM reseolio_leader WHERE id = 1")
        .and_then(|mut s| {
            s.query_row([], |r| {
                Ok(Leader {
                    node_id: r.get(0)?,
                    elected_at: r.get(1)?,
                    expires_at: r.get(2)?,
                })
            })
            .optional()
        })
        .map_err(map_sqlite)
}

pub(crate) fn leader_resign(conn: &Connection, node_id: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM reseolio_leader WHERE node_id = ?1")
        .and_then(|mut s| s.execute([node_id]))
        .map_err(map_sqlite)?;
    Ok(())
}

pub(crate) fn job_stats(conn: &Connection, p: JobStatsParams) -> Result<JobStats> {
    let counts = conn
        .prepare_cached("SELECT status, sum(n) FROM reseolio_job_counts GROUP BY status")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(map_sqlite)?
        .into_iter()
        .map(|(s, n)| Ok((s.parse::<JobStatus>()?, n.max(0) as u64)))
        .collect::<Result<Vec<_>>>()?;
    // The status condition repeats the finished-jobs index's own, so that index can serve the
    // range and only the window's rows are read. It is named: left to itself the planner takes
    // (status, created_at) for the status list and reads every finished job (~0.3 s at a
    // million rows instead of ~10 ms for a busy 15-minute window).
    let finished = conn
        .prepare_cached(
            "SELECT (completed_at - ?1) / ?2, status, count(*) FROM reseolio_jobs \
             INDEXED BY reseolio_jobs_finished \
             WHERE status IN ('SUCCESS', 'DEAD', 'CANCELLED') AND completed_at >= ?1 \
             GROUP BY 1, 2",
        )
        .and_then(|mut s| {
            s.query_map(params![p.first_bucket_ms, p.bucket_ms], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(map_sqlite)?
        .into_iter()
        .map(|(b, s, n)| Ok((b, s.parse::<JobStatus>()?, n as u64)))
        .collect::<Result<Vec<_>>>()?;
    Ok(JobStats::assemble(&p, counts, finished))
}

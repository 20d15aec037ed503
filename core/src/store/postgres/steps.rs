//! The SQL of the step and event calls on PostgreSQL, and the hooks of the job calls that touch
//! steps.
//!
//! SQLite serialises every write, so a wait's check and its suspension cannot interleave with an
//! event send or a child's completion. Here transactions from many nodes run at once under READ
//! COMMITTED, and a wake-up that runs between a wait's check and its commit would find no
//! waiting step and be lost. Locks order them instead:
//!
//! - A wait and a run step's record lock the job's row first (`FOR UPDATE`), which serialises the
//!   writers of one job's steps and fences a stale lease.
//! - A child wait reads the child's row `FOR SHARE`. A completion of the child that is in flight
//!   holds the row, so the read waits for its commit and sees the final status; a completion that
//!   comes later waits for the wait's commit, and its wake-up (a statement with a later snapshot,
//!   see `reseolio_wake_waiters` in `sql/0006_steps.sql`) sees the waiting step.
//! - An event wait and an event send take the same advisory lock on the event's key (shared for a
//!   wait, so that waits on one key do not queue behind each other; exclusive for a send). A send
//!   that holds it makes the wait read the stored event after its commit; a wait that holds it
//!   makes the send wake it after its commit.

use super::error::map_pg;
use super::jobs::hand_back;
use crate::error::{Error, Result};
use crate::job::{
    check_same_step, AttemptOutcome, JobStatus, Step, StepKind, StepOutcome, StepWait,
    StepWaitOutcome,
};
use crate::store::rules;
use crate::store::*;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

const COLUMNS: &str = "job_id, seq, name, kind, status, result, error, attempts, started_at, \
    completed_at, wait_key, wake_at";

fn step_from_row(r: &PgRow) -> Result<Step> {
    let kind: String = r.try_get(3).map_err(map_pg)?;
    let status: String = r.try_get(4).map_err(map_pg)?;
    Ok(Step {
        job_id: r.try_get(0).map_err(map_pg)?,
        seq: r.try_get::<i32, _>(1).map_err(map_pg)? as u32,
        name: r.try_get(2).map_err(map_pg)?,
        kind: kind.parse()?,
        status: status.parse()?,
        result: r.try_get(5).map_err(map_pg)?,
        error: r.try_get(6).map_err(map_pg)?,
        attempts: r.try_get::<i32, _>(7).map_err(map_pg)? as u32,
        started_at: r.try_get(8).map_err(map_pg)?,
        completed_at: r.try_get(9).map_err(map_pg)?,
        wait_key: r.try_get(10).map_err(map_pg)?,
        wake_at: r.try_get(11).map_err(map_pg)?,
    })
}

/// The key of the advisory lock that orders the waits for an event and its sends. The prefix
/// names the schema, so that stores in other schemas of the database do not share locks.
fn event_lock_key(schema: &str, key: &str) -> String {
    format!("reseolio:event:{schema}:{key}")
}

pub(crate) async fn step_list(c: &mut PgConnection, p: StepListParams) -> Result<Vec<Step>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reseolio_steps WHERE job_id = $1 ORDER BY seq"
    ))
    .bind(&p.job_id)
    .fetch_all(&mut *c)
    .await
    .map_err(map_pg)?;
    rows.iter().map(step_from_row).collect()
}

async fn step_get(c: &mut PgConnection, job_id: &str, seq: u32) -> Result<Option<Step>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reseolio_steps WHERE job_id = $1 AND seq = $2"
    ))
    .bind(job_id)
    .bind(seq as i32)
    .fetch_optional(&mut *c)
    .await
    .map_err(map_pg)?
    .as_ref()
    .map(step_from_row)
    .transpose()
}

/// Writes a step row whole (insert or replace).
async fn step_put(c: &mut PgConnection, s: &Step) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO reseolio_steps ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (job_id, seq) DO UPDATE SET name = excluded.name, kind = excluded.kind, \
            status = excluded.status, result = excluded.result, error = excluded.error, \
            attempts = excluded.attempts, started_at = excluded.started_at, \
            completed_at = excluded.completed_at, wait_key = excluded.wait_key, \
            wake_at = excluded.wake_at"
    ))
    .bind(&s.job_id)
    .bind(s.seq as i32)
    .bind(&s.name)
    .bind(s.kind.as_str())
    .bind(s.status.as_str())
    .bind(&s.result)
    .bind(&s.error)
    .bind(s.attempts as i32)
    .bind(s.started_at)
    .bind(s.completed_at)
    .bind(&s.wait_key)
    .bind(s.wake_at)
    .execute(&mut *c)
    .await
    .map_err(map_pg)?;
    Ok(())
}

/// Locks the job's row and refuses a token that no longer holds it. Every writer of a job's steps
/// holds this lock (or the lock of a job call that changes the job), so they do not interleave.
/// Locks the job row and checks the token as [`rules::check_step_lease`] does; true when the
/// token's wait already suspended the job.
async fn lock_held(c: &mut PgConnection, job_id: &str, lease: i64) -> Result<bool> {
    let (status, held): (String, i64) =
        sqlx::query_as("SELECT status, lease FROM reseolio_jobs WHERE id = $1 FOR UPDATE")
            .bind(job_id)
            .fetch_optional(&mut *c)
            .await
            .map_err(map_pg)?
            .ok_or_else(|| Error::job_not_found(job_id))?;
    rules::check_step_lease(job_id, status.parse::<JobStatus>()?, held, lease)
}

pub(crate) async fn step_record(c: &mut PgConnection, p: StepRecordParams) -> Result<Step> {
    lock_held(c, &p.job_id, p.lease).await?;
    if let Some(existing) = step_get(c, &p.job_id, p.seq).await? {
        check_same_step(&p.job_id, &existing, &p.name, StepKind::Run)?;
        if existing.status.is_finished() {
            return Ok(existing);
        }
    }
    let step = rules::finished_run_step(p);
    step_put(c, &step).await?;
    Ok(step)
}

/// Whether a wait is over now: Some(outcome) if so. Takes the locks that order the check with a
/// concurrent send or child completion (see the module's doc); they are held until the commit.
async fn check_wait(
    c: &mut PgConnection,
    schema: &str,
    wait: &StepWait,
    now_ms: i64,
) -> Result<Option<StepOutcome>> {
    Ok(match wait {
        StepWait::Sleep { until_ms } => (now_ms >= *until_ms).then(|| StepOutcome::Success(vec![])),
        StepWait::Event { key, timeout_at_ms } => {
            // Its own statement: the read below must take its snapshot after the lock is held,
            // so that it sees a send that held the lock before us.
            sqlx::query("SELECT pg_advisory_xact_lock_shared(hashtext($1))")
                .bind(event_lock_key(schema, key))
                .execute(&mut *c)
                .await
                .map_err(map_pg)?;
            let payload: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT payload FROM reseolio_events WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&mut *c)
                    .await
                    .map_err(map_pg)?;
            rules::event_outcome(key, payload, *timeout_at_ms, now_ms)
        }
        StepWait::Child { job_id } => {
            // FOR SHARE waits for a completion of the child that holds its row, then reads the
            // row as that completion left it; a later completion waits for our commit.
            let child: Option<(String, Option<Vec<u8>>, Option<String>)> = sqlx::query_as(
                "SELECT status, result, last_error FROM reseolio_jobs WHERE id = $1 FOR SHARE",
            )
            .bind(job_id)
            .fetch_optional(&mut *c)
            .await
            .map_err(map_pg)?;
            let (status, result, error) = child.ok_or_else(|| Error::job_not_found(job_id))?;
            rules::child_outcome(job_id, status.parse()?, result, error)
        }
    })
}

pub(crate) async fn step_wait(
    c: &mut PgConnection,
    schema: &str,
    p: StepWaitParams,
) -> Result<StepWaitOutcome> {
    let already_suspended = lock_held(c, &p.job_id, p.lease).await?;
    let (wait, mut step, recorded) =
        match rules::wait_start(&p, step_get(c, &p.job_id, p.seq).await?)? {
            rules::WaitStart::Done(s) => return Ok(StepWaitOutcome::Done(s)),
            rules::WaitStart::Check {
                wait,
                step,
                recorded,
            } => (wait, step, recorded),
        };
    if let Some(outcome) = check_wait(c, schema, &wait, p.now_ms).await? {
        rules::finish_step(&mut step, outcome, p.now_ms);
        step_put(c, &step).await?;
        return Ok(StepWaitOutcome::Done(step));
    }
    if !recorded {
        step_put(c, &step).await?;
    }
    let wake_at = rules::wake_at(&wait);
    if already_suspended {
        // A wait running in parallel with the one that suspended the job: keep its deadline
        // (recorded above) and make sure the job wakes for whichever is first.
        let (run_at,): (i64,) = sqlx::query_as(
            "UPDATE reseolio_jobs SET run_at = least(run_at, $2) WHERE id = $1 RETURNING run_at",
        )
        .bind(&p.job_id)
        .bind(wake_at)
        .fetch_one(&mut *c)
        .await
        .map_err(map_pg)?;
        return Ok(StepWaitOutcome::Suspended { wake_at: run_at });
    }
    hand_back(
        c,
        &p.job_id,
        p.lease,
        wake_at,
        p.now_ms,
        AttemptOutcome::Suspended,
    )
    .await?;
    Ok(StepWaitOutcome::Suspended { wake_at })
}

pub(crate) async fn event_send(
    c: &mut PgConnection,
    schema: &str,
    channel: &str,
    p: EventSendParams,
) -> Result<EventSendResult> {
    // Exclusive: a wait on the key that is between its check and its commit holds the lock
    // shared, so the statement below (whose snapshot is taken after the lock is ours) sees its
    // waiting step; a wait that comes later reads this event once we commit.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(event_lock_key(schema, &p.key))
        .execute(&mut *c)
        .await
        .map_err(map_pg)?;
    let woken: i64 = sqlx::query_scalar(
        "WITH e AS ( \
            INSERT INTO reseolio_events (key, payload, sent_at) VALUES ($1, $2, $3) \
            ON CONFLICT (key) DO UPDATE SET payload = excluded.payload, sent_at = excluded.sent_at) \
         SELECT reseolio_wake_waiters($4, ARRAY[$1], $3, $5)",
    )
    .bind(&p.key)
    .bind(&p.payload)
    .bind(p.now_ms)
    .bind(StepKind::Event.as_str())
    .bind(channel)
    .fetch_one(&mut *c)
    .await
    .map_err(map_pg)?;
    Ok(EventSendResult {
        woken: woken as u64,
    })
}

/// The hook of the job calls, for a job that reached SUCCESS, DEAD or CANCELLED: makes the
/// parents suspended on a wait for it due now (and tells the idle workers of every node). Called
/// in the transaction that finished the job, after the statement that locked its row, so that
/// its snapshot sees a parent that suspended on the job while we waited for that lock.
pub(crate) async fn on_job_finished(
    c: &mut PgConnection,
    channel: &str,
    job_id: &str,
    now_ms: i64,
) -> Result<()> {
    sqlx::query("SELECT reseolio_wake_waiters($1, ARRAY[$2], $3, $4)")
        .bind(StepKind::Child.as_str())
        .bind(job_id)
        .bind(now_ms)
        .bind(channel)
        .execute(&mut *c)
        .await
        .map_err(map_pg)?;
    Ok(())
}

/// A failed attempt that will be retried re-runs its failed steps; an explicit retry too.
pub(crate) async fn forget_failed_steps(c: &mut PgConnection, job_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM reseolio_steps WHERE job_id = $1 AND status = 'FAILED'")
        .bind(job_id)
        .execute(&mut *c)
        .await
        .map_err(map_pg)?;
    Ok(())
}

/// Deletes the steps of pruned jobs.
pub(crate) async fn delete_steps(c: &mut PgConnection, job_ids: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM reseolio_steps WHERE job_id = ANY($1)")
        .bind(job_ids)
        .execute(&mut *c)
        .await
        .map_err(map_pg)?;
    Ok(())
}

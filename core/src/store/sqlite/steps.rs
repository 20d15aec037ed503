//! The SQL of the step and event calls on SQLite. Writes run inside the writer's group
//! transaction, which every process takes with BEGIN IMMEDIATE: a wait's check and its
//! suspension cannot interleave with an event send or a child's completion, so no wake-up is
//! missed.

use super::error::map_sqlite;
use super::jobs::{bad_column, hand_back, held};
use crate::error::{Error, Result};
use crate::job::{
    check_same_step, AttemptOutcome, Step, StepKind, StepOutcome, StepWait, StepWaitOutcome,
};
use crate::store::rules;
use crate::store::*;
use rusqlite::{params, Connection, OptionalExtension, Row};

const COLUMNS: &str = "job_id, seq, name, kind, status, result, error, attempts, started_at, \
    completed_at, wait_key, wake_at";

fn step_from_row(r: &Row<'_>) -> rusqlite::Result<Step> {
    let kind: String = r.get(3)?;
    let status: String = r.get(4)?;
    Ok(Step {
        job_id: r.get(0)?,
        seq: r.get(1)?,
        name: r.get(2)?,
        kind: kind.parse().map_err(|e| bad_column(3, e))?,
        status: status.parse().map_err(|e| bad_column(4, e))?,
        result: r.get(5)?,
        error: r.get(6)?,
        attempts: r.get(7)?,
        started_at: r.get(8)?,
        completed_at: r.get(9)?,
        wait_key: r.get(10)?,
        wake_at: r.get(11)?,
    })
}

pub(crate) fn step_list(conn: &Connection, p: StepListParams) -> Result<Vec<Step>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM reseolio_steps WHERE job_id = ?1 ORDER BY seq"
    ))
    .and_then(|mut s| s.query_map([&p.job_id], step_from_row)?.collect())
    .map_err(map_sqlite)
}

fn step_get(conn: &Connection, job_id: &str, seq: u32) -> Result<Option<Step>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM reseolio_steps WHERE job_id = ?1 AND seq = ?2"
    ))
    .and_then(|mut s| s.query_row(params![job_id, seq], step_from_row).optional())
    .map_err(map_sqlite)
}

/// Writes a step row whole (insert or replace), and returns it.
fn step_put(conn: &Connection, s: &Step) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO reseolio_steps ({COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))
    .and_then(|mut st| {
        st.execute(params![
            s.job_id,
            s.seq,
            s.name,
            s.kind.as_str(),
            s.status.as_str(),
            s.result,
            s.error,
            s.attempts,
            s.started_at,
            s.completed_at,
            s.wait_key,
            s.wake_at
        ])
    })
    .map_err(map_sqlite)?;
    Ok(())
}

pub(crate) fn step_record(conn: &Connection, p: StepRecordParams) -> Result<Step> {
    let h = held(conn, &p.job_id)?;
    rules::check_step_lease(&p.job_id, h.status, h.lease, p.lease)?;
    if let Some(existing) = step_get(conn, &p.job_id, p.seq)? {
        check_same_step(&p.job_id, &existing, &p.name, StepKind::Run)?;
        if existing.status.is_finished() {
            return Ok(existing);
        }
    }
    let step = rules::finished_run_step(p);
    step_put(conn, &step)?;
    Ok(step)
}

/// Whether a wait is over now: Some(outcome) if so.
fn check_wait(conn: &Connection, wait: &StepWait, now_ms: i64) -> Result<Option<StepOutcome>> {
    Ok(match wait {
        StepWait::Sleep { until_ms } => (now_ms >= *until_ms).then(|| StepOutcome::Success(vec![])),
        StepWait::Event { key, timeout_at_ms } => {
            let payload: Option<Vec<u8>> = conn
                .prepare_cached("SELECT payload FROM reseolio_events WHERE key = ?1")
                .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
                .map_err(map_sqlite)?;
            rules::event_outcome(key, payload, *timeout_at_ms, now_ms)
        }
        StepWait::Child { job_id } => {
            let child: Option<(String, Option<Vec<u8>>, Option<String>)> = conn
                .prepare_cached(
                    "SELECT status, result, last_error FROM reseolio_jobs WHERE id = ?1",
                )
                .and_then(|mut s| {
                    s.query_row([job_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()
                })
                .map_err(map_sqlite)?;
            let (status, result, error) = child.ok_or_else(|| Error::job_not_found(job_id))?;
            rules::child_outcome(job_id, status.parse()?, result, error)
        }
    })
}

pub(crate) fn step_wait(conn: &Connection, p: StepWaitParams) -> Result<StepWaitOutcome> {
    let h = held(conn, &p.job_id)?;
    let already_suspended = rules::check_step_lease(&p.job_id, h.status, h.lease, p.lease)?;
    let (wait, mut step, recorded) = match rules::wait_start(&p, step_get(conn, &p.job_id, p.seq)?)?
    {
        rules::WaitStart::Done(s) => return Ok(StepWaitOutcome::Done(s)),
        rules::WaitStart::Check {
            wait,
            step,
            recorded,
        } => (wait, step, recorded),
    };
    if let Some(outcome) = check_wait(conn, &wait, p.now_ms)? {
        rules::finish_step(&mut step, outcome, p.now_ms);
        step_put(conn, &step)?;
        return Ok(StepWaitOutcome::Done(step));
    }
    if !recorded {
        step_put(conn, &step)?;
    }
    let wake_at = rules::wake_at(&wait);
    if already_suspended {
        // A wait running in parallel with the one that suspended the job: keep its deadline
        // (recorded above) and make sure the job wakes for whichever is first.
        let run_at: i64 = conn
            .prepare_cached(
                "UPDATE reseolio_jobs SET run_at = min(run_at, ?2) WHERE id = ?1 RETURNING run_at",
            )
            .and_then(|mut s| s.query_row(params![p.job_id, wake_at], |r| r.get(0)))
            .map_err(map_sqlite)?;
        return Ok(StepWaitOutcome::Suspended { wake_at: run_at });
    }
    hand_back(
        conn,
        &p.job_id,
        p.lease,
        wake_at,
        p.now_ms,
        AttemptOutcome::Suspended,
    )?;
    Ok(StepWaitOutcome::Suspended { wake_at })
}

pub(crate) fn event_send(conn: &Connection, p: EventSendParams) -> Result<EventSendResult> {
    conn.prepare_cached(
        "INSERT INTO reseolio_events (key, payload, sent_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (key) DO UPDATE SET payload = excluded.payload, sent_at = excluded.sent_at",
    )
    .and_then(|mut s| s.execute(params![p.key, p.payload, p.now_ms]))
    .map_err(map_sqlite)?;
    let woken = wake_waiters(conn, StepKind::Event, &p.key, p.now_ms)?;
    Ok(EventSendResult { woken })
}

/// Makes the jobs suspended on a wait for `key` (an event key, or a child job id) due now.
/// Called in the transaction that sends the event or finishes the child.
pub(crate) fn wake_waiters(
    conn: &Connection,
    kind: StepKind,
    key: &str,
    now_ms: i64,
) -> Result<u64> {
    // Two statements, not one UPDATE ... WHERE id IN (SELECT ...): given the status test, the
    // planner drives that UPDATE from the (status, created_at) index and reads every PENDING job
    // on every completion (a drain of 10,000 queued jobs fell from ~6,000 to ~600 jobs/s). The
    // probe of the partial index of waiting steps finds nothing for almost every completion.
    let waiters: Vec<String> = conn
        .prepare_cached(
            "SELECT job_id FROM reseolio_steps INDEXED BY reseolio_steps_waiting \
             WHERE wait_key = ?1 AND kind = ?2 AND status = 'WAITING'",
        )
        .and_then(|mut s| {
            s.query_map(params![key, kind.as_str()], |r| r.get(0))?
                .collect()
        })
        .map_err(map_sqlite)?;
    let mut woken = 0;
    for id in waiters {
        woken += conn
            .prepare_cached(
                "UPDATE reseolio_jobs SET run_at = ?2 \
                 WHERE id = ?1 AND status = 'PENDING' AND run_at > ?2",
            )
            .and_then(|mut s| s.execute(params![id, now_ms]))
            .map_err(map_sqlite)? as u64;
    }
    Ok(woken)
}

/// The hooks of the job calls: a job that finished wakes its waiting parents.
pub(crate) fn on_job_finished(conn: &Connection, job_id: &str, now_ms: i64) -> Result<()> {
    wake_waiters(conn, StepKind::Child, job_id, now_ms).map(|_| ())
}

/// A failed attempt that will be retried re-runs its failed steps; an explicit retry too.
pub(crate) fn forget_failed_steps(conn: &Connection, job_id: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM reseolio_steps WHERE job_id = ?1 AND status = 'FAILED'")
        .and_then(|mut s| s.execute([job_id]))
        .map_err(map_sqlite)?;
    Ok(())
}

/// Deletes a pruned job's steps.
pub(crate) fn delete_steps(conn: &Connection, job_id: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM reseolio_steps WHERE job_id = ?1")
        .and_then(|mut s| s.execute([job_id]))
        .map_err(map_sqlite)?;
    Ok(())
}

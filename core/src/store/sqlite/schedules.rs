//! The SQL of the schedule calls on SQLite, one function per call (writes run inside the
//! writer's group transaction, reads on the read pool).

use super::error::map_sqlite;
use super::jobs;
use crate::error::{Error, Result};
use crate::job::{Backoff, EnqueueOptions, JobStatus};
use crate::schedule::Schedule;
use crate::store::*;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

const COLUMNS: &str = "id, name, function, cron, timezone, status, args, max_attempts, backoff, \
    initial_delay_ms, max_delay_ms, jitter, timeout_ms, priority, missed, overlap, next_run_at, \
    last_run_at, last_job_id, created_at, updated_at, version";

fn bad(i: usize, e: Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
}

fn schedule_from_row(r: &Row<'_>) -> rusqlite::Result<Schedule> {
    let status: String = r.get(5)?;
    let backoff: Option<String> = r.get(8)?;
    let missed: String = r.get(14)?;
    let overlap: String = r.get(15)?;
    Ok(Schedule {
        id: r.get(0)?,
        name: r.get(1)?,
        function: r.get(2)?,
        cron: r.get(3)?,
        timezone: r.get(4)?,
        status: status.parse().map_err(|e| bad(5, e))?,
        args: r.get(6)?,
        options: EnqueueOptions {
            max_attempts: r.get(7)?,
            backoff: backoff
                .map(|b| b.parse::<Backoff>())
                .transpose()
                .map_err(|e| bad(8, e))?,
            initial_delay_ms: r.get(9)?,
            max_delay_ms: r.get(10)?,
            jitter: r.get(11)?,
            timeout_ms: r.get(12)?,
            priority: r.get(13)?,
            ..EnqueueOptions::default()
        },
        missed: missed.parse().map_err(|e| bad(14, e))?,
        overlap: overlap.parse().map_err(|e| bad(15, e))?,
        next_run_at: r.get(16)?,
        last_run_at: r.get(17)?,
        last_job_id: r.get(18)?,
        created_at: r.get(19)?,
        updated_at: r.get(20)?,
        version: r.get(21)?,
    })
}

/// The job-option columns of a schedule, in `COLUMNS` order (max_attempts .. priority).
fn option_values(o: &EnqueueOptions) -> [Value; 7] {
    let int = |v: Option<i64>| v.map_or(Value::Null, Value::Integer);
    [
        int(o.max_attempts),
        o.backoff
            .map_or(Value::Null, |b| Value::Text(b.as_str().to_string())),
        int(o.initial_delay_ms),
        int(o.max_delay_ms),
        o.jitter.map_or(Value::Null, Value::Real),
        int(o.timeout_ms),
        int(o.priority.map(i64::from)),
    ]
}

fn by_id(conn: &Connection, id: &str) -> Result<Option<Schedule>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM reseolio_schedules WHERE id = ?1"
    ))
    .and_then(|mut s| s.query_row([id], schedule_from_row).optional())
    .map_err(map_sqlite)
}

pub(crate) fn schedule_upsert(
    conn: &Connection,
    p: ScheduleUpsertParams,
) -> Result<ScheduleUpsertResult> {
    let existed: Option<String> = conn
        .prepare_cached("SELECT id FROM reseolio_schedules WHERE name = ?1")
        .and_then(|mut s| s.query_row([&p.name], |r| r.get(0)).optional())
        .map_err(map_sqlite)?;
    let mut args: Vec<Value> = vec![
        Value::Text(p.id.clone()),
        Value::Text(p.name.clone()),
        Value::Text(p.function),
        Value::Text(p.cron),
        Value::Text(p.timezone),
        Value::Blob(p.args),
    ];
    args.extend(option_values(&p.options));
    args.extend([
        Value::Text(p.missed.as_str().into()),
        Value::Text(p.overlap.as_str().into()),
        Value::Integer(p.next_run_at),
        Value::Integer(p.now_ms),
    ]);
    // The name is the identity of a declaration: a second declaration updates the first. Its
    // next tick stays unless the expression or the zone changed, so that re-declaring at every
    // start of an app neither skips nor repeats a tick.
    conn.prepare_cached(
        "INSERT INTO reseolio_schedules (id, name, function, cron, timezone, status, args, \
            max_attempts, backoff, initial_delay_ms, max_delay_ms, jitter, timeout_ms, priority, \
            missed, overlap, next_run_at, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'ACTIVE', ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
            ?17, ?17) \
         ON CONFLICT (name) DO UPDATE SET function = excluded.function, \
            next_run_at = CASE WHEN cron = excluded.cron AND timezone = excluded.timezone \
                THEN next_run_at ELSE excluded.next_run_at END, \
            cron = excluded.cron, timezone = excluded.timezone, args = excluded.args, \
            max_attempts = excluded.max_attempts, backoff = excluded.backoff, \
            initial_delay_ms = excluded.initial_delay_ms, max_delay_ms = excluded.max_delay_ms, \
            jitter = excluded.jitter, timeout_ms = excluded.timeout_ms, \
            priority = excluded.priority, missed = excluded.missed, overlap = excluded.overlap, \
            updated_at = excluded.updated_at, version = version + 1",
    )
    .and_then(|mut s| s.execute(params_from_iter(args.iter())))
    .map_err(map_sqlite)?;
    let id = existed.clone().unwrap_or(p.id);
    let schedule =
        by_id(conn, &id)?.ok_or_else(|| Error::internal("a declared schedule is missing"))?;
    Ok(ScheduleUpsertResult {
        schedule,
        created: existed.is_none(),
    })
}

pub(crate) fn schedule_get(conn: &Connection, p: ScheduleGetParams) -> Result<Schedule> {
    // An id is tried first: names and ids could only collide if a user named a schedule after
    // another one's UUID.
    if let Some(s) = by_id(conn, &p.id_or_name)? {
        return Ok(s);
    }
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM reseolio_schedules WHERE name = ?1"
    ))
    .and_then(|mut s| s.query_row([&p.id_or_name], schedule_from_row).optional())
    .map_err(map_sqlite)?
    .ok_or_else(|| Error::schedule_not_found(&p.id_or_name))
}

pub(crate) fn schedule_list(
    conn: &Connection,
    p: ScheduleListParams,
) -> Result<ScheduleListResult> {
    let status = p.status.map(|s| s.as_str());
    let total: i64 = conn
        .prepare_cached("SELECT count(*) FROM reseolio_schedules WHERE ?1 IS NULL OR status = ?1")
        .and_then(|mut s| s.query_row([status], |r| r.get(0)))
        .map_err(map_sqlite)?;
    let schedules = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM reseolio_schedules WHERE ?1 IS NULL OR status = ?1 \
             ORDER BY name LIMIT ?2 OFFSET ?3"
        ))
        .and_then(|mut s| {
            s.query_map(params![status, p.limit, p.offset], schedule_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(map_sqlite)?;
    Ok(ScheduleListResult {
        schedules,
        total: total as u64,
    })
}

pub(crate) fn schedule_update(conn: &Connection, p: ScheduleUpdateParams) -> Result<Schedule> {
    let mut args: Vec<Value> = vec![
        Value::Text(p.id.clone()),
        Value::Text(p.cron),
        Value::Text(p.timezone),
        Value::Blob(p.args),
    ];
    args.extend(option_values(&p.options));
    args.extend([
        Value::Text(p.missed.as_str().into()),
        Value::Text(p.overlap.as_str().into()),
        Value::Text(p.status.as_str().into()),
        p.next_run_at.map_or(Value::Null, Value::Integer),
        Value::Integer(p.now_ms),
        Value::Integer(p.expected_version),
    ]);
    let n = conn
        .prepare_cached(
            "UPDATE reseolio_schedules SET cron = ?2, timezone = ?3, args = ?4, \
                max_attempts = ?5, backoff = ?6, initial_delay_ms = ?7, max_delay_ms = ?8, \
                jitter = ?9, timeout_ms = ?10, priority = ?11, missed = ?12, overlap = ?13, \
                status = ?14, next_run_at = coalesce(?15, next_run_at), updated_at = ?16, \
                version = version + 1 \
             WHERE id = ?1 AND version = ?17",
        )
        .and_then(|mut s| s.execute(params_from_iter(args.iter())))
        .map_err(map_sqlite)?;
    if n == 0 {
        return Err(match by_id(conn, &p.id)? {
            None => Error::schedule_not_found(&p.id),
            Some(now) => Error::conflict(format!(
                "schedule '{}' was changed by another caller (version {} now, {} read); nothing \
                 was changed",
                p.id, now.version, p.expected_version
            )),
        });
    }
    by_id(conn, &p.id)?.ok_or_else(|| Error::schedule_not_found(&p.id))
}

pub(crate) fn schedule_delete(conn: &Connection, p: ScheduleGetParams) -> Result<()> {
    let n = conn
        .prepare_cached("DELETE FROM reseolio_schedules WHERE id = ?1")
        .and_then(|mut s| s.execute([&p.id_or_name]))
        .map_err(map_sqlite)?;
    if n == 0 {
        return Err(Error::schedule_not_found(&p.id_or_name));
    }
    Ok(())
}

pub(crate) fn schedule_due(conn: &Connection, p: ScheduleDueParams) -> Result<Vec<Schedule>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM reseolio_schedules WHERE status = 'ACTIVE' AND next_run_at <= ?1 \
         ORDER BY next_run_at LIMIT ?2"
    ))
    .and_then(|mut s| {
        s.query_map(params![p.now_ms, p.limit], schedule_from_row)?
            .collect()
    })
    .map_err(map_sqlite)
}

pub(crate) fn schedule_next_due(conn: &Connection) -> Result<Option<i64>> {
    conn.prepare_cached("SELECT min(next_run_at) FROM reseolio_schedules WHERE status = 'ACTIVE'")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(map_sqlite)
}

pub(crate) fn schedule_fire(
    conn: &Connection,
    p: ScheduleFireParams,
) -> Result<ScheduleFireResult> {
    let last_job: Option<Option<String>> = conn
        .prepare_cached(
            "SELECT last_job_id FROM reseolio_schedules \
             WHERE id = ?1 AND status = 'ACTIVE' AND next_run_at = ?2 AND version = ?3",
        )
        .and_then(|mut s| {
            s.query_row(
                params![p.schedule_id, p.expected_next_run_at, p.expected_version],
                |r| r.get(0),
            )
            .optional()
        })
        .map_err(map_sqlite)?;
    let Some(last_job) = last_job else {
        return Ok(ScheduleFireResult {
            applied: false,
            job_id: None,
            job_created: false,
            skipped_overlap: false,
        });
    };
    let mut skipped_overlap = false;
    if p.skip_if_running {
        if let Some(last) = &last_job {
            let status: Option<String> = conn
                .prepare_cached("SELECT status FROM reseolio_jobs WHERE id = ?1")
                .and_then(|mut s| s.query_row([last], |r| r.get(0)).optional())
                .map_err(map_sqlite)?;
            skipped_overlap = status.is_some_and(|s| {
                matches!(
                    s.parse::<JobStatus>(),
                    Ok(JobStatus::Pending | JobStatus::Running | JobStatus::Failed)
                )
            });
        }
    }
    let (job_id, job_created) = match p.job {
        Some(job) if !skipped_overlap => {
            let r = jobs::job_insert(conn, job)?;
            (Some(r.job_id), !r.deduplicated)
        }
        _ => (None, false),
    };
    conn.prepare_cached(
        "UPDATE reseolio_schedules SET next_run_at = ?2, \
            last_run_at = CASE WHEN ?3 IS NULL THEN last_run_at ELSE ?4 END, \
            last_job_id = coalesce(?3, last_job_id), version = version + 1 WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![p.schedule_id, p.next_run_at, job_id, p.run_tick]))
    .map_err(map_sqlite)?;
    Ok(ScheduleFireResult {
        applied: true,
        job_id,
        job_created,
        skipped_overlap,
    })
}

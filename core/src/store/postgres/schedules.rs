//! The SQL of the schedule calls on PostgreSQL, one function per call. A firing locks its
//! schedule row (`FOR UPDATE`), so two nodes firing one tick are serialised and the second sees
//! the tick already moved on.

use super::error::map_pg;
use super::jobs;
use crate::error::{Error, Result};
use crate::job::{Backoff, EnqueueOptions, JobStatus};
use crate::schedule::Schedule;
use crate::store::*;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

const COLUMNS: &str = "id, name, function, cron, timezone, status, args, max_attempts, backoff, \
    initial_delay_ms, max_delay_ms, jitter, timeout_ms, priority, missed, overlap, next_run_at, \
    last_run_at, last_job_id, created_at, updated_at, version";

fn schedule_from_row(r: &PgRow) -> Result<Schedule> {
    let get_err = |e: sqlx::Error| Error::internal(format!("reading a schedule row: {e}"));
    let status: String = r.try_get(5).map_err(get_err)?;
    let backoff: Option<String> = r.try_get(8).map_err(get_err)?;
    let missed: String = r.try_get(14).map_err(get_err)?;
    let overlap: String = r.try_get(15).map_err(get_err)?;
    Ok(Schedule {
        id: r.try_get(0).map_err(get_err)?,
        name: r.try_get(1).map_err(get_err)?,
        function: r.try_get(2).map_err(get_err)?,
        cron: r.try_get(3).map_err(get_err)?,
        timezone: r.try_get(4).map_err(get_err)?,
        status: status.parse()?,
        args: r.try_get(6).map_err(get_err)?,
        options: EnqueueOptions {
            max_attempts: r.try_get(7).map_err(get_err)?,
            backoff: backoff.map(|b| b.parse::<Backoff>()).transpose()?,
            initial_delay_ms: r.try_get(9).map_err(get_err)?,
            max_delay_ms: r.try_get(10).map_err(get_err)?,
            jitter: r.try_get(11).map_err(get_err)?,
            timeout_ms: r.try_get(12).map_err(get_err)?,
            priority: r.try_get(13).map_err(get_err)?,
            ..EnqueueOptions::default()
        },
        missed: missed.parse()?,
        overlap: overlap.parse()?,
        next_run_at: r.try_get(16).map_err(get_err)?,
        last_run_at: r.try_get(17).map_err(get_err)?,
        last_job_id: r.try_get(18).map_err(get_err)?,
        created_at: r.try_get(19).map_err(get_err)?,
        updated_at: r.try_get(20).map_err(get_err)?,
        version: r.try_get(21).map_err(get_err)?,
    })
}

/// Binds the job-option columns of a schedule, in `COLUMNS` order (max_attempts .. priority).
fn bind_options<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    o: &'q EnqueueOptions,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    q.bind(o.max_attempts)
        .bind(o.backoff.map(|b| b.as_str()))
        .bind(o.initial_delay_ms)
        .bind(o.max_delay_ms)
        .bind(o.jitter)
        .bind(o.timeout_ms)
        .bind(o.priority)
}

async fn by_id(c: &mut PgConnection, id: &str) -> Result<Option<Schedule>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reseolio_schedules WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *c)
    .await
    .map_err(map_pg)?
    .map(|r| schedule_from_row(&r))
    .transpose()
}

pub(crate) async fn schedule_upsert(
    c: &mut PgConnection,
    p: ScheduleUpsertParams,
) -> Result<ScheduleUpsertResult> {
    // `xmax = 0` tells an inserted row from an updated one. The next tick stays unless the
    // expression or the zone changed, so re-declaring at every start neither skips nor repeats.
    let q = sqlx::query(
        "INSERT INTO reseolio_schedules AS s (id, name, function, cron, timezone, status, args, \
            max_attempts, backoff, initial_delay_ms, max_delay_ms, jitter, timeout_ms, priority, \
            missed, overlap, next_run_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'ACTIVE', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
            $17, $17) \
         ON CONFLICT (name) DO UPDATE SET function = excluded.function, \
            next_run_at = CASE WHEN s.cron = excluded.cron AND s.timezone = excluded.timezone \
                THEN s.next_run_at ELSE excluded.next_run_at END, \
            cron = excluded.cron, timezone = excluded.timezone, args = excluded.args, \
            max_attempts = excluded.max_attempts, backoff = excluded.backoff, \
            initial_delay_ms = excluded.initial_delay_ms, max_delay_ms = excluded.max_delay_ms, \
            jitter = excluded.jitter, timeout_ms = excluded.timeout_ms, \
            priority = excluded.priority, missed = excluded.missed, overlap = excluded.overlap, \
            updated_at = excluded.updated_at, version = s.version + 1 \
         RETURNING id, (xmax = 0) AS created",
    )
    .bind(&p.id)
    .bind(&p.name)
    .bind(&p.function)
    .bind(&p.cron)
    .bind(&p.timezone)
    .bind(&p.args);
    let row = bind_options(q, &p.options)
        .bind(p.missed.as_str())
        .bind(p.overlap.as_str())
        .bind(p.next_run_at)
        .bind(p.now_ms)
        .fetch_one(&mut *c)
        .await
        .map_err(map_pg)?;
    let id: String = row.try_get(0).map_err(map_pg)?;
    let created: bool = row.try_get(1).map_err(map_pg)?;
    let schedule = by_id(c, &id)
        .await?
        .ok_or_else(|| Error::internal("a declared schedule is missing"))?;
    Ok(ScheduleUpsertResult { schedule, created })
}

pub(crate) async fn schedule_get(c: &mut PgConnection, p: ScheduleGetParams) -> Result<Schedule> {
    // An id is tried first: names and ids could only collide if a user named a schedule after
    // another one's UUID.
    if let Some(s) = by_id(c, &p.id_or_name).await? {
        return Ok(s);
    }
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reseolio_schedules WHERE name = $1"
    ))
    .bind(&p.id_or_name)
    .fetch_optional(&mut *c)
    .await
    .map_err(map_pg)?
    .map(|r| schedule_from_row(&r))
    .transpose()?
    .ok_or_else(|| Error::schedule_not_found(&p.id_or_name))
}

pub(crate) async fn schedule_list(
    c: &mut PgConnection,
    p: ScheduleListParams,
) -> Result<ScheduleListResult> {
    let status = p.status.map(|s| s.as_str());
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM reseolio_schedules WHERE $1::text IS NULL OR status = $1",
    )
    .bind(status)
    .fetch_one(&mut *c)
    .await
    .map_err(map_pg)?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reseolio_schedules WHERE $1::text IS NULL OR status = $1 \
         ORDER BY name LIMIT $2 OFFSET $3"
    ))
    .bind(status)
    .bind(p.limit as i64)
    .bind(p.offset as i64)
    .fetch_all(&mut *c)
    .await
    .map_err(map_pg)?;
    Ok(ScheduleListResult {
        schedules: rows.iter().map(schedule_from_row).collect::<Result<_>>()?,
        total: total as u64,
    })
}

pub(crate) async fn schedule_update(
    c: &mut PgConnection,
    p: ScheduleUpdateParams,
) -> Result<Schedule> {
    let q = sqlx::query(
        "UPDATE reseolio_schedules SET cron = $2, timezone = $3, args = $4, \
            max_attempts = $5, backoff = $6, initial_delay_ms = $7, max_delay_ms = $8, \
            jitter = $9, timeout_ms = $10, priority = $11, missed = $12, overlap = $13, \
            status = $14, next_run_at = coalesce($15, next_run_at), updated_at = $16, \
            version = version + 1 \
         WHERE id = $1 AND version = $17",
    )
    .bind(&p.id)
    .bind(&p.cron)
    .bind(&p.timezone)
    .bind(&p.args);
    let n = bind_options(q, &p.options)
        .bind(p.missed.as_str())
        .bind(p.overlap.as_str())
        .bind(p.status.as_str())
        .bind(p.next_run_at)
        .bind(p.now_ms)
        .bind(p.expected_version)
        .execute(&mut *c)
        .await
        .map_err(map_pg)?
        .rows_affected();
    if n == 0 {
        return Err(match by_id(c, &p.id).await? {
            None => Error::schedule_not_found(&p.id),
            Some(now) => Error::conflict(format!(
                "schedule '{}' was changed by another caller (version {} now, {} read); nothing \
                 was changed",
                p.id, now.version, p.expected_version
            )),
        });
    }
    by_id(c, &p.id)
        .await?
        .ok_or_else(|| Error::schedule_not_found(&p.id))
}

pub(crate) async fn schedule_delete(c: &mut PgConnection, p: ScheduleGetParams) -> Result<()> {
    let n = sqlx::query("DELETE FROM reseolio_schedules WHERE id = $1")
        .bind(&p.id_or_name)
        .execute(&mut *c)
        .await
        .map_err(map_pg)?
        .rows_affected();
    if n == 0 {
        return Err(Error::schedule_not_found(&p.id_or_name));
    }
    Ok(())
}

pub(crate) async fn schedule_due(
    c: &mut PgConnection,
    p: ScheduleDueParams,
) -> Result<Vec<Schedule>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reseolio_schedules WHERE status = 'ACTIVE' AND next_run_at <= $1 \
         ORDER BY next_run_at LIMIT $2"
    ))
    .bind(p.now_ms)
    .bind(p.limit as i64)
    .fetch_all(&mut *c)
    .await
    .map_err(map_pg)?
    .iter()
    .map(schedule_from_row)
    .collect()
}

pub(crate) async fn schedule_next_due(c: &mut PgConnection) -> Result<Option<i64>> {
    sqlx::query_scalar("SELECT min(next_run_at) FROM reseolio_schedules WHERE status = 'ACTIVE'")
        .fetch_one(&mut *c)
        .await
        .map_err(map_pg)
}

pub(crate) async fn schedule_fire(
    c: &mut PgConnection,
    channel: &str,
    p: ScheduleFireParams,
) -> Result<ScheduleFireResult> {
    let last_job: Option<Option<String>> = sqlx::query_scalar(
        "SELECT last_job_id FROM reseolio_schedules \
         WHERE id = $1 AND status = 'ACTIVE' AND next_run_at = $2 AND version = $3 FOR UPDATE",
    )
    .bind(&p.schedule_id)
    .bind(p.expected_next_run_at)
    .bind(p.expected_version)
    .fetch_optional(&mut *c)
    .await
    .map_err(map_pg)?;
    let Some(last_job) = last_job else {
        return Ok(ScheduleFireResult {
            applied: false,
            job_id: None,
            job_created: false,
            skipped_overlap: false,
        });
    };
    let mut skipped_overlap = false;
    if let (true, Some(last)) = (p.skip_if_running, &last_job) {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM reseolio_jobs WHERE id = $1")
                .bind(last)
                .fetch_optional(&mut *c)
                .await
                .map_err(map_pg)?;
        skipped_overlap = status.is_some_and(|s| {
            matches!(
                s.parse::<JobStatus>(),
                Ok(JobStatus::Pending | JobStatus::Running | JobStatus::Failed)
            )
        });
    }
    let (job_id, job_created) = match p.job {
        Some(job) if !skipped_overlap => {
            let r = jobs::job_insert(c, channel, job).await?;
            (Some(r.job_id), !r.deduplicated)
        }
        _ => (None, false),
    };
    sqlx::query(
        "UPDATE reseolio_schedules SET next_run_at = $2, \
            last_run_at = CASE WHEN $3::text IS NULL THEN last_run_at ELSE $4 END, \
            last_job_id = coalesce($3, last_job_id), version = version + 1 WHERE id = $1",
    )
    .bind(&p.schedule_id)
    .bind(p.next_run_at)
    .bind(&job_id)
    .bind(p.run_tick)
    .execute(&mut *c)
    .await
    .map_err(map_pg)?;
    Ok(ScheduleFireResult {
        applied: true,
        job_id,
        job_created,
        skipped_overlap,
    })
}

//! The schedule operations of the engine: declare, read, change, pause, resume, delete and
//! trigger. The firing of due ticks is the scheduler's (`scheduler.rs`), on the leader only.

use super::{Engine, Enqueued};
use crate::error::Result;
use crate::job::options;
use crate::schedule::{
    next_tick, parse_timezone, validate_job_options, CronExpr, Schedule, ScheduleChange,
    ScheduleSpec, ScheduleStatus,
};
use crate::store::*;
use tracing::instrument;

/// The zone of a schedule declared without one.
pub const DEFAULT_TIMEZONE: &str = "UTC";

/// The first tick after `now_ms`, or `i64::MAX` when the expression has none in the search
/// window (the parser refuses the expressions that never fire, so this is a safe fallback).
pub(crate) fn first_tick_after(cron: &str, timezone: &str, now_ms: i64) -> Result<i64> {
    let expr = CronExpr::parse(cron)?;
    let tz = parse_timezone(timezone)?;
    Ok(next_tick(&expr, tz, now_ms).unwrap_or(i64::MAX))
}

impl Engine {
    /// Declares a schedule: creates it, or, when a schedule of that name exists, updates its
    /// definition (re-declaring the same schedule at every start of an app is idempotent; the
    /// stored next tick is kept while the expression and zone are unchanged, and a paused
    /// schedule stays paused). Idle schedulers of this process are woken.
    ///
    /// Errors: InvalidArgument naming the field and the token that is wrong (expression, zone,
    /// name, args size, job options); nothing is stored then. Unavailable; ShutDown.
    #[instrument(skip(self, spec), fields(name = %spec.name, function = %spec.function))]
    pub async fn schedule_declare(&self, spec: ScheduleSpec) -> Result<Schedule> {
        self.inner.check_open()?;
        options::validate_name(&spec.function)?;
        let name = if spec.name.is_empty() {
            spec.function.clone()
        } else {
            spec.name
        };
        options::validate_name(&name)?;
        let timezone = spec
            .timezone
            .unwrap_or_else(|| DEFAULT_TIMEZONE.to_string());
        let now = self.inner.now_ms();
        let next_run_at = first_tick_after(&spec.cron, &timezone, now)?;
        let args = normalize_args(spec.args);
        options::validate_payload("args", &args, &self.inner.config.limits)?;
        validate_job_options(&spec.options, now)?;
        let r = self
            .inner
            .store
            .schedule_upsert(ScheduleUpsertParams {
                id: uuid::Uuid::now_v7().to_string(),
                name,
                function: spec.function,
                cron: spec.cron,
                timezone,
                args,
                options: spec.options,
                missed: spec.missed,
                overlap: spec.overlap,
                next_run_at,
                now_ms: now,
            })
            .await?;
        self.inner.signals.schedules_changed.notify_waiters();
        Ok(r.schedule)
    }

    /// Reads a schedule by id or name. Errors: NotFound; Unavailable; ShutDown.
    #[instrument(skip(self))]
    pub async fn schedule_get(&self, id_or_name: &str) -> Result<Schedule> {
        self.inner.check_open()?;
        self.inner
            .store
            .schedule_get(ScheduleGetParams {
                id_or_name: id_or_name.to_string(),
            })
            .await
    }

    /// Lists schedules by name, filtered by status, paged, with a total.
    /// Errors: InvalidArgument for a limit outside 1 to 1000.
    #[instrument(skip(self))]
    pub async fn schedule_list(&self, params: ScheduleListParams) -> Result<ScheduleListResult> {
        self.inner.check_open()?;
        self.inner.store.schedule_list(params).await
    }

    /// Changes a schedule's expression, zone, args, job options or policies. A new expression or
    /// zone starts from the first tick after now. Errors: NotFound; InvalidArgument as
    /// [`Engine::schedule_declare`] (nothing is changed then).
    #[instrument(skip(self, change))]
    pub async fn schedule_update(
        &self,
        id_or_name: &str,
        change: ScheduleChange,
    ) -> Result<Schedule> {
        retry_conflicts(|| async {
            let s = self.schedule_get(id_or_name).await?;
            let now = self.inner.now_ms();
            let cron = change.cron.clone().unwrap_or_else(|| s.cron.clone());
            let timezone = change
                .timezone
                .clone()
                .unwrap_or_else(|| s.timezone.clone());
            let retimed = cron != s.cron || timezone != s.timezone;
            let next = first_tick_after(&cron, &timezone, now)?;
            let args = change.args.clone().map(normalize_args).unwrap_or(s.args);
            options::validate_payload("args", &args, &self.inner.config.limits)?;
            let options = change.options.clone().unwrap_or(s.options);
            validate_job_options(&options, now)?;
            self.write(ScheduleUpdateParams {
                id: s.id,
                expected_version: s.version,
                cron,
                timezone,
                args,
                options,
                missed: change.missed.unwrap_or(s.missed),
                overlap: change.overlap.unwrap_or(s.overlap),
                status: s.status,
                next_run_at: retimed.then_some(next),
                now_ms: now,
            })
            .await
        })
        .await
    }

    /// Pauses a schedule: no tick fires until it is resumed. Pausing a paused schedule changes
    /// nothing. Errors: NotFound.
    #[instrument(skip(self))]
    pub async fn schedule_pause(&self, id_or_name: &str) -> Result<Schedule> {
        self.set_status(id_or_name, ScheduleStatus::Paused).await
    }

    /// Resumes a schedule from the first tick after now: the ticks that passed while it was
    /// paused start nothing. Errors: NotFound.
    #[instrument(skip(self))]
    pub async fn schedule_resume(&self, id_or_name: &str) -> Result<Schedule> {
        self.set_status(id_or_name, ScheduleStatus::Active).await
    }

    /// Deletes a schedule; the jobs it started stay. Errors: NotFound.
    #[instrument(skip(self))]
    pub async fn schedule_delete(&self, id_or_name: &str) -> Result<()> {
        let s = self.schedule_get(id_or_name).await?;
        self.inner
            .store
            .schedule_delete(ScheduleGetParams { id_or_name: s.id })
            .await?;
        self.inner.signals.schedules_changed.notify_waiters();
        Ok(())
    }

    /// Starts a job of the schedule now, outside its ticks (paused or not), with the schedule's
    /// args and job options. The schedule's own ticks are unaffected. Errors: NotFound.
    #[instrument(skip(self))]
    pub async fn schedule_trigger(&self, id_or_name: &str) -> Result<Enqueued> {
        let s = self.schedule_get(id_or_name).await?;
        self.enqueue(&s.function, s.args, s.options).await
    }

    async fn set_status(&self, id_or_name: &str, status: ScheduleStatus) -> Result<Schedule> {
        retry_conflicts(|| async {
            let s = self.schedule_get(id_or_name).await?;
            if s.status == status {
                return Ok(s);
            }
            let now = self.inner.now_ms();
            let next_run_at = match status {
                ScheduleStatus::Active => Some(first_tick_after(&s.cron, &s.timezone, now)?),
                ScheduleStatus::Paused => None,
            };
            self.write(ScheduleUpdateParams {
                id: s.id,
                expected_version: s.version,
                cron: s.cron,
                timezone: s.timezone,
                args: s.args,
                options: s.options,
                missed: s.missed,
                overlap: s.overlap,
                status,
                next_run_at,
                now_ms: now,
            })
            .await
        })
        .await
    }

    async fn write(&self, params: ScheduleUpdateParams) -> Result<Schedule> {
        self.inner.check_open()?;
        let s = self.inner.store.schedule_update(params).await?;
        self.inner.signals.schedules_changed.notify_waiters();
        Ok(s)
    }
}

/// Runs a read-then-write of a schedule again when another writer (a firing, an update, a pause)
/// got between its read and its write: the write is guarded by the version it read, so nothing
/// is ever overwritten from a stale read. Gives up with the Conflict after a few tries.
async fn retry_conflicts<T, F, Fut>(mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut tries = 0;
    loop {
        match op().await {
            Err(e) if e.kind() == crate::error::ErrorKind::Conflict && tries < 8 => tries += 1,
            r => return r,
        }
    }
}

/// Empty args mean no arguments: the JSON array `[]` of the SDKs' convention.
fn normalize_args(args: Vec<u8>) -> Vec<u8> {
    if args.is_empty() {
        b"[]".to_vec()
    } else {
        args
    }
}

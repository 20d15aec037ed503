//! Schedules: the objects and conversions behind the `Client.schedule*` methods (declared in
//! `client.rs`, beside the other `Client` methods). The same operations as the Python glue; the
//! names, defaults and units of the Node API are the package's (`sdks/node/src/schedules.ts`).
//!
//! Times are Unix milliseconds. Args cross as the UTF-8 JSON array of the jobs' arguments, as on
//! `enqueue`, and come back as stored (a Buffer), as on `Job`.

use crate::convert::JobOptions;
use crate::error::to_js;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use reseolio_ffi::{MissedPolicy, OverlapPolicy, ScheduleStatus};

fn parse<T: std::str::FromStr<Err = reseolio_ffi::Error>>(s: &str) -> napi::Result<T> {
    s.parse::<T>().map_err(to_js)
}

fn options(o: Option<JobOptions>) -> napi::Result<reseolio_ffi::EnqueueOptions> {
    match o {
        Some(o) => o.into_engine(),
        None => Ok(Default::default()),
    }
}

/// What `scheduleDeclare` takes (`reseolio_ffi::ScheduleSpec`). Absent fields take the engine's
/// defaults.
#[napi(object)]
pub struct ScheduleSpec {
    /// The schedule's unique name; absent or empty: the function's name.
    pub name: Option<String>,
    /// The durable function its jobs run.
    pub function: String,
    /// Five fields, six with seconds first, or a macro such as `@daily`.
    pub cron: String,
    /// An IANA time zone; absent: UTC.
    pub timezone: Option<String>,
    /// The UTF-8 JSON array of the jobs' arguments; absent: `[]`.
    pub args: Option<String>,
    /// The jobs' options: retries, timeout, priority (an idempotency key, delay or run time is
    /// refused with INVALID_ARGUMENT).
    pub options: Option<JobOptions>,
    /// `run_latest` (default) or `skip`.
    pub missed: Option<String>,
    /// `allow` (default) or `skip`.
    pub overlap: Option<String>,
}

impl ScheduleSpec {
    pub(crate) fn into_ffi(self) -> napi::Result<reseolio_ffi::ScheduleSpec> {
        Ok(reseolio_ffi::ScheduleSpec {
            name: self.name.unwrap_or_default(),
            function: self.function,
            cron: self.cron,
            timezone: self.timezone,
            args: self.args.map(String::into_bytes).unwrap_or_default(),
            options: options(self.options)?,
            missed: parse::<MissedPolicy>(self.missed.as_deref().unwrap_or(""))?,
            overlap: parse::<OverlapPolicy>(self.overlap.as_deref().unwrap_or(""))?,
        })
    }
}

/// What `scheduleUpdate` takes (`reseolio_ffi::ScheduleChange`): absent fields keep their value;
/// `options` replace the job options whole.
#[napi(object)]
pub struct ScheduleChange {
    pub cron: Option<String>,
    pub timezone: Option<String>,
    /// The UTF-8 JSON array of the jobs' arguments.
    pub args: Option<String>,
    pub options: Option<JobOptions>,
    pub missed: Option<String>,
    pub overlap: Option<String>,
}

impl ScheduleChange {
    pub(crate) fn into_ffi(self) -> napi::Result<reseolio_ffi::ScheduleChange> {
        Ok(reseolio_ffi::ScheduleChange {
            cron: self.cron,
            timezone: self.timezone,
            args: self.args.map(String::into_bytes),
            options: match self.options {
                Some(o) => Some(o.into_engine()?),
                None => None,
            },
            missed: self
                .missed
                .as_deref()
                .map(parse::<MissedPolicy>)
                .transpose()?,
            overlap: self
                .overlap
                .as_deref()
                .map(parse::<OverlapPolicy>)
                .transpose()?,
        })
    }
}

/// Filter and paging of `scheduleList`.
#[napi(object)]
pub struct ScheduleListParams {
    /// `ACTIVE` or `PAUSED` (any case); absent for both.
    pub status: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u32>,
    /// Schedules skipped, in name order (default 0).
    pub offset: Option<u32>,
}

impl ScheduleListParams {
    pub(crate) fn into_ffi(self) -> napi::Result<reseolio_ffi::ScheduleListParams> {
        let d = reseolio_ffi::ScheduleListParams::default();
        Ok(reseolio_ffi::ScheduleListParams {
            status: self
                .status
                .as_deref()
                .map(parse::<ScheduleStatus>)
                .transpose()?,
            limit: self.limit.unwrap_or(d.limit),
            offset: self.offset.unwrap_or(d.offset),
        })
    }
}

/// A schedule as stored. `status` is `ACTIVE` or `PAUSED`; the job options are flattened as on
/// `Job`, absent where the schedule leaves the engine's default.
#[napi(object)]
pub struct Schedule {
    pub id: String,
    pub name: String,
    pub function: String,
    pub cron: String,
    pub timezone: String,
    pub status: String,
    /// `run_latest` or `skip`.
    pub missed: String,
    /// `allow` or `skip`.
    pub overlap: String,
    /// The next tick (while paused: the one that was next when it was paused).
    pub next_run_at: i64,
    /// The tick of the last job it started.
    pub last_run_at: Option<i64>,
    pub last_job_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub max_attempts: Option<i64>,
    pub backoff: Option<String>,
    pub initial_delay_ms: Option<i64>,
    pub max_delay_ms: Option<i64>,
    pub jitter: Option<f64>,
    pub timeout_ms: Option<i64>,
    pub priority: Option<i32>,
    /// The args of every job it starts, as stored (by convention a UTF-8 JSON array).
    pub args: Buffer,
}

impl From<reseolio_ffi::Schedule> for Schedule {
    fn from(s: reseolio_ffi::Schedule) -> Self {
        let o = s.options;
        Schedule {
            id: s.id,
            name: s.name,
            function: s.function,
            cron: s.cron,
            timezone: s.timezone,
            status: s.status.as_str().to_string(),
            missed: s.missed.as_str().to_string(),
            overlap: s.overlap.as_str().to_string(),
            next_run_at: s.next_run_at,
            last_run_at: s.last_run_at,
            last_job_id: s.last_job_id,
            created_at: s.created_at,
            updated_at: s.updated_at,
            max_attempts: o.max_attempts,
            backoff: o.backoff.map(|b| b.as_str().to_string()),
            initial_delay_ms: o.initial_delay_ms,
            max_delay_ms: o.max_delay_ms,
            jitter: o.jitter,
            timeout_ms: o.timeout_ms,
            priority: o.priority,
            args: s.args.into(),
        }
    }
}

/// A page of schedules, in name order.
#[napi(object)]
pub struct SchedulePage {
    pub schedules: Vec<Schedule>,
    /// Schedules matching the filter, over all pages.
    pub total: i64,
}

impl From<reseolio_ffi::ScheduleListResult> for SchedulePage {
    fn from(r: reseolio_ffi::ScheduleListResult) -> Self {
        SchedulePage {
            schedules: r.schedules.into_iter().map(Schedule::from).collect(),
            total: r.total as i64,
        }
    }
}

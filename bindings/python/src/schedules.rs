//! Schedules: the `Schedule` class and the conversions behind the `Client.schedule_*` methods
//! (declared in `client.rs`, which holds the one `#[pymethods]` block of `Client`). The same
//! operations as the Node glue; the names, defaults and units of the Python API are the package's
//! (`reseolio/schedules.py`).

use crate::bridge::{spawn, Value};
use crate::convert;
use crate::error::to_py;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use reseolio_ffi::{
    MissedPolicy, OverlapPolicy, ScheduleChange, ScheduleListParams, ScheduleSpec, ScheduleStatus,
};

fn parse<T: std::str::FromStr<Err = reseolio_ffi::Error>>(s: &str) -> PyResult<T> {
    s.parse::<T>().map_err(to_py)
}

fn parse_some<T: std::str::FromStr<Err = reseolio_ffi::Error>>(
    s: Option<String>,
) -> PyResult<Option<T>> {
    s.as_deref().map(parse::<T>).transpose()
}

/// Everything `Client.schedule_declare` takes: the spec of `reseolio_ffi::ScheduleSpec`.
pub(crate) struct Declare<'a, 'py> {
    pub name: String,
    pub function: String,
    pub cron: String,
    pub timezone: Option<String>,
    pub args: Vec<u8>,
    pub options: Option<&'a Bound<'py, PyDict>>,
    pub missed: String,
    pub overlap: String,
}

/// Declares (creates or updates by name); resolves to a `Schedule`. Bad policies or options are
/// refused here, before any work starts; the engine checks the expression, zone and limits.
pub(crate) fn declare(c: &reseolio_ffi::Client, fd: i32, id: u64, d: Declare) -> PyResult<()> {
    let spec = ScheduleSpec {
        name: d.name,
        function: d.function,
        cron: d.cron,
        timezone: d.timezone,
        args: d.args,
        options: convert::options(d.options)?,
        missed: parse::<MissedPolicy>(&d.missed)?,
        overlap: parse::<OverlapPolicy>(&d.overlap)?,
    };
    let c = c.clone();
    spawn(fd, id, async move {
        Ok(Value::Schedule(c.schedule_declare(spec).await?))
    });
    Ok(())
}

/// Everything `Client.schedule_update` takes: `reseolio_ffi::ScheduleChange`, None keeping.
pub(crate) struct Update<'a, 'py> {
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub args: Option<Vec<u8>>,
    pub options: Option<&'a Bound<'py, PyDict>>,
    pub missed: Option<String>,
    pub overlap: Option<String>,
}

/// Changes a schedule; resolves to the `Schedule` after the change.
pub(crate) fn update(
    c: &reseolio_ffi::Client,
    fd: i32,
    id: u64,
    id_or_name: String,
    u: Update,
) -> PyResult<()> {
    let change = ScheduleChange {
        cron: u.cron,
        timezone: u.timezone,
        args: u.args,
        options: u.options.map(|d| convert::options(Some(d))).transpose()?,
        missed: parse_some::<MissedPolicy>(u.missed)?,
        overlap: parse_some::<OverlapPolicy>(u.overlap)?,
    };
    let c = c.clone();
    spawn(fd, id, async move {
        Ok(Value::Schedule(
            c.schedule_update(&id_or_name, change).await?,
        ))
    });
    Ok(())
}

/// Lists by name; resolves to `(schedules, total)`.
pub(crate) fn list(
    c: &reseolio_ffi::Client,
    fd: i32,
    id: u64,
    status: Option<String>,
    limit: u32,
    offset: u32,
) -> PyResult<()> {
    let params = ScheduleListParams {
        status: parse_some::<ScheduleStatus>(status)?,
        limit,
        offset,
    };
    let c = c.clone();
    spawn(fd, id, async move {
        let r = c.schedule_list(params).await?;
        Ok(Value::Schedules(r.schedules, r.total))
    });
    Ok(())
}

/// The operations on one schedule by id or name that take nothing else.
#[derive(Clone, Copy)]
pub(crate) enum Op {
    Get,
    Pause,
    Resume,
    Delete,
    Trigger,
}

/// Runs `op`; resolves to a `Schedule` (get, pause, resume), None (delete) or
/// `(job_id, deduplicated)` (trigger).
pub(crate) fn by_key(c: &reseolio_ffi::Client, fd: i32, id: u64, id_or_name: String, op: Op) {
    let c = c.clone();
    spawn(fd, id, async move {
        let k = id_or_name.as_str();
        Ok(match op {
            Op::Get => Value::Schedule(c.schedule_get(k).await?),
            Op::Pause => Value::Schedule(c.schedule_pause(k).await?),
            Op::Resume => Value::Schedule(c.schedule_resume(k).await?),
            Op::Delete => {
                c.schedule_delete(k).await?;
                Value::Unit
            }
            Op::Trigger => {
                let e = c.schedule_trigger(k).await?;
                Value::Enqueued(e.job_id, e.deduplicated)
            }
        })
    });
}

/// A schedule as stored. Times are Unix milliseconds; `status` is `ACTIVE` or `PAUSED`. The job
/// options are flattened as on `Job`, None where the schedule leaves the engine's default.
#[pyclass(frozen, module = "reseolio._native")]
pub struct Schedule {
    #[pyo3(get)]
    pub id: String,
    #[pyo3(get)]
    pub name: String,
    #[pyo3(get)]
    pub function: String,
    #[pyo3(get)]
    pub cron: String,
    #[pyo3(get)]
    pub timezone: String,
    #[pyo3(get)]
    pub status: String,
    #[pyo3(get)]
    pub missed: String,
    #[pyo3(get)]
    pub overlap: String,
    #[pyo3(get)]
    pub next_run_at: i64,
    #[pyo3(get)]
    pub last_run_at: Option<i64>,
    #[pyo3(get)]
    pub last_job_id: Option<String>,
    #[pyo3(get)]
    pub created_at: i64,
    #[pyo3(get)]
    pub updated_at: i64,
    #[pyo3(get)]
    pub max_attempts: Option<i64>,
    #[pyo3(get)]
    pub backoff: Option<String>,
    #[pyo3(get)]
    pub initial_delay_ms: Option<i64>,
    #[pyo3(get)]
    pub max_delay_ms: Option<i64>,
    #[pyo3(get)]
    pub jitter: Option<f64>,
    #[pyo3(get)]
    pub timeout_ms: Option<i64>,
    #[pyo3(get)]
    pub priority: Option<i32>,
    args_bytes: Vec<u8>,
}

#[pymethods]
impl Schedule {
    /// The args of every job it starts, as stored (by convention a UTF-8 JSON array).
    #[getter]
    fn args<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.args_bytes)
    }
    fn __repr__(&self) -> String {
        format!(
            "Schedule(id={:?}, name={:?}, cron={:?}, timezone={:?}, status={})",
            self.id, self.name, self.cron, self.timezone, self.status
        )
    }
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
            args_bytes: s.args,
        }
    }
}

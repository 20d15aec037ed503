//! The `Client` class: a thin wrapper of `reseolio_ffi::Client`. Every engine call takes the
//! event loop's pipe `fd` and a call `id`, starts the work and returns at once; the result comes
//! back through [`crate::bridge::drain`].

use crate::bridge::{spawn, Value};
use crate::convert;
use crate::error::to_py;
use crate::schedules::{self, Op};
use crate::steps;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use reseolio_ffi::{ConnectOptions, Error, JobListParams, JobOrder};
use std::time::Duration;

/// A connection to Reseolio: the embedded engine (`sqlite://`) or a sidecar (`grpc://`).
#[pyclass(frozen, module = "reseolio._native")]
pub struct Client {
    inner: reseolio_ffi::Client,
}

fn timeout(secs: Option<f64>) -> PyResult<Option<Duration>> {
    match secs {
        None => Ok(None),
        Some(s) if s.is_finite() && s >= 0.0 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => Err(to_py(Error::invalid(format!(
            "timeout must be a number of seconds >= 0, got {s}"
        )))),
    }
}

#[pymethods]
impl Client {
    /// Opens a client. Blocks (without the GIL) while a database is opened and migrated.
    #[staticmethod]
    #[pyo3(signature = (url, *, poll_interval_ms=None, max_payload_bytes=None, retention_secs=None, token=None))]
    fn connect(
        py: Python<'_>,
        url: String,
        poll_interval_ms: Option<u64>,
        max_payload_bytes: Option<usize>,
        retention_secs: Option<u64>,
        token: Option<String>,
    ) -> PyResult<Client> {
        let options = ConnectOptions {
            poll_interval_ms,
            max_payload_bytes,
            retention_secs,
            token,
        };
        let inner = py
            .detach(|| reseolio_ffi::Client::connect(&url, options))
            .map_err(to_py)?;
        Ok(Client { inner })
    }

    /// Writes a job; resolves to `(job_id, deduplicated)` once it is durable.
    #[pyo3(signature = (fd, id, name, args, options=None))]
    fn enqueue(
        &self,
        fd: i32,
        id: u64,
        name: String,
        args: Vec<u8>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let options = convert::options(options)?;
        let c = self.inner.clone();
        spawn(fd, id, async move {
            let e = c.enqueue(&name, args, options).await?;
            Ok(Value::Enqueued(e.job_id, e.deduplicated))
        });
        Ok(())
    }

    fn get(&self, fd: i32, id: u64, job_id: String) {
        let c = self.inner.clone();
        spawn(fd, id, async move { Ok(Value::Job(c.get(&job_id).await?)) });
    }

    /// Resolves to `(jobs, total)`.
    #[allow(clippy::too_many_arguments)]
    fn list(
        &self,
        fd: i32,
        id: u64,
        statuses: Vec<String>,
        names: Vec<String>,
        limit: u32,
        offset: u32,
        order_by: String,
        ascending: bool,
    ) -> PyResult<()> {
        let order = match order_by.as_str() {
            "created_at" => JobOrder::CreatedAt,
            "run_at" => JobOrder::RunAt,
            other => {
                return Err(to_py(Error::invalid(format!(
                    "order_by must be 'created_at' or 'run_at', got '{other}'"
                ))))
            }
        };
        let params = JobListParams {
            statuses: convert::statuses(statuses)?,
            names,
            limit,
            offset,
            order,
            ascending,
            search: None,
        };
        let c = self.inner.clone();
        spawn(fd, id, async move {
            let r = c.list(params).await?;
            Ok(Value::Jobs(r.jobs, r.total))
        });
        Ok(())
    }

    fn attempts(&self, fd: i32, id: u64, job_id: String) {
        let c = self.inner.clone();
        spawn(fd, id, async move {
            Ok(Value::Attempts(c.attempts(&job_id).await?))
        });
    }

    fn cancel(&self, fd: i32, id: u64, job_id: String) {
        let c = self.inner.clone();
        spawn(
            fd,
            id,
            async move { Ok(Value::Job(c.cancel(&job_id).await?)) },
        );
    }

    fn retry(&self, fd: i32, id: u64, job_id: String) {
        let c = self.inner.clone();
        spawn(
            fd,
            id,
            async move { Ok(Value::Job(c.retry(&job_id).await?)) },
        );
    }

    /// Resolves to the finished job (SUCCESS, DEAD or CANCELLED); fails with TimeoutError after
    /// `timeout` seconds.
    #[pyo3(signature = (fd, id, job_id, timeout=None))]
    fn await_result(&self, fd: i32, id: u64, job_id: String, timeout: Option<f64>) -> PyResult<()> {
        let t = self::timeout(timeout)?;
        let c = self.inner.clone();
        spawn(fd, id, async move {
            Ok(Value::Job(c.await_result(&job_id, t).await?))
        });
        Ok(())
    }

    /// Resolves to a `LeaderInfo`: who leads the store's nodes, and which node this client
    /// talks to. A read; it never elects.
    fn leader(&self, fd: i32, id: u64) {
        let c = self.inner.clone();
        spawn(fd, id, async move { Ok(Value::Leader(c.leader().await?)) });
    }

    /// Declares a schedule (creates it, or updates the one of that name); resolves to a
    /// `Schedule`. `name` "" is the function's name, `timezone` None is UTC, `args` b"" is `[]`,
    /// `missed` "run_latest" | "skip", `overlap` "allow" | "skip" ("" is the default).
    #[allow(clippy::too_many_arguments)]
    fn schedule_declare(
        &self,
        fd: i32,
        id: u64,
        name: String,
        function: String,
        cron: String,
        timezone: Option<String>,
        args: Vec<u8>,
        options: Option<&Bound<'_, PyDict>>,
        missed: String,
        overlap: String,
    ) -> PyResult<()> {
        let d = schedules::Declare {
            name,
            function,
            cron,
            timezone,
            args,
            options,
            missed,
            overlap,
        };
        schedules::declare(&self.inner, fd, id, d)
    }

    /// Resolves to the `Schedule` with that id or name; NotFoundError names it.
    fn schedule_get(&self, fd: i32, id: u64, id_or_name: String) {
        schedules::by_key(&self.inner, fd, id, id_or_name, Op::Get);
    }

    /// Resolves to `(schedules, total)`, ordered by name; `status` None lists all.
    fn schedule_list(
        &self,
        fd: i32,
        id: u64,
        status: Option<String>,
        limit: u32,
        offset: u32,
    ) -> PyResult<()> {
        schedules::list(&self.inner, fd, id, status, limit, offset)
    }

    /// Changes a schedule (None keeps a value; `options` replace the job options whole);
    /// resolves to the changed `Schedule`.
    #[allow(clippy::too_many_arguments)]
    fn schedule_update(
        &self,
        fd: i32,
        id: u64,
        id_or_name: String,
        cron: Option<String>,
        timezone: Option<String>,
        args: Option<Vec<u8>>,
        options: Option<&Bound<'_, PyDict>>,
        missed: Option<String>,
        overlap: Option<String>,
    ) -> PyResult<()> {
        let u = schedules::Update {
            cron,
            timezone,
            args,
            options,
            missed,
            overlap,
        };
        schedules::update(&self.inner, fd, id, id_or_name, u)
    }

    /// Resolves to the paused `Schedule`.
    fn schedule_pause(&self, fd: i32, id: u64, id_or_name: String) {
        schedules::by_key(&self.inner, fd, id, id_or_name, Op::Pause);
    }

    /// Resolves to the resumed `Schedule` (from the first tick after now).
    fn schedule_resume(&self, fd: i32, id: u64, id_or_name: String) {
        schedules::by_key(&self.inner, fd, id, id_or_name, Op::Resume);
    }

    /// Resolves to None once the schedule is deleted (its jobs stay).
    fn schedule_delete(&self, fd: i32, id: u64, id_or_name: String) {
        schedules::by_key(&self.inner, fd, id, id_or_name, Op::Delete);
    }

    /// Starts a job of the schedule now; resolves to `(job_id, deduplicated)`.
    fn schedule_trigger(&self, fd: i32, id: u64, id_or_name: String) {
        schedules::by_key(&self.inner, fd, id, id_or_name, Op::Trigger);
    }

    /// Resolves to the job's recorded steps (`Step`), in call order; NotFoundError for an
    /// unknown job.
    fn steps(&self, fd: i32, id: u64, job_id: String) {
        steps::list(&self.inner, fd, id, job_id);
    }

    /// Records a run step's outcome (`result` bytes, or `error` for its final failure) while
    /// `token` holds the job; resolves to the recorded `Step` (an earlier finished record of
    /// that place when there is one). ConflictError for a stale token or a changed step order.
    #[allow(clippy::too_many_arguments)]
    fn step_record(
        &self,
        fd: i32,
        id: u64,
        token: String,
        seq: u32,
        name: String,
        result: Option<Vec<u8>>,
        error: Option<String>,
        attempts: u32,
        started_at: i64,
    ) -> PyResult<()> {
        let r = steps::Record {
            token,
            seq,
            name,
            result,
            error,
            attempts,
            started_at,
        };
        steps::record(&self.inner, fd, id, r)
    }

    /// A wait step while `token` holds the job: `kind` "sleep" (`at_ms` its end), "event" (`key`,
    /// `at_ms` the deadline or None) or "child" (`key` the child job id). Resolves to the
    /// finished `Step`, or to the wake time (an int, Unix ms) when the job was suspended.
    #[allow(clippy::too_many_arguments)]
    fn step_wait(
        &self,
        fd: i32,
        id: u64,
        token: String,
        seq: u32,
        name: String,
        kind: String,
        key: Option<String>,
        at_ms: Option<i64>,
    ) -> PyResult<()> {
        let w = steps::Wait {
            token,
            seq,
            name,
            kind,
            key,
            at_ms,
        };
        steps::wait(&self.inner, fd, id, w)
    }

    /// Sends an event; resolves to the number of waiting jobs woken.
    fn event_send(&self, fd: i32, id: u64, key: String, payload: Vec<u8>) {
        steps::send(&self.inner, fd, id, key, payload);
    }

    /// Starts a worker; resolves to a `Worker`.
    fn worker(&self, fd: i32, id: u64, names: Vec<String>, concurrency: u32) {
        let c = self.inner.clone();
        spawn(fd, id, async move {
            Ok(Value::Worker(c.worker(names, concurrency).await?))
        });
    }

    fn close(&self, fd: i32, id: u64) {
        let c = self.inner.clone();
        spawn(fd, id, async move {
            c.close().await?;
            Ok(Value::Unit)
        });
    }
}

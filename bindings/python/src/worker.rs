//! The `Worker` and `Task` classes. Calls take the loop's pipe `fd` and a call `id`, like the
//! Client's (see `bridge.rs`).

use crate::bridge::{spawn, Value};
use crate::error::to_py;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use reseolio_ffi::{ClientTask, ClientWorker, JobHeartbeatResult, LeaseToken, Outcome};
use std::sync::Arc;
use std::time::Duration;

/// A worker of the engine or of a sidecar.
#[pyclass(frozen, module = "reseolio._native")]
pub struct Worker {
    inner: ClientWorker,
}

impl Worker {
    pub(crate) fn new(inner: ClientWorker) -> Self {
        Worker { inner }
    }
}

fn token(s: &str) -> PyResult<LeaseToken> {
    s.parse::<LeaseToken>().map_err(to_py)
}

#[pymethods]
impl Worker {
    /// Resolves to the next claimed `Task`.
    fn poll(&self, fd: i32, id: u64) {
        let w = self.inner.clone();
        spawn(fd, id, async move { Ok(Value::Task(w.poll().await?)) });
    }

    /// Reports an attempt: `result` bytes for a success, else `error` (with `retryable`).
    /// Resolves to the job's new status name.
    #[pyo3(signature = (fd, id, token, result=None, error=None, retryable=true))]
    #[allow(clippy::too_many_arguments)]
    fn complete(
        &self,
        fd: i32,
        id: u64,
        token: String,
        result: Option<Vec<u8>>,
        error: Option<String>,
        retryable: bool,
    ) -> PyResult<()> {
        let t = self::token(&token)?;
        let outcome = match (result, error) {
            (_, Some(error)) => Outcome::Failure { error, retryable },
            (Some(r), None) => Outcome::Success(r),
            (None, None) => Outcome::Success(b"null".to_vec()),
        };
        let w = self.inner.clone();
        spawn(fd, id, async move {
            let r = w.complete(&t, outcome).await?;
            Ok(Value::Str(r.status.as_str().to_string()))
        });
        Ok(())
    }

    /// Reports an attempt that a step wait suspended (`Client.step_wait` resolved to a wake
    /// time): the engine has the job back already, so this writes nothing and only frees the
    /// slot. Resolves to None.
    fn suspend(&self, fd: i32, id: u64, token: String) -> PyResult<()> {
        let t = self::token(&token)?;
        let w = self.inner.clone();
        spawn(fd, id, async move {
            w.complete(&t, Outcome::Suspended).await?;
            Ok(Value::Unit)
        });
        Ok(())
    }

    /// Extends the lease; resolves to True when the job was cancelled meanwhile.
    fn heartbeat(&self, fd: i32, id: u64, token: String) -> PyResult<()> {
        let t = self::token(&token)?;
        let w = self.inner.clone();
        spawn(fd, id, async move {
            let r = w.heartbeat(&t).await?;
            Ok(Value::Bool(matches!(r, JobHeartbeatResult::Cancelled)))
        });
        Ok(())
    }

    /// Stops claiming and waits up to `grace` seconds for held jobs.
    fn shutdown(&self, fd: i32, id: u64, grace: f64) {
        let w = self.inner.clone();
        let grace = Duration::from_secs_f64(grace.max(0.0));
        spawn(fd, id, async move {
            w.shutdown(grace).await?;
            Ok(Value::Unit)
        });
    }
}

/// A claimed job.
#[pyclass(frozen, module = "reseolio._native")]
pub struct Task {
    inner: Arc<ClientTask>,
}

impl Task {
    pub(crate) fn new(t: ClientTask) -> Self {
        Task { inner: Arc::new(t) }
    }
}

#[pymethods]
impl Task {
    #[getter]
    fn job_id(&self) -> String {
        self.inner.token().job_id.clone()
    }
    /// The fencing token to complete or heartbeat with.
    #[getter]
    fn token(&self) -> String {
        self.inner.token().to_string()
    }
    #[getter]
    fn name(&self) -> String {
        self.inner.job().name.clone()
    }
    #[getter]
    fn args<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.job().args)
    }
    #[getter]
    fn attempt(&self) -> u32 {
        self.inner.job().attempt
    }
    #[getter]
    fn max_attempts(&self) -> u32 {
        self.inner.job().max_attempts
    }
    #[getter]
    fn timeout_ms(&self) -> u64 {
        self.inner.job().timeout_ms
    }
    /// When the lease lapses unless heartbeated, Unix ms.
    #[getter]
    fn deadline_ms(&self) -> i64 {
        self.inner.job().deadline_ms
    }
    /// True once the job was cancelled or its lease lost.
    fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

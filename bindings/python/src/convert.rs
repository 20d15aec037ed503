//! Python values to engine types and engine records to Python objects.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use reseolio_ffi::{Backoff, EnqueueOptions, Error, JobStatus};

/// Reads the job options dict the Python package builds. Unknown keys are refused by name.
pub(crate) fn options(d: Option<&Bound<'_, PyDict>>) -> PyResult<EnqueueOptions> {
    let mut o = EnqueueOptions::default();
    let Some(d) = d else { return Ok(o) };
    for (k, v) in d.iter() {
        let key: String = k.extract()?;
        if v.is_none() {
            continue;
        }
        match key.as_str() {
            "max_attempts" => o.max_attempts = Some(v.extract()?),
            "backoff" => {
                let s: String = v.extract()?;
                o.backoff = Some(s.parse::<Backoff>().map_err(crate::error::to_py)?);
            }
            "initial_delay_ms" => o.initial_delay_ms = Some(v.extract()?),
            "max_delay_ms" => o.max_delay_ms = Some(v.extract()?),
            "jitter" => o.jitter = Some(v.extract()?),
            "timeout_ms" => o.timeout_ms = Some(v.extract()?),
            "delay_ms" => o.delay_ms = Some(v.extract()?),
            "run_at_ms" => o.run_at_ms = Some(v.extract()?),
            "priority" => o.priority = Some(v.extract()?),
            "idempotency_key" => o.idempotency_key = Some(v.extract()?),
            other => {
                return Err(crate::error::to_py(Error::invalid(format!(
                    "unknown job option '{other}'"
                ))))
            }
        }
    }
    Ok(o)
}

pub(crate) fn statuses(v: Vec<String>) -> PyResult<Vec<JobStatus>> {
    v.iter()
        .map(|s| s.parse::<JobStatus>().map_err(crate::error::to_py))
        .collect()
}

/// A job as stored. Times are Unix milliseconds.
#[pyclass(frozen, module = "reseolio._native")]
pub struct Job {
    #[pyo3(get)]
    pub id: String,
    #[pyo3(get)]
    pub name: String,
    #[pyo3(get)]
    pub status: String,
    #[pyo3(get)]
    pub priority: i32,
    #[pyo3(get)]
    pub attempt: u32,
    #[pyo3(get)]
    pub max_attempts: u32,
    #[pyo3(get)]
    pub backoff: String,
    #[pyo3(get)]
    pub initial_delay_ms: u64,
    #[pyo3(get)]
    pub max_delay_ms: u64,
    #[pyo3(get)]
    pub jitter: f64,
    #[pyo3(get)]
    pub timeout_ms: u64,
    #[pyo3(get)]
    pub idempotency_key: Option<String>,
    #[pyo3(get)]
    pub last_error: Option<String>,
    #[pyo3(get)]
    pub created_at: i64,
    #[pyo3(get)]
    pub run_at: i64,
    #[pyo3(get)]
    pub started_at: Option<i64>,
    #[pyo3(get)]
    pub completed_at: Option<i64>,
    #[pyo3(get)]
    pub lease_expires_at: Option<i64>,
    #[pyo3(get)]
    pub worker_id: Option<String>,
    args_bytes: Vec<u8>,
    result_bytes: Option<Vec<u8>>,
}

#[pymethods]
impl Job {
    /// The args as stored (by convention a UTF-8 JSON array).
    #[getter]
    fn args<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.args_bytes)
    }
    /// The result of the successful attempt (by convention UTF-8 JSON), or None.
    #[getter]
    fn result<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.result_bytes.as_deref().map(|r| PyBytes::new(py, r))
    }
    fn __repr__(&self) -> String {
        format!(
            "Job(id={:?}, name={:?}, status={}, attempt={}/{})",
            self.id, self.name, self.status, self.attempt, self.max_attempts
        )
    }
}

impl From<reseolio_ffi::Job> for Job {
    fn from(j: reseolio_ffi::Job) -> Self {
        Job {
            id: j.id,
            name: j.name,
            status: j.status.as_str().to_string(),
            priority: j.priority,
            attempt: j.attempt,
            max_attempts: j.max_attempts,
            backoff: j.retry.backoff.as_str().to_string(),
            initial_delay_ms: j.retry.initial_delay_ms,
            max_delay_ms: j.retry.max_delay_ms,
            jitter: j.retry.jitter,
            timeout_ms: j.timeout_ms,
            idempotency_key: j.idempotency_key,
            last_error: j.last_error,
            created_at: j.created_at,
            run_at: j.run_at,
            started_at: j.started_at,
            completed_at: j.completed_at,
            lease_expires_at: j.lease_expires_at,
            worker_id: j.worker_id,
            args_bytes: j.args,
            result_bytes: j.result,
        }
    }
}

/// One attempt of a job.
#[pyclass(frozen, module = "reseolio._native", get_all)]
pub struct Attempt {
    pub job_id: String,
    pub attempt: u32,
    pub lease: i64,
    pub worker_id: String,
    pub node_id: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub outcome: Option<String>,
    pub error: Option<String>,
}

impl From<reseolio_ffi::Attempt> for Attempt {
    fn from(a: reseolio_ffi::Attempt) -> Self {
        Attempt {
            job_id: a.job_id,
            attempt: a.attempt,
            lease: a.lease,
            worker_id: a.worker_id,
            node_id: a.node_id,
            started_at: a.started_at,
            finished_at: a.finished_at,
            outcome: a.outcome.map(|o| o.as_str().to_string()),
            error: a.error,
        }
    }
}

/// Who leads the store's nodes (runs the rescuer, the pruner and the scheduler for all), and the
/// node this client talks to (the embedded engine's, or the sidecar's). The leader fields are None
/// before the first election; times are Unix milliseconds; the term may have lapsed (a dead
/// leader) until another node takes over.
#[pyclass(frozen, module = "reseolio._native", get_all)]
pub struct LeaderInfo {
    pub node_id: String,
    pub leader_node_id: Option<String>,
    pub elected_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub is_leader: bool,
}

impl From<reseolio_ffi::LeaderInfo> for LeaderInfo {
    fn from(i: reseolio_ffi::LeaderInfo) -> Self {
        let is_leader = i.is_leader();
        LeaderInfo {
            leader_node_id: i.leader.as_ref().map(|l| l.node_id.clone()),
            elected_at: i.leader.as_ref().map(|l| l.elected_at),
            expires_at: i.leader.as_ref().map(|l| l.expires_at),
            node_id: i.node_id,
            is_leader,
        }
    }
}

//! Durable steps and events: the `Step` class and the conversions behind the `Client` step
//! methods (declared in `client.rs`, which holds the one `#[pymethods]` block of `Client`). The
//! step context itself (places, replay, suspension) is the Python package's
//! (`reseolio/steps.py`).

use crate::bridge::{spawn, Value};
use crate::error::to_py;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use reseolio_ffi::{Error, LeaseToken, StepOutcome, StepRecord, StepWait, StepWaitOutcome};

fn token(s: &str) -> PyResult<LeaseToken> {
    s.parse::<LeaseToken>().map_err(to_py)
}

fn invalid(message: String) -> PyErr {
    to_py(Error::invalid(message))
}

/// Resolves to the job's steps, in call order.
pub(crate) fn list(c: &reseolio_ffi::Client, fd: i32, id: u64, job_id: String) {
    let c = c.clone();
    spawn(
        fd,
        id,
        async move { Ok(Value::Steps(c.steps(&job_id).await?)) },
    );
}

/// Everything `Client.step_record` takes: a run step's outcome, `error` set for a failure.
pub(crate) struct Record {
    pub token: String,
    pub seq: u32,
    pub name: String,
    pub result: Option<Vec<u8>>,
    pub error: Option<String>,
    pub attempts: u32,
    pub started_at: i64,
}

/// Records a run step; resolves to the recorded `Step` (an earlier finished one when there is).
pub(crate) fn record(c: &reseolio_ffi::Client, fd: i32, id: u64, r: Record) -> PyResult<()> {
    let t = token(&r.token)?;
    let outcome = match (r.result, r.error) {
        (_, Some(e)) => StepOutcome::Failure(e),
        (Some(v), None) => StepOutcome::Success(v),
        (None, None) => StepOutcome::Success(b"null".to_vec()),
    };
    let record = StepRecord {
        seq: r.seq,
        name: r.name,
        outcome,
        attempts: r.attempts,
        started_at: r.started_at,
    };
    let c = c.clone();
    spawn(fd, id, async move {
        Ok(Value::Step(c.step_record(&t, record).await?))
    });
    Ok(())
}

/// Everything `Client.step_wait` takes: `kind` "sleep" (`at_ms` the end), "event" (`key`, and
/// `at_ms` the deadline or None) or "child" (`key` the child job id).
pub(crate) struct Wait {
    pub token: String,
    pub seq: u32,
    pub name: String,
    pub kind: String,
    pub key: Option<String>,
    pub at_ms: Option<i64>,
}

/// A wait step; resolves to the finished `Step`, or to the wake time (Unix ms, an int) when the
/// job was suspended.
pub(crate) fn wait(c: &reseolio_ffi::Client, fd: i32, id: u64, w: Wait) -> PyResult<()> {
    let t = token(&w.token)?;
    let key = |what: &str| {
        w.key
            .clone()
            .ok_or_else(|| invalid(format!("a {} wait needs {what}", w.kind)))
    };
    let wait = match w.kind.as_str() {
        "sleep" => StepWait::Sleep {
            until_ms: w
                .at_ms
                .ok_or_else(|| invalid("a sleep needs its end time".to_string()))?,
        },
        "event" => StepWait::Event {
            key: key("the event key")?,
            timeout_at_ms: w.at_ms,
        },
        "child" => StepWait::Child {
            job_id: key("the child job id")?,
        },
        other => {
            return Err(invalid(format!(
                "step wait kind must be sleep, event or child; got '{other}'"
            )))
        }
    };
    let c = c.clone();
    let (seq, name) = (w.seq, w.name);
    spawn(fd, id, async move {
        Ok(match c.step_wait(&t, seq, &name, wait).await? {
            StepWaitOutcome::Done(s) => Value::Step(s),
            StepWaitOutcome::Suspended { wake_at } => Value::Int(wake_at),
        })
    });
    Ok(())
}

/// Sends an event; resolves to the number of jobs woken.
pub(crate) fn send(c: &reseolio_ffi::Client, fd: i32, id: u64, key: String, payload: Vec<u8>) {
    let c = c.clone();
    spawn(fd, id, async move {
        let r = c.event_send(&key, payload).await?;
        Ok(Value::Int(i64::try_from(r.woken).unwrap_or(i64::MAX)))
    });
}

/// One recorded step of a job. Times are Unix milliseconds; `kind` is `run`, `sleep`, `event`
/// or `child`; `status` is `WAITING`, `SUCCESS` or `FAILED`.
#[pyclass(frozen, module = "reseolio._native")]
pub struct Step {
    #[pyo3(get)]
    pub job_id: String,
    #[pyo3(get)]
    pub seq: u32,
    #[pyo3(get)]
    pub name: String,
    #[pyo3(get)]
    pub kind: String,
    #[pyo3(get)]
    pub status: String,
    #[pyo3(get)]
    pub error: Option<String>,
    #[pyo3(get)]
    pub attempts: u32,
    #[pyo3(get)]
    pub started_at: i64,
    #[pyo3(get)]
    pub completed_at: Option<i64>,
    #[pyo3(get)]
    pub wait_key: Option<String>,
    #[pyo3(get)]
    pub wake_at: Option<i64>,
    result_bytes: Option<Vec<u8>>,
}

#[pymethods]
impl Step {
    /// The value of a SUCCESS step as stored (by convention UTF-8 JSON; empty for a sleep).
    #[getter]
    fn result<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.result_bytes.as_deref().map(|r| PyBytes::new(py, r))
    }
    fn __repr__(&self) -> String {
        format!(
            "Step(job_id={:?}, seq={}, name={:?}, kind={}, status={})",
            self.job_id, self.seq, self.name, self.kind, self.status
        )
    }
}

impl From<reseolio_ffi::Step> for Step {
    fn from(s: reseolio_ffi::Step) -> Self {
        Step {
            job_id: s.job_id,
            seq: s.seq,
            name: s.name,
            kind: s.kind.as_str().to_string(),
            status: s.status.as_str().to_string(),
            error: s.error,
            attempts: s.attempts,
            started_at: s.started_at,
            completed_at: s.completed_at,
            wait_key: s.wait_key,
            wake_at: s.wake_at,
            result_bytes: s.result,
        }
    }
}

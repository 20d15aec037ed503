//! Durable steps and events: the `Client` methods a handler's step context calls while its job is
//! held (`steps`, `stepRecord`, `stepWait`), the event sender, and their objects. The step
//! context itself (places, the recorded history, retries, suspension) lives in the TypeScript
//! package (`sdks/node/src/steps.ts`); the same operations as the Python glue.
//!
//! Times are Unix milliseconds. Results and payloads cross as UTF-8 JSON strings, as on
//! `enqueue` and `complete`, and come back as stored (a Buffer), as on `Job`.

use crate::client::Client;
use crate::error::{invalid, to_js};
use crate::worker::token;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use reseolio_ffi::{StepOutcome, StepWaitOutcome};

/// A recorded step of a job.
#[napi(object)]
pub struct Step {
    pub job_id: String,
    /// Its place in the function's call order, from 0.
    pub seq: u32,
    pub name: String,
    /// `run`, `sleep`, `event` or `child`.
    pub kind: String,
    /// `WAITING`, `SUCCESS` or `FAILED`.
    pub status: String,
    /// A SUCCESS step's value as stored: a run step's result, an event's payload, a child's
    /// result (by convention UTF-8 JSON; empty for a sleep).
    pub result: Option<Buffer>,
    /// A FAILED step's error.
    pub error: Option<String>,
    /// How many times a run step's code ran.
    pub attempts: u32,
    pub started_at: i64,
    pub completed_at: Option<i64>,
    /// What a waiting step waits for: the event key or the child job id.
    pub wait_key: Option<String>,
    /// When a sleep ends or an event wait times out.
    pub wake_at: Option<i64>,
}

impl From<reseolio_ffi::Step> for Step {
    fn from(s: reseolio_ffi::Step) -> Self {
        Step {
            job_id: s.job_id,
            seq: s.seq,
            name: s.name,
            kind: s.kind.as_str().to_string(),
            status: s.status.as_str().to_string(),
            result: s.result.map(Buffer::from),
            error: s.error,
            attempts: s.attempts,
            started_at: s.started_at,
            completed_at: s.completed_at,
            wait_key: s.wait_key,
            wake_at: s.wake_at,
        }
    }
}

/// A run step's outcome (`reseolio_ffi::StepRecord`): `result` (UTF-8 JSON) for a success, else
/// `error`.
#[napi(object)]
pub struct StepRecord {
    pub seq: u32,
    pub name: String,
    pub result: Option<String>,
    pub error: Option<String>,
    /// How many times the code ran, at least 1.
    pub attempts: u32,
    /// When its first try started.
    pub started_at: i64,
}

impl StepRecord {
    fn into_ffi(self) -> reseolio_ffi::StepRecord {
        let outcome = match (self.result, self.error) {
            (_, Some(e)) => StepOutcome::Failure(e),
            (Some(r), None) => StepOutcome::Success(r.into_bytes()),
            (None, None) => StepOutcome::Success(b"null".to_vec()),
        };
        reseolio_ffi::StepRecord {
            seq: self.seq,
            name: self.name,
            outcome,
            attempts: self.attempts,
            started_at: self.started_at,
        }
    }
}

/// What a wait step waits for (`reseolio_ffi::StepWait`): `kind` `sleep` with `untilMs`, `event`
/// with `key` and an optional `timeoutAtMs` (absent: forever), or `child` with `jobId`.
#[napi(object)]
pub struct StepWait {
    pub kind: String,
    pub until_ms: Option<i64>,
    pub key: Option<String>,
    pub timeout_at_ms: Option<i64>,
    pub job_id: Option<String>,
}

impl StepWait {
    fn into_ffi(self) -> napi::Result<reseolio_ffi::StepWait> {
        let missing = |field: &str| invalid(format!("a {} wait needs {field}", self.kind));
        Ok(match self.kind.as_str() {
            "sleep" => reseolio_ffi::StepWait::Sleep {
                until_ms: self.until_ms.ok_or_else(|| missing("untilMs"))?,
            },
            "event" => reseolio_ffi::StepWait::Event {
                key: self.key.clone().ok_or_else(|| missing("key"))?,
                timeout_at_ms: self.timeout_at_ms,
            },
            "child" => reseolio_ffi::StepWait::Child {
                job_id: self.job_id.clone().ok_or_else(|| missing("jobId"))?,
            },
            other => {
                return Err(invalid(format!(
                    "a wait's kind must be 'sleep', 'event' or 'child', got '{other}'"
                )))
            }
        })
    }
}

/// How a wait ended: the finished step, or `suspended` (the job was handed back until `wakeAt`
/// or a wake-up; report `Worker.suspend` to free the slot).
#[napi(object)]
pub struct StepWaitResult {
    pub suspended: bool,
    pub step: Option<Step>,
    pub wake_at: Option<i64>,
}

#[napi]
impl Client {
    /// Every recorded step of a job, in call order; NOT_FOUND for an unknown job.
    #[napi]
    pub async fn steps(&self, job_id: String) -> napi::Result<Vec<Step>> {
        let s = self.inner.steps(&job_id).await.map_err(to_js)?;
        Ok(s.into_iter().map(Step::from).collect())
    }

    /// Records a run step's outcome while `token` holds the job; resolves to the record (an
    /// earlier finished record of the place wins). CONFLICT for a lost lease or a changed step
    /// order (the message starts with `step order changed`).
    #[napi]
    pub async fn step_record(&self, token: String, record: StepRecord) -> napi::Result<Step> {
        let t = self::token(&token)?;
        let s = self
            .inner
            .step_record(&t, record.into_ffi())
            .await
            .map_err(to_js)?;
        Ok(s.into())
    }

    /// A wait step while `token` holds the job: resolves at once to the finished step, or to
    /// `suspended`. Errors as `stepRecord`, and NOT_FOUND for an unknown child.
    #[napi]
    pub async fn step_wait(
        &self,
        token: String,
        seq: u32,
        name: String,
        wait: StepWait,
    ) -> napi::Result<StepWaitResult> {
        let t = self::token(&token)?;
        let wait = wait.into_ffi()?;
        let r = self
            .inner
            .step_wait(&t, seq, &name, wait)
            .await
            .map_err(to_js)?;
        Ok(match r {
            StepWaitOutcome::Done(s) => StepWaitResult {
                suspended: false,
                step: Some(s.into()),
                wake_at: None,
            },
            StepWaitOutcome::Suspended { wake_at } => StepWaitResult {
                suspended: true,
                step: None,
                wake_at: Some(wake_at),
            },
        })
    }

    /// Sends an event (`payload` is UTF-8 JSON); resolves to how many waiting jobs were woken.
    #[napi]
    pub async fn event_send(&self, key: String, payload: String) -> napi::Result<i64> {
        let r = self
            .inner
            .event_send(&key, payload.into_bytes())
            .await
            .map_err(to_js)?;
        Ok(i64::try_from(r.woken).unwrap_or(i64::MAX))
    }
}

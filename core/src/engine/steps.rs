//! Durable steps and events: the calls a handler's step context makes while its job is held, and
//! the event sender. The journal itself lives in the store ([`Store::step_list`] and friends).

use super::Engine;
use crate::error::{Error, Result};
use crate::job::{options, LeaseToken, Step, StepOutcome, StepRecord, StepWait, StepWaitOutcome};
use crate::store::*;
use tracing::instrument;

/// The longest event key, in bytes. The SDKs name an event wait `event:<key>`, and a step name
/// is at most 255 bytes: 200 leaves room for that prefix.
pub const MAX_EVENT_KEY_BYTES: usize = 200;

/// Checks an event key: non-empty, at most [`MAX_EVENT_KEY_BYTES`].
pub fn validate_event_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid("event key must not be empty"));
    }
    if key.len() > MAX_EVENT_KEY_BYTES {
        return Err(Error::invalid(format!(
            "event key is {} bytes; the limit is {MAX_EVENT_KEY_BYTES}",
            key.len()
        )));
    }
    Ok(())
}

impl Engine {
    /// Every recorded step of a job, in call order. Does not block on writes (a read).
    ///
    /// Errors: NotFound for an unknown job id.
    #[instrument(skip(self))]
    pub async fn steps(&self, job_id: &str) -> Result<Vec<Step>> {
        self.inner.check_open()?;
        let steps = self
            .inner
            .store
            .step_list(StepListParams {
                job_id: job_id.to_string(),
            })
            .await?;
        if steps.is_empty() {
            // Tell "no steps yet" from "no such job".
            self.get(job_id).await?;
        }
        Ok(steps)
    }

    /// Records a run step's outcome while `token` holds the job, and returns the record. A
    /// place already finished under the same name returns the earlier record unchanged (the
    /// first record wins). May be called concurrently for different places.
    ///
    /// Errors: InvalidArgument for an empty or over-long name, a result or error over the
    /// payload limit, or zero attempts; Conflict for a stale token (the lease was lost; stop the
    /// handler) or when the place holds another step (the function changed its step order);
    /// NotFound; Unavailable.
    #[instrument(skip(self, record), fields(job_id = %token.job_id, seq = record.seq))]
    pub async fn step_record(&self, token: &LeaseToken, record: StepRecord) -> Result<Step> {
        self.inner.check_open()?;
        options::validate_name(&record.name)?;
        let limits = &self.inner.config.limits;
        match &record.outcome {
            StepOutcome::Success(v) => options::validate_payload("step result", v, limits)?,
            StepOutcome::Failure(e) => {
                options::validate_payload("step error", e.as_bytes(), limits)?
            }
        }
        if record.attempts == 0 {
            return Err(Error::invalid("step attempts must be >= 1, got 0"));
        }
        self.inner
            .store
            .step_record(StepRecordParams {
                job_id: token.job_id.clone(),
                lease: token.lease,
                seq: record.seq,
                name: record.name,
                outcome: record.outcome,
                attempts: record.attempts,
                started_at: record.started_at,
                now_ms: self.inner.now_ms(),
            })
            .await
    }

    /// A wait step (sleep, event, child) while `token` holds the job. Returns `Done` with the
    /// finished step when the wait is already over, else suspends the job and returns
    /// `Suspended`: the lease is gone, the handler must stop and report
    /// [`crate::Outcome::Suspended`]. The wait recorded on the first call is the one that counts:
    /// a re-run passing a later deadline does not move it.
    ///
    /// Errors: InvalidArgument for a bad name or event key; NotFound for an unknown child job (or
    /// job); Conflict as for [`Engine::step_record`]; Unavailable.
    #[instrument(skip(self, wait), fields(job_id = %token.job_id))]
    pub async fn step_wait(
        &self,
        token: &LeaseToken,
        seq: u32,
        name: &str,
        wait: StepWait,
    ) -> Result<StepWaitOutcome> {
        self.inner.check_open()?;
        options::validate_name(name)?;
        match &wait {
            StepWait::Event { key, .. } => validate_event_key(key)?,
            StepWait::Child { job_id } if job_id.is_empty() => {
                return Err(Error::invalid("child job id must not be empty"))
            }
            _ => {}
        }
        let out = self
            .inner
            .store
            .step_wait(StepWaitParams {
                job_id: token.job_id.clone(),
                lease: token.lease,
                seq,
                name: name.to_string(),
                wait,
                now_ms: self.inner.now_ms(),
            })
            .await?;
        if let StepWaitOutcome::Suspended { .. } = out {
            // The job is PENDING again: a fetcher idle in this process claims it when due (it
            // polls), and a task waiting on this lease must not be told it was cancelled.
            self.inner
                .signals
                .untrack_running(&token.job_id, token.lease);
            self.inner.signals.job_available.notify_waiters();
        }
        Ok(out)
    }

    /// Sends an event: stores `payload` under `key` (a later send replaces it; a wait that
    /// already received the earlier payload keeps it) and resumes every job suspended waiting
    /// for the key. A wait that starts later receives it at once: an event sent before the wait
    /// is not lost. Returns how many jobs were woken. Durable when it returns.
    ///
    /// Errors: InvalidArgument for an empty or over-long key or a payload over the limit;
    /// Unavailable.
    #[instrument(skip(self, payload))]
    pub async fn event_send(&self, key: &str, payload: Vec<u8>) -> Result<EventSendResult> {
        self.inner.check_open()?;
        validate_event_key(key)?;
        options::validate_payload("event payload", &payload, &self.inner.config.limits)?;
        let r = self
            .inner
            .store
            .event_send(EventSendParams {
                key: key.to_string(),
                payload,
                now_ms: self.inner.now_ms(),
            })
            .await?;
        if r.woken > 0 {
            self.inner.signals.job_available.notify_waiters();
        }
        Ok(r)
    }
}

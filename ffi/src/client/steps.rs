//! The durable-step operations of the Client (the calls a handler's step context makes while its
//! job is held) and the event sender: the same on the embedded engine and over a sidecar.

use super::{Client, Transport};
use crate::runtime::on_runtime;
use reseolio_core::store::EventSendResult;
use reseolio_core::{LeaseToken, Result, Step, StepRecord, StepWait, StepWaitOutcome};

/// Runs `$call` on the embedded engine or the remote `$t`, on the client's runtime.
macro_rules! either {
    ($self:ident, |$t:ident| $call:expr) => {
        match $self.transport.clone() {
            Transport::Embedded($t) => on_runtime(async move { $call.await }).await,
            Transport::Remote($t) => on_runtime(async move { $call.await }).await,
        }
    };
}

impl Client {
    /// Every recorded step of a job, in call order (empty before its first step). A read: it
    /// never waits on writers. May be called concurrently, from any thread.
    ///
    /// Errors: NotFound for an unknown job id; Unavailable when the store or the sidecar cannot
    /// be reached; ShutDown after [`Client::close`].
    pub async fn steps(&self, job_id: &str) -> Result<Vec<Step>> {
        let id = job_id.to_string();
        either!(self, |t| t.steps(&id))
    }

    /// Records a run step's outcome (its code's value, or its final error after the step's own
    /// retries) while `token` holds the job, and returns the record. Durable when it resolves. A
    /// place already finished under the same name returns the earlier record unchanged: the
    /// first record wins, so a re-run that races a recorded outcome gets that outcome back. May
    /// be called concurrently for different places of the same job.
    ///
    /// Errors: InvalidArgument for an empty or over-long name, a result or error over the
    /// payload limit, or zero attempts (nothing is written); Conflict for a stale token (the
    /// lease was lost or the job suspended: stop the handler), or when the place holds another
    /// step (the message starts with "step order changed": the function called its steps in
    /// another order than the recorded history); NotFound for an unknown job; Unavailable.
    pub async fn step_record(&self, token: &LeaseToken, record: StepRecord) -> Result<Step> {
        let token = token.clone();
        either!(self, |t| t.step_record(&token, record))
    }

    /// A wait step at place `seq` (a durable sleep, a wait for an event, a wait for a child job)
    /// while `token` holds the job. Resolves at once, never waiting for the wait itself:
    /// [`StepWaitOutcome::Done`] with the finished step when the wait is over (now or on an
    /// earlier run: a received event's payload, a child's result, or a FAILED step for an event
    /// wait that timed out or a child that ended DEAD or CANCELLED); else
    /// [`StepWaitOutcome::Suspended`]: the job is PENDING again until `wake_at` (or until an
    /// event or the child wakes it), its attempt is not counted and the token's lease is gone.
    /// The handler must then stop and report [`reseolio_core::Outcome::Suspended`] through
    /// [`crate::ClientWorker::complete`] to free its worker slot. The wait recorded on the first
    /// call is the one that counts: a re-run passing a later deadline does not move it.
    ///
    /// Errors: InvalidArgument for a bad name, an empty or over-long event key or an empty child
    /// job id; NotFound for an unknown child job (or job); Conflict as for
    /// [`Client::step_record`]; Unavailable.
    pub async fn step_wait(
        &self,
        token: &LeaseToken,
        seq: u32,
        name: &str,
        wait: StepWait,
    ) -> Result<StepWaitOutcome> {
        let (token, name) = (token.clone(), name.to_string());
        either!(self, |t| t.step_wait(&token, seq, &name, wait))
    }

    /// Sends an event: stores `payload` under `key` (a later send replaces it; a wait that
    /// already received the earlier payload keeps it) and resumes every job suspended waiting for
    /// the key. A wait that starts later receives it at once: an event sent before the wait is
    /// not lost. Durable when it resolves; never blocks on workers. Returns how many jobs were
    /// woken.
    ///
    /// Errors: InvalidArgument for an empty or over-long key or a payload over the limit;
    /// Unavailable.
    pub async fn event_send(&self, key: &str, payload: Vec<u8>) -> Result<EventSendResult> {
        let key = key.to_string();
        either!(self, |t| t.event_send(&key, payload))
    }
}

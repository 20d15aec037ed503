//! The durable-step RPCs over the engine: ListSteps, RecordStep, WaitStep and SendEvent. The
//! step calls are fenced by the lease token they carry, so they may come from any connection; a
//! WaitStep that suspends a job leaves the stream's slot taken until the worker acks with
//! `suspended` (see `Service::ack_job`), exactly as the embedded worker holds it until
//! `complete(Outcome::Suspended)`.

use crate::convert::status;
use reseolio_core::Engine;
use reseolio_proto as pb;
use tonic::Status;

/// ListSteps. Errors: NOT_FOUND for an unknown job.
pub(crate) async fn list(engine: &Engine, job_id: &str) -> Result<pb::ListStepsResponse, Status> {
    let steps = engine.steps(job_id).await.map_err(status)?;
    Ok(pb::ListStepsResponse {
        steps: steps.iter().map(pb::step_to_wire).collect(),
    })
}

/// RecordStep. Errors: INVALID_ARGUMENT (a malformed token, no outcome, a bad name or payload);
/// FAILED_PRECONDITION for a stale token or a changed step order; NOT_FOUND.
pub(crate) async fn record(engine: &Engine, r: pb::RecordStepRequest) -> Result<pb::Step, Status> {
    let (token, record) = pb::step_record_from_wire(r).map_err(status)?;
    let step = engine.step_record(&token, record).await.map_err(status)?;
    Ok(pb::step_to_wire(&step))
}

/// WaitStep. Errors as RecordStep, and NOT_FOUND for an unknown child job.
pub(crate) async fn wait(
    engine: &Engine,
    r: pb::WaitStepRequest,
) -> Result<pb::WaitStepResponse, Status> {
    let (token, seq, name, wait) = pb::step_wait_from_wire(r).map_err(status)?;
    let out = engine
        .step_wait(&token, seq, &name, wait)
        .await
        .map_err(status)?;
    Ok(pb::step_wait_outcome_to_wire(&out))
}

/// SendEvent. Errors: INVALID_ARGUMENT for a bad key or a payload over the limit.
pub(crate) async fn send_event(
    engine: &Engine,
    r: pb::SendEventRequest,
) -> Result<pb::SendEventResponse, Status> {
    let sent = engine.event_send(&r.key, r.payload).await.map_err(status)?;
    Ok(pb::SendEventResponse { woken: sent.woken })
}

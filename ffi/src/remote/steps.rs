//! The step and event operations over the sidecar: ListSteps, RecordStep, WaitStep, SendEvent.

use super::{wire, Remote};
use reseolio_core::store::EventSendResult;
use reseolio_core::{
    validate_event_key, Error, LeaseToken, Result, Step, StepRecord, StepWait, StepWaitOutcome,
};
use reseolio_proto as pb;
use tonic::Status;

/// A sidecar older than the step RPCs answers UNIMPLEMENTED: reported as Internal saying so.
fn step_error(rpc: &str) -> impl Fn(Status) -> Error + '_ {
    move |s| match s.code() {
        tonic::Code::Unimplemented => Error::internal(format!(
            "the sidecar does not serve {rpc} (a version older than this client): {}",
            s.message()
        )),
        _ => wire::error(s),
    }
}

impl Remote {
    pub(crate) async fn steps(&self, job_id: &str) -> Result<Vec<Step>> {
        let r = self
            .api()
            .list_steps(pb::ListStepsRequest {
                job_id: job_id.to_string(),
            })
            .await
            .map_err(step_error("ListSteps"))?
            .into_inner();
        r.steps.into_iter().map(pb::step_from_wire).collect()
    }

    pub(crate) async fn step_record(&self, token: &LeaseToken, record: StepRecord) -> Result<Step> {
        let s = self
            .api()
            .record_step(pb::step_record_to_wire(token, record))
            .await
            .map_err(step_error("RecordStep"))?
            .into_inner();
        pb::step_from_wire(s)
    }

    pub(crate) async fn step_wait(
        &self,
        token: &LeaseToken,
        seq: u32,
        name: &str,
        wait: StepWait,
    ) -> Result<StepWaitOutcome> {
        // Checked here too, so that a remote caller gets the engine's words before anything is
        // sent.
        if let StepWait::Event { key, .. } = &wait {
            validate_event_key(key)?;
        }
        let r = self
            .api()
            .wait_step(pb::step_wait_to_wire(token, seq, name, wait))
            .await
            .map_err(step_error("WaitStep"))?
            .into_inner();
        pb::step_wait_outcome_from_wire(r)
    }

    pub(crate) async fn event_send(&self, key: &str, payload: Vec<u8>) -> Result<EventSendResult> {
        validate_event_key(key)?;
        let r = self
            .api()
            .send_event(pb::SendEventRequest {
                key: key.to_string(),
                payload,
            })
            .await
            .map_err(step_error("SendEvent"))?
            .into_inner();
        Ok(EventSendResult { woken: r.woken })
    }
}

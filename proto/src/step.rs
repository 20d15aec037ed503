//! The one mapping between the engine's durable steps and the wire's step messages (ListSteps,
//! RecordStep, WaitStep), shared by the sidecar and the remote client.

use reseolio_core::{
    Error, LeaseToken, Result, Step, StepKind, StepOutcome, StepRecord, StepStatus, StepWait,
    StepWaitOutcome,
};

/// The wire enum of a step kind.
pub fn step_kind_to_wire(k: StepKind) -> crate::StepKind {
    match k {
        StepKind::Run => crate::StepKind::Run,
        StepKind::Sleep => crate::StepKind::Sleep,
        StepKind::Event => crate::StepKind::Event,
        StepKind::Child => crate::StepKind::Child,
    }
}

/// The engine kind of a wire step kind number; `None` for UNSPECIFIED or an unknown number.
pub fn step_kind_from_wire(v: i32) -> Option<StepKind> {
    match crate::StepKind::try_from(v).ok()? {
        crate::StepKind::Unspecified => None,
        crate::StepKind::Run => Some(StepKind::Run),
        crate::StepKind::Sleep => Some(StepKind::Sleep),
        crate::StepKind::Event => Some(StepKind::Event),
        crate::StepKind::Child => Some(StepKind::Child),
    }
}

/// The wire enum of a step status.
pub fn step_status_to_wire(s: StepStatus) -> crate::StepStatus {
    match s {
        StepStatus::Waiting => crate::StepStatus::Waiting,
        StepStatus::Success => crate::StepStatus::Success,
        StepStatus::Failed => crate::StepStatus::Failed,
    }
}

/// The engine status of a wire step status number; `None` for UNSPECIFIED or an unknown number.
pub fn step_status_from_wire(v: i32) -> Option<StepStatus> {
    match crate::StepStatus::try_from(v).ok()? {
        crate::StepStatus::Unspecified => None,
        crate::StepStatus::Waiting => Some(StepStatus::Waiting),
        crate::StepStatus::Success => Some(StepStatus::Success),
        crate::StepStatus::Failed => Some(StepStatus::Failed),
    }
}

/// An engine step on the wire.
pub fn step_to_wire(s: &Step) -> crate::Step {
    crate::Step {
        job_id: s.job_id.clone(),
        seq: s.seq,
        name: s.name.clone(),
        kind: step_kind_to_wire(s.kind) as i32,
        status: step_status_to_wire(s.status) as i32,
        result: s.result.clone(),
        error: s.error.clone(),
        attempts: s.attempts,
        started_at: s.started_at,
        completed_at: s.completed_at.unwrap_or(0),
        wait_key: s.wait_key.clone(),
        wake_at: s.wake_at,
    }
}

/// A wire step as the engine's. Errors: Internal for a kind or status the engine does not know
/// (a newer sidecar).
pub fn step_from_wire(s: crate::Step) -> Result<Step> {
    let kind = step_kind_from_wire(s.kind)
        .ok_or_else(|| Error::internal(format!("the sidecar sent step kind {}", s.kind)))?;
    let status = step_status_from_wire(s.status)
        .ok_or_else(|| Error::internal(format!("the sidecar sent step status {}", s.status)))?;
    Ok(Step {
        job_id: s.job_id,
        seq: s.seq,
        name: s.name,
        kind,
        status,
        result: s.result,
        error: s.error,
        attempts: s.attempts,
        started_at: s.started_at,
        completed_at: (s.completed_at != 0).then_some(s.completed_at),
        wait_key: s.wait_key,
        wake_at: s.wake_at,
    })
}

/// A RecordStep request for a run step's outcome under `token`.
pub fn step_record_to_wire(token: &LeaseToken, r: StepRecord) -> crate::RecordStepRequest {
    use crate::record_step_request::Outcome;
    crate::RecordStepRequest {
        lease_token: token.to_string(),
        seq: r.seq,
        name: r.name,
        outcome: Some(match r.outcome {
            StepOutcome::Success(v) => Outcome::Result(v),
            StepOutcome::Failure(e) => Outcome::Error(e),
        }),
        attempts: r.attempts,
        started_at: r.started_at,
    }
}

/// The token and record of a RecordStep request. Errors: InvalidArgument for a malformed lease
/// token or a missing outcome.
pub fn step_record_from_wire(r: crate::RecordStepRequest) -> Result<(LeaseToken, StepRecord)> {
    use crate::record_step_request::Outcome;
    let token: LeaseToken = r.lease_token.parse()?;
    let outcome = match r.outcome {
        Some(Outcome::Result(v)) => StepOutcome::Success(v),
        Some(Outcome::Error(e)) => StepOutcome::Failure(e),
        None => return Err(Error::invalid("a step record needs a result or an error")),
    };
    Ok((
        token,
        StepRecord {
            seq: r.seq,
            name: r.name,
            outcome,
            attempts: r.attempts,
            started_at: r.started_at,
        },
    ))
}

/// A WaitStep request for the wait at place `seq` under `token`.
pub fn step_wait_to_wire(
    token: &LeaseToken,
    seq: u32,
    name: &str,
    wait: StepWait,
) -> crate::WaitStepRequest {
    use crate::wait_step_request::Wait;
    crate::WaitStepRequest {
        lease_token: token.to_string(),
        seq,
        name: name.to_string(),
        wait: Some(match wait {
            StepWait::Sleep { until_ms } => Wait::SleepUntilMs(until_ms),
            StepWait::Event { key, timeout_at_ms } => {
                Wait::Event(crate::EventWait { key, timeout_at_ms })
            }
            StepWait::Child { job_id } => Wait::ChildJobId(job_id),
        }),
    }
}

/// The token, place, name and wait of a WaitStep request. Errors: InvalidArgument for a
/// malformed lease token or a missing wait.
pub fn step_wait_from_wire(
    r: crate::WaitStepRequest,
) -> Result<(LeaseToken, u32, String, StepWait)> {
    use crate::wait_step_request::Wait;
    let token: LeaseToken = r.lease_token.parse()?;
    let wait = match r.wait {
        Some(Wait::SleepUntilMs(until_ms)) => StepWait::Sleep { until_ms },
        Some(Wait::Event(e)) => StepWait::Event {
            key: e.key,
            timeout_at_ms: e.timeout_at_ms,
        },
        Some(Wait::ChildJobId(job_id)) => StepWait::Child { job_id },
        None => {
            return Err(Error::invalid(
                "a step wait needs sleep_until_ms, event or child_job_id",
            ))
        }
    };
    Ok((token, r.seq, r.name, wait))
}

/// How a wait ended, on the wire.
pub fn step_wait_outcome_to_wire(o: &StepWaitOutcome) -> crate::WaitStepResponse {
    match o {
        StepWaitOutcome::Done(step) => crate::WaitStepResponse {
            suspended: false,
            wake_at: 0,
            step: Some(step_to_wire(step)),
        },
        StepWaitOutcome::Suspended { wake_at } => crate::WaitStepResponse {
            suspended: true,
            wake_at: *wake_at,
            step: None,
        },
    }
}

/// A WaitStep answer as the engine's. Errors: Internal when a finished wait carries no step, or
/// the step does not convert (see [`step_from_wire`]).
pub fn step_wait_outcome_from_wire(r: crate::WaitStepResponse) -> Result<StepWaitOutcome> {
    if r.suspended {
        return Ok(StepWaitOutcome::Suspended { wake_at: r.wake_at });
    }
    let step = r
        .step
        .ok_or_else(|| Error::internal("the sidecar answered a finished wait without its step"))?;
    Ok(StepWaitOutcome::Done(step_from_wire(step)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reseolio_core::{ErrorKind, WAKE_NEVER_MS};

    fn step(kind: StepKind, status: StepStatus) -> Step {
        Step {
            job_id: "j1".into(),
            seq: 3,
            name: "charge".into(),
            kind,
            status,
            result: None,
            error: None,
            attempts: 2,
            started_at: 1_700_000_000_000,
            completed_at: None,
            wait_key: None,
            wake_at: None,
        }
    }

    fn token() -> LeaseToken {
        "job-1/7".parse().unwrap()
    }

    #[test]
    fn every_kind_and_status_round_trips_and_unspecified_is_none() {
        for k in [
            StepKind::Run,
            StepKind::Sleep,
            StepKind::Event,
            StepKind::Child,
        ] {
            assert_eq!(step_kind_from_wire(step_kind_to_wire(k) as i32), Some(k));
        }
        for s in [StepStatus::Waiting, StepStatus::Success, StepStatus::Failed] {
            assert_eq!(
                step_status_from_wire(step_status_to_wire(s) as i32),
                Some(s)
            );
        }
        assert_eq!(step_kind_from_wire(0), None);
        assert_eq!(step_status_from_wire(0), None);
        assert_eq!(step_kind_from_wire(42), None);
    }

    #[test]
    fn steps_round_trip_with_every_optional_field() {
        let cases = [
            step(StepKind::Run, StepStatus::Success),
            Step {
                result: Some(b"{\"ok\":1}".to_vec()),
                completed_at: Some(1_700_000_000_500),
                ..step(StepKind::Run, StepStatus::Success)
            },
            // An empty payload is a value, not "no value".
            Step {
                result: Some(vec![]),
                completed_at: Some(1),
                wait_key: Some("order-1".into()),
                ..step(StepKind::Event, StepStatus::Success)
            },
            Step {
                error: Some("timed out waiting for event 'k'".into()),
                wait_key: Some("k".into()),
                wake_at: Some(1_700_000_001_000),
                completed_at: Some(1_700_000_001_000),
                ..step(StepKind::Event, StepStatus::Failed)
            },
            Step {
                wake_at: Some(0),
                ..step(StepKind::Sleep, StepStatus::Waiting)
            },
            Step {
                wait_key: Some("child-9".into()),
                wake_at: Some(WAKE_NEVER_MS),
                ..step(StepKind::Child, StepStatus::Waiting)
            },
        ];
        for s in cases {
            assert_eq!(step_from_wire(step_to_wire(&s)).unwrap(), s);
        }
    }

    #[test]
    fn an_unknown_kind_or_status_from_the_wire_is_internal() {
        let mut w = step_to_wire(&step(StepKind::Run, StepStatus::Success));
        w.kind = 0;
        assert_eq!(step_from_wire(w).unwrap_err().kind(), ErrorKind::Internal);
        let mut w = step_to_wire(&step(StepKind::Run, StepStatus::Success));
        w.status = 9;
        assert_eq!(step_from_wire(w).unwrap_err().kind(), ErrorKind::Internal);
    }

    #[test]
    fn records_round_trip_and_need_an_outcome() {
        for outcome in [
            StepOutcome::Success(b"42".to_vec()),
            StepOutcome::Success(vec![]),
            StepOutcome::Failure("boom".into()),
        ] {
            let r = StepRecord {
                seq: 1,
                name: "charge".into(),
                outcome,
                attempts: 3,
                started_at: 1_700_000_000_000,
            };
            let (t, back) =
                step_record_from_wire(step_record_to_wire(&token(), r.clone())).unwrap();
            assert_eq!((t, back), (token(), r));
        }
        let mut w = step_record_to_wire(
            &token(),
            StepRecord {
                seq: 0,
                name: "a".into(),
                outcome: StepOutcome::Success(vec![]),
                attempts: 1,
                started_at: 0,
            },
        );
        w.outcome = None;
        assert_eq!(
            step_record_from_wire(w.clone()).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        w.lease_token = "nope".into();
        assert_eq!(
            step_record_from_wire(w).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn waits_round_trip_and_need_a_wait() {
        for wait in [
            StepWait::Sleep { until_ms: 123 },
            StepWait::Event {
                key: "order-1".into(),
                timeout_at_ms: None,
            },
            StepWait::Event {
                key: "order-1".into(),
                timeout_at_ms: Some(0),
            },
            StepWait::Child {
                job_id: "c1".into(),
            },
        ] {
            let back = step_wait_from_wire(step_wait_to_wire(&token(), 4, "w", wait.clone()));
            assert_eq!(back.unwrap(), (token(), 4, "w".to_string(), wait));
        }
        let mut w = step_wait_to_wire(&token(), 0, "w", StepWait::Sleep { until_ms: 1 });
        w.wait = None;
        assert_eq!(
            step_wait_from_wire(w).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn wait_outcomes_round_trip() {
        for o in [
            StepWaitOutcome::Suspended {
                wake_at: WAKE_NEVER_MS,
            },
            StepWaitOutcome::Suspended { wake_at: 5 },
            StepWaitOutcome::Done(Step {
                result: Some(b"p".to_vec()),
                completed_at: Some(9),
                wait_key: Some("k".into()),
                ..step(StepKind::Event, StepStatus::Success)
            }),
        ] {
            assert_eq!(
                step_wait_outcome_from_wire(step_wait_outcome_to_wire(&o)).unwrap(),
                o
            );
        }
        let done_without_step = crate::WaitStepResponse {
            suspended: false,
            wake_at: 0,
            step: None,
        };
        assert_eq!(
            step_wait_outcome_from_wire(done_without_step)
                .unwrap_err()
                .kind(),
            ErrorKind::Internal
        );
    }
}

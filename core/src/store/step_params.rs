//! Params of the step and event calls of [`super::Store`].

use crate::job::{StepOutcome, StepWait};

/// For [`super::Store::step_list`].
#[derive(Debug, Clone)]
pub struct StepListParams {
    /// The job.
    pub job_id: String,
}

/// For [`super::Store::step_record`].
#[derive(Debug, Clone)]
pub struct StepRecordParams {
    /// The job, held under `lease`.
    pub job_id: String,
    /// The fencing counter from the token.
    pub lease: i64,
    /// The step's place in call order.
    pub seq: u32,
    /// The step's name.
    pub name: String,
    /// What the code returned or its final error.
    pub outcome: StepOutcome,
    /// How many times the code ran.
    pub attempts: u32,
    /// When the step's first try started.
    pub started_at: i64,
    /// Record time.
    pub now_ms: i64,
}

/// For [`super::Store::step_wait`].
#[derive(Debug, Clone)]
pub struct StepWaitParams {
    /// The job, held under `lease`.
    pub job_id: String,
    /// The fencing counter from the token.
    pub lease: i64,
    /// The step's place in call order.
    pub seq: u32,
    /// The step's name.
    pub name: String,
    /// What it waits for. When the step is already recorded as waiting, the recorded wait
    /// (its deadline, its key) is used, so that a re-run does not push a deadline back.
    pub wait: StepWait,
    /// Now, for deadlines and for the records.
    pub now_ms: i64,
}

/// For [`super::Store::event_send`].
#[derive(Debug, Clone)]
pub struct EventSendParams {
    /// The event's key.
    pub key: String,
    /// Its payload (opaque bytes).
    pub payload: Vec<u8>,
    /// Send time.
    pub now_ms: i64,
}

/// What [`super::Store::event_send`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSendResult {
    /// How many suspended jobs waiting on the key were made due now.
    pub woken: u64,
}

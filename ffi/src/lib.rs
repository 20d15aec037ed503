//! # reseolio-ffi
//!
//! What every binding wraps: one process-wide Tokio runtime, one error type, and
//! [`Client::connect`], which opens the embedded engine for `sqlite://` URLs and talks to a
//! `reseolio` sidecar for `grpc://HOST:PORT`, with the same operations and error kinds either
//! way. No pyo3, no napi: the Python and Node glue only convert types.
//!
//! Every async method runs its work on the crate's own runtime and only awaits the outcome, so it
//! may be awaited from any executor (pyo3's, napi's, a plain `block_on`). Every method may be
//! called concurrently from any thread.

#![warn(missing_docs)]

mod client;
pub mod dashboard;
mod remote;
mod runtime;
mod worker;

pub use client::{Client, ConnectOptions, LeaderInfo};
pub use reseolio_core::schedule::{
    MissedPolicy, OverlapPolicy, Schedule, ScheduleChange, ScheduleSpec, ScheduleStatus,
};
pub use reseolio_core::store::{
    EventSendResult, JobCompleteResult, JobHeartbeatResult, JobListParams, JobListResult, JobOrder,
    Leader, ScheduleListParams, ScheduleListResult,
};
pub use reseolio_core::{
    Attempt, Backoff, ClaimedJob, EnqueueOptions, Enqueued, Error, ErrorKind, Job, JobStatus,
    LeaseToken, Outcome, Result, Step, StepKind, StepOutcome, StepRecord, StepStatus, StepWait,
    StepWaitOutcome, WAKE_NEVER_MS,
};
pub use runtime::{block_on, check_blocking_allowed, runtime};
pub use worker::{ClientTask, ClientWorker};

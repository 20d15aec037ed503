//! The job model: its states and the one table of transitions, the retry policy, the options a
//! caller may set, and the records the engine hands out.

mod backoff;
mod model;
pub(crate) mod options;
mod state;
mod step;
pub(crate) use step::check_same_step;

pub use backoff::{backoff_delay_ms, Backoff, RetryPolicy};
pub use model::{Attempt, AttemptOutcome, ClaimedJob, Job, LeaseToken, Outcome};
pub use options::{EnqueueOptions, Limits, ResolvedOptions};
pub use state::{FailureKind, JobStatus, Transition};
pub use step::{
    event_timeout_message, order_changed, Step, StepKind, StepOutcome, StepRecord, StepStatus,
    StepWait, StepWaitOutcome, WAKE_NEVER_MS,
};

//! # reseolio-core
//!
//! The Reseolio engine: durable jobs with retries, backoff, per-attempt timeouts enforced as
//! leases, idempotency keys, crash recovery and awaitable results, over a [`store::Store`] (SQLite
//! here; PostgreSQL behind the same trait).
//!
//! The host pulls work: a language SDK starts a [`Worker`], polls it for [`Task`]s, runs its
//! handler and completes the task's lease token. The engine never calls into the host.
//!
//! ```no_run
//! # async fn demo() -> reseolio_core::Result<()> {
//! use reseolio_core::{Engine, EngineConfig, EnqueueOptions, Outcome, WorkerOptions};
//! let engine = Engine::open("sqlite://./reseolio.db", EngineConfig::default())?;
//! let job = engine.enqueue("send-email", br#"["a@b.c"]"#.to_vec(), EnqueueOptions::default()).await?;
//! let worker = engine.worker(WorkerOptions { names: vec!["send-email".into()], ..Default::default() })?;
//! let task = worker.poll().await?;
//! worker.complete(task.token(), Outcome::Success(b"true".to_vec())).await?;
//! let done = engine.await_result(&job.job_id, None).await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod clock;
mod engine;
mod error;
pub mod job;
pub mod schedule;
pub mod store;

pub use engine::{
    validate_event_key, Engine, EngineConfig, Enqueued, MaintenanceReport, SchedulerReport,
    StorageUrl, Task, Worker, WorkerOptions, DEFAULT_TIMEZONE, MAX_EVENT_KEY_BYTES,
};
pub use error::{Error, ErrorKind, Result};
pub use job::{
    Attempt, Backoff, ClaimedJob, EnqueueOptions, Job, JobStatus, LeaseToken, Outcome, Step,
    StepKind, StepOutcome, StepRecord, StepStatus, StepWait, StepWaitOutcome, WAKE_NEVER_MS,
};

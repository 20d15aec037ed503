//! # reseolio-uniffi
//!
//! The Reseolio client for languages UniFFI generates bindings for (Python, Kotlin, Swift), made
//! with UniFFI's proc-macros: the bindings are generated from the compiled library itself
//! (`uniffi-bindgen generate --library`), so there is no UDL file to keep in step.
//!
//! The namespace is `reseolio_uniffi`, so the generated Python module cannot clash with the pyo3
//! `reseolio` package.
//!
//! ## The contract of every method
//!
//! * **Blocking.** Every method blocks the calling thread until the engine answered (or a timeout
//!   given to it elapsed). The work runs on the process-wide runtime of `reseolio-ffi`; the
//!   calling thread only waits. Calling from a thread of a Tokio runtime (the engine's own, or
//!   the host's) is refused with `ReseolioError::Internal` instead of panicking.
//! * **Thread-safe.** Every object may be shared between threads and every method called
//!   concurrently. A `Worker.poll` holds the worker's inbox while it waits, so concurrent
//!   polls of one worker take turns.
//! * **Errors, never panics.** Bad input (an empty name, a malformed URL, an unknown id, a zero
//!   concurrency, a negative option) comes back as the `ReseolioError` variant of the engine's
//!   own check, with the engine's message unchanged.

#![warn(missing_docs)]

use reseolio_ffi as ffi;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

uniffi::setup_scaffolding!("reseolio_uniffi");

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// An engine error: one variant per kind of `reseolio_core::ErrorKind`, each carrying the
/// engine's message unchanged.
///
/// Each foreign variant carries that message as its text: Python `str(e)`, Kotlin `e.message`
/// (the class is `ReseolioException`), Swift `case NotFound(message: String)`.
//
// A flat error: UniFFI sends the variant and `Display` (the message alone). A rich error with a
// `message` field would generate Kotlin that does not compile, its field clashing with
// `Throwable.message` (UniFFI 0.32.2's Kotlin template; mozilla/uniffi-rs#1434).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
#[uniffi(flat_error)]
pub enum ReseolioError {
    /// The caller passed something the engine will not store, or a malformed URL; the message
    /// names the field and the limit. Nothing was changed.
    InvalidArgument {
        /// The engine's message.
        message: String,
    },
    /// No job has the given id.
    NotFound {
        /// The engine's message.
        message: String,
    },
    /// The entity exists already.
    AlreadyExists {
        /// The engine's message.
        message: String,
    },
    /// The call is valid but the job's state forbids it (cancelling a finished job, completing
    /// with a stale lease). Nothing was changed.
    Conflict {
        /// The engine's message.
        message: String,
    },
    /// The storage or the sidecar could not be reached or stayed busy; the call may be retried.
    Unavailable {
        /// The engine's message.
        message: String,
    },
    /// A wait ended at its deadline before the awaited thing happened.
    Timeout {
        /// The engine's message.
        message: String,
    },
    /// The client or the worker is shut down.
    ShutDown {
        /// The engine's message.
        message: String,
    },
    /// A bug, an unexpected storage failure, or a call made from a Tokio runtime thread.
    Internal {
        /// The engine's message.
        message: String,
    },
}

impl ReseolioError {
    /// The message, whatever the variant.
    pub fn message(&self) -> &str {
        match self {
            ReseolioError::InvalidArgument { message }
            | ReseolioError::NotFound { message }
            | ReseolioError::AlreadyExists { message }
            | ReseolioError::Conflict { message }
            | ReseolioError::Unavailable { message }
            | ReseolioError::Timeout { message }
            | ReseolioError::ShutDown { message }
            | ReseolioError::Internal { message } => message,
        }
    }

    fn invalid(message: impl Into<String>) -> Self {
        ReseolioError::InvalidArgument {
            message: message.into(),
        }
    }
}

/// The message alone: that is the text a flat error carries to the foreign side.
impl std::fmt::Display for ReseolioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ReseolioError {}

impl From<ffi::Error> for ReseolioError {
    fn from(e: ffi::Error) -> Self {
        let message = e.message().to_string();
        match e.kind() {
            ffi::ErrorKind::InvalidArgument => ReseolioError::InvalidArgument { message },
            ffi::ErrorKind::NotFound => ReseolioError::NotFound { message },
            ffi::ErrorKind::AlreadyExists => ReseolioError::AlreadyExists { message },
            ffi::ErrorKind::Conflict => ReseolioError::Conflict { message },
            ffi::ErrorKind::Unavailable => ReseolioError::Unavailable { message },
            ffi::ErrorKind::Timeout => ReseolioError::Timeout { message },
            ffi::ErrorKind::ShutDown => ReseolioError::ShutDown { message },
            ffi::ErrorKind::Internal => ReseolioError::Internal { message },
        }
    }
}

type Result<T, E = ReseolioError> = std::result::Result<T, E>;

/// Runs `fut` on the engine's runtime and blocks the calling thread until it finished. Errors:
/// Internal from a thread of a Tokio runtime (see `reseolio_ffi::check_blocking_allowed`).
fn block<T, F>(fut: F) -> Result<T>
where
    F: Future<Output = ffi::Result<T>>,
{
    Ok(ffi::block_on(fut)??)
}

// ---------------------------------------------------------------------------------------------
// Records and enums
// ---------------------------------------------------------------------------------------------

/// Options of `Client.connect`; every field may be omitted (`None` keeps the default).
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct ConnectOptions {
    /// Embedded: how often idle workers and waiters look for other processes' writes, at least 1
    /// (default 100 ms).
    #[uniffi(default)]
    pub poll_interval_ms: Option<u64>,
    /// Embedded: the largest args, result or error, in bytes (default 1 MiB).
    #[uniffi(default)]
    pub max_payload_bytes: Option<u64>,
    /// Embedded: finished jobs older than this are pruned; 0 keeps them (default 7 days).
    #[uniffi(default)]
    pub retention_secs: Option<u64>,
    /// Remote (`grpc://`): the sidecar's bearer token.
    #[uniffi(default)]
    pub token: Option<String>,
}

impl ConnectOptions {
    fn into_ffi(self) -> Result<ffi::ConnectOptions> {
        let max_payload_bytes = match self.max_payload_bytes {
            Some(b) => Some(usize::try_from(b).map_err(|_| {
                ReseolioError::invalid(format!(
                    "max_payload_bytes is {b}; the limit on this platform is {}",
                    usize::MAX
                ))
            })?),
            None => None,
        };
        Ok(ffi::ConnectOptions {
            poll_interval_ms: self.poll_interval_ms,
            max_payload_bytes,
            retention_secs: self.retention_secs,
            token: self.token,
        })
    }
}

/// How the delay between attempts grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Backoff {
    /// The same delay every time.
    Fixed,
    /// The delay times the attempt number.
    Linear,
    /// The delay doubled at each attempt (the default).
    Exponential,
}

impl From<Backoff> for ffi::Backoff {
    fn from(b: Backoff) -> Self {
        match b {
            Backoff::Fixed => ffi::Backoff::Fixed,
            Backoff::Linear => ffi::Backoff::Linear,
            Backoff::Exponential => ffi::Backoff::Exponential,
        }
    }
}

/// Per-job options; every field may be omitted (`None` keeps the engine's default). Signed
/// integers, so that a negative value is reported by the engine rather than wrapped.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct EnqueueOptions {
    /// Attempts before the job is DEAD, at least 1 (default 3).
    #[uniffi(default)]
    pub max_attempts: Option<i64>,
    /// Backoff growth (default exponential).
    #[uniffi(default)]
    pub backoff: Option<Backoff>,
    /// Base retry delay in ms, at least 0 (default 1000).
    #[uniffi(default)]
    pub initial_delay_ms: Option<i64>,
    /// Cap on the retry delay in ms, at least 0 (default 60000).
    #[uniffi(default)]
    pub max_delay_ms: Option<i64>,
    /// Spread of the retry delay, 0.0 to 1.0 (default 0.1).
    #[uniffi(default)]
    pub jitter: Option<f64>,
    /// Per-attempt timeout in ms, the lease length, at least 1 (default 30000).
    #[uniffi(default)]
    pub timeout_ms: Option<i64>,
    /// Not due before this many ms from now, at least 0. Exclusive with `run_at_ms`.
    #[uniffi(default)]
    pub delay_ms: Option<i64>,
    /// Not due before this Unix time in ms. Exclusive with `delay_ms`.
    #[uniffi(default)]
    pub run_at_ms: Option<i64>,
    /// Higher runs first among due jobs (default 0).
    #[uniffi(default)]
    pub priority: Option<i32>,
    /// A second enqueue with the same (name, key) returns the first job.
    #[uniffi(default)]
    pub idempotency_key: Option<String>,
}

impl From<EnqueueOptions> for ffi::EnqueueOptions {
    fn from(o: EnqueueOptions) -> Self {
        ffi::EnqueueOptions {
            max_attempts: o.max_attempts,
            backoff: o.backoff.map(Into::into),
            initial_delay_ms: o.initial_delay_ms,
            max_delay_ms: o.max_delay_ms,
            jitter: o.jitter,
            timeout_ms: o.timeout_ms,
            delay_ms: o.delay_ms,
            run_at_ms: o.run_at_ms,
            priority: o.priority,
            idempotency_key: o.idempotency_key,
        }
    }
}

/// The answer of `Client.enqueue`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Enqueued {
    /// The job's id (the existing job's when deduplicated).
    pub job_id: String,
    /// True when an earlier job with the same (name, idempotency key) was returned.
    pub deduplicated: bool,
}

impl From<ffi::Enqueued> for Enqueued {
    fn from(e: ffi::Enqueued) -> Self {
        Enqueued {
            job_id: e.job_id,
            deduplicated: e.deduplicated,
        }
    }
}

/// A job's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum JobStatus {
    /// Waiting until it is due.
    Pending,
    /// Claimed by a worker under a lease.
    Running,
    /// An attempt failed; the next one is due at `run_at_ms`.
    Failed,
    /// Done; the result is stored. Terminal.
    Success,
    /// Attempts exhausted or the error was not retryable. Terminal until retried.
    Dead,
    /// Cancelled before it finished. Terminal until retried.
    Cancelled,
}

impl From<ffi::JobStatus> for JobStatus {
    fn from(s: ffi::JobStatus) -> Self {
        match s {
            ffi::JobStatus::Pending => JobStatus::Pending,
            ffi::JobStatus::Running => JobStatus::Running,
            ffi::JobStatus::Failed => JobStatus::Failed,
            ffi::JobStatus::Success => JobStatus::Success,
            ffi::JobStatus::Dead => JobStatus::Dead,
            ffi::JobStatus::Cancelled => JobStatus::Cancelled,
        }
    }
}

/// A job as stored. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Job {
    /// The job id (a UUIDv7 string).
    pub id: String,
    /// The durable function's name.
    pub name: String,
    /// Current status.
    pub status: JobStatus,
    /// Opaque args, as enqueued.
    pub args: Vec<u8>,
    /// The result of the successful attempt.
    pub result: Option<Vec<u8>>,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    /// Attempts started so far; 0 before the first.
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Claim priority; higher first.
    pub priority: i32,
    /// Per-attempt timeout in ms.
    pub timeout_ms: u64,
    /// The idempotency key given at enqueue, if any.
    pub idempotency_key: Option<String>,
    /// When it was enqueued.
    pub created_at_ms: i64,
    /// When the next attempt is due (or the current one became due).
    pub run_at_ms: i64,
    /// When the latest attempt started.
    pub started_at_ms: Option<i64>,
    /// When it reached SUCCESS, DEAD or CANCELLED.
    pub completed_at_ms: Option<i64>,
}

impl From<ffi::Job> for Job {
    fn from(j: ffi::Job) -> Self {
        Job {
            id: j.id,
            name: j.name,
            status: j.status.into(),
            args: j.args,
            result: j.result,
            last_error: j.last_error,
            attempt: j.attempt,
            max_attempts: j.max_attempts,
            priority: j.priority,
            timeout_ms: j.timeout_ms,
            idempotency_key: j.idempotency_key,
            created_at_ms: j.created_at,
            run_at_ms: j.run_at,
            started_at_ms: j.started_at,
            completed_at_ms: j.completed_at,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

/// A connection to Reseolio: the embedded engine (`sqlite://`, `sqlite::memory:`,
/// `postgres://`) or a sidecar (`grpc://`), with the same operations and error kinds.
///
/// Thread-safe; every method blocks the calling thread (see the crate docs).
#[derive(uniffi::Object)]
pub struct Client {
    inner: ffi::Client,
}

#[uniffi::export]
impl Client {
    /// Opens a client on a storage URL: `sqlite://PATH[?durability=normal|full]`,
    /// `sqlite::memory:`, `postgres://...` or `grpc://HOST:PORT` (connected on first use).
    /// Blocks while the database is opened and migrated.
    ///
    /// Errors: InvalidArgument for a malformed or unsupported URL, a bad option, a file that is
    /// not a database; Unavailable when the store stays locked or cannot be reached; Internal
    /// when called from a Tokio runtime thread.
    #[uniffi::constructor(default(options))]
    pub fn connect(url: String, options: ConnectOptions) -> Result<Arc<Self>> {
        ffi::check_blocking_allowed()?;
        let inner = ffi::Client::connect(&url, options.into_ffi()?)?;
        Ok(Arc::new(Client { inner }))
    }

    /// Writes a job; durable once this returns. With an idempotency key already used for this
    /// name, returns the first job with `deduplicated` set.
    ///
    /// Errors: InvalidArgument naming the field (empty name, bad option, payload over the
    /// limit); Unavailable; ShutDown after `Client.close`.
    #[uniffi::method(default(options))]
    pub fn enqueue(
        &self,
        name: String,
        args: Vec<u8>,
        options: EnqueueOptions,
    ) -> Result<Enqueued> {
        block(self.inner.enqueue(&name, args, options.into())).map(Into::into)
    }

    /// Reads a job. Errors: NotFound for an unknown id; Unavailable.
    pub fn get(&self, id: String) -> Result<Job> {
        block(self.inner.get(&id)).map(Into::into)
    }

    /// Cancels a job and returns it as stored. Errors: NotFound; Conflict when it already
    /// finished.
    pub fn cancel(&self, id: String) -> Result<Job> {
        block(self.inner.cancel(&id)).map(Into::into)
    }

    /// Makes a DEAD or CANCELLED job due again and returns it. Errors: NotFound; Conflict for a
    /// job in any other status.
    pub fn retry(&self, id: String) -> Result<Job> {
        block(self.inner.retry(&id)).map(Into::into)
    }

    /// Blocks until the job is SUCCESS, DEAD or CANCELLED and returns it; `timeout_ms` of None
    /// waits without limit. Errors: NotFound; Timeout when `timeout_ms` elapses first.
    #[uniffi::method(default(timeout_ms = None))]
    pub fn await_result(&self, id: String, timeout_ms: Option<u64>) -> Result<Job> {
        let timeout = timeout_ms.map(Duration::from_millis);
        block(self.inner.await_result(&id, timeout)).map(Into::into)
    }

    /// Starts a worker for the job names `names` (every name when empty) holding at most
    /// `concurrency` jobs at a time. Errors: InvalidArgument for a concurrency of 0 or a bad
    /// name; Unavailable when a sidecar cannot be reached.
    pub fn worker(&self, names: Vec<String>, concurrency: u32) -> Result<Arc<Worker>> {
        let inner = block(self.inner.worker(names, concurrency))?;
        Ok(Arc::new(Worker { inner }))
    }

    /// Closes the client: an embedded engine stops its maintenance and closes the store (shut
    /// workers down first); later calls fail with ShutDown. Nothing to do for a sidecar.
    pub fn close(&self) -> Result<()> {
        block(self.inner.close())
    }
}

// ---------------------------------------------------------------------------------------------
// Worker and ClaimedTask
// ---------------------------------------------------------------------------------------------

/// A worker: claims jobs for the names it was started with. Thread-safe; every method blocks
/// the calling thread.
#[derive(uniffi::Object)]
pub struct Worker {
    inner: ffi::ClientWorker,
}

#[uniffi::export]
impl Worker {
    /// Blocks until a job is claimed and returns it, or returns None when `timeout_ms` elapses
    /// first (None waits without limit). A poll that times out loses no job.
    ///
    /// Errors: ShutDown after `Worker.shutdown` (or when a sidecar ended the stream).
    #[uniffi::method(default(timeout_ms = None))]
    pub fn poll(&self, timeout_ms: Option<u64>) -> Result<Option<Arc<ClaimedTask>>> {
        let worker = &self.inner;
        let task = block(async move {
            match timeout_ms {
                // ClientWorker::poll is cancel-safe: dropping it at the deadline loses nothing.
                Some(ms) => {
                    match tokio::time::timeout(Duration::from_millis(ms), worker.poll()).await {
                        Ok(r) => r.map(Some),
                        Err(_elapsed) => Ok(None),
                    }
                }
                None => worker.poll().await.map(Some),
            }
        })?;
        Ok(task.map(|inner| Arc::new(ClaimedTask { inner })))
    }

    /// Reports the attempt as succeeded with `result`, and frees its slot.
    ///
    /// Errors: Conflict for a lease already lost or completed (the slot is freed);
    /// InvalidArgument for a result over the payload limit; Unavailable (retry the call).
    pub fn complete_success(&self, task: Arc<ClaimedTask>, result: Vec<u8>) -> Result<()> {
        let outcome = ffi::Outcome::Success(result);
        block(self.inner.complete(task.inner.token(), outcome)).map(|_| ())
    }

    /// Reports the attempt as failed with `error`: another attempt follows after the backoff
    /// when `retryable` and attempts remain, else the job is DEAD. Frees the slot.
    ///
    /// Errors: as `Worker.complete_success`.
    pub fn complete_failure(
        &self,
        task: Arc<ClaimedTask>,
        error: String,
        retryable: bool,
    ) -> Result<()> {
        let outcome = ffi::Outcome::Failure { error, retryable };
        block(self.inner.complete(task.inner.token(), outcome)).map(|_| ())
    }

    /// Extends the task's lease by its timeout. Errors: Conflict when the lease was lost (the
    /// job was cancelled or rescued: stop working on it).
    pub fn heartbeat(&self, task: Arc<ClaimedTask>) -> Result<()> {
        block(self.inner.heartbeat(task.inner.token())).map(|_| ())
    }

    /// Stops claiming, hands back jobs no poll took, waits up to `grace_ms` for the held ones to
    /// be completed, then hands back the rest. Later polls fail with ShutDown.
    pub fn shutdown(&self, grace_ms: u64) -> Result<()> {
        block(self.inner.shutdown(Duration::from_millis(grace_ms)))
    }
}

/// A claimed job: run it, then complete it with `Worker.complete_success` or
/// `Worker.complete_failure`. Thread-safe; no method blocks.
#[derive(uniffi::Object)]
pub struct ClaimedTask {
    inner: ffi::ClientTask,
}

#[uniffi::export]
impl ClaimedTask {
    /// The job's id.
    pub fn job_id(&self) -> String {
        self.inner.job().token.job_id.clone()
    }

    /// The durable function's name.
    pub fn name(&self) -> String {
        self.inner.job().name.clone()
    }

    /// The args, as enqueued.
    pub fn args(&self) -> Vec<u8> {
        self.inner.job().args.clone()
    }

    /// This attempt's number, 1-based.
    pub fn attempt(&self) -> u32 {
        self.inner.job().attempt
    }

    /// Attempts allowed.
    pub fn max_attempts(&self) -> u32 {
        self.inner.job().max_attempts
    }

    /// Per-attempt timeout (the lease) in ms: heartbeat before it elapses.
    pub fn timeout_ms(&self) -> u64 {
        self.inner.job().timeout_ms
    }

    /// True once the job was cancelled or its lease lost: stop the handler; its completion
    /// will be refused.
    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_its_variant_with_the_message_unchanged() {
        for kind in ffi::ErrorKind::ALL {
            let e = ReseolioError::from(ffi::Error::new(kind, "the engine's words"));
            assert_eq!(e.message(), "the engine's words");
            assert_eq!(e.to_string(), "the engine's words");
            let name = format!("{e:?}");
            let expected = match kind {
                ffi::ErrorKind::InvalidArgument => "InvalidArgument",
                ffi::ErrorKind::NotFound => "NotFound",
                ffi::ErrorKind::AlreadyExists => "AlreadyExists",
                ffi::ErrorKind::Conflict => "Conflict",
                ffi::ErrorKind::Unavailable => "Unavailable",
                ffi::ErrorKind::Timeout => "Timeout",
                ffi::ErrorKind::ShutDown => "ShutDown",
                ffi::ErrorKind::Internal => "Internal",
            };
            assert!(name.starts_with(expected), "{kind:?} became {name}");
        }
    }

    #[test]
    fn a_call_from_a_runtime_thread_is_an_error_not_a_panic() {
        let client = Client::connect("sqlite::memory:".into(), ConnectOptions::default()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let r = rt.block_on(async { client.get("nope".into()) });
        match r {
            Err(ReseolioError::Internal { message }) => {
                assert!(message.contains("Tokio runtime"), "{message}")
            }
            other => panic!("expected Internal, got {other:?}"),
        }
        client.close().unwrap();
    }

    #[test]
    fn a_round_trip_through_the_blocking_surface() {
        let client = Client::connect("sqlite::memory:".into(), ConnectOptions::default()).unwrap();
        let e = client
            .enqueue("job".into(), b"[1]".to_vec(), EnqueueOptions::default())
            .unwrap();
        let worker = client.worker(vec!["job".into()], 1).unwrap();
        let task = worker.poll(Some(5_000)).unwrap().expect("a task");
        assert_eq!(task.job_id(), e.job_id);
        assert_eq!(task.args(), b"[1]");
        worker.complete_success(task, b"ok".to_vec()).unwrap();
        let job = client.await_result(e.job_id, Some(5_000)).unwrap();
        assert_eq!(job.status, JobStatus::Success);
        assert_eq!(job.result.as_deref(), Some(&b"ok"[..]));
        assert!(worker.poll(Some(10)).unwrap().is_none());
        worker.shutdown(0).unwrap();
        client.close().unwrap();
    }
}

//! The Client: the same operations whatever the storage URL.

use crate::runtime::{on_runtime, runtime};
use crate::worker::ClientWorker;
use reseolio_core::store::{JobListParams, JobListResult};
use reseolio_core::{
    Attempt, Engine, EngineConfig, EnqueueOptions, Enqueued, Error, Job, Result, WorkerOptions,
};
use std::time::Duration;

/// Options of [`Client::connect`]; `None` keeps the engine default.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// How often idle workers and waiters look for other processes' writes (default 100 ms).
    pub poll_interval_ms: Option<u64>,
    /// The largest args, result or error, in bytes (default 1 MiB).
    pub max_payload_bytes: Option<usize>,
    /// Finished jobs older than this are pruned; 0 keeps them (default 7 days).
    pub retention_secs: Option<u64>,
}

/// A connection to Reseolio. Cheap to clone; safe to use from any thread.
#[derive(Clone)]
pub struct Client {
    engine: Engine,
}

impl Client {
    /// Opens a client on a storage URL: `sqlite://PATH[?durability=normal|full]` or
    /// `sqlite::memory:` (embedded engine). Blocks the calling thread while the database is
    /// opened and migrated; call it off an async executor's threads, or use
    /// [`Client::connect_async`].
    ///
    /// Errors: InvalidArgument for a malformed or unsupported URL (naming it), a file that is not
    /// a database, a read-only file or a newer schema; Unavailable when the file stays locked.
    pub fn connect(url: &str, options: ConnectOptions) -> Result<Client> {
        if url.starts_with("grpc://")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://")
        {
            let scheme = url.split("://").next().unwrap_or(url);
            return Err(Error::invalid(format!(
                "storage URL '{url}': {scheme}:// is not supported by this build yet; use sqlite://PATH"
            )));
        }
        let mut config = EngineConfig::default();
        if let Some(ms) = options.poll_interval_ms {
            if ms == 0 {
                return Err(Error::invalid("poll_interval_ms must be >= 1, got 0"));
            }
            config.poll_interval = Duration::from_millis(ms);
        }
        if let Some(b) = options.max_payload_bytes {
            config.limits.max_payload_bytes = b;
        }
        if let Some(s) = options.retention_secs {
            config.retention = (s > 0).then(|| Duration::from_secs(s));
        }
        // The engine spawns its maintenance task: open it inside the runtime.
        let _guard = runtime().enter();
        Ok(Client {
            engine: Engine::open(url, config)?,
        })
    }

    /// [`Client::connect`] without blocking the caller's executor.
    pub async fn connect_async(url: &str, options: ConnectOptions) -> Result<Client> {
        let url = url.to_string();
        on_runtime(async move {
            tokio::task::spawn_blocking(move || Client::connect(&url, options))
                .await
                .map_err(|e| Error::internal(format!("connect panicked: {e}")))?
        })
        .await
    }

    /// The engine below (embedded clients only).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Writes a job; durable once this resolves. See [`Engine::enqueue`].
    pub async fn enqueue(
        &self,
        name: &str,
        args: Vec<u8>,
        options: EnqueueOptions,
    ) -> Result<Enqueued> {
        let (e, name) = (self.engine.clone(), name.to_string());
        on_runtime(async move { e.enqueue(&name, args, options).await }).await
    }

    /// Reads a job. Errors: NotFound.
    pub async fn get(&self, id: &str) -> Result<Job> {
        let (e, id) = (self.engine.clone(), id.to_string());
        on_runtime(async move { e.get(&id).await }).await
    }

    /// Lists jobs with a total count.
    pub async fn list(&self, params: JobListParams) -> Result<JobListResult> {
        let e = self.engine.clone();
        on_runtime(async move { e.list(params).await }).await
    }

    /// Every attempt of a job. Errors: NotFound.
    pub async fn attempts(&self, id: &str) -> Result<Vec<Attempt>> {
        let (e, id) = (self.engine.clone(), id.to_string());
        on_runtime(async move { e.attempts(&id).await }).await
    }

    /// Cancels a job. Errors: NotFound; Conflict when it already finished.
    pub async fn cancel(&self, id: &str) -> Result<Job> {
        let (e, id) = (self.engine.clone(), id.to_string());
        on_runtime(async move { e.cancel(&id).await }).await
    }

    /// Retries a DEAD or CANCELLED job. Errors: NotFound; Conflict.
    pub async fn retry(&self, id: &str) -> Result<Job> {
        let (e, id) = (self.engine.clone(), id.to_string());
        on_runtime(async move { e.retry(&id).await }).await
    }

    /// Resolves when the job is SUCCESS, DEAD or CANCELLED. Errors: NotFound; Timeout.
    pub async fn await_result(&self, id: &str, timeout: Option<Duration>) -> Result<Job> {
        let (e, id) = (self.engine.clone(), id.to_string());
        on_runtime(async move { e.await_result(&id, timeout).await }).await
    }

    /// Starts a worker for `names` (all when empty) holding at most `concurrency` jobs.
    /// Errors: InvalidArgument for a concurrency of 0 or a bad name.
    pub fn worker(&self, names: Vec<String>, concurrency: u32) -> Result<ClientWorker> {
        let _guard = runtime().enter();
        let w = self.engine.worker(WorkerOptions {
            names,
            concurrency,
            worker_id: None,
        })?;
        Ok(ClientWorker::new(w))
    }

    /// Shuts the engine down: maintenance stops, the store closes. Shut workers down first.
    pub async fn close(&self) -> Result<()> {
        let e = self.engine.clone();
        on_runtime(async move {
            e.shutdown().await;
            Ok(())
        })
        .await
    }
}

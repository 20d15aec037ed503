//! The Client: the same operations whatever the storage URL.

mod schedules;
mod steps;

use crate::remote::{Remote, RemoteWorker};
use crate::runtime::{on_runtime, on_runtime_cancellable, runtime};
use crate::worker::ClientWorker;
use reseolio_core::store::{JobListParams, JobListResult, Leader};
use reseolio_core::{
    Attempt, Engine, EngineConfig, EnqueueOptions, Enqueued, Error, Job, Result, WorkerOptions,
};
use std::time::Duration;

/// Options of [`Client::connect`]; `None` keeps the default.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Embedded: how often idle workers and waiters look for other processes' writes (default
    /// 100 ms).
    pub poll_interval_ms: Option<u64>,
    /// Embedded: the largest args, result or error, in bytes (default 1 MiB).
    pub max_payload_bytes: Option<usize>,
    /// Embedded: finished jobs older than this are pruned; 0 keeps them (default 7 days).
    pub retention_secs: Option<u64>,
    /// Remote: the sidecar's bearer token (`RESEOLIO_TOKEN` on the sidecar).
    pub token: Option<String>,
}

#[derive(Clone)]
enum Transport {
    Embedded(Engine),
    Remote(Remote),
}

/// Who leads the nodes of a store (runs the rescuer, the pruner and the scheduler for all of
/// them), as seen through one client: the answer of [`Client::leader`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderInfo {
    /// The leader as stored: its node id, when its current term began and when it lapses unless
    /// renewed (Unix ms). A leader that died keeps the row, its term lapsing, until another node
    /// takes over. None before the first election, and after the leader resigned (a clean
    /// shutdown) until the next maintenance pass of a node elects one.
    pub leader: Option<Leader>,
    /// The node this client talks to: the embedded engine's node id, or the node id of the
    /// sidecar's engine.
    pub node_id: String,
}

impl LeaderInfo {
    /// Whether the node this client talks to is the stored leader (its term may have lapsed:
    /// compare `expires_at` with the time to know).
    pub fn is_leader(&self) -> bool {
        self.leader
            .as_ref()
            .is_some_and(|l| l.node_id == self.node_id)
    }
}

/// A connection to Reseolio: the embedded engine or a sidecar, through the same operations and
/// the same error kinds. Cheap to clone; safe to use from any thread.
#[derive(Clone)]
pub struct Client {
    transport: Transport,
}

impl Client {
    /// Opens a client on a storage URL: `sqlite://PATH[?durability=normal|full]`,
    /// `sqlite::memory:` or `postgres://...` (the embedded engine), or `grpc://HOST:PORT` (a
    /// sidecar; connected on first use). Blocks the calling thread while a database is opened and migrated; call it off
    /// an async executor's threads, or use [`Client::connect_async`].
    ///
    /// Errors: InvalidArgument for a malformed or unsupported URL (naming it), a file that is not
    /// a database, a read-only file or a newer schema; Unavailable when the file stays locked.
    pub fn connect(url: &str, options: ConnectOptions) -> Result<Client> {
        if url.starts_with("grpc://") {
            let _guard = runtime().enter();
            return Ok(Client {
                transport: Transport::Remote(Remote::connect(url, options.token.as_deref())?),
            });
        }
        let config = engine_config(&options)?;
        // The engine spawns its maintenance task (and PostgreSQL its pool): open it inside the
        // runtime.
        let _guard = runtime().enter();
        Ok(Client {
            transport: Transport::Embedded(Engine::open(url, config)?),
        })
    }

    /// [`Client::connect`] without blocking the caller's executor.
    pub async fn connect_async(url: &str, options: ConnectOptions) -> Result<Client> {
        if url.starts_with("grpc://") {
            let url = url.to_string();
            return on_runtime(async move {
                Ok(Client {
                    transport: Transport::Remote(Remote::connect(&url, options.token.as_deref())?),
                })
            })
            .await;
        }
        let config = engine_config(&options)?;
        let url = url.to_string();
        on_runtime(async move {
            Ok(Client {
                transport: Transport::Embedded(Engine::open_async(&url, config).await?),
            })
        })
        .await
    }

    /// The embedded engine, when this client has one.
    pub fn engine(&self) -> Option<&Engine> {
        match &self.transport {
            Transport::Embedded(e) => Some(e),
            Transport::Remote(_) => None,
        }
    }

    /// Writes a job; durable once this resolves. Errors: InvalidArgument naming the field.
    pub async fn enqueue(
        &self,
        name: &str,
        args: Vec<u8>,
        options: EnqueueOptions,
    ) -> Result<Enqueued> {
        let name = name.to_string();
        match self.transport.clone() {
            Transport::Embedded(e) => {
                on_runtime(async move { e.enqueue(&name, args, options).await }).await
            }
            Transport::Remote(r) => {
                on_runtime(async move { r.enqueue(&name, args, options).await }).await
            }
        }
    }

    /// Reads a job. Errors: NotFound.
    pub async fn get(&self, id: &str) -> Result<Job> {
        let id = id.to_string();
        match self.transport.clone() {
            Transport::Embedded(e) => on_runtime(async move { e.get(&id).await }).await,
            Transport::Remote(r) => on_runtime(async move { r.get(&id).await }).await,
        }
    }

    /// Lists jobs with a total count. Errors: InvalidArgument for a limit outside 1 to 1000.
    pub async fn list(&self, params: JobListParams) -> Result<JobListResult> {
        match self.transport.clone() {
            Transport::Embedded(e) => on_runtime(async move { e.list(params).await }).await,
            Transport::Remote(r) => on_runtime(async move { r.list(params).await }).await,
        }
    }

    /// Every attempt of a job. Errors: NotFound.
    pub async fn attempts(&self, id: &str) -> Result<Vec<Attempt>> {
        let id = id.to_string();
        match self.transport.clone() {
            Transport::Embedded(e) => on_runtime(async move { e.attempts(&id).await }).await,
            Transport::Remote(r) => on_runtime(async move { r.attempts(&id).await }).await,
        }
    }

    /// Cancels a job. Errors: NotFound; Conflict when it already finished.
    pub async fn cancel(&self, id: &str) -> Result<Job> {
        let id = id.to_string();
        match self.transport.clone() {
            Transport::Embedded(e) => on_runtime(async move { e.cancel(&id).await }).await,
            Transport::Remote(r) => on_runtime(async move { r.cancel(&id).await }).await,
        }
    }

    /// Retries a DEAD or CANCELLED job. Errors: NotFound; Conflict.
    pub async fn retry(&self, id: &str) -> Result<Job> {
        let id = id.to_string();
        match self.transport.clone() {
            Transport::Embedded(e) => on_runtime(async move { e.retry(&id).await }).await,
            Transport::Remote(r) => on_runtime(async move { r.retry(&id).await }).await,
        }
    }

    /// Resolves when the job is SUCCESS, DEAD or CANCELLED. Errors: NotFound; Timeout.
    pub async fn await_result(&self, id: &str, timeout: Option<Duration>) -> Result<Job> {
        let id = id.to_string();
        match self.transport.clone() {
            Transport::Embedded(e) => {
                on_runtime_cancellable(async move { e.await_result(&id, timeout).await }).await
            }
            Transport::Remote(r) => {
                on_runtime_cancellable(async move { r.await_result(&id, timeout).await }).await
            }
        }
    }

    /// Who leads the store's nodes, and which node this client talks to (see [`LeaderInfo`]).
    /// One read; it never elects (each node's maintenance pass does, the first right at start).
    /// Errors: Unavailable when the store or the sidecar cannot be reached; ShutDown after
    /// [`Client::close`]; Internal from a sidecar too old to serve GetLeader.
    pub async fn leader(&self) -> Result<LeaderInfo> {
        match self.transport.clone() {
            Transport::Embedded(e) => {
                on_runtime(async move {
                    Ok(LeaderInfo {
                        leader: e.leader().await?,
                        node_id: e.node_id().to_string(),
                    })
                })
                .await
            }
            Transport::Remote(r) => on_runtime(async move { r.leader().await }).await,
        }
    }

    /// Starts a worker for `names` (all when empty) holding at most `concurrency` jobs.
    /// Errors: InvalidArgument for a concurrency of 0 or a bad name; for a sidecar, what opening
    /// the worker stream answered (Unavailable when unreachable).
    pub async fn worker(&self, names: Vec<String>, concurrency: u32) -> Result<ClientWorker> {
        match self.transport.clone() {
            Transport::Embedded(e) => {
                on_runtime(async move {
                    let w = e.worker(WorkerOptions {
                        names,
                        concurrency,
                        worker_id: None,
                    })?;
                    Ok(ClientWorker::embedded(w))
                })
                .await
            }
            Transport::Remote(r) => {
                on_runtime(async move {
                    let w = RemoteWorker::start(r.api(), names, concurrency).await?;
                    Ok(ClientWorker::remote(w))
                })
                .await
            }
        }
    }

    /// Closes the client. Embedded: maintenance stops and the store closes (shut workers down
    /// first). Remote: nothing to do; the connection closes with the last clone.
    pub async fn close(&self) -> Result<()> {
        match self.transport.clone() {
            Transport::Embedded(e) => {
                on_runtime(async move {
                    e.shutdown().await;
                    Ok(())
                })
                .await
            }
            Transport::Remote(_) => Ok(()),
        }
    }
}

/// The engine settings a client's options ask for. Errors: InvalidArgument for a zero poll
/// interval.
fn engine_config(options: &ConnectOptions) -> Result<EngineConfig> {
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
    Ok(config)
}

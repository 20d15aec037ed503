//! The engine: the operations of the architecture page over one [`Store`], with in-process
//! wake-ups and the maintenance loop.

mod config;
mod liveness;
mod maintenance;
mod metrics;
mod relay;
mod scheduler;
mod schedules;
mod signals;
mod stats;
mod steps;
mod worker;

pub use config::{EngineConfig, StorageUrl};
pub use scheduler::SchedulerReport;
pub use schedules::DEFAULT_TIMEZONE;
pub use steps::{validate_event_key, MAX_EVENT_KEY_BYTES};
pub use worker::{Task, Worker, WorkerOptions};

use crate::error::{Error, ErrorKind, Result};
use crate::job::{options, Attempt, EnqueueOptions, Job};
use crate::store::sqlite::SqliteStore;
use crate::store::*;
use signals::Signals;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::instrument;

/// The answer of [`Engine::enqueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    /// The job's id (the existing job's when deduplicated).
    pub job_id: String,
    /// True when an earlier job with the same (name, idempotency key) was returned.
    pub deduplicated: bool,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) config: EngineConfig,
    pub(crate) node_id: String,
    pub(crate) signals: Signals,
    pub(crate) metrics: metrics::Metrics,
    closed: AtomicBool,
    /// Until when (Unix ms, by the engine's clock) this node's leader term runs, as the last
    /// election said; 0 when it does not lead. Only the leader fires schedules.
    pub(crate) leader_until: AtomicI64,
    /// The workers of this engine, for eager dispatch of in-process enqueues.
    pub(crate) workers: Mutex<Vec<std::sync::Weak<worker::Shared>>>,
    stop: watch::Sender<bool>,
    maintenance: Mutex<Option<JoinHandle<()>>>,
}

impl Inner {
    pub(crate) fn now_ms(&self) -> i64 {
        self.config.clock.now_ms()
    }
    /// Whether this node leads now: its last election won a term that has not lapsed.
    pub(crate) fn leads(&self) -> bool {
        self.now_ms() < self.leader_until.load(Ordering::Acquire)
    }
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::shut_down("the engine was shut down"));
        }
        Ok(())
    }
}

/// A uniform sample in [-1, 1] for backoff jitter.
pub(crate) fn jitter_sample() -> f64 {
    rand::random_range(-1.0..=1.0)
}

/// The embedded engine. Cheap to clone (one shared instance); every method may be called
/// concurrently from any task. Methods are async and never block the executor, except
/// [`Engine::open`], which blocks while it opens and migrates the database.
///
/// Must be used inside a Tokio runtime (the `reseolio-ffi` crate owns one for the bindings).
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    /// Opens the store named by `url` (see [`StorageUrl::parse`]) and starts the maintenance loop.
    /// Blocks while the database is opened and migrated.
    ///
    /// Errors: InvalidArgument for a bad URL, a file that is not a SQLite database, a read-only
    /// file or a newer schema; Unavailable when the file stayed locked.
    ///
    /// For `postgres://` the connection and migration run on the current Tokio runtime, so this
    /// must be called from a multi-thread runtime or a thread outside any runtime's tasks (a
    /// current-thread runtime's task cannot block): prefer [`Engine::open_async`] from async code.
    pub fn open(url: &str, config: EngineConfig) -> Result<Engine> {
        config.validate()?;
        let store: Arc<dyn Store> = match StorageUrl::parse(url)?.migrating(config.migrate) {
            StorageUrl::Sqlite(c) => Arc::new(SqliteStore::open(&c)?),
            #[cfg(feature = "postgres")]
            StorageUrl::Postgres(c) => {
                let handle = tokio::runtime::Handle::try_current().map_err(|_| {
                    Error::invalid(
                        "Engine::open for postgres:// must be called inside a Tokio runtime",
                    )
                })?;
                let open = crate::store::postgres::PostgresStore::open(&c);
                Arc::new(tokio::task::block_in_place(|| handle.block_on(open))?)
            }
        };
        Self::with_store(store, config)
    }

    /// [`Engine::open`] for async callers: the database is opened and migrated without blocking
    /// the executor (SQLite's open runs on a blocking thread). Same errors.
    pub async fn open_async(url: &str, config: EngineConfig) -> Result<Engine> {
        config.validate()?;
        let store: Arc<dyn Store> = match StorageUrl::parse(url)?.migrating(config.migrate) {
            StorageUrl::Sqlite(c) => Arc::new(
                tokio::task::spawn_blocking(move || SqliteStore::open(&c))
                    .await
                    .map_err(|e| Error::internal(format!("opening SQLite panicked: {e}")))??,
            ),
            #[cfg(feature = "postgres")]
            StorageUrl::Postgres(c) => {
                Arc::new(crate::store::postgres::PostgresStore::open(&c).await?)
            }
        };
        Self::with_store(store, config)
    }

    /// Starts an engine over an opened store (tests, other backends). Must be called inside a
    /// Tokio runtime. Errors: InvalidArgument for an inconsistent config.
    pub fn with_store(store: Arc<dyn Store>, config: EngineConfig) -> Result<Engine> {
        config.validate()?;
        let (stop, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            store,
            config,
            node_id: uuid::Uuid::now_v7().to_string(),
            signals: Signals::default(),
            metrics: metrics::Metrics::default(),
            closed: AtomicBool::new(false),
            leader_until: AtomicI64::new(0),
            workers: Mutex::new(Vec::new()),
            stop,
            maintenance: Mutex::new(None),
        });
        if inner.config.maintenance {
            let maintain = maintenance::run(inner.clone(), inner.stop.subscribe());
            let schedule = scheduler::run(inner.clone(), inner.stop.subscribe());
            let handle = tokio::spawn(async move {
                tokio::join!(maintain, schedule);
            });
            *inner.maintenance.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        }
        if let Some(events) = inner.store.events() {
            tokio::spawn(relay::run(
                Arc::downgrade(&inner),
                events,
                inner.stop.subscribe(),
            ));
        }
        Ok(Engine { inner })
    }

    /// This engine instance's id (its node id in the store).
    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    /// The store below the engine.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Writes a job. When this returns Ok the job is durable (per the durability mode) and idle
    /// workers of this process have been woken.
    ///
    /// Errors: InvalidArgument naming the field and limit (nothing is stored); Unavailable;
    /// ShutDown.
    #[instrument(skip(self, args, options), fields(args_len = args.len()))]
    pub async fn enqueue(
        &self,
        name: &str,
        args: Vec<u8>,
        options: EnqueueOptions,
    ) -> Result<Enqueued> {
        self.inner.check_open()?;
        options::validate_name(name)?;
        options::validate_payload("args", &args, &self.inner.config.limits)?;
        let now = self.inner.now_ms();
        let resolved = options.resolve(now)?;
        // A worker of this process with a free slot gets a due job in the enqueue's own commit.
        let slot = (resolved.run_at_ms <= now)
            .then(|| worker::EagerSlot::take(&self.inner, name))
            .flatten();
        let params = JobInsertParams {
            id: uuid::Uuid::now_v7().to_string(),
            name: name.to_string(),
            args,
            options: resolved,
            now_ms: now,
            claim: slot.as_ref().map(|s| s.claim()),
        };
        let (r, handed_over) = match slot {
            None => (self.inner.store.job_insert(params).await?, false),
            // The insert commits even if this caller stops waiting; a claim made with it must
            // then still reach the worker, so the insert and the hand-over run as one task.
            Some(slot) => {
                let store = self.inner.store.clone();
                tokio::spawn(async move {
                    let mut r = store.job_insert(params).await?;
                    let handed_over = match r.claimed.take() {
                        Some(job) => {
                            slot.deliver(job);
                            true
                        }
                        None => false,
                    };
                    Ok::<_, Error>((r, handed_over))
                })
                .await
                .map_err(|e| Error::internal(format!("enqueue task failed: {e}")))??
            }
        };
        if !r.deduplicated {
            self.inner.metrics.enqueued(name);
            if !handed_over {
                self.inner.signals.job_available.notify_waiters();
            }
        }
        Ok(Enqueued {
            job_id: r.job_id,
            deduplicated: r.deduplicated,
        })
    }

    /// Reads a job. Errors: NotFound for an unknown id.
    #[instrument(skip(self))]
    pub async fn get(&self, id: &str) -> Result<Job> {
        self.inner.check_open()?;
        self.inner
            .store
            .job_get(JobGetParams { id: id.to_string() })
            .await
    }

    /// Lists jobs. Errors: InvalidArgument for a limit outside 1 to 1000.
    #[instrument(skip(self))]
    pub async fn list(&self, params: JobListParams) -> Result<JobListResult> {
        self.inner.check_open()?;
        self.inner.store.job_list(params).await
    }

    /// Every attempt of a job, oldest first. Errors: NotFound for an unknown id.
    #[instrument(skip(self))]
    pub async fn attempts(&self, id: &str) -> Result<Vec<Attempt>> {
        self.inner.check_open()?;
        let attempts = self
            .inner
            .store
            .attempt_list(AttemptListParams {
                job_id: id.to_string(),
            })
            .await?;
        if attempts.is_empty() {
            // Tell "no attempts yet" from "no such job".
            self.get(id).await?;
        }
        Ok(attempts)
    }

    /// Cancels a PENDING, FAILED or RUNNING job; it does not run again unless retried. A RUNNING job's task is
    /// told at once in this process (through [`Task::cancelled`]) and at its next heartbeat
    /// elsewhere; its completion is refused.
    ///
    /// Errors: NotFound; Conflict when the job already finished.
    #[instrument(skip(self))]
    pub async fn cancel(&self, id: &str) -> Result<Job> {
        self.inner.check_open()?;
        let job = self
            .inner
            .store
            .job_cancel(JobCancelParams {
                id: id.to_string(),
                now_ms: self.inner.now_ms(),
            })
            .await?;
        self.inner.signals.cancel_running(id);
        self.inner.signals.finished(id, Some(&job));
        Ok(job)
    }

    /// Puts a DEAD or CANCELLED job back to PENDING, due now, with its attempts reset.
    ///
    /// Errors: NotFound; Conflict for any other status.
    #[instrument(skip(self))]
    pub async fn retry(&self, id: &str) -> Result<Job> {
        self.inner.check_open()?;
        let job = self
            .inner
            .store
            .job_retry(JobRetryParams {
                id: id.to_string(),
                now_ms: self.inner.now_ms(),
            })
            .await?;
        self.inner.signals.job_available.notify_waiters();
        Ok(job)
    }

    /// Resolves with the job once it is SUCCESS, DEAD or CANCELLED. A completion in this process
    /// wakes it at once; one written by another process is seen within the poll interval.
    /// Cancel-safe: dropping the future just stops waiting.
    ///
    /// Errors: NotFound for an unknown id; Timeout when `timeout` passes first (the job is
    /// unaffected); ShutDown.
    #[instrument(skip(self))]
    pub async fn await_result(&self, id: &str, timeout: Option<Duration>) -> Result<Job> {
        self.inner.check_open()?;
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let signals = &self.inner.signals;
        // The guard owns the only reference this call holds, so that dropping it (on any exit)
        // lets `unwatch` see the last waiter go and remove the entry.
        struct Unwatch<'a>(&'a Signals, &'a str, Option<Arc<signals::WaitSlot>>);
        impl Drop for Unwatch<'_> {
            fn drop(&mut self) {
                if let Some(n) = self.2.take() {
                    self.0.unwatch(self.1, n);
                }
            }
        }
        let guard = Unwatch(signals, id, Some(signals.watch(id)));
        let slot = guard.2.as_deref().expect("set above");
        loop {
            let notified = slot.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // A job that finished in this process was handed over: no read needed.
            let job = match slot.take_finished() {
                Some(job) => job,
                None => self.get(id).await?,
            };
            if job.status.is_terminal() {
                return Ok(job);
            }
            let poll = tokio::time::sleep(self.inner.config.poll_interval);
            match deadline {
                Some(d) => tokio::select! {
                    _ = notified => {}
                    _ = poll => {}
                    _ = tokio::time::sleep_until(d) => {
                        return Err(Error::new(ErrorKind::Timeout, format!(
                            "job '{id}' is still {} after waiting {} ms",
                            job.status,
                            timeout.unwrap_or_default().as_millis()
                        )));
                    }
                },
                None => tokio::select! {
                    _ = notified => {}
                    _ = poll => {}
                },
            }
        }
    }

    /// Reports an attempt by its lease token, from any caller: the token alone fences it, so a
    /// completion relayed from another process (the sidecar's remote workers) is as safe as a
    /// local one. A worker of this engine should call [`Worker::complete`], which also frees its
    /// slot. Errors as [`Worker::complete`].
    #[instrument(skip(self, outcome), fields(job_id = %token.job_id))]
    pub async fn complete(
        &self,
        token: &crate::LeaseToken,
        outcome: crate::Outcome,
    ) -> Result<JobCompleteResult> {
        self.inner.check_open()?;
        worker::complete_by_token(&self.inner, token, outcome).await
    }

    /// Extends a lease by its token, from any caller. Errors as [`Worker::heartbeat`].
    pub async fn heartbeat(&self, token: &crate::LeaseToken) -> Result<JobHeartbeatResult> {
        self.inner.check_open()?;
        worker::heartbeat_by_token(&self.inner, token).await
    }

    /// Starts a worker: an engine-side fetcher that claims at most `concurrency` jobs of the
    /// given names (all names when empty) and hands them out through [`Worker::poll`].
    ///
    /// Errors: InvalidArgument for a concurrency of 0 or an invalid name; ShutDown.
    pub fn worker(&self, options: WorkerOptions) -> Result<Worker> {
        self.inner.check_open()?;
        Worker::start(self.inner.clone(), options)
    }

    /// Stops the maintenance loop, deregisters this node and closes the store. Later calls fail
    /// with ShutDown. Shut workers down first: their leases are otherwise left to be rescued.
    /// Idempotent.
    pub async fn shutdown(&self) {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.inner.stop.send_replace(true);
        let handle = self
            .inner
            .maintenance
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(h) = handle {
            let _ = h.await;
        }
        // A clean stop hands the leadership over at once rather than at the end of the term.
        let _ = self.inner.store.leader_resign(&self.inner.node_id).await;
        let _ = self
            .inner
            .store
            .node_delete(NodeDeleteParams {
                ids: vec![self.inner.node_id.clone()],
            })
            .await;
        self.inner.store.close().await;
    }

    /// The node that leads (runs the rescuer and the pruner for every node of the store), as
    /// stored: its term may have lapsed if it died, until another node takes over. None before
    /// the first election. Errors: Unavailable; ShutDown.
    pub async fn leader(&self) -> Result<Option<crate::store::Leader>> {
        self.inner.check_open()?;
        self.inner.store.leader_get().await
    }

    /// Runs one scheduler pass now: fires every due tick if this node leads (see
    /// [`Engine::run_maintenance_once`] for the election). For tests and tools.
    pub async fn run_scheduler_once(&self) -> Result<SchedulerReport> {
        self.inner.check_open()?;
        scheduler::pass(&self.inner).await
    }

    /// Runs one maintenance pass now (heartbeat, rescue, prune when due): for tests and tools.
    pub async fn run_maintenance_once(&self) -> Result<maintenance::Report> {
        self.inner.check_open()?;
        maintenance::pass(&self.inner, true).await
    }
}

pub use maintenance::Report as MaintenanceReport;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_for_results_leaves_no_waiter_entries_behind() {
        let e = Engine::open("sqlite::memory:", EngineConfig::default()).unwrap();
        let job = e
            .enqueue("f", vec![], EnqueueOptions::default())
            .await
            .unwrap();
        let timed_out = e
            .await_result(&job.job_id, Some(Duration::from_millis(20)))
            .await;
        assert_eq!(timed_out.unwrap_err().kind(), ErrorKind::Timeout);
        e.cancel(&job.job_id).await.unwrap();
        e.await_result(&job.job_id, None).await.unwrap();
        assert_eq!(e.inner.signals.watched(), 0);
    }

    #[test]
    fn inconsistent_intervals_are_refused() {
        let config = EngineConfig {
            maintenance_interval: Duration::from_secs(5),
            node_timeout: Duration::from_secs(10),
            ..Default::default()
        };
        let err = Engine::open("sqlite::memory:", config).err().unwrap();
        assert!(err.message().contains("node_timeout"), "{}", err.message());
    }
}

//! A worker: the engine-side fetcher that claims jobs into free slots, and the calls a host
//! language's worker loop makes (poll, complete, heartbeat, shutdown).

use super::metrics::Ended;
use super::{jitter_sample, Inner};
use crate::error::{Error, ErrorKind, Result};
use crate::job::{options, ClaimedJob, LeaseToken, Outcome};
use crate::store::InsertClaim;
use crate::store::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tracing::instrument;

/// How to start a worker.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The function names it runs; empty runs every name.
    pub names: Vec<String>,
    /// The most jobs it holds at once (claimed and not yet completed), at least 1.
    pub concurrency: u32,
    /// Its id in attempts and jobs, 1 to 255 bytes; a fresh UUID when `None`.
    pub worker_id: Option<String>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            names: vec![],
            concurrency: 10,
            worker_id: None,
        }
    }
}

/// A claimed job handed to the host: run `job`, then [`Worker::complete`] its token.
#[derive(Debug)]
pub struct Task {
    /// The job and its lease.
    pub job: ClaimedJob,
    cancelled: watch::Receiver<bool>,
}

impl Task {
    /// The token to complete or heartbeat with.
    pub fn token(&self) -> &LeaseToken {
        &self.job.token
    }
    /// True once the job was cancelled or its lease was lost: stop the handler; its completion
    /// will be refused.
    pub fn is_cancelled(&self) -> bool {
        *self.cancelled.borrow()
    }
    /// Resolves when [`Task::is_cancelled`] becomes true (never, if it does not).
    pub async fn cancelled(&self) {
        let mut rx = self.cancelled.clone();
        if rx.wait_for(|c| *c).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

pub(crate) struct Shared {
    engine: Arc<Inner>,
    /// The queue `poll` reads; the fetcher and eager dispatch write to it. Its capacity is the
    /// concurrency and every task in it holds a slot, so a send never finds it full. Taken (and
    /// so closed) by shutdown, which is what ends a `poll` waiting on it.
    tx: Mutex<Option<mpsc::Sender<Task>>>,
    id: String,
    /// The names it runs (empty: all); replaceable while it runs.
    names: Mutex<Vec<String>>,
    concurrency: u32,
    slots: Arc<Semaphore>,
    /// The slot of every job this worker holds, by lease token. Keyed by token, not job id: a
    /// job rescued from a stuck handler and claimed again by this worker holds two slots until
    /// the stuck handler lets go, so the worker never runs more than `concurrency` handlers.
    held: Mutex<HashMap<LeaseToken, OwnedSemaphorePermit>>,
    stop: watch::Sender<bool>,
}

impl Shared {
    /// Hands a held job back (see [`Worker::release`]) and frees its slot.
    async fn release(&self, token: &LeaseToken) {
        let engine = &self.engine;
        let r = engine
            .store
            .job_release(JobReleaseParams {
                job_id: token.job_id.clone(),
                lease: token.lease,
                now_ms: engine.now_ms(),
            })
            .await;
        if let Err(e) = r {
            tracing::debug!(job_id = %token.job_id, error = %e, "hand-back skipped");
        }
        self.let_go(token);
        engine.signals.job_available.notify_waiters();
    }

    /// (jobs held, concurrency), for the slot gauges.
    pub(crate) fn slots(&self) -> (u64, u64) {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner()).len();
        (held as u64, self.concurrency as u64)
    }

    fn names(&self) -> Vec<String> {
        self.names.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Lets go of a job: frees its slot and its cancel switch.
    fn let_go(&self, token: &LeaseToken) {
        self.engine.metrics.forget(token);
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.remove(token).is_some() {
            self.engine
                .signals
                .untrack_running(&token.job_id, token.lease);
        }
    }
}

/// A worker of the embedded engine. Every method may be called concurrently.
pub struct Worker {
    shared: Arc<Shared>,
    tasks: tokio::sync::Mutex<mpsc::Receiver<Task>>,
    fetcher: Mutex<Option<JoinHandle<()>>>,
}

impl Worker {
    pub(crate) fn start(engine: Arc<Inner>, options: WorkerOptions) -> Result<Worker> {
        if options.concurrency == 0 {
            return Err(Error::invalid("concurrency must be >= 1, got 0"));
        }
        for n in &options.names {
            options::validate_name(n)?;
        }
        if let Some(id) = &options.worker_id {
            if id.is_empty() || id.len() > options::MAX_NAME_BYTES {
                return Err(Error::invalid(format!(
                    "worker_id must be 1 to {} bytes, got {}",
                    options::MAX_NAME_BYTES,
                    id.len()
                )));
            }
        }
        let (stop, stop_rx) = watch::channel(false);
        let (tx, rx) = mpsc::channel(options.concurrency as usize);
        let shared = Arc::new(Shared {
            tx: Mutex::new(Some(tx)),
            engine,
            id: options
                .worker_id
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            names: Mutex::new(options.names),
            concurrency: options.concurrency,
            slots: Arc::new(Semaphore::new(options.concurrency as usize)),
            held: Mutex::new(HashMap::new()),
            stop,
        });
        {
            let mut workers = shared
                .engine
                .workers
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            workers.retain(|w| w.strong_count() > 0);
            workers.push(Arc::downgrade(&shared));
        }
        let fetcher = tokio::spawn(fetch(shared.clone(), stop_rx));
        Ok(Worker {
            shared,
            tasks: tokio::sync::Mutex::new(rx),
            fetcher: Mutex::new(Some(fetcher)),
        })
    }

    /// This worker's id.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// Replaces the function names this worker claims (empty: all), from its next claim on.
    /// Errors: InvalidArgument for an invalid name (nothing changes).
    pub fn set_names(&self, names: Vec<String>) -> Result<()> {
        for n in &names {
            options::validate_name(n)?;
        }
        *self.shared.names.lock().unwrap_or_else(|p| p.into_inner()) = names;
        self.shared.engine.signals.job_available.notify_waiters();
        Ok(())
    }

    /// Lets go of a held job without telling the store: its slot is freed and the job is left to
    /// its lease, which lapses unless someone completes or heartbeats it with the token. For a
    /// host that handed the job on and lost track of it (a sidecar whose worker stream closed).
    pub fn abandon(&self, token: &LeaseToken) {
        self.shared.let_go(token);
    }

    /// Jobs held now (claimed and not completed, released or rescued).
    pub fn held(&self) -> usize {
        self.shared
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Resolves with the next claimed job. Cancel-safe: claiming happens in the fetcher, so a
    /// dropped `poll` loses nothing; the task waits for the next call.
    ///
    /// Errors: ShutDown once the worker is shut down and every claimed task was handed out or back.
    pub async fn poll(&self) -> Result<Task> {
        let mut rx = self.tasks.lock().await;
        rx.recv()
            .await
            .ok_or_else(|| Error::shut_down("the worker was shut down"))
    }

    /// Reports an attempt. Applied only if the token still holds the job.
    ///
    /// Errors: InvalidArgument for a result or error over the payload limit (the job stays held:
    /// complete it again, e.g. as a failure); Conflict for a stale token (the lease was lost, the
    /// job was rescued or cancelled; nothing is changed); NotFound; Unavailable (the job stays
    /// held: retry the call).
    #[instrument(skip(self, outcome), fields(job_id = %token.job_id))]
    pub async fn complete(
        &self,
        token: &LeaseToken,
        outcome: Outcome,
    ) -> Result<JobCompleteResult> {
        let r = complete_by_token(&self.shared.engine, token, outcome).await;
        match &r {
            Ok(_) => self.shared.let_go(token),
            Err(e) if matches!(e.kind(), ErrorKind::Conflict | ErrorKind::NotFound) => {
                self.shared.let_go(token)
            }
            Err(_) => {}
        }
        r
    }

    /// Extends the lease of a held job by its timeout. Reports a job cancelled meanwhile.
    ///
    /// Errors: Conflict when the lease was lost (the slot is freed); NotFound; Unavailable.
    pub async fn heartbeat(&self, token: &LeaseToken) -> Result<JobHeartbeatResult> {
        let r = heartbeat_by_token(&self.shared.engine, token).await;
        if r.as_ref().is_err_and(|e| e.kind() == ErrorKind::Conflict) {
            self.shared.let_go(token);
        }
        r
    }

    /// Stops claiming, hands back the claimed jobs no `poll` took, waits up to `grace` for held
    /// jobs to be completed, then hands back the rest (their late completions will be refused).
    /// After it returns, `poll` fails with ShutDown. Idempotent.
    pub async fn shutdown(&self, grace: Duration) {
        self.shared.stop.send_replace(true);
        let fetcher = self
            .fetcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(f) = fetcher {
            let _ = f.await;
        }
        // Closing the queue ends a `poll` that waits on it, which frees the lock taken below.
        self.shared
            .tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        {
            let mut rx = self.tasks.lock().await;
            rx.close();
            while let Ok(task) = rx.try_recv() {
                self.release(&task.job.token).await;
            }
        }
        let all = self.shared.concurrency;
        let _ = tokio::time::timeout(grace, self.shared.slots.acquire_many(all)).await;
        let left: Vec<LeaseToken> = self
            .shared
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        for token in left {
            self.shared
                .engine
                .signals
                .cancel_lease(&token.job_id, token.lease);
            self.release(&token).await;
        }
    }

    /// Hands a held job back now: PENDING again, due at once, the attempt not counted. Never
    /// fails: a job whose lease was lost meanwhile is left as it is.
    pub async fn release(&self, token: &LeaseToken) {
        self.shared.release(token).await
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Without a shutdown the fetcher stops; held jobs are left to lease expiry.
        self.shared.stop.send_replace(true);
    }
}

/// The fetcher: waits for a free slot, claims as many due jobs as there are free slots (one
/// write, shared with whatever else is committing), and queues them for `poll`.
async fn fetch(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let engine = shared.engine.clone();
    loop {
        let first = tokio::select! {
            p = shared.slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = stop.changed() => return,
        };
        if *stop.borrow() {
            return;
        }
        // Completions of one group commit are answered together and free their slots within
        // microseconds of each other: let them run, so that one claim fills all of those slots
        // (one write) instead of one claim per slot.
        let mut permits = vec![first];
        for _ in 0..4 {
            while let Ok(p) = shared.slots.clone().try_acquire_owned() {
                permits.push(p);
            }
            if permits.len() == shared.concurrency as usize {
                break;
            }
            tokio::task::yield_now().await;
        }
        // Armed before the claim, so an enqueue that lands during the claim still wakes us.
        let notified = engine.signals.job_available.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let wanted = permits.len();
        let claimed = engine
            .store
            .job_claim_available(JobClaimParams {
                names: shared.names(),
                limit: wanted as u32,
                worker_id: shared.id.clone(),
                node_id: engine.node_id.clone(),
                now_ms: engine.now_ms(),
            })
            .await;
        let got = match claimed {
            Ok(jobs) => {
                let got = jobs.len();
                for job in jobs {
                    let permit = permits.pop().expect("never claims more than free slots");
                    hand_over(&shared, job, permit);
                }
                got
            }
            // The engine was shut down under the worker: stop, so that `poll` reports it.
            Err(e) if e.kind() == ErrorKind::ShutDown => {
                shared.stop.send_replace(true);
                shared.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "claim failed; retrying after the poll interval");
                0
            }
        };
        drop(permits);
        if got == wanted {
            continue;
        }
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep(engine.config.poll_interval) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Queues a claimed job for `poll`, holding its slot. If the worker stopped meanwhile, the job is
/// handed back at once rather than left to its lease.
fn hand_over(shared: &Arc<Shared>, job: ClaimedJob, permit: OwnedSemaphorePermit) {
    let engine = &shared.engine;
    engine
        .metrics
        .claimed(&job.token, &job.name, job.run_at, engine.now_ms());
    let cancelled = engine
        .signals
        .track_running(&job.token.job_id, job.token.lease);
    let token = job.token.clone();
    shared
        .held
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(token.clone(), permit);
    let sent = match &*shared.tx.lock().unwrap_or_else(|p| p.into_inner()) {
        Some(tx) => tx.try_send(Task { job, cancelled }).is_ok(),
        None => false,
    };
    if !sent {
        let shared = shared.clone();
        tokio::spawn(async move { shared.release(&token).await });
    }
}

/// A free slot of a worker of this process, taken by an enqueue so that the new job can be
/// claimed in the enqueue's own transaction (see [`crate::store::JobInsertParams::claim`]).
/// Dropping it gives the slot back.
pub(crate) struct EagerSlot {
    shared: Arc<Shared>,
    permit: OwnedSemaphorePermit,
}

impl EagerSlot {
    /// Takes a free slot of a running worker that runs `name`, if any.
    pub(crate) fn take(engine: &Inner, name: &str) -> Option<EagerSlot> {
        let workers: Vec<Arc<Shared>> = engine
            .workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(std::sync::Weak::upgrade)
            .collect();
        workers.into_iter().find_map(|w| {
            let names = w.names();
            let runs_it = names.is_empty() || names.iter().any(|n| n == name);
            if !runs_it || *w.stop.borrow() {
                return None;
            }
            let permit = w.slots.clone().try_acquire_owned().ok()?;
            Some(EagerSlot { shared: w, permit })
        })
    }

    /// Who claims, for the insert.
    pub(crate) fn claim(&self) -> InsertClaim {
        InsertClaim {
            worker_id: self.shared.id.clone(),
            node_id: self.shared.engine.node_id.clone(),
        }
    }

    /// Hands the job claimed at insert to the worker.
    pub(crate) fn deliver(self, job: ClaimedJob) {
        hand_over(&self.shared, job, self.permit);
    }
}

/// Applies an outcome fenced by its token, wherever it comes from, and wakes this process's
/// waiters when the job ended. Errors as [`Worker::complete`].
pub(crate) async fn complete_by_token(
    engine: &Inner,
    token: &LeaseToken,
    outcome: Outcome,
) -> Result<JobCompleteResult> {
    let limits = &engine.config.limits;
    match &outcome {
        Outcome::Success(r) => options::validate_payload("result", r, limits)?,
        Outcome::Failure { error, .. } => {
            options::validate_payload("error", error.as_bytes(), limits)?
        }
        // The step wait that suspended the job already handed it back; nothing to write. The
        // caller (a worker) frees the slot when this returns Ok. One read guards against a
        // handler that reports it by mistake: its job would stay RUNNING with no one on it
        // until the lease ran out.
        Outcome::Suspended => {
            let attempts = engine
                .store
                .attempt_list(AttemptListParams {
                    job_id: token.job_id.clone(),
                })
                .await?;
            // A suspension ends the lease's attempt row; an open row means nothing ended it.
            let open = attempts
                .iter()
                .any(|a| a.lease == token.lease && a.outcome.is_none());
            if open {
                return Err(Error::invalid(format!(
                    "job '{}' is still held by this lease: no step wait suspended it; report a success or a failure",
                    token.job_id
                )));
            }
            engine.metrics.forget(token);
            return Ok(JobCompleteResult {
                status: crate::job::JobStatus::Pending,
                next_attempt: None,
                next_run_at: None,
                job: None,
            });
        }
    }
    let succeeded = matches!(outcome, Outcome::Success(_));
    let now_ms = engine.now_ms();
    let done = engine
        .store
        .job_complete(JobCompleteParams {
            job_id: token.job_id.clone(),
            lease: token.lease,
            outcome,
            jitter_sample: jitter_sample(),
            now_ms,
        })
        .await?;
    let how = if succeeded {
        Ended::Succeeded
    } else {
        Ended::Failed {
            dead: done.status == crate::job::JobStatus::Dead,
        }
    };
    let function = done.job.as_ref().map(|j| j.name.as_str());
    engine.metrics.ended(token, function, how, now_ms);
    if done.status.is_terminal() {
        engine.signals.finished(&token.job_id, done.job.as_ref());
    }
    Ok(done)
}

/// Extends a lease by its token, and tells the task holding it in this process when the job was
/// cancelled or the lease lost. Errors as [`Worker::heartbeat`].
pub(crate) async fn heartbeat_by_token(
    engine: &Inner,
    token: &LeaseToken,
) -> Result<JobHeartbeatResult> {
    let r = engine
        .store
        .job_heartbeat(JobHeartbeatParams {
            job_id: token.job_id.clone(),
            lease: token.lease,
            now_ms: engine.now_ms(),
        })
        .await;
    match &r {
        Ok(JobHeartbeatResult::Cancelled) => {
            engine.signals.cancel_lease(&token.job_id, token.lease)
        }
        Err(e) if e.kind() == ErrorKind::Conflict => {
            engine.signals.cancel_lease(&token.job_id, token.lease)
        }
        _ => {}
    }
    r
}

//! The worker half of the Client: poll, complete, heartbeat, shutdown, over either transport.

use crate::remote::{RemoteTask, RemoteWorker};
use crate::runtime::on_runtime;
use reseolio_core::store::{JobCompleteResult, JobHeartbeatResult};
use reseolio_core::Error;
use reseolio_core::{ClaimedJob, LeaseToken, Outcome, Result, Task, Worker};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

#[derive(Clone)]
enum Inner {
    Embedded(Arc<Worker>),
    Remote(Arc<RemoteWorker>),
}

/// A worker. Cheap to clone; every method may be called concurrently.
#[derive(Clone)]
pub struct ClientWorker {
    inner: Inner,
    /// Tasks handed out by a pump on the crate's runtime. Receiving from a channel is
    /// cancel-safe on any executor, so a dropped `poll` (a timeout, a select) loses nothing.
    tasks: Arc<tokio::sync::Mutex<Inbox>>,
    pump: Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

/// The pump's channel, and an error that `poll_many` received behind jobs it returned.
struct Inbox {
    rx: mpsc::UnboundedReceiver<Result<ClientTask>>,
    stashed: Option<Error>,
}

impl Inbox {
    /// Cancel-safe: the only await is the channel's receive.
    async fn next(&mut self) -> Result<ClientTask> {
        if let Some(e) = self.stashed.take() {
            return Err(e);
        }
        self.rx
            .recv()
            .await
            .unwrap_or_else(|| Err(Error::shut_down("the worker was shut down")))
    }
}

enum TaskInner {
    Embedded(Task),
    Remote(RemoteTask),
}

/// A claimed job: run it, then complete its token.
pub struct ClientTask {
    inner: TaskInner,
}

impl ClientTask {
    /// The job and its lease.
    pub fn job(&self) -> &ClaimedJob {
        match &self.inner {
            TaskInner::Embedded(t) => &t.job,
            TaskInner::Remote(t) => &t.job,
        }
    }
    /// The token to complete or heartbeat with.
    pub fn token(&self) -> &LeaseToken {
        &self.job().token
    }
    /// True once the job was cancelled or its lease lost (for a remote worker: as learned from a
    /// heartbeat).
    pub fn is_cancelled(&self) -> bool {
        match &self.inner {
            TaskInner::Embedded(t) => t.is_cancelled(),
            TaskInner::Remote(t) => *t.cancelled.borrow(),
        }
    }
    /// Resolves when the job is cancelled or its lease lost.
    pub async fn cancelled(&self) {
        match &self.inner {
            TaskInner::Embedded(t) => t.cancelled().await,
            TaskInner::Remote(t) => {
                let mut rx: watch::Receiver<bool> = t.cancelled.clone();
                if rx.wait_for(|c| *c).await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }
}

impl ClientWorker {
    /// Wraps a worker and starts its pump. Must be called on the crate's runtime.
    fn start(inner: Inner) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let source = inner.clone();
        let pump = tokio::spawn(async move {
            loop {
                let next = async {
                    match &source {
                        Inner::Embedded(w) => w.poll().await.map(|t| ClientTask {
                            inner: TaskInner::Embedded(t),
                        }),
                        Inner::Remote(w) => w.poll().await.map(|t| ClientTask {
                            inner: TaskInner::Remote(t),
                        }),
                    }
                };
                // Every handle of this worker gone: stop (both polls are cancel-safe), rather
                // than poll, or reconnect to a sidecar, for nobody.
                let r = tokio::select! {
                    r = next => r,
                    _ = tx.closed() => return,
                };
                let end = r.is_err();
                if tx.send(r).is_err() || end {
                    return;
                }
            }
        });
        ClientWorker {
            inner,
            tasks: Arc::new(tokio::sync::Mutex::new(Inbox { rx, stashed: None })),
            pump: Arc::new(std::sync::Mutex::new(Some(pump))),
        }
    }

    pub(crate) fn embedded(w: Worker) -> Self {
        Self::start(Inner::Embedded(Arc::new(w)))
    }

    pub(crate) fn remote(w: RemoteWorker) -> Self {
        Self::start(Inner::Remote(Arc::new(w)))
    }

    /// The next claimed job. Cancel-safe. Errors: ShutDown after [`ClientWorker::shutdown`] (or
    /// when the sidecar ended the stream).
    pub async fn poll(&self) -> Result<ClientTask> {
        let mut inbox = self.tasks.lock().await;
        inbox.next().await
    }

    /// The next claimed job and, without waiting, up to `max - 1` more that are already claimed:
    /// one crossing for many jobs when a binding's every call is costly (Node's). Cancel-safe
    /// like [`ClientWorker::poll`]; the same errors.
    pub async fn poll_many(&self, max: usize) -> Result<Vec<ClientTask>> {
        let mut inbox = self.tasks.lock().await;
        let mut tasks = vec![inbox.next().await?];
        while tasks.len() < max {
            match inbox.rx.try_recv() {
                Ok(Ok(t)) => tasks.push(t),
                // Kept for the next call, so that this one returns the jobs it has.
                Ok(Err(e)) => {
                    inbox.stashed = Some(e);
                    break;
                }
                Err(_) => break,
            }
        }
        Ok(tasks)
    }

    /// Reports an attempt and frees its slot. [`Outcome::Suspended`] reports a handler that
    /// stopped because [`crate::Client::step_wait`] suspended its job: nothing is written (the
    /// wait already handed the job back), only the slot is freed, on either transport.
    ///
    /// Errors: Conflict for a stale token (nothing changes; the slot is freed); InvalidArgument
    /// for a payload over the limit (the job stays held); Unavailable (the job stays held: retry
    /// the call).
    pub async fn complete(
        &self,
        token: &LeaseToken,
        outcome: Outcome,
    ) -> Result<JobCompleteResult> {
        let t = token.clone();
        match self.inner.clone() {
            Inner::Embedded(w) => on_runtime(async move { w.complete(&t, outcome).await }).await,
            Inner::Remote(w) => on_runtime(async move { w.complete(&t, outcome).await }).await,
        }
    }

    /// Extends the lease. Errors: Conflict when the lease was lost.
    pub async fn heartbeat(&self, token: &LeaseToken) -> Result<JobHeartbeatResult> {
        let t = token.clone();
        match self.inner.clone() {
            Inner::Embedded(w) => on_runtime(async move { w.heartbeat(&t).await }).await,
            Inner::Remote(w) => on_runtime(async move { w.heartbeat(&t).await }).await,
        }
    }

    /// Stops claiming, hands back jobs no `poll` took (a remote worker's lapse instead), waits up
    /// to `grace` for held ones, then hands back the rest.
    pub async fn shutdown(&self, grace: Duration) -> Result<()> {
        let (inner, tasks, pump) = (self.inner.clone(), self.tasks.clone(), self.pump.clone());
        on_runtime(async move {
            let pump = pump.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(p) = pump {
                // The worker's own poll is cancel-safe: aborting the pump there loses nothing.
                p.abort();
                let _ = p.await;
            }
            let mut unpolled = Vec::new();
            {
                let mut inbox = tasks.lock().await;
                inbox.rx.close();
                while let Ok(r) = inbox.rx.try_recv() {
                    if let Ok(t) = r {
                        unpolled.push(t);
                    }
                }
            }
            match inner {
                Inner::Embedded(w) => {
                    for t in unpolled {
                        w.release(t.token()).await;
                    }
                    w.shutdown(grace).await;
                }
                Inner::Remote(w) => w.shutdown(grace).await,
            }
            Ok(())
        })
        .await
    }
}

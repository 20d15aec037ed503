//! The worker half of the Client: poll, complete, heartbeat, shutdown.

use crate::runtime::on_runtime;
use reseolio_core::store::{JobCompleteResult, JobHeartbeatResult};
use reseolio_core::{ClaimedJob, LeaseToken, Outcome, Result, Task, Worker};
use std::sync::Arc;
use std::time::Duration;

/// A worker. Cheap to clone; every method may be called concurrently.
#[derive(Clone)]
pub struct ClientWorker {
    inner: Arc<Worker>,
}

/// A claimed job: run it, then complete its token.
pub struct ClientTask {
    task: Task,
}

impl ClientTask {
    /// The job and its lease.
    pub fn job(&self) -> &ClaimedJob {
        &self.task.job
    }
    /// The token to complete or heartbeat with.
    pub fn token(&self) -> &LeaseToken {
        self.task.token()
    }
    /// True once the job was cancelled or its lease lost.
    pub fn is_cancelled(&self) -> bool {
        self.task.is_cancelled()
    }
    /// Resolves when the job is cancelled or its lease lost.
    pub async fn cancelled(&self) {
        self.task.cancelled().await
    }
}

impl ClientWorker {
    pub(crate) fn new(w: Worker) -> Self {
        ClientWorker { inner: Arc::new(w) }
    }

    /// This worker's id.
    pub fn id(&self) -> &str {
        self.inner.id()
    }

    /// The next claimed job. Cancel-safe. Errors: ShutDown after [`ClientWorker::shutdown`].
    pub async fn poll(&self) -> Result<ClientTask> {
        let w = self.inner.clone();
        on_runtime(async move { w.poll().await.map(|task| ClientTask { task }) }).await
    }

    /// Reports an attempt. Errors: Conflict for a stale token (nothing changes); InvalidArgument
    /// for a payload over the limit.
    pub async fn complete(
        &self,
        token: &LeaseToken,
        outcome: Outcome,
    ) -> Result<JobCompleteResult> {
        let (w, t) = (self.inner.clone(), token.clone());
        on_runtime(async move { w.complete(&t, outcome).await }).await
    }

    /// Extends the lease. Errors: Conflict when the lease was lost.
    pub async fn heartbeat(&self, token: &LeaseToken) -> Result<JobHeartbeatResult> {
        let (w, t) = (self.inner.clone(), token.clone());
        on_runtime(async move { w.heartbeat(&t).await }).await
    }

    /// Stops claiming, hands back unpolled jobs, waits up to `grace` for held ones.
    pub async fn shutdown(&self, grace: Duration) -> Result<()> {
        let w = self.inner.clone();
        on_runtime(async move {
            w.shutdown(grace).await;
            Ok(())
        })
        .await
    }
}

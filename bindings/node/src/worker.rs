//! The `Worker` and `Task` classes. Every method returns a Promise and may be called
//! concurrently.

use crate::error::to_js;
use napi_derive::napi;
use reseolio_ffi::{ClientTask, ClientWorker, JobHeartbeatResult, LeaseToken, Outcome};
use std::sync::Arc;
use std::time::Duration;

/// A worker of the engine or of a sidecar.
#[napi]
pub struct Worker {
    inner: ClientWorker,
}

impl Worker {
    pub(crate) fn new(inner: ClientWorker) -> Self {
        Worker { inner }
    }
}

pub(crate) fn token(s: &str) -> napi::Result<LeaseToken> {
    s.parse::<LeaseToken>().map_err(to_js)
}

#[napi]
impl Worker {
    /// Resolves to the next claimed `Task`; rejects with SHUT_DOWN once the worker stopped.
    #[napi]
    pub async fn poll(&self) -> napi::Result<Task> {
        let t = self.inner.poll().await.map_err(to_js)?;
        Ok(Task { inner: Arc::new(t) })
    }

    /// Resolves to the next claimed tasks: at least one, and up to `max` when more are claimed
    /// already (one crossing into JS for many jobs). Rejects like `poll`.
    #[napi]
    pub async fn poll_many(&self, max: u32) -> napi::Result<Vec<Task>> {
        let tasks = self
            .inner
            .poll_many(max.max(1) as usize)
            .await
            .map_err(to_js)?;
        Ok(tasks
            .into_iter()
            .map(|t| Task { inner: Arc::new(t) })
            .collect())
    }

    /// Reports an attempt: `result` (UTF-8 JSON) for a success, else `error` (with `retryable`,
    /// default true). Resolves to the job's new status name. CONFLICT or NOT_FOUND: the lease
    /// was lost (timed out, cancelled, rescued) and nothing was changed.
    #[napi]
    pub async fn complete(
        &self,
        token: String,
        result: Option<String>,
        error: Option<String>,
        retryable: Option<bool>,
    ) -> napi::Result<String> {
        let t = self::token(&token)?;
        let outcome = match (result, error) {
            (_, Some(error)) => Outcome::Failure {
                error,
                retryable: retryable.unwrap_or(true),
            },
            (Some(r), None) => Outcome::Success(r.into_bytes()),
            (None, None) => Outcome::Success(b"null".to_vec()),
        };
        let r = self.inner.complete(&t, outcome).await.map_err(to_js)?;
        Ok(r.status.as_str().to_string())
    }

    /// Extends the lease; resolves to true when the job was cancelled meanwhile.
    #[napi]
    pub async fn heartbeat(&self, token: String) -> napi::Result<bool> {
        let t = self::token(&token)?;
        let r = self.inner.heartbeat(&t).await.map_err(to_js)?;
        Ok(matches!(r, JobHeartbeatResult::Cancelled))
    }

    /// Reports an attempt that a step wait suspended (`stepWait` resolved to `suspended`): the
    /// engine has the job back already, so this writes nothing and only frees the slot.
    #[napi]
    pub async fn suspend(&self, token: String) -> napi::Result<()> {
        let t = self::token(&token)?;
        self.inner
            .complete(&t, Outcome::Suspended)
            .await
            .map_err(to_js)?;
        Ok(())
    }

    /// Stops claiming, waits up to `graceMs` for held jobs to complete, then hands the rest back.
    #[napi]
    pub async fn shutdown(&self, grace_ms: f64) -> napi::Result<()> {
        let grace = Duration::from_secs_f64(grace_ms.max(0.0) / 1000.0);
        self.inner.shutdown(grace).await.map_err(to_js)
    }
}

/// A claimed job.
#[napi]
pub struct Task {
    inner: Arc<ClientTask>,
}

#[napi]
impl Task {
    #[napi(getter)]
    pub fn job_id(&self) -> String {
        self.inner.token().job_id.clone()
    }
    /// The fencing token to complete or heartbeat with.
    #[napi(getter)]
    pub fn token(&self) -> String {
        self.inner.token().to_string()
    }
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.inner.job().name.clone()
    }
    /// The args as stored (by convention a UTF-8 JSON array); invalid UTF-8 is replaced.
    #[napi(getter)]
    pub fn args(&self) -> String {
        String::from_utf8_lossy(&self.inner.job().args).into_owned()
    }
    #[napi(getter)]
    pub fn attempt(&self) -> u32 {
        self.inner.job().attempt
    }
    #[napi(getter)]
    pub fn max_attempts(&self) -> u32 {
        self.inner.job().max_attempts
    }
    #[napi(getter)]
    pub fn timeout_ms(&self) -> i64 {
        self.inner.job().timeout_ms as i64
    }
    /// When the lease lapses unless heartbeated, Unix ms.
    #[napi(getter)]
    pub fn deadline_ms(&self) -> i64 {
        self.inner.job().deadline_ms
    }
    /// When the job was enqueued, Unix ms.
    #[napi(getter)]
    pub fn created_at(&self) -> i64 {
        self.inner.job().created_at
    }
    /// True once the job was cancelled or its lease lost.
    #[napi]
    pub fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

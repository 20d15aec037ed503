//! What operators read and steer in bulk: job counts and throughput, the metrics text, and the
//! retry of every DEAD job of a function.

use super::Engine;
use crate::error::{ErrorKind, Result};
use crate::job::JobStatus;
use crate::store::*;
use tracing::instrument;

/// Retries run concurrently in chunks of this size, so that on SQLite they share group commits.
const RETRY_CHUNK: u32 = 200;

impl Engine {
    /// Jobs by status (the store's, every status) and the jobs that finished in each bucket of
    /// the window ending now (buckets aligned to their width, oldest first).
    ///
    /// Errors: InvalidArgument for a bucket under 1 ms or more than 1440 buckets; Unavailable;
    /// ShutDown.
    #[instrument(skip(self))]
    pub async fn stats(&self, params: StatsParams) -> Result<JobStats> {
        self.inner.check_open()?;
        let now = self.inner.now_ms();
        let bucket = params.bucket_ms;
        if bucket <= 0 || params.window_ms <= 0 {
            return Err(crate::Error::invalid(format!(
                "stats need a window and a bucket of at least 1 ms, got {} and {}",
                params.window_ms, bucket
            )));
        }
        let buckets = params
            .window_ms
            .checked_add(bucket - 1)
            .map(|w| (w / bucket).clamp(1, i64::from(u32::MAX)))
            .ok_or_else(|| {
                crate::Error::invalid(format!("stats window {} ms is too long", params.window_ms))
            })?;
        let last = now - now.rem_euclid(bucket);
        self.inner
            .store
            .job_stats(JobStatsParams {
                now_ms: now,
                first_bucket_ms: last - (buckets - 1) * bucket,
                bucket_ms: bucket,
                buckets: buckets as u32,
            })
            .await
    }

    /// This process's metrics in the Prometheus text exposition format (version 0.0.4):
    /// counters by function of jobs enqueued, attempts succeeded and failed, jobs dead, attempts
    /// lost; histograms of attempt duration and queue wait; the store's jobs by status; the
    /// worker slots of this process in use and in all. Errors: Unavailable; ShutDown.
    pub async fn metrics_text(&self) -> Result<String> {
        let stats = self.stats(StatsParams::default()).await?;
        let by_status: Vec<(&str, u64)> = stats
            .counts
            .iter()
            .map(|c| (c.status.as_str(), c.count))
            .collect();
        let slots = self
            .inner
            .workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(std::sync::Weak::upgrade)
            .map(|w| w.slots())
            .fold((0, 0), |(a, b), (h, c)| (a + h, b + c));
        Ok(self.inner.metrics.render(&by_status, slots))
    }

    /// Puts every DEAD job of function `name` that was DEAD when the call began back to PENDING,
    /// due now, with its attempts reset (as [`Engine::retry`] does one). A job that dies again
    /// during the sweep is not retried a second time, so the call ends even while the function
    /// keeps failing. Returns how many were retried. Errors: InvalidArgument for a bad name;
    /// Unavailable (the ones retried before it stay retried); ShutDown.
    #[instrument(skip(self))]
    pub async fn retry_all_dead(&self, name: &str) -> Result<u64> {
        crate::job::options::validate_name(name)?;
        let started = self.inner.now_ms();
        let mut retried = 0;
        // DEAD jobs passed over (they died after `started`) stay in the listing: skip them.
        let mut passed_over = 0;
        loop {
            let page = self
                .list(JobListParams {
                    statuses: vec![JobStatus::Dead],
                    names: vec![name.to_string()],
                    limit: RETRY_CHUNK,
                    offset: passed_over,
                    ascending: true,
                    ..Default::default()
                })
                .await?;
            if page.jobs.is_empty() {
                return Ok(retried);
            }
            let mut set = tokio::task::JoinSet::new();
            for job in page.jobs {
                if job.completed_at.is_some_and(|t| t > started) {
                    passed_over += 1;
                    continue;
                }
                let e = self.clone();
                set.spawn(async move { e.retry(&job.id).await });
            }
            while let Some(r) = set.join_next().await {
                match r.map_err(|e| crate::Error::internal(format!("retry task failed: {e}")))? {
                    Ok(_) => retried += 1,
                    // Retried or deleted by someone else meanwhile.
                    Err(e) if matches!(e.kind(), ErrorKind::Conflict | ErrorKind::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

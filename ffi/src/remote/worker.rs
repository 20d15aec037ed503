//! A remote worker: one PollJobs stream, whose server-side slots are this worker's concurrency.
//! When the stream breaks (the sidecar restarted, the network dropped), `poll` opens a new one,
//! with backoff; jobs received on the old stream can still be completed, by their tokens.

use super::{wire, Api};
use reseolio_core::store::{JobCompleteResult, JobHeartbeatResult};
use reseolio_core::{ClaimedJob, Error, ErrorKind, LeaseToken, Outcome, Result};
use reseolio_proto as pb;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;

/// A job received on the stream.
pub(crate) struct RemoteTask {
    pub(crate) job: ClaimedJob,
    pub(crate) cancelled: watch::Receiver<bool>,
}

pub(crate) struct RemoteWorker {
    api: Api,
    names: Vec<String>,
    concurrency: i32,
    /// Closing it (dropping the sender) ends the stream from our side.
    requests: Mutex<Option<mpsc::Sender<pb::PollRequest>>>,
    jobs: tokio::sync::Mutex<tonic::Streaming<pb::Job>>,
    held: AtomicUsize,
    cancels: Mutex<std::collections::HashMap<LeaseToken, watch::Sender<bool>>>,
    stopped: watch::Sender<bool>,
}

impl RemoteWorker {
    pub(crate) async fn start(api: Api, names: Vec<String>, concurrency: u32) -> Result<Self> {
        if concurrency == 0 {
            return Err(Error::invalid("concurrency must be >= 1, got 0"));
        }
        let concurrency = i32::try_from(concurrency)
            .map_err(|_| Error::invalid(format!("concurrency {concurrency} is too large")))?;
        let (tx, jobs) = open_stream(&api, &names, concurrency).await?;
        Ok(RemoteWorker {
            api,
            names,
            concurrency,
            requests: Mutex::new(Some(tx)),
            jobs: tokio::sync::Mutex::new(jobs),
            held: AtomicUsize::new(0),
            cancels: Mutex::new(Default::default()),
            stopped: watch::Sender::new(false),
        })
    }

    pub(crate) async fn poll(&self) -> Result<RemoteTask> {
        let mut stopped = self.stopped.subscribe();
        if *stopped.borrow() {
            return Err(Error::shut_down("the worker was shut down"));
        }
        let mut jobs = self.jobs.lock().await;
        let mut backoff = Duration::from_millis(100);
        loop {
            let next = tokio::select! {
                next = jobs.next() => next,
                _ = stopped.wait_for(|s| *s) => return Err(Error::shut_down("the worker was shut down")),
            };
            if let Some(Ok(job)) = next {
                let job = wire::claimed(job)?;
                let (tx, rx) = watch::channel(false);
                self.cancels
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(job.token.clone(), tx);
                self.held.fetch_add(1, Ordering::AcqRel);
                return Ok(RemoteTask { job, cancelled: rx });
            }
            // The stream broke or the sidecar ended it: open another, unless told to stop or
            // refused for good (a bad token, bad names).
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stopped.wait_for(|s| *s) => return Err(Error::shut_down("the worker was shut down")),
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
                match open_stream(&self.api, &self.names, self.concurrency).await {
                    Ok((tx, stream)) => {
                        *self.requests.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
                        *jobs = stream;
                        break;
                    }
                    Err(e) if e.kind() == ErrorKind::InvalidArgument => return Err(e),
                    Err(e) => {
                        tracing::warn!(error = %e, "the worker stream is down; reconnecting")
                    }
                }
            }
        }
    }

    fn let_go(&self, token: &LeaseToken) {
        if self
            .cancels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(token)
            .is_some()
        {
            self.held.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub(crate) async fn complete(
        &self,
        token: &LeaseToken,
        outcome: Outcome,
    ) -> Result<JobCompleteResult> {
        let result = match outcome {
            Outcome::Success(v) => pb::AckResult {
                success: true,
                return_value: v,
                error: String::new(),
                should_retry: false,
                suspended: false,
            },
            Outcome::Failure { error, retryable } => pb::AckResult {
                success: false,
                return_value: vec![],
                error,
                should_retry: retryable,
                suspended: false,
            },
            // The sidecar only frees the stream's slot. A sidecar that does not know the field
            // would read a retryable failure, fenced off anyway: WaitStep ended the lease.
            Outcome::Suspended => pb::AckResult {
                success: false,
                return_value: vec![],
                error: "the job was suspended on a step wait".to_string(),
                should_retry: true,
                suspended: true,
            },
        };
        let r = self
            .api
            .clone()
            .ack_job(pb::AckRequest {
                job_id: token.job_id.clone(),
                result: Some(result),
                lease_token: token.to_string(),
            })
            .await
            .map_err(wire::error);
        match &r {
            Ok(_) => self.let_go(token),
            Err(e) if matches!(e.kind(), ErrorKind::Conflict | ErrorKind::NotFound) => {
                self.let_go(token)
            }
            Err(_) => {}
        }
        let r = r?.into_inner();
        let status = wire::status(r.new_status)?;
        Ok(JobCompleteResult {
            status,
            next_attempt: (r.next_attempt > 0).then_some(r.next_attempt as u32),
            next_run_at: (r.next_run_at > 0).then_some(r.next_run_at),
            job: None,
        })
    }

    pub(crate) async fn heartbeat(&self, token: &LeaseToken) -> Result<JobHeartbeatResult> {
        let r = self
            .api
            .clone()
            .heartbeat_job(pb::HeartbeatRequest {
                lease_token: token.to_string(),
            })
            .await
            .map_err(wire::error);
        let signal = |on: bool| {
            if on {
                if let Some(tx) = self
                    .cancels
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(token)
                {
                    let _ = tx.send(true);
                }
            }
        };
        match r {
            Ok(r) => {
                let r = r.into_inner();
                signal(r.cancelled);
                Ok(if r.cancelled {
                    JobHeartbeatResult::Cancelled
                } else {
                    JobHeartbeatResult::Extended {
                        lease_expires_at: r.lease_expires_at,
                    }
                })
            }
            Err(e) => {
                if e.kind() == ErrorKind::Conflict {
                    signal(true);
                    self.let_go(token);
                }
                Err(e)
            }
        }
    }

    /// Stops taking jobs, waits up to `grace` for held ones to be completed, then closes the
    /// stream: the sidecar hands back what it had claimed but not sent, and the leases of jobs
    /// still held lapse.
    pub(crate) async fn shutdown(&self, grace: Duration) {
        self.stopped.send_replace(true);
        // Close our side first, so that the sidecar claims nothing more for this stream (acks of
        // jobs held here still work: they are fenced by their tokens, not by the stream).
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let deadline = tokio::time::Instant::now() + grace;
        while self.held.load(Ordering::Acquire) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Opens a PollJobs stream: the sender for later requests and the job stream.
async fn open_stream(
    api: &Api,
    names: &[String],
    concurrency: i32,
) -> Result<(mpsc::Sender<pb::PollRequest>, tonic::Streaming<pb::Job>)> {
    let (tx, rx) = mpsc::channel(4);
    tx.send(pb::PollRequest {
        worker_id: String::new(),
        names: names.to_vec(),
        concurrency,
    })
    .await
    .map_err(|_| Error::internal("poll request not sent"))?;
    let jobs = api
        .clone()
        .poll_jobs(ReceiverStream::new(rx))
        .await
        .map_err(wire::error)?
        .into_inner();
    Ok((tx, jobs))
}

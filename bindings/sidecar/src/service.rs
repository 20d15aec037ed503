//! The `Reseolio` gRPC service over an engine: the unary calls. The two streams are in
//! `streams.rs`.

use crate::convert::{self, job_to_wire, status};
use crate::schedules;
use crate::steps;
use reseolio_core::store::{JobHeartbeatResult, JobListParams, JobOrder};
use reseolio_core::{Engine, Error, ErrorKind, LeaseToken, Outcome, Worker};
use reseolio_proto as pb;
use reseolio_proto::options_from_wire;
use reseolio_proto::reseolio_server::Reseolio;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tonic::{Request, Response, Status};

/// Which PollJobs stream of this server holds a job: lets a v1 ack, which names only the job,
/// find its lease.
pub(crate) struct Held {
    pub(crate) token: LeaseToken,
    pub(crate) worker: Arc<Worker>,
    pub(crate) stream: u64,
}

/// The service. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    pub(crate) engine: Engine,
    /// Keyed by lease token, not job id: a job rescued and claimed again has a newer lease,
    /// possibly on another stream, and each lease's slot must be let go by its own worker.
    pub(crate) held: Arc<Mutex<HashMap<LeaseToken, Held>>>,
    pub(crate) max_concurrent: u32,
    /// Slots not yet given to a worker stream: the streams' concurrencies never add up to more
    /// than `max_concurrent`.
    pub(crate) free_slots: Arc<std::sync::atomic::AtomicU32>,
    pub(crate) stopping: watch::Receiver<bool>,
    pub(crate) grace: std::time::Duration,
    pub(crate) next_stream: Arc<std::sync::atomic::AtomicU64>,
    /// Worker streams still open, for a graceful stop to wait on.
    pub(crate) open_streams: Arc<tokio::sync::watch::Sender<usize>>,
}

impl Service {
    /// A service over `engine`; its worker streams together hold at most `max_concurrent` jobs. When
    /// `stopping` turns true, worker streams stop taking jobs, wait up to `grace` for the acks of
    /// jobs in flight, hand back the rest and end.
    pub fn new(
        engine: Engine,
        max_concurrent: u32,
        grace: std::time::Duration,
        stopping: watch::Receiver<bool>,
    ) -> Service {
        Service {
            engine,
            held: Arc::new(Mutex::new(HashMap::new())),
            max_concurrent: max_concurrent.max(1),
            free_slots: Arc::new(std::sync::atomic::AtomicU32::new(max_concurrent.max(1))),
            stopping,
            grace,
            next_stream: Arc::new(std::sync::atomic::AtomicU64::new(1)),
            open_streams: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    /// The worker stream of this server holding `token`, if any.
    fn holder(&self, token: &LeaseToken) -> Option<Arc<Worker>> {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(token).map(|h| h.worker.clone())
    }

    /// The newest lease of `job_id` held by a worker stream of this server (for v1 acks, which
    /// name only the job).
    fn newest_lease(&self, job_id: &str) -> Option<LeaseToken> {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.keys()
            .filter(|t| t.job_id == job_id)
            .max_by_key(|t| t.lease)
            .cloned()
    }

    /// Completes `token` through the stream worker holding it (which frees its slot) or, when
    /// no stream here holds it, through the engine (the token alone fences it). Runs as its own
    /// task: a caller that gives up after the commit must not leave the slot taken.
    async fn complete(
        &self,
        token: LeaseToken,
        outcome: Outcome,
    ) -> reseolio_core::Result<reseolio_core::store::JobCompleteResult> {
        let (svc, engine) = (self.clone(), self.engine.clone());
        tokio::spawn(async move {
            match svc.holder(&token) {
                Some(worker) => {
                    let done = worker.complete(&token, outcome).await;
                    // Let go of the entry when the worker did: done, or the lease is gone.
                    if done.is_ok()
                        || matches!(&done, Err(e) if matches!(e.kind(), ErrorKind::Conflict | ErrorKind::NotFound))
                    {
                        svc.held
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&token);
                    }
                    done
                }
                None => engine.complete(&token, outcome).await,
            }
        })
        .await
        .map_err(|e| reseolio_core::Error::internal(format!("ack task failed: {e}")))?
    }
}

#[tonic::async_trait]
impl Reseolio for Service {
    async fn enqueue_job(
        &self,
        request: Request<pb::EnqueueRequest>,
    ) -> Result<Response<pb::EnqueueResponse>, Status> {
        let r = request.into_inner();
        let options = options_from_wire(r.options, r.idempotency_key).map_err(status)?;
        let e = self
            .engine
            .enqueue(&r.name, r.args, options)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::EnqueueResponse {
            job_id: e.job_id,
            deduplicated: e.deduplicated,
        }))
    }

    type PollJobsStream = crate::streams::JobStream;

    async fn poll_jobs(
        &self,
        request: Request<tonic::Streaming<pb::PollRequest>>,
    ) -> Result<Response<Self::PollJobsStream>, Status> {
        crate::streams::poll_jobs(self.clone(), request.into_inner()).await
    }

    async fn ack_job(
        &self,
        request: Request<pb::AckRequest>,
    ) -> Result<Response<pb::AckResponse>, Status> {
        let r = request.into_inner();
        let result = r
            .result
            .ok_or_else(|| Status::invalid_argument("result is missing"))?;
        let outcome = if result.suspended {
            // A v1 ack names only the job, whose newest lease here may be a later claim than the
            // one that was suspended: a suspension must name its own lease.
            if r.lease_token.is_empty() {
                return Err(Status::invalid_argument(
                    "an ack with suspended set must carry the lease_token of the suspended claim",
                ));
            }
            Outcome::Suspended
        } else if result.success {
            Outcome::Success(result.return_value)
        } else {
            Outcome::Failure {
                error: result.error,
                retryable: result.should_retry,
            }
        };
        let token = if r.lease_token.is_empty() {
            // v1: the job must be held by one of this server's worker streams.
            self.newest_lease(&r.job_id).ok_or_else(|| {
                Status::failed_precondition(format!(
                    "job '{}' is not held by a worker stream of this server (its lease was lost, or it was never claimed here)",
                    r.job_id
                ))
            })?
        } else {
            let token: LeaseToken = r.lease_token.parse().map_err(status)?;
            if token.job_id != r.job_id && !r.job_id.is_empty() {
                return Err(Status::invalid_argument(format!(
                    "lease_token is for job '{}', not '{}'",
                    token.job_id, r.job_id
                )));
            }
            token
        };
        let done = self.complete(token, outcome).await.map_err(status)?;
        Ok(Response::new(pb::AckResponse {
            new_status: pb::JobStatus::from(done.status) as i32,
            next_attempt: done.next_attempt.unwrap_or(0) as i32,
            next_run_at: done.next_run_at.unwrap_or(0),
        }))
    }

    async fn get_job(
        &self,
        request: Request<pb::GetJobRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        let id = request.into_inner().job_id;
        let job = self.engine.get(&id).await.map_err(status)?;
        Ok(Response::new(job_to_wire(&job)))
    }

    async fn cancel_job(
        &self,
        request: Request<pb::CancelRequest>,
    ) -> Result<Response<pb::CancelResponse>, Status> {
        let id = request.into_inner().job_id;
        match self.engine.cancel(&id).await {
            Ok(_) => Ok(Response::new(pb::CancelResponse {
                success: true,
                message: format!("job '{id}' cancelled"),
            })),
            // v1 answers a refused cancel in the message, not as an error.
            Err(e) if e.kind() == ErrorKind::Conflict => Ok(Response::new(pb::CancelResponse {
                success: false,
                message: e.message().to_string(),
            })),
            Err(e) => Err(status(e)),
        }
    }

    async fn retry_job(
        &self,
        request: Request<pb::RetryRequest>,
    ) -> Result<Response<pb::RetryResponse>, Status> {
        let id = request.into_inner().job_id;
        match self.engine.retry(&id).await {
            Ok(_) => Ok(Response::new(pb::RetryResponse {
                success: true,
                message: format!("job '{id}' is PENDING again"),
            })),
            Err(e) if e.kind() == ErrorKind::Conflict => Ok(Response::new(pb::RetryResponse {
                success: false,
                message: e.message().to_string(),
            })),
            Err(e) => Err(status(e)),
        }
    }

    async fn list_jobs(
        &self,
        request: Request<pb::ListJobsRequest>,
    ) -> Result<Response<pb::ListJobsResponse>, Status> {
        let r = request.into_inner();
        let statuses = r
            .statuses
            .iter()
            .map(|s| convert::status_from_wire(*s))
            .collect::<reseolio_core::Result<Vec<_>>>()
            .map_err(status)?;
        let order = match r.order_by.as_str() {
            "" | "created_at" => JobOrder::CreatedAt,
            "scheduled_at" => JobOrder::RunAt,
            other => {
                return Err(status(Error::invalid(format!(
                    "order_by must be 'created_at' or 'scheduled_at', got '{other}'"
                ))))
            }
        };
        if r.limit < 0 || r.offset < 0 {
            return Err(Status::invalid_argument(format!(
                "limit and offset must be >= 0, got {} and {}",
                r.limit, r.offset
            )));
        }
        let list = self
            .engine
            .list(JobListParams {
                statuses,
                names: r.names,
                limit: if r.limit == 0 { 100 } else { r.limit as u32 },
                offset: r.offset as u32,
                order,
                ascending: r.ascending,
                search: (!r.search.is_empty()).then_some(r.search),
            })
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListJobsResponse {
            jobs: list.jobs.iter().map(job_to_wire).collect(),
            total: list.total.min(i32::MAX as u64) as i32,
        }))
    }

    type SubscribeToJobsStream = crate::streams::CompletionStream;

    async fn subscribe_to_jobs(
        &self,
        request: Request<tonic::Streaming<pb::SubscribeRequest>>,
    ) -> Result<Response<Self::SubscribeToJobsStream>, Status> {
        Ok(Response::new(crate::streams::subscribe(
            self.engine.clone(),
            request.into_inner(),
            self.stopping.clone(),
        )))
    }

    async fn create_schedule(
        &self,
        request: Request<pb::CreateScheduleRequest>,
    ) -> Result<Response<pb::Schedule>, Status> {
        schedules::create(&self.engine, request.into_inner())
            .await
            .map(Response::new)
    }
    async fn get_schedule(
        &self,
        request: Request<pb::GetScheduleRequest>,
    ) -> Result<Response<pb::Schedule>, Status> {
        schedules::get(&self.engine, &request.into_inner().schedule_id)
            .await
            .map(Response::new)
    }
    async fn list_schedules(
        &self,
        request: Request<pb::ListSchedulesRequest>,
    ) -> Result<Response<pb::ListSchedulesResponse>, Status> {
        schedules::list(&self.engine, request.into_inner())
            .await
            .map(Response::new)
    }
    async fn update_schedule(
        &self,
        request: Request<pb::UpdateScheduleRequest>,
    ) -> Result<Response<pb::Schedule>, Status> {
        schedules::update(&self.engine, request.into_inner())
            .await
            .map(Response::new)
    }
    async fn pause_schedule(
        &self,
        request: Request<pb::PauseScheduleRequest>,
    ) -> Result<Response<pb::Schedule>, Status> {
        schedules::pause(&self.engine, &request.into_inner().schedule_id)
            .await
            .map(Response::new)
    }
    async fn resume_schedule(
        &self,
        request: Request<pb::ResumeScheduleRequest>,
    ) -> Result<Response<pb::Schedule>, Status> {
        schedules::resume(&self.engine, &request.into_inner().schedule_id)
            .await
            .map(Response::new)
    }
    async fn delete_schedule(
        &self,
        request: Request<pb::DeleteScheduleRequest>,
    ) -> Result<Response<pb::DeleteScheduleResponse>, Status> {
        schedules::delete(&self.engine, &request.into_inner().schedule_id)
            .await
            .map(Response::new)
    }
    async fn trigger_schedule(
        &self,
        request: Request<pb::TriggerScheduleRequest>,
    ) -> Result<Response<pb::EnqueueResponse>, Status> {
        schedules::trigger(&self.engine, &request.into_inner().schedule_id)
            .await
            .map(Response::new)
    }

    async fn heartbeat_job(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let token: LeaseToken = request.into_inner().lease_token.parse().map_err(status)?;
        let r = match self.holder(&token) {
            Some(worker) => worker.heartbeat(&token).await,
            None => self.engine.heartbeat(&token).await,
        }
        .map_err(status)?;
        Ok(Response::new(match r {
            JobHeartbeatResult::Extended { lease_expires_at } => pb::HeartbeatResponse {
                lease_expires_at,
                cancelled: false,
            },
            JobHeartbeatResult::Cancelled => pb::HeartbeatResponse {
                lease_expires_at: 0,
                cancelled: true,
            },
        }))
    }

    async fn list_attempts(
        &self,
        request: Request<pb::ListAttemptsRequest>,
    ) -> Result<Response<pb::ListAttemptsResponse>, Status> {
        let id = request.into_inner().job_id;
        let attempts = self.engine.attempts(&id).await.map_err(status)?;
        Ok(Response::new(pb::ListAttemptsResponse {
            attempts: attempts.iter().map(convert::attempt_to_wire).collect(),
        }))
    }

    async fn list_steps(
        &self,
        request: Request<pb::ListStepsRequest>,
    ) -> Result<Response<pb::ListStepsResponse>, Status> {
        steps::list(&self.engine, &request.into_inner().job_id)
            .await
            .map(Response::new)
    }
    async fn record_step(
        &self,
        request: Request<pb::RecordStepRequest>,
    ) -> Result<Response<pb::Step>, Status> {
        steps::record(&self.engine, request.into_inner())
            .await
            .map(Response::new)
    }
    async fn wait_step(
        &self,
        request: Request<pb::WaitStepRequest>,
    ) -> Result<Response<pb::WaitStepResponse>, Status> {
        steps::wait(&self.engine, request.into_inner())
            .await
            .map(Response::new)
    }
    async fn send_event(
        &self,
        request: Request<pb::SendEventRequest>,
    ) -> Result<Response<pb::SendEventResponse>, Status> {
        steps::send_event(&self.engine, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_leader(
        &self,
        _: Request<pb::GetLeaderRequest>,
    ) -> Result<Response<pb::GetLeaderResponse>, Status> {
        let leader = self.engine.leader().await.map_err(status)?;
        Ok(Response::new(convert::leader_to_wire(
            self.engine.node_id(),
            leader.as_ref(),
        )))
    }
}

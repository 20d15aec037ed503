//! The remote half of the Client: the same operations over the sidecar's gRPC API.

mod schedules;
mod steps;
mod wire;
mod worker;

pub(crate) use worker::{RemoteTask, RemoteWorker};

use reseolio_core::store::{JobListParams, JobListResult, JobOrder};
use reseolio_core::{Attempt, EnqueueOptions, Enqueued, Error, ErrorKind, Job, Result};
use reseolio_proto as pb;
use reseolio_proto::reseolio_client::ReseolioClient;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

/// Adds the bearer token, when there is one, to every call.
#[derive(Clone)]
pub(crate) struct Auth(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Auth {
    fn call(&mut self, mut req: Request<()>) -> std::result::Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

pub(crate) type Api = ReseolioClient<InterceptedService<Channel, Auth>>;

/// A connection to a sidecar. Cheap to clone (one HTTP/2 connection, multiplexed).
#[derive(Clone)]
pub(crate) struct Remote {
    api: Api,
}

impl Remote {
    /// Connects lazily to `grpc://host:port`: the first call opens the connection, so a sidecar
    /// that starts later is fine. Errors: InvalidArgument for a malformed address or token.
    pub(crate) fn connect(url: &str, token: Option<&str>) -> Result<Remote> {
        let host = url.strip_prefix("grpc://").unwrap_or(url);
        // A URL written with credentials must not show its password in an error.
        let shown = || reseolio_core::StorageUrl::redact(url);
        if host.is_empty() || host.contains('/') {
            return Err(Error::invalid(format!(
                "storage URL '{}': write grpc://HOST:PORT",
                shown()
            )));
        }
        let endpoint = Endpoint::from_shared(format!("http://{host}"))
            .map_err(|e| Error::invalid(format!("storage URL '{}': {e}", shown())))?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true);
        let auth = match token {
            None => Auth(None),
            Some(t) => {
                Auth(Some(format!("Bearer {t}").parse().map_err(|_| {
                    Error::invalid("the token must be printable ASCII")
                })?))
            }
        };
        Ok(Remote {
            api: ReseolioClient::with_interceptor(endpoint.connect_lazy(), auth),
        })
    }

    pub(crate) fn api(&self) -> Api {
        self.api.clone()
    }

    pub(crate) async fn enqueue(
        &self,
        name: &str,
        args: Vec<u8>,
        options: EnqueueOptions,
    ) -> Result<Enqueued> {
        // Checked here too, so that a remote caller gets the engine's own words for a bad option
        // before anything is sent.
        options.resolve(0)?;
        let r = self
            .api()
            .enqueue_job(pb::EnqueueRequest {
                name: name.to_string(),
                args,
                options: Some(pb::options_to_wire(&options)?),
                idempotency_key: options.idempotency_key.clone().unwrap_or_default(),
            })
            .await
            .map_err(wire::error)?
            .into_inner();
        Ok(Enqueued {
            job_id: r.job_id,
            deduplicated: r.deduplicated,
        })
    }

    pub(crate) async fn get(&self, id: &str) -> Result<Job> {
        let j = self
            .api()
            .get_job(pb::GetJobRequest {
                job_id: id.to_string(),
            })
            .await
            .map_err(wire::error)?
            .into_inner();
        wire::job(j)
    }

    pub(crate) async fn list(&self, p: JobListParams) -> Result<JobListResult> {
        if p.limit == 0 || p.limit > 1000 {
            return Err(Error::invalid(format!(
                "limit must be between 1 and 1000, got {}",
                p.limit
            )));
        }
        let r = self
            .api()
            .list_jobs(pb::ListJobsRequest {
                statuses: p
                    .statuses
                    .iter()
                    .map(|s| pb::JobStatus::from(*s) as i32)
                    .collect(),
                names: p.names,
                limit: p.limit as i32,
                offset: p.offset.min(i32::MAX as u32) as i32,
                order_by: match p.order {
                    JobOrder::CreatedAt => "created_at",
                    JobOrder::RunAt => "scheduled_at",
                }
                .to_string(),
                ascending: p.ascending,
                search: p.search.unwrap_or_default(),
            })
            .await
            .map_err(wire::error)?
            .into_inner();
        Ok(JobListResult {
            jobs: r.jobs.into_iter().map(wire::job).collect::<Result<_>>()?,
            total: r.total.max(0) as u64,
        })
    }

    pub(crate) async fn attempts(&self, id: &str) -> Result<Vec<Attempt>> {
        let r = self
            .api()
            .list_attempts(pb::ListAttemptsRequest {
                job_id: id.to_string(),
            })
            .await
            .map_err(wire::error)?
            .into_inner();
        Ok(r.attempts.into_iter().map(wire::attempt).collect())
    }

    pub(crate) async fn cancel(&self, id: &str) -> Result<Job> {
        let r = self
            .api()
            .cancel_job(pb::CancelRequest {
                job_id: id.to_string(),
            })
            .await
            .map_err(wire::error)?
            .into_inner();
        self.job_if_done(id, r.success, r.message).await
    }

    pub(crate) async fn retry(&self, id: &str) -> Result<Job> {
        let r = self
            .api()
            .retry_job(pb::RetryRequest {
                job_id: id.to_string(),
            })
            .await
            .map_err(wire::error)?
            .into_inner();
        self.job_if_done(id, r.success, r.message).await
    }

    /// v1 answers a refused cancel or retry with `success = false` and the reason; the engine
    /// calls that a Conflict. Done: the job as it is now.
    async fn job_if_done(&self, id: &str, success: bool, message: String) -> Result<Job> {
        if !success {
            return Err(Error::conflict(message));
        }
        self.get(id).await
    }

    /// GetLeader: the leader as the sidecar's engine reads it, and the sidecar's own node. A
    /// sidecar older than the RPC answers UNIMPLEMENTED, reported as Internal saying so.
    pub(crate) async fn leader(&self) -> Result<crate::LeaderInfo> {
        let r = self
            .api()
            .get_leader(pb::GetLeaderRequest {})
            .await
            .map_err(|s| match s.code() {
                tonic::Code::Unimplemented => Error::internal(format!(
                    "the sidecar does not serve GetLeader (a version older than this client): {}",
                    s.message()
                )),
                _ => wire::error(s),
            })?
            .into_inner();
        Ok(wire::leader(r))
    }

    /// Waits on a SubscribeToJobs stream of its own: the sidecar pushes the completion, no
    /// polling here.
    pub(crate) async fn await_result(&self, id: &str, timeout: Option<Duration>) -> Result<Job> {
        let (tx, rx) = mpsc::channel(1);
        tx.send(pb::SubscribeRequest {
            job_ids: vec![id.to_string()],
            unsubscribe: false,
        })
        .await
        .map_err(|_| Error::internal("subscription request not sent"))?;
        let wait = async {
            let mut completions = self
                .api()
                .subscribe_to_jobs(ReceiverStream::new(rx))
                .await
                .map_err(wire::error)?
                .into_inner();
            match completions.next().await {
                Some(Ok(c)) if c.status == pb::JobStatus::Unspecified as i32 => {
                    Err(Error::new(ErrorKind::NotFound, c.error))
                }
                Some(Ok(_)) => self.get(id).await,
                Some(Err(s)) => Err(wire::error(s)),
                None => Err(Error::new(
                    ErrorKind::Unavailable,
                    "the sidecar closed the result stream",
                )),
            }
        };
        let r = match timeout {
            None => wait.await,
            Some(t) => match tokio::time::timeout(t, wait).await {
                Ok(r) => r,
                Err(_) => {
                    let status = self.get(id).await?.status;
                    Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "job '{id}' is still {status} after waiting {} ms",
                            t.as_millis()
                        ),
                    ))
                }
            },
        };
        drop(tx);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `storage_url` fuzz target (kept in fuzz/regressions/storage_url): the errors
    /// for a malformed `grpc://` URL repeated it whole, password included.
    #[test]
    fn a_malformed_address_is_named_without_the_password() {
        for (url, needle) in [
            ("grpc://app:s3cret@[::1", "'grpc://app:***@[::1': invalid"),
            (
                "grpc://app:s3cret@host:1/x",
                "'grpc://app:***@host:1/x': write grpc://HOST:PORT",
            ),
        ] {
            let Err(e) = Remote::connect(url, None) else {
                panic!("{url} was accepted");
            };
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(!e.message().contains("s3cret"), "{}", e.message());
            assert!(e.message().contains(needle), "{}", e.message());
        }
    }
}

//! The `Client` class: a thin wrapper of `reseolio_ffi::Client`. Every method returns a Promise;
//! every method may be called concurrently. The step and event methods are in `steps.rs`.

use crate::convert::{
    self, Attempt, ConnectOptions, Enqueued, Job, JobOptions, JobPage, LeaderInfo,
};
use crate::error::{invalid, to_js};
use crate::schedules::{Schedule, ScheduleChange, ScheduleListParams, SchedulePage, ScheduleSpec};
use crate::worker::Worker;
use napi_derive::napi;
use reseolio_ffi::{JobListParams, JobOrder};
use std::time::Duration;

/// A connection to Reseolio: the embedded engine (`sqlite://`) or a sidecar (`grpc://`).
#[napi]
pub struct Client {
    pub(crate) inner: reseolio_ffi::Client,
}

/// Opens a client: for `sqlite://` the database is opened (created) and migrated, for `grpc://`
/// the sidecar is connected. Rejects with INVALID_ARGUMENT for a URL it cannot use and
/// UNAVAILABLE when the storage or sidecar cannot be reached.
#[napi]
pub async fn connect(url: String, options: Option<ConnectOptions>) -> napi::Result<Client> {
    let options = match options {
        Some(o) => o.into_ffi()?,
        None => Default::default(),
    };
    let inner = reseolio_ffi::Client::connect_async(&url, options)
        .await
        .map_err(to_js)?;
    Ok(Client { inner })
}

/// Filters and paging of `list`.
#[napi(object)]
pub struct ListParams {
    /// Status names (any case); empty or absent for every status.
    pub statuses: Option<Vec<String>>,
    /// Function names; empty or absent for every name.
    pub names: Option<Vec<String>>,
    /// Page size (default 100).
    pub limit: Option<u32>,
    pub offset: Option<u32>,
    /// `createdAt` (default) or `runAt`.
    pub order_by: Option<String>,
    pub ascending: Option<bool>,
}

fn timeout(ms: Option<f64>) -> napi::Result<Option<Duration>> {
    match ms {
        None => Ok(None),
        Some(ms) if ms.is_finite() && ms >= 0.0 => Ok(Some(Duration::from_secs_f64(ms / 1000.0))),
        Some(ms) => Err(invalid(format!(
            "timeoutMs must be a number of milliseconds >= 0, got {ms}"
        ))),
    }
}

#[napi]
impl Client {
    /// Writes a job; resolves once it is durable. `args` is the UTF-8 JSON array of arguments.
    #[napi]
    pub async fn enqueue(
        &self,
        name: String,
        args: String,
        options: Option<JobOptions>,
    ) -> napi::Result<Enqueued> {
        let options = match options {
            Some(o) => o.into_engine()?,
            None => Default::default(),
        };
        let e = self
            .inner
            .enqueue(&name, args.into_bytes(), options)
            .await
            .map_err(to_js)?;
        Ok(Enqueued {
            job_id: e.job_id,
            deduplicated: e.deduplicated,
        })
    }

    /// Rejects with NOT_FOUND for an unknown id.
    #[napi]
    pub async fn get(&self, job_id: String) -> napi::Result<Job> {
        Ok(self.inner.get(&job_id).await.map_err(to_js)?.into())
    }

    #[napi]
    pub async fn list(&self, params: Option<ListParams>) -> napi::Result<JobPage> {
        let p = params.unwrap_or(ListParams {
            statuses: None,
            names: None,
            limit: None,
            offset: None,
            order_by: None,
            ascending: None,
        });
        let order = match p.order_by.as_deref() {
            None | Some("createdAt") => JobOrder::CreatedAt,
            Some("runAt") => JobOrder::RunAt,
            Some(other) => {
                return Err(invalid(format!(
                    "orderBy must be 'createdAt' or 'runAt', got '{other}'"
                )))
            }
        };
        let params = JobListParams {
            statuses: convert::statuses(p.statuses.unwrap_or_default())?,
            names: p.names.unwrap_or_default(),
            limit: p.limit.unwrap_or(100),
            offset: p.offset.unwrap_or(0),
            order,
            ascending: p.ascending.unwrap_or(false),
            search: None,
        };
        let r = self.inner.list(params).await.map_err(to_js)?;
        Ok(JobPage {
            jobs: r.jobs.into_iter().map(Job::from).collect(),
            total: r.total as i64,
        })
    }

    #[napi]
    pub async fn attempts(&self, job_id: String) -> napi::Result<Vec<Attempt>> {
        let a = self.inner.attempts(&job_id).await.map_err(to_js)?;
        Ok(a.into_iter().map(Attempt::from).collect())
    }

    /// Cancels a PENDING, FAILED or RUNNING job; CONFLICT when it already finished.
    #[napi]
    pub async fn cancel(&self, job_id: String) -> napi::Result<Job> {
        Ok(self.inner.cancel(&job_id).await.map_err(to_js)?.into())
    }

    /// Runs a DEAD or CANCELLED job again; CONFLICT in any other status.
    #[napi]
    pub async fn retry(&self, job_id: String) -> napi::Result<Job> {
        Ok(self.inner.retry(&job_id).await.map_err(to_js)?.into())
    }

    /// Resolves to the finished job (SUCCESS, DEAD or CANCELLED); rejects with TIMEOUT after
    /// `timeoutMs` (absent: waits as long as it takes).
    #[napi]
    pub async fn await_result(&self, job_id: String, timeout_ms: Option<f64>) -> napi::Result<Job> {
        let t = timeout(timeout_ms)?;
        Ok(self
            .inner
            .await_result(&job_id, t)
            .await
            .map_err(to_js)?
            .into())
    }

    /// Who leads the store's nodes, and which node this client talks to. A read; it never
    /// elects.
    #[napi]
    pub async fn leader(&self) -> napi::Result<LeaderInfo> {
        Ok(self.inner.leader().await.map_err(to_js)?.into())
    }

    /// Declares a schedule: creates it, or updates the one of that name (re-declaring at every
    /// start is idempotent: the id, the status and, while the expression and zone are unchanged,
    /// the next tick are kept). Rejects with INVALID_ARGUMENT naming the field and the token
    /// that is wrong (the expression, the zone, a policy, a job option); nothing is stored then.
    #[napi]
    pub async fn schedule_declare(&self, spec: ScheduleSpec) -> napi::Result<Schedule> {
        let spec = spec.into_ffi()?;
        Ok(self
            .inner
            .schedule_declare(spec)
            .await
            .map_err(to_js)?
            .into())
    }

    /// The schedule with that id or name; NOT_FOUND names it.
    #[napi]
    pub async fn schedule_get(&self, id_or_name: String) -> napi::Result<Schedule> {
        Ok(self
            .inner
            .schedule_get(&id_or_name)
            .await
            .map_err(to_js)?
            .into())
    }

    /// A page of schedules in name order, and how many match in all. INVALID_ARGUMENT for a
    /// limit outside 1 to 1000 or an unknown status.
    #[napi]
    pub async fn schedule_list(
        &self,
        params: Option<ScheduleListParams>,
    ) -> napi::Result<SchedulePage> {
        let params = match params {
            Some(p) => p.into_ffi()?,
            None => Default::default(),
        };
        Ok(self
            .inner
            .schedule_list(params)
            .await
            .map_err(to_js)?
            .into())
    }

    /// Changes a schedule (absent fields are kept; `options` replace the job options whole; a
    /// new expression or zone starts from the first tick after now). NOT_FOUND;
    /// INVALID_ARGUMENT as `scheduleDeclare`, nothing changed then.
    #[napi]
    pub async fn schedule_update(
        &self,
        id_or_name: String,
        change: ScheduleChange,
    ) -> napi::Result<Schedule> {
        let change = change.into_ffi()?;
        Ok(self
            .inner
            .schedule_update(&id_or_name, change)
            .await
            .map_err(to_js)?
            .into())
    }

    /// Pauses a schedule (no tick fires until it is resumed); NOT_FOUND.
    #[napi]
    pub async fn schedule_pause(&self, id_or_name: String) -> napi::Result<Schedule> {
        Ok(self
            .inner
            .schedule_pause(&id_or_name)
            .await
            .map_err(to_js)?
            .into())
    }

    /// Resumes a schedule from the first tick after now; NOT_FOUND.
    #[napi]
    pub async fn schedule_resume(&self, id_or_name: String) -> napi::Result<Schedule> {
        Ok(self
            .inner
            .schedule_resume(&id_or_name)
            .await
            .map_err(to_js)?
            .into())
    }

    /// Deletes a schedule (the jobs it started stay); NOT_FOUND.
    #[napi]
    pub async fn schedule_delete(&self, id_or_name: String) -> napi::Result<()> {
        self.inner.schedule_delete(&id_or_name).await.map_err(to_js)
    }

    /// Starts a job of the schedule now, with its args and options (paused or not); NOT_FOUND.
    #[napi]
    pub async fn schedule_trigger(&self, id_or_name: String) -> napi::Result<Enqueued> {
        let e = self
            .inner
            .schedule_trigger(&id_or_name)
            .await
            .map_err(to_js)?;
        Ok(Enqueued {
            job_id: e.job_id,
            deduplicated: e.deduplicated,
        })
    }

    /// Starts a worker for the given function names.
    #[napi]
    pub async fn worker(&self, names: Vec<String>, concurrency: u32) -> napi::Result<Worker> {
        let w = self.inner.worker(names, concurrency).await.map_err(to_js)?;
        Ok(Worker::new(w))
    }

    /// Closes the client: the embedded engine stops its maintenance and flushes its writes.
    #[napi]
    pub async fn close(&self) -> napi::Result<()> {
        self.inner.close().await.map_err(to_js)
    }
}

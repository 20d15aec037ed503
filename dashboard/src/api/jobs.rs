//! `/api/jobs` and `/api/functions`: the job list, one job with its attempts and steps, and the
//! job actions.

use crate::error::{ok, ApiResult};
use crate::json;
use crate::query::Query;
use crate::router::AppState;
use axum::extract::{Path, RawQuery, State};
use reseolio_core::store::{JobListParams, JobOrder};
use reseolio_core::{ErrorKind, JobStatus};
use serde_json::{json, Value};

/// The page size when none is asked for.
const DEFAULT_LIMIT: u32 = 50;
/// The largest page the engine serves.
const MAX_LIMIT: u32 = 1000;

/// `GET /api/jobs?status=&name=&search=&limit=&offset=&order=created_at|run_at&dir=asc|desc`
///
/// `status`: statuses, comma-separated or repeated, case-insensitive; `name`: function names,
/// repeated (a name may hold a comma); `search`: an exact job id or idempotency key; `limit`:
/// 1 to 1000 (default 50); `offset` (default 0); `order` (default `created_at`); `dir` (default
/// `desc`, newest first). Answers `{"jobs": [row...], "total", "limit", "offset"}`, where
/// `total` counts the matches of every page. A bad parameter is a 400 naming it.
pub(crate) async fn list(State(s): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(
        raw.as_deref(),
        &[
            "status", "name", "search", "limit", "offset", "order", "dir",
        ],
    )?;
    let statuses: Vec<JobStatus> = q.list("status")?;
    let names: Vec<String> = q.all("name").map(str::to_string).collect();
    let search = q.one("search")?.map(str::to_string);
    let limit = q.int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)?;
    let offset = q.int("offset", 0, 0, u32::MAX)?;
    let order = match q.choice("order", &["created_at", "run_at"], "created_at")? {
        "run_at" => JobOrder::RunAt,
        _ => JobOrder::CreatedAt,
    };
    let ascending = q.choice("dir", &["asc", "desc"], "desc")? == "asc";
    let page = s
        .engine
        .list(JobListParams {
            statuses,
            names,
            search,
            limit,
            offset,
            order,
            ascending,
        })
        .await?;
    ok(json!({
        "jobs": page.jobs.iter().map(json::job_row).collect::<Vec<_>>(),
        "total": page.total,
        "limit": limit,
        "offset": offset,
    }))
}

/// `GET /api/jobs/{id}`: `{"job": detail, "attempts": [attempt...], "steps": [step...]}`,
/// attempts oldest first, steps in call order (empty for a job that records none). The job's
/// `schedule` is set when its idempotency key says a schedule tick started it (its `name` is
/// null when that schedule was deleted since). 404 for an unknown id.
pub(crate) async fn get(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let (job, attempts, steps) = tokio::join!(
        s.engine.get(&id),
        s.engine.attempts(&id),
        s.engine.steps(&id)
    );
    let (job, attempts, steps) = (job?, attempts?, steps?);
    let schedule = match job.idempotency_key.as_deref().and_then(json::schedule_tick) {
        None => Value::Null,
        Some((schedule_id, tick)) => match s.engine.schedule_get(schedule_id).await {
            Ok(sched) => json::schedule_link(schedule_id, Some(&sched.name), tick),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                json::schedule_link(schedule_id, None, tick)
            }
            Err(e) => return Err(e.into()),
        },
    };
    ok(json!({
        "job": json::job_detail(&job, schedule),
        "attempts": attempts.iter().map(json::attempt).collect::<Vec<_>>(),
        "steps": steps.iter().map(json::step).collect::<Vec<_>>(),
    }))
}

/// `POST /api/jobs/{id}/retry`: a DEAD or CANCELLED job back to PENDING, due now.
/// `{"job": row}`; 404 unknown id; 409 for any other status.
pub(crate) async fn retry(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let job = s.engine.retry(&id).await?;
    ok(json!({ "job": json::job_row(&job) }))
}

/// `POST /api/jobs/{id}/cancel`: a PENDING, RUNNING or FAILED job to CANCELLED.
/// `{"job": row}`; 404 unknown id; 409 when it has finished.
pub(crate) async fn cancel(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let job = s.engine.cancel(&id).await?;
    ok(json!({ "job": json::job_row(&job) }))
}

/// `POST /api/functions/{name}/retry-dead`: every DEAD job of the function back to PENDING.
/// `{"function": name, "retried": n}` (0 when there were none).
pub(crate) async fn retry_dead(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult {
    let retried = s.engine.retry_all_dead(&name).await?;
    ok(json!({ "function": name, "retried": retried }))
}

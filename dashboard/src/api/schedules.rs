//! `/api/schedules`: the schedule list, one schedule, and the schedule actions. `{id}` is a
//! schedule's id or its name.

use crate::error::{ok, ApiResult};
use crate::json;
use crate::query::Query;
use crate::router::AppState;
use axum::extract::{Path, RawQuery, State};
use reseolio_core::schedule::ScheduleStatus;
use reseolio_core::store::ScheduleListParams;
use serde_json::json;

/// `GET /api/schedules?status=active|paused&limit=&offset=`: `{"schedules": [...], "total",
/// "limit", "offset"}`, ordered by name; `limit` 1 to 1000 (default 50).
pub(crate) async fn list(State(s): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw.as_deref(), &["status", "limit", "offset"])?;
    let status = match q.choice("status", &["active", "paused"], "")? {
        "active" => Some(ScheduleStatus::Active),
        "paused" => Some(ScheduleStatus::Paused),
        _ => None,
    };
    let limit = q.int("limit", 50, 1, 1000)?;
    let offset = q.int("offset", 0, 0, u32::MAX)?;
    let page = s
        .engine
        .schedule_list(ScheduleListParams {
            status,
            limit,
            offset,
        })
        .await?;
    ok(json!({
        "schedules": page.schedules.iter().map(json::schedule).collect::<Vec<_>>(),
        "total": page.total,
        "limit": limit,
        "offset": offset,
    }))
}

/// `GET /api/schedules/{id}`: `{"schedule": ...}`; 404 when nothing has that id or name.
pub(crate) async fn get(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let sched = s.engine.schedule_get(&id).await?;
    ok(json!({ "schedule": json::schedule(&sched) }))
}

/// `POST /api/schedules/{id}/pause`: `{"schedule": ...}`, now PAUSED (pausing twice is fine).
pub(crate) async fn pause(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let sched = s.engine.schedule_pause(&id).await?;
    ok(json!({ "schedule": json::schedule(&sched) }))
}

/// `POST /api/schedules/{id}/resume`: `{"schedule": ...}`, ACTIVE from the first tick after now.
pub(crate) async fn resume(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let sched = s.engine.schedule_resume(&id).await?;
    ok(json!({ "schedule": json::schedule(&sched) }))
}

/// `POST /api/schedules/{id}/trigger`: a job now, outside the ticks: `{"job_id",
/// "deduplicated"}`.
pub(crate) async fn trigger(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let job = s.engine.schedule_trigger(&id).await?;
    ok(json!({ "job_id": job.job_id, "deduplicated": job.deduplicated }))
}

/// `POST /api/schedules/{id}/delete` or `DELETE /api/schedules/{id}`: `{"deleted": id}`; the
/// jobs it started stay.
pub(crate) async fn delete(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    s.engine.schedule_delete(&id).await?;
    ok(json!({ "deleted": id }))
}

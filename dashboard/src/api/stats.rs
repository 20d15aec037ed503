//! `GET /api/stats` (the overview's figures) and `GET /metrics` (Prometheus).

use crate::error::{ok, ApiResult};
use crate::json;
use crate::query::Query;
use crate::router::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use reseolio_core::schedule::ScheduleStatus;
use reseolio_core::store::{ScheduleListParams, StatsParams};
use serde_json::{json, Map, Value};

/// The longest window the overview may ask for: one week.
const MAX_WINDOW_MS: i64 = 7 * 24 * 3600 * 1000;

/// `GET /api/stats?window_ms=&bucket_ms=` (defaults 15 min and 60 s):
///
/// ```json
/// { "now_ms": 0, "total": 12,
///   "counts": {"PENDING": 1, "RUNNING": 0, "SUCCESS": 9, "FAILED": 0, "DEAD": 2, "CANCELLED": 0},
///   "throughput": {"window_ms": 900000, "bucket_ms": 60000,
///                  "buckets": [{"start_ms": 0, "succeeded": 3, "dead": 0, "cancelled": 0}]},
///   "schedules": {"ACTIVE": 2, "PAUSED": 1, "total": 3},
///   "leader": {"node_id": "...", "elected_at": 0, "expires_at": 0, "is_self": true, "active": true},
///   "node_id": "..." }
/// ```
/// Every status is present (zeros included); buckets run oldest first over the whole window.
pub(crate) async fn stats(State(s): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw.as_deref(), &["window_ms", "bucket_ms"])?;
    let defaults = StatsParams::default();
    let window_ms = q.int("window_ms", defaults.window_ms, 1000, MAX_WINDOW_MS)?;
    let bucket_ms = q.int("bucket_ms", defaults.bucket_ms, 1000, MAX_WINDOW_MS)?;
    let e = &s.engine;
    let count = |status| {
        e.schedule_list(ScheduleListParams {
            status: Some(status),
            limit: 1,
            offset: 0,
        })
    };
    let (stats, leader, active, paused) = tokio::try_join!(
        e.stats(StatsParams {
            window_ms,
            bucket_ms
        }),
        e.leader(),
        count(ScheduleStatus::Active),
        count(ScheduleStatus::Paused),
    )?;
    let mut counts = Map::new();
    for c in &stats.counts {
        counts.insert(c.status.as_str().to_string(), json!(c.count));
    }
    let total: u64 = stats.counts.iter().map(|c| c.count).sum();
    let buckets: Vec<Value> = stats
        .throughput
        .iter()
        .map(|b| {
            json!({
                "start_ms": b.start_ms,
                "succeeded": b.succeeded,
                "dead": b.dead,
                "cancelled": b.cancelled,
            })
        })
        .collect();
    ok(json!({
        "now_ms": stats.now_ms,
        "total": total,
        "counts": counts,
        "throughput": { "window_ms": window_ms, "bucket_ms": bucket_ms, "buckets": buckets },
        "schedules": {
            "ACTIVE": active.total,
            "PAUSED": paused.total,
            "total": active.total + paused.total,
        },
        "leader": json::leader(leader.as_ref(), e.node_id(), stats.now_ms),
        "node_id": e.node_id(),
    }))
}

/// `GET /metrics`: this process's metrics in the Prometheus text format 0.0.4.
pub(crate) async fn metrics(State(s): State<AppState>) -> Result<Response, crate::error::ApiError> {
    let text = s.engine.metrics_text().await?;
    let mut res = text.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

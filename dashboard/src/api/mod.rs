//! The JSON API under `/api`. Reads are GET; actions are POST (and DELETE for a schedule), which
//! [`crate::security::guard`] has already checked by the time a handler runs.

pub(crate) mod jobs;
pub(crate) mod schedules;
pub(crate) mod stats;

use crate::error::{ok, ApiResult};
use crate::router::AppState;
use axum::extract::State;
use serde_json::json;

/// `GET /api/config`: what the UI needs to know about this server.
pub(crate) async fn config(State(s): State<AppState>) -> ApiResult {
    ok(json!({
        "read_only": s.security.read_only,
        "node_id": s.engine.node_id(),
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

//! The routes and the middleware around them.

use crate::api;
use crate::assets;
use crate::error::ApiError;
use crate::security::{self, Security};
use crate::DashboardConfig;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use reseolio_core::Engine;
use std::sync::Arc;

/// What every handler gets: the engine and the security settings.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) engine: Engine,
    pub(crate) security: Arc<Security>,
}

/// Every route of the dashboard, behind [`security::guard`] and [`security::headers`].
pub(crate) fn build(engine: Engine, config: &DashboardConfig) -> Router {
    let state = AppState {
        engine,
        security: Arc::new(Security::new(config.token.clone(), config.read_only)),
    };
    Router::new()
        .route("/", get(assets::index))
        .route("/assets/{*file}", get(assets::file))
        .route("/metrics", get(api::stats::metrics))
        .route("/api/config", get(api::config))
        .route("/api/stats", get(api::stats::stats))
        .route("/api/jobs", get(api::jobs::list))
        .route("/api/jobs/{id}", get(api::jobs::get))
        .route("/api/jobs/{id}/retry", post(api::jobs::retry))
        .route("/api/jobs/{id}/cancel", post(api::jobs::cancel))
        .route(
            "/api/functions/{name}/retry-dead",
            post(api::jobs::retry_dead),
        )
        .route("/api/schedules", get(api::schedules::list))
        .route(
            "/api/schedules/{id}",
            get(api::schedules::get).delete(api::schedules::delete),
        )
        .route("/api/schedules/{id}/pause", post(api::schedules::pause))
        .route("/api/schedules/{id}/resume", post(api::schedules::resume))
        .route("/api/schedules/{id}/trigger", post(api::schedules::trigger))
        .route("/api/schedules/{id}/delete", post(api::schedules::delete))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::guard,
        ))
        .layer(middleware::from_fn(security::headers))
        .with_state(state)
}

/// 404: JSON under `/api`, text elsewhere.
async fn not_found(req: Request) -> Response {
    let path = req.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        ApiError::no_route(req.method().as_str(), path).into_response()
    } else {
        (StatusCode::NOT_FOUND, "not found\n").into_response()
    }
}

//! The dashboard's error answers: `{"error": {"kind": "NotFound", "message": "..."}}` with the
//! HTTP status that matches the kind.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use reseolio_core::ErrorKind;
use serde_json::json;

/// An error answer of the API.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
        }
    }

    /// 400 about one query parameter, naming it.
    pub(crate) fn param(name: &str, problem: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            format!("query parameter '{name}': {problem}"),
        )
    }

    /// 401: no credentials, or wrong ones.
    pub(crate) fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Unauthenticated", message)
    }

    /// 403 for a request this server refuses whoever sends it.
    pub(crate) fn forbidden(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, kind, message)
    }

    /// 404 for a path no route serves.
    pub(crate) fn no_route(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("no API route {method} {path}"),
        )
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

/// The HTTP status and the stable name of an engine error kind.
pub(crate) fn kind_status(kind: ErrorKind) -> (StatusCode, &'static str) {
    match kind {
        ErrorKind::InvalidArgument => (StatusCode::BAD_REQUEST, "InvalidArgument"),
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, "NotFound"),
        ErrorKind::AlreadyExists => (StatusCode::CONFLICT, "AlreadyExists"),
        ErrorKind::Conflict => (StatusCode::CONFLICT, "Conflict"),
        ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "Unavailable"),
        ErrorKind::ShutDown => (StatusCode::SERVICE_UNAVAILABLE, "ShutDown"),
        ErrorKind::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "Timeout"),
        ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "Internal"),
    }
}

impl From<reseolio_core::Error> for ApiError {
    fn from(e: reseolio_core::Error) -> Self {
        let (status, kind) = kind_status(e.kind());
        if status.is_server_error() {
            tracing::warn!(error = %e, "dashboard request failed");
        }
        ApiError::new(status, kind, e.message())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "kind": self.kind, "message": self.message } });
        json_response(self.status, &body)
    }
}

/// A JSON answer that no cache keeps.
pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut res = (status, body.to_string()).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// What the API handlers return.
pub(crate) type ApiResult = Result<Response, ApiError>;

/// 200 with a JSON body.
pub(crate) fn ok(body: serde_json::Value) -> ApiResult {
    Ok(json_response(StatusCode::OK, &body))
}

//! The one error type of the engine.
//!
//! Every fallible call returns [`Error`], whose [`ErrorKind`] is the small, stable set that the
//! bindings and the gRPC API map one to one (Python exception classes, Node error codes, gRPC
//! status codes). A handler that throws is not an [`Error`]: it is data, a failed attempt.

use std::fmt;

/// What went wrong, as a caller needs to branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller passed something the engine will not store; the message names the field and the
    /// limit. Nothing was changed.
    InvalidArgument,
    /// No job (or other entity) has the given id.
    NotFound,
    /// The entity exists already (reserved for creations that must not deduplicate).
    AlreadyExists,
    /// The call is valid but the entity's current state forbids it: cancelling a finished job,
    /// completing with a stale lease token. Nothing was changed.
    Conflict,
    /// The storage could not be reached or is busy beyond the configured timeout; the call may be
    /// retried.
    Unavailable,
    /// A wait ended at its deadline before the awaited thing happened.
    Timeout,
    /// The engine or worker is shutting down or was shut down.
    ShutDown,
    /// A bug or an unexpected storage failure (corruption, full disk); the message says which.
    Internal,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::InvalidArgument,
        ErrorKind::NotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::Conflict,
        ErrorKind::Unavailable,
        ErrorKind::Timeout,
        ErrorKind::ShutDown,
        ErrorKind::Internal,
    ];

    /// The kind with this stable name, if any.
    pub fn parse(name: &str) -> Option<ErrorKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The stable lower-case name used in messages and by the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ShutDown => "shut_down",
            ErrorKind::Internal => "internal",
        }
    }
}

/// An engine error: a kind to branch on and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// Builds an error of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    /// Shorthand for [`ErrorKind::InvalidArgument`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
    /// Shorthand for [`ErrorKind::NotFound`] about a job id.
    pub fn job_not_found(id: &str) -> Self {
        Self::new(ErrorKind::NotFound, format!("no job with id '{id}'"))
    }
    /// NotFound for a schedule id or name nothing matches.
    pub fn schedule_not_found(id_or_name: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            format!("no schedule with id or name '{id_or_name}'"),
        )
    }
    /// Shorthand for [`ErrorKind::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    /// Shorthand for [`ErrorKind::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    /// Shorthand for [`ErrorKind::ShutDown`].
    pub fn shut_down(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ShutDown, message)
    }
    /// The kind, to branch on.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for Error {}

/// Engine result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

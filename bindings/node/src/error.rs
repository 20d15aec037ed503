//! Engine errors to JavaScript errors. The message starts with the error kind's stable code
//! (`NOT_FOUND: no job ...`); the TypeScript package turns it into the matching error class with
//! that `code`, so JS code sees the same code whichever transport raised it.

use reseolio_ffi::{Error, ErrorKind};

/// The stable code of an error kind, as JS code sees it in `err.code`.
pub(crate) fn code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
        ErrorKind::NotFound => "NOT_FOUND",
        ErrorKind::AlreadyExists => "ALREADY_EXISTS",
        ErrorKind::Conflict => "CONFLICT",
        ErrorKind::Unavailable => "UNAVAILABLE",
        ErrorKind::Timeout => "TIMEOUT",
        ErrorKind::ShutDown => "SHUT_DOWN",
        ErrorKind::Internal => "INTERNAL",
    }
}

/// The JS error for an engine error.
pub(crate) fn to_js(e: Error) -> napi::Error {
    napi::Error::new(
        napi::Status::GenericFailure,
        format!("{}: {}", code(e.kind()), e.message()),
    )
}

/// An argument the glue itself refuses (before the engine sees it).
pub(crate) fn invalid(message: String) -> napi::Error {
    to_js(Error::invalid(message))
}

//! Engine errors as the exception classes of `reseolio.errors`, one per kind, so that Python
//! code catches the same class whichever transport raised it. One Conflict has a class of its
//! own: a changed step order (`StepOrderError`, also NonRetryable).

use pyo3::prelude::*;
use reseolio_ffi::{Error, ErrorKind};

/// The text every engine's "step order changed" Conflict starts with.
const STEP_ORDER_CHANGED: &str = "step order changed";

fn class_name(e: &Error) -> &'static str {
    match e.kind() {
        ErrorKind::Conflict if e.message().starts_with(STEP_ORDER_CHANGED) => "StepOrderError",
        ErrorKind::InvalidArgument => "InvalidArgumentError",
        ErrorKind::NotFound => "NotFoundError",
        ErrorKind::AlreadyExists => "AlreadyExistsError",
        ErrorKind::Conflict => "ConflictError",
        ErrorKind::Unavailable => "UnavailableError",
        ErrorKind::Timeout => "TimeoutError",
        ErrorKind::ShutDown => "ShutDownError",
        ErrorKind::Internal => "InternalError",
    }
}

/// The Python exception for an engine error.
pub(crate) fn to_py(e: Error) -> PyErr {
    Python::attach(|py| {
        let made = py
            .import("reseolio.errors")
            .and_then(|m| m.getattr(class_name(&e)))
            .and_then(|cls| cls.call1((e.message().to_string(),)));
        match made {
            Ok(exc) => PyErr::from_value(exc),
            // The package is not importable (the module used on its own): a plain error.
            Err(_) => pyo3::exceptions::PyRuntimeError::new_err(e.to_string()),
        }
    })
}

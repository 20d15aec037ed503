//! Status codes and error objects: what every call answers.

use crate::handles::LivePointers;
use reseolio_ffi::{Error, ErrorKind};
use std::ffi::{c_char, CString};

/// What a call answers. `RESEOLIO_OK` is 0; every other value comes with an error object when
/// the caller passed a non-NULL `err`. New codes may be added: treat an unknown one like
/// `RESEOLIO_INTERNAL`.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum reseolio_status {
    /// Success.
    RESEOLIO_OK = 0,
    /// A bad argument: a NULL pointer, invalid UTF-8, an option out of range. The message names
    /// it. Nothing was changed.
    RESEOLIO_INVALID_ARGUMENT = 1,
    /// No job (or schedule) has that id.
    RESEOLIO_NOT_FOUND = 2,
    /// The entity exists already.
    RESEOLIO_ALREADY_EXISTS = 3,
    /// The job's state forbids the call (cancelling a finished job, completing with a lease that
    /// was lost). Nothing was changed.
    RESEOLIO_CONFLICT = 4,
    /// The storage or the sidecar cannot be reached, or is busy: the call may be retried.
    RESEOLIO_UNAVAILABLE = 5,
    /// A wait ended at its timeout before the awaited thing happened.
    RESEOLIO_TIMEOUT = 6,
    /// The client or worker was shut down.
    RESEOLIO_SHUT_DOWN = 7,
    /// A bug or an unexpected storage failure (the message says which); also a Rust panic,
    /// caught before it reached the caller.
    RESEOLIO_INTERNAL = 8,
    /// A client, worker or task handle that was freed or never made, or a job or error pointer
    /// that is not live. Nothing was done.
    RESEOLIO_INVALID_HANDLE = 9,
}

use reseolio_status::*;

/// An error: a status code and a message for people. Owned by the caller once a call returns it;
/// free it with [`reseolio_error_free`].
pub struct reseolio_error {
    code: reseolio_status,
    message: CString,
}

/// A failure inside a call, before it becomes a [`reseolio_error`].
#[derive(Debug)]
pub(crate) struct Fail {
    pub code: reseolio_status,
    pub message: String,
}

impl Fail {
    pub(crate) fn invalid(message: impl Into<String>) -> Fail {
        Fail {
            code: RESEOLIO_INVALID_ARGUMENT,
            message: message.into(),
        }
    }
    pub(crate) fn internal(message: impl Into<String>) -> Fail {
        Fail {
            code: RESEOLIO_INTERNAL,
            message: message.into(),
        }
    }
    pub(crate) fn invalid_handle(message: impl Into<String>) -> Fail {
        Fail {
            code: RESEOLIO_INVALID_HANDLE,
            message: message.into(),
        }
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        let code = match e.kind() {
            ErrorKind::InvalidArgument => RESEOLIO_INVALID_ARGUMENT,
            ErrorKind::NotFound => RESEOLIO_NOT_FOUND,
            ErrorKind::AlreadyExists => RESEOLIO_ALREADY_EXISTS,
            ErrorKind::Conflict => RESEOLIO_CONFLICT,
            ErrorKind::Unavailable => RESEOLIO_UNAVAILABLE,
            ErrorKind::Timeout => RESEOLIO_TIMEOUT,
            ErrorKind::ShutDown => RESEOLIO_SHUT_DOWN,
            ErrorKind::Internal => RESEOLIO_INTERNAL,
        };
        Fail {
            code,
            message: e.message().to_string(),
        }
    }
}

/// The error objects handed out and not yet freed, so that a double free or a stray pointer is
/// refused instead of corrupting the heap.
pub(crate) static LIVE_ERRORS: LivePointers = LivePointers::new();

impl Fail {
    /// Boxes the failure for the caller, who then owns it.
    pub(crate) fn into_raw(self) -> *mut reseolio_error {
        // A message is text for people: an interior NUL (from a caller's own bytes quoted back)
        // is shown escaped rather than cutting the message short.
        let message = CString::new(self.message.replace('\0', "\\0"))
            .unwrap_or_else(|_| CString::from(c"(message lost)"));
        let ptr = Box::into_raw(Box::new(reseolio_error {
            code: self.code,
            message,
        }));
        LIVE_ERRORS.insert(ptr as usize);
        ptr
    }
}

/// The error's status code; `RESEOLIO_INVALID_HANDLE` for NULL or a pointer that is not a live
/// error. Never blocks.
#[no_mangle]
pub extern "C" fn reseolio_error_code(err: *const reseolio_error) -> reseolio_status {
    crate::boundary::quiet(RESEOLIO_INTERNAL, || {
        if !LIVE_ERRORS.contains(err as usize) {
            return RESEOLIO_INVALID_HANDLE;
        }
        // SAFETY: the pointer is one this library boxed and has not freed.
        unsafe { (*err).code }
    })
}

/// What [`reseolio_error_message`] answers for a pointer that is not a live error.
const NOT_AN_ERROR: &std::ffi::CStr = c"not a live reseolio_error (NULL, or already freed)";

/// The error's message, UTF-8, owned by the error: valid until [`reseolio_error_free`]. A static
/// placeholder for NULL or a pointer that is not a live error. Never blocks.
#[no_mangle]
pub extern "C" fn reseolio_error_message(err: *const reseolio_error) -> *const c_char {
    crate::boundary::quiet(NOT_AN_ERROR.as_ptr(), || {
        if !LIVE_ERRORS.contains(err as usize) {
            return NOT_AN_ERROR.as_ptr();
        }
        // SAFETY: as in reseolio_error_code.
        unsafe { (*err).message.as_ptr() }
    })
}

/// Frees an error. NULL is a no-op (`RESEOLIO_OK`); a pointer that is not a live error (freed
/// already) answers `RESEOLIO_INVALID_HANDLE` and frees nothing.
#[no_mangle]
pub extern "C" fn reseolio_error_free(err: *mut reseolio_error) -> reseolio_status {
    crate::boundary::quiet(RESEOLIO_INTERNAL, || {
        if err.is_null() {
            return RESEOLIO_OK;
        }
        if !LIVE_ERRORS.remove(err as usize) {
            return RESEOLIO_INVALID_HANDLE;
        }
        // SAFETY: boxed by Fail::into_raw and just taken out of the live set, so freed once.
        drop(unsafe { Box::from_raw(err) });
        RESEOLIO_OK
    })
}

/// The stable lower-case name of a status code (`"ok"`, `"not_found"`, ...), `"unknown"` for a
/// value that is not one. A static string: never free it.
#[no_mangle]
pub extern "C" fn reseolio_status_name(code: i32) -> *const c_char {
    let name: &'static std::ffi::CStr = match code {
        0 => c"ok",
        1 => c"invalid_argument",
        2 => c"not_found",
        3 => c"already_exists",
        4 => c"conflict",
        5 => c"unavailable",
        6 => c"timeout",
        7 => c"shut_down",
        8 => c"internal",
        9 => c"invalid_handle",
        _ => c"unknown",
    };
    name.as_ptr()
}

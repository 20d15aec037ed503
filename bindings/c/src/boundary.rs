//! The edge between C and Rust: every exported function runs its body through [`call`] (or
//! [`quiet`] for the ones that cannot fail), so that a panic becomes an error code instead of
//! unwinding into C (which would abort the host), and every pointer the caller passes is
//! checked here before it is read.

use crate::error::{reseolio_error, reseolio_status, Fail};
use std::any::Any;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs an exported function's body: clears `*err`, catches a panic, and turns a failure into a
/// status code and (when `err` is not NULL) an error object the caller owns.
pub(crate) fn call(
    err: *mut *mut reseolio_error,
    body: impl FnOnce() -> Result<(), Fail>,
) -> reseolio_status {
    if !err.is_null() {
        // SAFETY: the caller passed a pointer to writable storage for an error pointer.
        unsafe { *err = std::ptr::null_mut() };
    }
    // The body only touches state behind locks or atomics, which a panic leaves consistent, so
    // observing it after an unwind is safe.
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        Err(Fail::internal(format!(
            "a bug in reseolio (a Rust panic, stopped at the C boundary): {}",
            panic_message(&*panic)
        )))
    });
    match outcome {
        Ok(()) => reseolio_status::RESEOLIO_OK,
        Err(fail) => {
            let code = fail.code;
            if !err.is_null() {
                // SAFETY: checked above.
                unsafe { *err = fail.into_raw() };
            }
            code
        }
    }
}

/// For the functions that have no error out-parameter: a panic gives `on_panic`.
pub(crate) fn quiet<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// A NUL-terminated UTF-8 string argument. Errors: InvalidArgument naming `what` when it is NULL
/// or not UTF-8.
pub(crate) fn read_str<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Fail> {
    if ptr.is_null() {
        return Err(Fail::invalid(format!("{what} is NULL")));
    }
    // SAFETY: the caller promises a NUL-terminated string that outlives the call.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|e| {
        Fail::invalid(format!(
            "{what} is not valid UTF-8 (bad byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// An optional string argument: NULL is None.
pub(crate) fn read_opt_str<'a>(ptr: *const c_char, what: &str) -> Result<Option<&'a str>, Fail> {
    if ptr.is_null() {
        Ok(None)
    } else {
        read_str(ptr, what).map(Some)
    }
}

/// A byte buffer argument: NULL with length 0 is empty. Errors: InvalidArgument for NULL with a
/// length.
pub(crate) fn read_bytes(ptr: *const u8, len: usize, what: &str) -> Result<Vec<u8>, Fail> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(Vec::new());
        }
        return Err(Fail::invalid(format!(
            "{what} is NULL but its length is {len}"
        )));
    }
    // SAFETY: the caller promises `len` readable bytes at `ptr` for the length of the call.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec())
}

/// Checks an out-parameter before any work is done, so that a NULL one changes nothing.
pub(crate) fn check_out<T>(ptr: *mut T, what: &str) -> Result<(), Fail> {
    if ptr.is_null() {
        Err(Fail::invalid(format!("{what} is NULL")))
    } else {
        Ok(())
    }
}

/// Writes an out-parameter checked with [`check_out`].
pub(crate) fn write_out<T>(ptr: *mut T, value: T) {
    // SAFETY: checked non-NULL by check_out; the caller promises it points to writable storage.
    unsafe { ptr.write(value) }
}

/// A timeout argument: negative waits without limit (`RESEOLIO_WAIT_FOREVER`).
pub(crate) fn timeout(ms: i64) -> Option<std::time::Duration> {
    u64::try_from(ms).ok().map(std::time::Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{reseolio_error_code, reseolio_error_free, reseolio_error_message};

    #[test]
    fn a_panic_in_a_body_becomes_an_internal_error_with_its_message() {
        let mut err: *mut reseolio_error = std::ptr::null_mut();
        let status = call(&mut err, || panic!("boom {}", 42));
        assert_eq!(status, reseolio_status::RESEOLIO_INTERNAL);
        assert_eq!(reseolio_error_code(err), reseolio_status::RESEOLIO_INTERNAL);
        // SAFETY: a live error's message is a NUL-terminated string.
        let message = unsafe { CStr::from_ptr(reseolio_error_message(err)) };
        assert!(message.to_str().unwrap().contains("boom 42"), "{message:?}");
        assert_eq!(reseolio_error_free(err), reseolio_status::RESEOLIO_OK);
    }

    #[test]
    fn a_panic_with_a_null_err_still_returns_the_code() {
        let status = call(std::ptr::null_mut(), || panic!("no one listens"));
        assert_eq!(status, reseolio_status::RESEOLIO_INTERNAL);
        assert_eq!(quiet(7, || panic!("quiet")), 7);
    }

    #[test]
    fn blocking_from_inside_a_runtime_is_refused_not_a_panic() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let fail = rt.block_on(async { Fail::from(reseolio_ffi::block_on(async {}).unwrap_err()) });
        assert_eq!(fail.code, reseolio_status::RESEOLIO_INTERNAL);
        assert!(fail.message.contains("plain thread"), "{}", fail.message);
    }
}

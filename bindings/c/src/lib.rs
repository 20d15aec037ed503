//! # reseolio-c: the C ABI of Reseolio
//!
//! `libreseolio.so` and `libreseolio.a` with `include/reseolio.h`: the Client of
//! [`reseolio_ffi`] (connect, enqueue, get, cancel, retry, await result, and a worker's poll,
//! complete, heartbeat and shutdown) for C and for every language that can call C (Go through
//! cgo, C++, Ruby's FFI, Swift, Zig...). The Python and Node packages have their own bindings;
//! this is for everything else.
//!
//! The rules every function keeps (written out for users in `docs/other-languages.md`):
//!
//! - **Errors.** Every fallible function returns a [`reseolio_status`], `RESEOLIO_OK` (0) on
//!   success, and takes a last `reseolio_error **err` that may be NULL. On failure `*err` gets
//!   an error the caller owns (code and message; free it with `reseolio_error_free`); on success
//!   it is set to NULL.
//! - **Nothing aborts the host.** NULL pointers, invalid UTF-8, handles used after they were
//!   freed and unknown ids are errors. A Rust panic is caught at the boundary and returned as
//!   `RESEOLIO_INTERNAL`.
//! - **Handles.** Clients, workers and tasks are small structs holding an id, passed by value.
//!   An id is never reused, so a freed (or zeroed) handle is always recognised:
//!   `RESEOLIO_INVALID_HANDLE`, never a crash. Jobs and errors are heap structs the caller owns;
//!   their free functions refuse a pointer that is not live.
//! - **Threads.** Every function may be called from any thread, concurrently, on the same
//!   handles. Calls block the calling thread; the ones that wait for something take a timeout.
//!
//! Why this crate is separate from `reseolio-ffi`: the Python and Node extensions link
//! `reseolio-ffi` as a Rust library and must not export this crate's C symbols.

#![allow(non_camel_case_types)]
// Every exported function takes the pointers C passes and checks what can be checked (NULL,
// UTF-8, live handles); what cannot (that a pointer addresses enough memory) is the caller's
// contract, written in the header. Marking the functions `unsafe` would change nothing for C.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![warn(missing_docs)]

mod boundary;
mod client;
mod error;
mod handles;
mod job;
mod options;
mod worker;

pub use client::*;
pub use error::*;
pub use handles::{reseolio_client, reseolio_task, reseolio_worker};
pub use job::*;
pub use options::*;
pub use worker::*;

/// The library's version, for example `"0.2.0"`. A static string: never free it.
#[no_mangle]
pub extern "C" fn reseolio_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

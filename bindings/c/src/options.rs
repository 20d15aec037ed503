//! The option structs of `reseolio_connect` and `reseolio_enqueue`, and their defaults.
//!
//! Start from `reseolio_*_options_default()` and set the fields you need: a field left at
//! `RESEOLIO_UNSET` (or NaN, or NULL) keeps the engine's default.
//!
//! Each struct starts with its own size, as the caller's compiler laid it out (the `_default()`
//! functions set it). Fields are only ever added at the end, so a later library can tell an
//! older program's struct by its size and read only what it holds; a struct of a size this
//! library does not know (zeroed, never initialised, or from a newer header) is refused by name
//! instead of being read past its end.

use crate::boundary::{read_opt_str, read_str};
use crate::error::Fail;
use reseolio_ffi::{Backoff, ConnectOptions, EnqueueOptions};
use std::ffi::c_char;

/// An integer option left unset: the engine's default applies.
pub const RESEOLIO_UNSET: i64 = i64::MIN;
/// A timeout that never ends (any negative timeout waits without limit).
pub const RESEOLIO_WAIT_FOREVER: i64 = -1;
/// `backoff`: the engine's default (exponential).
pub const RESEOLIO_BACKOFF_DEFAULT: i32 = 0;
/// `backoff`: the same delay every time.
pub const RESEOLIO_BACKOFF_FIXED: i32 = 1;
/// `backoff`: the delay times the attempt number.
pub const RESEOLIO_BACKOFF_LINEAR: i32 = 2;
/// `backoff`: the delay doubled each attempt.
pub const RESEOLIO_BACKOFF_EXPONENTIAL: i32 = 3;

/// Options of `reseolio_connect`. Initialise with [`reseolio_connect_options_default`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct reseolio_connect_options {
    /// `sizeof(reseolio_connect_options)`, set by [`reseolio_connect_options_default`].
    pub size: u32,
    /// Embedded: how often idle workers and waiters look for other processes' writes, in ms (at
    /// least 1; default 100).
    pub poll_interval_ms: i64,
    /// Embedded: the largest args, result or error in bytes (default 1 MiB).
    pub max_payload_bytes: i64,
    /// Embedded: finished jobs older than this many seconds are pruned; 0 keeps them (default 7
    /// days).
    pub retention_secs: i64,
    /// A sidecar's bearer token (`grpc://` only), or NULL. Read during the call only.
    pub token: *const c_char,
}

/// Options of `reseolio_enqueue`. Initialise with [`reseolio_enqueue_options_default`].
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct reseolio_enqueue_options {
    /// `sizeof(reseolio_enqueue_options)`, set by [`reseolio_enqueue_options_default`].
    pub size: u32,
    /// Attempts before the job is DEAD, at least 1 (default 3).
    pub max_attempts: i64,
    /// One of `RESEOLIO_BACKOFF_*`.
    pub backoff: i32,
    /// Base retry delay in ms, at least 0 (default 1000).
    pub initial_delay_ms: i64,
    /// Cap on the retry delay in ms, at least 0 (default 60000).
    pub max_delay_ms: i64,
    /// Spread of the retry delay, 0.0 to 1.0; NaN keeps the default (0.1).
    pub jitter: f64,
    /// Per-attempt timeout in ms, the lease length, at least 1 (default 30000).
    pub timeout_ms: i64,
    /// Not due before this many ms from now, at least 0. Exclusive with `run_at_ms`.
    pub delay_ms: i64,
    /// Not due before this Unix time in ms. Exclusive with `delay_ms`.
    pub run_at_ms: i64,
    /// Higher runs first among due jobs (default 0).
    pub priority: i32,
    /// A second enqueue with the same name and key returns the first job; NULL for none. Read
    /// during the call only.
    pub idempotency_key: *const c_char,
}

/// Connect options with every field unset. Never fails, never blocks.
#[no_mangle]
pub extern "C" fn reseolio_connect_options_default() -> reseolio_connect_options {
    reseolio_connect_options {
        size: std::mem::size_of::<reseolio_connect_options>() as u32,
        poll_interval_ms: RESEOLIO_UNSET,
        max_payload_bytes: RESEOLIO_UNSET,
        retention_secs: RESEOLIO_UNSET,
        token: std::ptr::null(),
    }
}

/// Enqueue options with every field unset. Never fails, never blocks.
#[no_mangle]
pub extern "C" fn reseolio_enqueue_options_default() -> reseolio_enqueue_options {
    reseolio_enqueue_options {
        size: std::mem::size_of::<reseolio_enqueue_options>() as u32,
        max_attempts: RESEOLIO_UNSET,
        backoff: RESEOLIO_BACKOFF_DEFAULT,
        initial_delay_ms: RESEOLIO_UNSET,
        max_delay_ms: RESEOLIO_UNSET,
        jitter: f64::NAN,
        timeout_ms: RESEOLIO_UNSET,
        delay_ms: RESEOLIO_UNSET,
        run_at_ms: RESEOLIO_UNSET,
        priority: 0,
        idempotency_key: std::ptr::null(),
    }
}

/// Reads an options struct whose first field is its size. This is the first version of the
/// structs, so the one size known is the current one. Errors: InvalidArgument naming the struct
/// for any other size.
fn read_sized<T: Copy>(ptr: *const T, name: &str) -> Result<T, Fail> {
    // SAFETY: every options struct starts with its u32 size, and the caller promises a readable
    // struct; the size is read first so that a short struct is never read in full.
    let size = unsafe { ptr.cast::<u32>().read() } as usize;
    let known = std::mem::size_of::<T>();
    if size != known {
        return Err(Fail::invalid(format!(
            "options.size is {size}, not sizeof({name}) = {known}: initialise the options with \
             {name}_default(), and compile against the reseolio.h of the library you load"
        )));
    }
    // SAFETY: as above, and the struct has the size of T.
    Ok(unsafe { *ptr })
}

fn set(v: i64) -> Option<i64> {
    (v != RESEOLIO_UNSET).then_some(v)
}

/// A non-negative size or duration. Errors: InvalidArgument naming the field.
fn unsigned(v: i64, field: &str) -> Result<Option<u64>, Fail> {
    match set(v) {
        None => Ok(None),
        Some(v) => u64::try_from(v)
            .map(Some)
            .map_err(|_| Fail::invalid(format!("options.{field} must be >= 0, got {v}"))),
    }
}

/// Reads connect options (NULL: all defaults).
pub(crate) fn connect_options(
    ptr: *const reseolio_connect_options,
) -> Result<ConnectOptions, Fail> {
    if ptr.is_null() {
        return Ok(ConnectOptions::default());
    }
    let o = read_sized(ptr, "reseolio_connect_options")?;
    Ok(ConnectOptions {
        poll_interval_ms: unsigned(o.poll_interval_ms, "poll_interval_ms")?,
        max_payload_bytes: unsigned(o.max_payload_bytes, "max_payload_bytes")?
            .map(|b| usize::try_from(b).unwrap_or(usize::MAX)),
        retention_secs: unsigned(o.retention_secs, "retention_secs")?,
        token: read_opt_str(o.token, "options.token")?.map(str::to_string),
    })
}

/// Reads enqueue options (NULL: all defaults). The engine checks every range and names the
/// field; only what C adds (the backoff code, UTF-8) is checked here.
pub(crate) fn enqueue_options(
    ptr: *const reseolio_enqueue_options,
) -> Result<EnqueueOptions, Fail> {
    if ptr.is_null() {
        return Ok(EnqueueOptions::default());
    }
    let o = read_sized(ptr, "reseolio_enqueue_options")?;
    let backoff = match o.backoff {
        RESEOLIO_BACKOFF_DEFAULT => None,
        RESEOLIO_BACKOFF_FIXED => Some(Backoff::Fixed),
        RESEOLIO_BACKOFF_LINEAR => Some(Backoff::Linear),
        RESEOLIO_BACKOFF_EXPONENTIAL => Some(Backoff::Exponential),
        other => {
            return Err(Fail::invalid(format!(
                "options.backoff must be one of RESEOLIO_BACKOFF_DEFAULT (0), _FIXED (1), \
                 _LINEAR (2) or _EXPONENTIAL (3), got {other}"
            )))
        }
    };
    Ok(EnqueueOptions {
        max_attempts: set(o.max_attempts),
        backoff,
        initial_delay_ms: set(o.initial_delay_ms),
        max_delay_ms: set(o.max_delay_ms),
        jitter: (!o.jitter.is_nan()).then_some(o.jitter),
        timeout_ms: set(o.timeout_ms),
        delay_ms: set(o.delay_ms),
        run_at_ms: set(o.run_at_ms),
        priority: Some(o.priority),
        idempotency_key: match o.idempotency_key.is_null() {
            true => None,
            false => Some(read_str(o.idempotency_key, "options.idempotency_key")?.to_string()),
        },
    })
}

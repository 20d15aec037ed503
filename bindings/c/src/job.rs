//! Jobs as C reads them: `reseolio_job`, a heap struct the caller owns, and the answer of an
//! enqueue, which needs no freeing.

use crate::error::{reseolio_status, Fail};
use crate::handles::LivePointers;
use reseolio_ffi::{Job, JobStatus};
use std::ffi::{c_char, CString};

/// The room for a job id in [`reseolio_enqueued`], NUL included. Ids are UUIDs (36 bytes).
pub const RESEOLIO_JOB_ID_SIZE: usize = 64;

/// A job's status.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum reseolio_job_status {
    /// Waiting until `run_at_ms`.
    RESEOLIO_JOB_PENDING = 0,
    /// Claimed by a worker under a lease.
    RESEOLIO_JOB_RUNNING = 1,
    /// An attempt failed; the next is due at `run_at_ms`.
    RESEOLIO_JOB_FAILED = 2,
    /// Done; `result` holds the result. Terminal.
    RESEOLIO_JOB_SUCCESS = 3,
    /// Attempts exhausted or the error was not retryable. Terminal until retried.
    RESEOLIO_JOB_DEAD = 4,
    /// Cancelled. Terminal until retried.
    RESEOLIO_JOB_CANCELLED = 5,
}

impl From<JobStatus> for reseolio_job_status {
    fn from(s: JobStatus) -> Self {
        use reseolio_job_status::*;
        match s {
            JobStatus::Pending => RESEOLIO_JOB_PENDING,
            JobStatus::Running => RESEOLIO_JOB_RUNNING,
            JobStatus::Failed => RESEOLIO_JOB_FAILED,
            JobStatus::Success => RESEOLIO_JOB_SUCCESS,
            JobStatus::Dead => RESEOLIO_JOB_DEAD,
            JobStatus::Cancelled => RESEOLIO_JOB_CANCELLED,
        }
    }
}

/// What `reseolio_enqueue` answers: caller storage, nothing to free.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct reseolio_enqueued {
    /// The job's id, NUL-terminated (the earlier job's when deduplicated).
    pub job_id: [c_char; RESEOLIO_JOB_ID_SIZE],
    /// True when an earlier job with the same name and idempotency key was returned.
    pub deduplicated: bool,
}

impl reseolio_enqueued {
    pub(crate) fn new(job_id: &str, deduplicated: bool) -> Result<Self, Fail> {
        let mut out = reseolio_enqueued {
            job_id: [0; RESEOLIO_JOB_ID_SIZE],
            deduplicated,
        };
        if job_id.len() >= RESEOLIO_JOB_ID_SIZE || job_id.contains('\0') {
            return Err(Fail::internal(format!(
                "the job id '{job_id}' does not fit RESEOLIO_JOB_ID_SIZE"
            )));
        }
        for (dst, src) in out.job_id.iter_mut().zip(job_id.bytes()) {
            *dst = src as c_char;
        }
        Ok(out)
    }
}

/// A job as stored. Owned by the caller: free it with [`reseolio_job_free`]; every pointer in it
/// is owned by the job and valid until then. Optional strings and bytes are NULL when absent;
/// optional times are 0.
#[repr(C)]
#[derive(Debug)]
pub struct reseolio_job {
    /// The job id.
    pub id: *const c_char,
    /// The durable function's name.
    pub name: *const c_char,
    /// The status.
    pub status: reseolio_job_status,
    /// The args, as enqueued.
    pub args: *const u8,
    /// Length of `args`.
    pub args_len: usize,
    /// The result of the successful attempt; NULL unless SUCCESS.
    pub result: *const u8,
    /// Length of `result`.
    pub result_len: usize,
    /// The error of the last failed attempt, or NULL.
    pub last_error: *const c_char,
    /// The idempotency key given at enqueue, or NULL.
    pub idempotency_key: *const c_char,
    /// Attempts started so far.
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Claim priority; higher first.
    pub priority: i32,
    /// Per-attempt timeout in ms.
    pub timeout_ms: u64,
    /// When it was enqueued, Unix ms.
    pub created_at_ms: i64,
    /// When the next (or current) attempt is due, Unix ms.
    pub run_at_ms: i64,
    /// When the latest attempt started, Unix ms; 0 before the first.
    pub started_at_ms: i64,
    /// When it reached SUCCESS, DEAD or CANCELLED, Unix ms; 0 before.
    pub completed_at_ms: i64,
}

/// The job and the memory its pointers point into. `view` comes first so that a pointer to the
/// box is a pointer to the `reseolio_job` C reads.
#[repr(C)]
struct JobBox {
    view: reseolio_job,
    _strings: Vec<CString>,
    _bytes: Vec<Vec<u8>>,
}

static LIVE_JOBS: LivePointers = LivePointers::new();

fn c_string(s: &str) -> CString {
    // Names, ids and keys are refused with a NUL by the engine; an error message quoting one is
    // shown escaped.
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

/// Boxes a job for the caller, who then owns it.
pub(crate) fn job_into_raw(job: Job) -> *mut reseolio_job {
    let mut strings = Vec::new();
    let mut keep = |s: &str| {
        let c = c_string(s);
        // A CString's buffer does not move when the CString itself is moved into the Vec.
        let p = c.as_ptr();
        strings.push(c);
        p
    };
    let id = keep(&job.id);
    let name = keep(&job.name);
    let last_error = job
        .last_error
        .as_deref()
        .map_or(std::ptr::null(), &mut keep);
    let idempotency_key = job
        .idempotency_key
        .as_deref()
        .map_or(std::ptr::null(), &mut keep);
    let args_len = job.args.len();
    let args = job.args.as_ptr();
    let (result, result_len) = match &job.result {
        Some(r) => (r.as_ptr(), r.len()),
        None => (std::ptr::null(), 0),
    };
    let mut bytes = vec![job.args];
    bytes.extend(job.result);
    let boxed = Box::new(JobBox {
        view: reseolio_job {
            id,
            name,
            status: job.status.into(),
            args,
            args_len,
            result,
            result_len,
            last_error,
            idempotency_key,
            attempt: job.attempt,
            max_attempts: job.max_attempts,
            priority: job.priority,
            timeout_ms: job.timeout_ms,
            created_at_ms: job.created_at,
            run_at_ms: job.run_at,
            started_at_ms: job.started_at.unwrap_or(0),
            completed_at_ms: job.completed_at.unwrap_or(0),
        },
        _strings: strings,
        _bytes: bytes,
    });
    let ptr = Box::into_raw(boxed);
    LIVE_JOBS.insert(ptr as usize);
    ptr.cast()
}

/// Frees a job and everything its pointers point to. NULL is a no-op (`RESEOLIO_OK`); a pointer
/// that is not a live job (freed already) answers `RESEOLIO_INVALID_HANDLE` and frees nothing.
/// Never blocks.
#[no_mangle]
pub extern "C" fn reseolio_job_free(job: *mut reseolio_job) -> reseolio_status {
    crate::boundary::quiet(reseolio_status::RESEOLIO_INTERNAL, || {
        if job.is_null() {
            return reseolio_status::RESEOLIO_OK;
        }
        if !LIVE_JOBS.remove(job as usize) {
            return reseolio_status::RESEOLIO_INVALID_HANDLE;
        }
        // SAFETY: made by job_into_raw from a Box<JobBox> and just taken out of the live set.
        drop(unsafe { Box::from_raw(job.cast::<JobBox>()) });
        reseolio_status::RESEOLIO_OK
    })
}

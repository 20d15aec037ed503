//! Workers and tasks: claim jobs, run them in the caller's code, report back.
//!
//! The engine never calls into C: the caller's loop asks for work with `reseolio_worker_poll`
//! and reports each attempt with `reseolio_worker_complete_*`, from as many threads as it likes.

use crate::boundary::{call, check_out, read_bytes, read_str, timeout, write_out};
use crate::client::CLIENTS;
use crate::error::{reseolio_error, reseolio_status, Fail};
use crate::handles::{reseolio_client, reseolio_task, reseolio_worker, Registry};
use crate::job::reseolio_job_status;
use reseolio_ffi::{block_on, ClientTask, ClientWorker, JobHeartbeatResult, Outcome};
use std::ffi::{c_char, CString};
use std::time::Duration;

static WORKERS: Registry<ClientWorker> = Registry::new("reseolio_worker");
static TASKS: Registry<TaskEntry> = Registry::new("reseolio_task");

/// A claimed job as C reads it. Every pointer is owned by the task and valid until
/// `reseolio_task_free`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct reseolio_claimed_job {
    /// The job id.
    pub job_id: *const c_char,
    /// The durable function's name: which handler to run.
    pub name: *const c_char,
    /// The args, as enqueued.
    pub args: *const u8,
    /// Length of `args`.
    pub args_len: usize,
    /// This attempt's number, 1-based.
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// The attempt's timeout in ms: heartbeat more often than this for a longer run.
    pub timeout_ms: u64,
    /// When the lease lapses unless heartbeated, Unix ms.
    pub deadline_ms: i64,
}

/// A task and the memory its `reseolio_claimed_job` points into.
struct TaskEntry {
    worker_id: u64,
    task: ClientTask,
    view: reseolio_claimed_job,
    _strings: [CString; 2],
}

// SAFETY: the raw pointers in `view` point into `_strings` and into `task`'s own args, which the
// entry owns and never changes; they are only read.
unsafe impl Send for TaskEntry {}
// SAFETY: as above; nothing in the entry is mutated after it is made.
unsafe impl Sync for TaskEntry {}

impl TaskEntry {
    fn new(worker_id: u64, task: ClientTask) -> TaskEntry {
        let job = task.job();
        let strings = [
            CString::new(job.token.job_id.as_str()).unwrap_or_default(),
            CString::new(job.name.as_str()).unwrap_or_default(),
        ];
        let view = reseolio_claimed_job {
            job_id: strings[0].as_ptr(),
            name: strings[1].as_ptr(),
            args: job.args.as_ptr(),
            args_len: job.args.len(),
            attempt: job.attempt,
            max_attempts: job.max_attempts,
            timeout_ms: job.timeout_ms,
            deadline_ms: job.deadline_ms,
        };
        TaskEntry {
            worker_id,
            task,
            view,
            _strings: strings,
        }
    }
}

/// Starts a worker that claims jobs named in `names` (`names_len` strings; NULL and 0 for every
/// name), at most `concurrency` at a time. On success `*out` is a worker the caller owns: shut
/// it down with [`reseolio_worker_shutdown`] and free it with [`reseolio_worker_free`].
///
/// Blocks until the worker runs (for a sidecar: until its stream is open). Errors:
/// INVALID_ARGUMENT for a concurrency of 0, a NULL or bad name; UNAVAILABLE when a sidecar cannot
/// be reached; INVALID_HANDLE for a freed client.
#[no_mangle]
pub extern "C" fn reseolio_worker_start(
    client: reseolio_client,
    names: *const *const c_char,
    names_len: usize,
    concurrency: u32,
    out: *mut reseolio_worker,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    call(err, || {
        check_out(out, "out")?;
        let c = CLIENTS.get(client.id)?;
        if names.is_null() && names_len > 0 {
            return Err(Fail::invalid(format!(
                "names is NULL but names_len is {names_len}"
            )));
        }
        let names = (0..names_len)
            .map(|i| {
                // SAFETY: the caller promises `names_len` readable pointers at `names`.
                let p = unsafe { *names.add(i) };
                read_str(p, &format!("names[{i}]")).map(str::to_string)
            })
            .collect::<Result<Vec<_>, Fail>>()?;
        let w = block_on(c.worker(names, concurrency))??;
        write_out(
            out,
            reseolio_worker {
                id: WORKERS.insert(w),
            },
        );
        Ok(())
    })
}

/// Waits for the next claimed job, at most `timeout_ms` (negative: without limit; 0: only a job
/// already claimed). On success `*task_out` is a task the caller owns (complete it, then free
/// it with [`reseolio_task_free`]) and, when `job_out` is not NULL, `*job_out` describes the job.
/// Nothing is lost when the wait times out: a job claimed later goes to the next poll.
///
/// Blocks until then. Errors: TIMEOUT when no job came in time; SHUT_DOWN after
/// [`reseolio_worker_shutdown`] (a poll blocked on another thread also returns); INVALID_HANDLE.
#[no_mangle]
pub extern "C" fn reseolio_worker_poll(
    worker: reseolio_worker,
    timeout_ms: i64,
    task_out: *mut reseolio_task,
    job_out: *mut reseolio_claimed_job,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    call(err, || {
        check_out(task_out, "task_out")?;
        let w = WORKERS.get(worker.id)?;
        let task = block_on(async {
            match timeout(timeout_ms) {
                None => w.poll().await.map_err(Fail::from),
                // ClientWorker::poll is cancel-safe: a job claimed after the deadline stays
                // queued for the next poll.
                Some(d) => match tokio::time::timeout(d, w.poll()).await {
                    Ok(r) => r.map_err(Fail::from),
                    Err(_) => Err(Fail {
                        code: reseolio_status::RESEOLIO_TIMEOUT,
                        message: format!("no job was claimed within {timeout_ms} ms"),
                    }),
                },
            }
        })??;
        let entry = TaskEntry::new(worker.id, task);
        let view = entry.view;
        write_out(
            task_out,
            reseolio_task {
                id: TASKS.insert(entry),
            },
        );
        if !job_out.is_null() {
            write_out(job_out, view);
        }
        Ok(())
    })
}

/// The task of `worker`, and the worker. Errors: INVALID_HANDLE; INVALID_ARGUMENT when the task
/// was polled from another worker.
fn task_of(
    worker: reseolio_worker,
    task: reseolio_task,
) -> Result<(std::sync::Arc<ClientWorker>, std::sync::Arc<TaskEntry>), Fail> {
    let w = WORKERS.get(worker.id)?;
    let t = TASKS.get(task.id)?;
    if t.worker_id != worker.id {
        return Err(Fail::invalid(format!(
            "reseolio_task {} was polled from reseolio_worker {}, not {}",
            task.id, t.worker_id, worker.id
        )));
    }
    Ok((w, t))
}

fn complete(
    worker: reseolio_worker,
    task: reseolio_task,
    outcome: impl FnOnce() -> Result<Outcome, Fail>,
    status_out: *mut reseolio_job_status,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    call(err, || {
        let (w, t) = task_of(worker, task)?;
        let outcome = outcome()?;
        let done = block_on(w.complete(t.task.token(), outcome))??;
        if !status_out.is_null() {
            write_out(status_out, done.status.into());
        }
        Ok(())
    })
}

/// Reports that the task's attempt succeeded with `result` (bytes; NULL and 0 for none) and
/// frees its slot. When `status_out` is not NULL it gets the job's status after the call.
///
/// Blocks for one write. Errors: CONFLICT when the lease was lost (the job was rescued or
/// cancelled: nothing is written, the slot is freed); INVALID_ARGUMENT for a result over the
/// size limit (the job stays held); UNAVAILABLE (the job stays held: call again).
#[no_mangle]
pub extern "C" fn reseolio_worker_complete_success(
    worker: reseolio_worker,
    task: reseolio_task,
    result: *const u8,
    result_len: usize,
    status_out: *mut reseolio_job_status,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    complete(
        worker,
        task,
        || Ok(Outcome::Success(read_bytes(result, result_len, "result")?)),
        status_out,
        err,
    )
}

/// Reports that the task's attempt failed with the message `error`. With `retryable` another
/// attempt follows after the backoff while attempts remain (status FAILED), else the job is
/// DEAD. When `status_out` is not NULL it gets the job's status after the call.
///
/// Blocks for one write. Errors: as [`reseolio_worker_complete_success`]; INVALID_ARGUMENT for a
/// NULL or non-UTF-8 message.
#[no_mangle]
pub extern "C" fn reseolio_worker_complete_failure(
    worker: reseolio_worker,
    task: reseolio_task,
    error: *const c_char,
    retryable: bool,
    status_out: *mut reseolio_job_status,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    complete(
        worker,
        task,
        || {
            Ok(Outcome::Failure {
                error: read_str(error, "error")?.to_string(),
                retryable,
            })
        },
        status_out,
        err,
    )
}

/// Extends the task's lease by its timeout, for a run longer than one timeout. When
/// `cancelled_out` is not NULL it says whether the job was cancelled meanwhile (stop the work;
/// its completion will be refused).
///
/// Blocks for one write. Errors: CONFLICT when the lease was lost; INVALID_HANDLE.
#[no_mangle]
pub extern "C" fn reseolio_worker_heartbeat(
    worker: reseolio_worker,
    task: reseolio_task,
    cancelled_out: *mut bool,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    call(err, || {
        let (w, t) = task_of(worker, task)?;
        let beat = block_on(w.heartbeat(t.task.token()))??;
        if !cancelled_out.is_null() {
            write_out(cancelled_out, beat == JobHeartbeatResult::Cancelled);
        }
        Ok(())
    })
}

/// Stops claiming; hands back jobs no poll took; waits up to `grace_ms` for tasks still held to
/// be completed, then hands those back for another worker. Polls blocked on other threads return
/// SHUT_DOWN. The handle stays valid until [`reseolio_worker_free`].
///
/// Blocks until done (at most about `grace_ms`). Errors: INVALID_HANDLE.
#[no_mangle]
pub extern "C" fn reseolio_worker_shutdown(
    worker: reseolio_worker,
    grace_ms: u64,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    call(err, || {
        let w = WORKERS.get(worker.id)?;
        block_on(w.shutdown(Duration::from_millis(grace_ms)))??;
        Ok(())
    })
}

/// Frees a worker handle; later uses answer INVALID_HANDLE. A worker not shut down is shut down
/// first with no grace (jobs it holds are handed back).
///
/// Blocks until then. Errors: INVALID_HANDLE when freed already or never made.
#[no_mangle]
pub extern "C" fn reseolio_worker_free(
    worker: reseolio_worker,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    call(err, || {
        let w = WORKERS.remove(worker.id)?;
        // A second shutdown after reseolio_worker_shutdown does nothing.
        block_on(w.shutdown(Duration::ZERO))??;
        Ok(())
    })
}

/// Whether the task's job was cancelled, or its lease lost (as learned from the last heartbeat
/// or the engine), into `*out`. Never blocks. Errors: INVALID_HANDLE; INVALID_ARGUMENT for a
/// NULL `out`.
#[no_mangle]
pub extern "C" fn reseolio_task_is_cancelled(
    task: reseolio_task,
    out: *mut bool,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    call(err, || {
        check_out(out, "out")?;
        let t = TASKS.get(task.id)?;
        write_out(out, t.task.is_cancelled());
        Ok(())
    })
}

/// Frees a task and the `reseolio_claimed_job` strings and bytes it owns. Complete it first: a
/// task freed uncompleted keeps its job held until the lease lapses, then the job is retried.
///
/// Never blocks. Errors: INVALID_HANDLE when freed already or never made.
#[no_mangle]
pub extern "C" fn reseolio_task_free(
    task: reseolio_task,
    err: *mut *mut reseolio_error,
) -> reseolio_status {
    call(err, || {
        TASKS.remove(task.id)?;
        Ok(())
    })
}

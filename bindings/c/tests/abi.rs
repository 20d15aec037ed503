//! The C ABI called the way a C program calls it (the exported functions, raw pointers and
//! all), on every transport: the embedded engine on SQLite and on PostgreSQL (when
//! RESEOLIO_TEST_POSTGRES_URL names a server; else that case says it was skipped), and a
//! `reseolio` sidecar over gRPC. Then the threading promises: calls from many threads at once,
//! a blocked poll released by a shutdown on another thread, a handle freed while in use.

use reseolio::*;
use std::ffi::{c_char, CStr, CString};
use std::ptr::{null, null_mut};
use std::time::Duration;

/// Panics with the code and message of a failed call.
fn ok(status: reseolio_status, err: *mut reseolio_error) {
    if status != reseolio_status::RESEOLIO_OK {
        let message = unsafe { CStr::from_ptr(reseolio_error_message(err)) }
            .to_string_lossy()
            .into_owned();
        reseolio_error_free(err);
        panic!("{status:?}: {message}");
    }
    assert!(err.is_null(), "an OK call left an error");
}

/// The code and message of a call that must fail; frees the error.
fn failure(status: reseolio_status, err: *mut reseolio_error) -> (reseolio_status, String) {
    assert_ne!(status, reseolio_status::RESEOLIO_OK, "the call succeeded");
    assert_eq!(reseolio_error_code(err), status);
    let message = unsafe { CStr::from_ptr(reseolio_error_message(err)) }
        .to_string_lossy()
        .into_owned();
    assert_eq!(reseolio_error_free(err), reseolio_status::RESEOLIO_OK);
    (status, message)
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn str_of(p: *const c_char) -> String {
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string()
}

fn bytes_of(p: *const u8, len: usize) -> Vec<u8> {
    unsafe { std::slice::from_raw_parts(p, len) }.to_vec()
}

fn connect(url: &str, token: Option<&str>) -> reseolio_client {
    let url = c(url);
    let token = token.map(c);
    let mut options = reseolio_connect_options_default();
    options.poll_interval_ms = 20;
    options.token = token.as_ref().map_or(null(), |t| t.as_ptr());
    let mut client = reseolio_client::default();
    let mut err = null_mut();
    ok(
        reseolio_connect(url.as_ptr(), &options, &mut client, &mut err),
        err,
    );
    client
}

fn enqueue(client: reseolio_client, name: &str, args: &[u8], key: Option<&str>) -> (String, bool) {
    let name = c(name);
    let key = key.map(c);
    let mut options = reseolio_enqueue_options_default();
    options.max_attempts = 3;
    options.initial_delay_ms = 0;
    options.backoff = RESEOLIO_BACKOFF_FIXED;
    options.idempotency_key = key.as_ref().map_or(null(), |k| k.as_ptr());
    let mut out = std::mem::MaybeUninit::<reseolio_enqueued>::uninit();
    let mut err = null_mut();
    ok(
        reseolio_enqueue(
            client,
            name.as_ptr(),
            args.as_ptr(),
            args.len(),
            &options,
            out.as_mut_ptr(),
            &mut err,
        ),
        err,
    );
    let out = unsafe { out.assume_init() };
    (str_of(out.job_id.as_ptr()), out.deduplicated)
}

fn worker(client: reseolio_client, names: &[&str], concurrency: u32) -> reseolio_worker {
    let names: Vec<CString> = names.iter().map(|n| c(n)).collect();
    let ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
    let mut w = reseolio_worker::default();
    let mut err = null_mut();
    ok(
        reseolio_worker_start(
            client,
            ptrs.as_ptr(),
            ptrs.len(),
            concurrency,
            &mut w,
            &mut err,
        ),
        err,
    );
    w
}

fn poll(w: reseolio_worker, timeout_ms: i64) -> (reseolio_task, reseolio_claimed_job) {
    let mut task = reseolio_task::default();
    let mut job = std::mem::MaybeUninit::<reseolio_claimed_job>::uninit();
    let mut err = null_mut();
    ok(
        reseolio_worker_poll(w, timeout_ms, &mut task, job.as_mut_ptr(), &mut err),
        err,
    );
    (task, unsafe { job.assume_init() })
}

/// A job read back: status, attempt, result.
fn read(
    client: reseolio_client,
    id: &str,
    call: extern "C" fn(
        reseolio_client,
        *const c_char,
        *mut *mut reseolio_job,
        *mut *mut reseolio_error,
    ) -> reseolio_status,
) -> (reseolio_job_status, u32, Option<Vec<u8>>) {
    let id = c(id);
    let mut job = null_mut();
    let mut err = null_mut();
    ok(call(client, id.as_ptr(), &mut job, &mut err), err);
    let j = unsafe { &*job };
    let out = (
        j.status,
        j.attempt,
        (!j.result.is_null()).then(|| bytes_of(j.result, j.result_len)),
    );
    assert_eq!(reseolio_job_free(job), reseolio_status::RESEOLIO_OK);
    out
}

fn await_result(client: reseolio_client, id: &str, timeout_ms: i64) -> reseolio_job_status {
    let id = c(id);
    let mut job = null_mut();
    let mut err = null_mut();
    ok(
        reseolio_await_result(client, id.as_ptr(), timeout_ms, &mut job, &mut err),
        err,
    );
    let status = unsafe { (*job).status };
    reseolio_job_free(job);
    status
}

/// Completes a task with an empty result, then frees it.
fn succeed_and_free(w: reseolio_worker, task: reseolio_task) {
    let mut err = null_mut();
    ok(
        reseolio_worker_complete_success(w, task, null(), 0, null_mut(), &mut err),
        err,
    );
    ok(reseolio_task_free(task, &mut err), err);
}

/// A client of the embedded engine on a fresh SQLite file in `dir`.
fn sqlite_client(dir: &tempfile::TempDir) -> reseolio_client {
    connect(
        &format!("sqlite://{}", dir.path().join("c.db").display()),
        None,
    )
}

fn free_client(client: reseolio_client) {
    let mut err = null_mut();
    ok(reseolio_client_free(client, &mut err), err);
}

fn shutdown_and_free(w: reseolio_worker) {
    let mut err = null_mut();
    ok(reseolio_worker_shutdown(w, 1000, &mut err), err);
    ok(reseolio_worker_free(w, &mut err), err);
}

/// One job through every client and worker call: dedup by key, a retried failure, a heartbeat,
/// a success, the result awaited, a cancel refused.
fn a_job_end_to_end(client: reseolio_client) {
    let (id, dedup) = enqueue(client, "c:add", b"[2,3]", Some("key-1"));
    assert!(!dedup);
    let (again, dedup) = enqueue(client, "c:add", b"[9,9]", Some("key-1"));
    assert_eq!((again.as_str(), dedup), (id.as_str(), true));

    let w = worker(client, &["c:add"], 2);
    let (task, job) = poll(w, 10_000);
    assert_eq!(str_of(job.job_id), id);
    assert_eq!(str_of(job.name), "c:add");
    assert_eq!(bytes_of(job.args, job.args_len), b"[2,3]");
    assert_eq!((job.attempt, job.max_attempts), (1, 3));
    assert!(job.deadline_ms > 0 && job.timeout_ms > 0);

    let mut err = null_mut();
    let mut cancelled = true;
    ok(
        reseolio_worker_heartbeat(w, task, &mut cancelled, &mut err),
        err,
    );
    assert!(!cancelled);
    let mut status = reseolio_job_status::RESEOLIO_JOB_PENDING;
    let message = c("first attempt fails");
    ok(
        reseolio_worker_complete_failure(w, task, message.as_ptr(), true, &mut status, &mut err),
        err,
    );
    assert_eq!(status, reseolio_job_status::RESEOLIO_JOB_FAILED);
    ok(reseolio_task_free(task, &mut err), err);

    let (task, job) = poll(w, 10_000);
    assert_eq!(job.attempt, 2);
    ok(
        reseolio_worker_complete_success(w, task, b"5".as_ptr(), 1, &mut status, &mut err),
        err,
    );
    assert_eq!(status, reseolio_job_status::RESEOLIO_JOB_SUCCESS);
    ok(reseolio_task_free(task, &mut err), err);

    assert_eq!(
        await_result(client, &id, 10_000),
        reseolio_job_status::RESEOLIO_JOB_SUCCESS
    );
    let (status, attempt, result) = read(client, &id, reseolio_get);
    assert_eq!(
        (status, attempt, result.as_deref()),
        (
            reseolio_job_status::RESEOLIO_JOB_SUCCESS,
            2,
            Some(&b"5"[..])
        )
    );
    let idc = c(&id);
    let mut job = null_mut();
    let (code, message) = failure(
        reseolio_cancel(client, idc.as_ptr(), &mut job, &mut err),
        err,
    );
    assert_eq!(code, reseolio_status::RESEOLIO_CONFLICT, "{message}");
    assert!(job.is_null());

    // A job cancelled while held: the heartbeat says so, then a retry runs it again.
    let (id, _) = enqueue(client, "c:add", b"[1,1]", None);
    let (task, _) = poll(w, 10_000);
    let (status, _, _) = read(client, &id, reseolio_cancel);
    assert_eq!(status, reseolio_job_status::RESEOLIO_JOB_CANCELLED);
    // The heartbeat says so: OK with `cancelled` set, or CONFLICT once the lease is gone.
    cancelled = false;
    let status = reseolio_worker_heartbeat(w, task, &mut cancelled, &mut err);
    if status == reseolio_status::RESEOLIO_OK {
        assert!(cancelled, "the heartbeat of a cancelled job says so");
    } else {
        let (code, message) = failure(status, err);
        assert_eq!(code, reseolio_status::RESEOLIO_CONFLICT, "{message}");
    }
    let (code, _) = failure(
        reseolio_worker_complete_success(w, task, null(), 0, null_mut(), &mut err),
        err,
    );
    assert_eq!(code, reseolio_status::RESEOLIO_CONFLICT);
    ok(reseolio_task_free(task, &mut err), err);
    // PENDING again; a sidecar's worker may already have claimed it when the answer is read.
    let (status, _, _) = read(client, &id, reseolio_retry);
    assert!(
        matches!(
            status,
            reseolio_job_status::RESEOLIO_JOB_PENDING | reseolio_job_status::RESEOLIO_JOB_RUNNING
        ),
        "{status:?}"
    );
    let (task, job) = poll(w, 10_000);
    assert_eq!(str_of(job.job_id), id);
    succeed_and_free(w, task);
    shutdown_and_free(w);
}

#[test]
fn a_job_runs_end_to_end_on_embedded_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let client = sqlite_client(&dir);
    a_job_end_to_end(client);
    free_client(client);
}

#[test]
fn a_job_runs_end_to_end_on_embedded_postgres() {
    let Ok(server) = std::env::var("RESEOLIO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: RESEOLIO_TEST_POSTGRES_URL is not set");
        return;
    };
    let sep = if server.contains('?') { '&' } else { '?' };
    let schema = format!("c_abi_{}", std::process::id());
    let client = connect(&format!("{server}{sep}schema={schema}"), None);
    a_job_end_to_end(client);
    free_client(client);
}

/// A `reseolio` sidecar served in-process on 127.0.0.1:0 with a token.
fn sidecar(dir: &std::path::Path) -> (reseolio_sidecar::Serving, String) {
    let url = format!("sqlite://{}", dir.join("sidecar.db").display());
    let serving = reseolio_ffi::runtime().block_on(async move {
        let engine = reseolio_core::Engine::open(&url, Default::default()).unwrap();
        reseolio_sidecar::serve(
            engine,
            reseolio_sidecar::ServeConfig {
                addr: "127.0.0.1:0".parse().unwrap(),
                token: Some("t0ken".into()),
                max_concurrent: 100,
                grace: Duration::from_secs(1),
            },
        )
        .await
        .unwrap()
    });
    let addr = format!("grpc://{}", serving.local_addr());
    (serving, addr)
}

#[test]
fn a_job_runs_end_to_end_through_a_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let (_serving, url) = sidecar(dir.path());
    let client = connect(&url, Some("t0ken"));
    a_job_end_to_end(client);
    free_client(client);

    // The wrong token: the first call says why.
    let client = connect(&url, Some("wrong"));
    let name = c("c:add");
    let mut out = std::mem::MaybeUninit::<reseolio_enqueued>::uninit();
    let mut err = null_mut();
    let (code, message) = failure(
        reseolio_enqueue(
            client,
            name.as_ptr(),
            null(),
            0,
            null(),
            out.as_mut_ptr(),
            &mut err,
        ),
        err,
    );
    assert_eq!(
        code,
        reseolio_status::RESEOLIO_INVALID_ARGUMENT,
        "{message}"
    );
    assert!(message.contains("token"), "{message}");
    free_client(client);
}

#[test]
fn calls_from_many_threads_at_once_on_the_same_handles() {
    let dir = tempfile::tempdir().unwrap();
    let client = sqlite_client(&dir);
    let w = worker(client, &["c:square"], 8);
    // Four threads run the worker loop on the one worker handle.
    let runners: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut done = 0;
                loop {
                    let mut task = reseolio_task::default();
                    let mut job = std::mem::MaybeUninit::<reseolio_claimed_job>::uninit();
                    let mut err = null_mut();
                    let status = reseolio_worker_poll(w, -1, &mut task, job.as_mut_ptr(), &mut err);
                    if status == reseolio_status::RESEOLIO_SHUT_DOWN {
                        reseolio_error_free(err);
                        return done;
                    }
                    ok(status, err);
                    let job = unsafe { job.assume_init() };
                    let n: u64 = String::from_utf8(bytes_of(job.args, job.args_len))
                        .unwrap()
                        .parse()
                        .unwrap();
                    let result = (n * n).to_string();
                    ok(
                        reseolio_worker_complete_success(
                            w,
                            task,
                            result.as_ptr(),
                            result.len(),
                            null_mut(),
                            &mut err,
                        ),
                        err,
                    );
                    ok(reseolio_task_free(task, &mut err), err);
                    done += 1;
                }
            })
        })
        .collect();
    // Eight threads enqueue and await 25 jobs each on the one client handle.
    let producers: Vec<_> = (0..8u64)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..25u64 {
                    let n = t * 100 + i;
                    let (id, _) = enqueue(client, "c:square", n.to_string().as_bytes(), None);
                    assert_eq!(
                        await_result(client, &id, 30_000),
                        reseolio_job_status::RESEOLIO_JOB_SUCCESS
                    );
                    let (_, _, result) = read(client, &id, reseolio_get);
                    assert_eq!(result.unwrap(), (n * n).to_string().into_bytes());
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    // The shutdown on this thread releases the four polls blocked on the others.
    let mut err = null_mut();
    ok(reseolio_worker_shutdown(w, 1000, &mut err), err);
    let done: usize = runners.into_iter().map(|r| r.join().unwrap()).sum();
    assert_eq!(done, 200);
    ok(reseolio_worker_free(w, &mut err), err);
    free_client(client);
}

#[test]
fn a_handle_freed_while_another_thread_uses_it_is_refused_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let client = sqlite_client(&dir);
    let (id, _) = enqueue(client, "c:read", b"[]", None);
    let reader = std::thread::spawn(move || {
        let idc = c(&id);
        let mut reads = 0u32;
        loop {
            let mut job = null_mut();
            let mut err = null_mut();
            let status = reseolio_get(client, idc.as_ptr(), &mut job, &mut err);
            if status == reseolio_status::RESEOLIO_OK {
                reseolio_job_free(job);
                reads += 1;
                continue;
            }
            let (code, message) = failure(status, err);
            // Either the handle is gone, or the store closed under a call already in flight.
            assert!(
                code == reseolio_status::RESEOLIO_INVALID_HANDLE
                    || code == reseolio_status::RESEOLIO_SHUT_DOWN,
                "{code:?}: {message}"
            );
            if code == reseolio_status::RESEOLIO_INVALID_HANDLE {
                assert!(message.contains("freed already"), "{message}");
                return reads;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    free_client(client);
    assert!(reader.join().unwrap() > 0);
}

#[test]
fn a_poll_times_out_without_losing_the_job_that_comes_later() {
    let dir = tempfile::tempdir().unwrap();
    let client = sqlite_client(&dir);
    let w = worker(client, &["c:later"], 1);
    let mut task = reseolio_task::default();
    let mut err = null_mut();
    let (code, message) = failure(
        reseolio_worker_poll(w, 50, &mut task, null_mut(), &mut err),
        err,
    );
    assert_eq!(code, reseolio_status::RESEOLIO_TIMEOUT, "{message}");
    let (id, _) = enqueue(client, "c:later", b"[]", None);
    let (task, job) = poll(w, 10_000);
    assert_eq!(str_of(job.job_id), id);
    succeed_and_free(w, task);
    shutdown_and_free(w);
    free_client(client);
}

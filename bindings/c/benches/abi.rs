//! What the C boundary costs: the same calls through the exported C functions and through the
//! Rust Client they wrap, interleaved in one run on one database so that both see the same
//! machine. Prints one JSON line per figure, then the C/Rust ratios. Run by `ci/bench`.
//!
//! Figures: `get` of one job p50/p99 (a read that is mostly boundary and runtime hand-off);
//! `enqueue` p50/p99 (a durable write); a drain of 10,000 no-op jobs by one worker of
//! concurrency 64 polled from 4 threads, through the C functions. RESEOLIO_BENCH_SCALE shrinks
//! the counts; RESEOLIO_BENCH_DIR picks where the database lives.

use reseolio::*;
use reseolio_ffi::{Client, ConnectOptions, EnqueueOptions};
use std::ffi::CString;
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};

// The helpers of the engine's benchmarks (scale, cores, percentiles), shared rather than copied.
#[allow(dead_code)]
#[path = "../../../core/benches/common/mod.rs"]
mod common;
use common::{cores, percentile, scale};

fn emit(figure: &str, transport: &str, value: f64, unit: &str) {
    println!(
        "{{\"figure\":\"{figure}\",\"transport\":\"{transport}\",\"value\":{value:.3},\"unit\":\"{unit}\",\"cores\":{}}}",
        cores()
    );
}

fn must(status: reseolio_status, err: *mut reseolio_error) {
    assert_eq!(status, reseolio_status::RESEOLIO_OK, "{}", unsafe {
        std::ffi::CStr::from_ptr(reseolio_error_message(err)).to_string_lossy()
    });
}

/// p50 and p99 of each side, and the ratio of the C p50 to the Rust one.
fn report(figure: &str, mut c: Vec<Duration>, mut rust: Vec<Duration>) {
    c.sort();
    rust.sort();
    for (side, v) in [("c", &c), ("rust", &rust)] {
        emit(&format!("{figure}_p50"), side, percentile(v, 0.5), "us");
        emit(&format!("{figure}_p99"), side, percentile(v, 0.99), "us");
    }
    let ratio = percentile(&c, 0.5) / percentile(&rust, 0.5);
    emit(&format!("ratio_c_to_rust_{figure}_p50"), "c", ratio, "x");
}

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("reseolio-c-bench")
        .tempdir_in(std::env::var("RESEOLIO_BENCH_DIR").unwrap_or_else(|_| "/tmp".into()))
        .unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let curl = CString::new(url.as_str()).unwrap();
    let mut client = reseolio_client::default();
    let mut err = null_mut();
    must(
        reseolio_connect(curl.as_ptr(), null(), &mut client, &mut err),
        err,
    );
    // The Rust side opens its own client on the same file: both pay for the same database.
    let rust = Client::connect(&url, ConnectOptions::default()).unwrap();
    let rt = reseolio_ffi::runtime();

    let name = CString::new("bench").unwrap();
    let mut enqueued = std::mem::MaybeUninit::<reseolio_enqueued>::uninit();

    // Enqueue: alternate one C call and one Rust call.
    let n = scale(5_000);
    let (mut c_times, mut rust_times) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = Instant::now();
        must(
            reseolio_enqueue(
                client,
                name.as_ptr(),
                b"[]".as_ptr(),
                2,
                null(),
                enqueued.as_mut_ptr(),
                &mut err,
            ),
            err,
        );
        c_times.push(t.elapsed());
        let t = Instant::now();
        rt.block_on(rust.enqueue("bench", b"[]".to_vec(), EnqueueOptions::default()))
            .unwrap();
        rust_times.push(t.elapsed());
    }
    report("enqueue", c_times, rust_times);

    // Get: one job, read again and again.
    let id = unsafe { enqueued.assume_init() }.job_id;
    let id_str = unsafe { std::ffi::CStr::from_ptr(id.as_ptr()) }
        .to_str()
        .unwrap()
        .to_string();
    let n = scale(20_000);
    let (mut c_times, mut rust_times) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = Instant::now();
        let mut job = null_mut();
        must(reseolio_get(client, id.as_ptr(), &mut job, &mut err), err);
        reseolio_job_free(job);
        c_times.push(t.elapsed());
        let t = Instant::now();
        rt.block_on(rust.get(&id_str)).unwrap();
        rust_times.push(t.elapsed());
    }
    report("get", c_times, rust_times);

    // Drain through the C functions: 10,000 no-op jobs, one worker of concurrency 64, 4 threads
    // in the poll-complete-free loop a C host would write.
    let n = scale(10_000);
    let drain = CString::new("drain").unwrap();
    for _ in 0..n {
        must(
            reseolio_enqueue(
                client,
                drain.as_ptr(),
                null(),
                0,
                null(),
                enqueued.as_mut_ptr(),
                &mut err,
            ),
            err,
        );
    }
    let names = [drain.as_ptr()];
    let mut worker = reseolio_worker::default();
    let start = Instant::now();
    must(
        reseolio_worker_start(client, names.as_ptr(), 1, 64, &mut worker, &mut err),
        err,
    );
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let done = done.clone();
            std::thread::spawn(move || loop {
                let mut task = reseolio_task::default();
                let mut err = null_mut();
                let status = reseolio_worker_poll(worker, -1, &mut task, null_mut(), &mut err);
                if status == reseolio_status::RESEOLIO_SHUT_DOWN {
                    reseolio_error_free(err);
                    return;
                }
                must(status, err);
                must(
                    reseolio_worker_complete_success(worker, task, null(), 0, null_mut(), &mut err),
                    err,
                );
                reseolio_task_free(task, null_mut());
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
        })
        .collect();
    while done.load(std::sync::atomic::Ordering::Relaxed) < n {
        std::thread::sleep(Duration::from_millis(2));
    }
    let secs = start.elapsed().as_secs_f64();
    emit(
        "drain_concurrency_64_jobs_per_s",
        "c",
        n as f64 / secs,
        "jobs/s",
    );
    must(reseolio_worker_shutdown(worker, 1000, &mut err), err);
    for t in threads {
        t.join().unwrap();
    }
    must(reseolio_worker_free(worker, &mut err), err);
    must(reseolio_client_free(client, &mut err), err);
    rt.block_on(rust.close()).unwrap();
}

//! The sidecar benchmark: the engine workloads through a `reseolio` sidecar (a real child
//! process) from the Rust Client over gRPC, next to the embedded engine in the same run. Prints
//! one JSON line per figure. Run by `ci/bench`, which builds the release sidecar and passes its
//! path in RESEOLIO_SIDECAR_BIN.
//!
//! Figures: remote sequential enqueue p50/p99; drain of 10,000 no-op jobs by one remote worker at
//! concurrency 64, and the embedded drain of the same; round trip p50/p99 with an idle remote
//! worker; the sidecar's RSS idle and after draining 100,000 jobs. RESEOLIO_BENCH_SCALE shrinks
//! the counts.

use reseolio_ffi::{Client, ConnectOptions, EnqueueOptions, Outcome};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// The helpers of the engine's benchmarks (scale, cores, percentiles), shared rather than copied.
#[allow(dead_code)]
#[path = "../../core/benches/common/mod.rs"]
mod common;
use common::{cores, percentile as pct, scale};

fn emit(figure: &str, value: f64, unit: &str) {
    emit_for("sidecar", figure, value, unit);
}

fn emit_for(transport: &str, figure: &str, value: f64, unit: &str) {
    println!(
        "{{\"figure\":\"{figure}\",\"transport\":\"{transport}\",\"value\":{value:.3},\"unit\":\"{unit}\",\"cores\":{}}}",
        cores()
    );
}

fn rss_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

async fn fill(c: &Client, n: usize) {
    let mut producers = Vec::new();
    for p in 0..16 {
        let c = c.clone();
        producers.push(tokio::spawn(async move {
            for _ in (p..n).step_by(16) {
                c.enqueue("noop", b"[]".to_vec(), EnqueueOptions::default())
                    .await
                    .unwrap();
            }
        }));
    }
    for p in producers {
        p.await.unwrap();
    }
}

/// Drains `n` jobs already enqueued with one worker of `concurrency`; jobs/s.
async fn drain(c: &Client, n: usize, concurrency: u32) -> f64 {
    let w = c.worker(vec!["noop".into()], concurrency).await.unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut loops = Vec::new();
    for _ in 0..concurrency {
        let (w, done) = (w.clone(), done.clone());
        loops.push(tokio::spawn(async move {
            while done.load(std::sync::atomic::Ordering::Relaxed) < n {
                let Ok(Ok(t)) = tokio::time::timeout(Duration::from_millis(200), w.poll()).await
                else {
                    continue;
                };
                w.complete(t.token(), Outcome::Success(b"null".to_vec()))
                    .await
                    .unwrap();
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    for l in loops {
        l.await.unwrap();
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    w.shutdown(Duration::from_secs(1)).await.unwrap();
    rate
}

fn main() {
    let Ok(bin) = std::env::var("RESEOLIO_SIDECAR_BIN") else {
        eprintln!("RESEOLIO_SIDECAR_BIN is not set: run this through ci/bench");
        std::process::exit(2);
    };
    let dir = tempfile::Builder::new()
        .prefix("reseolio-remote-bench")
        .tempdir_in(std::env::var("RESEOLIO_BENCH_DIR").unwrap_or_else(|_| ".".into()))
        .unwrap();
    let mut sidecar = Command::new(bin)
        .env("RESEOLIO_DB", dir.path().join("remote.db"))
        .env("RESEOLIO_ADDR", "127.0.0.1:0")
        .env("RESEOLIO_MAX_CONCURRENT", "256")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = sidecar.id();
    let mut lines = BufReader::new(sidecar.stderr.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    let addr = ready.split_whitespace().nth(3).unwrap().to_string();
    std::thread::sleep(Duration::from_millis(500));
    emit("sidecar_rss_idle", rss_mib(pid, "VmRSS:"), "MiB");

    let rt = reseolio_ffi::runtime();
    rt.block_on(async {
        let remote = Client::connect(&format!("grpc://{addr}"), ConnectOptions::default()).unwrap();
        let embedded = Client::connect(
            &format!("sqlite://{}", dir.path().join("embedded.db").display()),
            ConnectOptions::default(),
        )
        .unwrap();

        let n = scale(2000);
        let mut lat = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            remote
                .enqueue("seq", b"[]".to_vec(), EnqueueOptions::default())
                .await
                .unwrap();
            lat.push(t.elapsed());
        }
        lat.sort();
        emit("remote_enqueue_p50", pct(&lat, 0.5), "us");
        emit("remote_enqueue_p99", pct(&lat, 0.99), "us");

        let n = scale(10_000);
        fill(&remote, n).await;
        let remote_rate = drain(&remote, n, 64).await;
        emit("remote_drain_concurrency_64_jobs_per_s", remote_rate, "jobs/s");
        fill(&embedded, n).await;
        let embedded_rate = drain(&embedded, n, 64).await;
        emit_for(
            "embedded",
            "drain_concurrency_64_jobs_per_s",
            embedded_rate,
            "jobs/s",
        );
        let ratio = remote_rate / embedded_rate;
        println!(
            "{{\"figure\":\"ratio_remote_drain_to_embedded\",\"value\":{ratio:.3},\"target\":0.5,\"met\":{},\"cores\":{}}}",
            ratio >= 0.5,
            cores()
        );

        let w = remote.worker(vec!["echo".into()], 1).await.unwrap();
        let runner = {
            let w = w.clone();
            tokio::spawn(async move {
                while let Ok(t) = w.poll().await {
                    let args = t.job().args.clone();
                    let _ = w.complete(t.token(), Outcome::Success(args)).await;
                }
            })
        };
        let n = scale(1000);
        let mut lat = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let job = remote
                .enqueue("echo", b"[]".to_vec(), EnqueueOptions::default())
                .await
                .unwrap();
            remote.await_result(&job.job_id, None).await.unwrap();
            lat.push(t.elapsed());
        }
        lat.sort();
        emit("remote_round_trip_p50", pct(&lat, 0.5), "us");
        emit("remote_round_trip_p99", pct(&lat, 0.99), "us");
        w.shutdown(Duration::from_secs(1)).await.unwrap();
        runner.abort();

        let n = scale(100_000);
        fill(&remote, n).await;
        drain(&remote, n, 64).await;
        emit("sidecar_jobs_drained_for_rss", n as f64, "jobs");
        emit("sidecar_rss_after_drain", rss_mib(pid, "VmRSS:"), "MiB");
        emit("sidecar_rss_peak", rss_mib(pid, "VmHWM:"), "MiB");
        embedded.close().await.unwrap();
    });
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let _ = sidecar.wait();
}

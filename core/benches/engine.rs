//! The engine benchmark: prints one JSON line per figure (see `ci/bench`).
//!
//! For each durability mode (normal, full) on a file database:
//! - raw baseline: single-row INSERT commits per second with plain rusqlite, same WAL and sync mode;
//! - sequential enqueue: p50/p99 latency and jobs/s; concurrent enqueue from 16 producers: jobs/s;
//! - drain: 10,000 no-op jobs already enqueued, one worker at concurrency 10 and 64: jobs/s;
//! - round trip: an idle worker, 1,000 jobs one after another, enqueue to awaited result: p50/p99;
//!
//! Then the ratios the engine issue sets as targets, and the peak RSS of the process.
//!
//! Sizes can be scaled down with RESEOLIO_BENCH_SCALE (e.g. 0.1) for a quick look.

use reseolio_core::{Engine, EngineConfig, EnqueueOptions, Outcome, WorkerOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::{cores, fill, percentile, scale};

fn emit(figure: &str, mode: &str, value: f64, unit: &str) {
    println!(
        "{{\"figure\":\"{figure}\",\"durability\":\"{mode}\",\"value\":{value:.3},\"unit\":\"{unit}\",\"cores\":{}}}",
        cores()
    );
}

struct Raw {
    commits_per_s: f64,
    p50_us: f64,
}

fn raw_baseline(dir: &std::path::Path, mode: &str, n: usize) -> Raw {
    let path = dir.join(format!("raw-{mode}.db"));
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {mode};
         CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, args BLOB NOT NULL);"
    ))
    .unwrap();
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        conn.execute("INSERT INTO t (name, args) VALUES ('noop', x'5b5d')", [])
            .unwrap();
        lat.push(t.elapsed());
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    Raw {
        commits_per_s: n as f64 / secs,
        p50_us: percentile(&lat, 0.5),
    }
}

fn open(dir: &std::path::Path, name: &str, mode: &str) -> Engine {
    let url = format!("sqlite://{}?durability={mode}", dir.join(name).display());
    Engine::open(&url, EngineConfig::default()).unwrap()
}

async fn drain(dir: &std::path::Path, mode: &str, n: usize, concurrency: u32) -> f64 {
    let engine = open(dir, &format!("drain-{concurrency}-{mode}.db"), mode);
    fill(&engine, n).await;
    let worker = Arc::new(
        engine
            .worker(WorkerOptions {
                names: vec!["noop".into()],
                concurrency,
                worker_id: None,
            })
            .unwrap(),
    );
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut loops = Vec::new();
    for _ in 0..concurrency {
        let (w, done) = (worker.clone(), done.clone());
        loops.push(tokio::spawn(async move {
            while done.load(std::sync::atomic::Ordering::Relaxed) < n {
                let task = match tokio::time::timeout(Duration::from_millis(200), w.poll()).await {
                    Ok(Ok(t)) => t,
                    _ => continue,
                };
                w.complete(task.token(), Outcome::Success(b"null".to_vec()))
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
    worker.shutdown(Duration::from_secs(1)).await;
    engine.shutdown().await;
    rate
}

async fn run_mode(dir: &std::path::Path, mode: &str) {
    let raw = raw_baseline(dir, mode, scale(3000));
    emit(
        "raw_insert_commits_per_s",
        mode,
        raw.commits_per_s,
        "commits/s",
    );
    emit("raw_commit_latency_p50", mode, raw.p50_us, "us");

    // Sequential enqueue.
    let engine = open(dir, &format!("enqueue-{mode}.db"), mode);
    let n = scale(3000);
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        engine
            .enqueue("noop", b"[]".to_vec(), EnqueueOptions::default())
            .await
            .unwrap();
        lat.push(t.elapsed());
    }
    let seq_rate = n as f64 / start.elapsed().as_secs_f64();
    lat.sort();
    emit("sequential_enqueue_p50", mode, percentile(&lat, 0.5), "us");
    emit("sequential_enqueue_p99", mode, percentile(&lat, 0.99), "us");
    emit("sequential_enqueue_jobs_per_s", mode, seq_rate, "jobs/s");

    // Concurrent enqueue, 16 producers.
    let per = scale(1000);
    let start = Instant::now();
    let mut producers = Vec::new();
    for _ in 0..16 {
        let e = engine.clone();
        producers.push(tokio::spawn(async move {
            for _ in 0..per {
                e.enqueue("noop", b"[]".to_vec(), EnqueueOptions::default())
                    .await
                    .unwrap();
            }
        }));
    }
    for p in producers {
        p.await.unwrap();
    }
    let conc_rate = (16 * per) as f64 / start.elapsed().as_secs_f64();
    emit(
        "concurrent_enqueue_16_jobs_per_s",
        mode,
        conc_rate,
        "jobs/s",
    );
    engine.shutdown().await;

    // Drain.
    let mut drains = Vec::new();
    for c in [10u32, 64] {
        let rate = drain(dir, mode, scale(10_000), c).await;
        emit(
            &format!("drain_concurrency_{c}_jobs_per_s"),
            mode,
            rate,
            "jobs/s",
        );
        drains.push(rate);
    }

    // Round trip with an idle worker.
    let engine = open(dir, &format!("roundtrip-{mode}.db"), mode);
    let worker = Arc::new(
        engine
            .worker(WorkerOptions {
                names: vec!["echo".into()],
                concurrency: 1,
                worker_id: None,
            })
            .unwrap(),
    );
    let runner = {
        let w = worker.clone();
        tokio::spawn(async move {
            while let Ok(task) = w.poll().await {
                let args = task.job.args.clone();
                let _ = w.complete(task.token(), Outcome::Success(args)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let n = scale(1000);
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let job = engine
            .enqueue("echo", b"[]".to_vec(), EnqueueOptions::default())
            .await
            .unwrap();
        engine.await_result(&job.job_id, None).await.unwrap();
        lat.push(t.elapsed());
    }
    lat.sort();
    let rt_p50 = percentile(&lat, 0.5);
    emit("round_trip_p50", mode, rt_p50, "us");
    emit("round_trip_p99", mode, percentile(&lat, 0.99), "us");
    worker.shutdown(Duration::from_secs(1)).await;
    runner.abort();
    engine.shutdown().await;

    // The targets, as ratios to the raw baseline measured above.
    let drain_min = drains.iter().cloned().fold(f64::INFINITY, f64::min);
    for (figure, ratio, target, higher_is_better) in [
        (
            "ratio_sequential_enqueue_to_raw",
            seq_rate / raw.commits_per_s,
            0.5,
            true,
        ),
        (
            "ratio_drain_min_to_raw",
            drain_min / raw.commits_per_s,
            1.0,
            true,
        ),
        (
            "ratio_round_trip_p50_to_raw_commit_p50",
            rt_p50 / raw.p50_us,
            5.0,
            false,
        ),
    ] {
        let met = if higher_is_better {
            ratio >= target
        } else {
            ratio <= target
        };
        println!(
            "{{\"figure\":\"{figure}\",\"durability\":\"{mode}\",\"value\":{ratio:.3},\"target\":{target},\"met\":{met},\"cores\":{}}}",
            cores()
        );
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let dir = tempfile::Builder::new()
        .prefix("reseolio-bench")
        .tempdir_in(std::env::var("RESEOLIO_BENCH_DIR").unwrap_or_else(|_| ".".into()))
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for mode in ["normal", "full"] {
            run_mode(dir.path(), mode).await;
        }
    });
    println!(
        "{{\"figure\":\"peak_rss\",\"value\":{:.1},\"unit\":\"MiB\",\"cores\":{}}}",
        peak_rss_kib() as f64 / 1024.0,
        cores()
    );
}

//! The step benchmark: what a durable step costs next to a job. Prints one JSON line per figure
//! (see `ci/bench`). On a SQLite file, durability normal:
//!
//! - throughput: 10 × N no-op jobs drained by one worker at concurrency 10 (jobs/s), against N
//!   jobs of 10 no-op steps each, same worker (steps/s; each job also pays its own claim and
//!   completion);
//! - latency, one at a time on an idle engine: a job's round trip (enqueue to awaited result,
//!   p50/p99) against one step's record call inside a running job (p50/p99), and a whole
//!   10-step function's round trip divided by 10.
//!
//! The target: a step costs no more than a job (step/job ratios of at least 1 for throughput, at
//! most 1 for latency). RESEOLIO_BENCH_SCALE shrinks the workloads.

use reseolio_core::{
    Engine, EngineConfig, EnqueueOptions, Outcome, StepOutcome, StepRecord, Worker, WorkerOptions,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// Shared by every benchmark program; this one uses only part of it.
#[allow(dead_code)]
mod common;
use common::{cores, percentile, scale};

const STEPS: u32 = 10;

fn emit(figure: &str, value: f64, unit: &str) {
    println!(
        "{{\"figure\":\"{figure}\",\"backend\":\"sqlite\",\"value\":{value:.3},\"unit\":\"{unit}\",\"cores\":{}}}",
        cores()
    );
}

fn open(dir: &std::path::Path, name: &str) -> Engine {
    let url = format!("sqlite://{}", dir.join(name).display());
    Engine::open(&url, EngineConfig::default()).unwrap()
}

fn worker(engine: &Engine, name: &str, concurrency: u32) -> Arc<Worker> {
    Arc::new(
        engine
            .worker(WorkerOptions {
                names: vec![name.into()],
                concurrency,
                worker_id: None,
            })
            .unwrap(),
    )
}

/// Runs a job's handler: `steps` no-op steps recorded one after another, then success. Returns
/// each step's record latency.
async fn run_flow(
    engine: &Engine,
    w: &Worker,
    task: &reseolio_core::Task,
    steps: u32,
) -> Vec<Duration> {
    let mut lat = Vec::with_capacity(steps as usize);
    for seq in 0..steps {
        let t = Instant::now();
        engine
            .step_record(
                task.token(),
                StepRecord {
                    seq,
                    name: format!("step-{seq}"),
                    outcome: StepOutcome::Success(b"null".to_vec()),
                    attempts: 1,
                    started_at: 0,
                },
            )
            .await
            .unwrap();
        lat.push(t.elapsed());
    }
    w.complete(task.token(), Outcome::Success(b"null".to_vec()))
        .await
        .unwrap();
    lat
}

async fn enqueue_many(engine: &Engine, name: &str, n: usize) {
    let mut tasks = Vec::new();
    for p in 0..16 {
        let e = engine.clone();
        let name = name.to_string();
        tasks.push(tokio::spawn(async move {
            for _ in (p..n).step_by(16) {
                e.enqueue(&name, b"[]".to_vec(), EnqueueOptions::default())
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Drains `jobs` jobs of `name` with 10 handler loops, each job running `steps` steps; returns
/// units (steps, or jobs when `steps` is 0) per second.
async fn drain(engine: &Engine, name: &str, jobs: usize, steps: u32) -> f64 {
    enqueue_many(engine, name, jobs).await;
    let w = worker(engine, name, 10);
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut loops = Vec::new();
    for _ in 0..10 {
        let (w, e, done) = (w.clone(), engine.clone(), done.clone());
        loops.push(tokio::spawn(async move {
            while done.load(Ordering::Relaxed) < jobs {
                let task = match tokio::time::timeout(Duration::from_millis(200), w.poll()).await {
                    Ok(Ok(t)) => t,
                    _ => continue,
                };
                run_flow(&e, &w, &task, steps).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for l in loops {
        l.await.unwrap();
    }
    let units = jobs * steps.max(1) as usize;
    let rate = units as f64 / start.elapsed().as_secs_f64();
    w.shutdown(Duration::from_secs(1)).await;
    rate
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let base = std::env::var("RESEOLIO_BENCH_DIR").unwrap_or_else(|_| ".".into());
    let dir = tempfile::tempdir_in(base).unwrap();
    let n = scale(1000);

    // Throughput, in one run so the machine's state is shared.
    let e = open(dir.path(), "jobs.db");
    let jobs_rate = drain(&e, "noop", n * STEPS as usize, 0).await;
    e.shutdown().await;
    let e = open(dir.path(), "steps.db");
    let steps_rate = drain(&e, "flow", n, STEPS).await;
    e.shutdown().await;
    emit("jobs_drain_concurrency_10_per_s", jobs_rate, "jobs/s");
    emit("steps_drain_concurrency_10_per_s", steps_rate, "steps/s");
    emit("step_over_job_throughput", steps_rate / jobs_rate, "ratio");

    // Latency, one at a time.
    let e = open(dir.path(), "latency.db");
    let w = worker(&e, "one", 1);
    let per_flow = Arc::new(std::sync::Mutex::new(Vec::new()));
    let steps_in_flow = Arc::new(AtomicUsize::new(0));
    let runner = {
        let (w, e, per_flow, steps_in_flow) = (
            w.clone(),
            e.clone(),
            per_flow.clone(),
            steps_in_flow.clone(),
        );
        tokio::spawn(async move {
            while let Ok(task) = w.poll().await {
                let steps = steps_in_flow.load(Ordering::Relaxed) as u32;
                let lat = run_flow(&e, &w, &task, steps).await;
                per_flow.lock().unwrap().extend(lat);
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rounds = scale(1000);
    let round_trip = |steps: usize| {
        let e = e.clone();
        let steps_in_flow = steps_in_flow.clone();
        async move {
            steps_in_flow.store(steps, Ordering::Relaxed);
            let mut lat = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                let t = Instant::now();
                let job = e
                    .enqueue("one", b"[]".to_vec(), EnqueueOptions::default())
                    .await
                    .unwrap();
                e.await_result(&job.job_id, None).await.unwrap();
                lat.push(t.elapsed());
            }
            lat.sort();
            lat
        }
    };
    let jobs_lat = round_trip(0).await;
    let flows_lat = round_trip(STEPS as usize).await;
    let mut step_lat = std::mem::take(&mut *per_flow.lock().unwrap());
    step_lat.sort();
    w.shutdown(Duration::from_secs(1)).await;
    runner.abort();
    e.shutdown().await;

    let job_p50 = percentile(&jobs_lat, 0.5);
    let step_p50 = percentile(&step_lat, 0.5);
    emit("job_round_trip_p50", job_p50, "us");
    emit("job_round_trip_p99", percentile(&jobs_lat, 0.99), "us");
    emit("step_record_p50", step_p50, "us");
    emit("step_record_p99", percentile(&step_lat, 0.99), "us");
    emit(
        "ten_step_function_round_trip_p50_per_step",
        percentile(&flows_lat, 0.5) / STEPS as f64,
        "us",
    );
    emit("step_over_job_latency_p50", step_p50 / job_p50, "ratio");
}

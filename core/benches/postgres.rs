//! The PostgreSQL benchmark: prints one JSON line per figure (see `ci/bench`), on the server
//! named by RESEOLIO_BENCH_POSTGRES_URL (else RESEOLIO_TEST_POSTGRES_URL; without either it
//! prints nothing), each workload in a fresh schema:
//! - raw baseline: single-row INSERT commits per second from one connection, and their p50;
//! - sequential enqueue: p50/p99 latency and jobs/s;
//! - drain of 10,000 no-op jobs by one node process and by three (concurrency 64 each): jobs/s;
//! - round trip: an idle worker, 1,000 jobs one after another, enqueue to awaited result: p50/p99;
//! - the ratios the PostgreSQL issue sets as targets.
//!
//! The node processes are this program re-run with RESEOLIO_BENCH_NODE set to the storage URL.

use reseolio_core::store::JobListParams;
use reseolio_core::{Engine, EngineConfig, EnqueueOptions, JobStatus, Outcome, WorkerOptions};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
use common::{cores, fill, percentile, scale};

const NODE_ENV: &str = "RESEOLIO_BENCH_NODE";

fn emit(figure: &str, value: f64, unit: &str) {
    println!(
        "{{\"figure\":\"{figure}\",\"backend\":\"postgres\",\"value\":{value:.3},\"unit\":\"{unit}\",\"cores\":{}}}",
        cores()
    );
}

fn ratio(figure: &str, value: f64, target: f64) {
    println!(
        "{{\"figure\":\"{figure}\",\"backend\":\"postgres\",\"value\":{value:.3},\"target\":{target},\"met\":{},\"cores\":{}}}",
        value >= target,
        cores()
    );
}

fn schema_url(server: &str, name: &str) -> String {
    let sep = if server.contains('?') { '&' } else { '?' };
    format!(
        "{server}{sep}schema=bench_{name}_{}",
        uuid::Uuid::now_v7().simple()
    )
}

/// A node process: one engine, one worker at concurrency 64 completing no-op jobs, until killed.
async fn node(url: &str) {
    let engine = Engine::open_async(url, EngineConfig::default())
        .await
        .unwrap();
    let worker = Arc::new(
        engine
            .worker(WorkerOptions {
                names: vec!["noop".into()],
                concurrency: 64,
                worker_id: None,
            })
            .unwrap(),
    );
    loop {
        let task = worker.poll().await.unwrap();
        let w = worker.clone();
        tokio::spawn(async move {
            let _ = w
                .complete(task.token(), Outcome::Success(b"null".to_vec()))
                .await;
        });
    }
}

async fn raw_baseline(server: &str, n: usize) -> (f64, f64) {
    let pool = sqlx::PgPool::connect(server.split('?').next().unwrap())
        .await
        .unwrap();
    let table = format!("bench_raw_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!(
        "CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, args BYTEA NOT NULL)"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let insert = format!("INSERT INTO {table} (name, args) VALUES ('noop', '\\x5b5d')");
    let mut lat = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        sqlx::query(&insert).execute(&mut *conn).await.unwrap();
        lat.push(t.elapsed());
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    drop(conn);
    sqlx::query(&format!("DROP TABLE {table}"))
        .execute(&pool)
        .await
        .unwrap();
    lat.sort();
    (rate, percentile(&lat, 0.5))
}

/// Jobs/s of `nodes` node processes draining `n` jobs enqueued beforehand.
async fn drain(server: &str, n: usize, nodes: usize) -> f64 {
    let url = schema_url(server, &format!("drain{nodes}"));
    let observer = Engine::open_async(
        &url,
        EngineConfig {
            maintenance: false,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    fill(&observer, n).await;
    let exe = std::env::current_exe().unwrap();
    let start = Instant::now();
    let mut children: Vec<Child> = (0..nodes)
        .map(|_| {
            Command::new(&exe)
                .env(NODE_ENV, &url)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    loop {
        let done = observer
            .list(JobListParams {
                statuses: vec![JobStatus::Success],
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .total;
        if done as usize >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
    observer.shutdown().await;
    rate
}

async fn run(server: &str) {
    let (raw_rate, raw_p50) = raw_baseline(server, scale(2000)).await;
    emit("pg_raw_insert_commits_per_s", raw_rate, "commits/s");
    emit("pg_raw_commit_latency_p50", raw_p50, "us");

    let engine = Engine::open_async(&schema_url(server, "seq"), EngineConfig::default())
        .await
        .unwrap();
    let n = scale(2000);
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
    emit("pg_sequential_enqueue_p50", percentile(&lat, 0.5), "us");
    emit("pg_sequential_enqueue_p99", percentile(&lat, 0.99), "us");
    emit("pg_sequential_enqueue_jobs_per_s", seq_rate, "jobs/s");
    engine.shutdown().await;

    let n = scale(10_000);
    let one = drain(server, n, 1).await;
    emit("pg_drain_1_node_c64_jobs_per_s", one, "jobs/s");
    let three = drain(server, n, 3).await;
    emit("pg_drain_3_nodes_c64_jobs_per_s", three, "jobs/s");

    let engine = Engine::open_async(&schema_url(server, "rt"), EngineConfig::default())
        .await
        .unwrap();
    let worker = Arc::new(
        engine
            .worker(WorkerOptions {
                names: vec!["echo".into()],
                concurrency: 1,
                worker_id: None,
            })
            .unwrap(),
    );
    let w = worker.clone();
    let serving = tokio::spawn(async move {
        while let Ok(task) = w.poll().await {
            let _ = w
                .complete(task.token(), Outcome::Success(b"1".to_vec()))
                .await;
        }
    });
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
    emit("pg_round_trip_p50", percentile(&lat, 0.5), "us");
    emit("pg_round_trip_p99", percentile(&lat, 0.99), "us");
    worker.shutdown(Duration::from_secs(1)).await;
    serving.abort();
    engine.shutdown().await;

    ratio("ratio_pg_drain_1_node_to_raw", one / raw_rate, 1.0);
    ratio("ratio_pg_drain_3_nodes_to_1_node", three / one, 1.8);
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Ok(url) = std::env::var(NODE_ENV) {
        rt.block_on(node(&url));
        return;
    }
    // `cargo bench` passes `--bench`; nothing else is taken.
    let Some(server) = std::env::var("RESEOLIO_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("RESEOLIO_TEST_POSTGRES_URL"))
        .ok()
    else {
        eprintln!("postgres benchmark skipped: set RESEOLIO_BENCH_POSTGRES_URL");
        return;
    };
    rt.block_on(run(&server));
}

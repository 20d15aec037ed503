//! The schedule benchmark: prints one JSON line per figure (see `ci/bench`).
//!
//! - Tick lag: 10,000 active schedules on a SQLite file, each firing once a minute at a second
//!   of its own (`S * * * * *`, so about 167 ticks fall in every second); for every job they
//!   start during the run, its creation time minus its tick: p50, p99 and max, in ms. The target
//!   is a p99 under the poll interval plus 50 ms.
//! - Idle CPU: 10,000 active schedules whose next tick is months away; the CPU time this process
//!   uses over 10 s (the scheduler, the maintenance loop and SQLite), as a share of one core.
//!
//! RESEOLIO_BENCH_SCALE shrinks the schedule count and the run time for a quick look.

use reseolio_core::schedule::ScheduleSpec;
use reseolio_core::store::JobListParams;
use reseolio_core::{Engine, EngineConfig};
use std::time::{Duration, Instant};

// Shared by every benchmark program; this one uses only part of it.
#[allow(dead_code)]
mod common;
use common::{cores, scale};

fn emit(figure: &str, value: f64, unit: &str) {
    println!(
        "{{\"figure\":\"{figure}\",\"backend\":\"sqlite\",\"value\":{value:.3},\"unit\":\"{unit}\",\"cores\":{}}}",
        cores()
    );
}

/// User plus system CPU time of this process.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the struct we own; RUSAGE_SELF is always valid.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

async fn declare_many(engine: &Engine, n: usize, cron: impl Fn(usize) -> String) {
    let mut tasks = Vec::new();
    for p in 0..16 {
        let e = engine.clone();
        let crons: Vec<(usize, String)> = (p..n).step_by(16).map(|i| (i, cron(i))).collect();
        tasks.push(tokio::spawn(async move {
            for (i, c) in crons {
                e.schedule_declare(ScheduleSpec {
                    name: format!("s{i:05}"),
                    function: "tick".into(),
                    cron: c,
                    ..Default::default()
                })
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

fn percentile_ms(sorted: &[i64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64
}

async fn tick_lag(dir: &std::path::Path, n: usize, run: Duration) {
    let url = format!("sqlite://{}", dir.join("schedules-lag.db").display());
    let engine = Engine::open(&url, EngineConfig::default()).unwrap();
    let config = EngineConfig::default();
    declare_many(&engine, n, |i| format!("{} * * * * *", i % 60)).await;
    // Ticks due from the next whole second on are measured; earlier ones were due while the
    // schedules were still being declared.
    let from = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        / 1000
        + 1)
        * 1000;
    let wait_ms = from + run.as_millis() as i64 + 500
        - std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
    tokio::time::sleep(Duration::from_millis(wait_ms.max(0) as u64)).await;
    let mut lags = Vec::new();
    let mut offset = 0;
    loop {
        let page = engine
            .list(JobListParams {
                limit: 1000,
                offset,
                // Oldest first: jobs made while paging land after the pages already read.
                ascending: true,
                ..Default::default()
            })
            .await
            .unwrap();
        for j in &page.jobs {
            let key = j.idempotency_key.as_deref().unwrap();
            let tick: i64 = key.rsplit(':').next().unwrap().parse().unwrap();
            if tick >= from && tick < from + run.as_millis() as i64 {
                lags.push(j.created_at - tick);
            }
        }
        offset += page.jobs.len() as u32;
        if page.jobs.is_empty() {
            break;
        }
    }
    engine.shutdown().await;
    lags.sort();
    let expected = n as f64 * run.as_secs_f64() / 60.0;
    emit("schedule_ticks_fired", lags.len() as f64, "ticks");
    emit("schedule_ticks_expected_about", expected, "ticks");
    emit("schedule_tick_lag_p50", percentile_ms(&lags, 0.5), "ms");
    emit("schedule_tick_lag_p99", percentile_ms(&lags, 0.99), "ms");
    emit("schedule_tick_lag_max", *lags.last().unwrap() as f64, "ms");
    let target = config.poll_interval.as_millis() as f64 + 50.0;
    let p99 = percentile_ms(&lags, 0.99);
    println!(
        "{{\"figure\":\"schedule_tick_lag_p99_target\",\"value\":{p99:.3},\"target\":{target},\"met\":{}}}",
        p99 < target
    );
}

async fn idle_cpu(dir: &std::path::Path, n: usize, run: Duration) {
    let url = format!("sqlite://{}", dir.join("schedules-idle.db").display());
    let engine = Engine::open(&url, EngineConfig::default()).unwrap();
    // Far from now whatever the date: the 1st of a month six months on, at midnight.
    let month = (chrono_month_now() + 6) % 12 + 1;
    declare_many(&engine, n, |_| format!("0 0 1 {month} *")).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (cpu0, t0) = (cpu_time(), Instant::now());
    tokio::time::sleep(run).await;
    let share = (cpu_time() - cpu0).as_secs_f64() / t0.elapsed().as_secs_f64();
    emit(
        "schedule_idle_cpu_share_of_one_core",
        share * 100.0,
        "percent",
    );
    engine.shutdown().await;
}

/// The current month, 0-based, from the Unix time (close enough to pick a far-off month).
fn chrono_month_now() -> i64 {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 86_400;
    (days % 365) / 31
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // Only `cargo bench` (which passes --bench) measures; a plain run of the target does not.
        return;
    }
    let base = std::env::var("RESEOLIO_BENCH_DIR").unwrap_or_else(|_| ".".into());
    let dir = tempfile::tempdir_in(base).unwrap();
    let n = scale(10_000);
    let run = Duration::from_secs((scale(20) as u64).max(5));
    tick_lag(dir.path(), n, run).await;
    idle_cpu(dir.path(), n, Duration::from_secs(10)).await;
}

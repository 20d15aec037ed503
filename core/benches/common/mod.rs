//! Helpers the benchmark programs share: workload scaling, the core count and percentiles.

use reseolio_core::{Engine, EnqueueOptions};
use std::time::Duration;

/// `n` scaled by RESEOLIO_BENCH_SCALE (e.g. 0.1 for a quick look), at least 10.
pub fn scale(n: usize) -> usize {
    let s: f64 = std::env::var("RESEOLIO_BENCH_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    ((n as f64 * s) as usize).max(10)
}

/// The cores this process may use, printed with every figure.
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The `p` percentile of sorted durations, in µs.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

/// Enqueues `n` no-op jobs named `noop` from 16 producers, so that the set-up itself is quick.
pub async fn fill(engine: &Engine, n: usize) {
    let mut tasks = Vec::new();
    for p in 0..16 {
        let e = engine.clone();
        tasks.push(tokio::spawn(async move {
            for _ in (p..n).step_by(16) {
                e.enqueue("noop", b"[]".to_vec(), EnqueueOptions::default())
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

//! Helpers the engine's integration tests share.

use reseolio_core::store::JobListParams;
use reseolio_core::{Engine, JobStatus};
use std::time::{Duration, Instant};

/// Waits until `n` jobs are SUCCESS, reading every 100 ms; panics (saying how many were) when
/// `within` passes first. A read that fails (the store is still coming back) is read again.
pub async fn wait_all_succeeded(engine: &Engine, n: usize, within: Duration) {
    let end = Instant::now() + within;
    loop {
        let done = engine
            .list(JobListParams {
                statuses: vec![JobStatus::Success],
                limit: 1,
                ..Default::default()
            })
            .await;
        if matches!(done, Ok(ref r) if r.total == n as u64) {
            return;
        }
        assert!(
            Instant::now() < end,
            "not every job succeeded within {within:?}: {:?} of {n}",
            done.map(|r| r.total)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

//! The stats and search cases of the store conformance suite: counts that follow every kind of
//! transition (insert, claim, completion, failure, cancel, retry, prune), the throughput window,
//! and search by id or idempotency key with its total.

use super::{claim, insert, no_jitter, T0};
use crate::error::ErrorKind;
use crate::job::{EnqueueOptions, JobStatus, Outcome};
use crate::store::*;
use std::sync::Arc;

fn counts(stats: &JobStats) -> Vec<(JobStatus, u64)> {
    stats.counts.iter().map(|c| (c.status, c.count)).collect()
}

fn params(now: i64) -> JobStatsParams {
    JobStatsParams {
        now_ms: now,
        // Aligned on T0 as the engine aligns on its bucket width: the last bucket starts at T0.
        first_bucket_ms: T0 - 2 * 60_000,
        bucket_ms: 60_000,
        buckets: 3,
    }
}

async fn complete(s: &Arc<dyn Store>, token: &crate::job::LeaseToken, outcome: Outcome, now: i64) {
    s.job_complete(JobCompleteParams {
        job_id: token.job_id.clone(),
        lease: token.lease,
        outcome,
        jitter_sample: 0.0,
        now_ms: now,
    })
    .await
    .unwrap();
}

/// Counts by status follow every transition; finished jobs land in the bucket of their
/// completion time; a bad window is refused.
pub async fn stats_follow_transitions_and_bucket_finished_jobs(s: Arc<dyn Store>) {
    use JobStatus::*;
    let empty = s.job_stats(params(T0)).await.unwrap();
    assert_eq!(
        counts(&empty),
        vec![
            (Pending, 0),
            (Running, 0),
            (Success, 0),
            (Failed, 0),
            (Dead, 0),
            (Cancelled, 0)
        ]
    );
    assert_eq!(empty.throughput.len(), 3);
    assert!(empty
        .throughput
        .iter()
        .all(|b| b.succeeded + b.dead + b.cancelled == 0));
    assert_eq!(
        empty
            .throughput
            .iter()
            .map(|b| b.start_ms)
            .collect::<Vec<_>>(),
        vec![T0 - 120_000, T0 - 60_000, T0]
    );

    for i in 0..6 {
        insert(
            &s,
            &format!("j{i}"),
            if i < 3 { "a" } else { "b" },
            no_jitter(1),
        )
        .await;
    }
    let held = claim(&s, &[], 4, T0).await;
    assert_eq!(held.len(), 4);
    // j0 succeeds in the first bucket, j1 (one attempt allowed) dies in the second.
    complete(
        &s,
        &held[0].token,
        Outcome::Success(b"1".to_vec()),
        T0 - 100_000,
    )
    .await;
    complete(
        &s,
        &held[1].token,
        Outcome::Failure {
            error: "no".into(),
            retryable: true,
        },
        T0 - 30_000,
    )
    .await;
    s.job_cancel(JobCancelParams {
        id: "j5".into(),
        now_ms: T0 + 10,
    })
    .await
    .unwrap();
    let st = s.job_stats(params(T0 + 20)).await.unwrap();
    assert_eq!(
        counts(&st),
        vec![
            (Pending, 1),
            (Running, 2),
            (Success, 1),
            (Failed, 0),
            (Dead, 1),
            (Cancelled, 1)
        ]
    );
    let per_bucket: Vec<(u64, u64, u64)> = st
        .throughput
        .iter()
        .map(|b| (b.succeeded, b.dead, b.cancelled))
        .collect();
    assert_eq!(per_bucket, vec![(1, 0, 0), (0, 1, 0), (0, 0, 1)]);

    // A retry and a prune move the counts too.
    s.job_retry(JobRetryParams {
        id: held[1].token.job_id.clone(),
        now_ms: T0 + 30,
    })
    .await
    .unwrap();
    let pruned = s
        .job_prune(JobPruneParams {
            completed_before_ms: T0,
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    let st = s.job_stats(params(T0 + 40)).await.unwrap();
    assert_eq!(
        counts(&st),
        vec![
            (Pending, 2),
            (Running, 2),
            (Success, 0),
            (Failed, 0),
            (Dead, 0),
            (Cancelled, 1)
        ]
    );
    let all = s
        .job_list(JobListParams {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.total, 5);
    let b_pending = s
        .job_list(JobListParams {
            statuses: vec![Pending, Cancelled],
            names: vec!["b".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(b_pending.total, b_pending.jobs.len() as u64);

    let bad = s
        .job_stats(JobStatsParams {
            bucket_ms: 0,
            ..params(T0)
        })
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidArgument);
}

/// Search finds a job by its id or by its idempotency key (in any function), combined with the
/// other filters, and the total counts the matches.
pub async fn list_searches_by_id_or_idempotency_key(s: Arc<dyn Store>) {
    insert(&s, "id-1", "a", EnqueueOptions::default()).await;
    insert(
        &s,
        "id-2",
        "a",
        EnqueueOptions {
            idempotency_key: Some("order-7".into()),
            ..Default::default()
        },
    )
    .await;
    insert(
        &s,
        "id-3",
        "b",
        EnqueueOptions {
            idempotency_key: Some("order-7".into()),
            ..Default::default()
        },
    )
    .await;
    let find = |q: &str, names: Vec<String>| {
        let s = s.clone();
        let q = q.to_string();
        async move {
            let r = s
                .job_list(JobListParams {
                    search: Some(q),
                    names,
                    ascending: true,
                    ..Default::default()
                })
                .await
                .unwrap();
            let ids: Vec<String> = r.jobs.into_iter().map(|j| j.id).collect();
            (ids, r.total)
        }
    };
    assert_eq!(find("id-1", vec![]).await, (vec!["id-1".to_string()], 1));
    assert_eq!(
        find("order-7", vec![]).await,
        (vec!["id-2".to_string(), "id-3".to_string()], 2)
    );
    assert_eq!(
        find("order-7", vec!["b".into()]).await,
        (vec!["id-3".to_string()], 1)
    );
    assert_eq!(find("order", vec![]).await, (vec![], 0));
}

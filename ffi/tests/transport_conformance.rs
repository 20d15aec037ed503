//! One suite, every transport: each case runs against the embedded engine (on SQLite, and on
//! PostgreSQL when RESEOLIO_TEST_POSTGRES_URL names a server; else that half says it skipped)
//! and against a sidecar served in-process on 127.0.0.1:0, through the same Client API, and must
//! see the same results and the same error kinds.

mod common;

use common::*;
use reseolio_ffi::{
    Backoff, Client, ConnectOptions, EnqueueOptions, ErrorKind, JobListParams, JobStatus, Outcome,
};
use std::time::Duration;

fn fast(max_attempts: i64) -> EnqueueOptions {
    EnqueueOptions {
        max_attempts: Some(max_attempts),
        backoff: Some(Backoff::Fixed),
        initial_delay_ms: Some(0),
        jitter: Some(0.0),
        ..Default::default()
    }
}

async fn enqueue_run_and_await(c: Client) {
    let job = c
        .enqueue("add", b"[1,2]".to_vec(), EnqueueOptions::default())
        .await
        .unwrap();
    let w = c.worker(vec!["add".into()], 2).await.unwrap();
    let task = w.poll().await.unwrap();
    assert_eq!(
        (task.job().args.as_slice(), task.job().attempt),
        (&b"[1,2]"[..], 1)
    );
    assert_eq!(task.token().job_id, job.job_id);
    w.complete(task.token(), Outcome::Success(b"3".to_vec()))
        .await
        .unwrap();
    let done = c
        .await_result(&job.job_id, Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(done.status, JobStatus::Success);
    assert_eq!(done.result.as_deref(), Some(&b"3"[..]));
    assert_eq!(done.max_attempts, 3);
    assert_eq!(done.retry.backoff, Backoff::Exponential);
    let attempts = c.attempts(&job.job_id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        attempts[0].outcome,
        Some(reseolio_core::job::AttemptOutcome::Success)
    );
    w.shutdown(Duration::from_secs(1)).await.unwrap();
}

async fn idempotency_key_returns_the_first_job(c: Client) {
    let opts = EnqueueOptions {
        idempotency_key: Some("k-1".into()),
        ..Default::default()
    };
    let a = c
        .enqueue("charge", b"[1]".to_vec(), opts.clone())
        .await
        .unwrap();
    let b = c.enqueue("charge", b"[2]".to_vec(), opts).await.unwrap();
    assert_eq!(
        (a.job_id.as_str(), a.deduplicated, b.deduplicated),
        (b.job_id.as_str(), false, true)
    );
    assert_eq!(c.get(&a.job_id).await.unwrap().args, b"[1]");
}

async fn failures_retry_at_once_with_zero_delay_then_die(c: Client) {
    let job = c.enqueue("flaky", vec![], fast(2)).await.unwrap();
    let w = c.worker(vec!["flaky".into()], 1).await.unwrap();
    for n in 1..=2u32 {
        let task = tokio::time::timeout(Duration::from_secs(3), w.poll())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(task.job().attempt, n);
        let r = w
            .complete(
                task.token(),
                Outcome::Failure {
                    error: format!("boom {n}"),
                    retryable: true,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            r.status,
            if n == 1 {
                JobStatus::Failed
            } else {
                JobStatus::Dead
            }
        );
    }
    let dead = c
        .await_result(&job.job_id, Some(Duration::from_secs(3)))
        .await
        .unwrap();
    assert_eq!(
        (dead.status, dead.last_error.as_deref()),
        (JobStatus::Dead, Some("boom 2"))
    );
    assert_eq!(
        dead.retry.initial_delay_ms, 0,
        "a 0 ms delay is kept as 0, not the default"
    );
}

async fn not_retryable_goes_dead_at_once(c: Client) {
    let job = c.enqueue("fatal", vec![], fast(5)).await.unwrap();
    let w = c.worker(vec!["fatal".into()], 1).await.unwrap();
    let task = w.poll().await.unwrap();
    let r = w
        .complete(
            task.token(),
            Outcome::Failure {
                error: "bad card".into(),
                retryable: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(r.status, JobStatus::Dead);
    assert_eq!(c.get(&job.job_id).await.unwrap().attempt, 1);
}

async fn cancel_retry_and_stale_tokens(c: Client) {
    let pending = c
        .enqueue(
            "f",
            vec![],
            EnqueueOptions {
                delay_ms: Some(60_000),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        c.cancel(&pending.job_id).await.unwrap().status,
        JobStatus::Cancelled
    );
    assert_eq!(
        c.cancel(&pending.job_id).await.unwrap_err().kind(),
        ErrorKind::Conflict
    );
    let back = c.retry(&pending.job_id).await.unwrap();
    assert_eq!((back.status, back.attempt), (JobStatus::Pending, 0));
    assert_eq!(
        c.retry(&pending.job_id).await.unwrap_err().kind(),
        ErrorKind::Conflict
    );

    let running = c
        .enqueue("g", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    let w = c.worker(vec!["g".into()], 1).await.unwrap();
    let task = w.poll().await.unwrap();
    c.cancel(&running.job_id).await.unwrap();
    let hb = w.heartbeat(task.token()).await.unwrap();
    assert_eq!(hb, reseolio_ffi::JobHeartbeatResult::Cancelled);
    assert!(task.is_cancelled());
    let late = w
        .complete(task.token(), Outcome::Success(b"1".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(late.kind(), ErrorKind::Conflict);
    assert!(late.message().contains("stale"), "{}", late.message());
    assert_eq!(
        c.get(&running.job_id).await.unwrap().status,
        JobStatus::Cancelled
    );
}

async fn unknown_ids_are_not_found(c: Client) {
    for e in [
        c.get("nope").await.unwrap_err(),
        c.cancel("nope").await.unwrap_err(),
        c.retry("nope").await.unwrap_err(),
        c.attempts("nope").await.unwrap_err(),
        c.await_result("nope", Some(Duration::from_secs(2)))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert!(e.message().contains("nope"), "{e}");
    }
}

async fn bad_input_names_the_field(c: Client) {
    let cases = [
        ("", EnqueueOptions::default(), "name"),
        (
            "f",
            EnqueueOptions {
                max_attempts: Some(0),
                ..Default::default()
            },
            "max_attempts",
        ),
        (
            "f",
            EnqueueOptions {
                jitter: Some(2.0),
                ..Default::default()
            },
            "jitter",
        ),
        (
            "f",
            EnqueueOptions {
                timeout_ms: Some(0),
                ..Default::default()
            },
            "timeout_ms",
        ),
        (
            "f",
            EnqueueOptions {
                delay_ms: Some(-5),
                ..Default::default()
            },
            "delay_ms",
        ),
    ];
    for (name, opts, field) in cases {
        let e = c.enqueue(name, vec![], opts).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{field}: {e}");
        assert!(e.message().contains(field), "{field}: {e}");
    }
    let e = c
        .enqueue("f", vec![0; 1024 * 1024 + 1], EnqueueOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("args"), "{e}");
    assert_eq!(
        c.list(JobListParams::default()).await.unwrap().total,
        0,
        "nothing was stored"
    );
    let e = c.worker(vec![], 0).await.err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

async fn await_times_out_and_lists_count(c: Client) {
    let job = c
        .enqueue("a", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    c.enqueue("b", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    let e = c
        .await_result(&job.job_id, Some(Duration::from_millis(200)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.message().contains("PENDING"), "{e}");
    let list = c
        .list(JobListParams {
            names: vec!["a".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (list.total, list.jobs[0].id.as_str()),
        (1, job.job_id.as_str())
    );
    let pending = c
        .list(JobListParams {
            statuses: vec![JobStatus::Pending],
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((pending.total, pending.jobs.len()), (2, 1));
}

async fn a_worker_holds_no_more_than_its_concurrency(c: Client) {
    for _ in 0..3 {
        c.enqueue("f", vec![], EnqueueOptions::default())
            .await
            .unwrap();
    }
    let w = c.worker(vec!["f".into()], 1).await.unwrap();
    let first = w.poll().await.unwrap();
    assert!(tokio::time::timeout(Duration::from_millis(300), w.poll())
        .await
        .is_err());
    w.complete(first.token(), Outcome::Success(vec![]))
        .await
        .unwrap();
    let second = tokio::time::timeout(Duration::from_secs(3), w.poll())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(second.token(), first.token());
}

async fn poll_many_takes_what_is_claimed_up_to_its_max(c: Client) {
    for _ in 0..5 {
        c.enqueue("f", vec![], EnqueueOptions::default())
            .await
            .unwrap();
    }
    let w = c.worker(vec!["f".into()], 4).await.unwrap();
    // The pump claims up to the concurrency (4) in the background; collect them all, never more
    // than asked per call.
    let mut tokens = Vec::new();
    while tokens.len() < 4 {
        let batch = tokio::time::timeout(Duration::from_secs(3), w.poll_many(3))
            .await
            .unwrap()
            .unwrap();
        assert!((1..=3).contains(&batch.len()), "{} tasks", batch.len());
        tokens.extend(batch.iter().map(|t| t.token().clone()));
    }
    assert_eq!(tokens.len(), 4, "no more than the concurrency");
    let ids: std::collections::HashSet<_> = tokens.iter().map(|t| t.job_id.clone()).collect();
    assert_eq!(ids.len(), 4, "each job once");
    // The fifth waits for a free slot.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), w.poll_many(8))
            .await
            .is_err()
    );
    w.complete(&tokens[0], Outcome::Success(vec![]))
        .await
        .unwrap();
    let last = tokio::time::timeout(Duration::from_secs(3), w.poll_many(8))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.len(), 1);
    assert!(!ids.contains(&last[0].token().job_id));
    w.shutdown(Duration::ZERO).await.unwrap();
    assert_eq!(
        w.poll_many(8).await.err().map(|e| e.kind()),
        Some(reseolio_ffi::ErrorKind::ShutDown)
    );
}

/// Polls `leader()` until it names a leader (the first maintenance pass, right at start,
/// elects one), for at most 10 s.
async fn a_named_leader(c: &Client) -> reseolio_ffi::LeaderInfo {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let info = c.leader().await.unwrap();
        if info.leader.is_some() {
            return info;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no leader after 10 s: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

async fn the_only_node_leads_and_says_so(c: Client) {
    let before = now_ms();
    let info = a_named_leader(&c).await;
    let leader = info.leader.clone().unwrap();
    assert!(!info.node_id.is_empty());
    assert_eq!(leader.node_id, info.node_id, "the only node leads");
    assert!(info.is_leader());
    assert!(
        leader.elected_at <= leader.expires_at && leader.expires_at > before,
        "{leader:?}"
    );
    // node_id is the node that does this client's work: the one its attempts ran on.
    let job = c
        .enqueue("lead", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    let w = c.worker(vec!["lead".into()], 1).await.unwrap();
    let task = w.poll().await.unwrap();
    w.complete(task.token(), Outcome::Success(vec![]))
        .await
        .unwrap();
    assert_eq!(
        c.attempts(&job.job_id).await.unwrap()[0].node_id,
        info.node_id
    );
    if let Some(engine) = c.engine() {
        assert_eq!(engine.node_id(), info.node_id);
    }
    w.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// Search by job id or idempotency key, with the other filters, on every transport.
async fn list_searches_by_id_or_key(c: Client) {
    let keyed = EnqueueOptions {
        idempotency_key: Some("order-42".into()),
        ..Default::default()
    };
    let a = c.enqueue("a", b"[]".to_vec(), keyed.clone()).await.unwrap();
    let b = c.enqueue("b", b"[]".to_vec(), keyed).await.unwrap();
    let other = c
        .enqueue("a", b"[]".to_vec(), EnqueueOptions::default())
        .await
        .unwrap();
    let search = |q: &str, names: Vec<String>| {
        let c = c.clone();
        let q = q.to_string();
        async move {
            let r = c
                .list(JobListParams {
                    search: Some(q),
                    names,
                    ascending: true,
                    ..Default::default()
                })
                .await
                .unwrap();
            (
                r.jobs.into_iter().map(|j| j.id).collect::<Vec<_>>(),
                r.total,
            )
        }
    };
    assert_eq!(
        search("order-42", vec![]).await,
        (vec![a.job_id.clone(), b.job_id], 2)
    );
    assert_eq!(
        search("order-42", vec!["a".into()]).await,
        (vec![a.job_id], 1)
    );
    assert_eq!(search(&other.job_id, vec![]).await, (vec![other.job_id], 1));
    assert_eq!(search("nothing", vec![]).await, (vec![], 0));
}

transport_conformance!(
    list_searches_by_id_or_key,
    enqueue_run_and_await,
    idempotency_key_returns_the_first_job,
    failures_retry_at_once_with_zero_delay_then_die,
    not_retryable_goes_dead_at_once,
    cancel_retry_and_stale_tokens,
    unknown_ids_are_not_found,
    bad_input_names_the_field,
    await_times_out_and_lists_count,
    a_worker_holds_no_more_than_its_concurrency,
    poll_many_takes_what_is_claimed_up_to_its_max,
    the_only_node_leads_and_says_so,
);

/// Two nodes on one SQLite file, an embedded client's engine and then a sidecar's: both name
/// the first as leader, each knows its own node, and only the first says it leads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_name_one_leader() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let local = Client::connect_async(&url, ConnectOptions::default())
        .await
        .unwrap();
    let embedded = a_named_leader(&local).await;
    assert!(embedded.is_leader(), "the first node leads: {embedded:?}");
    let f = sidecar_on(dir, url).await;
    let (_, sidecar_engine) = f.sidecar.as_ref().unwrap();
    let remote = a_named_leader(&f.client).await;
    assert_eq!(
        remote.node_id,
        sidecar_engine.node_id(),
        "the sidecar's own node"
    );
    assert_ne!(remote.node_id, embedded.node_id);
    assert_eq!(
        remote.leader.as_ref().map(|l| &l.node_id),
        Some(&embedded.node_id),
        "one leader for the store: the first node, which renews its term"
    );
    assert!(!remote.is_leader());
    local.close().await.unwrap();
}

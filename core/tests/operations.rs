//! What operators read and steer through the engine: stats, the metrics text after a known
//! workload, and retrying every DEAD job of a function.

use reseolio_core::store::{JobListParams, StatsParams};
use reseolio_core::{
    Backoff, Engine, EngineConfig, EnqueueOptions, JobStatus, Outcome, WorkerOptions,
};
use std::time::Duration;

fn once() -> EnqueueOptions {
    EnqueueOptions {
        max_attempts: Some(1),
        ..Default::default()
    }
}

fn value(text: &str, line_start: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .unwrap_or_else(|| panic!("no line starting {line_start} in\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_known_workload() {
    let e = Engine::open("sqlite::memory:", EngineConfig::default()).unwrap();
    for i in 0..5 {
        e.enqueue("mail", format!("[{i}]").into_bytes(), once())
            .await
            .unwrap();
    }
    e.enqueue(
        "mail",
        b"[9]".to_vec(),
        EnqueueOptions {
            max_attempts: Some(2),
            backoff: Some(Backoff::Fixed),
            initial_delay_ms: Some(0),
            jitter: Some(0.0),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // A deduplicated enqueue writes nothing and counts nothing.
    for _ in 0..2 {
        e.enqueue(
            "report",
            b"[]".to_vec(),
            EnqueueOptions {
                idempotency_key: Some("k".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    let w = e
        .worker(WorkerOptions {
            names: vec!["mail".into()],
            concurrency: 3,
            ..Default::default()
        })
        .unwrap();
    // [0] [1] [2] succeed; [3] [4] fail once and die; [9] fails, then succeeds.
    let mut done = 0;
    while done < 6 {
        let t = w.poll().await.unwrap();
        let arg = String::from_utf8(t.job.args.clone()).unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let outcome = match (arg.as_str(), t.job.attempt) {
            ("[3]" | "[4]", _) | ("[9]", 1) => Outcome::Failure {
                error: "no".into(),
                retryable: true,
            },
            _ => Outcome::Success(b"1".to_vec()),
        };
        let r = w.complete(t.token(), outcome).await.unwrap();
        if r.status.is_terminal() {
            done += 1;
        }
    }
    let text = e.metrics_text().await.unwrap();
    assert_eq!(
        value(&text, r#"reseolio_jobs_enqueued_total{function="mail"}"#),
        6.0
    );
    assert_eq!(
        value(&text, r#"reseolio_jobs_enqueued_total{function="report"}"#),
        1.0
    );
    assert_eq!(
        value(
            &text,
            r#"reseolio_attempts_succeeded_total{function="mail"}"#
        ),
        4.0
    );
    assert_eq!(
        value(&text, r#"reseolio_attempts_failed_total{function="mail"}"#),
        3.0
    );
    assert_eq!(
        value(&text, r#"reseolio_jobs_dead_total{function="mail"}"#),
        2.0
    );
    assert_eq!(
        value(
            &text,
            r#"reseolio_attempt_duration_seconds_count{function="mail"}"#
        ),
        7.0
    );
    // Every attempt slept 30 ms: none is in the 25 ms bucket, all are in the 50 ms one... or
    // later on a slow machine, but each took at least 30 ms.
    assert_eq!(
        value(
            &text,
            r#"reseolio_attempt_duration_seconds_bucket{function="mail",le="0.025"}"#
        ),
        0.0
    );
    assert!(
        value(
            &text,
            r#"reseolio_attempt_duration_seconds_sum{function="mail"}"#
        ) >= 0.21
    );
    assert_eq!(
        value(
            &text,
            r#"reseolio_queue_wait_seconds_count{function="mail"}"#
        ),
        7.0
    );
    assert_eq!(value(&text, r#"reseolio_jobs{status="SUCCESS"}"#), 4.0);
    assert_eq!(value(&text, r#"reseolio_jobs{status="DEAD"}"#), 2.0);
    assert_eq!(value(&text, r#"reseolio_jobs{status="PENDING"}"#), 1.0);
    assert_eq!(value(&text, "reseolio_worker_slots "), 3.0);
    assert_eq!(value(&text, "reseolio_worker_slots_in_use "), 0.0);
    // One held job shows in the slots gauge.
    e.enqueue("mail", b"[]".to_vec(), once()).await.unwrap();
    let _held = w.poll().await.unwrap();
    let text = e.metrics_text().await.unwrap();
    assert_eq!(value(&text, "reseolio_worker_slots_in_use "), 1.0);
    w.shutdown(Duration::from_millis(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_and_retry_all_dead_of_a_function() {
    let e = Engine::open("sqlite::memory:", EngineConfig::default()).unwrap();
    for i in 0..4 {
        let name = if i < 3 { "mail" } else { "sms" };
        e.enqueue(name, b"[]".to_vec(), once()).await.unwrap();
    }
    let w = e.worker(WorkerOptions::default()).unwrap();
    for _ in 0..4 {
        let t = w.poll().await.unwrap();
        w.complete(
            t.token(),
            Outcome::Failure {
                error: "no".into(),
                retryable: false,
            },
        )
        .await
        .unwrap();
    }
    // No worker picks the retried jobs up: they stay PENDING to be counted.
    w.shutdown(Duration::from_millis(10)).await;
    let stats = e.stats(StatsParams::default()).await.unwrap();
    let dead = stats
        .counts
        .iter()
        .find(|c| c.status == JobStatus::Dead)
        .unwrap()
        .count;
    assert_eq!(dead, 4);
    assert_eq!(stats.throughput.len(), 15);
    assert_eq!(stats.throughput.iter().map(|b| b.dead).sum::<u64>(), 4);
    assert_eq!(stats.throughput.last().unwrap().dead, 4);

    let dead_mail = e
        .list(JobListParams {
            statuses: vec![JobStatus::Dead],
            names: vec!["mail".into()],
            limit: 200,
            ascending: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(dead_mail.total, 3, "{dead_mail:?}");
    assert_eq!(dead_mail.jobs.len(), 3, "{dead_mail:?}");
    assert_eq!(e.retry_all_dead("mail").await.unwrap(), 3);
    assert_eq!(e.retry_all_dead("mail").await.unwrap(), 0);
    let pending = e
        .list(JobListParams {
            statuses: vec![JobStatus::Pending],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(pending.total, 3);
    assert!(pending
        .jobs
        .iter()
        .all(|j| j.name == "mail" && j.attempt == 0));
    let still_dead = e
        .list(JobListParams {
            statuses: vec![JobStatus::Dead],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (still_dead.total, still_dead.jobs[0].name.as_str()),
        (1, "sms")
    );
    let bad = e
        .stats(StatsParams {
            bucket_ms: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), reseolio_core::ErrorKind::InvalidArgument);
}

/// A function whose jobs die again at once: the sweep retries each job DEAD at its start once
/// and ends, rather than chasing the jobs it revived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_all_dead_ends_while_the_jobs_keep_dying() {
    let e = Engine::open("sqlite::memory:", EngineConfig::default()).unwrap();
    for _ in 0..450 {
        e.enqueue("flaky", b"[]".to_vec(), once()).await.unwrap();
    }
    let w = e
        .worker(WorkerOptions {
            names: vec!["flaky".into()],
            concurrency: 8,
            ..Default::default()
        })
        .unwrap();
    let killer = {
        let w = std::sync::Arc::new(w);
        let w2 = w.clone();
        (
            w,
            tokio::spawn(async move {
                while let Ok(t) = w2.poll().await {
                    let _ = w2
                        .complete(
                            t.token(),
                            Outcome::Failure {
                                error: "still broken".into(),
                                retryable: false,
                            },
                        )
                        .await;
                }
            }),
        )
    };
    let dead = || async {
        e.list(JobListParams {
            statuses: vec![JobStatus::Dead],
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .total
    };
    while dead().await < 450 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let n = tokio::time::timeout(Duration::from_secs(30), e.retry_all_dead("flaky"))
        .await
        .expect("the sweep ended")
        .unwrap();
    assert_eq!(n, 450);
    killer.0.shutdown(Duration::from_millis(10)).await;
    killer.1.await.unwrap();
}

//! Engine behaviour on SQLite files: every bullet of the engine issue, through the public API.

use reseolio_core::store::{JobHeartbeatResult, JobListParams};
use reseolio_core::{
    Backoff, Engine, EngineConfig, EnqueueOptions, ErrorKind, JobStatus, Outcome, WorkerOptions,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("engine.db");
    (dir, path)
}

fn url(path: &std::path::Path) -> String {
    format!("sqlite://{}", path.display())
}

fn quick() -> EngineConfig {
    EngineConfig {
        poll_interval: Duration::from_millis(50),
        maintenance_interval: Duration::from_millis(100),
        ..Default::default()
    }
}

fn fast_retry(max_attempts: i64) -> EnqueueOptions {
    EnqueueOptions {
        max_attempts: Some(max_attempts),
        backoff: Some(Backoff::Fixed),
        initial_delay_ms: Some(10),
        jitter: Some(0.0),
        ..Default::default()
    }
}

fn worker(e: &Engine, names: &[&str], concurrency: u32) -> reseolio_core::Worker {
    e.worker(WorkerOptions {
        names: names.iter().map(|s| s.to_string()).collect(),
        concurrency,
        worker_id: None,
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_creates_a_wal_database_and_runs_a_job_end_to_end() {
    let (_d, path) = db();
    let e = Engine::open(&url(&path), quick()).unwrap();
    assert!(path.exists());
    let mode: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let job = e
        .enqueue("greet", b"[\"ada\"]".to_vec(), EnqueueOptions::default())
        .await
        .unwrap();
    let w = worker(&e, &["greet"], 4);
    let task = w.poll().await.unwrap();
    assert_eq!(task.job.args, b"[\"ada\"]");
    assert_eq!(task.job.attempt, 1);
    w.complete(task.token(), Outcome::Success(b"\"hi ada\"".to_vec()))
        .await
        .unwrap();
    let done = e
        .await_result(&job.job_id, Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(done.status, JobStatus::Success);
    assert_eq!(done.result.as_deref(), Some(&b"\"hi ada\""[..]));
    assert!(done.started_at.is_some() && done.completed_at.is_some());
    let attempts = e.attempts(&job.job_id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].worker_id, w.id());
    w.shutdown(Duration::from_secs(1)).await;
    e.shutdown().await;
}

#[tokio::test]
async fn in_memory_engine_works_for_tests() {
    let e = Engine::open("sqlite::memory:", quick()).unwrap();
    let job = e
        .enqueue("f", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    assert_eq!(e.get(&job.job_id).await.unwrap().status, JobStatus::Pending);
    e.shutdown().await;
    assert_eq!(
        e.get(&job.job_id).await.unwrap_err().kind(),
        ErrorKind::ShutDown
    );
}

#[tokio::test]
async fn bad_input_is_refused_by_name_and_nothing_is_stored() {
    let e = Engine::open(
        "sqlite::memory:",
        EngineConfig {
            limits: reseolio_core::job::Limits {
                max_payload_bytes: 16,
            },
            ..quick()
        },
    )
    .unwrap();
    let cases: Vec<(&str, Vec<u8>, EnqueueOptions, &str)> = vec![
        (
            "",
            vec![],
            EnqueueOptions::default(),
            "name must not be empty",
        ),
        (
            &*Box::leak("n".repeat(256).into_boxed_str()),
            vec![],
            EnqueueOptions::default(),
            "255",
        ),
        (
            "f",
            vec![0; 17],
            EnqueueOptions::default(),
            "args is 17 bytes; the limit is 16",
        ),
        (
            "f",
            vec![],
            EnqueueOptions {
                max_attempts: Some(0),
                ..Default::default()
            },
            "max_attempts",
        ),
        (
            "f",
            vec![],
            EnqueueOptions {
                delay_ms: Some(-1),
                ..Default::default()
            },
            "delay_ms",
        ),
        (
            "f",
            vec![],
            EnqueueOptions {
                jitter: Some(-0.1),
                ..Default::default()
            },
            "jitter",
        ),
        (
            "f",
            vec![],
            EnqueueOptions {
                timeout_ms: Some(0),
                ..Default::default()
            },
            "timeout_ms",
        ),
    ];
    for (name, args, opts, needle) in cases {
        let err = e.enqueue(name, args, opts).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(
            err.message().contains(needle),
            "{} lacks {needle}",
            err.message()
        );
    }
    assert_eq!(e.list(JobListParams::default()).await.unwrap().total, 0);
    for err in [
        e.get("missing").await.unwrap_err(),
        e.cancel("missing").await.unwrap_err(),
        e.retry("missing").await.unwrap_err(),
        e.attempts("missing").await.unwrap_err(),
        e.await_result("missing", None).await.unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.message().contains("missing"));
    }
    let w = worker(&e, &[], 1);
    let token: reseolio_core::LeaseToken = "missing/1".parse().unwrap();
    let err = w
        .complete(&token, Outcome::Success(vec![]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        e.worker(WorkerOptions {
            concurrency: 0,
            ..Default::default()
        })
        .err()
        .unwrap()
        .kind(),
        ErrorKind::InvalidArgument
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_database_or_is_newer_is_refused() {
    let (_d, path) = db();
    std::fs::write(&path, vec![b'x'; 8192]).unwrap();
    let err = Engine::open(&url(&path), quick()).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        err.message().contains("is not a SQLite database"),
        "{}",
        err.message()
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        vec![b'x'; 8192],
        "the file is left as it was"
    );

    let (_d2, newer) = db();
    Engine::open(&url(&newer), quick())
        .unwrap()
        .shutdown()
        .await;
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute("INSERT INTO reseolio_schema VALUES (999, 0)", [])
        .unwrap();
    let err = Engine::open(&url(&newer), quick()).err().unwrap();
    assert!(
        err.message().contains("schema version 999"),
        "{}",
        err.message()
    );

    let err = Engine::open("sqlite:///no/such/dir/x.db", quick())
        .err()
        .unwrap();
    assert!(
        err.message().contains("/no/such/dir/x.db"),
        "{}",
        err.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_file_is_refused_with_a_message_that_says_so() {
    let (_d, path) = db();
    Engine::open(&url(&path), quick()).unwrap().shutdown().await;
    let ro = format!("sqlite://file:{}?mode=ro", path.display());
    // A read-only URI is the portable way to get a read-only handle (root ignores file modes).
    let err = reseolio_core::store::sqlite::SqliteStore::open(
        &reseolio_core::store::sqlite::SqliteConfig::file(ro.trim_start_matches("sqlite://")),
    )
    .err()
    .unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("read-only"), "{}", err.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_enqueues_with_one_key_make_one_job_across_threads_and_engines() {
    let (_d, path) = db();
    let a = Engine::open(&url(&path), quick()).unwrap();
    let b = Engine::open(&url(&path), quick()).unwrap();
    let mut handles = Vec::new();
    for i in 0..64 {
        let e = if i % 2 == 0 { a.clone() } else { b.clone() };
        handles.push(tokio::spawn(async move {
            let opts = EnqueueOptions {
                idempotency_key: Some("order-42".into()),
                ..Default::default()
            };
            e.enqueue("charge", format!("[{i}]").into_bytes(), opts)
                .await
                .unwrap()
        }));
    }
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await.unwrap());
    }
    let first = &results[0].job_id;
    assert!(results.iter().all(|r| &r.job_id == first));
    assert_eq!(results.iter().filter(|r| !r.deduplicated).count(), 1);
    assert_eq!(a.list(JobListParams::default()).await.unwrap().total, 1);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_never_holds_more_than_its_concurrency() {
    let e = Engine::open("sqlite::memory:", quick()).unwrap();
    for _ in 0..20 {
        e.enqueue("f", vec![], EnqueueOptions::default())
            .await
            .unwrap();
    }
    let w = worker(&e, &["f"], 3);
    let mut tasks = Vec::new();
    for _ in 0..3 {
        tasks.push(w.poll().await.unwrap());
    }
    // A fourth poll must wait: all three slots are held.
    assert!(tokio::time::timeout(Duration::from_millis(300), w.poll())
        .await
        .is_err());
    let running = e
        .list(JobListParams {
            statuses: vec![JobStatus::Running],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(running.total, 3);
    assert_eq!(w.held(), 3);
    w.complete(tasks[0].token(), Outcome::Success(vec![]))
        .await
        .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(2), w.poll())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(next.token(), tasks[0].token());
    assert_eq!(w.held(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_workers_wake_on_enqueue_at_once_and_on_other_processes_writes_within_the_poll() {
    let (_d, path) = db();
    // A poll interval far longer than the wait below: only the in-process signal can wake it.
    let slow = EngineConfig {
        poll_interval: Duration::from_secs(30),
        ..quick()
    };
    let e = Engine::open(&url(&path), slow).unwrap();
    let w = worker(&e, &["f"], 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = Instant::now();
    e.enqueue("f", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    let task = tokio::time::timeout(Duration::from_secs(2), w.poll())
        .await
        .unwrap()
        .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(2));
    w.complete(task.token(), Outcome::Success(vec![]))
        .await
        .unwrap();

    // Another engine on the same file stands for another process: seen within its poll interval.
    let other = Engine::open(&url(&path), quick()).unwrap();
    let w2 = worker(&other, &["g"], 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t1 = Instant::now();
    e.enqueue("g", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    let task = tokio::time::timeout(Duration::from_secs(2), w2.poll())
        .await
        .unwrap()
        .unwrap();
    let waited = t1.elapsed();
    assert!(waited < Duration::from_millis(1000), "took {waited:?}");
    w2.complete(task.token(), Outcome::Success(b"1".to_vec()))
        .await
        .unwrap();
    // And a waiter in the first engine sees the other engine's completion by polling.
    let job = e
        .list(JobListParams {
            names: vec!["g".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .jobs
        .remove(0);
    let done = e
        .await_result(&job.id, Some(Duration::from_secs(2)))
        .await
        .unwrap();
    assert_eq!(done.status, JobStatus::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_follow_the_policy_then_the_job_dies_with_its_last_error() {
    let e = Engine::open("sqlite::memory:", quick()).unwrap();
    let job = e.enqueue("flaky", vec![], fast_retry(3)).await.unwrap();
    let w = worker(&e, &[], 1);
    for n in 1..=3u32 {
        let task = w.poll().await.unwrap();
        assert_eq!(task.job.attempt, n);
        let r = w
            .complete(
                task.token(),
                Outcome::Failure {
                    error: format!("err {n}"),
                    retryable: true,
                },
            )
            .await
            .unwrap();
        if n < 3 {
            assert_eq!(r.status, JobStatus::Failed);
            assert_eq!(r.next_attempt, Some(n + 1));
        } else {
            assert_eq!(r.status, JobStatus::Dead);
        }
    }
    let dead = e
        .await_result(&job.job_id, Some(Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(dead.status, JobStatus::Dead);
    assert_eq!(dead.last_error.as_deref(), Some("err 3"));
    assert_eq!(e.attempts(&job.job_id).await.unwrap().len(), 3);

    let fatal = e.enqueue("fatal", vec![], fast_retry(5)).await.unwrap();
    let task = w.poll().await.unwrap();
    assert_eq!(task.token().job_id, fatal.job_id);
    let r = w
        .complete(
            task.token(),
            Outcome::Failure {
                error: "invalid card".into(),
                retryable: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(r.status, JobStatus::Dead);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_past_its_timeout_is_failed_by_the_rescuer_and_its_late_completion_refused() {
    let e = Engine::open("sqlite::memory:", quick()).unwrap();
    let opts = EnqueueOptions {
        timeout_ms: Some(200),
        ..fast_retry(2)
    };
    let job = e.enqueue("slow", vec![], opts).await.unwrap();
    let w = worker(&e, &[], 2);
    let first = w.poll().await.unwrap();
    // No completion, no heartbeat: the lease lapses, the rescuer counts the attempt as failed,
    // and the task in this process is told.
    tokio::time::timeout(Duration::from_secs(3), first.cancelled())
        .await
        .unwrap();
    let second = tokio::time::timeout(Duration::from_secs(3), w.poll())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.job.attempt, 2);
    let late = w
        .complete(first.token(), Outcome::Success(b"late".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(late.kind(), ErrorKind::Conflict);
    assert!(late.message().contains("stale"));
    let attempts = e.attempts(&job.job_id).await.unwrap();
    assert!(attempts[0].error.as_deref().unwrap().contains("timed out"));
    w.complete(second.token(), Outcome::Success(b"ok".to_vec()))
        .await
        .unwrap();
    let done = e.get(&job.job_id).await.unwrap();
    assert_eq!(done.result.as_deref(), Some(&b"ok"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_a_long_attempt_alive() {
    let e = Engine::open("sqlite::memory:", quick()).unwrap();
    let opts = EnqueueOptions {
        timeout_ms: Some(300),
        ..fast_retry(1)
    };
    let job = e.enqueue("long", vec![], opts).await.unwrap();
    let w = worker(&e, &[], 1);
    let task = w.poll().await.unwrap();
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let hb = w.heartbeat(task.token()).await.unwrap();
        assert!(matches!(hb, JobHeartbeatResult::Extended { .. }));
    }
    assert!(!task.is_cancelled());
    w.complete(task.token(), Outcome::Success(vec![]))
        .await
        .unwrap();
    assert_eq!(e.get(&job.job_id).await.unwrap().status, JobStatus::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_pending_and_running_jobs_and_retry_them() {
    let e = Engine::open("sqlite::memory:", quick()).unwrap();
    let pending = e
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
    let running = e
        .enqueue("f", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    let w = worker(&e, &[], 2);
    let task = w.poll().await.unwrap();
    assert_eq!(task.token().job_id, running.job_id);

    let waiter = {
        let e = e.clone();
        let id = pending.job_id.clone();
        tokio::spawn(async move { e.await_result(&id, Some(Duration::from_secs(5))).await })
    };
    assert_eq!(
        e.cancel(&pending.job_id).await.unwrap().status,
        JobStatus::Cancelled
    );
    assert_eq!(waiter.await.unwrap().unwrap().status, JobStatus::Cancelled);

    assert_eq!(
        e.cancel(&running.job_id).await.unwrap().status,
        JobStatus::Cancelled
    );
    tokio::time::timeout(Duration::from_secs(1), task.cancelled())
        .await
        .unwrap();
    let ignored = w
        .complete(task.token(), Outcome::Success(b"x".to_vec()))
        .await
        .unwrap_err();
    assert_eq!(ignored.kind(), ErrorKind::Conflict);
    assert_eq!(
        e.get(&running.job_id).await.unwrap().status,
        JobStatus::Cancelled
    );
    assert_eq!(w.held(), 0, "a refused completion frees the slot");

    let again = e.cancel(&running.job_id).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict);
    let back = e.retry(&running.job_id).await.unwrap();
    assert_eq!((back.status, back.attempt), (JobStatus::Pending, 0));
    let rerun = tokio::time::timeout(Duration::from_secs(2), w.poll())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rerun.token().job_id, running.job_id);
    assert_eq!(rerun.job.attempt, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn await_result_times_out_with_a_clear_error_and_leaves_the_job_alone() {
    let e = Engine::open("sqlite::memory:", quick()).unwrap();
    let job = e
        .enqueue("f", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    let err = e
        .await_result(&job.job_id, Some(Duration::from_millis(150)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.message().contains("PENDING"), "{}", err.message());
    assert_eq!(e.get(&job.job_id).await.unwrap().status, JobStatus::Pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_and_counts_through_the_engine() {
    let e = Engine::open("sqlite::memory:", quick()).unwrap();
    for i in 0..5 {
        e.enqueue(
            if i < 3 { "a" } else { "b" },
            vec![],
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    }
    let page = e
        .list(JobListParams {
            names: vec!["a".into()],
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((page.total, page.jobs.len()), (3, 2));
    assert!(page.jobs[0].created_at >= page.jobs[1].created_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_jobs_past_retention_are_pruned() {
    let clock = reseolio_core::clock::ManualClock::new();
    let e = Engine::open(
        "sqlite::memory:",
        EngineConfig {
            retention: Some(Duration::from_secs(3600)),
            clock: Arc::new(clock.clone()),
            maintenance: false,
            ..quick()
        },
    )
    .unwrap();
    let done = e
        .enqueue("f", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    let open = e
        .enqueue("g", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    let w = worker(&e, &["f"], 1);
    let t = w.poll().await.unwrap();
    w.complete(t.token(), Outcome::Success(vec![]))
        .await
        .unwrap();
    assert_eq!(e.run_maintenance_once().await.unwrap().pruned, 0);
    clock.advance_ms(3_600_001);
    assert_eq!(e.run_maintenance_once().await.unwrap().pruned, 1);
    assert_eq!(
        e.get(&done.job_id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        e.get(&open.job_id).await.unwrap().status,
        JobStatus::Pending
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_hands_back_unfinished_jobs_without_counting_the_attempt() {
    let e = Engine::open("sqlite::memory:", quick()).unwrap();
    let a = e
        .enqueue("f", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    let b = e
        .enqueue("f", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    let w = worker(&e, &[], 2);
    let held = w.poll().await.unwrap();
    // Let the fetcher claim the second job into the queue too.
    tokio::time::sleep(Duration::from_millis(100)).await;
    w.shutdown(Duration::from_millis(200)).await;
    assert_eq!(w.poll().await.unwrap_err().kind(), ErrorKind::ShutDown);
    for id in [&a.job_id, &b.job_id] {
        let j = e.get(id).await.unwrap();
        assert_eq!((j.status, j.attempt), (JobStatus::Pending, 0), "{id}");
    }
    let late = w
        .complete(held.token(), Outcome::Success(vec![]))
        .await
        .unwrap_err();
    assert_eq!(late.kind(), ErrorKind::Conflict);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_a_free_slot_gets_an_in_process_job_in_the_enqueue_commit() {
    // A long poll interval keeps the idle fetcher asleep (holding no slot) once it found nothing.
    let idle = EngineConfig {
        poll_interval: Duration::from_secs(30),
        ..quick()
    };
    let e = Engine::open("sqlite::memory:", idle).unwrap();
    let w = worker(&e, &["f"], 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let job = e
        .enqueue("f", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    // Claimed by the enqueue itself: RUNNING the moment enqueue returns.
    assert_eq!(e.get(&job.job_id).await.unwrap().status, JobStatus::Running);
    let task = w.poll().await.unwrap();
    assert_eq!(task.token().job_id, job.job_id);
    // No free slot now: the next job waits as PENDING, and names are respected.
    let second = e
        .enqueue("f", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    let other = e
        .enqueue("g", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    let delayed = e
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
    for id in [&second.job_id, &other.job_id, &delayed.job_id] {
        assert_eq!(e.get(id).await.unwrap().status, JobStatus::Pending);
    }
    w.complete(task.token(), Outcome::Success(vec![]))
        .await
        .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(2), w.poll())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.token().job_id, second.job_id);
    assert_eq!(w.held(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_a_poll_that_is_waiting_for_work() {
    let e = Engine::open("sqlite::memory:", quick()).unwrap();
    let w = Arc::new(worker(&e, &[], 2));
    let poller = {
        let w = w.clone();
        tokio::spawn(async move { w.poll().await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::time::timeout(Duration::from_secs(5), w.shutdown(Duration::from_secs(1)))
        .await
        .expect("shutdown does not wait for an idle poller");
    let polled = poller.await.unwrap();
    assert_eq!(polled.unwrap_err().kind(), ErrorKind::ShutDown);
    // Enqueues after the shutdown are not handed to the stopped worker.
    let job = e
        .enqueue("f", vec![], EnqueueOptions::default())
        .await
        .unwrap();
    assert_eq!(e.get(&job.job_id).await.unwrap().status, JobStatus::Pending);
}

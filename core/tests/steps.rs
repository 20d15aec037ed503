//! Durable steps through the engine, with a handler loop written as the SDKs write theirs: a
//! sleep that outlives its engine (shut down and opened again on the same file), and a parent
//! fanning out to 100 children on a worker of concurrency 2 (the waiting parent holds no slot).

use reseolio_core::{
    Engine, EngineConfig, EnqueueOptions, JobStatus, Outcome, StepOutcome, StepRecord, StepWait,
    StepWaitOutcome, Task, Worker, WorkerOptions,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn worker(e: &Engine, names: &[&str], concurrency: u32) -> Arc<Worker> {
    Arc::new(
        e.worker(WorkerOptions {
            names: names.iter().map(|n| n.to_string()).collect(),
            concurrency,
            worker_id: None,
        })
        .unwrap(),
    )
}

/// A sleep of 1.5 s whose job is suspended by one engine, which then shuts down; a second engine
/// on the same file resumes it once the sleep is over, and the code before the sleep ran once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleep_outlives_its_engine() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sleep.db").display());
    let before_sleep = AtomicUsize::new(0);

    // One run of the handler: step "before", then sleep until `until`, then finish.
    async fn run(e: &Engine, w: &Worker, task: &Task, until: i64, before: &AtomicUsize) -> bool {
        let steps = e.steps(&task.job.token.job_id).await.unwrap();
        if steps.is_empty() {
            before.fetch_add(1, Ordering::SeqCst);
            e.step_record(
                task.token(),
                StepRecord {
                    seq: 0,
                    name: "before".into(),
                    outcome: StepOutcome::Success(b"1".to_vec()),
                    attempts: 1,
                    started_at: now_ms(),
                },
            )
            .await
            .unwrap();
        }
        let wait = StepWait::Sleep { until_ms: until };
        match e.step_wait(task.token(), 1, "sleep", wait).await.unwrap() {
            StepWaitOutcome::Suspended { wake_at } => {
                assert_eq!(wake_at, until);
                w.complete(task.token(), Outcome::Suspended).await.unwrap();
                false
            }
            StepWaitOutcome::Done(_) => {
                w.complete(task.token(), Outcome::Success(b"\"woke\"".to_vec()))
                    .await
                    .unwrap();
                true
            }
        }
    }

    let until = now_ms() + 1_500;
    let e = Engine::open(&url, EngineConfig::default()).unwrap();
    let job = e
        .enqueue("nap", b"[]".to_vec(), EnqueueOptions::default())
        .await
        .unwrap();
    let w = worker(&e, &["nap"], 1);
    let task = w.poll().await.unwrap();
    assert!(!run(&e, &w, &task, until, &before_sleep).await);
    let j = e.get(&job.job_id).await.unwrap();
    assert_eq!(
        (j.status, j.run_at, j.attempt),
        (JobStatus::Pending, until, 0)
    );
    // The slot came back: the worker holds nothing while the job sleeps.
    assert_eq!(w.held(), 0);
    w.shutdown(Duration::from_secs(1)).await;
    e.shutdown().await;

    let e = Engine::open(&url, EngineConfig::default()).unwrap();
    let w = worker(&e, &["nap"], 1);
    let task = tokio::time::timeout(Duration::from_secs(10), w.poll())
        .await
        .unwrap()
        .unwrap();
    assert!(now_ms() >= until, "claimed before the sleep was over");
    assert!(run(&e, &w, &task, until + 60_000, &before_sleep).await);
    let j = e
        .await_result(&job.job_id, Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(j.status, JobStatus::Success);
    assert_eq!(before_sleep.load(Ordering::SeqCst), 1);
    assert_eq!(e.attempts(&job.job_id).await.unwrap().len(), 2);
    w.shutdown(Duration::from_secs(1)).await;
    e.shutdown().await;
}

/// A parent starts 100 children (each start a run step that enqueues with the key
/// `<parent>/<seq>`), then joins them in order, suspending on each one not yet finished. One
/// worker of concurrency 2 runs parents and children: the parent holds no slot while it waits,
/// so its children run and it completes with every result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_fans_out_to_100_children_on_two_slots() {
    const CHILDREN: u32 = 100;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fan.db").display());
    let e = Engine::open(&url, EngineConfig::default()).unwrap();
    let w = worker(&e, &["parent", "child"], 2);
    let parent_runs = Arc::new(AtomicUsize::new(0));
    let child_runs = Arc::new(AtomicUsize::new(0));

    async fn run_parent(e: &Engine, w: &Worker, task: &Task) {
        let parent = task.job.token.job_id.clone();
        let journal = e.steps(&parent).await.unwrap();
        let mut children = Vec::new();
        for seq in 0..CHILDREN {
            let child = match journal.get(seq as usize) {
                Some(s) => String::from_utf8(s.result.clone().unwrap()).unwrap(),
                None => {
                    let key = format!("{parent}/{seq}");
                    let c = e
                        .enqueue(
                            "child",
                            seq.to_string().into_bytes(),
                            EnqueueOptions {
                                idempotency_key: Some(key),
                                ..Default::default()
                            },
                        )
                        .await
                        .unwrap();
                    let rec = StepRecord {
                        seq,
                        name: "start:child".into(),
                        outcome: StepOutcome::Success(c.job_id.clone().into_bytes()),
                        attempts: 1,
                        started_at: now_ms(),
                    };
                    e.step_record(task.token(), rec).await.unwrap();
                    c.job_id
                }
            };
            children.push(child);
        }
        let mut sum = 0u64;
        for (i, child) in children.into_iter().enumerate() {
            let seq = CHILDREN + i as u32;
            let wait = StepWait::Child { job_id: child };
            match e
                .step_wait(task.token(), seq, "join:child", wait)
                .await
                .unwrap()
            {
                StepWaitOutcome::Done(s) => {
                    let v: u64 = String::from_utf8(s.result.unwrap())
                        .unwrap()
                        .parse()
                        .unwrap();
                    sum += v;
                }
                StepWaitOutcome::Suspended { .. } => {
                    w.complete(task.token(), Outcome::Suspended).await.unwrap();
                    return;
                }
            }
        }
        w.complete(task.token(), Outcome::Success(sum.to_string().into_bytes()))
            .await
            .unwrap();
    }

    let loops: Vec<_> = (0..2)
        .map(|_| {
            let (e, w) = (e.clone(), w.clone());
            let (parent_runs, child_runs) = (parent_runs.clone(), child_runs.clone());
            tokio::spawn(async move {
                while let Ok(task) = w.poll().await {
                    if task.job.name == "parent" {
                        parent_runs.fetch_add(1, Ordering::SeqCst);
                        run_parent(&e, &w, &task).await;
                    } else {
                        child_runs.fetch_add(1, Ordering::SeqCst);
                        // Slow enough that the parent reaches its joins before its children end.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        let i: u64 = String::from_utf8(task.job.args.clone())
                            .unwrap()
                            .parse()
                            .unwrap();
                        let out = Outcome::Success((i * 2).to_string().into_bytes());
                        w.complete(task.token(), out).await.unwrap();
                    }
                }
            })
        })
        .collect();

    let started = Instant::now();
    let p = e
        .enqueue("parent", b"[]".to_vec(), EnqueueOptions::default())
        .await
        .unwrap();
    let done = e
        .await_result(&p.job_id, Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(done.status, JobStatus::Success);
    let expected: u64 = (0..CHILDREN as u64).map(|i| i * 2).sum();
    assert_eq!(
        done.result.as_deref(),
        Some(expected.to_string().as_bytes())
    );
    assert_eq!(child_runs.load(Ordering::SeqCst), CHILDREN as usize);
    let runs = parent_runs.load(Ordering::SeqCst);
    assert!(runs <= CHILDREN as usize + 1, "the parent ran {runs} times");
    // It waited: it was suspended at least once, and a suspension is not an attempt.
    assert!(runs > 1, "the parent never had to wait for a child");
    assert_eq!(done.attempt, 1);
    assert_eq!(
        e.steps(&p.job_id).await.unwrap().len(),
        2 * CHILDREN as usize
    );
    eprintln!(
        "100 children on 2 slots: {:?}, parent runs {runs}",
        started.elapsed()
    );
    w.shutdown(Duration::from_secs(1)).await;
    for l in loops {
        let _ = l.await;
    }
    e.shutdown().await;
}

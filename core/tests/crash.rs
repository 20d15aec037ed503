//! Crash recovery with real processes: a child process claims jobs, is killed with SIGKILL while
//! holding them, and a freshly started process on the same file runs them again at once (the dead
//! process is detected, not waited out), with nothing lost and each job succeeding exactly once.
//!
//! The child is this test binary itself, re-run on the ignored `crash_child` test with the
//! database path in its environment.

use reseolio_core::job::AttemptOutcome;
use reseolio_core::store::JobListParams;
use reseolio_core::{
    Backoff, Engine, EngineConfig, EnqueueOptions, JobStatus, Outcome, WorkerOptions,
};
use std::collections::HashMap;
use std::io::Write;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const JOBS: usize = 24;
const DB_ENV: &str = "RESEOLIO_CRASH_DB";
const LOG_ENV: &str = "RESEOLIO_CRASH_LOG";

fn spawn_child(db: &str, log: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DB_ENV, db)
        .env(LOG_ENV, log)
        .spawn()
        .unwrap()
}

fn log_lines(log: &str) -> Vec<(String, String, u32)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut p = l.split(' ');
            Some((
                p.next()?.to_string(),
                p.next()?.to_string(),
                p.next()?.parse().ok()?,
            ))
        })
        .collect()
}

/// The worker process: runs every job slowly enough to be caught holding some, and logs each
/// handler start and each completion the engine accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of crash_recovery_after_sigkill; does nothing on its own"]
async fn crash_child() {
    let (Ok(db), Ok(log)) = (std::env::var(DB_ENV), std::env::var(LOG_ENV)) else {
        return;
    };
    let engine = Engine::open(
        &db,
        EngineConfig {
            maintenance_interval: Duration::from_millis(200),
            ..Default::default()
        },
    )
    .unwrap();
    let worker = engine
        .worker(WorkerOptions {
            names: vec!["crash".into()],
            concurrency: 4,
            worker_id: None,
        })
        .unwrap();
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    loop {
        let task = worker.poll().await.unwrap();
        writeln!(out, "start {} {}", task.token().job_id, task.job.attempt).unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let r = worker
            .complete(task.token(), Outcome::Success(task.job.args.clone()))
            .await;
        if r.is_ok() {
            writeln!(out, "ok {} {}", task.token().job_id, task.job.attempt).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_recovery_after_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("crash.db").display());
    let log = dir.path().join("handler.log").display().to_string();
    // An observer: it enqueues and reads, and runs no maintenance, so recovery is the children's.
    let observer = Engine::open(
        &db,
        EngineConfig {
            maintenance: false,
            ..Default::default()
        },
    )
    .unwrap();
    let opts = EnqueueOptions {
        // A lease far longer than the test: recovery must come from seeing the process die.
        timeout_ms: Some(120_000),
        backoff: Some(Backoff::Fixed),
        initial_delay_ms: Some(50),
        jitter: Some(0.0),
        ..Default::default()
    };
    let mut ids = Vec::new();
    for i in 0..JOBS {
        ids.push(
            observer
                .enqueue("crash", format!("[{i}]").into_bytes(), opts.clone())
                .await
                .unwrap()
                .job_id,
        );
    }

    let mut first = spawn_child(&db, &log);
    let deadline = Instant::now() + Duration::from_secs(30);
    while log_lines(&log).iter().filter(|l| l.0 == "ok").count() < 4 {
        assert!(
            Instant::now() < deadline,
            "the first child never completed jobs"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGKILL: no destructor, no hand-back.
    first.kill().unwrap();
    first.wait().unwrap();
    let killed_at = Instant::now();
    let held = observer
        .list(JobListParams {
            statuses: vec![JobStatus::Running],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(held.total > 0, "the child was killed holding jobs");
    let held_ids: Vec<String> = held.jobs.iter().map(|j| j.id.clone()).collect();

    let mut second = spawn_child(&db, &log);
    for id in &held_ids {
        let job = observer
            .await_result(id, Some(Duration::from_secs(30)))
            .await
            .unwrap();
        assert_eq!(job.status, JobStatus::Success);
    }
    let recovered_in = killed_at.elapsed();
    for id in &ids {
        let job = observer
            .await_result(id, Some(Duration::from_secs(60)))
            .await
            .unwrap();
        assert_eq!(job.status, JobStatus::Success, "job {id}");
    }
    second.kill().unwrap();
    second.wait().unwrap();

    // From the database: each job has exactly one successful attempt; the interrupted ones have a
    // worker_lost attempt before it, and every attempt ended.
    let mut lost = 0;
    for id in &ids {
        let attempts = observer.attempts(id).await.unwrap();
        let ok = attempts
            .iter()
            .filter(|a| a.outcome == Some(AttemptOutcome::Success))
            .count();
        assert_eq!(ok, 1, "job {id}: {attempts:?}");
        lost += attempts
            .iter()
            .filter(|a| a.outcome == Some(AttemptOutcome::WorkerLost))
            .count();
        if held_ids.contains(id) {
            assert_eq!(
                attempts[0].outcome,
                Some(AttemptOutcome::WorkerLost),
                "job {id}"
            );
        }
    }
    assert_eq!(lost, held_ids.len());
    // From the handlers' side: one accepted completion per job; extra starts only for the
    // jobs the kill interrupted.
    let lines = log_lines(&log);
    let mut oks: HashMap<&str, usize> = HashMap::new();
    let mut starts: HashMap<&str, usize> = HashMap::new();
    for (kind, id, _) in &lines {
        let m = if kind == "ok" { &mut oks } else { &mut starts };
        *m.entry(id.as_str()).or_default() += 1;
    }
    for id in &ids {
        assert_eq!(oks.get(id.as_str()), Some(&1), "job {id} completed once");
        let expected_starts = if held_ids.contains(id) { 2 } else { 1 };
        assert!(
            starts[id.as_str()] <= expected_starts,
            "job {id} ran {} times",
            starts[id.as_str()]
        );
    }
    // The leases were 120 s long: finishing well inside that proves the dead process was detected.
    assert!(
        recovered_in < Duration::from_secs(20),
        "recovery took {recovered_in:?}"
    );
    println!(
        "crash test: {} jobs, {} held at SIGKILL, re-run and finished {:?} after the kill",
        JOBS,
        held_ids.len(),
        recovered_in
    );
}

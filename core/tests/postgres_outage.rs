//! Lost connections: every connection of a running engine is terminated by the server (as a
//! PostgreSQL restart or a failover does) while jobs are enqueued and run. A call made meanwhile
//! either gets a fresh connection (the pool checks each one before use) or fails with
//! Unavailable and succeeds when retried; the pool and the notification listener reconnect by
//! themselves; no job is lost and none runs twice. (A test binary of its own: it
//! terminates backends by application name, which no other test uses.)
//! Reads RESEOLIO_TEST_POSTGRES_URL; says it skipped without it.

mod common;

use reseolio_core::{Engine, EngineConfig, EnqueueOptions, ErrorKind, Outcome, WorkerOptions};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_connections_lose_no_job_and_run_none_twice() {
    let Ok(server) = std::env::var("RESEOLIO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)");
        return;
    };
    let app = format!("outage_{}", uuid::Uuid::now_v7().simple());
    let sep = if server.contains('?') { '&' } else { '?' };
    let url = format!("{server}{sep}schema=t_{app}&application_name={app}");
    let engine = Engine::open_async(&url, EngineConfig::default())
        .await
        .unwrap();
    let admin = sqlx::PgPool::connect(server.split('?').next().unwrap())
        .await
        .unwrap();

    // The worker loop retries a completion the outage refused, as the SDKs do.
    let runs: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let worker = Arc::new(
        engine
            .worker(WorkerOptions {
                names: vec!["outage".into()],
                concurrency: 8,
                worker_id: None,
            })
            .unwrap(),
    );
    let unavailable = Arc::new(Mutex::new(0u32));
    let running = tokio::spawn({
        let (worker, runs, unavailable) = (worker.clone(), runs.clone(), unavailable.clone());
        async move {
            loop {
                let Ok(task) = worker.poll().await else {
                    return;
                };
                *runs
                    .lock()
                    .unwrap()
                    .entry(task.token().job_id.clone())
                    .or_default() += 1;
                let (worker, unavailable) = (worker.clone(), unavailable.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    loop {
                        match worker
                            .complete(task.token(), Outcome::Success(b"null".to_vec()))
                            .await
                        {
                            Ok(_) => return,
                            // Applied before the connection went, answered after: done.
                            Err(e) if e.kind() == ErrorKind::Conflict => return,
                            Err(e) => {
                                assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
                                *unavailable.lock().unwrap() += 1;
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                        }
                    }
                });
            }
        }
    });

    let n = 300;
    let mut ids = Vec::new();
    let mut terminated = 0;
    for i in 0..n {
        if i == 100 || i == 200 {
            terminated += sqlx::query_scalar::<_, bool>(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            )
            .bind(&app)
            .fetch_all(&admin)
            .await
            .unwrap()
            .len();
        }
        // An enqueue made during the outage fails with Unavailable; retried, it succeeds.
        let id = loop {
            match engine
                .enqueue("outage", b"[]".to_vec(), EnqueueOptions::default())
                .await
            {
                Ok(e) => break e.job_id,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
                    *unavailable.lock().unwrap() += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        ids.push(id);
    }
    assert!(
        terminated >= 2,
        "the engine's connections were terminated ({terminated})"
    );

    common::wait_all_succeeded(&engine, n, Duration::from_secs(60)).await;
    let runs = runs.lock().unwrap().clone();
    eprintln!(
        "{terminated} connections terminated; {} calls answered Unavailable and were retried",
        unavailable.lock().unwrap()
    );
    assert_eq!(runs.len(), n, "every job ran");
    assert!(
        ids.iter().all(|id| runs.get(id) == Some(&1)),
        "no job ran twice"
    );
    running.abort();
    admin.close().await;
    engine.shutdown().await;
}

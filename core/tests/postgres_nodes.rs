//! Several engines (nodes) on one PostgreSQL schema, in one test process: what one node writes
//! wakes the others through LISTEN/NOTIFY, well before their poll interval (set to 30 s here, so
//! that only a notification can explain a fast wake-up). Reads RESEOLIO_TEST_POSTGRES_URL; says
//! it skipped without it.

use reseolio_core::{Engine, EngineConfig, EnqueueOptions, JobStatus, Outcome, WorkerOptions};
use std::time::{Duration, Instant};

/// A fresh schema's URL on the test server, or None (skipped).
fn schema_url() -> Option<String> {
    let Ok(server) = std::env::var("RESEOLIO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)");
        return None;
    };
    let sep = if server.contains('?') { '&' } else { '?' };
    Some(format!(
        "{server}{sep}schema=t_{}",
        uuid::Uuid::now_v7().simple()
    ))
}

fn slow_polling() -> EngineConfig {
    EngineConfig {
        poll_interval: Duration::from_secs(30),
        ..Default::default()
    }
}

async fn node(url: &str) -> Engine {
    Engine::open_async(url, slow_polling()).await.unwrap()
}

const FAST: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enqueue_on_one_node_wakes_an_idle_worker_on_another() {
    let Some(url) = schema_url() else { return };
    let (a, b) = (node(&url).await, node(&url).await);
    let w = a
        .worker(WorkerOptions {
            names: vec!["wake".into()],
            concurrency: 1,
            worker_id: None,
        })
        .unwrap();
    // Let the worker's first (empty) fetch pass, so that it is idle, waiting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    b.enqueue("wake", b"[]".to_vec(), EnqueueOptions::default())
        .await
        .unwrap();
    let task = tokio::time::timeout(FAST, w.poll())
        .await
        .expect("woken by the notification, not the 30 s poll")
        .unwrap();
    eprintln!("cross-node wake-up after {:?}", started.elapsed());

    // The result, awaited on the other node, arrives the same way.
    let waiting = tokio::spawn({
        let b = b.clone();
        let id = task.token().job_id.clone();
        async move { b.await_result(&id, Some(FAST)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    w.complete(task.token(), Outcome::Success(b"1".to_vec()))
        .await
        .unwrap();
    let done = waiting.await.unwrap().expect("woken by the notification");
    assert_eq!(done.status, JobStatus::Success);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_on_one_node_stops_the_task_running_on_another() {
    let Some(url) = schema_url() else { return };
    let (a, b) = (node(&url).await, node(&url).await);
    let job = b
        .enqueue("long", b"[]".to_vec(), EnqueueOptions::default())
        .await
        .unwrap();
    let w = a
        .worker(WorkerOptions {
            names: vec!["long".into()],
            concurrency: 1,
            worker_id: None,
        })
        .unwrap();
    let task = tokio::time::timeout(FAST, w.poll()).await.unwrap().unwrap();
    assert!(!task.is_cancelled());
    b.cancel(&job.job_id).await.unwrap();
    tokio::time::timeout(FAST, task.cancelled())
        .await
        .expect("the running task learns of the cancel from the notification");
    // Its late completion is refused; the job stays CANCELLED.
    assert!(w
        .complete(task.token(), Outcome::Success(vec![]))
        .await
        .is_err());
    assert_eq!(
        b.get(&job.job_id).await.unwrap().status,
        JobStatus::Cancelled
    );
    a.shutdown().await;
    b.shutdown().await;
}

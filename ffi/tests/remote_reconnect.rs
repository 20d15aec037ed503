//! A remote worker survives a sidecar restart: its stream breaks, `poll` opens a new one with
//! backoff, and jobs enqueued after the restart reach it.

use reseolio_ffi::{Client, ConnectOptions, EnqueueOptions, JobStatus, Outcome};
use std::time::Duration;

async fn serve(engine: reseolio_core::Engine, addr: &str) -> reseolio_sidecar::Serving {
    let addr = addr.parse().unwrap();
    reseolio_ffi::runtime()
        .spawn(async move {
            reseolio_sidecar::serve(
                engine,
                reseolio_sidecar::ServeConfig {
                    addr,
                    token: None,
                    max_concurrent: 10,
                    grace: Duration::from_millis(200),
                },
            )
            .await
            .unwrap()
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_worker_reconnects_after_the_sidecar_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("reconnect.db").display());
    let engine = reseolio_ffi::runtime()
        .spawn(async move {
            reseolio_core::Engine::open(&url, reseolio_core::EngineConfig::default()).unwrap()
        })
        .await
        .unwrap();
    let first = serve(engine.clone(), "127.0.0.1:0").await;
    let addr = first.local_addr().to_string();
    let client = Client::connect(&format!("grpc://{addr}"), ConnectOptions::default()).unwrap();
    let worker = client.worker(vec!["f".into()], 1).await.unwrap();

    // The sidecar goes away (ending the worker's stream) and comes back on the same address.
    first.stop().await.unwrap();
    let second = serve(engine.clone(), &addr).await;

    let job = client
        .enqueue("f", b"[1]".to_vec(), EnqueueOptions::default())
        .await
        .unwrap();
    let task = tokio::time::timeout(Duration::from_secs(15), worker.poll())
        .await
        .expect("the worker reconnected within 15 s")
        .unwrap();
    assert_eq!(task.token().job_id, job.job_id);
    worker
        .complete(task.token(), Outcome::Success(b"2".to_vec()))
        .await
        .unwrap();
    let done = client
        .await_result(&job.job_id, Some(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(done.status, JobStatus::Success);
    worker.shutdown(Duration::from_secs(1)).await.unwrap();
    second.stop().await.unwrap();
}

//! The Client from outside any Tokio runtime: each test drives it from a plain thread with a
//! bare current-thread executor that has no timer, so only the crate's own runtime can be doing
//! the engine's work.

use reseolio_ffi::{Client, ConnectOptions, EnqueueOptions, ErrorKind, JobStatus, Outcome};
use std::time::Duration;

fn bare_block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn enqueue_run_and_await_from_a_foreign_executor() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ffi.db").display());
    let client = Client::connect(&url, ConnectOptions::default()).unwrap();
    bare_block_on(async {
        let job = client
            .enqueue("add", b"[1,2]".to_vec(), EnqueueOptions::default())
            .await
            .unwrap();
        let worker = client.worker(vec!["add".into()], 2).await.unwrap();
        let task = worker.poll().await.unwrap();
        assert_eq!(task.job().args, b"[1,2]");
        worker
            .complete(task.token(), Outcome::Success(b"3".to_vec()))
            .await
            .unwrap();
        let done = client
            .await_result(&job.job_id, Some(Duration::from_secs(5)))
            .await
            .unwrap();
        assert_eq!(done.status, JobStatus::Success);
        assert_eq!(done.result.as_deref(), Some(&b"3"[..]));
        worker.shutdown(Duration::from_secs(1)).await.unwrap();
        client.close().await.unwrap();
    });
}

#[test]
fn urls_and_options_are_checked() {
    for (url, needle) in [
        ("postgres://localhost/db?schema=Not-Ok", "schema must be"),
        ("grpc://", "grpc://HOST:PORT"),
        ("redis://x", "unsupported scheme 'redis'"),
        ("sqlite://", "no file path"),
    ] {
        let err = Client::connect(url, ConnectOptions::default())
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.message().contains(needle), "{url}: {}", err.message());
    }
    let err = Client::connect(
        "sqlite::memory:",
        ConnectOptions {
            poll_interval_ms: Some(0),
            ..Default::default()
        },
    )
    .err()
    .unwrap();
    assert!(err.message().contains("poll_interval_ms"));
}

#[test]
fn connect_async_and_the_same_errors_through_the_client() {
    bare_block_on(async {
        let client = Client::connect_async("sqlite::memory:", ConnectOptions::default())
            .await
            .unwrap();
        let err = client.get("nope").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = client
            .await_result("nope", Some(Duration::from_millis(10)))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let job = client
            .enqueue("f", vec![], EnqueueOptions::default())
            .await
            .unwrap();
        let err = client
            .await_result(&job.job_id, Some(Duration::from_millis(50)))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
    });
}

#[test]
fn a_sidecar_that_is_not_there_is_unavailable_and_a_bad_token_is_refused() {
    // Nothing listens on port 1: the client connects on first use, and says why it could not.
    let client = Client::connect("grpc://127.0.0.1:1", ConnectOptions::default()).unwrap();
    let err = bare_block_on(client.get("x")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(
        err.message().starts_with("the sidecar is unreachable: "),
        "{}",
        err.message()
    );
    let err = Client::connect(
        "grpc://127.0.0.1:1",
        ConnectOptions {
            token: Some("caf\u{e9}\n".into()),
            ..Default::default()
        },
    )
    .err()
    .unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(err.message(), "the token must be printable ASCII");
}

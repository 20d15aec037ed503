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

/// The SQL function an application calls inside its own transaction (here through sqlx, as any
/// driver would): the job exists if and only if the transaction commits, idle workers wake on
/// the commit, and refused options name the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_enqueue_sql_function_follows_the_callers_transaction() {
    let Some(url) = schema_url() else { return };
    let engine = node(&url).await;
    let schema = url.rsplit("schema=").next().unwrap().to_string();
    let server = url.split('?').next().unwrap().to_string();
    let app = sqlx::PgPool::connect(&server).await.unwrap();
    let call = format!("SELECT {schema}.enqueue($1, $2::jsonb, $3::jsonb, $4)");
    let w = engine
        .worker(WorkerOptions {
            names: vec!["tx".into()],
            concurrency: 1,
            worker_id: None,
        })
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Rolled back: no job, and the worker is not woken for one.
    let mut tx = app.begin().await.unwrap();
    let gone: String = sqlx::query_scalar(&call)
        .bind("tx")
        .bind("[1]")
        .bind("{}")
        .bind(None::<String>)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        engine.get(&gone).await.unwrap_err().kind(),
        reseolio_core::ErrorKind::NotFound
    );

    // Committed: the job exists with the options given (and the engine's defaults for the rest),
    // and the idle worker wakes on the commit.
    let mut tx = app.begin().await.unwrap();
    let id: String = sqlx::query_scalar(&call)
        .bind("tx")
        .bind(r#"["ada", 2]"#)
        .bind(r#"{"max_attempts": 7, "backoff": "FIXED", "priority": 3}"#)
        .bind(Some("order:42"))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), w.poll())
            .await
            .is_err(),
        "not claimable before the commit"
    );
    let started = Instant::now();
    tx.commit().await.unwrap();
    let task = tokio::time::timeout(FAST, w.poll())
        .await
        .expect("woken by the commit's notification")
        .unwrap();
    eprintln!("worker woken {:?} after the commit", started.elapsed());
    assert_eq!(task.token().job_id, id);
    let job = engine.get(&id).await.unwrap();
    assert_eq!(job.args, br#"["ada", 2]"#);
    assert_eq!((job.max_attempts, job.priority), (7, 3));
    assert_eq!(job.retry.backoff, reseolio_core::Backoff::Fixed);
    assert_eq!(
        (job.timeout_ms, job.retry.initial_delay_ms),
        (30_000, 1_000)
    );
    assert_eq!(job.idempotency_key.as_deref(), Some("order:42"));
    w.complete(task.token(), Outcome::Success(b"null".to_vec()))
        .await
        .unwrap();

    // The same key again: the first job's id, no second job.
    let again: String = sqlx::query_scalar(&call)
        .bind("tx")
        .bind("[]")
        .bind("{}")
        .bind(Some("order:42"))
        .fetch_one(&app)
        .await
        .unwrap();
    assert_eq!(again, id);

    for (options, needle) in [
        (r#"{"max_attempts": 0}"#, "max_attempts must be between 1"),
        (r#"{"retries": 3}"#, "unknown job option \"retries\""),
        (r#"{"backoff": "sometimes"}"#, "backoff must be one of"),
        (r#"{"jitter": 2}"#, "jitter must be between"),
        (r#"{"delay_ms": 1, "run_at_ms": 1}"#, "not both"),
    ] {
        let e = sqlx::query_scalar::<_, String>(&call)
            .bind("tx")
            .bind("[]")
            .bind(options)
            .bind(None::<String>)
            .fetch_one(&app)
            .await
            .unwrap_err();
        let db = e.as_database_error().expect("a database error");
        assert_eq!(db.code().as_deref(), Some("22023"), "{options}");
        assert!(db.message().contains(needle), "{options}: {}", db.message());
    }
    app.close().await;
    engine.shutdown().await;
}

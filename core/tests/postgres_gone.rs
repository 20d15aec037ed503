//! PostgreSQL going away mid-run, as a network or a server outage does: the engine talks to the
//! server through a TCP proxy in this test, which is cut (every connection dropped, new ones
//! refused) and later restored on the same port. While it is cut, calls fail with Unavailable
//! naming the cause; nothing committed is lost; an enqueue retried with its idempotency key
//! makes one job even when its first try committed but its answer was lost; and once the server
//! is back the same engine carries on, runs every job once, and completes a job it held across
//! the outage. A pool whose connections are all held elsewhere says that, not that the server
//! is down.
//! Reads RESEOLIO_TEST_POSTGRES_URL; says it skipped without it.

use reseolio_core::store::postgres::{PostgresConfig, PostgresStore};
use reseolio_core::store::JobListParams;
use reseolio_core::{
    Engine, EngineConfig, EnqueueOptions, Error, ErrorKind, JobStatus, Outcome, WorkerOptions,
};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy to `target` that can be cut and restored on the same address.
struct Proxy {
    addr: SocketAddr,
    target: SocketAddr,
    listener: Mutex<Option<JoinHandle<()>>>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let mut p = Proxy {
            addr: "127.0.0.1:0".parse().unwrap(),
            target,
            listener: Mutex::new(None),
            links: Arc::default(),
        };
        p.addr = p.listen();
        p
    }

    /// Listens on `self.addr` (reusing the port while old connections linger in TIME_WAIT) and
    /// pipes each accepted connection to the target. Returns the bound address.
    fn listen(&self) -> SocketAddr {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.addr).unwrap();
        let listener = socket.listen(64).unwrap();
        let addr = listener.local_addr().unwrap();
        let (target, links) = (self.target, self.links.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                links.lock().unwrap().push(link);
            }
        });
        *self.listener.lock().unwrap() = Some(task);
        addr
    }

    /// Drops every connection and stops listening: new connections are refused.
    fn cut(&self) {
        if let Some(l) = self.listener.lock().unwrap().take() {
            l.abort();
        }
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    /// Listens again on the same address.
    fn restore(&self) {
        assert_eq!(self.listen(), self.addr);
    }
}

/// `url` with its host and port replaced by `addr`.
fn through(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (auth, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let user = auth.rsplit_once('@').map(|(u, _)| format!("{u}@"));
    format!("{scheme}://{}{addr}{path}", user.unwrap_or_default())
}

/// Retries `f` while it fails with Unavailable, for up to `within`; counts the failures.
async fn retried<T, F, Fut>(within: Duration, failures: &Mutex<Vec<Error>>, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = reseolio_core::Result<T>>,
{
    let end = Instant::now() + within;
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
                assert!(Instant::now() < end, "still failing after {within:?}: {e}");
                failures.lock().unwrap().push(e);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_connection_fails_calls_as_unavailable_loses_nothing_and_the_engine_recovers() {
    let Ok(server) = std::env::var("RESEOLIO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)");
        return;
    };
    let options = sqlx::postgres::PgConnectOptions::from_str(&server).unwrap();
    let target = tokio::net::lookup_host((options.get_host(), options.get_port()))
        .await
        .unwrap()
        .find(SocketAddr::is_ipv4)
        .unwrap();
    let proxy = Proxy::start(target).await;
    let sep = if server.contains('?') { '&' } else { '?' };
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut config = PostgresConfig::parse(&format!(
        "{}{sep}schema={schema}",
        through(&server, proxy.addr)
    ))
    .unwrap();
    // Calls give up on the pool sooner than the default 5 s, to keep the test short.
    config.acquire_timeout = Duration::from_secs(2);
    let store = PostgresStore::open(&config).await.unwrap();
    let engine = Engine::with_store(
        Arc::new(store),
        EngineConfig {
            poll_interval: Duration::from_millis(50),
            ..Default::default()
        },
    )
    .unwrap();

    // Before: 40 jobs, the first 20 run to SUCCESS, one more held by a worker.
    let mut committed = Vec::new();
    for i in 0..40 {
        let args = format!("[{i}]").into_bytes();
        let id = engine
            .enqueue("gone", args.clone(), EnqueueOptions::default())
            .await
            .unwrap()
            .job_id;
        committed.push((id, args));
    }
    let w = engine
        .worker(WorkerOptions {
            names: vec!["gone".into()],
            concurrency: 1,
            worker_id: None,
        })
        .unwrap();
    for _ in 0..20 {
        let t = w.poll().await.unwrap();
        w.complete(t.token(), Outcome::Success(t.job.args.clone()))
            .await
            .unwrap();
    }
    let held = w.poll().await.unwrap();

    // A producer enqueues with idempotency keys all along, retrying what the outage refuses.
    let failures: Arc<Mutex<Vec<Error>>> = Arc::default();
    let producer = tokio::spawn({
        let (engine, failures) = (engine.clone(), failures.clone());
        async move {
            let mut ids = HashMap::new();
            for i in 0..60 {
                let key = format!("p{i}");
                let opts = EnqueueOptions {
                    idempotency_key: Some(key.clone()),
                    ..Default::default()
                };
                let e = retried(Duration::from_secs(30), &failures, || {
                    engine.enqueue("produced", b"[]".to_vec(), opts.clone())
                })
                .await;
                ids.insert(key, e.job_id);
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
            ids
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    proxy.cut();
    let cut_at = Instant::now();
    // Every kind of call fails with Unavailable, naming the cause, within the acquire timeout
    // (2 s here) and the probe that names the cause.
    let started = Instant::now();
    let (enqueue, get, list, complete, heartbeat) = tokio::join!(
        engine.enqueue("gone", b"[]".to_vec(), EnqueueOptions::default()),
        engine.get(&committed[0].0),
        engine.list(JobListParams::default()),
        w.complete(held.token(), Outcome::Success(b"held".to_vec())),
        engine.heartbeat(held.token()),
    );
    let calls = [
        enqueue.map(|_| ()).unwrap_err(),
        get.map(|_| ()).unwrap_err(),
        list.map(|_| ()).unwrap_err(),
        complete.map(|_| ()).unwrap_err(),
        heartbeat.map(|_| ()).unwrap_err(),
    ];
    // A call that found no connection names the refusal (the pool only knows it timed out; a
    // probe connection learns why); one whose connection was cut under it names that.
    let causes = [
        "Connection refused",
        "Connection reset",
        "at EOF",
        "Broken pipe",
    ];
    for e in &calls {
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert!(
            e.message().starts_with("PostgreSQL cannot be reached: ")
                && causes.iter().any(|c| e.message().contains(c)),
            "the cause is named: {e}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "each call gave up within its timeout: {:?}",
        started.elapsed()
    );
    // Once every old connection is gone, a call meets only the refusal.
    let refused = engine.get(&committed[1].0).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unavailable);
    assert!(
        refused.message().contains("Connection refused")
            && refused.message().contains("(no connection within 2s)"),
        "{refused}"
    );
    eprintln!("while cut: {refused}");
    tokio::time::sleep(Duration::from_millis(1500).saturating_sub(cut_at.elapsed())).await;
    proxy.restore();
    let restored_at = Instant::now();

    // The same engine works again: the job held across the outage completes with its token.
    let none = Mutex::new(Vec::new());
    retried(Duration::from_secs(20), &none, || {
        w.complete(held.token(), Outcome::Success(held.job.args.clone()))
    })
    .await;
    eprintln!(
        "back {:?} after the restore; {} calls failed meanwhile",
        restored_at.elapsed(),
        none.lock().unwrap().len()
    );
    let produced = producer.await.unwrap();
    assert!(
        !failures.lock().unwrap().is_empty(),
        "the producer ran into the outage"
    );
    for (id, args) in &committed {
        let job = engine.get(id).await.unwrap();
        assert_eq!(&job.args, args);
    }
    let succeeded = |jobs: &[(String, Vec<u8>)]| {
        let engine = engine.clone();
        let ids: Vec<String> = jobs.iter().map(|(id, _)| id.clone()).collect();
        async move {
            let mut n = 0;
            for id in ids {
                if engine.get(&id).await.unwrap().status == JobStatus::Success {
                    n += 1;
                }
            }
            n
        }
    };
    assert_eq!(
        succeeded(&committed[..21]).await,
        21,
        "the runs before the cut stand"
    );

    // Every job runs once: the rest of `gone`, and each produced key's single job.
    w.shutdown(Duration::from_secs(1)).await;
    let runs: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let all = engine
        .worker(WorkerOptions {
            names: vec!["gone".into(), "produced".into()],
            concurrency: 8,
            worker_id: None,
        })
        .unwrap();
    let total = committed.len() - 21 + produced.len();
    for _ in 0..total {
        let t = tokio::time::timeout(Duration::from_secs(20), all.poll())
            .await
            .expect("every job runs")
            .unwrap();
        *runs
            .lock()
            .unwrap()
            .entry(t.token().job_id.clone())
            .or_default() += 1;
        all.complete(t.token(), Outcome::Success(b"1".to_vec()))
            .await
            .unwrap();
    }
    let produced_jobs = engine
        .list(JobListParams {
            names: vec!["produced".into()],
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        produced_jobs.total, 60,
        "one job per idempotency key, though some enqueues were retried"
    );
    let runs = runs.lock().unwrap().clone();
    assert!(runs.values().all(|n| *n == 1), "no job ran twice");
    assert!(produced.values().all(|id| runs.contains_key(id)));
    assert_eq!(succeeded(&committed).await, committed.len());
    all.shutdown(Duration::from_secs(1)).await;
    engine.shutdown().await;
    proxy.cut();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_that_stays_busy_says_so_rather_than_blaming_the_server() {
    let Ok(server) = std::env::var("RESEOLIO_TEST_POSTGRES_URL") else {
        eprintln!("skipped: RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)");
        return;
    };
    let sep = if server.contains('?') { '&' } else { '?' };
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut config =
        PostgresConfig::parse(&format!("{server}{sep}schema={schema}&max_connections=2")).unwrap();
    config.acquire_timeout = Duration::from_secs(1);
    let store = Arc::new(PostgresStore::open(&config).await.unwrap());
    let engine = Engine::with_store(
        store.clone(),
        EngineConfig {
            maintenance: false,
            ..Default::default()
        },
    )
    .unwrap();
    // Something else holds every pooled connection.
    let mut held = Vec::new();
    while let Ok(c) = store.pool().acquire().await {
        held.push(c);
    }
    let e = engine.get("x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert_eq!(
        e.message(),
        "no PostgreSQL connection became free within 1s: the server answers, and all 2 pooled \
         connections stayed busy (the storage URL's max_connections sets how many)"
    );
    held.clear();
    assert_eq!(
        engine.get("x").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    engine.shutdown().await;
}

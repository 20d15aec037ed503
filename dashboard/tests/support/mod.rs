//! What the HTTP tests share: a SQLite engine in a temporary directory, a dashboard on
//! 127.0.0.1:0, jobs seeded into every status, and a tiny HTTP/1.1 client over a raw
//! `TcpStream` (one request per connection, `Connection: close`).

#![allow(dead_code)]

use reseolio_core::{Engine, EngineConfig, EnqueueOptions, Outcome, WorkerOptions};
use reseolio_dashboard::{serve, DashboardConfig, Serving};
use serde_json::Value;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An answer: status, headers (names lower-case) and body.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Res {
    /// The first header of that name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text()))
    }
    /// The `error.kind` of a JSON error answer.
    pub fn kind(&self) -> String {
        self.json()["error"]["kind"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

/// Sends one request. `headers` may override `Host`.
pub async fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Res {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if method != "GET" && method != "HEAD" {
        head.push_str("Content-Length: 0\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    parse(&raw)
}

fn parse(raw: &[u8]) -> Res {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Res {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("chunk size hex");
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 2 + size + 2..];
    }
}

/// A dashboard over a fresh SQLite engine.
pub struct Fixture {
    pub engine: Engine,
    pub serving: Option<Serving>,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// Loopback, no token, actions allowed.
    pub async fn new() -> Fixture {
        Self::with(|_| {}).await
    }

    /// With the configuration changed by `tweak` (the address stays 127.0.0.1:0).
    pub async fn with(tweak: impl FnOnce(&mut DashboardConfig)) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
        let engine = Engine::open_async(&url, EngineConfig::default())
            .await
            .unwrap();
        let mut config = DashboardConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        };
        tweak(&mut config);
        let serving = serve(engine.clone(), config).await.unwrap();
        Fixture {
            engine,
            addr: serving.local_addr(),
            serving: Some(serving),
            _dir: dir,
        }
    }

    pub async fn get(&self, path: &str) -> Res {
        request(self.addr, "GET", path, &[]).await
    }

    /// An action as the UI sends it: POST with the CSRF header.
    pub async fn post(&self, path: &str) -> Res {
        request(self.addr, "POST", path, &[("x-reseolio-csrf", "1")]).await
    }

    pub async fn enqueue(&self, name: &str, args: &[u8], options: EnqueueOptions) -> String {
        self.engine
            .enqueue(name, args.to_vec(), options)
            .await
            .unwrap()
            .job_id
    }
}

/// The ids of the jobs [`seed`] made, by status.
pub struct Seeded {
    pub pending: Vec<String>,
    pub running: String,
    pub failed: String,
    pub succeeded: Vec<String>,
    pub dead: Vec<String>,
    pub cancelled: String,
}

/// Jobs in every status: PENDING 2 (`mail`), RUNNING 1, FAILED 1, SUCCESS 3, DEAD 2 (all
/// `work`, run by the worker `worker-a`), CANCELLED 1 (`mail`).
pub async fn seed(f: &Fixture) -> Seeded {
    let e = &f.engine;
    let worker = e
        .worker(WorkerOptions {
            names: vec!["work".into()],
            concurrency: 10,
            worker_id: Some("worker-a".into()),
        })
        .unwrap();
    // One job at a time: enqueue it, claim it, complete it as wanted.
    let run = |args: &'static [u8], options: EnqueueOptions, outcome: Option<Outcome>| {
        let worker = &worker;
        async move {
            let id = f.enqueue("work", args, options).await;
            let task = worker.poll().await.unwrap();
            assert_eq!(task.token().job_id, id);
            if let Some(o) = outcome {
                worker.complete(task.token(), o).await.unwrap();
            }
            id
        }
    };
    let mut succeeded = vec![];
    for i in 0..3 {
        let result = format!("{{\"n\": {i}}}").into_bytes();
        succeeded.push(
            run(
                b"[1]",
                EnqueueOptions::default(),
                Some(Outcome::Success(result)),
            )
            .await,
        );
    }
    let fail = |msg: &str, retryable| Outcome::Failure {
        error: msg.to_string(),
        retryable,
    };
    let mut dead = vec![];
    for _ in 0..2 {
        dead.push(
            run(
                b"[2]",
                EnqueueOptions::default(),
                Some(fail("boom: no retry", false)),
            )
            .await,
        );
    }
    let later = EnqueueOptions {
        initial_delay_ms: Some(3_600_000),
        ..Default::default()
    };
    let failed = run(b"[3]", later, Some(fail("flaky", true))).await;
    let running = run(b"[4]", EnqueueOptions::default(), None).await;
    let pending = vec![
        f.enqueue("mail", b"[\"a\"]", EnqueueOptions::default())
            .await,
        f.enqueue("mail", b"[\"b\"]", EnqueueOptions::default())
            .await,
    ];
    let cancelled = f
        .enqueue("mail", b"[\"c\"]", EnqueueOptions::default())
        .await;
    e.cancel(&cancelled).await.unwrap();
    // A worker dropped without a shutdown leaves its RUNNING job to lease expiry (30 s).
    drop(worker);
    Seeded {
        pending,
        running,
        failed,
        succeeded,
        dead,
        cancelled,
    }
}

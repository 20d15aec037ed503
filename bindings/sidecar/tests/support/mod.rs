//! Helpers shared by the sidecar's integration tests: a sidecar served in-process on
//! 127.0.0.1:0, clients for it, a raw-bytes codec, and the `reseolio` binary as a process.

// Each test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

use reseolio_core::{Engine, EngineConfig};
use reseolio_proto as pb;
use reseolio_proto::reseolio_client::ReseolioClient;
use reseolio_sidecar::{serve, ServeConfig, Serving};
use serde_json::Value;
use std::ffi::OsStr;
use std::process::{Child, Command, ExitStatus};
use std::time::Duration;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::Status;

// ------------------------------------------------------------------------------------ sidecar

/// What differs between the suites' sidecars.
#[derive(Clone, Copy)]
pub struct Setup<'a> {
    pub token: Option<&'a str>,
    pub max_concurrent: u32,
    /// How long a stop waits for the acks of jobs in flight.
    pub grace: Duration,
    /// The engine's maintenance interval; None keeps the engine's default.
    pub maintenance: Option<Duration>,
}

/// A sidecar served in-process on 127.0.0.1:0 (the engine polls every 50 ms).
pub struct Sidecar {
    /// Declared first, so dropped (and the server stopped) before the engine and the directory.
    pub serving: Option<Serving>,
    pub engine: Engine,
    pub url: String,
    pub addr: std::net::SocketAddr,
    /// One channel to the sidecar, connected on first use and shared by its clones.
    pub channel: Channel,
    pub _dir: tempfile::TempDir,
}

impl Sidecar {
    /// A sidecar over a SQLite file in a temporary directory.
    pub async fn start(setup: Setup<'_>) -> Sidecar {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("sidecar.db").display());
        Sidecar::start_on(dir, &db, setup).await
    }

    /// A sidecar over the storage at `db`, keeping `dir` until it is dropped.
    pub async fn start_on(dir: tempfile::TempDir, db: &str, setup: Setup<'_>) -> Sidecar {
        let mut config = EngineConfig {
            poll_interval: Duration::from_millis(50),
            ..Default::default()
        };
        if let Some(every) = setup.maintenance {
            config.maintenance_interval = every;
        }
        let engine = Engine::open_async(db, config).await.unwrap();
        let serving = serve(
            engine.clone(),
            ServeConfig {
                addr: "127.0.0.1:0".parse().unwrap(),
                token: setup.token.map(str::to_string),
                max_concurrent: setup.max_concurrent,
                grace: setup.grace,
            },
        )
        .await
        .unwrap();
        let addr = serving.local_addr();
        let url = format!("http://{addr}");
        let channel = Channel::from_shared(url.clone()).unwrap().connect_lazy();
        Sidecar {
            serving: Some(serving),
            engine,
            url,
            addr,
            channel,
            _dir: dir,
        }
    }

    /// Stops the server (waiting out the grace), then the engine.
    pub async fn stop(mut self) {
        self.serving.take().unwrap().stop().await.unwrap();
        self.engine.shutdown().await;
    }
}

/// A new connection to `url`.
pub async fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_string())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// A client on a new connection to `url`.
pub async fn client(url: &str) -> ReseolioClient<Channel> {
    ReseolioClient::connect(url.to_string()).await.unwrap()
}

pub fn enqueue(name: &str, args: impl AsRef<[u8]>) -> pb::EnqueueRequest {
    pb::EnqueueRequest {
        name: name.into(),
        args: args.as_ref().to_vec(),
        options: None,
        idempotency_key: String::new(),
    }
}

/// The next job of a worker stream, within 5 s.
pub async fn next_job(jobs: &mut tonic::Streaming<pb::Job>) -> pb::Job {
    tokio::time::timeout(Duration::from_secs(5), jobs.next())
        .await
        .expect("a job within 5 s")
        .expect("stream open")
        .expect("no error")
}

// ---------------------------------------------------------------------------------- raw codec

/// Sends raw bytes as request messages and hands back the raw answers, to call any method by
/// its path and to feed the server what no generated client would.
#[derive(Clone, Default)]
pub struct RawCodec;
pub struct RawEncoder;
pub struct RawDecoder;

impl tonic::codec::Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let n = bytes::Buf::remaining(src);
        Ok(Some(bytes::Buf::copy_to_bytes(src, n).to_vec()))
    }
}

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

// ------------------------------------------------------------------------------------ binary

/// The `reseolio` binary with no RESEOLIO_* variable from the test's environment.
pub fn reseolio() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_reseolio"));
    for (k, _) in std::env::vars() {
        if k.starts_with("RESEOLIO_") {
            c.env_remove(k);
        }
    }
    c
}

/// Runs the binary with `args` over the database `db`; it must succeed and print JSON.
pub fn cli_json(db: impl AsRef<OsStr>, args: &[&str]) -> Value {
    let out = reseolio()
        .env("RESEOLIO_DB", db)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Waits for a child, killing it and failing the test if it outlives `limit`.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

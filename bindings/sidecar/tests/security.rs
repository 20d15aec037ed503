//! The sidecar's security claims (docs/security.md), each proved here:
//!
//! - the real binary listens on loopback by default (`--addr`, `reseolio ui`, no `--http-addr`),
//!   and refuses an address that is not loopback without a token, before it opens the storage;
//! - with a token, EVERY RPC of the service (read from the descriptor set the proto crate embeds,
//!   so a new RPC cannot be forgotten) is refused without it, with a wrong one and with malformed
//!   headers, and served with the right one; health checks stay open; reflection needs the token;
//! - payload limits hold over gRPC, and a message over the server's decode limit is refused with
//!   OUT_OF_RANGE while the sidecar keeps serving (in-process and as the real binary);
//! - hostile text through the gRPC calls and the operator CLI's filters is only ever data, on
//!   SQLite and on PostgreSQL (RESEOLIO_TEST_POSTGRES_URL), and never reaches the terminal raw.

mod support;

use prost::Message;
use reseolio_core::{Engine, EngineConfig, ErrorKind};
use reseolio_proto as pb;
use reseolio_proto::reseolio_client::ReseolioClient;
use reseolio_sidecar::{serve, ServeConfig, MAX_MESSAGE_BYTES};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use support::{channel, cli_json, enqueue, reseolio, wait_bounded, RawCodec, Setup, Sidecar};
use tokio_stream::StreamExt;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

const TOKEN: &str = "s3cret-t0ken";
const LIMIT: usize = 1024 * 1024;

// ------------------------------------------------------------------------------------ fixtures

/// The sidecars here: no maintenance override, a short grace.
const SETUP: Setup = Setup {
    token: None,
    max_concurrent: 100,
    grace: Duration::from_millis(200),
    maintenance: None,
};

/// A sidecar on 127.0.0.1:0 over a SQLite file in a temporary directory.
async fn start(token: Option<&str>) -> Sidecar {
    Sidecar::start(Setup { token, ..SETUP }).await
}

async fn start_on(dir: tempfile::TempDir, db: &str, token: Option<&str>) -> Sidecar {
    Sidecar::start_on(dir, db, Setup { token, ..SETUP }).await
}

/// Adds `authorization: Bearer <TOKEN>` to every call.
fn with_token(mut r: Request<()>) -> Result<Request<()>, Status> {
    let v = format!("Bearer {TOKEN}").parse().unwrap();
    r.metadata_mut().insert("authorization", v);
    Ok(r)
}

/// A running binary and the lines of its standard error, read on a thread.
struct Running {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Running {
    fn spawn(cmd: &mut Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// The next line of standard error; None when the process closed it (exited).
    fn line(&self) -> Option<String> {
        self.lines.recv_timeout(Duration::from_secs(30)).ok()
    }

    /// SIGTERM, then the exit status within 15 s.
    fn stop(mut self) -> std::process::ExitStatus {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        wait_bounded(&mut self.child, Duration::from_secs(15))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address after `prefix` on a ready line, e.g. `0.0.0.0:41234` from
/// `reseolio ready on 0.0.0.0:41234 (storage ...)`.
fn addr_after(line: &str, prefix: &str) -> std::net::SocketAddr {
    line.strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{line:?} does not start with {prefix:?}"))
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

/// One HTTP/1.1 GET; the status code and the whole answer.
fn http_get(addr: std::net::SocketAddr, path: &str, auth: Option<&str>) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let auth = auth
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap();
    (status, out)
}

// ---------------------------------------------------------------------------- loopback defaults

/// Without `--addr`, the sidecar listens on 127.0.0.1:50051; without `--http-addr` it serves no
/// dashboard; `reseolio ui` listens on 127.0.0.1:7780. (When a port is taken the process fails
/// naming the address it tried, which proves the default as well.)
#[test]
fn the_binary_listens_on_loopback_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("defaults.db");
    let db = db.to_str().unwrap();

    let run = Running::spawn(reseolio().args(["--db", db]));
    let first = run.line().expect("a first line");
    if first.starts_with("reseolio ready on ") {
        assert!(
            first.starts_with("reseolio ready on 127.0.0.1:50051 "),
            "{first}"
        );
        assert!(run.stop().success());
    } else {
        assert!(
            first.contains("127.0.0.1:50051") && first.contains("cannot listen"),
            "neither ready nor refused on the default address: {first}"
        );
    }
    // The ready line comes first: no dashboard was started.
    assert!(!first.contains("dashboard"), "{first}");

    let migrated = reseolio().args(["migrate", "--db", db]).output().unwrap();
    assert!(migrated.status.success());
    let ui = Running::spawn(reseolio().args(["ui", "--db", db]));
    let first = ui.line().expect("a first line");
    if first.starts_with("reseolio dashboard on ") {
        assert!(
            first.starts_with("reseolio dashboard on http://127.0.0.1:7780 "),
            "{first}"
        );
        assert!(ui.stop().success());
    } else {
        assert!(
            first.contains("127.0.0.1:7780"),
            "neither serving nor refused on the default address: {first}"
        );
    }

    let help = |args: &[&str]| {
        let out = reseolio().args(args).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(help(&["--help"]).contains("[default: 127.0.0.1:50051]"));
    let ui_help = help(&["ui", "--help"]);
    assert!(
        ui_help.contains("[default: 127.0.0.1]") && ui_help.contains("[default: 7780]"),
        "{ui_help}"
    );
}

/// An address that is not loopback without a token is refused by the real binary, with exit 2
/// and a message naming the address and the token, before the storage is opened.
#[test]
fn a_non_loopback_address_without_a_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.db");
    let db_arg = db.to_str().unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--addr", "0.0.0.0:0"], &["0.0.0.0:0", "token"]),
        (&["serve", "--addr", "0.0.0.0:0"], &["0.0.0.0:0", "token"]),
        (
            &["--addr", "0.0.0.0:0", "--token", ""],
            &["0.0.0.0:0", "token"],
        ),
        (&["--addr", "[::]:0"], &["[::]:0", "token"]),
        // Checked before binding: an address of another host is refused for the token too.
        (&["--addr", "192.0.2.1:0"], &["192.0.2.1:0", "token"]),
        (
            &["--addr", "127.0.0.1:0", "--http-addr", "0.0.0.0:0"],
            &["dashboard", "0.0.0.0:0", "token"],
        ),
        // The gRPC token does not cover the dashboard.
        (
            &[
                "--addr",
                "127.0.0.1:0",
                "--token",
                TOKEN,
                "--http-addr",
                "0.0.0.0:0",
            ],
            &["dashboard", "token"],
        ),
        (
            &["--addr", "127.0.0.1:0", "--token", "tab\tin token"],
            &["token", "printable"],
        ),
    ];
    for (args, words) in cases {
        let mut child = reseolio()
            .arg("--db")
            .arg(db_arg)
            .args(*args)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let status = wait_bounded(&mut child, Duration::from_secs(15));
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        for w in *words {
            assert!(err.contains(w), "{args:?}: no {w:?} in {err}");
        }
        assert!(!db.exists(), "{args:?} opened (created) the storage first");
    }

    let migrated = reseolio()
        .args(["migrate", "--db", db_arg])
        .output()
        .unwrap();
    assert!(migrated.status.success());
    for host in ["0.0.0.0", "::", "192.0.2.1"] {
        for token in [None, Some("")] {
            let mut cmd = reseolio();
            cmd.args(["ui", "--db", db_arg, "--port", "0", "--host", host]);
            if let Some(t) = token {
                cmd.args(["--token", t]);
            }
            let out: Output = cmd.output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "ui --host {host}: {err}");
            assert!(err.contains(host) && err.contains("token"), "{err}");
        }
    }
}

/// With a token, a non-loopback address is served, and the token is needed there.
#[test]
fn a_non_loopback_address_with_a_token_is_served_and_guarded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("open.db");
    let db = db.to_str().unwrap();
    let run = Running::spawn(reseolio().args([
        "--db",
        db,
        "--addr",
        "0.0.0.0:0",
        "--token",
        TOKEN,
        "--http-addr",
        "0.0.0.0:0",
        "--http-token",
        TOKEN,
    ]));
    let http_line = run.line().unwrap();
    let http = addr_after(&http_line, "reseolio dashboard and /metrics on http://");
    let ready = run.line().unwrap();
    let grpc = addr_after(&ready, "reseolio ready on ");
    assert!(grpc.ip().is_unspecified() && http.ip().is_unspecified());
    let grpc = std::net::SocketAddr::from(([127, 0, 0, 1], grpc.port()));
    let http = std::net::SocketAddr::from(([127, 0, 0, 1], http.port()));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ch = channel(&format!("http://{grpc}")).await;
        let err = ReseolioClient::new(ch.clone())
            .enqueue_job(enqueue("f", vec![]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        ReseolioClient::with_interceptor(ch, with_token)
            .enqueue_job(enqueue("f", vec![]))
            .await
            .unwrap();
    });
    for path in ["/", "/api/config", "/metrics"] {
        assert_eq!(http_get(http, path, None).0, 401, "{path}");
        assert_eq!(http_get(http, path, Some(TOKEN)).0, 200, "{path}");
    }
    assert!(run.stop().success());

    let ui = Running::spawn(reseolio().args([
        "ui", "--db", db, "--host", "0.0.0.0", "--port", "0", "--token", TOKEN,
    ]));
    let line = ui.line().unwrap();
    let addr = addr_after(&line, "reseolio dashboard on http://");
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()));
    assert_eq!(http_get(addr, "/api/jobs", None).0, 401);
    let (status, body) = http_get(addr, "/api/jobs", Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    assert!(ui.stop().success());
}

/// The library refuses the same configurations as the binary, before binding anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_an_open_address_and_a_bad_token() {
    let engine = Engine::open_async("sqlite::memory:", EngineConfig::default())
        .await
        .unwrap();
    for (addr, token) in [
        ("0.0.0.0:0", None),
        ("[::]:0", None),
        ("10.1.2.3:0", None),
        ("127.0.0.1:0", Some("")),
        ("127.0.0.1:0", Some("new\nline")),
        ("127.0.0.1:0", Some("tøken")),
    ] {
        let config = ServeConfig {
            addr: addr.parse().unwrap(),
            token: token.map(str::to_string),
            max_concurrent: 1,
            grace: Duration::from_millis(10),
        };
        let err = serve(engine.clone(), config)
            .await
            .err()
            .unwrap_or_else(|| panic!("{addr} {token:?} served"));
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{addr}: {err}");
        assert!(err.message().contains("token"), "{err}");
    }
    for addr in ["127.0.0.1:0", "127.9.9.9:0", "[::1]:0"] {
        let config = ServeConfig {
            addr: addr.parse().unwrap(),
            token: None,
            max_concurrent: 1,
            grace: Duration::from_millis(10),
        };
        config.validate().unwrap();
    }
    engine.shutdown().await;
}

// ------------------------------------------------------------------------------- every RPC

/// One method of the service, from the descriptor.
#[derive(Debug)]
struct Method {
    name: String,
    path: String,
}

/// Every method of every service in the descriptor set the proto crate embeds (the one server
/// reflection serves): the service's own list, not one kept by hand.
fn described_methods() -> Vec<Method> {
    let set = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
    let mut methods = Vec::new();
    for file in &set.file {
        for service in &file.service {
            for m in &service.method {
                methods.push(Method {
                    name: m.name().to_string(),
                    path: format!("/{}.{}/{}", file.package(), service.name(), m.name()),
                });
            }
        }
    }
    methods
}

/// The `rpc` names in proto/reseolio.proto, read as text: a cross-check that the descriptor
/// really is the file's whole service.
fn proto_rpc_names() -> BTreeSet<String> {
    include_str!("../../../proto/reseolio.proto")
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("rpc "))
        .map(|l| l.split('(').next().unwrap().trim().to_string())
        .collect()
}

/// A valid request for the methods whose effect a refused call must not have (a job, a
/// schedule, an event); an empty message for the rest.
fn body_for(method: &str) -> Vec<u8> {
    match method {
        "EnqueueJob" => enqueue("f", b"[]").encode_to_vec(),
        "CreateSchedule" => pb::CreateScheduleRequest {
            name: "nightly".into(),
            cron_expression: "0 3 * * *".into(),
            ..Default::default()
        }
        .encode_to_vec(),
        "SendEvent" => pb::SendEventRequest {
            key: "k".into(),
            payload: vec![],
        }
        .encode_to_vec(),
        _ => vec![],
    }
}

/// Calls `path` with one request message and `authorization: auth` (absent when None); the
/// status the call ends with, or Ok when it is answered (streams: when no error comes within
/// 500 ms).
async fn call(
    channel: &Channel,
    path: &str,
    body: Vec<u8>,
    auth: Option<&[u8]>,
) -> Result<(), Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let mut req = Request::new(tokio_stream::iter(vec![body]));
    if let Some(a) = auth {
        let v = MetadataValue::try_from(a).expect("a header value");
        req.metadata_mut().insert("authorization", v);
    }
    let path = PathAndQuery::try_from(path.to_string()).unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(10), grpc.streaming(req, path, RawCodec))
        .await
        .expect("an answer within 10 s")?;
    let mut messages = answer.into_inner();
    match tokio::time::timeout(Duration::from_millis(500), messages.message()).await {
        Ok(Err(status)) => Err(status),
        _ => Ok(()),
    }
}

/// The credentials every guarded call must refuse, by what is wrong with them.
fn refused_credentials() -> Vec<(&'static str, Option<&'static [u8]>)> {
    vec![
        ("no header", None),
        ("a wrong token", Some(b"Bearer nope")),
        (
            "a wrong token of the same length",
            Some(b"Bearer s3cret-t0keN"),
        ),
        ("a prefix of the token", Some(b"Bearer s3cret-t0ke")),
        ("the token and more", Some(b"Bearer s3cret-t0ken0")),
        ("the token twice", Some(b"Bearer s3cret-t0ken s3cret-t0ken")),
        ("no scheme", Some(b"s3cret-t0ken")),
        ("another scheme", Some(b"Basic s3cret-t0ken")),
        ("a lower-case scheme", Some(b"bearer s3cret-t0ken")),
        ("the scheme only", Some(b"Bearer")),
        ("an empty token", Some(b"Bearer ")),
        ("two spaces", Some(b"Bearer  s3cret-t0ken")),
        ("a trailing space", Some(b"Bearer s3cret-t0ken ")),
        ("a byte that is not ASCII", Some(b"Bearer s3cret-t0ken\xff")),
        ("an empty header", Some(b"")),
    ]
}

const RIGHT: &[u8] = b"Bearer s3cret-t0ken";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_is_refused_without_the_right_token_and_served_with_it() {
    let s = start(Some(TOKEN)).await;
    let ch = channel(&s.url).await;
    let methods = described_methods();
    let names: BTreeSet<String> = methods.iter().map(|m| m.name.clone()).collect();
    assert_eq!(
        names,
        proto_rpc_names(),
        "the descriptor and the .proto disagree"
    );
    assert!(
        methods.len() >= 23
            && methods
                .iter()
                .all(|m| m.path.starts_with("/reseolio.Reseolio/")),
        "{methods:?}"
    );

    // First every refusal, then a look at the store: refused calls changed nothing.
    let mut refused = BTreeSet::new();
    for m in &methods {
        for (what, auth) in refused_credentials() {
            let err = call(&ch, &m.path, body_for(&m.name), auth)
                .await
                .expect_err(&format!("{} with {what} was answered", m.path));
            assert_eq!(
                err.code(),
                Code::Unauthenticated,
                "{} with {what}: {err:?}",
                m.path
            );
            refused.insert(m.name.clone());
        }
    }
    assert_eq!(refused, names, "a method was not tried");
    let jobs = s.engine.list(Default::default()).await.unwrap();
    let schedules = s.engine.schedule_list(Default::default()).await.unwrap();
    assert_eq!(
        (jobs.total, schedules.total),
        (0, 0),
        "a refused call had an effect"
    );

    // With the token each method is reached: whatever it answers, it is not UNAUTHENTICATED,
    // nor UNIMPLEMENTED (the path is a real method of the server).
    let mut served = BTreeSet::new();
    for m in &methods {
        if let Err(e) = call(&ch, &m.path, body_for(&m.name), Some(RIGHT)).await {
            assert!(
                !matches!(e.code(), Code::Unauthenticated | Code::Unimplemented),
                "{} with the token: {e:?}",
                m.path
            );
        }
        served.insert(m.name.clone());
    }
    assert_eq!(served, names);
    let jobs = s.engine.list(Default::default()).await.unwrap();
    assert_eq!(jobs.total, 1, "EnqueueJob's request was a valid one");
    s.engine.schedule_get("nightly").await.unwrap();

    // A method the server does not have: no hint that it is missing without the token.
    let unknown = "/reseolio.Reseolio/NoSuchMethod";
    let err = call(&ch, unknown, vec![], None).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = call(&ch, unknown, vec![], Some(RIGHT)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
}

/// Health checks need no token (probes hold no secret); reflection does, like the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_open_and_reflection_needs_the_token() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let s = start(Some(TOKEN)).await;
    let ch = channel(&s.url).await;
    let mut health = HealthClient::new(ch.clone());
    for service in ["", "reseolio.Reseolio"] {
        let h = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|e| panic!("Check({service:?}) without a token: {e:?}"))
            .into_inner();
        assert_eq!(h.status, ServingStatus::Serving as i32, "{service:?}");
    }
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "reseolio.Reseolio".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.status, ServingStatus::Serving as i32);

    let list = || {
        tokio_stream::iter(vec![ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        }])
    };
    let path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
    for (what, auth) in refused_credentials() {
        let err = call(&ch, path, vec![], auth).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "reflection with {what}");
    }
    let err = ServerReflectionClient::new(ch.clone())
        .server_reflection_info(list())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let mut r = ServerReflectionClient::with_interceptor(ch.clone(), with_token);
    let mut answers = r.server_reflection_info(list()).await.unwrap().into_inner();
    let answer = answers.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(services)) = answer.message_response else {
        panic!("unexpected reflection answer {answer:?}");
    };
    assert!(services
        .service
        .iter()
        .any(|s| s.name == "reseolio.Reseolio"));
}

// ------------------------------------------------------------------------------------ limits

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_over_the_limit_are_refused_by_name() {
    let s = start(None).await;
    let mut c = ReseolioClient::new(channel(&s.url).await);

    let at = c
        .enqueue_job(enqueue("f", vec![b'x'; LIMIT]))
        .await
        .unwrap()
        .into_inner();
    let job = s.engine.get(&at.job_id).await.unwrap();
    assert_eq!(job.args.len(), LIMIT, "exactly the limit is taken");

    let over = c
        .enqueue_job(enqueue("f", vec![b'x'; LIMIT + 1]))
        .await
        .unwrap_err();
    assert_eq!(over.code(), Code::InvalidArgument);
    assert!(
        over.message()
            .contains("args is 1048577 bytes; the limit is 1048576 bytes"),
        "{}",
        over.message()
    );
    let schedule = c
        .create_schedule(pb::CreateScheduleRequest {
            name: "big".into(),
            cron_expression: "0 3 * * *".into(),
            args: vec![0; LIMIT + 1],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(schedule.code(), Code::InvalidArgument);
    assert!(
        schedule.message().contains("args"),
        "{}",
        schedule.message()
    );
    let event = c
        .send_event(pb::SendEventRequest {
            key: "k".into(),
            payload: vec![0; LIMIT + 1],
        })
        .await
        .unwrap_err();
    assert_eq!(event.code(), Code::InvalidArgument);
    assert!(
        event.message().contains("event payload"),
        "{}",
        event.message()
    );

    // A result over the limit is refused and the job stays RUNNING under its lease.
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(pb::PollRequest {
        worker_id: "w".into(),
        names: vec!["f".into()],
        concurrency: 1,
    })
    .await
    .unwrap();
    let mut jobs = c
        .poll_jobs(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    let held = tokio::time::timeout(Duration::from_secs(5), jobs.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let ack = |value: Vec<u8>| pb::AckRequest {
        job_id: held.id.clone(),
        result: Some(pb::AckResult {
            success: true,
            return_value: value,
            ..Default::default()
        }),
        lease_token: held.lease_token.clone(),
    };
    let err = c.ack_job(ack(vec![0; LIMIT + 1])).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("result"), "{}", err.message());
    assert_eq!(
        s.engine.get(&held.id).await.unwrap().status,
        reseolio_core::JobStatus::Running
    );
    c.ack_job(ack(b"1".to_vec())).await.unwrap();
    drop(tx);
}

/// A message over the decode limit is refused before it is decoded, with OUT_OF_RANGE (tonic's
/// status for it), on unary calls and streams alike; the sidecar goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_decode_limit_is_refused_and_the_server_keeps_serving() {
    let s = start(None).await;
    let ch = channel(&s.url).await;
    let mut c = ReseolioClient::new(ch.clone());

    // Under the message limit but over the payload limit: decoded, then refused by the engine.
    let err = c
        .enqueue_job(enqueue("f", vec![0; 3 * LIMIT]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");

    for size in [MAX_MESSAGE_BYTES + 1, 64 * 1024 * 1024] {
        let err = c
            .enqueue_job(enqueue("f", vec![0; size]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::OutOfRange, "{size} bytes: {err:?}");
        assert!(err.message().contains("too large"), "{}", err.message());
    }
    // On a stream: the first PollRequest is oversized.
    let huge = pb::PollRequest {
        worker_id: "w".repeat(MAX_MESSAGE_BYTES + 1),
        names: vec![],
        concurrency: 1,
    };
    let outcome = async {
        let mut jobs = c
            .poll_jobs(tokio_stream::iter(vec![huge]))
            .await?
            .into_inner();
        match jobs.next().await {
            Some(Err(e)) => Err::<(), Status>(e),
            other => panic!("the stream went on: {other:?}"),
        }
    };
    let err: Status = tokio::time::timeout(Duration::from_secs(10), outcome)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");

    // Still serving, on the same connection and on a new one.
    c.enqueue_job(enqueue("f", b"[]")).await.unwrap();
    ReseolioClient::new(channel(&s.url).await)
        .enqueue_job(enqueue("f", b"[]"))
        .await
        .unwrap();
}

/// The same against the real binary: it refuses the message and does not exit.
#[test]
fn the_binary_survives_an_oversized_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.db");
    let mut run =
        Running::spawn(reseolio().args(["--db", db.to_str().unwrap(), "--addr", "127.0.0.1:0"]));
    let ready = run.line().unwrap();
    let addr = addr_after(&ready, "reseolio ready on ");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = ReseolioClient::new(channel(&format!("http://{addr}")).await);
        let err = c
            .enqueue_job(enqueue("f", vec![0; 16 * 1024 * 1024]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
        c.enqueue_job(enqueue("f", b"[]")).await.unwrap();
    });
    assert!(
        run.child.try_wait().unwrap().is_none(),
        "the sidecar exited"
    );
    assert!(run.stop().success());
}

// ----------------------------------------------------------------------------- hostile text

/// Text that is harmless only when bound as a parameter (see core/tests/injection.rs for the
/// engine-level list); none starts with '-' nor holds a NUL, so that each can be a CLI argument.
const HOSTILE: &[&str] = &[
    "x'); DROP TABLE reseolio_jobs; --",
    "' OR '1'='1",
    "\" OR \"\"=\"",
    "%",
    "_",
    "a%",
    "\\",
    "\\'",
    "a\\%b",
    "$1",
    "?",
    "[a-z]",
    "*",
    "; DELETE FROM reseolio_schedules",
    "ünïcödé 🚀",
    "esc\u{1b}[31mred\u{1b}]0;title\u{7}",
];

fn ids(page: &Value) -> BTreeSet<String> {
    page["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every hostile value as a job's name, key and args and as a schedule's name over gRPC, then
/// as every list filter over gRPC and the CLI: each round-trips, each filter finds exactly its
/// own rows, and the CLI's tables never print a control character raw.
async fn hostile_text_is_data(s: Sidecar, cli_db: &str) {
    let mut c = ReseolioClient::new(channel(&s.url).await);
    let list = |names: Vec<String>, search: &str| pb::ListJobsRequest {
        names,
        search: search.into(),
        limit: 1000,
        ..Default::default()
    };
    let mut made = Vec::new();
    for v in HOSTILE {
        let mut args = v.as_bytes().to_vec();
        args.extend_from_slice(b"\0'\\");
        let e = c
            .enqueue_job(pb::EnqueueRequest {
                name: v.to_string(),
                args: args.clone(),
                options: None,
                idempotency_key: v.to_string(),
            })
            .await
            .unwrap()
            .into_inner();
        let job = c
            .get_job(pb::GetJobRequest {
                job_id: e.job_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (job.name.as_str(), job.idempotency_key.as_str(), &job.args),
            (*v, *v, &args)
        );
        c.create_schedule(pb::CreateScheduleRequest {
            name: v.to_string(),
            cron_expression: "0 3 * * *".into(),
            args: v.as_bytes().to_vec(),
            ..Default::default()
        })
        .await
        .unwrap();
        made.push((*v, e.job_id));
    }
    for (v, id) in &made {
        for req in [list(vec![v.to_string()], ""), list(vec![], v)] {
            let page = c.list_jobs(req.clone()).await.unwrap().into_inner();
            let got: Vec<&str> = page.jobs.iter().map(|j| j.id.as_str()).collect();
            assert_eq!(got, [id.as_str()], "gRPC ListJobs {req:?}");
        }
        let sched = c
            .get_schedule(pb::GetScheduleRequest {
                schedule_id: v.to_string(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (sched.name.as_str(), sched.args.as_slice()),
            (*v, v.as_bytes())
        );

        let by_name = cli_json(cli_db, &["jobs", "list", &format!("--name={v}"), "--json"]);
        assert_eq!(
            ids(&by_name),
            BTreeSet::from([id.clone()]),
            "CLI --name {v:?}"
        );
        assert_eq!(by_name["jobs"][0]["name"], *v);
        let by_key = cli_json(
            cli_db,
            &["jobs", "list", &format!("--search={v}"), "--json"],
        );
        assert_eq!(
            ids(&by_key),
            BTreeSet::from([id.clone()]),
            "CLI --search {v:?}"
        );
        let got = cli_json(cli_db, &["schedules", "get", "--json", "--", v]);
        assert_eq!(got["name"], *v);
        let retried = cli_json(cli_db, &["jobs", "retry-dead", "--json", "--", v]);
        assert_eq!(retried["retried"], 0);
    }
    for miss in ["%x", "' OR 'a'='a", "x%", "_%"] {
        let page = c
            .list_jobs(list(vec![miss.into()], ""))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.total, 0, "gRPC name filter {miss:?}");
        let page = c.list_jobs(list(vec![], miss)).await.unwrap().into_inner();
        assert_eq!(page.total, 0, "gRPC search {miss:?}");
        let cli = cli_json(
            cli_db,
            &["jobs", "list", &format!("--name={miss}"), "--json"],
        );
        assert_eq!(cli["total"], 0, "CLI --name {miss:?}");
        let out = reseolio()
            .env("RESEOLIO_DB", cli_db)
            .args(["schedules", "get", "--", miss])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "schedule {miss:?} found");
    }
    // Text that only selects an enum is refused, not pasted into SQL.
    let err = c
        .list_jobs(pb::ListJobsRequest {
            order_by: "created_at; DROP TABLE reseolio_jobs; --".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = c
        .list_schedules(pb::ListSchedulesRequest {
            status_filter: "active' OR '1'='1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let out = reseolio()
        .env("RESEOLIO_DB", cli_db)
        .args(["jobs", "list", "--status", "pending' OR '1'='1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // Deleting '%' deletes that one schedule.
    let deleted = c
        .delete_schedule(pb::DeleteScheduleRequest {
            schedule_id: "%".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.success);
    let all = c
        .list_schedules(pb::ListSchedulesRequest {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.total as usize, HOSTILE.len() - 1);
    let all_jobs = c.list_jobs(list(vec![], "")).await.unwrap().into_inner();
    assert_eq!(all_jobs.total as usize, HOSTILE.len(), "no job was lost");

    // The tables a person reads: the escape sequence is shown escaped, never sent raw.
    for args in [
        vec!["jobs", "list"],
        vec!["schedules", "list"],
        vec!["jobs", "get", made.last().unwrap().1.as_str()],
    ] {
        let out = reseolio()
            .env("RESEOLIO_DB", cli_db)
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{args:?} printed a control character raw: {text:?}"
        );
        assert!(text.contains("esc\\u{1b}[31mred"), "{args:?}: {text}");
    }
    let sched = cli_json(
        cli_db,
        &[
            "schedules",
            "get",
            "--json",
            "--",
            HOSTILE[HOSTILE.len() - 1],
        ],
    );
    assert_eq!(
        sched["name"],
        HOSTILE[HOSTILE.len() - 1],
        "JSON keeps the exact text"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_through_grpc_and_the_cli_is_only_data_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.db");
    let url = format!("sqlite://{}", path.display());
    let s = start_on(tempfile::tempdir().unwrap(), &url, None).await;
    hostile_text_is_data(s, &url).await;
    let c = rusqlite::Connection::open(&path).unwrap();
    let tables: BTreeSet<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in [
        "reseolio_jobs",
        "reseolio_attempts",
        "reseolio_schedules",
        "reseolio_steps",
    ] {
        assert!(tables.contains(t), "{t} is gone: {tables:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_through_grpc_and_the_cli_is_only_data_on_postgres() {
    let Some(base) = std::env::var("RESEOLIO_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("skipped: RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)");
        return;
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    let schema = format!("t_sec_{}", std::process::id());
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let url = format!("{base}{sep}schema={schema}_{nonce}");
    let s = start_on(tempfile::tempdir().unwrap(), &url, None).await;
    hostile_text_is_data(s, &url).await;
}

//! The sidecar over real gRPC on 127.0.0.1: the v1 calls, the two streams with their flow
//! control, auth, health, reflection, a worker stream killed mid-job, graceful stop, bad input.

mod support;

use reseolio_proto as pb;
use reseolio_proto::reseolio_client::ReseolioClient;
use std::time::Duration;
use support::{channel, client, enqueue, next_job, wait_bounded, RawCodec, Setup, Sidecar};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::{Code, Request};

async fn start(token: Option<&str>, max_concurrent: u32) -> Sidecar {
    Sidecar::start(Setup {
        token,
        max_concurrent,
        grace: Duration::from_secs(2),
        maintenance: Some(Duration::from_millis(100)),
    })
    .await
}

/// Opens a worker stream; returns the sender for later PollRequests and the job stream.
async fn worker_stream(
    c: &mut ReseolioClient<Channel>,
    names: &[&str],
    concurrency: i32,
) -> (mpsc::Sender<pb::PollRequest>, tonic::Streaming<pb::Job>) {
    let (tx, rx) = mpsc::channel(4);
    tx.send(pb::PollRequest {
        worker_id: "test-worker".into(),
        names: names.iter().map(|s| s.to_string()).collect(),
        concurrency,
    })
    .await
    .unwrap();
    let jobs = c
        .poll_jobs(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    (tx, jobs)
}

fn ack_ok(job_id: &str, value: &str) -> pb::AckRequest {
    pb::AckRequest {
        job_id: job_id.into(),
        result: Some(pb::AckResult {
            success: true,
            return_value: value.as_bytes().to_vec(),
            error: String::new(),
            should_retry: false,
            suspended: false,
        }),
        lease_token: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_flow_enqueue_stream_ack_subscribe() {
    let s = start(None, 100).await;
    let mut c = client(&s.url).await;
    let e = c
        .enqueue_job(enqueue("add", "[1,2]"))
        .await
        .unwrap()
        .into_inner();
    assert!(!e.deduplicated);

    let (sub_tx, sub_rx) = mpsc::channel(4);
    let mut completions = c
        .subscribe_to_jobs(ReceiverStream::new(sub_rx))
        .await
        .unwrap()
        .into_inner();
    sub_tx
        .send(pb::SubscribeRequest {
            job_ids: vec![e.job_id.clone()],
            unsubscribe: false,
        })
        .await
        .unwrap();

    let (_w, mut jobs) = worker_stream(&mut c, &["add"], 4).await;
    let job = next_job(&mut jobs).await;
    assert_eq!(
        (job.id.as_str(), job.attempt, job.args.as_slice()),
        (e.job_id.as_str(), 1, &b"[1,2]"[..])
    );
    assert_eq!(job.status, pb::JobStatus::Running as i32);
    assert!(job.deadline_ms > 0 && !job.lease_token.is_empty());

    let ack = c.ack_job(ack_ok(&job.id, "3")).await.unwrap().into_inner();
    assert_eq!(ack.new_status, pb::JobStatus::Success as i32);
    let done = tokio::time::timeout(Duration::from_secs(5), completions.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (done.job_id.as_str(), done.status),
        (e.job_id.as_str(), pb::JobStatus::Success as i32)
    );
    assert_eq!(done.result, b"3");

    // A subscription to a job that already finished is answered too.
    sub_tx
        .send(pb::SubscribeRequest {
            job_ids: vec![e.job_id.clone()],
            unsubscribe: false,
        })
        .await
        .unwrap();
    let again = tokio::time::timeout(Duration::from_secs(5), completions.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(again.status, pb::JobStatus::Success as i32);

    let got = c
        .get_job(pb::GetJobRequest {
            job_id: e.job_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (got.status, got.result.as_slice()),
        (pb::JobStatus::Success as i32, &b"3"[..])
    );
    assert!(got.completed_at >= got.started_at && got.started_at > 0);
    let list = c
        .list_jobs(pb::ListJobsRequest {
            statuses: vec![pb::JobStatus::Success as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.total, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_cancel_retry_and_unknown_ids() {
    let s = start(None, 100).await;
    let mut c = client(&s.url).await;
    let mut req = enqueue("charge", "[]");
    req.idempotency_key = "order-7".into();
    req.options = Some(pb::JobOptions {
        max_attempts: 1,
        ..Default::default()
    });
    let a = c.enqueue_job(req.clone()).await.unwrap().into_inner();
    let b = c.enqueue_job(req).await.unwrap().into_inner();
    assert_eq!(
        (a.job_id.as_str(), b.deduplicated),
        (b.job_id.as_str(), true)
    );

    let cancel = c
        .cancel_job(pb::CancelRequest {
            job_id: a.job_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(cancel.success);
    let again = c
        .cancel_job(pb::CancelRequest {
            job_id: a.job_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !again.success && again.message.contains("CANCELLED"),
        "{}",
        again.message
    );
    let retry = c
        .retry_job(pb::RetryRequest {
            job_id: a.job_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(retry.success);
    let job = c
        .get_job(pb::GetJobRequest {
            job_id: a.job_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(job.status, pb::JobStatus::Pending as i32);

    for code in [
        c.get_job(pb::GetJobRequest {
            job_id: "nope".into(),
        })
        .await
        .unwrap_err(),
        c.cancel_job(pb::CancelRequest {
            job_id: "nope".into(),
        })
        .await
        .unwrap_err(),
        c.retry_job(pb::RetryRequest {
            job_id: "nope".into(),
        })
        .await
        .unwrap_err(),
    ] {
        assert_eq!(code.code(), Code::NotFound);
        assert!(code.message().contains("nope"));
        assert_eq!(
            code.metadata().get("reseolio-error-kind").unwrap(),
            "not_found"
        );
    }
    // A v1 ack for a job no stream of this server holds.
    let err = c.ack_job(ack_ok(&a.job_id, "1")).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("not held"), "{}", err.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_answered_with_the_matching_status() {
    let s = start(None, 100).await;
    let mut c = client(&s.url).await;
    let cases = [
        (enqueue("", "[]"), "name"),
        (
            pb::EnqueueRequest {
                options: Some(pb::JobOptions {
                    max_attempts: -1,
                    ..Default::default()
                }),
                ..enqueue("f", "[]")
            },
            "max_attempts",
        ),
        (
            pb::EnqueueRequest {
                options: Some(pb::JobOptions {
                    backoff: "quadratic".into(),
                    ..Default::default()
                }),
                ..enqueue("f", "[]")
            },
            "backoff",
        ),
        (
            pb::EnqueueRequest {
                options: Some(pb::JobOptions {
                    jitter: 2.0,
                    ..Default::default()
                }),
                ..enqueue("f", "[]")
            },
            "jitter",
        ),
        (
            pb::EnqueueRequest {
                args: vec![b'x'; 1024 * 1024 + 1],
                ..enqueue("f", "[]")
            },
            "args",
        ),
    ];
    for (req, field) in cases {
        let err = c.enqueue_job(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}");
        assert!(err.message().contains(field), "{}", err.message());
    }
    let err = c
        .list_jobs(pb::ListJobsRequest {
            statuses: vec![42],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = c
        .heartbeat_job(pb::HeartbeatRequest {
            lease_token: "garbage".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = c
        .get_schedule(pb::GetScheduleRequest {
            schedule_id: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = c
        .create_schedule(pb::CreateScheduleRequest {
            name: "nightly".into(),
            cron_expression: "0 25 * * *".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains(r#""25" is out of range for hour"#),
        "{}",
        err.message()
    );
    let err = c
        .list_schedules(pb::ListSchedulesRequest {
            status_filter: "sleeping".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("sleeping"), "{}", err.message());
    // Still serving everyone after all that.
    c.enqueue_job(enqueue("f", "[]")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_never_gets_more_jobs_than_its_concurrency() {
    let s = start(None, 100).await;
    let mut c = client(&s.url).await;
    for i in 0..5 {
        c.enqueue_job(enqueue("f", format!("[{i}]"))).await.unwrap();
    }
    let (_w, mut jobs) = worker_stream(&mut c, &["f"], 2).await;
    let first = next_job(&mut jobs).await;
    let _second = next_job(&mut jobs).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(400), jobs.next())
            .await
            .is_err(),
        "a third job arrived with two slots held"
    );
    c.ack_job(ack_ok(&first.id, "null")).await.unwrap();
    let third = next_job(&mut jobs).await;
    assert_ne!(third.id, first.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_share_the_servers_slots() {
    let s = start(None, 3).await;
    let mut c = client(&s.url).await;
    let (_a, _ja) = worker_stream(&mut c, &["f"], 2).await;
    let (_b, _jb) = worker_stream(&mut c, &["f"], 2).await;
    // 2 + 1 = 3 slots are taken: a third stream is refused.
    let (tx, rx) = mpsc::channel(1);
    tx.send(pb::PollRequest {
        worker_id: "w3".into(),
        names: vec![],
        concurrency: 1,
    })
    .await
    .unwrap();
    let r = c.poll_jobs(ReceiverStream::new(rx)).await;
    let err = match r {
        Err(e) => e,
        Ok(resp) => resp.into_inner().next().await.unwrap().unwrap_err(),
    };
    assert_eq!(err.code(), Code::ResourceExhausted, "{}", err.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_stream_loses_its_lease_and_the_job_runs_elsewhere() {
    let s = start(None, 100).await;
    let mut c = client(&s.url).await;
    let mut req = enqueue("slow", "[]");
    req.options = Some(pb::JobOptions {
        timeout_ms: 300,
        initial_delay_ms: 10,
        jitter: 0.0,
        zero_fields: vec!["jitter".into()],
        ..Default::default()
    });
    let e = c.enqueue_job(req).await.unwrap().into_inner();
    {
        // A separate connection, dropped mid-job: the worker process "dies".
        let mut doomed = client(&s.url).await;
        let (_tx, mut jobs) = worker_stream(&mut doomed, &["slow"], 1).await;
        let job = next_job(&mut jobs).await;
        assert_eq!(job.id, e.job_id);
    }
    let (_w, mut jobs) = worker_stream(&mut c, &["slow"], 1).await;
    let rerun = next_job(&mut jobs).await;
    assert_eq!((rerun.id.as_str(), rerun.attempt), (e.job_id.as_str(), 2));
    c.ack_job(ack_ok(&rerun.id, "\"ok\"")).await.unwrap();
    let job = c
        .get_job(pb::GetJobRequest { job_id: e.job_id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(job.status, pb::JobStatus::Success as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_ack_with_a_stale_token_is_refused() {
    let s = start(None, 100).await;
    let mut c = client(&s.url).await;
    let e = c
        .enqueue_job(enqueue("f", "[]"))
        .await
        .unwrap()
        .into_inner();
    let (_w, mut jobs) = worker_stream(&mut c, &["f"], 1).await;
    let job = next_job(&mut jobs).await;
    c.cancel_job(pb::CancelRequest {
        job_id: e.job_id.clone(),
    })
    .await
    .unwrap();
    let hb = c
        .heartbeat_job(pb::HeartbeatRequest {
            lease_token: job.lease_token.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(hb.cancelled);
    let mut ack = ack_ok(&job.id, "1");
    ack.lease_token = job.lease_token.clone();
    let err = c.ack_job(ack).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("stale"), "{}", err.message());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_auth_guards_every_call_but_health() {
    let s = start(Some("s3cret"), 100).await;
    let channel = channel(&s.url).await;
    let mut plain = ReseolioClient::new(channel.clone());
    let err = plain.enqueue_job(enqueue("f", "[]")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let mut wrong = ReseolioClient::with_interceptor(channel.clone(), |mut r: Request<()>| {
        r.metadata_mut()
            .insert("authorization", "Bearer nope".parse().unwrap());
        Ok(r)
    });
    assert_eq!(
        wrong
            .enqueue_job(enqueue("f", "[]"))
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    let mut right = ReseolioClient::with_interceptor(channel.clone(), |mut r: Request<()>| {
        r.metadata_mut()
            .insert("authorization", "Bearer s3cret".parse().unwrap());
        Ok(r)
    });
    right.enqueue_job(enqueue("f", "[]")).await.unwrap();

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let h = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "reseolio.Reseolio".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        h.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_the_service() {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    let s = start(None, 100).await;
    let channel = channel(&s.url).await;
    let mut r = ServerReflectionClient::new(channel);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = r
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("unexpected reflection answer {answer:?}");
    };
    assert!(
        list.service.iter().any(|s| s.name == "reseolio.Reseolio"),
        "{list:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_takes_acks_in_flight_then_hands_back_the_rest() {
    let mut s = start(None, 100).await;
    let mut c = client(&s.url).await;
    let a = c
        .enqueue_job(enqueue("f", "[1]"))
        .await
        .unwrap()
        .into_inner();
    let b = c
        .enqueue_job(enqueue("f", "[2]"))
        .await
        .unwrap()
        .into_inner();
    let (_w, mut jobs) = worker_stream(&mut c, &["f"], 2).await;
    let j1 = next_job(&mut jobs).await;
    let j2 = next_job(&mut jobs).await;
    let serving = s.serving.take().unwrap();
    let stopping = tokio::spawn(serving.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Acked during the grace period: applied.
    c.ack_job(ack_ok(&j1.id, "\"done\"")).await.unwrap();
    // Never acked: handed back when the grace (2 s) is over.
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let (acked, left) = if j1.id == a.job_id {
        (&a.job_id, &b.job_id)
    } else {
        (&b.job_id, &a.job_id)
    };
    assert_eq!(j2.id, *left);
    assert_eq!(
        s.engine.get(acked).await.unwrap().status,
        reseolio_core::JobStatus::Success
    );
    let l = s.engine.get(left).await.unwrap();
    assert_eq!(
        (l.status, l.attempt),
        (reseolio_core::JobStatus::Pending, 0)
    );
}

#[test]
fn the_binary_serves_until_sigterm_and_exits_zero() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_reseolio"))
        .env("RESEOLIO_DB", dir.path().join("bin.db"))
        .env("RESEOLIO_ADDR", "127.0.0.1:0")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    assert!(ready.starts_with("reseolio ready on 127.0.0.1:"), "{ready}");
    let addr = ready.split_whitespace().nth(3).unwrap().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = client(&format!("http://{addr}")).await;
        c.enqueue_job(enqueue("f", "[]")).await.unwrap();
    });
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l == "reseolio stopped"), "{rest:?}");
}

/// `--http-addr` (RESEOLIO_HTTP_ADDR): the sidecar also serves the dashboard and `/metrics`,
/// whose counters follow what its gRPC clients did.
#[test]
fn the_binary_serves_the_dashboard_and_metrics_on_its_http_address() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_reseolio"))
        .env("RESEOLIO_DB", dir.path().join("http.db"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("RESEOLIO_HTTP_ADDR", "127.0.0.1:0")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let http_line = lines.next().unwrap().unwrap();
    let http = http_line
        .strip_prefix("reseolio dashboard and /metrics on http://")
        .unwrap_or_else(|| panic!("{http_line}"))
        .to_string();
    let ready = lines.next().unwrap().unwrap();
    let addr = ready.split_whitespace().nth(3).unwrap().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = client(&format!("http://{addr}")).await;
        for i in 0..3 {
            c.enqueue_job(enqueue("mail", format!("[{i}]")))
                .await
                .unwrap();
        }
    });
    let get = |path: &str| {
        let mut s = std::net::TcpStream::connect(&http).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let metrics = get("/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    for line in [
        r#"reseolio_jobs_enqueued_total{function="mail"} 3"#,
        r#"reseolio_jobs{status="PENDING"} 3"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "no {line} in {metrics}");
    }
    let page = get("/");
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("<html"),
        "{page}"
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_second_signal_exits_at_once_while_jobs_are_in_flight() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_reseolio"))
        .args(["serve", "--addr", "127.0.0.1:0", "--shutdown-grace", "60"])
        .env("RESEOLIO_DB", dir.path().join("bin.db"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let ready = lines.next().unwrap().unwrap();
    let addr = ready.split_whitespace().nth(3).unwrap().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A worker holds a job and never acks it: a graceful stop would wait the whole 60 s grace.
    let _held = rt.block_on(async {
        let mut c = client(&format!("http://{addr}")).await;
        c.enqueue_job(enqueue("f", "[]")).await.unwrap();
        let (tx, mut jobs) = worker_stream(&mut c, &["f"], 1).await;
        next_job(&mut jobs).await;
        (tx, jobs, c)
    });
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let stopping = lines.next().unwrap().unwrap();
    assert!(stopping.starts_with("reseolio stopping"), "{stopping}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "it waits for the job in flight"
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = wait_bounded(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(130));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_is_refused_and_the_server_keeps_serving() {
    let s = start(None, 100).await;
    let channel = channel(&s.url).await;
    let mut raw = tonic::client::Grpc::new(channel.clone());
    raw.ready().await.unwrap();
    // Field 1 (name) announced as 100 bytes long, with 3 present: not a protobuf message.
    let garbage = vec![0x0a, 100, b'a', b'b', b'c'];
    let path =
        tonic::codegen::http::uri::PathAndQuery::from_static("/reseolio.Reseolio/EnqueueJob");
    let err = raw
        .unary(Request::new(garbage), path, RawCodec)
        .await
        .unwrap_err();
    // The gRPC status-code guide maps an unparsable message to INTERNAL.
    assert_eq!(err.code(), Code::Internal, "{err:?}");
    assert!(!err.message().is_empty());
    let mut c = ReseolioClient::new(channel);
    c.enqueue_job(enqueue("f", "[]")).await.unwrap();
}

/// The v1 schedule RPCs as a v1 client sends them (no function, no policies, limit 0): the
/// name is the function, the defaults apply, and the answers have the v1 shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_schedule_calls_get_v1_answers() {
    let s = start(None, 100).await;
    let mut c = client(&s.url).await;
    let created = c
        .create_schedule(pb::CreateScheduleRequest {
            name: "cleanup".into(),
            cron_expression: "*/10 * * * *".into(),
            timezone: "America/New_York".into(),
            handler_options: Some(pb::JobOptions {
                max_attempts: 2,
                ..Default::default()
            }),
            args: b"[true]".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.function, "cleanup");
    assert_eq!(
        (created.missed.as_str(), created.overlap.as_str()),
        ("run_latest", "allow")
    );
    assert_eq!(created.status, pb::ScheduleStatus::Active as i32);
    assert_eq!(created.handler_options.as_ref().unwrap().max_attempts, 2);
    assert_eq!(created.next_run_at % 600_000, 0);
    assert_eq!(created.last_run_at, 0);
    let by_name = c
        .get_schedule(pb::GetScheduleRequest {
            schedule_id: "cleanup".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_name.id, created.id);
    let paused = c
        .pause_schedule(pb::PauseScheduleRequest {
            schedule_id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(paused.status, pb::ScheduleStatus::Paused as i32);
    let listed = c
        .list_schedules(pb::ListSchedulesRequest {
            status_filter: "paused".into(),
            limit: 0,
            offset: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((listed.total, listed.schedules.len()), (1, 1));
    let updated = c
        .update_schedule(pb::UpdateScheduleRequest {
            schedule_id: "cleanup".into(),
            cron_expression: "0 * * * *".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.cron_expression, "0 * * * *");
    // Absent handler options and args leave them unchanged.
    assert_eq!(updated.handler_options.unwrap().max_attempts, 2);
    assert_eq!(updated.args, b"[true]");
    let job = c
        .trigger_schedule(pb::TriggerScheduleRequest {
            schedule_id: "cleanup".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let got = c
        .get_job(pb::GetJobRequest { job_id: job.job_id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (got.name.as_str(), got.args.as_slice()),
        ("cleanup", &b"[true]"[..])
    );
    let deleted = c
        .delete_schedule(pb::DeleteScheduleRequest {
            schedule_id: "cleanup".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.success);
    let err = c
        .delete_schedule(pb::DeleteScheduleRequest {
            schedule_id: "cleanup".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}
